/* rasp: the RASP-L parser, type checker and incremental interpreter. See rasp.h and docs/rasp.md.
 *
 * A program is a list of operations in dependency order (each refers to earlier ones only, so
 * it cannot loop). Sequence operations store one value per position in val[op * cap + pos];
 * selectors are evaluated on demand, pair by pair, by the aggregate or width that reads them.
 */
#include "rasp.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define RASP_MAX_OPS 512
#define RASP_NAME_MAX 32

typedef enum {
    K_CONST, K_TOKENS, K_INDICES,   /* leaves */
    K_UN, K_BIN, K_WHERE,           /* elementwise: maps and seqmaps */
    K_SELECT, K_SEL_AND, K_SEL_OR, K_SEL_NOT,  /* selectors */
    K_AGG, K_WIDTH,                 /* attention-like */
} Kind;

/* comparison and arithmetic operators (select uses the comparisons and C_TRUE) */
typedef enum {
    C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE, C_TRUE,
    A_ADD, A_SUB, A_MUL, A_DIV, A_MOD, A_AND, A_OR, A_MIN, A_MAX,
    U_NEG, U_NOT, U_ABS,
    G_MEAN, G_MAX, G_MIN,
} Oper;

typedef struct {
    Kind kind;
    Oper oper;
    int a, b, c;     /* operand ops (-1 when unused) */
    int k;           /* K_CONST value; K_AGG default */
    int line, col;
} Op;

typedef struct {
    char name[RASP_NAME_MAX];
    int op;
} Named;

struct RaspProg {
    char file[256];
    Op ops[RASP_MAX_OPS];
    int n_ops;
    Named named[RASP_MAX_OPS];
    int n_named;
    int out_op, tok_op;
    int alpha_lo, alpha_hi, out_lo, out_hi, len_lo, len_hi;
    int ans_mul, ans_add;    /* answer_max = ans_mul * length + ans_add */
    int hints;               /* index hint tokens h0..h{hints-1}, 0 without */
    RaspInput input;
    int *val;                /* n_ops x cap */
    int cap, n;
};

/* ---- lexer ---- */
typedef enum { T_EOF, T_NL, T_INT, T_NAME, T_SYM } TokKind;
typedef struct {
    TokKind kind;
    char text[RASP_NAME_MAX];
    long num;
    int line, col;
} Tok;

typedef struct {
    RaspProg *p;
    const char *s;
    size_t i;
    int line, col;
    Tok tok;
    LgErr *err;
    int failed;
} Parser;

static int perr(Parser *ps, const Tok *at, const char *fmt, ...) LG_PRINTF(3, 4);
static int perr(Parser *ps, const Tok *at, const char *fmt, ...) {
    if (ps->failed) return -1;
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ps->failed = 1;
    return lg_err(ps->err, "%s:%d:%d: %s", ps->p->file, at->line, at->col, msg);
}

static void tok_desc(const Tok *t, char *buf, size_t cap) {
    switch (t->kind) {
    case T_EOF: snprintf(buf, cap, "the end of the file"); break;
    case T_NL: snprintf(buf, cap, "the end of the line"); break;
    default: snprintf(buf, cap, "'%s'", t->text); break;
    }
}

static int next(Parser *ps) {
    const char *s = ps->s;
    for (;;) {
        char c = s[ps->i];
        if (c == ' ' || c == '\t' || c == '\r') ps->i++, ps->col++;
        else if (c == '#') {
            while (s[ps->i] && s[ps->i] != '\n') ps->i++, ps->col++;
        } else break;
    }
    Tok *t = &ps->tok;
    memset(t, 0, sizeof *t);
    t->line = ps->line, t->col = ps->col;
    unsigned char c = (unsigned char)s[ps->i];
    if (!c) return t->kind = T_EOF, 0;
    if (c == '\n') {
        ps->i++, ps->line++, ps->col = 1;
        snprintf(t->text, sizeof t->text, "\\n");
        return t->kind = T_NL, 0;
    }
    size_t start = ps->i;
    if (isdigit(c)) {
        while (isdigit((unsigned char)s[ps->i])) ps->i++;
        size_t len = ps->i - start;
        snprintf(t->text, sizeof t->text, "%.*s", (int)(len < 31 ? len : 31), s + start);
        ps->col += (int)len;
        t->kind = T_INT;
        if (len > 6) return perr(ps, t, "the number %s... is too large; values lie in %d..%d", t->text,
                                 RASP_VALUE_MIN, RASP_VALUE_MAX);
        t->num = strtol(t->text, NULL, 10);
        return 0;
    }
    if (isalpha(c) || c == '_') {
        while (isalnum((unsigned char)s[ps->i]) || s[ps->i] == '_') ps->i++;
        size_t len = ps->i - start;
        ps->col += (int)len;
        t->kind = T_NAME;
        if (len >= RASP_NAME_MAX) return perr(ps, t, "a name is at most %d characters", RASP_NAME_MAX - 1);
        snprintf(t->text, sizeof t->text, "%.*s", (int)len, s + start);
        return 0;
    }
    static const char *const two[] = {"==", "!=", "<=", ">=", ".."};
    for (size_t k = 0; k < sizeof two / sizeof two[0]; k++)
        if (s[ps->i] == two[k][0] && s[ps->i + 1] == two[k][1]) {
            snprintf(t->text, sizeof t->text, "%s", two[k]);
            ps->i += 2, ps->col += 2;
            return t->kind = T_SYM, 0;
        }
    if (strchr("+-*/%()<>=,&|!", (int)c)) {
        t->text[0] = (char)c;
        ps->i++, ps->col++;
        return t->kind = T_SYM, 0;
    }
    t->kind = T_SYM;
    if (isprint(c)) snprintf(t->text, sizeof t->text, "%c", c);
    else snprintf(t->text, sizeof t->text, "\\x%02x", c);
    return perr(ps, t, "unexpected character '%s'", t->text);
}

