/* ctl.c — `starling ctl`: asks the running node's HTTP API and prints the answer the way
 * `emqx ctl` does. */
#include "admin/admin.h"
#include "admin/apiauth.h"
#include "admin/sb.h"
#include "core/file.h"
#include "core/json.h"
#include "net/listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

void st_ctl_usage(FILE *out, const char *first)
{
    fprintf(out,
            "%sstarling [-c FILE] ctl cluster status [--json]\n"
            "       starling [-c FILE] ctl cluster routes\n"
            "       starling [-c FILE] ctl cluster join <node>\n"
            "       starling [-c FILE] ctl cluster leave\n"
            "       starling [-c FILE] ctl cluster force-leave <node>\n"
            "       starling [-c FILE] ctl listeners [reload | stop|start|restart <id>]\n"
            "       starling [-c FILE] ctl users list|add|passwd|delete ... (ctl users help)\n"
            "       starling [-c FILE] ctl banned list | add <as> <who> [reason] | delete <as> "
            "<who>\n"
            "       starling [-c FILE] ctl acl reload\n"
            "       starling [-c FILE] ctl authz cache-clean [all]\n"
            "       starling [-c FILE] ctl durable status\n"
            "       starling [-c FILE] ctl clients list | show <clientid> | kick <clientid>\n"
            "       starling [-c FILE] ctl broker stats | metrics\n"
            "       starling [-c FILE] ctl subscriptions list | show <clientid> | add <clientid> "
            "<topic> <qos> | del <clientid> <topic>\n"
            "       starling [-c FILE] ctl topics list | show <topic>\n"
            "       starling [-c FILE] ctl log primary-level | set-level <level>\n"
            "       starling [-c FILE] ctl conf show [key] | load [--merge|--replace] <file> | "
            "reload\n"
            "       starling [-c FILE] ctl admins add <user> <password> | passwd <user> "
            "<password> | del <user>\n"
            "       starling [-c FILE] ctl traces list | start <name> client|topic|ip_address "
            "<value> [<seconds>] | stop <name> | delete <name>\n",
            first);
}

static void ctl_usage(void)
{
    st_ctl_usage(stderr, "usage: ");
}

/* method path (with a JSON body, or NULL) to the API at bind (a wildcard address means this
 * machine). Returns the HTTP status, or -1 if the node does not answer; *body is malloc'd. */
static int request_typed(const st_config *c, const char *method, const char *path, const char *json,
                         const char *type, char **body)
{
    const char *bind = st_config_str(c, "dashboard.listeners.http.bind");
    char auth[300], why[700];
    int no_secret = st_apiauth_ctl_header(st_config_str(c, "node.data_dir"), auth, sizeof auth, why,
                                          sizeof why) < 0;
    if (no_secret) snprintf(auth, sizeof auth, "none"); /* the node says 401, or is not there */
    struct sockaddr_storage ss;
    socklen_t sl;
    if (st_parse_bind(bind, &ss, &sl) < 0) return -1;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        if (s4->sin_addr.s_addr == htonl(INADDR_ANY)) s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr)) s6->sin6_addr = in6addr_loopback;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    char req[2048];
    size_t blen = json ? strlen(json) : 0;
    int n = json ? snprintf(req, sizeof req,
                            "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                            "Authorization: %s\r\nContent-Type: %s\r\n"
                            "Content-Length: %zu\r\n\r\n",
                            method, path, auth, type, blen)
                 : snprintf(req, sizeof req,
                            "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                            "Authorization: %s\r\nAccept: %s\r\n\r\n",
                            method, path, auth, type);
    if (n < 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n ||
        (blen && send(fd, json, blen, MSG_NOSIGNAL) != (ssize_t)blen)) {
        close(fd);
        return -1;
    }
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap + 1);
    ssize_t r;
    while (buf && (r = recv(fd, buf + len, cap - len, 0)) > 0) {
        len += (size_t)r;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf) return -1;
    buf[len] = 0;
    int status = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || !sep) {
        free(buf);
        return -1;
    }
    memmove(buf, sep + 4, len - (size_t)(sep + 4 - buf) + 1);
    *body = buf;
    if (status == 401 && no_secret) { /* the reason is ours to say */
        fprintf(stderr, "starling ctl: %s\n", why);
        free(buf);
        *body = NULL;
        return -2;
    }
    return status;
}

