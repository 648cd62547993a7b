/* internal.h — the data lanes' own state (st_data), shared by data.c (the inbox, the lanes'
 * dialling, the links' events), routes.c (route sync), move.c (session moves) and
 * forward.c (the worker side). Private to src/cluster/data/. */
#ifndef ST_CLUSTER_DATA_INTERNAL_H
#define ST_CLUSTER_DATA_INTERNAL_H

#include "cluster/data/data.h"
#include "core/mpsc.h"
#include "core/strmap.h"

#include <stdatomic.h>

enum { ST_LANE_IDLE, ST_LANE_DIALING, ST_LANE_HANDED };

/* What the data lanes keep about one peer (by its slot). */
typedef struct st_data_peer {
    uint8_t lanes[ST_LINKS_MAX_LANES]; /* our outbound data lanes to it (ST_LANE_*) */
    int64_t lane_retry;
    st_strmap *routes; /* filter → sync generation, the routes it announced */
    uintptr_t route_gen;
    uint64_t routes_rx;   /* route ops received */
    uint64_t synced_boot; /* the peer process whose full route sync ended last */
    size_t nroutes;       /* published under the view lock for the API */
    uint64_t route_seq;   /* ROUTE_* frames sent on its current CONTROL link */
    uint64_t route_acked; /* route items (st_data_item.seq) it confirmed */
    struct {
        uint64_t frame, item;
    } route_pend[32]; /* frames sent and not acked: the last item each one carried */
    uint32_t npend;
} st_data_peer;

/* Items the workers (and st_data_evacuate) post to the cluster thread (st_data_post). */
enum {
    ST_DI_ROUTE,
    ST_DI_LANE_DOWN,
    ST_DI_REGISTER, /* s: client id, seq: registration hlc, count: 1 up / 0 ended */
    /* a session move (move.h): slot ST_MOVE_ASK_SLOT: worker `lane` asks where client id s
     * (registration seq, flags count) is held; else s is a MOVE frame for node slot */
    ST_DI_MOVE,
    ST_DI_EVACUATE, /* hand every session to the other members (move.h) */
    ST_DI_LEFTOVER, /* a lane to a member that left: what it held (leftover.h), s[len] */
};
typedef struct st_data_item {
    st_mpsc_node node;
    int kind;
    uint16_t slot, lane; /* LANE_DOWN */
    uint32_t count;      /* ROUTE: 1/0 for a plain filter, members for a shared group */
    uint64_t seq;        /* ROUTE: its number in b->route_posted */
    uint64_t hint;       /* MOVE ask: the node to ask (0: the one the registry names) */
    uint32_t len;        /* of s */
    uint32_t glen;       /* ROUTE: > 0 for a shared group */
    char s[];            /* ROUTE: the index key: the filter, or "$share/<group>/<filter>" */
} st_data_item;

struct st_fwd;

struct st_data {
    st_data_cfg cfg;
    st_data_env env;
    const st_log *log;
    uv_loop_t *loop;
    st_broker *broker;  /* attached, or NULL */
    struct st_fwd *fwd; /* the lanes on the broker's workers */
    st_mpsc inbox;
    uv_async_t wake;
    atomic_int accepting; /* posts wake the loop (cleared at stop) */
    int started, stopping;
    int held;            /* st_data_hold: no route sync to the peers, their DATA lanes refused */
    st_strmap *routes;   /* filters with local subscribers, as announced (once routes_on) */
    int routes_on;       /* a peer has linked: the index above is kept from then on */
    uint64_t routes_tx;  /* route ops sent */
    size_t nroutes;      /* published under the view lock for the API */
    uint64_t route_done; /* the last route item handled (sent to every live link) */
    st_data_peer dp[ST_LINKS_MAX_PEERS];
    int64_t next_gc; /* retained tombstones */
    /* for the workers: the registry runs (a CONNECT may find its session on another node) */
    atomic_int moves_on;
    atomic_int evac_state; /* 0 asked, 1 under way, -1 nobody takes them */
    int leave_evac;        /* the evacuation is a leave's: it ends with the leave */
    int64_t evac_until, evac_moved_at;
    long evac_best;
    struct st_adopt *adopt; /* a gone member's sessions being taken over (adopt.h), or NULL */
    struct st_leftovers *leftovers; /* kept for left members' adopters, or NULL (leftover.h) */
};
typedef struct st_adopt st_adopt;

/* The cluster thread: the CONTROL link to the node with that id, or NULL (move.c). */
st_link *st_data_link_of(st_data *d, uint64_t node_id);
/* From any thread: queue an item for the cluster thread and wake it. */
void st_data_post(st_data *d, st_data_item *it);
int64_t st_data_now(const st_data *d);
/* A worker: a CONNECT registered at hlc (up), or its session ended, for the registry. */
void st_data_registry_post(st_data *d, const char *cid, size_t len, uint64_t hlc, int up);

/* routes.c */
/* p's CONTROL link is up: send the full local index (SYNC_BEGIN, batches, SYNC_END). */
void st_data_routes_link_up(st_data *d, st_peer *p);
/* Local route changes drained from the inbox, in table order. */
void st_data_routes_changed(st_data *d, st_data_item **items, size_t n);
/* Recompute what every linked peer has confirmed and release held SUBACKs. Call after any
 * change: items handled, an ACK, a link up or down. */
void st_data_routes_publish_ack(st_data *d);
/* p said goodbye, left or was declared down: its routes go (shared_only: only its shared
 * groups' ones). */
void st_data_routes_purge(st_data *d, st_peer *p, int shared_only);
void st_data_routes_register(st_data *d);
void st_data_routes_free(st_data *d);

#endif
