/* openapi.c — the OpenAPI 3 document of the API (openapi.h), written from the route table
 * (routes.h) and the schemas below. */
#include "admin/openapi.h"
#include "admin/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bodies' schemas, by name (JSON Schema as OpenAPI 3.0 takes it). */
/* clang-format off */
static const struct {
    const char *name, *json;
} schemas[] = {
    {"Error", "{\"type\":\"object\",\"required\":[\"code\",\"message\"],\"properties\":{\"code\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"}}}"},
    {"Text", "{\"type\":\"string\"}"},
    {"Object", "{\"type\":\"object\"}"},
    {"Array", "{\"type\":\"array\"}"},
    {"Count", "{\"type\":\"integer\",\"minimum\":0}"},
    {"StringList", "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}"},
    {"Meta", "{\"type\":\"object\",\"required\":[\"page\",\"limit\"],\"properties\":{\"page\":{\"type\":\"integer\"},\"limit\":{\"type\":\"integer\"},\"count\":{\"type\":\"integer\"},\"hasnext\":{\"type\":\"boolean\"}}}"},
    {"LoginRequest", "{\"type\":\"object\",\"required\":[\"username\",\"password\"],\"properties\":{\"username\":{\"type\":\"string\"},\"password\":{\"type\":\"string\"}}}"},
    {"Login", "{\"type\":\"object\",\"required\":[\"token\"],\"properties\":{\"token\":{\"type\":\"string\"},\"version\":{\"type\":\"string\"},\"license\":{\"type\":\"object\"}}}"},
    {"Admin", "{\"type\":\"object\",\"required\":[\"username\"],\"properties\":{\"username\":{\"type\":\"string\"},\"description\":{\"type\":\"string\"}}}"},
    {"AdminList", "{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Admin\"}}"},
    {"AdminNew", "{\"type\":\"object\",\"required\":[\"username\",\"password\"],\"properties\":{\"username\":{\"type\":\"string\"},\"password\":{\"type\":\"string\"}}}"},
    {"PasswordChange", "{\"type\":\"object\",\"required\":[\"new_pwd\"],\"properties\":{\"old_pwd\":{\"type\":\"string\"},\"new_pwd\":{\"type\":\"string\"}}}"},
    {"ApiKey", "{\"type\":\"object\",\"required\":[\"name\",\"api_key\",\"enable\"],\"properties\":{\"name\":{\"type\":\"string\"},\"api_key\":{\"type\":\"string\"},\"api_secret\":{\"type\":\"string\"},\"enable\":{\"type\":\"boolean\"},\"desc\":{\"type\":\"string\"},\"expired_at\":{\"type\":\"string\"},\"expired\":{\"type\":\"boolean\"}}}"},
    {"ApiKeyList", "{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/ApiKey\"}}"},
    {"ApiKeyNew", "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"enable\":{\"type\":\"boolean\"},\"desc\":{\"type\":\"string\"},\"expired_at\":{\"type\":\"string\"}}}"},
    {"Node", "{\"type\":\"object\",\"required\":[\"node\",\"node_status\"],\"properties\":{\"node\":{\"type\":\"string\"},\"node_status\":{\"type\":\"string\",\"enum\":[\"running\",\"stopped\"]},\"version\":{\"type\":\"string\"},\"role\":{\"type\":\"string\"},\"rtt_us\":{\"type\":\"integer\"}}}"},
    {"NodeList", "{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Node\"}}"},
    {"ClusterInfo", "{\"type\":\"object\",\"required\":[\"name\",\"nodes\",\"raft\",\"members\"],\"properties\":{\"name\":{\"type\":\"string\"},\"nodes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"uuid\":{\"type\":\"string\"},\"raft\":{\"type\":\"object\",\"required\":[\"state\",\"term\"]},\"registry\":{\"type\":\"integer\"},\"members\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"node\",\"state\"]}}}}"},
    {"ClusterStatus", "{\"type\":\"object\",\"required\":[\"running_nodes\",\"stopped_nodes\"],\"properties\":{\"running_nodes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"stopped_nodes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"linked_nodes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"not_formed\":{\"type\":\"string\"}}}"},
    {"ClusterRoutes", "{\"type\":\"object\",\"required\":[\"node\",\"local_routes\",\"remote_routes\",\"forward\",\"peers\"],\"properties\":{\"node\":{\"type\":\"string\"},\"local_routes\":{\"type\":\"integer\"},\"remote_routes\":{\"type\":\"integer\"},\"forward\":{\"type\":\"object\"},\"peers\":{\"type\":\"array\"}}}"},
    {"Client", "{\"type\":\"object\",\"required\":[\"clientid\",\"node\",\"connected\"],\"properties\":{\"clientid\":{\"type\":\"string\"},\"node\":{\"type\":\"string\"},\"username\":{},\"connected\":{\"type\":\"boolean\"},\"ip_address\":{\"type\":\"string\"},\"port\":{\"type\":\"integer\"},\"proto_ver\":{\"type\":\"integer\"},\"clean_start\":{\"type\":\"boolean\"},\"subscriptions_cnt\":{\"type\":\"integer\"},\"mqueue_len\":{\"type\":\"integer\"},\"inflight_cnt\":{\"type\":\"integer\"}}}"},
    {"ClientList", "{\"type\":\"object\",\"required\":[\"data\",\"meta\"],\"properties\":{\"data\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Client\"}},\"meta\":{\"$ref\":\"#/components/schemas/Meta\"}}}"},
    {"Subscription", "{\"type\":\"object\",\"required\":[\"topic\",\"qos\"],\"properties\":{\"node\":{\"type\":\"string\"},\"clientid\":{\"type\":\"string\"},\"topic\":{\"type\":\"string\"},\"qos\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":2},\"nl\":{\"type\":\"integer\"},\"rap\":{\"type\":\"integer\"},\"rh\":{\"type\":\"integer\"}}}"},
    {"ClientSubscriptions", "{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Subscription\"}}"},
    {"SubscriptionList", "{\"type\":\"object\",\"required\":[\"data\",\"meta\"],\"properties\":{\"data\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Subscription\"}},\"meta\":{\"$ref\":\"#/components/schemas/Meta\"}}}"},
    {"SubscribeRequest", "{\"type\":\"object\",\"required\":[\"topic\"],\"properties\":{\"topic\":{\"type\":\"string\"},\"qos\":{\"type\":\"integer\"},\"nl\":{\"type\":\"integer\"},\"rap\":{\"type\":\"integer\"},\"rh\":{\"type\":\"integer\"}}}"},
    {"UnsubscribeRequest", "{\"type\":\"object\",\"required\":[\"topic\"],\"properties\":{\"topic\":{\"type\":\"string\"}}}"},
    {"TopicList", "{\"type\":\"object\",\"required\":[\"data\",\"meta\"],\"properties\":{\"data\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"topic\",\"node\"]}},\"meta\":{\"$ref\":\"#/components/schemas/Meta\"}}}"},
    {"MessagePage", "{\"type\":\"object\",\"required\":[\"data\",\"meta\"],\"properties\":{\"data\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"msgid\",\"topic\",\"qos\"]}},\"meta\":{\"type\":\"object\"}}}"},
    {"PublishRequest", "{\"type\":\"object\",\"required\":[\"topic\"],\"properties\":{\"topic\":{\"type\":\"string\"},\"payload\":{\"type\":\"string\"},\"qos\":{\"type\":\"integer\"},\"retain\":{\"type\":\"boolean\"},\"payload_encoding\":{\"type\":\"string\",\"enum\":[\"plain\",\"base64\"]}}}"},
    {"PublishResult", "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"reason_code\":{\"type\":\"integer\"},\"message\":{\"type\":\"string\"}}}"},
    {"RetainedMessage", "{\"type\":\"object\",\"required\":[\"topic\"],\"properties\":{\"topic\":{\"type\":\"string\"},\"qos\":{\"type\":\"integer\"},\"payload\":{\"type\":\"string\"},\"publish_at\":{\"type\":\"string\"},\"from_clientid\":{\"description\":\"null for a message no client published\"}}}"},
    {"RetainedList", "{\"type\":\"object\",\"required\":[\"data\",\"meta\"],\"properties\":{\"data\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/RetainedMessage\"}},\"meta\":{\"$ref\":\"#/components/schemas/Meta\"}}}"},
    {"Figures", "{\"oneOf\":[{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"node\"]}},{\"type\":\"object\"}]}"},
    {"Monitor", "{\"type\":\"object\",\"required\":[\"connections\",\"live_connections\",\"sessions\",\"subscriptions\",\"retained_msg_count\",\"received_msg_rate\",\"sent_msg_rate\",\"dropped_msg_rate\",\"nodes\"],\"properties\":{\"connections\":{\"type\":\"integer\"},\"live_connections\":{\"type\":\"integer\"},\"sessions\":{\"type\":\"integer\"},\"subscriptions\":{\"type\":\"integer\"},\"retained_msg_count\":{\"type\":\"integer\"},\"received_msg_rate\":{\"type\":\"integer\"},\"sent_msg_rate\":{\"type\":\"integer\"},\"dropped_msg_rate\":{\"type\":\"integer\"},\"nodes\":{\"type\":\"integer\"}}}"},
    {"ListenerList", "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\",\"type\",\"name\",\"bind\",\"status\",\"node_status\"],\"properties\":{\"id\":{\"type\":\"string\"},\"type\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},\"bind\":{\"type\":\"string\"},\"status\":{\"type\":\"object\",\"required\":[\"running\"]},\"node_status\":{\"type\":\"array\"}}}}"},
    {"AlarmList", "{\"type\":\"object\",\"required\":[\"data\",\"meta\"],\"properties\":{\"data\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"node\",\"name\",\"message\",\"details\",\"activate_at\"]}},\"meta\":{\"$ref\":\"#/components/schemas/Meta\"}}}"},
    {"AlarmRef", "{\"type\":\"object\",\"required\":[\"node\",\"name\"],\"properties\":{\"node\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"}}}"},
    {"ConfigChange", "{\"type\":\"object\",\"required\":[\"changed\",\"restart_required\"],\"properties\":{\"changed\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"restart_required\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}"},
    {"LogLevel", "{\"type\":\"object\",\"required\":[\"level\"],\"properties\":{\"level\":{\"type\":\"string\",\"enum\":[\"debug\",\"info\",\"notice\",\"warning\",\"error\",\"critical\"]}}}"},
    {"Trace", "{\"type\":\"object\",\"required\":[\"name\",\"type\",\"status\",\"start_at\",\"end_at\"],\"properties\":{\"name\":{\"type\":\"string\"},\"type\":{\"type\":\"string\",\"enum\":[\"clientid\",\"topic\",\"ip_address\"]},\"status\":{\"type\":\"string\",\"enum\":[\"waiting\",\"running\",\"stopped\"]},\"start_at\":{\"type\":\"string\"},\"end_at\":{\"type\":\"string\"},\"payload_encode\":{\"type\":\"string\"},\"log_size\":{\"type\":\"object\"}}}"},
    {"TraceList", "{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Trace\"}}"},
    {"TraceNew", "{\"type\":\"object\",\"required\":[\"name\",\"type\"],\"properties\":{\"name\":{\"type\":\"string\"},\"type\":{\"type\":\"string\",\"enum\":[\"clientid\",\"topic\",\"ip_address\"]},\"clientid\":{\"type\":\"string\"},\"topic\":{\"type\":\"string\"},\"ip_address\":{\"type\":\"string\"},\"start_at\":{},\"end_at\":{},\"payload_encode\":{\"type\":\"string\",\"enum\":[\"text\",\"hex\",\"hidden\"]}}}"},
    {"TraceLog", "{\"type\":\"object\",\"required\":[\"items\",\"meta\"],\"properties\":{\"items\":{\"type\":\"string\"},\"meta\":{\"type\":\"object\",\"required\":[\"position\",\"bytes\"]}}}"},
    {"Ban", "{\"type\":\"object\",\"required\":[\"as\",\"who\"],\"properties\":{\"as\":{\"type\":\"string\"},\"who\":{\"type\":\"string\"},\"by\":{\"type\":\"string\"},\"reason\":{\"type\":\"string\"},\"at\":{\"type\":\"string\"},\"until\":{\"type\":\"string\"}}}"},
    {"BanList", "{\"type\":\"object\",\"required\":[\"data\",\"meta\"],\"properties\":{\"data\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Ban\"}},\"meta\":{\"$ref\":\"#/components/schemas/Meta\"}}}"},
    {"AuthnUser", "{\"type\":\"object\",\"required\":[\"user_id\",\"is_superuser\"],\"properties\":{\"user_id\":{\"type\":\"string\"},\"is_superuser\":{\"type\":\"boolean\"}}}"},
    {"AuthnUserList", "{\"type\":\"object\",\"required\":[\"data\",\"meta\"],\"properties\":{\"data\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/AuthnUser\"}},\"meta\":{\"$ref\":\"#/components/schemas/Meta\"}}}"},
    {"AuthnUserNew", "{\"type\":\"object\",\"properties\":{\"user_id\":{\"type\":\"string\"},\"password\":{\"type\":\"string\"},\"is_superuser\":{\"type\":\"boolean\"}}}"},
};
/* clang-format on */