static int request(const st_config *c, const char *method, const char *path, const char *json,
                   char **body)
{
    return request_typed(c, method, path, json, "application/json", body);
}

/* Print the JSON array of strings at member `key` of the object as Erlang's ['a','b']. */
static void print_names(const char *json, const st_jtok *t, const char *key)
{
    int arr = st_json_get(json, t, 0, key);
    char name[256];
    printf("[");
    for (uint32_t i = 0; arr >= 0 && i < t[arr].size; i++) {
        int k = st_json_at(t, (uint32_t)arr, i);
        if (st_json_str(json, &t[k], name, sizeof name) >= 0) printf("%s'%s'", i ? "," : "", name);
    }
    printf("]");
}

/* method path to the node's API, the body (or what is accepted back) of type: the answer's
 * body (malloc'd), or NULL with the error printed. */
static char *api_typed(const st_config *c, const char *method, const char *path, const char *json,
                       const char *type)
{
    const char *bind = st_config_str(c, "dashboard.listeners.http.bind");
    char *body = NULL;
    int status = request_typed(c, method, path, json, type, &body);
    if (status == -2) return NULL;
    if (status < 0) {
        fprintf(stderr, "starling ctl: the node does not answer on %s (is it running?)\n", bind);
        return NULL;
    }
    if (status != 200 && status != 201 && status != 204) {
        fprintf(stderr, "starling ctl: HTTP %d: %s\n", status, body);
        free(body);
        return NULL;
    }
    return body;
}

static char *api_send(const st_config *c, const char *method, const char *path, const char *json)
{
    return api_typed(c, method, path, json, "application/json");
}

static char *api_call(const st_config *c, const char *method, const char *path)
{
    return api_send(c, method, path, NULL);
}

/* Ask and print the answer's body (JSON). */
static int print_call(const st_config *c, const char *method, const char *path)
{
    char *body = api_call(c, method, path);
    if (!body) return 1;
    printf("%s\n", body);
    free(body);
    return 0;
}

static int cluster_routes(const st_config *c)
{
    return print_call(c, "GET", "/api/v5/cluster/routes");
}

static int cluster_force_leave(const st_config *c, const char *node)
{
    char path[400];
    snprintf(path, sizeof path, "/api/v5/cluster/%.300s/force_leave", node);
    char *body = api_call(c, "DELETE", path);
    if (!body) return 1;
    printf("Node %s is being removed from the cluster\n", node);
    free(body);
    return 0;
}

#define MEMBERSHIP_WAIT_S 60

static int cluster_status(const st_config *c, int json);

/* Is it done? A join: node and this node are both up in this node's member table. A
 * leave (node NULL): the status shows this node alone. 1 yes, 0 not yet. */
static int status_shows(const st_config *c, const char *node)
{
    char *body = NULL;
    static st_jtok t[4096];
    int found = 0;
    int status =
        request(c, "GET", node ? "/api/v5/cluster" : "/api/v5/cluster/status", NULL, &body);
    if (status != 200 || st_json_parse(body, strlen(body), t, 4096) <= 0 ||
        t[0].type != ST_J_OBJECT) {
        free(body);
        return 0;
    }
    int running = st_json_get(body, t, 0, "running_nodes");
    int stopped = st_json_get(body, t, 0, "stopped_nodes");
    if (!node && running >= 0 && stopped >= 0) found = t[running].size == 1 && t[stopped].size == 0;
    int m = node ? st_json_get(body, t, 0, "members") : -1;
    for (uint32_t i = 0; m >= 0 && i < t[m].size; i++) {
        int row = st_json_at(t, (uint32_t)m, i);
        int name = st_json_get(body, t, (uint32_t)row, "node");
        int state = st_json_get(body, t, (uint32_t)row, "state");
        if (name < 0 || state < 0 || !st_json_eq(body, &t[state], "up")) continue;
        found += st_json_eq(body, &t[name], node) ||
                 st_json_eq(body, &t[name], st_config_str(c, "node.name"));
    }
    free(body);
    return node ? found == 2 : found;
}

/* Ask (POST path), then wait until the status shows it done, as `emqx ctl` answers once
 * the join or leave is complete. */
