/* validate.c — UTF-8 and topic name / topic filter checks (MQTT 5 §1.5.4, §4.7, §4.8.2).
 *
 * Shared by the decoder and the broker (which checks SUBSCRIBE filters itself so that v5 can
 * answer a bad filter with a per-filter reason code). Pure functions over byte ranges. */
#include "mqtt/mqtt.h"
#include "core/err.h"

#include <string.h>

/* Well-formed UTF-8 with no U+0000, no surrogates, no overlong forms, nothing > U+10FFFF. */
int mqtt_utf8_check(const uint8_t *p, uint32_t len)
{
    uint32_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c < 0x80) {
            if (c == 0) return ST_EUTF8;
            i++;
            continue;
        }
        uint32_t cp, n;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return ST_EUTF8; /* continuation byte, C0/C1 overlong lead, or F5..FF */
        }
        if (len - i - 1 < n) return ST_EUTF8;
        for (uint32_t k = 1; k <= n; k++) {
            uint8_t b = p[i + k];
            if ((b & 0xC0) != 0x80) return ST_EUTF8;
            cp = cp << 6 | (b & 0x3F);
        }
        if (n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return ST_EUTF8;
        if (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) return ST_EUTF8;
        i += n + 1;
    }
    return 0;
}

static int utf8_topic(const uint8_t *p, uint32_t len)
{
    if (len == 0 || len > 65535) return ST_ETOPIC;
    return mqtt_utf8_check(p, len);
}

int mqtt_topic_name_check(const uint8_t *p, uint32_t len)
{
    int rc = utf8_topic(p, len);
    if (rc < 0) return rc;
    for (uint32_t i = 0; i < len; i++)
        if (p[i] == '+' || p[i] == '#') return ST_ETOPIC;
    return 0;
}

/* '+' fills a whole level; '#' fills the last level. */
static int filter_syntax(const uint8_t *p, uint32_t len)
{
    if (len == 0) return ST_ETOPIC;
    for (uint32_t i = 0; i < len; i++) {
        if (p[i] != '+' && p[i] != '#') continue;
        if (i > 0 && p[i - 1] != '/') return ST_ETOPIC;
        if (p[i] == '+' ? (i + 1 < len && p[i + 1] != '/') : i + 1 != len) return ST_ETOPIC;
    }
    return 0;
}

static int has_prefix(const uint8_t *p, uint32_t len, const char *pre, uint32_t n)
{
    return len >= n && memcmp(p, pre, n) == 0;
}

int mqtt_topic_filter_check(const uint8_t *p, uint32_t len)
{
    int rc = utf8_topic(p, len);
    if (rc < 0) return rc;
    if (has_prefix(p, len, "$share/", 7)) {
        const uint8_t *g = p + 7;
        uint32_t rest = len - 7, glen = 0;
        while (glen < rest && g[glen] != '/') {
            if (g[glen] == '+' || g[glen] == '#') return ST_ETOPIC;
            glen++;
        }
        if (glen == 0 || glen == rest)
            return ST_ETOPIC; /* empty share name, or no filter after it */
        return filter_syntax(g + glen + 1, rest - glen - 1);
    }
    if (has_prefix(p, len, "$queue/", 7)) return filter_syntax(p + 7, len - 7);
    return filter_syntax(p, len);
}