static int is_sym(const Parser *ps, const char *s) { return ps->tok.kind == T_SYM && !strcmp(ps->tok.text, s); }
static int is_name(const Parser *ps, const char *s) { return ps->tok.kind == T_NAME && !strcmp(ps->tok.text, s); }

static int expect_sym(Parser *ps, const char *s, const char *what) {
    if (!is_sym(ps, s)) {
        char d[48];
        tok_desc(&ps->tok, d, sizeof d);
        return perr(ps, &ps->tok, "expected '%s' %s, found %s", s, what, d);
    }
    return next(ps);
}

/* ---- building operations ---- */
static int is_sel_kind(Kind k) { return k == K_SELECT || k == K_SEL_AND || k == K_SEL_OR || k == K_SEL_NOT; }

static int add_op(Parser *ps, const Tok *at, Kind kind, Oper oper, int a, int b, int c, int k) {
    RaspProg *p = ps->p;
    if (p->n_ops == RASP_MAX_OPS) return perr(ps, at, "the program has more than %d operations", RASP_MAX_OPS);
    p->ops[p->n_ops] = (Op){kind, oper, a, b, c, k, at->line, at->col};
    return p->n_ops++;
}

static int is_const(const RaspProg *p, int op) { return p->ops[op].kind == K_CONST; }

/* the parser returns an op index or -1 */
static int parse_expr(Parser *ps);

static int need_seq(Parser *ps, int op, const Tok *at, const char *what) {
    if (op < 0) return -1;
    if (is_sel_kind(ps->p->ops[op].kind))
        return perr(ps, at, "%s must be a sequence, but this is a selector (aggregate it, or take its width)", what);
    return op;
}

static const struct { const char *s; Oper o; } cmp_names[] = {
    {"==", C_EQ}, {"!=", C_NE}, {"<", C_LT}, {"<=", C_LE}, {">", C_GT}, {">=", C_GE},
};

static int call_args(Parser *ps, int *args, int min, int max, const char *fn, const Tok *at) {
    int n = 0;
    if (expect_sym(ps, "(", "after the function name")) return -1;
    if (!is_sym(ps, ")"))
        for (;;) {
            if (n == max) return perr(ps, &ps->tok, "%s takes at most %d arguments", fn, max);
            if ((args[n++] = parse_expr(ps)) < 0) return -1;
            if (!is_sym(ps, ",")) break;
            if (next(ps)) return -1;
        }
    if (expect_sym(ps, ")", "to close the argument list")) return -1;
    if (n < min) return perr(ps, at, "%s takes %d%s arguments, %d given", fn, min, max > min ? " or more" : "", n);
    return n;
}

static int parse_select(Parser *ps, const Tok *at) {
    int args[2];
    if (expect_sym(ps, "(", "after select")) return -1;
    for (int k = 0; k < 2; k++) {
        Tok a = ps->tok;
        if ((args[k] = need_seq(ps, parse_expr(ps), &a, k ? "select's query" : "select's key")) < 0) return -1;
        if (expect_sym(ps, ",", "between select's arguments")) return -1;
    }
    Oper o = C_TRUE;
    int found = is_name(ps, "true");
    for (size_t k = 0; k < sizeof cmp_names / sizeof cmp_names[0] && !found; k++)
        if (is_sym(ps, cmp_names[k].s)) o = cmp_names[k].o, found = 1;
    if (!found) {
        char d[48];
        tok_desc(&ps->tok, d, sizeof d);
        return perr(ps, &ps->tok, "expected a comparison (==, !=, <, <=, >, >= or true) as select's third argument, found %s", d);
    }
    if (next(ps) || expect_sym(ps, ")", "to close select")) return -1;
    return add_op(ps, at, K_SELECT, o, args[0], args[1], -1, 0);
}

