/* test_fsm.c — the control plane's state machine without libraft: entry codec, the
 * `cluster` and `nodes` tables, op-id dedupe, index order, snapshots (and their golden
 * file, golden/snapshot.bin; `test_fsm --write` regenerates it after a deliberate change). */
#include "test.h"
#include "cluster/plane/fsm.h"
#include "cluster/plane/tables.h"
#include "core/err.h"
#include "cwire/centry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const st_rtable_ops *const TABLES[] = {&st_table_cluster, &st_table_nodes};
#define NT 2

typedef struct batch {
    ce_op ops[16];
    st_buf bodies[16];
    uint32_t n;
} batch;

static uint64_t seq_counter = 1000;

/* Add an op with body built in bodies[n]; returns its seq. */
static st_buf *add(batch *b, uint64_t origin, uint16_t table, uint16_t verb)
{
    st_buf *body = &b->bodies[b->n];
    memset(body, 0, sizeof *body);
    b->ops[b->n] = (ce_op){origin, ++seq_counter, table, verb, {NULL, 0}};
    b->n++;
    return body;
}

static int apply(st_fsm *f, uint64_t index, batch *b, uint64_t hlc)
{
    for (uint32_t i = 0; i < b->n; i++)
        b->ops[i].body = (st_bytes){b->bodies[i].p, (uint32_t)b->bodies[i].len};
    uint8_t buf[8192];
    size_t n = ce_encode_entry(hlc, b->ops, b->n, buf, sizeof buf);
    int rc = n <= sizeof buf ? st_fsm_apply(f, index, (st_bytes){buf, (uint32_t)n}) : -1;
    return rc;
}

static void clear(batch *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        st_buf_free(&b->bodies[i]);
    b->n = 0;
}

static const uint8_t UUID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* A fixed history: form, three joins, a boot, a down, a leave. */
static void history(st_fsm *f)
{
    batch b = {0};
    st_op_init(add(&b, 7, ST_T_CLUSTER, ST_V_INIT), UUID, "starlingcl", 1);
    st_op_join(add(&b, 7, ST_T_NODES, ST_V_JOIN), "starling@127.0.0.2", 1, 0x22, "127.0.0.2:4370",
               0xB2);
    st_op_boot(add(&b, 7, ST_T_NODES, ST_V_BOOT), "starling@127.0.0.2", 0xB2);
    CHECK_EQ(apply(f, 1, &b, 100), 0);
    clear(&b);
    st_op_join(add(&b, 8, ST_T_NODES, ST_V_JOIN), "starling@127.0.0.3", 1, 0x33, "127.0.0.3:4370",
               0xB3);
    st_op_name(add(&b, 7, ST_T_NODES, ST_V_JOINED), "starling@127.0.0.3");
    st_op_join(add(&b, 9, ST_T_NODES, ST_V_JOIN), "starling@127.0.0.4", 2, 0x44, "127.0.0.4:4370",
               0xB4);
    CHECK_EQ(apply(f, 2, &b, 200), 0);
    clear(&b);
    st_op_down(add(&b, 7, ST_T_NODES, ST_V_DOWN), "starling@127.0.0.3", 1);
    st_op_leave(add(&b, 7, ST_T_NODES, ST_V_LEAVE), "starling@127.0.0.4", 1);
    CHECK_EQ(apply(f, 3, &b, 300), 0);
    clear(&b);
}

