/* auth.h — access control at CONNECT (docs/security.md): the configuration of the
 * authenticator chain (EMQX 5's `authentication = [...]`, `allow_anonymous`) and running it.
 * Built: password_based with built_in_database or http (http.h), jwt (jwt.h), and scram with
 * built_in_database (scram.h; its exchange is in broker/enhauth.c). */
#ifndef ST_AUTH_H
#define ST_AUTH_H

#include "auth/authz.h"
#include "auth/http.h"
#include "auth/passwd.h"
#include "auth/userdb.h"

#include <stddef.h>
#include <stdint.h>

struct st_config;

#define ST_AUTH_MAX 32 /* authenticators, the global chain's and the listeners' together */
#define ST_AUTH_MAX_S "32"
/* The MQTT 5 reason codes of a refusal (3.1.1: 4 and 5). */
#define ST_RC_BAD_CREDENTIALS 0x86
#define ST_RC_NOT_AUTHORIZED 0x87

enum st_mech { ST_MECH_PASSWORD = 1, ST_MECH_JWT = 2, ST_MECH_SCRAM = 3 };
enum st_backend { ST_BACKEND_BUILTIN = 1, ST_BACKEND_HTTP = 2 };
/* A listener's enable_authn (the order of its config choices: true, false, quick_deny) */
enum st_authn_mode { ST_AUTHN_ON = 0, ST_AUTHN_OFF = 1, ST_AUTHN_QUICK_DENY = 2 };

typedef struct st_authn_cfg {
    char id[64];       /* "password_based:built_in_database" (the API's id) */
    char listener[64]; /* "": the global chain; "tcp:default": that listener's own */
    char key[140];     /* id, or listener/id: its users' rows and st_auth_find */
    int enable;
    int mechanism, backend;
    int by_clientid; /* user_id_type = clientid */
    st_pw_algo algo;
    char bootstrap_file[512];
    int bootstrap_hash; /* bootstrap_type = hash */
    char pepper[256];   /* its password_hash_salt, or the global one */
    /* jwt */
    int jwt_public; /* algorithm = public-key */
    char secret[512];
    int secret_b64;
    char public_key[4096]; /* PEM text or a file's path */
    int from_username;     /* from = username */
    int nclaims;
    char claim[8][64], claim_value[8][256];
    st_authn_http http; /* backend = http */
} st_authn_cfg;

typedef struct st_auth_cfg {
    int allow_anonymous; /* -1 not set: only without a chain; 0 never; 1 always */
    char pepper[256];    /* authentication.password_hash_salt (the seed's key) */
    char bans_file[512]; /* banned.bootstrap_file */
    int flapping;        /* flapping_detect.* */
    int64_t flap_window_ms, flap_ban_ms;
    int flap_max;
    int n;
    st_authn_cfg chain[ST_AUTH_MAX];
    st_authz_cfg authz; /* authorization */
} st_auth_cfg;

/* From a loaded configuration; ST_ECONFIG with "key: why" in err. */
int st_auth_cfg_load(st_auth_cfg *a, const struct st_config *c, char *err, size_t errlen);

typedef struct st_auth st_auth;

/* The chain's run-time state (its user tables); bootstrap files are read here: ST_ECONFIG
 * with the file, line and why in err. */
st_auth *st_auth_new(const st_auth_cfg *cfg, char *err, size_t errlen);
void st_auth_free(st_auth *a);
const st_auth_cfg *st_auth_config(const st_auth *a);
/* The HTTP connections shared by the auth threads (NULL: no HTTP backend or source). */
st_http_client *st_auth_http(st_auth *a);
/* Authorization (authz.h): its sources, read at start. */
st_authz *st_auth_authz(st_auth *a);
/* The built-in database of authenticator i (who may connect), or NULL. */
st_userdb *st_auth_userdb(st_auth *a, int i);
/* Its bootstrap file's users, as read at start. */
st_userdb *st_auth_boot_users(st_auth *a, int i);

/* The banned table's copy (bans.h), and banned.bootstrap_file's rows. */
struct st_bans;
struct st_ban;
struct st_bans *st_auth_bans(st_auth *a);
const struct st_ban *st_auth_boot_bans(const st_auth *a, size_t *n);

/* Flapping detection: client id cid has disconnected; when it has done so max_count times
 * within the window, a ban is made and handed to sink (the cluster's table), which the
 * main program sets. Any thread. */
typedef void (*st_ban_sink)(void *ctx, const struct st_ban *ban);
void st_auth_set_ban_sink(st_auth *a, st_ban_sink sink, void *ctx);
void st_auth_disconnected(st_auth *a, const char *cid, size_t len);

/* What a client presents. */
typedef struct st_credentials {
    const char *clientid;
    size_t cidlen;
    const char *username; /* NULL: none sent */
    size_t ulen;
    const char *password; /* NULL: none sent */
    size_t plen;
    const char *peerhost; /* the client's address, without its port */
    int mode;             /* the listener's enable_authn (ST_AUTHN_*) */
    const char *listener; /* "tcp:default": its own chain if it has one (NULL: the global) */
    const char *cn;       /* its TLS certificate's common name (NULL: none) */
} st_credentials;

typedef struct st_auth_result {
    int ok;         /* accepted */
    uint8_t reason; /* refused: the MQTT 5 reason code (0x86, 0x87) */
    int superuser;
    int anonymous;    /* accepted without any authenticator's say */
    const char *by;   /* the authenticator that decided, or "" */
    st_authz_own own; /* accepted: the authenticator's acl, if it gave one (the taker frees) */
} st_auth_result;

/* mechanism = scram (MQTT 5 enhanced authentication, scram.h): the enabled authenticator for
 * SCRAM-SHA-256 (sha512 = 0) or -512, and the user's record from it. -1 no such
 * authenticator; 0 it has no such user; 1 *u and *iterations set. */
int st_auth_scram_user(st_auth *a, const char *listener, int sha512, const char *user, size_t ulen,
                       st_user *u, int *iterations);

/* Run the chain on the caller's thread (the auth threads: it may hash slowly or wait for an
 * HTTP service). */
void st_auth_check(st_auth *a, const st_credentials *cr, st_auth_result *out);
/* The same on a worker, as far as it is quick: 1 decided (out set), 0 an authenticator
 * would hash slowly (a user it knows) or ask its service: st_auth_check on the auth
 * threads decides. Clients without credentials, unknown users and tokens never wait. */
int st_auth_try(st_auth *a, const st_credentials *cr, st_auth_result *out);

#endif