static int parse_call(Parser *ps, const Tok *at) {
    const char *fn = at->text;
    int a[3] = {-1, -1, -1};
    if (!strcmp(fn, "select")) return parse_select(ps, at);
    if (!strcmp(fn, "aggregate") || !strcmp(fn, "aggregate_max") || !strcmp(fn, "aggregate_min")) {
        int n = call_args(ps, a, 2, 3, fn, at);
        if (n < 0) return -1;
        if (!is_sel_kind(ps->p->ops[a[0]].kind)) return perr(ps, at, "%s's first argument must be a selector (from select)", fn);
        if (need_seq(ps, a[1], at, "the values aggregated") < 0) return -1;
        int def = 0;
        if (n == 3) {
            if (!is_const(ps->p, a[2])) return perr(ps, at, "%s's default (third argument) must be a constant", fn);
            def = ps->p->ops[a[2]].k;
        }
        Oper o = fn[9] == 0 ? G_MEAN : !strcmp(fn + 10, "max") ? G_MAX : G_MIN;
        return add_op(ps, at, K_AGG, o, a[0], a[1], -1, def);
    }
    if (!strcmp(fn, "width")) {
        if (call_args(ps, a, 1, 1, fn, at) < 0) return -1;
        if (!is_sel_kind(ps->p->ops[a[0]].kind)) return perr(ps, at, "width's argument must be a selector (from select)");
        return add_op(ps, at, K_WIDTH, C_TRUE, a[0], -1, -1, 0);
    }
    if (!strcmp(fn, "where")) {
        if (call_args(ps, a, 3, 3, fn, at) < 0) return -1;
        for (int k = 0; k < 3; k++)
            if (need_seq(ps, a[k], at, "each argument of where") < 0) return -1;
        return add_op(ps, at, K_WHERE, C_TRUE, a[0], a[1], a[2], 0);
    }
    if (!strcmp(fn, "min") || !strcmp(fn, "max")) {
        if (call_args(ps, a, 2, 2, fn, at) < 0) return -1;
        for (int k = 0; k < 2; k++)
            if (need_seq(ps, a[k], at, "each argument of min and max") < 0) return -1;
        return add_op(ps, at, K_BIN, fn[1] == 'i' ? A_MIN : A_MAX, a[0], a[1], -1, 0);
    }
    if (!strcmp(fn, "abs")) {
        if (call_args(ps, a, 1, 1, fn, at) < 0) return -1;
        if (need_seq(ps, a[0], at, "abs's argument") < 0) return -1;
        return add_op(ps, at, K_UN, U_ABS, a[0], -1, -1, 0);
    }
    return perr(ps, at, "unknown function '%s'; expected select, aggregate, aggregate_max, aggregate_min, width, "
                "where, min, max or abs", fn);
}

static int find_named(const RaspProg *p, const char *name) {
    for (int k = 0; k < p->n_named; k++)
        if (!strcmp(p->named[k].name, name)) return p->named[k].op;
    return -1;
}

static int parse_primary(Parser *ps) {
    Tok at = ps->tok;
    RaspProg *p = ps->p;
    if (at.kind == T_INT) {
        if (next(ps)) return -1;
        return add_op(ps, &at, K_CONST, C_TRUE, -1, -1, -1, (int)at.num);
    }
    if (is_sym(ps, "(")) {
        if (next(ps)) return -1;
        int e = parse_expr(ps);
        if (e < 0 || expect_sym(ps, ")", "to close the parenthesis")) return -1;
        return e;
    }
    if (at.kind == T_NAME) {
        if (next(ps)) return -1;
        if (is_sym(ps, "(")) return parse_call(ps, &at);
        if (!strcmp(at.text, "tokens")) return p->tok_op;
        if (!strcmp(at.text, "indices")) return add_op(ps, &at, K_INDICES, C_TRUE, -1, -1, -1, 0);
        if (!strcmp(at.text, "BOS")) return add_op(ps, &at, K_CONST, C_TRUE, -1, -1, -1, RASP_BOS);
        if (!strcmp(at.text, "SEP")) return add_op(ps, &at, K_CONST, C_TRUE, -1, -1, -1, RASP_SEP);
        if (!strcmp(at.text, "EOS")) return add_op(ps, &at, K_CONST, C_TRUE, -1, -1, -1, RASP_EOS);
        if (!strcmp(at.text, "PLUS")) return add_op(ps, &at, K_CONST, C_TRUE, -1, -1, -1, RASP_PLUS);
        if (!strcmp(at.text, "EQUALS")) return add_op(ps, &at, K_CONST, C_TRUE, -1, -1, -1, RASP_EQUALS);
        int op = find_named(p, at.text);
        if (op < 0) return perr(ps, &at, "'%s' is not defined above this line", at.text);
        return op;
    }
    char d[48];
    tok_desc(&at, d, sizeof d);
    return perr(ps, &at, "expected a number, a name, a function call or '(', found %s", d);
}

/* a constant operation folded at parse time keeps programs free of K_CONST chains */
static long fold(Oper o, long x, long y, int *bad) {
    switch (o) {
    case C_EQ: return x == y;
    case C_NE: return x != y;
    case C_LT: return x < y;
    case C_LE: return x <= y;
    case C_GT: return x > y;
    case C_GE: return x >= y;
    case A_ADD: return x + y;
    case A_SUB: return x - y;
    case A_MUL: return x * y;
    case A_DIV:
    case A_MOD: {
        if (y == 0) return *bad = 1, 0;
        long q = x / y, r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) q--, r += y;  /* floor division, as Python's // and % */
        return o == A_DIV ? q : r;
    }
    case A_AND: return x && y;
    case A_OR: return x || y;
    case A_MIN: return x < y ? x : y;
    case A_MAX: return x > y ? x : y;
    case U_NEG: return -x;
    case U_NOT: return !x;
    case U_ABS: return x < 0 ? -x : x;
    default: return *bad = 1, 0;
    }
}

