/* enhauth.c — MQTT 5 enhanced authentication with SCRAM (auth/scram.h; docs/security.md §2):
 *
 *   CONNECT (Authentication Method "SCRAM-SHA-256", Data client-first)
 *     -> AUTH 0x18 (server-first)   <- AUTH 0x18 (client-final)
 *     -> CONNACK 0 (server-final), or CONNACK 0x86
 *   re-authentication: AUTH 0x19 (client-first) -> AUTH 0x18 (server-first)
 *     <- AUTH 0x18 (client-final) -> AUTH 0 (server-final), or DISCONNECT 0x86
 *
 * The CONNECT is kept while the exchange runs and handled as usual once the proof is right
 * (banned and the will were checked before; the authenticator chain is not run again).
 * The keys were made when the user was added: the exchange costs a few HMACs, on the
 * worker. A client that never answers is closed by the CONNECT timeout
 * (mqtt.idle_timeout). */
#include "auth/auth.h"
#include "auth/scram.h"
#include "broker/client.h"
#include "core/log.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct st_enh {
    st_scram s;
    uint8_t *raw; /* the CONNECT (NULL: a re-authentication) */
    size_t rawlen;
    char final[128]; /* the server-final-message, for the CONNACK */
    size_t final_len;
    int busy, sent; /* the CONNECT is being handled / its CONNACK has gone */
};

static const char *const methods[] = {"", "SCRAM-SHA-256", "SCRAM-SHA-512"};

static int method_of(st_bytes m)
{
    for (int i = 1; i <= 2; i++)
        if (m.len == strlen(methods[i]) && memcmp(m.p, methods[i], m.len) == 0) return i;
    return 0;
}

static void enh_free(st_client *c)
{
    if (!c->x->enh) return;
    free(c->x->enh->raw);
    OPENSSL_cleanse(c->x->enh, sizeof *c->x->enh);
    free(c->x->enh);
    c->x->enh = NULL;
}

static void send_auth(st_client *c, uint8_t reason, const char *data, size_t n)
{
    const char *m = methods[c->enh_method];
    mqtt_packet a = {.type = MQTT_AUTH, .version = MQTT_V5, .reason = reason};
    a.props.present = MQTT_HAS(MQTT_PROP_AUTH_METHOD) | MQTT_HAS(MQTT_PROP_AUTH_DATA);
    a.props.auth_method = (st_bytes){(const uint8_t *)m, (uint32_t)strlen(m)};
    a.props.auth_data = (st_bytes){(const uint8_t *)data, (uint32_t)n};
    st_client_send(c, &a);
}

/* The client-first: the exchange begins (AUTH 0x18 sent). 0, or the reason to refuse. */
static int begin(st_client *c, const mqtt_props *pr)
{
    st_auth *a = c->w->b->auth;
    int sha512 = c->enh_method == 2, iterations = 0;
    st_user u;
    char out[ST_SCRAM_MSG];
    st_client_ext *x = c->x->enh ? c->x : st_client_x(c);
    if (!x || (!x->enh && !(x->enh = calloc(1, sizeof *x->enh)))) return MQTT_RC_UNSPECIFIED;
    if (!(pr->present & MQTT_HAS(MQTT_PROP_AUTH_DATA)) ||
        st_scram_client_first(&c->x->enh->s, sha512, pr->auth_data.p, pr->auth_data.len) < 0)
        return MQTT_RC_BAD_USER_OR_PASS;
    char lid[100];
    int found = st_auth_scram_user(a, st_client_listener_id(c, lid, sizeof lid), sha512,
                                   c->x->enh->s.user, c->x->enh->s.ulen, &u, &iterations);
    int n = st_scram_server_first(&c->x->enh->s, found == 1 ? u.salt : "unknown-user-salt",
                                  iterations, found == 1 ? u.hash : NULL, out, sizeof out);
    c->superuser = found == 1 && u.superuser;
    memset(&u, 0, sizeof u);
    if (n < 0) return MQTT_RC_UNSPECIFIED;
    send_auth(c, MQTT_RC_CONTINUE_AUTH, out, (size_t)n);
    return 0;
}

int st_enh_connect(st_client *c, const mqtt_packet *p, const uint8_t *raw, size_t rawlen)
{
    st_auth *a = c->w->b->auth;
    int m = method_of(p->props.auth_method);
    int iterations;
    st_user u;
    char lid[100];
    if (!a || !m ||
        st_auth_scram_user(a, st_client_listener_id(c, lid, sizeof lid), m == 2, "", 0, &u,
                           &iterations) < 0)
        return MQTT_RC_BAD_AUTH_METHOD; /* no authenticator speaks it */
    c->enh_method = (uint8_t)m;
    int rc = begin(c, &p->props);
    if (rc) return rc;
    if (!(c->x->enh->raw = malloc(rawlen))) return MQTT_RC_UNSPECIFIED;
    memcpy(c->x->enh->raw, raw, rawlen);
    c->x->enh->rawlen = rawlen;
    return -1;
}

