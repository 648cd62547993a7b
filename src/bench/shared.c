/* shared.c — lays out the run's shared mapping (shared.h): each region 128-byte aligned,
 * zero-filled by the kernel, pairs stamped with their publisher ids from the plan. Also the
 * per-stream sequence check, which lives with the pair it updates. */
#include "bench/shared.h"
#include "core/err.h"

#include <string.h>
#include <sys/mman.h>

static size_t align_up(size_t n)
{
    return (n + 127) & ~(size_t)127;
}

int bench_shared_new(bench_shared *sh, uint32_t nslots, const bench_plan *plan)
{
    memset(sh, 0, sizeof *sh);
    size_t off_ctl = 0;
    size_t off_slots = align_up(sizeof(bench_ctl));
    size_t off_hist = off_slots + align_up(sizeof(bench_slot) * nslots);
    size_t off_pubs = off_hist + align_up(sizeof(bench_hist) * nslots * 3);
    size_t off_pairs = off_pubs + align_up(sizeof(uint64_t) * 2 * (plan->npubs + 1));
    size_t len = off_pairs + align_up(sizeof(bench_pair) * (plan->npairs + 1));
    void *m =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return ST_ENOMEM;
    char *base = m;
    sh->map = m;
    sh->map_len = len;
    sh->ctl = (bench_ctl *)(base + off_ctl);
    sh->nslots = nslots;
    sh->npubs = plan->npubs;
    sh->npairs = plan->npairs;
    sh->slots = (bench_slot *)(base + off_slots);
    sh->lat = (bench_hist *)(base + off_hist);
    sh->conn = sh->lat + nslots;
    sh->ack = sh->conn + nslots;
    sh->pub_sent = (_Atomic uint64_t *)(base + off_pubs);
    sh->pub_acked = sh->pub_sent + plan->npubs + 1;
    sh->pairs = (bench_pair *)(base + off_pairs);
    for (uint32_t i = 0; i < plan->npairs; i++)
        sh->pairs[i].pub = plan->pair_pub[i];
    return 0;
}

void bench_shared_free(bench_shared *sh)
{
    if (sh->map) munmap(sh->map, sh->map_len);
    memset(sh, 0, sizeof *sh);
}

void bench_pair_seen(bench_pair *p, uint64_t seq)
{
    if (seq >= p->next) {
        uint64_t shift = seq - p->next + 1;
        p->window = shift >= 64 ? 1 : (p->window << shift) | 1;
        p->next = seq + 1;
        p->uniq++;
        return;
    }
    uint64_t d = p->next - 1 - seq;
    if (d < 64 && (p->window & (1ull << d))) {
        p->dup++;
        return;
    }
    if (d < 64) p->window |= 1ull << d;
    p->ooo++;
    p->uniq++;
}
