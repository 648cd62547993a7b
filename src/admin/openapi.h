/* openapi.h — the API described as an OpenAPI 3 document, from the route table (routes.h):
 * served at /api-docs/swagger.json, with a page that shows it at /api-docs. */
#ifndef ST_ADMIN_OPENAPI_H
#define ST_ADMIN_OPENAPI_H

#include "admin/sb.h"

#include <stddef.h>

/* The document, as JSON, into b. */
void st_openapi_write(sb *b, const char *version);
/* Does every route's schema exist? 0, or -1 with the route in err (a unit test's check). */
int st_openapi_check(char *err, size_t cap);

#endif
