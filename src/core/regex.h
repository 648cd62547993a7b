/* regex.h — the regular expressions users write for EMQX (its acl.conf's {re, "..."}, the
 * banned table's clientid_re / username_re), which are PCRE's, compiled with POSIX's
 * regcomp (extended, no submatches: only "does it match" is asked). What PCRE writes
 * differently is translated first: \d \D \w \W \s \S (also inside [...]), \A and \z / \Z,
 * (?: groups, and lazy quantifiers (*? +? ?? {n,m}?, the same answer to "does it match").
 * What has no POSIX form (look-around, back-references, \b) does not compile: the caller
 * reports it. */
#ifndef ST_REGEX_H
#define ST_REGEX_H

#include <regex.h>

/* 0, or regcomp's error (re is not to be freed then). */
int st_regcomp(regex_t *re, const char *pattern);

#endif