static int cluster_membership(const st_config *c, const char *path, const char *node,
                              const char *what)
{
    char *body = api_call(c, "POST", path);
    if (!body) return 1;
    free(body);
    for (int i = 0; i < MEMBERSHIP_WAIT_S * 5; i++) {
        if (status_shows(c, node)) {
            printf("%s the cluster successfully.\n", what);
            return cluster_status(c, 0);
        }
        usleep(200 * 1000);
    }
    fprintf(stderr,
            "starling ctl: asked, but the node's status does not show it after %d s; see "
            "its log and `starling ctl cluster status`\n",
            MEMBERSHIP_WAIT_S);
    return 1;
}

static int cluster_status(const st_config *c, int json)
{
    char *body = api_call(c, "GET", "/api/v5/cluster/status");
    if (!body) return 1;
    if (json) {
        printf("%s\n", body);
    } else {
        static st_jtok t[1024];
        if (st_json_parse(body, strlen(body), t, 1024) <= 0 || t[0].type != ST_J_OBJECT) {
            fprintf(stderr, "starling ctl: the node's answer is not what was expected: %s\n", body);
            free(body);
            return 1;
        }
        printf("Cluster status: #{running_nodes => ");
        print_names(body, t, "running_nodes");
        printf(", stopped_nodes => ");
        print_names(body, t, "stopped_nodes");
        printf("}\n");
        int linked = st_json_get(body, t, 0, "linked_nodes");
        if (linked >= 0 && t[linked].size) {
            printf("Linked, not members: ");
            print_names(body, t, "linked_nodes");
            printf("\n");
        }
        int why = st_json_get(body, t, 0, "not_formed");
        char text[400];
        if (why >= 0 && st_json_str(body, &t[why], text, sizeof text) >= 0)
            printf("Not formed yet: %s\n", text);
    }
    free(body);
    return 0;
}

/* ---- ctl users: the built-in database's users (the users API) ---- */

static void users_usage(void)
{
    fprintf(stderr,
            "usage: starling ctl users list\n"
            "       starling ctl users add <user_id> <password|-> [--superuser]\n"
            "       starling ctl users passwd <user_id> <password|->\n"
            "       starling ctl users delete <user_id>\n"
            "A password of - is read from the first line of standard input (not shown in ps).\n"
            "--authenticator ID (before the command) picks another one than "
            "password_based:built_in_database.\n");
}

/* The password argument, or the first line of stdin for "-". */
static const char *password_arg(const char *arg, char *buf, size_t cap)
{
    if (strcmp(arg, "-") != 0) return arg;
    if (!fgets(buf, (int)cap, stdin)) return NULL;
    buf[strcspn(buf, "\r\n")] = 0;
    return buf;
}

static void url_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-_.~", ch))
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
    out[o] = 0;
}

static int users_cmd(const st_config *c, const char *authn, int argc, char **argv)
{
    char path[1024], aid[256], uid[800], pw[512];
    url_escape(authn, aid, sizeof aid);
    snprintf(path, sizeof path, "/api/v5/authentication/%s/users", aid);
    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "?limit=10000");
        return print_call(c, "GET", path);
    }
    if (argc < 2) {
        users_usage();
        return 2;
    }
    url_escape(argv[1], uid, sizeof uid);
    int add = strcmp(argv[0], "add") == 0, passwd = strcmp(argv[0], "passwd") == 0;
    if (strcmp(argv[0], "delete") == 0 && argc == 2) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "/%s", uid);
        char *body = api_call(c, "DELETE", path);
        if (!body) return 1;
        free(body);
        printf("User %s deleted\n", argv[1]);
        return 0;
    }
    int su = add && argc == 4 && strcmp(argv[3], "--superuser") == 0;
    if (!(add || passwd) || argc < 3 || argc > 3 + add || (argc == 4 && !su)) {
        users_usage();
        return 2;
    }
    const char *password = password_arg(argv[2], pw, sizeof pw);
    if (!password) {
        fprintf(stderr, "starling ctl: no password on standard input\n");
        return 2;
    }
    sb b = {0};
    sb_printf(&b, "{");
    if (add) {
        sb_printf(&b, "\"user_id\":");
        sb_json_str(&b, argv[1]);
        sb_printf(&b, ",\"is_superuser\":%s,", su ? "true" : "false");
    } else {
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "/%s", uid);
    }
    sb_printf(&b, "\"password\":");
    sb_json_str(&b, password);
    sb_printf(&b, "}");
    char *body = b.p ? api_send(c, add ? "POST" : "PUT", path, b.p) : NULL;
    free(b.p);
    if (!body) return 1;
    free(body);
    printf("User %s %s\n", argv[1], add ? "added" : "updated");
    return 0;
}

