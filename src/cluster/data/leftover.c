/* leftover.c — a left member's undelivered records, kept for its adopter (leftover.h). */
#include "cluster/data/leftover.h"
#include "cluster/data/msgrec.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEFTOVER_KEEP_MS (10 * 60 * 1000)
#define HEAD_LEN 17                          /* u8 ready, u64 node, u64 boot */
#define KEEP_MAX (CW_MAX_FRAME - (1u << 20)) /* the answer fits in one frame */

typedef struct lo_node {
    char name[256];
    uint16_t slot;
    int expect; /* lanes that have not posted yet */
    size_t count;
    int64_t until;
    st_buf b; /* entries */
    struct lo_node *next;
} lo_node;

struct st_leftovers {
    lo_node *head;
};

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

void st_leftover_put(st_buf *b, uint16_t lane, uint64_t seq, const st_msg *m, int64_t now)
{
    st_buf ent = {0};
    cw_sess_ent e = {.tag = CW_SE_QUEUE, .qos = m->qos, .retain = m->retain};
    st_msgrec_put_msg(&ent, &e, m, NULL, now);
    uint8_t h[14];
    put_be(h, lane, 2);
    put_be(h + 2, seq, 8);
    put_be(h + 10, ent.len, 4);
    if (ent.oom)
        b->oom = 1;
    else {
        st_buf_put(b, h, sizeof h);
        st_buf_put(b, ent.p, ent.len);
    }
    st_buf_free(&ent);
}

st_leftovers *st_leftovers_new(void)
{
    return calloc(1, sizeof(st_leftovers));
}

static void node_free(lo_node *n)
{
    st_buf_free(&n->b);
    free(n);
}

void st_leftovers_free(st_leftovers *l)
{
    if (!l) return;
    while (l->head) {
        lo_node *n = l->head;
        l->head = n->next;
        node_free(n);
    }
    free(l);
}

static lo_node *find(const st_leftovers *l, const char *name)
{
    for (lo_node *n = l ? l->head : NULL; n; n = n->next)
        if (strcmp(n->name, name) == 0) return n;
    return NULL;
}

void st_leftovers_expect(st_leftovers *l, const char *name, uint16_t slot, int nworkers,
                         int64_t now)
{
    if (!l) return;
    lo_node *n = find(l, name);
    if (!n) {
        if (!(n = calloc(1, sizeof *n))) return;
        snprintf(n->name, sizeof n->name, "%s", name);
        n->next = l->head;
        l->head = n;
    }
    n->slot = slot;
    n->expect += nworkers;
    n->until = now + LEFTOVER_KEEP_MS;
}

size_t st_leftovers_add(st_leftovers *l, uint16_t slot, const uint8_t *p, size_t len)
{
    for (lo_node *n = l ? l->head : NULL; n; n = n->next) {
        if (n->slot != slot || n->expect <= 0) continue;
        n->expect--;
        size_t cut = 0;
        for (size_t off = 0, next; off + 14 <= len; off = next) {
            next = off + 14 + get_be(p + off + 10, 4);
            if (next > len) break;
            if (n->b.len + (next - off) > KEEP_MAX) {
                cut++;
                continue;
            }
            st_buf_put(&n->b, p + off, next - off);
            n->count++;
        }
        return cut;
    }
    return 0;
}

int st_leftovers_ready(const st_leftovers *l, const char *name)
{
    const lo_node *n = find(l, name);
    return !n || n->expect <= 0;
}

char *st_leftovers_answer(const st_leftovers *l, const char *name, uint64_t node_id, uint64_t boot,
                          size_t *len)
{
    const lo_node *n = find(l, name);
    int ready = st_leftovers_ready(l, name);
    size_t body = ready && n && !n->b.oom ? n->b.len : 0;
    uint8_t *out = malloc(HEAD_LEN + body + 1);
    if (!out) return NULL;
    out[0] = (uint8_t)ready;
    put_be(out + 1, node_id, 8);
    put_be(out + 9, boot, 8);
    if (body) memcpy(out + HEAD_LEN, n->b.p, body);
    *len = HEAD_LEN + body;
    return (char *)out;
}

long st_leftovers_drop(st_leftovers *l, const char *name)
{
    for (lo_node **pp = l ? &l->head : NULL; pp && *pp; pp = &(*pp)->next) {
        lo_node *n = *pp;
        if (strcmp(n->name, name) != 0) continue;
        *pp = n->next;
        long count = (long)n->count;
        node_free(n);
        return count;
    }
    return -1;
}

void st_leftovers_tick(st_leftovers *l, int64_t now,
                       void (*fn)(void *ctx, const char *name, size_t n), void *ctx)
{
    for (lo_node **pp = l ? &l->head : NULL; pp && *pp;) {
        lo_node *n = *pp;
        if (now < n->until) {
            pp = &n->next;
            continue;
        }
        *pp = n->next;
        if (n->count) fn(ctx, n->name, n->count);
        node_free(n);
    }
}

int st_leftover_head(const uint8_t *p, size_t n, int *ready, uint64_t *node, uint64_t *boot,
                     size_t *off)
{
    if (n < HEAD_LEN || p[0] > 1) return ST_EMALFORMED;
    *ready = p[0];
    *node = get_be(p + 1, 8);
    *boot = get_be(p + 9, 8);
    *off = HEAD_LEN;
    return 0;
}

int st_leftover_next(const uint8_t *p, size_t n, size_t *off, st_leftover *e)
{
    if (*off >= n) return 0;
    if (n - *off < 14) return ST_EMALFORMED;
    const uint8_t *h = p + *off;
    uint64_t len = get_be(h + 10, 4);
    if (len > n - *off - 14) return ST_EMALFORMED;
    e->lane = (uint16_t)get_be(h, 2);
    e->seq = get_be(h + 2, 8);
    uint32_t eoff = 0;
    st_bytes img = {h + 14, (uint32_t)len};
    if (cw_sess_next(img, &eoff, &e->e) != 1 || eoff != len || e->e.tag != CW_SE_QUEUE)
        return ST_EMALFORMED;
    *off += 14 + len;
    return 1;
}
