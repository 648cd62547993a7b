/* users.h — the built-in databases' users as rows of the cluster's replicated key-value
 * table (docs/security.md §5): key = authenticator id ‖ NUL ‖ user id, value = the hash,
 * the salt and the flags. The API and a bootstrap file write rows; every node applies the
 * committed ones to its authenticators' tables. */
#ifndef ST_AUTH_USERS_H
#define ST_AUTH_USERS_H

#include "auth/auth.h"

#include <stddef.h>
#include <stdint.h>

#define ST_USER_KEY_MAX (140 + 1 + ST_USER_ID_MAX) /* st_authn_cfg.key, NUL, the user id */
#define ST_USER_VAL_MAX (2 + ST_PW_MAX + 2 + 64 + 2)

size_t st_user_key(const char *authn_id, const char *id, size_t idlen, uint8_t *out);
size_t st_user_value(const st_user *u, uint8_t *out); /* out: ST_USER_VAL_MAX */
/* A row applied on this node (val NULL: deleted; replaced 1: gone because the table was
 * replaced, so a user of the bootstrap file comes back as the file has it); rows of an
 * authenticator this node does not have are ignored. */
void st_auth_row(st_auth *a, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                 int replaced);
/* The index of the authenticator with this id, or -1. */
int st_auth_find(const st_auth *a, const char *id);
/* Visit every user of authenticator i's bootstrap file: fn(ctx, id, len, u). */
void st_auth_users_each(st_auth *a, int i,
                        void (*fn)(void *ctx, const char *id, size_t len, const st_user *u),
                        void *ctx);

#endif
