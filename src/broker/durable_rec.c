/* durable_rec.c — the durable store's records (durable_rec.h). */
#include "broker/durable_rec.h"
#include "core/err.h"

#include <string.h>

#define SESSION_V 2 /* 2: with the session's registration version; 1 is read too */
#define MSG_V 1

void st_drec_u64(uint64_t v, uint8_t *out)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

uint64_t st_drec_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void st_drec_qkey(uint64_t sid, uint64_t mid, uint8_t *out)
{
    st_drec_u64(sid, out);
    st_drec_u64(mid, out + 8);
}

size_t st_drec_rel_key(const char *cid, size_t len, uint16_t pid, uint8_t *out)
{
    memcpy(out, cid, len);
    out[len] = 0;
    out[len + 1] = (uint8_t)(pid >> 8);
    out[len + 2] = (uint8_t)pid;
    return len + 3;
}

/* ---- a bounded reader ---- */

typedef struct rd {
    const uint8_t *p;
    size_t n, off;
    int bad;
} rd;

static uint64_t rd_be(rd *r, int bytes)
{
    if (r->bad || r->n - r->off < (size_t)bytes) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | r->p[r->off++];
    return v;
}

/* A u32-prefixed run of bytes. */
static st_bytes rd_blob(rd *r)
{
    uint32_t len = (uint32_t)rd_be(r, 4);
    st_bytes b = {NULL, 0};
    if (r->bad || r->n - r->off < len) {
        r->bad = 1;
        return b;
    }
    b.p = r->p + r->off;
    b.len = len;
    r->off += len;
    return b;
}

static void put_blob(st_buf *b, const void *p, size_t n)
{
    st_buf_be(b, n, 4);
    st_buf_put(b, p, n);
}

/* ---- sessions ---- */

void st_drec_session_put(st_buf *out, const st_session *s, int64_t offline_since, int64_t mono_now,
                         int64_t wall_now)
{
    st_buf_be(out, SESSION_V, 1);
    st_buf_be(out, s->sid, 8);
    st_buf_be(out, (uint64_t)s->expiry_ms, 8);
    st_buf_be(out, (uint64_t)offline_since, 8);
    st_buf_be(out, s->next_pid, 2);
    st_buf_be(out, s->reg_hlc, 8);
    st_buf_be(out, s->nsubs, 4);
    for (uint32_t i = 0; i < s->nsubs; i++) {
        const st_subrec *r = &s->subs[i];
        put_blob(out, r->filter, r->len);
        st_buf_be(out, r->qos, 1);
        st_buf_be(out, r->flags, 1);
        st_buf_be(out, r->sub_id, 4);
    }
    st_buf_be(out, s->will ? 1 : 0, 1);
    if (!s->will) return;
    st_buf_be(out, s->will_delay_s, 4);
    st_buf_be(out, (uint64_t)(s->will_at ? wall_now + (s->will_at - mono_now) : 0), 8);
    st_buf w = {0};
    st_drec_msg_put(&w, s->will, mono_now, wall_now);
    out->oom |= w.oom;
    put_blob(out, w.p, w.len);
    st_buf_free(&w);
}

int st_drec_session_get(const uint8_t *p, size_t n, st_drec_session *out)
{
    rd r = {p, n, 0, 0};
    uint64_t v = rd_be(&r, 1);
    if (v != 1 && v != SESSION_V) return ST_EMALFORMED;
    out->sid = rd_be(&r, 8);
    out->expiry_ms = (int64_t)rd_be(&r, 8);
    out->offline_since = (int64_t)rd_be(&r, 8);
    out->next_pid = (uint16_t)rd_be(&r, 2);
    out->reg_hlc = v == 1 ? 0 : rd_be(&r, 8);
    out->nsubs = (uint32_t)rd_be(&r, 4);
    if (r.bad) return ST_EMALFORMED;
    out->subs = p + r.off;
    out->subs_len = n - r.off;
    size_t off = 0;
    st_subrec rec;
    int rc;
    uint32_t k = 0;
    while (k < out->nsubs && (rc = st_drec_sub_next(out, &off, &rec)) == 1)
        k++;
    if (k != out->nsubs || out->sid == 0) return ST_EMALFORMED;
    out->subs_len = off;
    r.off += off;
    out->will = NULL;
    out->will_len = 0;
    out->will_delay_s = 0;
    out->will_at = 0;
    uint64_t has = rd_be(&r, 1);
    if (has == 1) {
        out->will_delay_s = (uint32_t)rd_be(&r, 4);
        out->will_at = (int64_t)rd_be(&r, 8);
        st_bytes w = rd_blob(&r);
        out->will = w.p;
        out->will_len = w.len;
    }
    return r.bad || has > 1 || r.off != n ? ST_EMALFORMED : 0;
}

int st_drec_sub_next(const st_drec_session *d, size_t *off, st_subrec *rec)
{
    if (*off >= d->subs_len) return 0;
    rd r = {d->subs, d->subs_len, *off, 0};
    st_bytes f = rd_blob(&r);
    rec->qos = (uint8_t)rd_be(&r, 1);
    rec->flags = (uint8_t)rd_be(&r, 1);
    rec->sub_id = (uint32_t)rd_be(&r, 4);
    if (r.bad || f.len == 0 || f.len > 0xffff || rec->qos > 2) return ST_EMALFORMED;
    rec->filter = (char *)f.p;
    rec->len = (uint16_t)f.len;
    *off = r.off;
    return 1;
}

