/* report.c — turns the shared memory of a finished run into a result and prints it.
 *
 * Accounting: an ordinary subscriber should get every message its publishers had acked (QoS
 * 0: sent), so per (subscriber, publisher) stream lost = acked - distinct received. The
 * members of a shared group split the messages, so their distinct counts are summed per
 * publisher over the group first: lost = acked - total, duplicated = total - sent (a message
 * delivered to two members, or twice to one). Duplicates and late arrivals within one
 * stream come from the stream's 64-message window (client.c). */
#include "bench/report.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define SLOT_GET(s, f) atomic_load_explicit(&((bench_slot *)(s))->f, memory_order_relaxed)

void bench_sum_slots(const bench_shared *sh, bench_sum *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < sh->nslots; i++) {
        const bench_slot *s = &sh->slots[i];
#define BENCH_SUM_ADD(name) out->name += SLOT_GET(s, name);
        BENCH_COUNTERS(BENCH_SUM_ADD)
#undef BENCH_SUM_ADD
        int64_t first = SLOT_GET(s, first_conn_ns), connack = SLOT_GET(s, last_connack_ns);
        int64_t rx = SLOT_GET(s, last_rx_ns);
        if (first && (!out->first_conn_ns || first < out->first_conn_ns))
            out->first_conn_ns = first;
        if (connack > out->last_connack_ns) out->last_connack_ns = connack;
        if (rx > out->last_rx_ns) out->last_rx_ns = rx;
    }
}

static uint64_t pub_get(_Atomic uint64_t *a, uint32_t pub)
{
    return atomic_load_explicit(&a[pub], memory_order_relaxed);
}

uint64_t bench_expected(const bench_plan *plan, const bench_shared *sh)
{
    if (!plan->tracked) return 0;
    uint8_t *seen = calloc(plan->ngroups + 1, 1);
    uint64_t total = 0;
    if (!seen) return 0;
    for (uint32_t s = 0; s < plan->nsubs; s++) {
        int32_t g = plan->sub_group[s];
        if (g >= 0 && seen[g]++) continue;
        for (uint32_t i = plan->sub_first[s]; i < plan->sub_first[s + 1]; i++)
            total += pub_get(sh->pub_acked, plan->pair_pub[i]);
    }
    free(seen);
    return total;
}

static void account_groups(const bench_plan *plan, const bench_shared *sh, const uint32_t *gfirst,
                           const uint32_t *goff, const uint64_t *gsum, bench_result *r)
{
    for (uint32_t g = 0; g < plan->ngroups; g++) {
        uint32_t s = gfirst[g], base = plan->sub_first[s];
        for (uint32_t j = 0; base + j < plan->sub_first[s + 1]; j++) {
            uint32_t pub = plan->pair_pub[base + j];
            uint64_t total = gsum[goff[g] + j], acked = pub_get(sh->pub_acked, pub);
            uint64_t sent = pub_get(sh->pub_sent, pub);
            if (acked > total) r->lost += acked - total;
            if (total > sent) r->dup += total - sent;
        }
    }
}

static int account(const bench_plan *plan, const bench_shared *sh, bench_result *r)
{
    uint32_t ng = plan->ngroups;
    uint32_t *goff = malloc(sizeof(uint32_t) * (ng + 1)),
             *gfirst = malloc(sizeof(uint32_t) * (ng + 1));
    uint64_t len = 0;
    if (!goff || !gfirst) goto nomem;
    for (uint32_t g = 0; g < ng; g++)
        goff[g] = NONE;
    for (uint32_t s = 0; s < plan->nsubs; s++) {
        int32_t g = plan->sub_group[s];
        if (g < 0 || goff[g] != NONE) continue;
        goff[g] = (uint32_t)len, gfirst[g] = s;
        len += plan->sub_first[s + 1] - plan->sub_first[s];
    }
    uint64_t *gsum = calloc(len + 1, sizeof *gsum);
    if (!gsum) goto nomem;
    for (uint32_t s = 0; s < plan->nsubs; s++) {
        int32_t g = plan->sub_group[s];
        for (uint32_t i = plan->sub_first[s]; i < plan->sub_first[s + 1]; i++) {
            const bench_pair *p = &sh->pairs[i];
            uint64_t acked = pub_get(sh->pub_acked, p->pub);
            r->dup += p->dup;
            r->ooo += p->ooo;
            if (g >= 0)
                gsum[goff[g] + (i - plan->sub_first[s])] += p->uniq;
            else if (acked > p->uniq)
                r->lost += acked - p->uniq;
        }
    }
    account_groups(plan, sh, gfirst, goff, gsum, r);
    free(gsum);
    free(goff);
    free(gfirst);
    return 0;
nomem:
    free(goff);
    free(gfirst);
    return ST_ENOMEM;
}