/* ctl banned: as is clientid, username, peerhost, clientid_re, username_re, peerhost_net. */
static int banned_cmd(const st_config *c, int argc, char **argv)
{
    char path[800], who[600];
    if (argc == 1 && strcmp(argv[0], "list") == 0)
        return print_call(c, "GET", "/api/v5/banned?limit=10000");
    if (argc == 3 && strcmp(argv[0], "delete") == 0) {
        url_escape(argv[2], who, sizeof who);
        snprintf(path, sizeof path, "/api/v5/banned/%s/%s", argv[1], who);
        char *body = api_call(c, "DELETE", path);
        if (!body) return 1;
        free(body);
        printf("Ban of %s %s lifted\n", argv[1], argv[2]);
        return 0;
    }
    if ((argc == 3 || argc == 4) && strcmp(argv[0], "add") == 0) {
        sb b = {0};
        sb_printf(&b, "{\"as\":");
        sb_json_str(&b, argv[1]);
        sb_printf(&b, ",\"who\":");
        sb_json_str(&b, argv[2]);
        sb_printf(&b, ",\"by\":\"ctl\",\"reason\":");
        sb_json_str(&b, argc == 4 ? argv[3] : "");
        sb_printf(&b, "}");
        char *body = b.p ? api_send(c, "POST", "/api/v5/banned", b.p) : NULL;
        free(b.p);
        if (!body) return 1;
        free(body);
        printf("%s %s banned\n", argv[1], argv[2]);
        return 0;
    }
    ctl_usage();
    return 2;
}

/* One client object of the API the way `emqx ctl clients` prints it. */
static void print_client(const char *json, const st_jtok *t, int obj)
{
    static const char *const keys[][2] = {{"username", "username"},
                                          {"node", "node"},
                                          {"ip_address", "peerhost"},
                                          {"port", "peerport"},
                                          {"clean_start", "clean_start"},
                                          {"keepalive", "keepalive"},
                                          {"expiry_interval", "session_expiry_interval"},
                                          {"subscriptions_cnt", "subscriptions"},
                                          {"inflight_cnt", "inflight"},
                                          {"awaiting_rel_cnt", "awaiting_rel"},
                                          {"mqueue_len", "mqueue_len"},
                                          {"mqueue_dropped", "dropped_msgs"},
                                          {"connected", "connected"},
                                          {"connected_at", "connected_at"}};
    char v[1024];
    int k = st_json_get(json, t, (uint32_t)obj, "clientid");
    printf("Client(%s", k >= 0 && st_json_str(json, &t[k], v, sizeof v) >= 0 ? v : "?");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        k = st_json_get(json, t, (uint32_t)obj, keys[i][0]);
        if (k < 0) continue;
        if (t[k].type == ST_J_STRING && st_json_str(json, &t[k], v, sizeof v) >= 0)
            printf(", %s=%s", keys[i][1], v);
        else
            printf(", %s=%.*s", keys[i][1], (int)(t[k].end - t[k].start), json + t[k].start);
    }
    printf(")\n");
}

/* Each object of a list answer (a plain array, or paged.h's {"data": [...]}) printed by fn;
 * 1 when a next page follows, 0, or -1 on an error (printed). */
typedef void (*item_fn)(const char *json, const st_jtok *t, int obj);
static int print_items(const st_config *c, const char *path, item_fn fn)
{
    char *body = api_call(c, "GET", path);
    if (!body) return -1;
    size_t n = strlen(body);
    uint32_t max = (uint32_t)(n / 2 + 8);
    st_jtok *t = malloc(max * sizeof *t);
    int r = t ? st_json_parse(body, n, t, max) : -1;
    int arr = r <= 0 ? -1 : t[0].type == ST_J_ARRAY ? 0 : st_json_get(body, t, 0, "data");
    for (uint32_t i = 0; arr >= 0 && i < t[arr].size; i++)
        fn(body, t, st_json_at(t, (uint32_t)arr, i));
    if (r > 0 && arr < 0 && t[0].type == ST_J_OBJECT) fn(body, t, 0); /* one object */
    int meta = r > 0 && t[0].type == ST_J_OBJECT ? st_json_get(body, t, 0, "meta") : -1;
    int next = meta >= 0 ? st_json_get(body, t, (uint32_t)meta, "hasnext") : -1;
    int more = next >= 0 && st_json_eq(body, &t[next], "true");
    free(t);
    free(body);
    return r > 0 ? more : -1;
}

