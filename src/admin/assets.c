/* assets.c — the dashboard's files by path (assets.h). */
#include "admin/assets.h"

#include <string.h>

const st_asset *st_asset_find(const char *path)
{
    if (strcmp(path, "/") == 0) path = "/index.html";
    for (size_t i = 0; i < st_dashboard_nassets; i++)
        if (strcmp(st_dashboard_assets[i].path, path) == 0) return &st_dashboard_assets[i];
    return NULL;
}
