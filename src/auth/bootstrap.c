/* bootstrap.c — EMQX's bootstrap files for the built-in database (bootstrap.h). */
#include "auth/bootstrap.h"
#include "core/err.h"
#include "core/json.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (64u << 20)
#define MAX_COLS 16

/* One row, whatever the file's format. */
typedef struct row {
    const char *id, *secret, *salt; /* secret: the password (plain) or its hash */
    size_t idlen, slen, saltlen;
    int superuser;
    int line;
} row;

int st_auth_user_of(const st_authn_cfg *m, const char *pepper, const char *pw, size_t plen,
                    int superuser, st_user *out)
{
    char buf[1024];
    size_t pl = m->mechanism == ST_MECH_SCRAM ? 0 : strlen(pepper); /* the client hashes */
    if (pl + plen > sizeof buf) return ST_EINVAL;
    memset(out, 0, sizeof *out);
    memcpy(buf, pepper, pl);
    memcpy(buf + pl, pw, plen);
    int rc =
        st_pw_salt_new(&m->algo, out->salt, sizeof out->salt) < 0 ||
                st_pw_hash(&m->algo, out->salt, buf, pl + plen, out->hash, sizeof out->hash) < 0
            ? ST_EINVAL
            : 0;
    OPENSSL_cleanse(buf, sizeof buf);
    out->superuser = superuser;
    out->peppered = pl > 0;
    return rc;
}

static int add_row(const st_authn_cfg *m, const char *pepper, st_userdb *db, const row *r,
                   const char *file, char *err, size_t errlen)
{
    st_user u;
    memset(&u, 0, sizeof u);
    if (r->idlen == 0 || r->idlen >= ST_USER_ID_MAX) {
        snprintf(err, errlen, "%s:%d: user_id empty or longer than %d bytes", file, r->line,
                 ST_USER_ID_MAX - 1);
        return ST_ECONFIG;
    }
    if (!m->bootstrap_hash) {
        if (st_auth_user_of(m, pepper, r->secret, r->slen, r->superuser, &u) < 0) {
            snprintf(err, errlen, "%s:%d: cannot hash this password", file, r->line);
            return ST_ECONFIG;
        }
    } else {
        if (r->slen >= sizeof u.hash || r->saltlen >= sizeof u.salt) {
            snprintf(err, errlen, "%s:%d: password_hash or salt too long", file, r->line);
            return ST_ECONFIG;
        }
        memcpy(u.hash, r->secret, r->slen);
        memcpy(u.salt, r->salt ? r->salt : "", r->saltlen);
        u.superuser = r->superuser;
    }
    int rc = st_userdb_add(db, r->id, r->idlen, &u);
    OPENSSL_cleanse(&u, sizeof u);
    return rc;
}

/* ---- CSV ---- */

static size_t split(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *p = line; *p;) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (!*p) break;
        if (n < max) f[n] = p;
        n++;
        p += strcspn(p, ", \t");
        if (*p) *p++ = 0;
    }
    return n;
}

static int col(char **names, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], want) == 0) return (int)i;
    return -1;
}

static int csv(const st_authn_cfg *m, const char *pepper, st_userdb *db, char *text,
               const char *file, char *err, size_t errlen)
{
    char *hdr[MAX_COLS], *f[MAX_COLS];
    size_t nh = 0;
    int lineno = 0, added = 0, c_id = -1, c_sec = -1, c_salt = -1, c_su = -1;
    for (char *save = NULL, *line = strtok_r(text, "\r\n", &save); line;
         line = strtok_r(NULL, "\r\n", &save)) {
        lineno++; /* lines are counted without the empty ones, as they are dropped */
        if (!nh) {
            nh = split(line, hdr, MAX_COLS);
            c_id = col(hdr, nh, "user_id");
            c_sec = col(hdr, nh, m->bootstrap_hash ? "password_hash" : "password");
            c_salt = col(hdr, nh, "salt");
            c_su = col(hdr, nh, "is_superuser");
            if (nh > MAX_COLS || c_id < 0 || c_sec < 0) {
                snprintf(err, errlen, "%s:%d: the header must name user_id and %s", file, lineno,
                         m->bootstrap_hash ? "password_hash (bootstrap_type = hash)"
                                           : "password (bootstrap_type = plain)");
                return ST_ECONFIG;
            }
            continue;
        }
        size_t n = split(line, f, MAX_COLS);
        if (n != nh) {
            snprintf(err, errlen, "%s:%d: %zu fields, the header has %zu", file, lineno, n, nh);
            return ST_ECONFIG;
        }
        row r = {f[c_id],
                 f[c_sec],
                 c_salt >= 0 ? f[c_salt] : NULL,
                 strlen(f[c_id]),
                 strlen(f[c_sec]),
                 c_salt >= 0 ? strlen(f[c_salt]) : 0,
                 c_su >= 0 && strcmp(f[c_su], "true") == 0,
                 lineno};
        int rc = add_row(m, pepper, db, &r, file, err, errlen);
        if (rc < 0) return rc;
        added += rc;
    }
    return added;
}

