/* authz_db.h — the built_in_database authorization source (docs/security.md §9): rules per
 * client id, per username and for everyone, as rows of the cluster's replicated table
 * (namespace ST_KV_ACL), mirrored here with each row's rules compiled (acl.h). A row's key
 * is its kind's letter and the name; its value the rules as EMQX's JSON, every field given.
 * Any thread: a mutex guards the rows. */
#ifndef ST_AUTHZ_DB_H
#define ST_AUTHZ_DB_H

#include "auth/acl.h"

#include <stddef.h>
#include <stdint.h>

enum { ST_AUTHZ_CLIENT = 'c', ST_AUTHZ_USER = 'u', ST_AUTHZ_ALL = 'a' };
#define ST_AUTHZ_NAME_MAX 256

typedef struct st_authz_db st_authz_db;

st_authz_db *st_authz_db_new(void);
void st_authz_db_free(st_authz_db *d);

/* A row's key (room for 1 + ST_AUTHZ_NAME_MAX bytes); the name is "" for ST_AUTHZ_ALL. */
size_t st_authz_db_key(int kind, const char *name, size_t len, uint8_t *out);
/* A changed row (val NULL: deleted). 1 if the rules changed. */
int st_authz_db_row(st_authz_db *d, const uint8_t *key, size_t klen, const uint8_t *val,
                    size_t vlen);

/* The rules of one row: compiled (a reference, st_acl_free it), or as JSON (malloc'd). NULL
 * when there is no such row. */
st_acl *st_authz_db_acl(st_authz_db *d, int kind, const char *name, size_t len);
char *st_authz_db_json(st_authz_db *d, int kind, const char *name, size_t len);

/* The names of a kind that contain like ("" for all), sorted: up to max from the from-th,
 * copied into names (each ST_AUTHZ_NAME_MAX + 1); *total: how many there are. */
size_t st_authz_db_list(st_authz_db *d, int kind, const char *like, size_t from, size_t max,
                        char (*names)[ST_AUTHZ_NAME_MAX + 1], size_t *total);

#endif
