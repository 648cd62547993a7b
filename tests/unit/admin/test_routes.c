/* test_routes.c — the route table lets through what it has and nothing else (404, 405 with
 * the methods there are), has no route twice and no schema it lacks, and the OpenAPI
 * document written from it is JSON with every route's path. */
#include "test.h"

#include "admin/openapi.h"
#include "admin/routes.h"
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

static void test_gate(void)
{
    char allow[64];
    CHECK_EQ(st_route_gate("GET", "/api/v5/clients", allow, sizeof allow), 0);
    CHECK_EQ(st_route_gate("GET", "/api/v5/clients/c1/subscriptions", allow, sizeof allow), 0);
    CHECK_EQ(st_route_gate("POST", "/api/v5/clients/kickout/bulk", allow, sizeof allow), 0);
    CHECK_EQ(st_route_gate("GET", "/api/v5/topics/a/b/%23", allow, sizeof allow), 0);
    CHECK_EQ(st_route_gate("GET", "/api/v5/nothing", allow, sizeof allow), 404);
    CHECK_EQ(st_route_gate("GET", "/api/v5/clients/", allow, sizeof allow), 404);
    CHECK_EQ(st_route_gate("GET", "/api/v5/clients/a/b/c/d", allow, sizeof allow), 404);
    CHECK_EQ(st_route_gate("PUT", "/api/v5/alarms", allow, sizeof allow), 405);
    CHECK_STR(allow, "GET, DELETE");
    CHECK_EQ(st_route_gate("GET", "/api/v5/trace/t1/stop", allow, sizeof allow), 405);
    CHECK_STR(allow, "PUT");
}

static void test_table(void)
{
    char err[200] = "";
    CHECK_EQ(st_openapi_check(err, sizeof err), 0);
    if (err[0]) fprintf(stderr, "%s\n", err);
    for (size_t i = 0; i < st_nroutes; i++) {
        CHECK(st_routes[i].path[0] == '/');
        CHECK(st_routes[i].ok == 200 || st_routes[i].ok == 201 || st_routes[i].ok == 204);
        CHECK((st_routes[i].ok == 204) == (st_routes[i].schema[0] == '\0') ||
              strstr(st_routes[i].path, "/listeners/{id}/"));
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(st_routes[i].method, st_routes[k].method) != 0 ||
                  strcmp(st_routes[i].path, st_routes[k].path) != 0);
    }
}

static void test_document(void)
{
    sb b = {0};
    st_openapi_write(&b, "0.1.0");
    uint32_t max = 200000;
    st_jtok *t = malloc(max * sizeof *t);
    int n = t ? st_json_parse(b.p, b.len, t, max) : -1;
    CHECK(n > 0);
    int paths = n > 0 ? st_json_get(b.p, t, 0, "paths") : -1;
    CHECK(paths > 0);
    for (size_t i = 0; paths > 0 && i < st_nroutes; i++)
        CHECK(st_json_get(b.p, t, (uint32_t)paths, st_routes[i].path) > 0);
    free(t);
    free(b.p);
}

int main(void)
{
    RUN(test_gate);
    RUN(test_table);
    RUN(test_document);
    return TEST_END();
}