void st_enh_connack(st_client *c, mqtt_props *pr)
{
    if (!c->x->enh || !c->x->enh->final_len) return;
    const char *m = methods[c->enh_method];
    pr->present |= MQTT_HAS(MQTT_PROP_AUTH_METHOD) | MQTT_HAS(MQTT_PROP_AUTH_DATA);
    pr->auth_method = (st_bytes){(const uint8_t *)m, (uint32_t)strlen(m)};
    pr->auth_data = (st_bytes){(const uint8_t *)c->x->enh->final, (uint32_t)c->x->enh->final_len};
}

void st_enh_connack_sent(st_client *c)
{
    if (!c->x->enh) return;
    if (c->x->enh->busy)
        c->x->enh->sent = 1;
    else
        enh_free(c);
}

void st_enh_free(st_client *c)
{
    enh_free(c);
}

/* The client-final: 1 the proof is right (server-final kept), 0 not or malformed. */
static int finish(st_client *c, const mqtt_packet *p)
{
    const mqtt_props *pr = &p->props;
    if (!(pr->present & MQTT_HAS(MQTT_PROP_AUTH_DATA))) return 0;
    int ok =
        st_scram_client_final(&c->x->enh->s, pr->auth_data.p, pr->auth_data.len, c->x->enh->final,
                              sizeof c->x->enh->final, &c->x->enh->final_len);
    return ok == 1;
}

static void connect_done(st_client *c, int ok)
{
    st_worker *w = c->w;
    if (!ok) {
        LOG_INFO(w->log, "connection %s: SCRAM login of %.*s refused: bad username or password",
                 c->peer, (int)c->x->enh->s.ulen, c->x->enh->s.user);
        st_connect_refuse(c, MQTT_RC_BAD_USER_OR_PASS);
        return;
    }
    c->auth_checked = 1;
    c->auth_reason = 0;
    mqtt_packet p;
    mqtt_dec_opts o = {.max_packet_size = w->cfg->max_packet_size, .is_server = 1};
    c->x->enh->busy = 1;
    if (mqtt_decode(c->x->enh->raw, c->x->enh->rawlen, &o, &p) > 0)
        st_handle_connect(c, &p, c->x->enh->raw, c->x->enh->rawlen);
    if (c->x->enh && c->x->enh->sent)
        enh_free(c);
    else if (c->x->enh)
        c->x->enh->busy = 0;
}

void st_handle_auth(st_client *c, const mqtt_packet *p)
{
    st_worker *w = c->w;
    int m = method_of(p->props.auth_method);
    if (!c->enh_method || m != c->enh_method) { /* no exchange, or another method */
        st_client_disconnect(c, MQTT_RC_PROTOCOL_ERROR, 1);
        return;
    }
    if (c->state == ST_CS_NEW) { /* the CONNECT's exchange */
        if (!c->x->enh || !c->x->enh->raw || p->reason != MQTT_RC_CONTINUE_AUTH) {
            st_connect_refuse(c, MQTT_RC_PROTOCOL_ERROR);
            return;
        }
        connect_done(c, finish(c, p));
        return;
    }
    if (p->reason == MQTT_RC_REAUTHENTICATE) { /* a new exchange on a connected client */
        int su = c->superuser;
        int rc = begin(c, &p->props);
        c->superuser = (uint8_t)su; /* it changes only once the proof is right */
        if (rc) st_client_disconnect(c, (uint8_t)rc, 1);
        return;
    }
    if (p->reason != MQTT_RC_CONTINUE_AUTH || !c->x->enh || !c->x->enh->s.first_len) {
        st_client_disconnect(c, MQTT_RC_PROTOCOL_ERROR, 1);
        return;
    }
    if (!finish(c, p)) {
        LOG_INFO(w->log, "client %s: SCRAM re-authentication of %.*s failed",
                 c->sess ? c->sess->cid : c->peer, (int)c->x->enh->s.ulen, c->x->enh->s.user);
        st_client_disconnect(c, MQTT_RC_BAD_USER_OR_PASS, 1);
        return;
    }
    send_auth(c, MQTT_RC_SUCCESS, c->x->enh->final, c->x->enh->final_len);
    enh_free(c);
}
