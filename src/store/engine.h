/* engine.h — the embedded key-value engine under the store (store.c): named databases (the
 * column families of store.h), one write transaction at a time, whose commit returns once it
 * is on disk. Private to src/store/. */
#ifndef ST_STORE_ENGINE_H
#define ST_STORE_ENGINE_H

#include "store/store.h"

typedef struct st_engine st_engine;

/* Open or create the engine's files in dir (which exists). NULL and err on failure. */
st_engine *st_engine_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void st_engine_close(st_engine *e);
/* A write transaction: begin, puts and deletes, then commit (durable when it returns 0) or
 * abort. Errors are ST_E* codes with the engine's words in err. */
int st_engine_begin(st_engine *e, char *err, size_t errlen);
int st_engine_put(st_engine *e, int cf, const void *key, size_t klen, const void *val, size_t vlen,
                  char *err, size_t errlen);
int st_engine_del(st_engine *e, int cf, const void *key, size_t klen, char *err, size_t errlen);
/* In the open transaction: every record of cf goes. */
int st_engine_clear(st_engine *e, int cf, char *err, size_t errlen);
int st_engine_commit(st_engine *e, char *err, size_t errlen);
void st_engine_abort(st_engine *e);
/* Records of cf in key order (store.h st_store_scan). */
int st_engine_scan(st_engine *e, int cf, st_store_scan_fn fn, void *ctx);
/* Bytes of the engine's files on disk; when they were last modified (wall ms, 0: unknown). */
uint64_t st_engine_disk_bytes(st_engine *e);
int64_t st_engine_mtime_ms(st_engine *e);

#endif
