/* http.c — the HTTP authenticator with libcurl (http.h). */
#include "auth/http.h"
#include "core/json.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ANSWER 65536

struct st_http_client {
    CURLSH *share; /* the connection cache, DNS: shared by the auth threads */
    pthread_mutex_t mu[CURL_LOCK_DATA_LAST];
};

static void lock(CURL *e, curl_lock_data d, curl_lock_access a, void *ud)
{
    (void)e;
    (void)a;
    pthread_mutex_lock(&((st_http_client *)ud)->mu[d]);
}

static void unlock(CURL *e, curl_lock_data d, void *ud)
{
    (void)e;
    pthread_mutex_unlock(&((st_http_client *)ud)->mu[d]);
}

st_http_client *st_http_client_new(void)
{
    st_http_client *h = calloc(1, sizeof *h);
    if (!h || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        !(h->share = curl_share_init())) {
        free(h);
        return NULL;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&h->mu[i], NULL);
    curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, lock);
    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, unlock);
    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    return h;
}

void st_http_client_free(st_http_client *h)
{
    if (!h) return;
    curl_share_cleanup(h->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&h->mu[i]);
    free(h);
    curl_global_cleanup();
}

/* ---- the request ---- */

typedef struct text {
    char *p;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->oom || t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 512;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = t->oom ? NULL : realloc(t->p, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

enum { RAW, URL, JSON };

/* s with the client's values in place of the placeholders, each escaped for where it goes. */
static void expand(text *t, const char *s, const st_http_who *w, int how, CURL *e)
{
    static const char *const names[] = {
        "${username}", "${clientid}", "${password}", "${peerhost}", "${cert_common_name}",
        "${$}",        "${topic}",    "${action}",   "${qos}",      "${retain}"};
    char num[4];
    while (*s) {
        int k = -1;
        for (int i = 0; i < 10 && k < 0; i++)
            if (strncmp(s, names[i], strlen(names[i])) == 0 && (i < 6 || w->action)) k = i;
        if (k < 0) {
            put(t, s++, 1);
            continue;
        }
        s += strlen(names[k]);
        if (k == 8 || k == 9) snprintf(num, sizeof num, "%d", k == 8 ? w->qos : w->retain);
        const char *v = k == 0   ? w->username
                        : k == 1 ? w->clientid
                        : k == 2 ? w->password
                        : k == 3 ? w->peerhost
                        : k == 4 ? w->cn
                        : k == 5 ? "$"
                        : k == 6 ? w->topic
                        : k == 7 ? w->action
                        : k >= 8 ? num
                                 : "";
        size_t n = k == 0   ? w->ulen
                   : k == 1 ? w->cidlen
                   : k == 2 ? w->plen
                   : k == 6 ? w->tlen
                   : v      ? strlen(v)
                            : 0;
        if (!v) v = "", n = 0;
        if (how == URL) {
            char *q = curl_easy_escape(e, v, (int)n);
            if (q) put(t, q, strlen(q));
            curl_free(q);
        } else if (how == JSON) {
            for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)v[i];
                char esc[8];
                if (c == '"' || c == '\\') {
                    esc[0] = '\\', esc[1] = (char)c;
                    put(t, esc, 2);
                } else if (c < 0x20) {
                    snprintf(esc, sizeof esc, "\\u%04x", c);
                    put(t, esc, 6);
                } else {
                    put(t, (const char *)&c, 1);
                }
            }
        } else {
            put(t, v, n);
        }
    }
}

static int form(const st_authn_http *c)
{
    for (int i = 0; i < c->nheaders; i++)
        if (strcasecmp(c->header[i], "content-type") == 0 &&
            strstr(c->header_value[i], "x-www-form-urlencoded"))
            return 1;
    return 0;
}

/* The body (POST) or the query's additions (GET). */
static void body_of(text *t, const st_authn_http *c, const st_http_who *w, CURL *e, int json)
{
    if (json) put(t, "{", 1);
    for (int i = 0; i < c->nbody; i++) {
        if (json) {
            put(t, i ? ",\"" : "\"", i ? 2 : 1);
            expand(t, c->body[i], w, JSON, e);
            put(t, "\":\"", 3);
            expand(t, c->body_value[i], w, JSON, e);
            put(t, "\"", 1);
        } else {
            if (i) put(t, "&", 1);
            expand(t, c->body[i], w, URL, e);
            put(t, "=", 1);
            expand(t, c->body_value[i], w, URL, e);
        }
    }
    if (json) put(t, "}", 1);
}