/* Every page of path (which takes &page=): 0, or 1 on an error. */
static int print_pages(const st_config *c, const char *path, item_fn fn)
{
    char p[1400];
    int more = 1;
    for (int page = 1; more == 1; page++) {
        snprintf(p, sizeof p, "%s%climit=10000&page=%d", path, strchr(path, '?') ? '&' : '?', page);
        more = print_items(c, p, fn);
    }
    return more < 0;
}

static int clients_cmd(const st_config *c, int argc, char **argv)
{
    char path[1200], id[3 * 300 + 1];
    if (argc == 1 && strcmp(argv[0], "list") == 0)
        return print_pages(c, "/api/v5/clients", print_client);
    if (argc != 2 || (strcmp(argv[0], "show") != 0 && strcmp(argv[0], "kick") != 0)) {
        ctl_usage();
        return 2;
    }
    url_escape(argv[1], id, sizeof id);
    snprintf(path, sizeof path, "/api/v5/clients/%s", id);
    if (strcmp(argv[0], "show") == 0) return print_items(c, path, print_client) < 0;
    char *body = api_call(c, "DELETE", path);
    if (!body) return 1;
    printf("ok\n");
    free(body);
    return 0;
}

static void field(const char *json, const st_jtok *t, int obj, const char *key, char *out,
                  size_t cap)
{
    int k = st_json_get(json, t, (uint32_t)obj, key);
    out[0] = 0;
    if (k >= 0 && t[k].type == ST_J_STRING)
        st_json_str(json, &t[k], out, cap);
    else if (k >= 0)
        snprintf(out, cap, "%.*s", (int)(t[k].end - t[k].start), json + t[k].start);
}

/* `emqx ctl subscriptions`' line: "<clientid> -> topic:<t> qos:<q> nl:.. rap:.. rh:..". */
static void print_sub(const char *json, const st_jtok *t, int obj)
{
    char cid[1024], topic[1024], q[8], nl[8], rap[8], rh[8];
    field(json, t, obj, "clientid", cid, sizeof cid);
    field(json, t, obj, "topic", topic, sizeof topic);
    field(json, t, obj, "qos", q, sizeof q);
    field(json, t, obj, "nl", nl, sizeof nl);
    field(json, t, obj, "rap", rap, sizeof rap);
    field(json, t, obj, "rh", rh, sizeof rh);
    printf("%s -> topic:%s qos:%s nl:%s rap:%s rh:%s\n", cid, topic, q, nl, rap, rh);
}

/* `emqx ctl topics`' line: "<topic> -> <node>". */
static void print_topic(const char *json, const st_jtok *t, int obj)
{
    char topic[1024], node[256];
    field(json, t, obj, "topic", topic, sizeof topic);
    field(json, t, obj, "node", node, sizeof node);
    printf("%s -> %s\n", topic, node);
}

static int post_ok(const st_config *c, const char *path, const char *json)
{
    char *body = api_send(c, "POST", path, json);
    if (!body) return 1;
    printf("ok\n");
    free(body);
    return 0;
}

static int subs_cmd(const st_config *c, int argc, char **argv)
{
    char path[1400], id[3 * 300 + 1], json[1400];
    if (argc == 1 && strcmp(argv[0], "list") == 0)
        return print_pages(c, "/api/v5/subscriptions", print_sub);
    if (argc >= 2) url_escape(argv[1], id, sizeof id);
    if (argc == 2 && strcmp(argv[0], "show") == 0) {
        snprintf(path, sizeof path, "/api/v5/clients/%s/subscriptions", id);
        return print_items(c, path, print_sub) < 0;
    }
    sb esc = {0};
    if (argc >= 3) sb_json_str(&esc, argv[2]);
    int rc = 2;
    if (argc == 4 && strcmp(argv[0], "add") == 0 && esc.p) {
        snprintf(path, sizeof path, "/api/v5/clients/%s/subscribe", id);
        snprintf(json, sizeof json, "{\"topic\":%.1000s,\"qos\":%d}", esc.p, atoi(argv[3]));
        rc = post_ok(c, path, json);
    } else if (argc == 3 && strcmp(argv[0], "del") == 0 && esc.p) {
        snprintf(path, sizeof path, "/api/v5/clients/%s/unsubscribe", id);
        snprintf(json, sizeof json, "{\"topic\":%.1000s}", esc.p);
        rc = post_ok(c, path, json);
    }
    free(esc.p);
    if (rc == 2) ctl_usage();
    return rc;
}