/* ---- JSON ---- */

static int jfield(const char *s, const st_jtok *t, int obj, const char *name, const char **p,
                  size_t *len)
{
    int k = st_json_get(s, t, (uint32_t)obj, name);
    if (k < 0 || t[k].type != ST_J_STRING) return 0;
    *p = s + t[k].start; /* escapes are not expected in ids, hashes and salts */
    *len = t[k].end - t[k].start;
    return 1;
}

static int json(const st_authn_cfg *m, const char *pepper, st_userdb *db, const char *text,
                size_t len, const char *file, char *err, size_t errlen)
{
    uint32_t max = (uint32_t)(len / 2 + 2);
    st_jtok *t = malloc(max * sizeof *t);
    int n = t ? st_json_parse(text, len, t, max) : ST_ENOMEM;
    if (n < 0 || t[0].type != ST_J_ARRAY) {
        snprintf(err, errlen, "%s: not a JSON array of users", file);
        free(t);
        return ST_ECONFIG;
    }
    int added = 0;
    for (uint32_t i = 0; i < t[0].size; i++) {
        int o = st_json_at(t, 0, i);
        row r = {0};
        r.line = (int)i + 1;
        int su = o >= 0 ? st_json_get(text, t, (uint32_t)o, "is_superuser") : -1;
        r.superuser = su >= 0 && (t[su].type == ST_J_TRUE || st_json_eq(text, &t[su], "true"));
        if (o < 0 || t[o].type != ST_J_OBJECT || !jfield(text, t, o, "user_id", &r.id, &r.idlen) ||
            !jfield(text, t, o, m->bootstrap_hash ? "password_hash" : "password", &r.secret,
                    &r.slen)) {
            snprintf(err, errlen, "%s: user %u: needs user_id and %s (strings)", file, i + 1,
                     m->bootstrap_hash ? "password_hash" : "password");
            free(t);
            return ST_ECONFIG;
        }
        jfield(text, t, o, "salt", &r.salt, &r.saltlen);
        int rc = add_row(m, pepper, db, &r, file, err, errlen);
        if (rc < 0) {
            free(t);
            return rc;
        }
        added += rc;
    }
    free(t);
    return added;
}

static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && (size_t)n <= MAX_FILE &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = 0;
        *len = (size_t)n;
        fclose(f);
        return buf;
    }
    snprintf(err, errlen, "%s: cannot read it%s", path, f ? "" : " (no such file, or no access)");
    if (f) fclose(f);
    free(buf);
    return NULL;
}

int st_auth_bootstrap(const st_authn_cfg *m, const char *pepper, st_userdb *db, char *err,
                      size_t errlen)
{
    const char *file = m->bootstrap_file, *dot = strrchr(file, '.');
    if (!*file) return 0;
    if (!dot || (strcmp(dot, ".csv") != 0 && strcmp(dot, ".json") != 0)) {
        snprintf(err, errlen, "%s: a bootstrap file is .csv or .json", file);
        return ST_ECONFIG;
    }
    size_t len = 0;
    char *text = slurp(file, &len, err, errlen);
    if (!text) return ST_ECONFIG;
    int rc = strcmp(dot, ".csv") == 0 ? csv(m, pepper, db, text, file, err, errlen)
                                      : json(m, pepper, db, text, len, file, err, errlen);
    OPENSSL_cleanse(text, len);
    free(text);
    return rc;
}
