/* store-bench.c — the first measurement of docs/durability.md §3: the durable sessions'
 * record stream written into RocksDB and into LMDB, at equal durability, to choose the
 * engine. Built and run by bench/store-bench.sh (not part of the broker's build).
 *
 * The stream: messages of SIZE bytes arrive for SESSIONS sessions, round robin. Each one is
 * stored once (msgs: id -> message) with a queue entry (queue: sid | id -> id); STORE_LAG
 * (env, 1000) messages later it is acknowledged: both are deleted. That is a durable QoS 1
 * delivery whose subscriber keeps up; a large lag is a store that holds a large backlog.
 *
 *   store-bench rocksdb|lmdb DIR sync BATCH   every BATCH messages: one commit and an fsync
 *                                             (wal_sync_interval = 0, BATCH messages
 *                                             arriving per fsync: group commit)
 *   store-bench rocksdb|lmdb DIR interval MS  commits of 64 messages without fsync; an fsync
 *                                             every MS ms (wal_sync_interval = MS)
 *
 * STORE_OFFLINE (env, percent, 0): that share of the sessions is offline, its messages are
 * never acknowledged (a backlog that grows beside subscribers that keep up: the mix).
 * STORE_TUNED (env, 0/1): RocksDB with a 64 MiB write buffer, level compaction sized for it
 * and two background threads; LMDB with MDB_WRITEMAP | MDB_NOMETASYNC.
 *
 * Runs STORE_SECONDS (env, 5) and prints one JSON line: msgs/s, fsyncs, bytes written to the
 * device (/proc/self/io) per message, the directory's size at the end. */
#define _GNU_SOURCE
#include <dirent.h>
#include <lmdb.h>
#include <rocksdb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SESSIONS 1000
#define SIZE 100

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long long io_written(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "write_bytes: %lld", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

static long long dir_size(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long long total = 0;
    char path[4096];
    while (d && (e = readdir(d))) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) total += st.st_blocks * 512;
    }
    if (d) closedir(d);
    return total;
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* The records of message id: its key, its queue key (sid | id). */
static void keys(uint64_t id, uint8_t *mk, uint8_t *qk)
{
    be64(mk, id);
    be64(qk, id % SESSIONS);
    be64(qk + 8, id);
}

typedef struct engine {
    void (*put)(struct engine *e, uint64_t id, const char *msg);
    void (*del)(struct engine *e, uint64_t id);
    void (*commit)(struct engine *e, int sync);
    void (*sync)(struct engine *e);
    void (*close)(struct engine *e);
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[3];
    rocksdb_writebatch_t *wb;
    rocksdb_writeoptions_t *wo_sync, *wo_nosync;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi msgs, queue;
} engine;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "store-bench: %s: %s\n", what, why ? why : "failed");
    exit(1);
}

/* ---- RocksDB: column families msgs and queue, one WriteBatch per commit ---- */

static void r_put(engine *e, uint64_t id, const char *msg)
{
    uint8_t mk[8], qk[16];
    keys(id, mk, qk);
    rocksdb_writebatch_put_cf(e->wb, e->cf[1], (char *)mk, 8, msg, SIZE);
    rocksdb_writebatch_put_cf(e->wb, e->cf[2], (char *)qk, 16, (char *)mk, 8);
}

static void r_del(engine *e, uint64_t id)
{
    uint8_t mk[8], qk[16];
    keys(id, mk, qk);
    rocksdb_writebatch_delete_cf(e->wb, e->cf[1], (char *)mk, 8);
    rocksdb_writebatch_delete_cf(e->wb, e->cf[2], (char *)qk, 16);
}

static void r_commit(engine *e, int sync)
{
    char *err = NULL;
    rocksdb_write(e->db, sync ? e->wo_sync : e->wo_nosync, e->wb, &err);
    if (err) die("rocksdb_write", err);
    rocksdb_writebatch_clear(e->wb);
}

static void r_sync(engine *e)
{
    char *err = NULL;
    rocksdb_flush_wal(e->db, 1, &err);
    if (err) die("rocksdb_flush_wal", err);
}

static void r_close(engine *e)
{
    for (int i = 0; i < 3; i++)
        rocksdb_column_family_handle_destroy(e->cf[i]);
    rocksdb_writebatch_destroy(e->wb);
    rocksdb_writeoptions_destroy(e->wo_sync);
    rocksdb_writeoptions_destroy(e->wo_nosync);
    rocksdb_close(e->db);
}

static void r_open(engine *e, const char *dir, int manual_flush, int tuned)
{
    rocksdb_options_t *o = rocksdb_options_create();
    if (tuned) {
        rocksdb_options_optimize_level_style_compaction(o, (uint64_t)256 << 20);
        rocksdb_options_set_write_buffer_size(o, (size_t)64 << 20);
        rocksdb_options_increase_parallelism(o, 2);
    }
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    rocksdb_options_set_manual_wal_flush(o, manual_flush); /* interval: the WAL in memory */
    const char *names[3] = {"default", "msgs", "queue"};
    const rocksdb_options_t *opts[3] = {o, o, o};
    char *err = NULL;
    e->db = rocksdb_open_column_families(o, dir, 3, names, opts, e->cf, &err);
    if (err) die("rocksdb_open", err);
    rocksdb_options_destroy(o);
    e->wb = rocksdb_writebatch_create();
    e->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(e->wo_sync, 1);
    e->wo_nosync = rocksdb_writeoptions_create();
    e->put = r_put, e->del = r_del, e->commit = r_commit, e->sync = r_sync, e->close = r_close;
}

