/* test_registry.c — the client-id registry table (registry.h) through its table ops: the
 * newest registration wins in any apply order, a stale one is refused and kicks nobody, one
 * of the node that holds the row (a restarted process's recovered session) kicks nobody,
 * equal clocks are decided by node id, UNREG only ends the registration it names, PURGE
 * drops a down node's rows, and a snapshot restores the same rows. */
#include "test.h"
#include "cluster/plane/registry.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static const st_rtable_ops *T = &st_table_registry;

static int op(void *st, uint16_t verb, st_buf *b)
{
    st_fsm_ctx cx = {1, 1};
    int rc = T->apply(st, verb, (st_bytes){b->p, (uint32_t)b->len}, &cx);
    st_buf_free(b);
    return rc;
}

static int reg(void *st, const char *cid, uint64_t node, uint64_t inc, uint64_t hlc)
{
    st_buf b = {0};
    st_op_reg(&b, cid, strlen(cid), node, inc, hlc);
    return op(st, ST_V_REG, &b);
}

static size_t take_kicks(void *st, uint64_t *node, uint64_t *hlc)
{
    size_t n;
    st_reg_kick *k = st_registry_kicks(st, &n);
    for (size_t i = 0; i < n; i++) {
        if (i == 0) {
            *node = k[i].node_id;
            *hlc = k[i].hlc;
        }
        free(k[i].cid);
    }
    free(k);
    return n;
}

static void test_newest_wins(void)
{
    void *st = T->create();
    uint64_t node = 0, hlc = 0;
    CHECK_EQ(reg(st, "dev1", 1, 1, 100), ST_OP_OK);
    CHECK_EQ(take_kicks(st, &node, &hlc), 0); /* new: nobody to kick */
    CHECK_EQ(reg(st, "dev1", 2, 1, 200), ST_OP_OK);
    CHECK_EQ(take_kicks(st, &node, &hlc), 1);
    CHECK(node == 1 && hlc == 100);                    /* node 1's registration at 100 lost */
    CHECK_EQ(reg(st, "dev1", 1, 1, 150), ST_OP_STALE); /* late: refused; its node's */
    CHECK_EQ(take_kicks(st, &node, &hlc), 1);          /* connection (150) is older */
    CHECK(node == 1 && hlc == 150);
    const st_reg_row *r = st_registry_get(st, "dev1", 4);
    CHECK(r && r->node_id == 2 && r->hlc == 200);
    CHECK_EQ(reg(st, "dev1", 2, 1, 200), ST_OP_OK); /* the same op again: no change */
    CHECK_EQ(take_kicks(st, &node, &hlc), 0);
    CHECK_EQ(reg(st, "dev1", 3, 1, 200), ST_OP_OK); /* same clock: the larger node id */
    CHECK_EQ(reg(st, "dev1", 1, 1, 200), ST_OP_STALE);
    CHECK_EQ(st_registry_get(st, "dev1", 4)->node_id, 3);
    CHECK_EQ(take_kicks(st, &node, &hlc), 2);       /* node 2's row replaced; node 1's refused */
    CHECK_EQ(reg(st, "dev1", 3, 2, 200), ST_OP_OK); /* registered again by a new incarnation */
    CHECK_EQ(st_registry_get(st, "dev1", 4)->incarnation, 2);
    CHECK_EQ(take_kicks(st, &node, &hlc), 0);
    T->destroy(st);
}

/* Node 1's process registered dev1 at 300 and crashed before its disk had it; its next
 * process recovers the session with the registration it had stored (100) and registers
 * that: the session is on node 1 either way, so nobody is kicked, the row stays node 1's
 * (clock 300) under the new incarnation, and a purge of the old incarnation keeps it. A
 * later connection elsewhere still wins. */
