/* retune.c — settings changed while the broker runs (broker.h st_broker_retune). Workers
 * read their settings through w->cfg without a lock; a change makes a new copy and hands its
 * address to each worker through its inbox (st_call_post), so a worker switches between two
 * events and never sees a half-written struct. Copies are kept until the broker is freed:
 * changes are rare and a worker may still read the one it had. */
#include "broker/broker.h"
#include "broker/call.h"
#include "broker/worker.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

struct st_tuned {
    struct st_tuned *next;
    st_settings s;
};

/* Keys that change at once; everything else under mqtt waits for a restart: what CONNACK
 * told connected clients, and the shared-subscription strategy the table was built with. */
static const char *const fixed[] = {"mqtt.max_packet_size", "mqtt.max_topic_alias",
                                    "mqtt.max_inflight", "mqtt.shared_subscription_strategy",
                                    "mqtt.strict_mode"};

int st_broker_retunable(const char *key)
{
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcmp(key, fixed[i]) == 0) return 0;
    return strncmp(key, "mqtt.", 5) == 0 || strncmp(key, "sys_topics.", 11) == 0;
}

/* The fields st_broker_retunable covers, from ns into s. */
static void take(st_settings *s, const st_settings *ns)
{
    s->max_clientid_len = ns->max_clientid_len;
    s->max_topic_levels = ns->max_topic_levels;
    s->max_qos_allowed = ns->max_qos_allowed;
    s->retain_available = ns->retain_available;
    s->wildcard_subscription = ns->wildcard_subscription;
    s->shared_subscription = ns->shared_subscription;
    s->ignore_loop_deliver = ns->ignore_loop_deliver;
    s->upgrade_qos = ns->upgrade_qos;
    s->mqueue_store_qos0 = ns->mqueue_store_qos0;
    s->use_username_as_clientid = ns->use_username_as_clientid;
    s->server_keepalive = ns->server_keepalive;
    s->keepalive_multiplier = ns->keepalive_multiplier;
    s->retry_interval_ms = ns->retry_interval_ms;
    s->max_mqueue_len = ns->max_mqueue_len;
    s->max_awaiting_rel = ns->max_awaiting_rel;
    s->await_rel_timeout_ms = ns->await_rel_timeout_ms;
    s->session_expiry_ms = ns->session_expiry_ms;
    s->message_expiry_ms = ns->message_expiry_ms;
    s->max_subscriptions = ns->max_subscriptions;
    s->idle_timeout_ms = ns->idle_timeout_ms;
    memcpy(s->response_information, ns->response_information, sizeof s->response_information);
    s->sys_msg_interval_ms = ns->sys_msg_interval_ms;
    s->sys_heartbeat_ms = ns->sys_heartbeat_ms;
    s->sys_events = ns->sys_events;
}

static void *swap(st_worker *w, const void *arg)
{
    const st_settings *const *s = arg;
    w->cfg = *s;
    return NULL;
}

int st_broker_retune(st_broker *b, const st_settings *ns)
{
    struct st_tuned *t = malloc(sizeof *t);
    if (!t) return ST_ENOMEM;
    pthread_mutex_lock(&b->reload_lock);
    t->s = b->tuned ? b->tuned->s : b->cfg;
    take(&t->s, ns);
    t->next = b->tuned;
    b->tuned = t;
    const st_settings *p = &t->s;
    st_call *c = st_call_post(b, -1, swap, &p, sizeof p, NULL, NULL);
    pthread_mutex_unlock(&b->reload_lock);
    if (!c) return ST_ENOMEM;
    st_call_release(c);
    return 0;
}

void st_broker_tuned_free(st_broker *b)
{
    while (b->tuned) {
        struct st_tuned *next = b->tuned->next;
        free(b->tuned);
        b->tuned = next;
    }
}
