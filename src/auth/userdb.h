/* userdb.h — one built-in database authenticator's users (docs/security.md §2): user id →
 * password hash, salt, is_superuser. Workers read it at every CONNECT; it changes from the
 * bootstrap file (and, next, the replicated table). Any thread (a read-write lock). */
#ifndef ST_AUTH_USERDB_H
#define ST_AUTH_USERDB_H

#include "auth/passwd.h"

#include <stddef.h>

#define ST_USER_ID_MAX 256

typedef struct st_user {
    char hash[ST_PW_MAX];
    char salt[64];
    int superuser;
    int peppered; /* hashed here with authentication.password_hash_salt before the password */
} st_user;

typedef struct st_userdb st_userdb;

st_userdb *st_userdb_new(void);
void st_userdb_free(st_userdb *db);
/* Add or replace. 0, ST_EINVAL (an id or field too long), ST_ENOMEM. */
int st_userdb_put(st_userdb *db, const char *id, size_t len, const st_user *u);
/* Add only if absent: 1 added, 0 it was there (left as it was), < 0 an error. */
int st_userdb_add(st_userdb *db, const char *id, size_t len, const st_user *u);
int st_userdb_del(st_userdb *db, const char *id, size_t len); /* 1 removed, 0 absent */
/* A copy of the user: 1 found, 0 not. */
int st_userdb_get(st_userdb *db, const char *id, size_t len, st_user *out);
size_t st_userdb_count(st_userdb *db);
void st_userdb_clear(st_userdb *db);
/* Replace every user with copies of from's (NULL: none) at once: a reader sees the old set
 * or the new one, never an empty or half-filled one. 0, or ST_ENOMEM (db unchanged). */
int st_userdb_reset(st_userdb *db, st_userdb *from);
/* Visit every user (under the read lock: fn must not touch db). */
void st_userdb_each(st_userdb *db,
                    void (*fn)(void *ctx, const char *id, size_t len, const st_user *u), void *ctx);
/* Up to max user ids in the order of the map, from the n-th on (paging), into ids[i]
 * (ST_USER_ID_MAX each) with their superuser flag; returns how many were written. */
size_t st_userdb_page(st_userdb *db, size_t from, size_t max, char (*ids)[ST_USER_ID_MAX],
                      int *superuser);

#endif
