/* rasp: a RASP-L interpreter (Zhou et al. 2023) for programs written in configs/rasp/NAME.rasp.
 *
 * A program maps a token sequence x[0..n) of small integers to an output sequence of the same
 * length, causally: the output at position i depends on x[0..i] only. Read as a next-token
 * predictor, it generates: push BOS, the prompt and SEP, then append the output at the last
 * position until it is EOS. The language and the file format are in docs/rasp.md.
 *
 * Promises:
 *   - parse and type errors return NULL with "file:line:column: what was expected";
 *   - run-time faults (a value outside RASP_VALUE_MIN..MAX, division by zero, no EOS within the
 *     declared answer bound, a sequence longer than the reserved capacity) return -1 with the
 *     program line that caused them; nothing exits;
 *   - once a program is loaded and rasp_reserve'd, rasp_push and rasp_generate allocate nothing.
 * Evaluation is incremental: pushing a token computes every operation at the new position only
 * (selectors are never stored), so generating an answer of m tokens after a prompt of p costs
 * O((p + m)^2) per attention-like operation.
 */
#ifndef LENGEN_RASP_H
#define LENGEN_RASP_H

#include <stdio.h>

#include "../util.h"

#define RASP_BOS (-1)
#define RASP_SEP (-2)
#define RASP_EOS (-3)
#define RASP_PLUS (-4)        /* the token "+" (input addition) */
#define RASP_EQUALS (-5)      /* the token "=" */
#define RASP_HINT0 (-100)     /* index hint k is the value -100 - k, the token "hk" (declare hints K) */
#define RASP_VALUE_MIN (-32768)
#define RASP_VALUE_MAX 32767
#define RASP_TOKEN_MAX 999    /* alphabet and output values are tokens "0".."999" */

typedef enum { RASP_INPUT_LIST, RASP_INPUT_DISTINCT, RASP_INPUT_SPAN, RASP_INPUT_ADDITION } RaspInput;

typedef struct RaspProg RaspProg;

/* Parses program text; file names it in messages. NULL with err on a parse or type error. */
RaspProg *rasp_parse(const char *text, const char *file, LgErr *err);
/* Reads and parses a file. */
RaspProg *rasp_load(const char *path, LgErr *err);
/* Resolves a task spec: a path (contains '/' or ends in .rasp) or a name under configs/rasp/
 * (or under $LENGEN_RASP_DIR when set). Writes the path into buf. */
int rasp_resolve(const char *spec, char *buf, size_t cap, LgErr *err);
void rasp_free(RaspProg *p);

/* ---- declarations ---- */
void rasp_alphabet(const RaspProg *p, int *lo, int *hi);
void rasp_outputs(const RaspProg *p, int *lo, int *hi);  /* values the answer may hold */
void rasp_length(const RaspProg *p, int *lo, int *hi);
RaspInput rasp_input(const RaspProg *p);
int rasp_hints(const RaspProg *p);                       /* K of `hints K`, 0 without */
int rasp_prompt_len(const RaspProg *p, int length);      /* tokens of the prompt, at most */
int rasp_answer_max(const RaspProg *p, int length);      /* answer tokens allowed, EOS excluded */

/* ---- running ---- */
/* Makes room for sequences of up to cap positions (BOS, prompt, SEP, answer). rasp_parse
 * reserves enough for the declared length range. */
void rasp_reserve(RaspProg *p, int cap);
void rasp_reset(RaspProg *p);
/* Appends one token value and computes every operation at its position; *out is the program's
 * output there. -1 with err on a run-time fault. */
int rasp_push(RaspProg *p, int value, int *out, LgErr *err);
/* Runs BOS prompt SEP (input addition: no SEP, the prompt ends in "=") and generates the answer (without EOS) into answer[0..*n_answer); at most
 * rasp_answer_max(length) tokens, else an error. Leaves the whole sequence in place for
 * rasp_value. */
int rasp_generate(RaspProg *p, const int *prompt, int n_prompt, int length, int *answer, int cap,
                  int *n_answer, LgErr *err);

/* ---- reading ---- */
int rasp_n_named(const RaspProg *p);      /* assignments in file order, the output last-or-named */
const char *rasp_named(const RaspProg *p, int k, int *op);
int rasp_value(const RaspProg *p, int op, int pos);
/* Size: primitive operations (maps, seqmaps, selects, aggregates, selector widths; constants,
 * tokens and indices excluded), and depth (the most aggregates and selector widths on one
 * path to the output, the attention layers the program needs). Counts per kind too. */
typedef struct RaspStats {
    int ops, depth, maps, seqmaps, selects, aggregates, widths, assignments;
    /* RASP-L lets index-derived values (indices, and values aggregated from them) be compared
     * and shifted by constants only; the first line that does other arithmetic on them
     * (2 * i, i - j, i % 2, ...) is index_arith_line (0: none, the program is within RASP-L
     * in that respect; the interpreter does not refuse such programs). */
    int index_arith_line, index_arith_col;
} RaspStats;
void rasp_stats(const RaspProg *p, RaspStats *s);
/* Writes the sequence pushed so far and each assignment's values as a table. */
void rasp_print_table(const RaspProg *p, FILE *f);
/* Text of a value as a token: "<bos>", "<sep>", "<eos>", "+", "=", "hK" or the decimal number. */
void rasp_value_str(int v, char *buf, size_t cap);

#endif