static int known(const char *name)
{
    for (size_t i = 0; i < sizeof schemas / sizeof *schemas; i++)
        if (strcmp(schemas[i].name, name) == 0) return 1;
    return 0;
}

static void ref(sb *b, const char *name)
{
    sb_printf(b, "{\"$ref\":\"#/components/schemas/%s\"}", name);
}

static int integer_param(const char *name, size_t n)
{
    static const char *const ints[] = {"page",  "limit", "position", "bytes", "max_payload_bytes",
                                       "since", "qos",   "proto_ver"};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (strlen(ints[i]) == n && strncmp(ints[i], name, n) == 0) return 1;
    return 0;
}

static void parameters(sb *b, const st_route *r)
{
    int first = 1;
    sb_printf(b, "\"parameters\":[");
    for (const char *p = strchr(r->path, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        sb_printf(b,
                  "%s{\"name\":\"%.*s\",\"in\":\"path\",\"required\":true,\"schema\":"
                  "{\"type\":\"string\"}}",
                  first ? "" : ",", (int)(end - p - 1), p + 1);
        first = 0;
    }
    for (const char *q = r->query; *q;) {
        size_t n = strcspn(q, ",");
        sb_printf(b,
                  "%s{\"name\":\"%.*s\",\"in\":\"query\",\"required\":false,\"schema\":"
                  "{\"type\":\"%s\"}}",
                  first ? "" : ",", (int)n, q, integer_param(q, n) ? "integer" : "string");
        first = 0;
        q += n + (q[n] == ',');
    }
    sb_printf(b, "]");
}

static void operation(sb *b, const st_route *r, size_t i)
{
    char lower[8] = "";
    for (size_t k = 0; r->method[k] && k + 1 < sizeof lower; k++)
        lower[k] = (char)(r->method[k] | 0x20), lower[k + 1] = 0;
    sb_printf(b, "\"%s\":{\"tags\":[", lower);
    sb_json_str(b, r->tag);
    sb_printf(b, "],\"summary\":");
    sb_json_str(b, r->summary);
    sb_printf(b, ",\"operationId\":\"op%zu\",", i);
    parameters(b, r);
    if (r->flags & ST_ROUTE_OPEN) sb_printf(b, ",\"security\":[]");
    if (r->body[0]) {
        sb_printf(b, ",\"requestBody\":{\"required\":true,\"content\":{\"%s\":{\"schema\":",
                  strcmp(r->body, "Text") == 0 ? "text/plain" : "application/json");
        ref(b, r->body);
        sb_printf(b, "}}}");
    }
    sb_printf(b, ",\"responses\":{\"%d\":{\"description\":\"%s\"", r->ok,
              r->ok == 204 ? "done" : "the answer");
    if (r->schema[0]) {
        sb_printf(b, ",\"content\":{\"%s\":{\"schema\":",
                  (r->flags & ST_ROUTE_TEXT) ? "text/plain" : "application/json");
        ref(b, r->schema);
        sb_printf(b, "}}");
    }
    sb_printf(b, "}");
    static const int errors[] = {400, 401, 404};
    for (size_t k = 0; k < sizeof errors / sizeof *errors; k++) {
        sb_printf(b,
                  ",\"%d\":{\"description\":\"an error\",\"content\":{\"application/json\":"
                  "{\"schema\":",
                  errors[k]);
        ref(b, "Error");
        sb_printf(b, "}}}");
    }
    sb_printf(b, "}}");
}

int st_openapi_check(char *err, size_t cap)
{
    for (size_t i = 0; i < st_nroutes; i++) {
        const st_route *r = &st_routes[i];
        if ((r->schema[0] && !known(r->schema)) || (r->body[0] && !known(r->body))) {
            snprintf(err, cap, "%s %s: a schema that is not defined", r->method, r->path);
            return -1;
        }
    }
    return 0;
}

void st_openapi_write(sb *b, const char *version)
{
    sb_printf(b, "{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"Starling HTTP API\",\"version\":");
    sb_json_str(b, version);
    sb_printf(b, ",\"description\":\"EMQX 5's paths, shapes and errors (docs/operations.md).\"},"
                 "\"servers\":[{\"url\":\"/\"}],"
                 "\"security\":[{\"basicAuth\":[]},{\"bearerAuth\":[]}],\"paths\":{");
    for (size_t i = 0; i < st_nroutes; i++) {
        const st_route *r = &st_routes[i];
        int seen = 0; /* operations of one path go together, in the table's order */
        for (size_t k = 0; k < i; k++)
            seen |= strcmp(st_routes[k].path, r->path) == 0;
        if (seen) continue;
        sb_printf(b, "%s", i ? "," : "");
        sb_json_str(b, r->path); /* the first route is never seen before: i > 0 here */
        sb_printf(b, ":{");
        for (size_t k = i, n = 0; k < st_nroutes; k++) {
            if (strcmp(st_routes[k].path, r->path) != 0) continue;
            sb_printf(b, "%s", n++ ? "," : "");
            operation(b, &st_routes[k], k);
        }
        sb_printf(b, "}");
    }
    sb_printf(b, "},\"components\":{\"securitySchemes\":{\"basicAuth\":{\"type\":\"http\","
                 "\"scheme\":\"basic\",\"description\":\"an API key and its secret\"},"
                 "\"bearerAuth\":{\"type\":\"http\",\"scheme\":\"bearer\",\"description\":"
                 "\"POST /api/v5/login's token\"}},\"schemas\":{");
    for (size_t i = 0; i < sizeof schemas / sizeof *schemas; i++)
        sb_printf(b, "%s\"%s\":%s", i ? "," : "", schemas[i].name, schemas[i].json);
    sb_printf(b, "}}}");
}
