/* bootstrap.h — a built-in database's users from EMQX's bootstrap files (.csv: a header
 * naming the columns, fields split on commas and spaces; .json: an array of objects).
 * plain: user_id, password, is_superuser; hash: user_id, password_hash, salt,
 * is_superuser. A user that exists already is left as it is. */
#ifndef ST_AUTH_BOOTSTRAP_H
#define ST_AUTH_BOOTSTRAP_H

#include "auth/auth.h"

/* Read m's bootstrap file into db (pepper: authentication.password_hash_salt). The number
 * of users added, or ST_ECONFIG with "file:line: why" in err. */
int st_auth_bootstrap(const st_authn_cfg *m, const char *pepper, st_userdb *db, char *err,
                      size_t errlen);
/* Make a user from a plain password (hashed with m's algorithm and a new salt). 0 or < 0. */
int st_auth_user_of(const st_authn_cfg *m, const char *pepper, const char *pw, size_t plen,
                    int superuser, st_user *out);

#endif
