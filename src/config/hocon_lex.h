/* hocon_lex.h — internal: the HOCON tokenizer used by hocon_parse.c. */
#ifndef ST_HOCON_LEX_H
#define ST_HOCON_LEX_H

#include <stddef.h>

enum hl_tok {
    HL_EOF,
    HL_NL,
    HL_LBRACE,
    HL_RBRACE,
    HL_LBRACK,
    HL_RBRACK,
    HL_COMMA,
    HL_SEP,    /* '=' or ':' (key mode) */
    HL_PLUSEQ, /* '+=' (key mode) */
    HL_STR,    /* "quoted" or """triple""" */
    HL_UNQ,    /* unquoted text */
    HL_SUBST,  /* ${path} or ${?path} */
};

/* Keys stop at ':' '=' '+='; values may contain ':' and '=' (0.0.0.0:1883, a=b). */
enum hl_mode { HL_KEY, HL_VALUE };

struct hl_lexer {
    const char *p, *end;
    const char *file;
    int line;
};

struct hl_token {
    enum hl_tok t;
    int line;
    const char *ws; /* whitespace just before the token on the same line */
    size_t ws_n;
    const char *s; /* raw text (for HL_STR without the quotes, for HL_SUBST the path) */
    size_t n;
    int triple;   /* HL_STR: triple-quoted, no escapes */
    int optional; /* HL_SUBST: ${?...} */
};

/* Next token; 0 or -1 with "file:line: message" in err. */
int hl_next(struct hl_lexer *lx, enum hl_mode mode, struct hl_token *t, char *err, size_t errlen);
/* Decoded text of an HL_STR / HL_UNQ token, malloc'd (NULL on out of memory). */
char *hl_text(const struct hl_token *t);
const char *hl_tok_name(enum hl_tok t);

#endif