static void test_a_restarted_node_keeps_what_it_recovered(void)
{
    void *st = T->create();
    uint64_t node = 0, hlc = 0;
    CHECK_EQ(reg(st, "dev1", 1, 2, 300), ST_OP_OK);
    CHECK_EQ(reg(st, "dev1", 1, 3, 100), ST_OP_OK);
    CHECK_EQ(take_kicks(st, &node, &hlc), 0);
    const st_reg_row *r = st_registry_get(st, "dev1", 4);
    CHECK(r && r->node_id == 1 && r->hlc == 300 && r->incarnation == 3);
    st_buf b = {0};
    st_op_purge(&b, 1, 2);
    CHECK_EQ(op(st, ST_V_PURGE, &b), ST_OP_OK);
    CHECK(st_registry_get(st, "dev1", 4) != NULL);
    CHECK_EQ(reg(st, "dev1", 2, 1, 250), ST_OP_STALE); /* older than node 1's 300 */
    CHECK_EQ(take_kicks(st, &node, &hlc), 1);
    CHECK(node == 2 && hlc == 250);
    CHECK_EQ(reg(st, "dev1", 2, 1, 400), ST_OP_OK);
    CHECK_EQ(take_kicks(st, &node, &hlc), 1);
    CHECK(node == 1 && hlc == 300);
    /* the same two registrations of node 1 the other way round: the same row */
    CHECK_EQ(reg(st, "dev2", 1, 3, 100), ST_OP_OK);
    CHECK_EQ(reg(st, "dev2", 1, 2, 300), ST_OP_OK);
    CHECK_EQ(take_kicks(st, &node, &hlc), 0);
    r = st_registry_get(st, "dev2", 4);
    CHECK(r && r->node_id == 1 && r->hlc == 300 && r->incarnation == 3);
    T->destroy(st);
}

static void test_unreg_and_purge(void)
{
    void *st = T->create();
    CHECK_EQ(reg(st, "a", 1, 1, 10), ST_OP_OK);
    CHECK_EQ(reg(st, "b", 1, 2, 11), ST_OP_OK);
    CHECK_EQ(reg(st, "c", 2, 1, 12), ST_OP_OK);
    st_buf b = {0};
    st_op_unreg(&b, "a", 1, 1, 9); /* an older registration's end */
    CHECK_EQ(op(st, ST_V_UNREG, &b), ST_OP_STALE);
    st_op_unreg(&b, "a", 1, 1, 10);
    CHECK_EQ(op(st, ST_V_UNREG, &b), ST_OP_OK);
    CHECK(st_registry_get(st, "a", 1) == NULL);
    st_op_purge(&b, 1, 1); /* node 1 down at incarnation 1: b (incarnation 2) stays */
    CHECK_EQ(op(st, ST_V_PURGE, &b), ST_OP_OK);
    CHECK_EQ(st_registry_count(st), 2);
    st_op_purge(&b, 1, 2);
    CHECK_EQ(op(st, ST_V_PURGE, &b), ST_OP_OK);
    CHECK_EQ(st_registry_count(st), 1);
    CHECK(st_registry_get(st, "c", 1) != NULL);
    CHECK_EQ(T->validate(ST_V_REG, (st_bytes){(const uint8_t *)"x", 1}), ST_OP_INVALID);
    T->destroy(st);
}

static void test_snapshot(void)
{
    void *st = T->create(), *st2 = T->create();
    char cid[16];
    for (int i = 0; i < 100; i++) {
        snprintf(cid, sizeof cid, "c%d", i);
        CHECK_EQ(reg(st, cid, (uint64_t)(i % 3), 1, (uint64_t)(1000 + i)), ST_OP_OK);
    }
    st_buf b = {0};
    T->snapshot(st, &b);
    CHECK_EQ(T->restore(st2, (st_bytes){b.p, (uint32_t)b.len}), 0);
    CHECK_EQ(st_registry_count(st2), 100);
    const st_reg_row *r = st_registry_get(st2, "c42", 3);
    CHECK(r && r->node_id == 0 && r->hlc == 1042);
    CHECK_EQ(T->restore(st2, (st_bytes){b.p, (uint32_t)b.len - 1}), ST_EMALFORMED);
    st_buf_free(&b);
    T->destroy(st);
    T->destroy(st2);
}

int main(void)
{
    RUN(test_newest_wins);
    RUN(test_a_restarted_node_keeps_what_it_recovered);
    RUN(test_unreg_and_purge);
    RUN(test_snapshot);
    return TEST_END();
}
