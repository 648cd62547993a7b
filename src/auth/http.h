/* http.h — the HTTP authenticator (EMQX's `mechanism = password_based, backend = http`,
 * docs/security.md §2) and the HTTP authorization source (§9): a GET or POST to the user's service
 * with ${username},
 * ${clientid}, ${password}, ${peerhost}, ${cert_common_name} in the URL, headers and body;
 * 204 or {"result": "allow"} lets the client in (with is_superuser), {"result": "deny"}
 * refuses it (0x87), anything else, an error or a timeout leaves it to the next
 * authenticator. Run on the auth threads only (it blocks up to request_timeout);
 * connections are kept and shared between them. */
#ifndef ST_AUTH_HTTP_H
#define ST_AUTH_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define ST_HTTP_MAX_FIELDS 8

typedef struct st_authn_http {
    int get; /* method = get (else post) */
    char url[1024];
    int nheaders, nbody;
    char header[ST_HTTP_MAX_FIELDS][64], header_value[ST_HTTP_MAX_FIELDS][256];
    char body[ST_HTTP_MAX_FIELDS][64], body_value[ST_HTTP_MAX_FIELDS][256];
    int64_t request_timeout_ms, connect_timeout_ms;
} st_authn_http;

typedef struct st_http_client st_http_client;

/* The shared connections (NULL when out of memory). */
st_http_client *st_http_client_new(void);
void st_http_client_free(st_http_client *h);

/* What the client presents, for the placeholders; for authorization (authz.h) also what
 * it wants to do: ${topic}, ${action} (publish, subscribe), ${qos}, ${retain}. */
typedef struct st_http_who {
    const char *username, *clientid, *password, *peerhost;
    const char *cn; /* the client certificate's common name (NULL: none) */
    size_t ulen, cidlen, plen;
    const char *topic, *action; /* NULL: authentication */
    size_t tlen;
    int qos, retain;
} st_http_who;

struct st_config;
/* The service's url, method, headers, body and timeouts under prefix (for example
 * "authentication.1" or "authorization.sources.2"); ST_ECONFIG with "file:line: key: why". */
int st_http_cfg_load(st_authn_http *h, const struct st_config *c, const char *prefix, char *err,
                     size_t errlen);

enum { ST_HTTP_IGNORE, ST_HTTP_ALLOW, ST_HTTP_DENY };
/* Ask the service: ST_HTTP_* (superuser set for ALLOW; why for the log). With ALLOW, the
 * answer's "acl" as JSON text (malloc'd, or NULL) and "expire_at" (seconds, or 0). */
int st_http_ask(st_http_client *h, const st_authn_http *cfg, const st_http_who *who, int *superuser,
                char **acl, double *expire_at, char *why, size_t whylen);

#endif