static struct curl_slist *headers(const st_authn_http *c, const st_http_who *w, CURL *e)
{
    struct curl_slist *l = NULL;
    int has_type = 0, has_accept = 0;
    for (int i = 0; i < c->nheaders; i++) {
        text t = {0};
        expand(&t, c->header[i], w, RAW, e);
        put(&t, ": ", 2);
        expand(&t, c->header_value[i], w, RAW, e);
        has_type |= strcasecmp(c->header[i], "content-type") == 0;
        has_accept |= strcasecmp(c->header[i], "accept") == 0;
        if (!t.oom) l = curl_slist_append(l, t.p);
        free(t.p);
    }
    if (!has_type && !c->get) l = curl_slist_append(l, "Content-Type: application/json");
    if (!has_accept) l = curl_slist_append(l, "Accept: application/json");
    return curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    text *t = ud;
    if (t->len + size * n > MAX_ANSWER) return 0;
    put(t, p, size * n);
    return t->oom ? 0 : size * n;
}

/* ---- the answer ---- */

/* EMQX's truthy is_superuser. */
static int truthy(const char *s, size_t n)
{
    return (n == 4 && strncmp(s, "true", 4) == 0) || (n > 0 && atof(s) >= 1);
}

static int verdict(const char *body, size_t n, const char *type, int *su, char **acl,
                   double *expire_at, char *why, size_t wl)
{
    st_jtok t[1024];
    char result[16] = "";
    if (type && strstr(type, "x-www-form-urlencoded")) { /* result=allow&is_superuser=true */
        for (const char *p = body; p && *p;) {
            const char *amp = strchr(p, '&');
            size_t len = amp ? (size_t)(amp - p) : strlen(p);
            if (len > 7 && strncmp(p, "result=", 7) == 0)
                snprintf(result, sizeof result, "%.*s", (int)(len - 7), p + 7);
            if (len > 13 && strncmp(p, "is_superuser=", 13) == 0) *su = truthy(p + 13, len - 13);
            p = amp ? amp + 1 : NULL;
        }
    } else {
        int k = st_json_parse(body, n, t, 1024) > 0 && t[0].type == ST_J_OBJECT
                    ? st_json_get(body, t, 0, "result")
                    : -1;
        if (k < 0 || st_json_str(body, &t[k], result, sizeof result) < 0) {
            snprintf(why, wl, "the answer has no result");
            return ST_HTTP_IGNORE;
        }
        int s = st_json_get(body, t, 0, "is_superuser");
        *su =
            s >= 0 && (t[s].type == ST_J_TRUE || truthy(body + t[s].start, t[s].end - t[s].start));
        int a = st_json_get(body, t, 0, "acl"), e = st_json_get(body, t, 0, "expire_at");
        if (a >= 0) *acl = strndup(body + t[a].start, t[a].end - t[a].start);
        if (e >= 0) *expire_at = atof(body + t[e].start);
    }
    snprintf(why, wl, "result %s", result);
    if (strcmp(result, "allow") == 0) return ST_HTTP_ALLOW;
    *su = 0;
    return strcmp(result, "deny") == 0 ? ST_HTTP_DENY : ST_HTTP_IGNORE;
}

int st_http_ask(st_http_client *h, const st_authn_http *c, const st_http_who *w, int *superuser,
                char **acl, double *expire_at, char *why, size_t whylen)
{
    *acl = NULL;
    *expire_at = 0;
    CURL *e = curl_easy_init();
    text url = {0}, body = {0}, answer = {0};
    *superuser = 0;
    if (!e) {
        snprintf(why, whylen, "out of memory");
        return ST_HTTP_IGNORE;
    }
    expand(&url, c->url, w, URL, e);
    body_of(&body, c, w, e, !c->get && !form(c));
    if (c->get && body.len) {
        put(&url, strchr(url.p ? url.p : "", '?') ? "&" : "?", 1);
        put(&url, body.p, body.len);
    }
    struct curl_slist *hd = headers(c, w, e);
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, url.p ? url.p : "");
    curl_easy_setopt(e, CURLOPT_SHARE, h->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->request_timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
    if (!c->get) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.p ? body.p : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)body.len);
    }
    int v = ST_HTTP_IGNORE;
    long status = 0;
    char *type = NULL;
    if (url.oom || body.oom) {
        snprintf(why, whylen, "out of memory");
    } else if (curl_easy_perform(e) != CURLE_OK) {
        snprintf(why, whylen, "the service did not answer: %s", cerr);
    } else {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &type);
        if (status == 204) {
            v = ST_HTTP_ALLOW;
            snprintf(why, whylen, "204");
        } else if (status == 200) {
            v = verdict(answer.p ? answer.p : "", answer.len, type, superuser, acl, expire_at, why,
                        whylen);
            if (v != ST_HTTP_ALLOW) {
                free(*acl);
                *acl = NULL;
            }
        } else {
            snprintf(why, whylen, "HTTP %ld", status);
        }
    }
    curl_slist_free_all(hd);
    curl_easy_cleanup(e);
    free(url.p);
    free(body.p);
    free(answer.p);
    return v;
}