static int parse_unary(Parser *ps) {
    Tok at = ps->tok;
    if (is_sym(ps, "-") || is_sym(ps, "!")) {
        Oper o = at.text[0] == '-' ? U_NEG : U_NOT;
        if (next(ps)) return -1;
        int a = parse_unary(ps);
        if (a < 0) return -1;
        Kind ka = ps->p->ops[a].kind;
        if (is_sel_kind(ka)) {
            if (o == U_NEG) return perr(ps, &at, "'-' needs a sequence, but this is a selector");
            return add_op(ps, &at, K_SEL_NOT, C_TRUE, a, -1, -1, 0);
        }
        if (ka == K_CONST) {
            int bad = 0;
            return add_op(ps, &at, K_CONST, C_TRUE, -1, -1, -1, (int)fold(o, ps->p->ops[a].k, 0, &bad));
        }
        return add_op(ps, &at, K_UN, o, a, -1, -1, 0);
    }
    return parse_primary(ps);
}

/* binary levels, loosest first */
static const struct { const char *sym[6]; Oper op[6]; } levels[] = {
    {{"|"}, {A_OR}},
    {{"&"}, {A_AND}},
    {{"==", "!=", "<", "<=", ">", ">="}, {C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE}},
    {{"+", "-"}, {A_ADD, A_SUB}},
    {{"*", "/", "%"}, {A_MUL, A_DIV, A_MOD}},
};
#define N_LEVELS ((int)(sizeof levels / sizeof levels[0]))

static int parse_level(Parser *ps, int lv) {
    if (lv == N_LEVELS) return parse_unary(ps);
    int a = parse_level(ps, lv + 1);
    while (a >= 0) {
        int which = -1;
        for (int k = 0; k < 6 && levels[lv].sym[k]; k++)
            if (is_sym(ps, levels[lv].sym[k])) which = k;
        if (which < 0) break;
        Tok at = ps->tok;
        Oper o = levels[lv].op[which];
        if (next(ps)) return -1;
        int b = parse_level(ps, lv + 1);
        if (b < 0) return -1;
        RaspProg *p = ps->p;
        int sa = is_sel_kind(p->ops[a].kind), sb = is_sel_kind(p->ops[b].kind);
        if (sa || sb) {
            if (!(sa && sb && (o == A_AND || o == A_OR)))
                return perr(ps, &at, "'%s' between a selector and %s: selectors combine with & and | only",
                            at.text, sa && sb ? "a selector" : "a sequence");
            a = add_op(ps, &at, o == A_AND ? K_SEL_AND : K_SEL_OR, C_TRUE, a, b, -1, 0);
        } else if (is_const(p, a) && is_const(p, b)) {
            int bad = 0;
            long v = fold(o, p->ops[a].k, p->ops[b].k, &bad);
            if (bad) return perr(ps, &at, "division by zero");
            if (v < RASP_VALUE_MIN || v > RASP_VALUE_MAX)
                return perr(ps, &at, "the constant %ld is outside %d..%d", v, RASP_VALUE_MIN, RASP_VALUE_MAX);
            a = add_op(ps, &at, K_CONST, C_TRUE, -1, -1, -1, (int)v);
        } else {
            if ((o == A_DIV || o == A_MOD) && is_const(p, b) && p->ops[b].k == 0) return perr(ps, &at, "division by zero");
            a = add_op(ps, &at, K_BIN, o, a, b, -1, 0);
        }
    }
    return a;
}

static int parse_expr(Parser *ps) {
    if (ps->failed) return -1;
    return parse_level(ps, 0);
}

/* ---- declarations ---- */
static int parse_int_tok(Parser *ps, long *v, long lo, long hi, const char *what) {
    Tok at = ps->tok;
    int neg = 0;
    if (is_sym(ps, "-")) {
        neg = 1;
        if (next(ps)) return -1;
        at = ps->tok;
    }
    if (ps->tok.kind != T_INT) {
        char d[48];
        tok_desc(&ps->tok, d, sizeof d);
        return perr(ps, &ps->tok, "expected %s (an integer), found %s", what, d);
    }
    *v = neg ? -ps->tok.num : ps->tok.num;
    if (*v < lo || *v > hi) return perr(ps, &at, "%s must lie in %ld..%ld, found %ld", what, lo, hi, *v);
    return next(ps);
}

static int parse_range(Parser *ps, int *lo, int *hi, long min, long max, const char *what) {
    long a = 0, b = 0;
    if (parse_int_tok(ps, &a, min, max, what)) return -1;
    Tok at = ps->tok;
    if (expect_sym(ps, "..", "between the range's ends (LO..HI)")) return -1;
    if (parse_int_tok(ps, &b, min, max, what)) return -1;
    if (a > b) return perr(ps, &at, "empty range %ld..%ld: write LO..HI with LO <= HI", a, b);
    *lo = (int)a, *hi = (int)b;
    return 0;
}