int bench_result_compute(const bench_cfg *cfg, const bench_plan *plan, const bench_shared *sh,
                         const bench_timing *t, bench_result *r)
{
    memset(r, 0, sizeof *r);
    r->t = *t;
    bench_sum_slots(sh, &r->sum);
    for (uint32_t i = 0; i < sh->nslots; i++) {
        bench_hist_merge(&r->lat, &sh->lat[i]);
        bench_hist_merge(&r->conn, &sh->conn[i]);
        bench_hist_merge(&r->ack, &sh->ack[i]);
    }
    const bench_sum *s = &r->sum;
    r->errors = s->err_closed + s->err_proto + s->err_suback + s->err_rejected + s->err_io +
                (uint64_t)t->workers_failed;
    if (t->run_start_ns) r->run_s = (double)(t->run_end_ns - t->run_start_ns) / 1e9;
    r->rx_s = s->last_rx_ns > t->run_start_ns && t->run_start_ns
                  ? (double)(s->last_rx_ns - t->run_start_ns) / 1e9
                  : r->run_s;
    if (r->rx_s > 0) r->rx_rate = (double)s->received / r->rx_s;
    if (r->run_s > 0) r->tx_rate = (double)s->sent / r->run_s;
    if (s->last_connack_ns > s->first_conn_ns && s->first_conn_ns)
        r->connect_s = (double)(s->last_connack_ns - s->first_conn_ns) / 1e9;
    if (r->connect_s > 0) r->conn_rate = (double)s->conn_ok / r->connect_s;
    r->tracked = plan->tracked;
    if (!plan->tracked) return 0;
    r->expected = bench_expected(plan, sh);
    return account(plan, sh, r);
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static const char *version_name(uint32_t v)
{
    return v == 3 ? "3.1" : v == 4 ? "3.1.1" : "5";
}

static double main_rate(const bench_cfg *cfg, const bench_result *r)
{
    if (cfg->scenario == BENCH_CONN) return r->conn_rate;
    return cfg->scenario == BENCH_PUB ? r->tx_rate : r->rx_rate;
}

static void print_lat(FILE *f, const char *label, const bench_hist *h)
{
    fprintf(f, "%-10s p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f us  (%lu samples)\n",
            label, us(bench_hist_pct(h, 50)), us(bench_hist_pct(h, 90)), us(bench_hist_pct(h, 99)),
            us(bench_hist_pct(h, 99.9)), us(h->max), h->count);
}

void bench_print_text(FILE *f, const bench_cfg *cfg, const bench_result *r)
{
    const bench_sum *s = &r->sum;
    if (cfg->scenario == BENCH_CONN)
        fprintf(f, "scenario  conn: %u connections%s, MQTT %s, held %.1f s%s\n", cfg->subs,
                cfg->sub_topic ? " with a subscription each" : "", version_name(cfg->version),
                r->run_s, r->t.interrupted ? " (interrupted)" : "");
    else
        fprintf(f,
                "scenario  %s: %u publishers, %u subscribers, QoS %u/%u, %u B, MQTT %s, %.1f s%s\n",
                cfg->scenario_name, cfg->pubs, cfg->subs, cfg->qos, cfg->sub_qos, cfg->payload,
                version_name(cfg->version), r->run_s, r->t.interrupted ? " (interrupted)" : "");
    fprintf(f,
            "connect   %lu ok, %lu failed (%lu timed out, %lu refused), %.0f/s over %.2f s, "
            "p50 %.1f us, p99 %.1f us\n",
            s->conn_ok, s->conn_fail, s->conn_timeout, s->conn_refused, r->conn_rate, r->connect_s,
            us(bench_hist_pct(&r->conn, 50)), us(bench_hist_pct(&r->conn, 99)));
    if (cfg->tls_resume) fprintf(f, "tls       %lu sessions resumed\n", s->tls_resumed);
    if (cfg->pubs && cfg->qos)
        fprintf(f, "publish   %lu sent, %lu acked, %.0f msg/s\n", s->sent, s->acked, r->tx_rate);
    else if (cfg->pubs)
        fprintf(f, "publish   %lu sent, %.0f msg/s\n", s->sent, r->tx_rate);
    if (cfg->subs && cfg->scenario != BENCH_CONN) {
        fprintf(f, "deliver   %lu received", s->received);
        if (r->tracked) fprintf(f, " of %lu expected", r->expected);
        fprintf(f, ", %.0f msg/s over %.2f s\n", r->rx_rate, r->rx_s);
        print_lat(f, "latency", &r->lat);
    }
    if (cfg->pubs && cfg->qos) print_lat(f, "ack", &r->ack);
    if (r->tracked)
        fprintf(f, "streams   lost %lu, duplicated %lu, out of order %lu, unexpected %lu\n",
                r->lost, r->dup, r->ooo, s->unexpected);
    if (s->foreign) fprintf(f, "foreign   %lu messages not from this run\n", s->foreign);
    fprintf(f,
            "errors    %lu (closed %lu, protocol %lu, suback %lu, rejected %lu, io %lu, "
            "workers %d)\n",
            r->errors, s->err_closed, s->err_proto, s->err_suback, s->err_rejected, s->err_io,
            r->t.workers_failed);
}

static void json_lat(FILE *f, const char *key, const bench_hist *h)
{
    fprintf(f,
            "\"%s\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,"
            "\"count\":%lu}",
            key, us(bench_hist_pct(h, 50)), us(bench_hist_pct(h, 90)), us(bench_hist_pct(h, 99)),
            us(bench_hist_pct(h, 99.9)), us(h->max), h->count);
}

static void json_count(FILE *f, const char *key, int known, uint64_t v)
{
    if (known)
        fprintf(f, "\"%s\":%lu,", key, v);
    else
        fprintf(f, "\"%s\":null,", key);
}

void bench_print_json(FILE *f, const bench_cfg *cfg, const bench_result *r)
{
    const bench_sum *s = &r->sum;
    fprintf(f,
            "{\"scenario\":\"%s\",\"clients\":%u,\"pubs\":%u,\"subs\":%u,\"qos\":%u,"
            "\"sub_qos\":%u,\"version\":%u,\"payload\":%u,\"duration_s\":%.3f,",
            cfg->scenario_name, cfg->pubs + cfg->subs, cfg->pubs, cfg->subs, cfg->qos, cfg->sub_qos,
            cfg->version, cfg->payload, r->run_s);
    fprintf(f, "\"sent\":%lu,\"acked\":%lu,\"received\":%lu,", s->sent, s->acked, s->received);
    json_count(f, "expected", r->tracked, r->expected);
    fprintf(f, "\"rate_per_s\":%.1f,\"send_rate_per_s\":%.1f,\"receive_rate_per_s\":%.1f,",
            main_rate(cfg, r), r->tx_rate, r->rx_rate);
    json_lat(f, "latency_us", &r->lat);
    fputc(',', f);
    json_lat(f, "ack_latency_us", &r->ack);
    fputc(',', f);
    json_count(f, "lost", r->tracked, r->lost);
    json_count(f, "duplicated", r->tracked, r->dup);
    json_count(f, "out_of_order", r->tracked, r->ooo);
    fprintf(f, "\"unexpected\":%lu,\"foreign\":%lu,", s->unexpected, s->foreign);
    fprintf(f,
            "\"connect\":{\"ok\":%lu,\"failed\":%lu,\"timeouts\":%lu,\"refused\":%lu,"
            "\"rate_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"tls_resumed\":%lu},",
            s->conn_ok, s->conn_fail, s->conn_timeout, s->conn_refused, r->conn_rate,
            us(bench_hist_pct(&r->conn, 50)), us(bench_hist_pct(&r->conn, 99)), s->tls_resumed);
    fprintf(f,
            "\"errors\":%lu,\"error_detail\":{\"closed\":%lu,\"protocol\":%lu,\"suback\":%lu,"
            "\"rejected\":%lu,\"io\":%lu,\"workers\":%d},\"interrupted\":%s}\n",
            r->errors, s->err_closed, s->err_proto, s->err_suback, s->err_rejected, s->err_io,
            r->t.workers_failed, r->t.interrupted ? "true" : "false");
}
