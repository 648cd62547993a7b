/* config_env.h — internal: environment overrides (config_env.c), used by config.c. */
#ifndef ST_CONFIG_ENV_H
#define ST_CONFIG_ENV_H

#include <stddef.h>

#include "config/config.h"
#include "config/hocon.h"

/* Merge STARLING_* / EMQX_* variables from envp into root (an OBJECT). Unknown keys under a
 * known root are reported through warn and skipped; unknown roots are ignored. Returns 0 or a
 * negative ST_E* with a message in err. */
int st_config_env_apply(st_hocon_doc *doc, st_hocon_node *root, char *const *envp,
                        st_config_warn_fn warn, void *ctx, char *err, size_t errlen);

#endif