/* ---- messages ---- */

void st_drec_msg_put(st_buf *out, const st_msg *m, int64_t mono_now, int64_t wall_now)
{
    st_buf_be(out, MSG_V, 1);
    st_buf_be(out, m->qos, 1);
    st_buf_be(out, m->retain, 1);
    int shown = (m->props.present & MQTT_HAS(MQTT_PROP_MESSAGE_EXPIRY)) != 0;
    st_buf_be(out, (uint64_t)(m->has_expiry | shown << 1), 1); /* shown: sent to subscribers */
    st_buf_be(out, (uint64_t)(m->has_expiry ? wall_now + (m->expire_at - mono_now) : 0), 8);
    st_buf_be(out, m->from_sid, 8);
    st_buf_be(out, m->origin, 8);
    st_buf_be(out, m->oid, 8);
    const mqtt_props *pr = &m->props;
    st_buf_be(out, pr->present & MQTT_HAS(MQTT_PROP_PAYLOAD_FORMAT) ? 1 : 0, 1);
    st_buf_be(out, pr->payload_format, 1);
    put_blob(out, m->topic, m->topic_len);
    put_blob(out, m->payload, m->payload_len);
    uint64_t has[3] = {MQTT_HAS(MQTT_PROP_CONTENT_TYPE), MQTT_HAS(MQTT_PROP_RESPONSE_TOPIC),
                       MQTT_HAS(MQTT_PROP_CORRELATION_DATA)};
    const st_bytes *b[3] = {&pr->content_type, &pr->response_topic, &pr->correlation_data};
    for (int i = 0; i < 3; i++) {
        st_buf_be(out, pr->present & has[i] ? 1 : 0, 1);
        put_blob(out, b[i]->p, b[i]->len);
    }
    put_blob(out, pr->user.p, pr->user.len);
}

st_msg *st_drec_msg_get(const uint8_t *p, size_t n, int64_t mono_now, int64_t wall_now, int *err)
{
    rd r = {p, n, 0, 0};
    *err = 0;
    uint64_t v = rd_be(&r, 1);
    uint8_t qos = (uint8_t)rd_be(&r, 1), retain = (uint8_t)rd_be(&r, 1);
    uint8_t exp = (uint8_t)rd_be(&r, 1), has_expiry = exp & 1;
    int64_t expire_wall = (int64_t)rd_be(&r, 8);
    uint64_t from = rd_be(&r, 8), origin = rd_be(&r, 8), oid = rd_be(&r, 8);
    mqtt_props pr;
    memset(&pr, 0, sizeof pr);
    if (rd_be(&r, 1)) pr.present |= MQTT_HAS(MQTT_PROP_PAYLOAD_FORMAT);
    pr.payload_format = (uint8_t)rd_be(&r, 1);
    st_bytes topic = rd_blob(&r), payload = rd_blob(&r);
    uint64_t has[3] = {MQTT_HAS(MQTT_PROP_CONTENT_TYPE), MQTT_HAS(MQTT_PROP_RESPONSE_TOPIC),
                       MQTT_HAS(MQTT_PROP_CORRELATION_DATA)};
    st_bytes *b[3] = {&pr.content_type, &pr.response_topic, &pr.correlation_data};
    for (int i = 0; i < 3; i++) {
        if (rd_be(&r, 1)) pr.present |= has[i];
        *b[i] = rd_blob(&r);
    }
    pr.user = rd_blob(&r);
    if (v != MSG_V || r.bad || r.off != n || qos > 2 || retain > 1 || exp > 3 || topic.len == 0) {
        *err = ST_EMALFORMED;
        return NULL;
    }
    st_msg *m = st_msg_new((const char *)topic.p, topic.len, payload.p, payload.len, &pr, qos,
                           retain, mono_now, 0);
    if (!m) {
        *err = ST_ENOMEM;
        return NULL;
    }
    m->has_expiry = has_expiry;
    m->expire_at = has_expiry ? mono_now + (expire_wall - wall_now) : 0;
    if (exp & 2) m->props.present |= MQTT_HAS(MQTT_PROP_MESSAGE_EXPIRY);
    m->from_sid = from;
    m->origin = origin;
    m->oid = oid;
    return m;
}

/* ---- queue entries ---- */

void st_drec_entry_put(uint8_t out[ST_DREC_ENTRY], const st_drec_entry *e)
{
    out[0] = e->qos;
    out[1] = e->retain;
    out[2] = e->state;
    out[3] = (uint8_t)(e->pid >> 8);
    out[4] = (uint8_t)e->pid;
    for (int i = 0; i < 4; i++)
        out[5 + i] = (uint8_t)(e->sub_id >> (24 - 8 * i));
}

int st_drec_entry_get(const uint8_t *p, size_t n, st_drec_entry *out)
{
    if (n != ST_DREC_ENTRY) return ST_EMALFORMED;
    out->qos = p[0];
    out->retain = p[1];
    out->state = p[2];
    out->pid = (uint16_t)(p[3] << 8 | p[4]);
    out->sub_id = (uint32_t)p[5] << 24 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];
    if (out->qos > 2 || out->retain > 1 || out->state > ST_INF_WAIT_COMP ||
        (out->state && !out->pid))
        return ST_EMALFORMED;
    return 0;
}
