/* http.c — the one HTTP call etcd and k8s discovery make (web.h): a blocking
 * libcurl easy request with a hard timeout, run only on libuv's thread pool, whose 2xx JSON
 * answer is tokenized with the strict reader (core/json.h). Proxies from the environment are
 * ignored (the API server and etcd are dialled directly, as EMQX does), only http and https
 * are allowed, and answers are capped so a broken server cannot exhaust memory. */
#include "cluster/discovery/web.h"
#include "core/err.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWER (4u << 20)

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    st_dw_http *h = ud;
    size_t k = size * n;
    if (h->len + k > MAX_ANSWER) return 0; /* curl fails the transfer (write error) */
    char *r = realloc(h->resp, h->len + k + 1);
    if (!r) return 0;
    memcpy(r + h->len, p, k);
    h->len += k;
    r[h->len] = '\0';
    h->resp = r;
    return k;
}

/* Tokenize the answer, growing the token array until it fits (a token takes >= 1 byte). */
static int tokenize(st_dw_http *h)
{
    for (uint32_t max = 256;; max *= 4) {
        st_jtok *t = realloc(h->tok, max * sizeof *t);
        if (!t) return ST_ENOMEM;
        h->tok = t;
        int n = st_json_parse(h->resp ? h->resp : "", h->len, t, max);
        if (n != ST_EFULL) {
            h->ntok = n > 0 ? n : 0;
            return n < 0 ? n : 0;
        }
        if (max > h->len + 16) return ST_EMALFORMED;
    }
}

/* The "message" member of an error answer (etcd's gateway and Kubernetes' Status both
 * have one), with control characters replaced so it stays one log line. */
static void answer_message(st_dw_http *h, char *out, size_t cap)
{
    out[0] = '\0';
    if (tokenize(h) < 0 || !h->ntok || h->tok[0].type != ST_J_OBJECT) return;
    int m = st_json_get(h->resp, h->tok, 0, "message");
    if (m < 0 || st_json_str(h->resp, &h->tok[m], out, cap) < 0) {
        out[0] = '\0';
        return;
    }
    for (char *p = out; *p; p++)
        if (iscntrl((unsigned char)*p)) *p = '?';
}

static struct curl_slist *headers(const st_dw_http *h)
{
    struct curl_slist *l = curl_slist_append(NULL, "Accept: application/json");
    if (l && h->body) l = curl_slist_append(l, "Content-Type: application/json");
    if (l && h->token && *h->token) {
        size_t n = strlen(h->token) + 32;
        char *a = malloc(n);
        if (!a) {
            curl_slist_free_all(l);
            return NULL;
        }
        snprintf(a, n, "Authorization: Bearer %s", h->token);
        struct curl_slist *r = curl_slist_append(l, a);
        free(a);
        if (!r) curl_slist_free_all(l);
        l = r;
    }
    return l;
}

static CURLcode perform(st_dw_http *h, struct curl_slist *hd, char *cerr)
{
    CURL *e = curl_easy_init();
    if (!e) return CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(e, CURLOPT_URL, h->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* we are one thread among many */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    if (h->body) curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->body);
    if (h->cafile) curl_easy_setopt(e, CURLOPT_CAINFO, h->cafile);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &h->status);
    curl_easy_cleanup(e);
    return rc;
}

int st_dw_http_do(st_dw_http *h, char *err, size_t errlen)
{
    h->status = 0;
    struct curl_slist *hd = headers(h);
    char cerr[CURL_ERROR_SIZE] = "";
    CURLcode rc = hd ? perform(h, hd, cerr) : CURLE_OUT_OF_MEMORY;
    curl_slist_free_all(hd);
    if (rc != CURLE_OK) {
        const char *why = *cerr ? cerr : curl_easy_strerror(rc);
        if (rc == CURLE_WRITE_ERROR) why = "the answer is over 4 MB (or out of memory)";
        snprintf(err, errlen, "%s", why);
        return ST_EIO;
    }
    if (h->status / 100 != 2) {
        char msg[200];
        answer_message(h, msg, sizeof msg);
        snprintf(err, errlen, "HTTP %ld%s%s", h->status, *msg ? ": " : "", msg);
        return ST_EIO;
    }
    if (tokenize(h) < 0 || !h->ntok || h->tok[0].type != ST_J_OBJECT) {
        snprintf(err, errlen, "the answer is not a JSON object");
        return ST_EMALFORMED;
    }
    return 0;
}

void st_dw_http_free(st_dw_http *h)
{
    free(h->resp);
    free(h->tok);
    h->resp = NULL;
    h->tok = NULL;
    h->len = 0;
    h->ntok = 0;
}

int st_dw_node_name_ok(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || strlen(s) >= 256) return 0;
    for (const char *p = s; p < at; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-.", *p)) return 0;
    for (const char *p = at + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-.:", *p)) return 0;
    return 1;
}

void st_dw_err(st_dw_job *j, const char *fmt, ...)
{
    size_t n = strlen(j->err);
    if (n + 3 >= sizeof j->err) return;
    if (n) {
        memcpy(j->err + n, "; ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err + n, sizeof j->err - n, fmt, ap);
    va_end(ap);
}