static int topics_cmd(const st_config *c, int argc, char **argv)
{
    char path[1400], t[3 * 300 + 1];
    if (argc == 1 && strcmp(argv[0], "list") == 0)
        return print_pages(c, "/api/v5/topics", print_topic);
    if (argc == 2 && strcmp(argv[0], "show") == 0) {
        url_escape(argv[1], t, sizeof t);
        snprintf(path, sizeof path, "/api/v5/topics/%s", t);
        return print_items(c, path, print_topic) < 0;
    }
    ctl_usage();
    return 2;
}

/* `listeners stop|start|restart <id>`, printed as emqx ctl does. */
static int listener_cmd(const st_config *c, const char *op, const char *id)
{
    static const char *const said[][2] = {
        {"stop", "Stop"}, {"start", "Started"}, {"restart", "Restarted"}};
    char path[400], esc[3 * 100 + 1];
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(op, said[i][0]) != 0) continue;
        url_escape(id, esc, sizeof esc);
        snprintf(path, sizeof path, "/api/v5/listeners/%s/%s", esc, op);
        char *body = api_send(c, "POST", path, "{}");
        if (!body) return 1;
        printf("%s %s listener successfully.\n", said[i][1], id);
        free(body);
        return 0;
    }
    ctl_usage();
    return 2;
}

/* `log primary-level` prints the level, `log set-level <level>` sets it (as emqx ctl). */
static int log_cmd(const st_config *c, int argc, char **argv)
{
    char json[64], *body = NULL;
    if (argc == 1 && strcmp(argv[0], "primary-level") == 0) {
        body = api_call(c, "GET", "/api/v5/log/level");
    } else if (argc == 2 && strcmp(argv[0], "set-level") == 0 && strlen(argv[1]) < 32) {
        snprintf(json, sizeof json, "{\"level\":\"%s\"}", argv[1]);
        body = api_send(c, "PUT", "/api/v5/log/level", json);
    } else {
        ctl_usage();
        return 2;
    }
    if (!body) return 1;
    char level[32];
    st_jtok t[4];
    int r = st_json_parse(body, strlen(body), t, 4);
    int k = r > 0 ? st_json_get(body, t, 0, "level") : -1;
    printf("%s\n", k >= 0 && st_json_str(body, &t[k], level, sizeof level) > 0 ? level : body);
    free(body);
    return 0;
}

/* `broker stats|metrics`: this node's figures, one "name : value" line each, as emqx ctl. */
static int broker_cmd(const st_config *c, const char *what)
{
    char path[1000], node[256];
    snprintf(node, sizeof node, "%s", st_config_str(c, "node.name"));
    char esc[800];
    url_escape(node, esc, sizeof esc);
    snprintf(path, sizeof path, "/api/v5/nodes/%.700s/%s", esc, what);
    char *body = api_call(c, "GET", path);
    if (!body) return 1;
    size_t n = strlen(body);
    uint32_t max = (uint32_t)(n / 2 + 8);
    st_jtok *t = malloc(max * sizeof *t);
    int r = t ? st_json_parse(body, n, t, max) : -1;
    for (uint32_t i = 0; r > 0 && t[0].type == ST_J_OBJECT && i < t[0].size; i++) {
        const st_jtok *k = &t[1 + 2 * i], *v = k + 1;
        if (v->type != ST_J_NUMBER) continue; /* "node" */
        printf("%-40.*s: %.*s\n", (int)(k->end - k->start), body + k->start,
               (int)(v->end - v->start), body + v->start);
    }
    free(t);
    free(body);
    return r > 0 ? 0 : 1;
}

/* `admins add <user> <password>`, `admins passwd <user> <password>`, `admins del <user>`
 * (emqx ctl admins): the dashboard's users. */