static int parse_decl(Parser *ps, const Tok *kw, int *seen) {
    RaspProg *p = ps->p;
    const char *w = kw->text;
    if (!strcmp(w, "alphabet")) {
        seen[0] = 1;
        return parse_range(ps, &p->alpha_lo, &p->alpha_hi, 0, RASP_TOKEN_MAX, "an alphabet value");
    }
    if (!strcmp(w, "outputs")) {
        seen[1] = 1;
        return parse_range(ps, &p->out_lo, &p->out_hi, 0, RASP_TOKEN_MAX, "an output value");
    }
    if (!strcmp(w, "length")) {
        seen[2] = 1;
        return parse_range(ps, &p->len_lo, &p->len_hi, 1, 1000, "a length");
    }
    if (!strcmp(w, "hints")) {
        long k;
        if (parse_int_tok(ps, &k, 2, 900, "the number of hint tokens")) return -1;
        p->hints = (int)k;
        return 0;
    }
    if (!strcmp(w, "input")) {
        static const char *const forms[] = {"list", "distinct", "span", "addition"};
        for (int k = 0; k < 4; k++)
            if (is_name(ps, forms[k])) {
                p->input = (RaspInput)k;
                return next(ps);
            }
        char d[48];
        tok_desc(&ps->tok, d, sizeof d);
        return perr(ps, &ps->tok, "expected an input form (list, distinct, span or addition), found %s", d);
    }
    /* answer_max A * n + B, or B */
    long a = 0, b = 0;
    if (ps->tok.kind == T_INT) {
        if (parse_int_tok(ps, &a, 0, 1000, "the answer bound's factor")) return -1;
        if (!is_sym(ps, "*")) {
            b = a, a = 0;
            goto done;
        }
        if (next(ps)) return -1;
    } else a = 1;
    if (!is_name(ps, "n")) {
        char d[48];
        tok_desc(&ps->tok, d, sizeof d);
        return perr(ps, &ps->tok, "expected the answer bound as A*n+B (n the length), found %s", d);
    }
    if (next(ps)) return -1;
    if (is_sym(ps, "+")) {
        if (next(ps) || parse_int_tok(ps, &b, 0, 100000, "the answer bound's constant")) return -1;
    }
done:
    p->ans_mul = (int)a, p->ans_add = (int)b;
    if (a == 0 && b == 0) return perr(ps, kw, "answer_max must allow at least one answer token");
    return 0;
}

static int is_reserved(const char *s) {
    static const char *const words[] = {"tokens", "indices", "BOS", "SEP", "EOS", "select", "aggregate",
                                        "aggregate_max", "aggregate_min", "width", "where", "min", "max",
                                        "abs", "true", "n", "alphabet", "outputs", "length", "input", "answer_max",
                                        "hints", "PLUS", "EQUALS"};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
        if (!strcmp(s, words[k])) return 1;
    return 0;
}

static int parse_line(Parser *ps, int *seen) {
    Tok at = ps->tok;
    if (at.kind != T_NAME) {
        char d[48];
        tok_desc(&at, d, sizeof d);
        return perr(ps, &at, "expected a declaration (alphabet, outputs, length, input, answer_max, hints) or an "
                    "assignment (name = expression), found %s", d);
    }
    if (next(ps)) return -1;
    static const char *const decls[] = {"alphabet", "outputs", "length", "input", "answer_max", "hints"};
    for (size_t k = 0; k < sizeof decls / sizeof decls[0]; k++)
        if (!strcmp(at.text, decls[k])) {
            if (ps->p->n_named) return perr(ps, &at, "declarations come before the first assignment");
            return parse_decl(ps, &at, seen);
        }
    if (expect_sym(ps, "=", "after the name being assigned")) return -1;
    if (is_reserved(at.text)) return perr(ps, &at, "'%s' is a reserved word; choose another name", at.text);
    if (find_named(ps->p, at.text) >= 0) return perr(ps, &at, "'%s' is assigned twice; each name once", at.text);
    int op = parse_expr(ps);
    if (op < 0) return -1;
    Named *nd = &ps->p->named[ps->p->n_named++];
    snprintf(nd->name, sizeof nd->name, "%s", at.text);
    nd->op = op;
    return 0;
}

