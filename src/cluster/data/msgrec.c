/* msgrec.c — messages as wire records (msgrec.h). */
#include "cluster/data/msgrec.h"

#include <stdlib.h>
#include <string.h>

size_t st_msgrec_room(const st_msg *m)
{
    return m->props.present || m->props.user.len ? mqtt_props_size(&m->props) + 8 : 0;
}

size_t st_msgrec_fill(const st_msg *m, int64_t now, cw_record *r, uint8_t *props, size_t room)
{
    memset(r, 0, sizeof *r);
    r->kind = CW_REC_DELIVER;
    r->m = (uint8_t)(m->qos | (m->retain ? CW_MSG_RETAIN : 0));
    r->origin = m->origin;
    r->mid = m->oid;
    if (m->has_expiry) {
        int64_t left = m->expire_at - now;
        r->expiry_ms = left > 0 ? (uint32_t)left : 1;
    }
    r->topic = (st_bytes){(const uint8_t *)m->topic, m->topic_len};
    r->payload = (st_bytes){m->payload, m->payload_len};
    if (!m->props.present && !m->props.user.len) return 0;
    mqtt_props pr = m->props;
    if (pr.present & MQTT_HAS(MQTT_PROP_MESSAGE_EXPIRY))
        pr.message_expiry = st_msg_remaining_s(m, now);
    long n = mqtt_props_encode(&pr, props, room);
    if (n <= 0 || (size_t)n > room) return 0;
    r->props = (st_bytes){props, (uint32_t)n};
    return (size_t)n;
}

st_msg *st_msgrec_msg(const cw_record *r, int64_t now)
{
    mqtt_props pr;
    const mqtt_props *pp = NULL;
    if (r->props.len) {
        if (mqtt_props_decode(r->props.p, r->props.len, MQTT_PUBLISH, 1, &pr) < 0) return NULL;
        pp = &pr;
    }
    st_msg *m = st_msg_new((const char *)r->topic.p, r->topic.len, r->payload.p, r->payload.len, pp,
                           r->m & CW_MSG_QOS_MASK, (r->m & CW_MSG_RETAIN) != 0, now, 0);
    if (!m) return NULL;
    if (r->expiry_ms) {
        m->has_expiry = 1;
        m->expire_at = now + r->expiry_ms;
    }
    m->origin = r->origin;
    m->oid = r->mid;
    return m;
}

/* ---- session image entries ---- */

void st_msgrec_put_ent(st_buf *img, const cw_sess_ent *e)
{
    size_t n = cw_encode_sess_ent(e, NULL, 0);
    uint8_t *d = st_buf_room(img, n);
    if (!d) return;
    cw_encode_sess_ent(e, d, n);
    img->len += n;
}

/* An entry for a message (queued, inflight waiting for PUBACK/PUBREC, or the will). */
void st_msgrec_put_msg(st_buf *img, cw_sess_ent *e, const st_msg *m, const st_sharekey *share,
                       int64_t now)
{
    uint8_t small[256];
    size_t room = st_msgrec_room(m);
    uint8_t *props = room <= sizeof small ? small : malloc(room);
    if (!props) room = 0;
    st_msgrec_fill(m, now, &e->rec, props ? props : small, room);
    if (share) {
        e->rec.kind |= CW_REC_SHARED;
        e->rec.share = (st_bytes){(const uint8_t *)share->s, share->len};
    }
    st_msgrec_put_ent(img, e);
    if (props != small) free(props);
}
