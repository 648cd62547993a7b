/* bench_stub.c — placeholder until the load generator lands in src/bench. */
#include "bench/bench.h"

#include <stdio.h>

int st_bench_main(int argc, char **argv)
{
    fprintf(stderr, "starling bench: not built yet\n");
    return 2;
}