RaspProg *rasp_parse(const char *text, const char *file, LgErr *err) {
    RaspProg *p = lg_calloc(1, sizeof *p, "rasp program");
    snprintf(p->file, sizeof p->file, "%s", file);
    p->ans_mul = 2, p->ans_add = 4;
    p->input = RASP_INPUT_LIST;
    Parser ps = {p, text, 0, 1, 1, {0}, err, 0};
    int seen[3] = {0, 0, 0};
    Tok t0 = {T_NAME, "tokens", 0, 1, 1};
    p->tok_op = add_op(&ps, &t0, K_TOKENS, C_TRUE, -1, -1, -1, 0);
    if (next(&ps)) goto fail;
    while (ps.tok.kind != T_EOF) {
        if (ps.tok.kind == T_NL) {
            if (next(&ps)) goto fail;
            continue;
        }
        if (parse_line(&ps, seen)) goto fail;
        if (ps.tok.kind != T_NL && ps.tok.kind != T_EOF) {
            char d[48];
            tok_desc(&ps.tok, d, sizeof d);
            perr(&ps, &ps.tok, "expected the end of the line, found %s", d);
            goto fail;
        }
    }
    static const char *const need[] = {"alphabet LO..HI", NULL, "length LO..HI"};
    for (int k = 0; k < 3; k++)
        if (need[k] && !seen[k]) {
            perr(&ps, &ps.tok, "missing declaration '%s'", need[k]);
            goto fail;
        }
    if (!seen[1]) p->out_lo = p->alpha_lo, p->out_hi = p->alpha_hi;
    if (p->n_named == 0) {
        perr(&ps, &ps.tok, "expected at least one assignment (the last, or one named output, is the answer)");
        goto fail;
    }
    int out = find_named(p, "output");
    p->out_op = out >= 0 ? out : p->named[p->n_named - 1].op;
    if (is_sel_kind(p->ops[p->out_op].kind)) {
        Tok at = {T_NAME, "", 0, p->ops[p->out_op].line, p->ops[p->out_op].col};
        perr(&ps, &at, "the output is a selector; it must be a sequence");
        goto fail;
    }
    int span = p->alpha_hi - p->alpha_lo + 1;
    if (p->input == RASP_INPUT_DISTINCT && p->len_hi > span) {
        Tok at = {T_NAME, "", 0, 1, 1};
        perr(&ps, &at, "input distinct: lengths up to %d but the alphabet holds %d values", p->len_hi, span);
        goto fail;
    }
    if (p->input == RASP_INPUT_SPAN && p->len_hi > span) {
        Tok at = {T_NAME, "", 0, 1, 1};
        perr(&ps, &at, "input span: lengths up to %d but the alphabet holds %d values", p->len_hi, span);
        goto fail;
    }
    if (p->input == RASP_INPUT_ADDITION && (p->alpha_lo != 0 || p->alpha_hi != 9 || p->hints < p->len_hi + 1)) {
        Tok at = {T_NAME, "", 0, 1, 1};
        perr(&ps, &at, "input addition: needs alphabet 0..9 and hints K with K > the longest length (%d)", p->len_hi);
        goto fail;
    }
    rasp_reserve(p, 2 + rasp_prompt_len(p, p->len_hi) + rasp_answer_max(p, p->len_hi) + 1);
    return p;
fail:
    rasp_free(p);
    return NULL;
}

RaspProg *rasp_load(const char *path, LgErr *err) {
    if (lg_check_input_file(path, 65536, "RASP program", err) != 0) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lg_err(err, "%s: cannot open the RASP program: %s", path, strerror(errno)), NULL;
    char *buf = lg_malloc(65537, "rasp source");
    size_t n = fread(buf, 1, 65537, f);
    int bad = ferror(f);
    fclose(f);
    RaspProg *p = NULL;
    if (bad) lg_err(err, "%s: read error", path);
    else if (n > 65536) lg_err(err, "%s: a RASP program is at most 64 KiB", path);
    else if (memchr(buf, 0, n)) lg_err(err, "%s: not a text file (holds a NUL byte)", path);
    else {
        buf[n] = 0;
        p = rasp_parse(buf, path, err);
    }
    lg_free(buf);
    return p;
}

int rasp_resolve(const char *spec, char *buf, size_t cap, LgErr *err) {
    size_t len = strlen(spec);
    if (!len) return lg_err(err, "rasp: empty program name; write rasp:NAME (configs/rasp/NAME.rasp) or rasp:PATH.rasp");
    if (strchr(spec, '/') || (len > 5 && !strcmp(spec + len - 5, ".rasp"))) {
        if ((size_t)snprintf(buf, cap, "%s", spec) >= cap) return lg_err(err, "rasp: path too long: %s", spec);
        return 0;
    }
    const char *dir = getenv("LENGEN_RASP_DIR");
    if ((size_t)snprintf(buf, cap, "%s/%s.rasp", dir && *dir ? dir : "configs/rasp", spec) >= cap)
        return lg_err(err, "rasp: name too long: %s", spec);
    return 0;
}

void rasp_free(RaspProg *p) {
    if (!p) return;
    lg_free(p->val);
    lg_free(p);
}

/* ---- declarations ---- */
void rasp_alphabet(const RaspProg *p, int *lo, int *hi) { *lo = p->alpha_lo, *hi = p->alpha_hi; }
void rasp_outputs(const RaspProg *p, int *lo, int *hi) { *lo = p->out_lo, *hi = p->out_hi; }
void rasp_length(const RaspProg *p, int *lo, int *hi) { *lo = p->len_lo, *hi = p->len_hi; }
RaspInput rasp_input(const RaspProg *p) { return p->input; }
int rasp_hints(const RaspProg *p) { return p->hints; }
int rasp_prompt_len(const RaspProg *p, int length) {
    if (p->input == RASP_INPUT_SPAN) return 2;
    if (p->input == RASP_INPUT_ADDITION) return 4 * length + 2;  /* hint digit pairs, + and = */
    return length;
}
int rasp_answer_max(const RaspProg *p, int length) { return p->ans_mul * length + p->ans_add; }