static void test_entry_codec(void)
{
    ce_op ops[2] = {{1, 2, 3, 4, {(const uint8_t *)"ab", 2}}, {5, 6, 7, 8, {NULL, 0}}};
    uint8_t buf[256];
    size_t n = ce_encode_entry(99, ops, 2, buf, sizeof buf);
    CHECK_EQ(n, 20u + ce_op_size(&ops[0]) + ce_op_size(&ops[1]));
    ce_entry e;
    CHECK_EQ(ce_decode_entry((st_bytes){buf, (uint32_t)n}, &e), 0);
    CHECK(e.hlc == 99 && e.n == 2 && e.version == CE_VERSION);
    uint32_t off = 0;
    ce_op op;
    CHECK(ce_op_next(&e, &off, &op) && op.origin == 1 && op.seq == 2 && op.body.len == 2);
    CHECK(ce_op_next(&e, &off, &op) && op.table == 7 && op.verb == 8 && op.body.len == 0);
    CHECK(!ce_op_next(&e, &off, &op));
    for (uint32_t k = 0; k < n; k++)
        CHECK(ce_decode_entry((st_bytes){buf, k}, &e) < 0);
    uint8_t more[300] = {0};
    memcpy(more, buf, n);
    CHECK_EQ(ce_decode_entry((st_bytes){more, (uint32_t)n + 7}, &e), 0); /* zero padding */
    CHECK_EQ(ce_decode_entry((st_bytes){more, (uint32_t)n + 8}, &e), ST_EMALFORMED);
    more[n + 3] = 1;
    CHECK_EQ(ce_decode_entry((st_bytes){more, (uint32_t)n + 4}, &e), ST_EMALFORMED);
    more[n + 3] = 0;
    more[5] = 2; /* version 2: from a newer node */
    CHECK_EQ(ce_decode_entry((st_bytes){more, (uint32_t)n}, &e), ST_EVERSION);
    more[5] = 1;
    more[7] = 1; /* flags */
    CHECK_EQ(ce_decode_entry((st_bytes){more, (uint32_t)n}, &e), ST_EMALFORMED);
}

static void test_membership(void)
{
    st_fsm *f = st_fsm_new(TABLES, NT);
    CHECK(f != NULL);
    history(f);
    CHECK_EQ(st_fsm_applied(f), 3u);
    const st_cluster_row *c = st_fsm_table(f, ST_T_CLUSTER);
    CHECK(c->init && strcmp(c->name, "starlingcl") == 0 && c->created_hlc == 100);
    const st_nodes *t = st_fsm_table(f, ST_T_NODES);
    CHECK_EQ(t->n, 3u);
    const st_node_row *a = st_nodes_find(t, "starling@127.0.0.2");
    const st_node_row *b = st_nodes_find(t, "starling@127.0.0.3");
    const st_node_row *d = st_nodes_find(t, "starling@127.0.0.4");
    CHECK(a && a->state == ST_NS_UP && a->incarnation == 2 && a->slot == 0); /* JOIN, BOOT */
    CHECK(b && b->state == ST_NS_DOWN && b->incarnation == 2 && b->slot == 1);
    CHECK(d && d->state == ST_NS_LEFT && d->slot == ST_NO_SLOT && d->role == 2);
    CHECK_STR(st_node_state_name(b->state), "down");

    batch x = {0};
    st_op_down(add(&x, 7, ST_T_NODES, ST_V_DOWN), "starling@127.0.0.3", 0); /* stale */
    uint64_t stale = seq_counter;
    st_op_join(add(&x, 9, ST_T_NODES, ST_V_JOIN), "starling@127.0.0.4", 1, 0x44, "127.0.0.4:4370",
               0xC4); /* rejoin after leaving: slot 2 again, new incarnation */
    st_op_join(add(&x, 5, ST_T_NODES, ST_V_JOIN), "starling@127.0.0.2", 1, 0x99, "x:1", 1);
    uint64_t conflict = seq_counter;
    st_op_boot(add(&x, 5, ST_T_NODES, ST_V_BOOT), "starling@nowhere", 1);
    uint64_t notfound = seq_counter;
    st_op_init(add(&x, 5, ST_T_CLUSTER, ST_V_INIT), UUID, "x", 1); /* same uuid: idempotent */
    add(&x, 5, 42, 1);                                             /* unknown table */
    uint64_t unknown = seq_counter;
    CHECK_EQ(apply(f, 4, &x, 400), 0);
    clear(&x);
    CHECK_EQ(st_fsm_op_status(f, 7, stale), ST_OP_STALE);
    CHECK_EQ(st_fsm_op_status(f, 5, conflict), ST_OP_CONFLICT);
    CHECK_EQ(st_fsm_op_status(f, 5, notfound), ST_OP_NOTFOUND);
    CHECK_EQ(st_fsm_op_status(f, 5, unknown), ST_OP_INVALID);
    CHECK_EQ(st_fsm_op_status(f, 5, 1), -1);
    d = st_nodes_find(t, "starling@127.0.0.4");
    CHECK(d->state == ST_NS_JOINING && d->slot == 2 && d->incarnation == 2 && d->boot == 0xC4);
    CHECK_EQ(st_fsm_validate(f, ST_T_NODES, ST_V_JOIN, (st_bytes){(const uint8_t *)"x", 1}),
             ST_OP_INVALID);
    st_fsm_free(f);
}

