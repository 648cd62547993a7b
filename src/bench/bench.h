/* bench.h — `starling bench conn|pub|sub`: the load generator (emqtt-bench style). */
#ifndef ST_BENCH_H
#define ST_BENCH_H

/* argv[0] is "bench". Returns the process exit code. */
int st_bench_main(int argc, char **argv);

#endif