static int admins_cmd(const st_config *c, int argc, char **argv)
{
    char path[400], esc[300] = "", pw[256];
    sb js = {0};
    char *ans = NULL;
    const char *secret = argc == 3 ? password_arg(argv[2], pw, sizeof pw) : "";
    if (!secret) {
        fprintf(stderr, "starling ctl: no password on standard input\n");
        return 1;
    }
    if (argc >= 2) url_escape(argv[1], esc, sizeof esc);
    if (argc == 3 && strcmp(argv[0], "add") == 0) {
        sb_printf(&js, "{\"username\":");
        sb_json_str(&js, argv[1]);
        sb_printf(&js, ",\"password\":");
        sb_json_str(&js, secret);
        sb_printf(&js, "}");
        ans = js.p ? api_send(c, "POST", "/api/v5/users", js.p) : NULL;
    } else if (argc == 3 && strcmp(argv[0], "passwd") == 0) {
        sb_printf(&js, "{\"new_pwd\":");
        sb_json_str(&js, secret);
        sb_printf(&js, "}");
        snprintf(path, sizeof path, "/api/v5/users/%s/change_pwd", esc);
        ans = js.p ? api_send(c, "POST", path, js.p) : NULL;
    } else if (argc == 2 && strcmp(argv[0], "del") == 0) {
        snprintf(path, sizeof path, "/api/v5/users/%s", esc);
        ans = api_call(c, "DELETE", path);
    } else {
        ctl_usage();
        return 2;
    }
    free(js.p);
    if (!ans) return 1;
    free(ans);
    printf("ok\n");
    return 0;
}

/* `traces list | start <name> client|topic|ip_address <value> [<seconds>] | stop <name> |
 * delete <name>` (emqx ctl traces; `trace` too): the cluster's log traces. */
static int traces_cmd(const st_config *c, int argc, char **argv)
{
    static const char *const types[][2] = {{"client", "clientid"},
                                           {"clientid", "clientid"},
                                           {"topic", "topic"},
                                           {"ip_address", "ip_address"}};
    char path[400], esc[300] = "";
    char *ans = NULL;
    if (argc >= 2) url_escape(argv[1], esc, sizeof esc);
    if (argc == 1 && strcmp(argv[0], "list") == 0) return print_call(c, "GET", "/api/v5/trace");
    if ((argc == 4 || argc == 5) && strcmp(argv[0], "start") == 0) {
        const char *type = NULL;
        for (size_t i = 0; i < sizeof types / sizeof *types; i++)
            if (strcmp(argv[2], types[i][0]) == 0) type = types[i][1];
        long secs = argc == 5 ? strtol(argv[4], NULL, 10) : 1800; /* EMQX's default */
        if (!type || secs <= 0) {
            ctl_usage();
            return 2;
        }
        sb js = {0};
        sb_printf(&js, "{\"name\":");
        sb_json_str(&js, argv[1]);
        sb_printf(&js, ",\"type\":\"%s\",\"%s\":", type, type);
        sb_json_str(&js, argv[3]);
        sb_printf(&js, ",\"end_at\":%lld}", (long long)time(NULL) + secs);
        ans = js.p ? api_send(c, "POST", "/api/v5/trace", js.p) : NULL;
        free(js.p);
    } else if (argc == 2 && strcmp(argv[0], "stop") == 0) {
        snprintf(path, sizeof path, "/api/v5/trace/%s/stop", esc);
        ans = api_call(c, "PUT", path);
    } else if (argc == 2 && strcmp(argv[0], "delete") == 0) {
        snprintf(path, sizeof path, "/api/v5/trace/%s", esc);
        ans = api_call(c, "DELETE", path);
    } else {
        ctl_usage();
        return 2;
    }
    if (!ans) return 1;
    printf("%s\n", ans[0] ? ans : "ok");
    free(ans);
    return 0;
}

/* A file's whole text (malloc'd), or NULL with why printed. */
static char *read_text(const char *path)
{
    char *text = st_file_read(path, 1u << 20, NULL);
    if (!text) fprintf(stderr, "starling ctl: cannot read %s: %s\n", path, strerror(errno));
    return text;
}

/* `conf show [key]`, `conf load [--merge|--replace] FILE`, `conf reload` (emqx ctl conf). */
static int conf_cmd(const st_config *c, int argc, char **argv)
{
    char path[600], *body = NULL;
    if (argc >= 1 && argc <= 2 && strcmp(argv[0], "show") == 0) {
        char esc[400] = "";
        if (argc == 2) url_escape(argv[1], esc, sizeof esc);
        snprintf(path, sizeof path, "/api/v5/configs%s%s", argc == 2 ? "?key=" : "", esc);
        body = api_typed(c, "GET", path, NULL, "text/plain");
    } else if (argc >= 2 && argc <= 3 && strcmp(argv[0], "load") == 0) {
        const char *mode = argc == 3 ? argv[1] : "--merge";
        if (strcmp(mode, "--merge") != 0 && strcmp(mode, "--replace") != 0) {
            ctl_usage();
            return 2;
        }
        char *text = read_text(argv[argc - 1]);
        if (!text) return 1;
        snprintf(path, sizeof path, "/api/v5/configs?mode=%s", mode + 2);
        body = api_typed(c, "PUT", path, text, "text/plain");
        free(text);
    } else if (argc == 1 && strcmp(argv[0], "reload") == 0) {
        body = api_call(c, "POST", "/api/v5/configs/reload");
    } else {
        ctl_usage();
        return 2;
    }
    if (!body) return 1;
    printf("%s%s", body, body[0] && body[strlen(body) - 1] == '\n' ? "" : "\n");
    free(body);
    return 0;
}