static void test_dedupe_and_order(void)
{
    st_fsm *f = st_fsm_new(TABLES, NT);
    batch b = {0};
    st_op_join(add(&b, 7, ST_T_NODES, ST_V_JOIN), "starling@127.0.0.2", 1, 0x22, "a:1", 1);
    st_op_boot(add(&b, 7, ST_T_NODES, ST_V_BOOT), "starling@127.0.0.2", 2);
    CHECK_EQ(apply(f, 10, &b, 1), 0);
    CHECK_EQ(apply(f, 10, &b, 1), ST_EINVAL); /* same index */
    CHECK_EQ(apply(f, 9, &b, 1), ST_EINVAL);
    CHECK_EQ(apply(f, 12, &b, 1), 0); /* the same op ids again (a re-proposal): no effect */
    const st_nodes *t = st_fsm_table(f, ST_T_NODES);
    CHECK_EQ(st_nodes_find(t, "starling@127.0.0.2")->incarnation, 2u);
    CHECK_EQ(st_fsm_applied(f), 12u);
    clear(&b);
    uint8_t junk[8] = "STRE\0\1\0";
    CHECK_EQ(st_fsm_apply(f, 13, (st_bytes){junk, 8}), ST_EMALFORMED);
    CHECK_EQ(st_fsm_applied(f), 12u);
    st_fsm_free(f);
}

static void test_snapshot_restore(void)
{
    st_fsm *f = st_fsm_new(TABLES, NT), *g = st_fsm_new(TABLES, NT);
    history(f);
    st_buf s1 = {0}, s2 = {0};
    st_fsm_snapshot(f, &s1);
    CHECK(!s1.oom);
    CHECK_EQ(st_fsm_restore(g, (st_bytes){s1.p, (uint32_t)s1.len}), 0);
    st_fsm_snapshot(g, &s2);
    CHECK(s1.len == s2.len && memcmp(s1.p, s2.p, s1.len) == 0);
    CHECK_EQ(st_fsm_applied(g), 3u);
    const st_nodes *t = st_fsm_table(g, ST_T_NODES);
    CHECK(st_nodes_find(t, "starling@127.0.0.3")->state == ST_NS_DOWN);
    /* op ids came along: re-applying one of history's ops is still a no-op */
    CHECK_EQ(st_fsm_op_status(g, 7, 1003), ST_OP_OK);
    /* every truncation is refused and leaves the state alone */
    for (size_t k = 0; k < s1.len; k += 7)
        CHECK_EQ(st_fsm_restore(g, (st_bytes){s1.p, (uint32_t)k}), ST_EMALFORMED);
    CHECK_EQ(st_fsm_applied(g), 3u);
    st_buf_free(&s1);
    st_buf_free(&s2);
    st_fsm_free(f);
    st_fsm_free(g);
}

static const char *golden = "golden/snapshot.bin";

static void snapshot_of_history(st_buf *out)
{
    seq_counter = 1000;
    st_fsm *f = st_fsm_new(TABLES, NT);
    history(f);
    st_fsm_snapshot(f, out);
    st_fsm_free(f);
}

static void test_golden(void)
{
    st_buf s = {0};
    snapshot_of_history(&s);
    uint8_t got[8192];
    FILE *fp = fopen(golden, "rb");
    CHECK(fp != NULL);
    if (!fp) return;
    size_t n = fread(got, 1, sizeof got, fp);
    fclose(fp);
    CHECK(n == s.len && memcmp(got, s.p, n) == 0);
    st_fsm *g = st_fsm_new(TABLES, NT);
    CHECK_EQ(st_fsm_restore(g, (st_bytes){got, (uint32_t)n}), 0);
    st_fsm_free(g);
    st_buf_free(&s);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--write") == 0) {
        st_buf s = {0};
        snapshot_of_history(&s);
        FILE *fp = fopen(golden, "wb");
        if (!fp || fwrite(s.p, 1, s.len, fp) != s.len) return 1;
        fclose(fp);
        printf("wrote %s (%zu bytes)\n", golden, s.len);
        st_buf_free(&s);
        return 0;
    }
    RUN(test_entry_codec);
    seq_counter = 1000;
    RUN(test_membership);
    RUN(test_dedupe_and_order);
    seq_counter = 1000;
    RUN(test_snapshot_restore);
    RUN(test_golden);
    return TEST_END();
}