/* ---- running ---- */
void rasp_reserve(RaspProg *p, int cap) {
    if (cap <= p->cap) return;
    lg_free(p->val);
    p->val = lg_malloc((size_t)p->n_ops * (size_t)cap * sizeof(int), "rasp values");
    p->cap = cap;
    p->n = 0;
}

void rasp_reset(RaspProg *p) { p->n = 0; }

static int V(const RaspProg *p, int op, int pos) { return p->val[(size_t)op * (size_t)p->cap + (size_t)pos]; }

static int cmp(Oper o, int k, int q) {
    switch (o) {
    case C_EQ: return k == q;
    case C_NE: return k != q;
    case C_LT: return k < q;
    case C_LE: return k <= q;
    case C_GT: return k > q;
    case C_GE: return k >= q;
    default: return 1;
    }
}

/* does query position i select key position j (j <= i)? */
static int selected(const RaspProg *p, int op, int i, int j) {
    const Op *o = &p->ops[op];
    switch (o->kind) {
    case K_SELECT: return cmp(o->oper, V(p, o->a, j), V(p, o->b, i));
    case K_SEL_AND: return selected(p, o->a, i, j) && selected(p, o->b, i, j);
    case K_SEL_OR: return selected(p, o->a, i, j) || selected(p, o->b, i, j);
    case K_SEL_NOT: return !selected(p, o->a, i, j);
    default: return 0;
    }
}

static int fault(const RaspProg *p, int op, LgErr *err, const char *what, long v) {
    const Op *o = &p->ops[op];
    return lg_err(err, "%s:%d:%d: at position %d: %s %ld (values lie in %d..%d)", p->file, o->line, o->col,
                  p->n, what, v, RASP_VALUE_MIN, RASP_VALUE_MAX);
}

static int eval_at(RaspProg *p, int op, int i, long *out, LgErr *err) {
    const Op *o = &p->ops[op];
    int elementwise = o->kind == K_UN || o->kind == K_BIN || o->kind == K_WHERE;
    long x = elementwise ? V(p, o->a, i) : 0, y = elementwise && o->b >= 0 ? V(p, o->b, i) : 0;
    int bad = 0;
    switch (o->kind) {
    case K_CONST: *out = o->k; return 0;
    case K_INDICES: *out = i; return 0;
    case K_TOKENS: return 0;  /* set by rasp_push */
    case K_UN: *out = fold(o->oper, x, 0, &bad); return 0;
    case K_BIN:
        *out = fold(o->oper, x, y, &bad);
        if (bad) return lg_err(err, "%s:%d:%d: at position %d: division by zero", p->file, o->line, o->col, i);
        return 0;
    case K_WHERE: *out = x ? y : V(p, o->c, i); return 0;
    case K_WIDTH: {
        long w = 0;
        for (int j = 0; j <= i; j++) w += selected(p, o->a, i, j);
        *out = w;
        return 0;
    }
    case K_AGG: {
        long w = 0, acc = 0;
        for (int j = 0; j <= i; j++) {
            if (!selected(p, o->a, i, j)) continue;
            long v = V(p, o->b, j);
            if (o->oper == G_MEAN) acc += v;
            else if (!w || (o->oper == G_MAX ? v > acc : v < acc)) acc = v;
            w++;
        }
        *out = !w ? o->k : o->oper == G_MEAN ? acc / w : acc;  /* mean truncates toward zero */
        return 0;
    }
    default: *out = 0; return 0;  /* selectors hold no values */
    }
}

int rasp_push(RaspProg *p, int value, int *out, LgErr *err) {
    if (p->n >= p->cap)
        return lg_err(err, "%s: the sequence reached %d positions, the most this program reserved", p->file, p->cap);
    int i = p->n;
    p->val[(size_t)p->tok_op * (size_t)p->cap + (size_t)i] = value;
    for (int op = 0; op < p->n_ops; op++) {
        if (op == p->tok_op || is_sel_kind(p->ops[op].kind)) continue;
        long v = 0;
        if (eval_at(p, op, i, &v, err)) return -1;
        if (v < RASP_VALUE_MIN || v > RASP_VALUE_MAX) return fault(p, op, err, "the value blew up to", v);
        p->val[(size_t)op * (size_t)p->cap + (size_t)i] = (int)v;
    }
    p->n++;
    *out = V(p, p->out_op, i);
    return 0;
}

int rasp_generate(RaspProg *p, const int *prompt, int n_prompt, int length, int *answer, int cap,
                  int *n_answer, LgErr *err) {
    int out, max = rasp_answer_max(p, length);
    rasp_reset(p);
    *n_answer = 0;
    if (rasp_push(p, RASP_BOS, &out, err)) return -1;
    for (int i = 0; i < n_prompt; i++)
        if (rasp_push(p, prompt[i], &out, err)) return -1;
    if (p->input != RASP_INPUT_ADDITION && rasp_push(p, RASP_SEP, &out, err)) return -1;  /* "=" ends it */
    while (out != RASP_EOS) {
        if (*n_answer == max || *n_answer == cap)
            return lg_err(err, "%s: no EOS after %d answer tokens (answer_max is %d*n+%d = %d at length %d); the "
                          "program does not stop", p->file, *n_answer, p->ans_mul, p->ans_add, max, length);
        answer[(*n_answer)++] = out;
        if (rasp_push(p, out, &out, err)) return -1;
    }
    return 0;
}

