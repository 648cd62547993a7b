/* logs.c — the log level at run time (logs.h). */
#include "admin/logs.h"
#include "admin/sb.h"
#include "core/json.h"

#include <string.h>

static void level_json(const st_api *api, st_http_resp *resp)
{
    sb b = {0};
    sb_printf(&b, "{\"level\":\"%s\"}",
              st_log_level_name(atomic_load(&((const st_log *)api->log)->level)));
    st_api_reply(resp, 200, "application/json", &b);
}

int st_api_logs(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    if (strcmp(req->path, "/api/v5/log/level") != 0) return 0;
    if (!api->log) {
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "no log on this node");
        return 1;
    }
    if (strcmp(req->method, "GET") == 0) {
        level_json(api, resp);
        return 1;
    }
    if (strcmp(req->method, "PUT") != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET and PUT are served here");
        return 1;
    }
    st_jtok t[8];
    char name[16] = "";
    int r = req->body ? st_json_parse(req->body, req->body_len, t, 8) : -1;
    int k = r > 0 && t[0].type == ST_J_OBJECT ? st_json_get(req->body, t, 0, "level") : -1;
    int level = k >= 0 && st_json_str(req->body, &t[k], name, sizeof name) > 0
                    ? st_log_level_parse(name)
                    : -1;
    if (level < 0) {
        st_api_error(resp, 400, "BAD_REQUEST",
                     "the body must be {\"level\": debug, info, notice, warning, error or "
                     "critical}");
        return 1;
    }
    st_log_set_level(api->log, level);
    LOG_NOTICE(api->log, "log level set to %s (API)", st_log_level_name(level));
    level_json(api, resp);
    return 1;
}
