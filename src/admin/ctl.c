/* ctl.c — `starling ctl`: asks the running node's HTTP API and prints the answer the way
 * `emqx ctl` does. */
#include "admin/admin.h"
#include "core/json.h"
#include "net/listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

void st_ctl_usage(FILE *out, const char *first)
{
    fprintf(out,
            "%sstarling [-c FILE] ctl cluster status [--json]\n"
            "       starling [-c FILE] ctl cluster routes\n"
            "       starling [-c FILE] ctl cluster join <node>\n"
            "       starling [-c FILE] ctl cluster leave\n"
            "       starling [-c FILE] ctl cluster force-leave <node>\n"
            "       starling [-c FILE] ctl listeners [reload]\n",
            first);
}

static void ctl_usage(void)
{
    st_ctl_usage(stderr, "usage: ");
}

/* method path to the API at bind (a wildcard address means this machine). Returns the
 * HTTP status, or -1 if the node does not answer; *body is malloc'd. */
static int request(const char *bind, const char *method, const char *path, char **body)
{
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
    char req[600];
    int n =
        snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                 method, path);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
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
    return status;
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

/* method path to the node's API: the body (malloc'd), or NULL with the error printed. */
static char *api_call(const st_config *c, const char *method, const char *path)
{
    const char *bind = st_config_str(c, "dashboard.listeners.http.bind");
    char *body = NULL;
    int status = request(bind, method, path, &body);
    if (status < 0) {
        fprintf(stderr, "starling ctl: the node does not answer on %s (is it running?)\n", bind);
        return NULL;
    }
    if (status != 200 && status != 204) {
        fprintf(stderr, "starling ctl: HTTP %d: %s\n", status, body);
        free(body);
        return NULL;
    }
    return body;
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
    const char *bind = st_config_str(c, "dashboard.listeners.http.bind");
    char *body = NULL;
    static st_jtok t[4096];
    int found = 0;
    int status = request(bind, "GET", node ? "/api/v5/cluster" : "/api/v5/cluster/status", &body);
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

int st_ctl_main(const st_config *c, int argc, char **argv)
{
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
    if (argc == 2 && strcmp(argv[0], "listeners") == 0 && strcmp(argv[1], "reload") == 0)
        return print_call(c, "POST", "/api/v5/listeners/reload");
    ctl_usage();
    return 2;
}
