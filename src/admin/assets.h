/* assets.h — the dashboard's files, built into the binary (cmake/embed.cmake makes the
 * table from src/admin/dashboard; docs/operations.md "Dashboard"). */
#ifndef ST_ADMIN_ASSETS_H
#define ST_ADMIN_ASSETS_H

#include <stddef.h>

typedef struct st_asset {
    const char *path; /* "/index.html" */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t len;
} st_asset;

extern const st_asset st_dashboard_assets[];
extern const size_t st_dashboard_nassets;

/* The asset served at path ("/" is /index.html), or NULL. */
const st_asset *st_asset_find(const char *path);

#endif