/* ---- reading ---- */
int rasp_n_named(const RaspProg *p) { return p->n_named; }
const char *rasp_named(const RaspProg *p, int k, int *op) {
    *op = p->named[k].op;
    return p->named[k].name;
}
int rasp_value(const RaspProg *p, int op, int pos) { return V(p, op, pos); }

static int is_cmp(Oper o) { return o <= C_GE; }

/* index-derived: indices, and anything computed from them by shifts, where/min/max, or aggregates
 * of them. Returns 1 when op does arithmetic on an index-derived value beyond a constant shift. */
static int index_arith(const RaspProg *p, const Op *o, const int *idx) {
    int ia = o->a >= 0 && idx[o->a], ib = o->b >= 0 && idx[o->b];
    if (o->kind == K_UN) return ia && o->oper != U_NOT;
    if (o->kind != K_BIN || (!ia && !ib) || is_cmp(o->oper)) return 0;
    if (o->oper == A_ADD && (is_const(p, o->a) || is_const(p, o->b))) return 0;
    if (o->oper == A_SUB && is_const(p, o->b)) return 0;
    return 1;
}

void rasp_stats(const RaspProg *p, RaspStats *s) {
    int depth[RASP_MAX_OPS], idx[RASP_MAX_OPS];
    memset(s, 0, sizeof *s);
    s->assignments = p->n_named;
    for (int op = 0; op < p->n_ops; op++) {
        const Op *o = &p->ops[op];
        int d = 0, seqs = 0;
        int args[3] = {o->a, o->b, o->c};
        for (int k = 0; k < 3; k++)
            if (args[k] >= 0) {
                if (depth[args[k]] > d) d = depth[args[k]];
                seqs += !is_const(p, args[k]);
            }
        switch (o->kind) {
        case K_UN: case K_BIN: case K_WHERE:
            if (seqs <= 1) s->maps++;
            else s->seqmaps++;
            break;
        case K_SELECT: s->selects++; break;
        case K_AGG: s->aggregates++, d++; break;
        case K_WIDTH: s->widths++, d++; break;
        default: break;
        }
        depth[op] = d;
        /* which values carry positions */
        int ia = o->a >= 0 && idx[o->a], ib = o->b >= 0 && idx[o->b], ic = o->c >= 0 && idx[o->c];
        switch (o->kind) {
        case K_INDICES: idx[op] = 1; break;
        case K_BIN: idx[op] = !is_cmp(o->oper) && o->oper != A_AND && o->oper != A_OR && (ia || ib); break;
        case K_UN: idx[op] = o->oper != U_NOT && ia; break;
        case K_WHERE: idx[op] = ib || ic; break;
        case K_AGG: idx[op] = ib; break;
        default: idx[op] = 0; break;
        }
        if (!s->index_arith_line && index_arith(p, o, idx)) s->index_arith_line = o->line, s->index_arith_col = o->col;
    }
    s->ops = s->maps + s->seqmaps + s->selects + s->aggregates + s->widths;
    s->depth = depth[p->out_op];
}

void rasp_value_str(int v, char *buf, size_t cap) {
    if (v == RASP_BOS) snprintf(buf, cap, "<bos>");
    else if (v == RASP_SEP) snprintf(buf, cap, "<sep>");
    else if (v == RASP_EOS) snprintf(buf, cap, "<eos>");
    else if (v == RASP_PLUS) snprintf(buf, cap, "+");
    else if (v == RASP_EQUALS) snprintf(buf, cap, "=");
    else if (v <= RASP_HINT0 && v > RASP_HINT0 - 1000) snprintf(buf, cap, "h%d", RASP_HINT0 - v);
    else snprintf(buf, cap, "%d", v);
}

static void print_row(const RaspProg *p, FILE *f, const char *name, int op, int width) {
    fprintf(f, "%-*s", width, name);
    char s[16];
    for (int i = 0; i < p->n; i++) {
        rasp_value_str(V(p, op, i), s, sizeof s);
        fprintf(f, " %5s", s);
    }
    fprintf(f, "\n");
}

void rasp_print_table(const RaspProg *p, FILE *f) {
    int width = 8;
    for (int k = 0; k < p->n_named; k++) {
        int l = (int)strlen(p->named[k].name);
        if (l > width) width = l;
    }
    fprintf(f, "%-*s", width, "position");
    for (int i = 0; i < p->n; i++) fprintf(f, " %5d", i);
    fprintf(f, "\n");
    print_row(p, f, "tokens", p->tok_op, width);
    for (int k = 0; k < p->n_named; k++) {
        const Named *nd = &p->named[k];
        if (is_sel_kind(p->ops[nd->op].kind)) {
            fprintf(f, "%-*s (selector)\n", width, nd->name);
            continue;
        }
        print_row(p, f, nd->name, nd->op, width);
    }
}
