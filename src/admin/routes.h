/* routes.h — every endpoint of the HTTP API, as one table (routes.c): the server lets a
 * request through only when the table has its method and path (else 404 or 405), and the
 * OpenAPI document (/api-docs/swagger.json, openapi.c) is written from the same table, so
 * the two cannot drift. */
#ifndef ST_ADMIN_ROUTES_H
#define ST_ADMIN_ROUTES_H

#include <stddef.h>

typedef struct st_route {
    const char *method;  /* GET, POST, PUT, DELETE */
    const char *path;    /* OpenAPI template: /api/v5/clients/{clientid} */
    unsigned flags;      /* ST_ROUTE_* */
    const char *tag;     /* the group it is listed under */
    const char *summary; /* what it does, one line */
    int ok;              /* its success status: 200, 204 */
    const char *schema;  /* the success body's schema (openapi.c), "" for none */
    const char *query;   /* its query parameters, comma-separated ("" : none) */
    const char *body;    /* the request body's schema, "" for none */
} st_route;

#define ST_ROUTE_OPEN 1u   /* no credential asked */
#define ST_ROUTE_GREEDY 2u /* the last path parameter may hold '/' */
#define ST_ROUTE_TEXT 4u   /* the answer is text/plain (its schema a string) */

extern const st_route st_routes[];
extern const size_t st_nroutes;

/* May method path go on? 0: a route has it; 404: no route has the path; 405: routes have
 * the path, not the method (allowed: their methods, ", "-separated, into allow). */
int st_route_gate(const char *method, const char *path, char *allow, size_t cap);

#endif