/* ---- LMDB: two databases, one write transaction per commit ---- */

static void l_begin(engine *e)
{
    if (!e->txn && mdb_txn_begin(e->env, NULL, 0, &e->txn)) die("mdb_txn_begin", NULL);
}

static void l_put(engine *e, uint64_t id, const char *msg)
{
    uint8_t mk[8], qk[16];
    keys(id, mk, qk);
    l_begin(e);
    MDB_val k = {8, mk}, v = {SIZE, (void *)msg}, k2 = {16, qk}, v2 = {8, mk};
    if (mdb_put(e->txn, e->msgs, &k, &v, 0) || mdb_put(e->txn, e->queue, &k2, &v2, 0))
        die("mdb_put", "the map is full (raise MAPSIZE)");
}

static void l_del(engine *e, uint64_t id)
{
    uint8_t mk[8], qk[16];
    keys(id, mk, qk);
    l_begin(e);
    MDB_val k = {8, mk}, k2 = {16, qk};
    mdb_del(e->txn, e->msgs, &k, NULL);
    mdb_del(e->txn, e->queue, &k2, NULL);
}

static void l_commit(engine *e, int sync)
{
    (void)sync; /* the environment's flags decide: a sync per commit, or none */
    if (e->txn && mdb_txn_commit(e->txn)) die("mdb_txn_commit", NULL);
    e->txn = NULL;
}

static void l_sync(engine *e)
{
    if (mdb_env_sync(e->env, 1)) die("mdb_env_sync", NULL);
}

static void l_close(engine *e)
{
    mdb_env_close(e->env);
}

static void l_open(engine *e, const char *dir, int nosync, int tuned)
{
    MDB_txn *t;
    unsigned flags = (nosync ? MDB_NOSYNC : 0) | (tuned ? MDB_WRITEMAP | MDB_NOMETASYNC : 0);
    if (mdb_env_create(&e->env) || mdb_env_set_maxdbs(e->env, 4) ||
        mdb_env_set_mapsize(e->env, (size_t)16 << 30) ||
        mdb_env_open(e->env, dir, flags, 0644) ||
        mdb_txn_begin(e->env, NULL, 0, &t) || mdb_dbi_open(t, "msgs", MDB_CREATE, &e->msgs) ||
        mdb_dbi_open(t, "queue", MDB_CREATE, &e->queue) || mdb_txn_commit(t))
        die("mdb_env_open", dir);
    e->put = l_put, e->del = l_del, e->commit = l_commit, e->sync = l_sync, e->close = l_close;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[3], "sync") && strcmp(argv[3], "interval")))
        die("usage", "store-bench rocksdb|lmdb DIR sync BATCH | interval MS");
    const char *kind = argv[1], *dir = argv[2];
    int interval = strcmp(argv[3], "interval") == 0;
    long arg = atol(argv[4]);
    double seconds = getenv("STORE_SECONDS") ? atof(getenv("STORE_SECONDS")) : 5;
    uint64_t lag = getenv("STORE_LAG") ? strtoull(getenv("STORE_LAG"), NULL, 10) : 1000;
    int offline = getenv("STORE_OFFLINE") ? atoi(getenv("STORE_OFFLINE")) : 0;
    int tuned = getenv("STORE_TUNED") ? atoi(getenv("STORE_TUNED")) : 0;
    if (arg <= 0) die("usage", "BATCH and MS are positive");
    mkdir(dir, 0755);
    engine e = {0};
    if (strcmp(kind, "rocksdb") == 0)
        r_open(&e, dir, interval, tuned);
    else if (strcmp(kind, "lmdb") == 0)
        l_open(&e, dir, interval, tuned);
    else
        die("engine", kind);
    char msg[SIZE];
    memset(msg, 'x', sizeof msg);
    long batch = interval ? 64 : arg;
    long long io0 = io_written(), fsyncs = 0;
    double t0 = now_s(), last_sync = t0, t = t0;
    uint64_t id = 0;
    while (t - t0 < seconds) {
        for (long i = 0; i < batch; i++, id++) {
            e.put(&e, id, msg);
            uint64_t old = id - lag; /* acknowledged by then, unless its session is offline */
            if (id >= lag && (int)(old % SESSIONS % 100) >= offline) e.del(&e, old);
        }
        e.commit(&e, !interval);
        fsyncs += !interval;
        t = now_s();
        if (interval && (t - last_sync) * 1000 >= (double)arg) {
            e.sync(&e);
            fsyncs++;
            last_sync = t;
        }
    }
    if (interval) e.sync(&e);
    double el = now_s() - t0;
    long long io = io_written() - io0;
    e.close(&e);
    printf("{\"engine\":\"%s\",\"tuned\":%d,\"offline\":%d,\"mode\":\"%s\",\"arg\":%ld,"
           "\"lag\":%llu,"
           "\"msgs_per_s\":%.0f,\"fsyncs\":%lld,"
           "\"msgs_per_fsync\":%.1f,\"device_bytes_per_msg\":%.0f,\"dir_bytes\":%lld}\n",
           kind, tuned, offline, argv[3], arg, (unsigned long long)lag, (double)id / el, fsyncs,
           fsyncs ? (double)id / (double)fsyncs : 0, io0 >= 0 ? (double)io / (double)id : -1,
           dir_size(dir));
    return 0;
}