int st_ctl_main(const st_config *c, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "conf") == 0) return conf_cmd(c, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "admins") == 0) return admins_cmd(c, argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "traces") == 0 || strcmp(argv[0], "trace") == 0))
        return traces_cmd(c, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[0], "banned") == 0) return banned_cmd(c, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "users") == 0) {
        const char *authn = "password_based:built_in_database";
        if (argc >= 3 && strcmp(argv[1], "--authenticator") == 0) {
            authn = argv[2];
            argc -= 2;
            argv += 2;
        }
        if (argc < 2 || strcmp(argv[1], "help") == 0) {
            users_usage();
            return argc < 2 ? 2 : 0;
        }
        return users_cmd(c, authn, argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[0], "cluster") == 0 && strcmp(argv[1], "status") == 0) {
        int json = argc >= 3 && strcmp(argv[2], "--json") == 0;
        if (argc > 3 || (argc == 3 && !json)) {
            ctl_usage();
            return 2;
        }
        return cluster_status(c, json);
    }
    if (argc == 2 && strcmp(argv[0], "cluster") == 0 && strcmp(argv[1], "routes") == 0)
        return cluster_routes(c);
    if (argc == 3 && strcmp(argv[0], "cluster") == 0 && strcmp(argv[1], "force-leave") == 0)
        return cluster_force_leave(c, argv[2]);
    if (argc == 3 && strcmp(argv[0], "cluster") == 0 && strcmp(argv[1], "join") == 0) {
        char path[400];
        snprintf(path, sizeof path, "/api/v5/cluster/%.300s/join", argv[2]);
        return cluster_membership(c, path, argv[2], "Join");
    }
    if (argc == 2 && strcmp(argv[0], "cluster") == 0 && strcmp(argv[1], "leave") == 0)
        return cluster_membership(c, "/api/v5/cluster/leave", NULL, "Leave");
    if (argc == 1 && strcmp(argv[0], "listeners") == 0)
        return print_call(c, "GET", "/api/v5/listeners");
    if (argc == 2 && strcmp(argv[0], "acl") == 0 && strcmp(argv[1], "reload") == 0)
        return print_call(c, "POST", "/api/v5/authorization/sources/file/reload");
    if ((argc == 2 || (argc == 3 && strcmp(argv[2], "all") == 0)) &&
        strcmp(argv[0], "authz") == 0 && strcmp(argv[1], "cache-clean") == 0) {
        char *body = api_call(c, "DELETE", "/api/v5/authorization/cache");
        if (!body) return 1;
        printf("Authorization cache cleaned on every node\n");
        free(body);
        return 0;
    }
    if (argc == 2 && strcmp(argv[0], "listeners") == 0 && strcmp(argv[1], "reload") == 0)
        return print_call(c, "POST", "/api/v5/listeners/reload");
    if (argc == 2 && strcmp(argv[0], "durable") == 0 && strcmp(argv[1], "status") == 0)
        return print_call(c, "GET", "/api/v5/durable_storage");
    if (argc >= 1 && strcmp(argv[0], "clients") == 0) return clients_cmd(c, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "subscriptions") == 0) return subs_cmd(c, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "topics") == 0) return topics_cmd(c, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "log") == 0) return log_cmd(c, argc - 1, argv + 1);
    if (argc == 3 && strcmp(argv[0], "listeners") == 0) return listener_cmd(c, argv[1], argv[2]);
    if (argc == 2 && strcmp(argv[0], "broker") == 0 &&
        (strcmp(argv[1], "stats") == 0 || strcmp(argv[1], "metrics") == 0))
        return broker_cmd(c, argv[1]);
    ctl_usage();
    return 2;
}
