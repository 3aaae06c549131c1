/* sort and its hint tasks: a list of n values (one token each, "0".."99" by default) and, after
 * <sep>, an answer computed from the list's stable sorted order.
 *
 *   sort         the sorted list                       <sort> 42 7 13 7 <sep> 7 7 13 42 <eos>
 *   sort_unique  sort of distinct values (RASP-L)
 *   successor    for each input element, in input order, the element after it in the stable
 *                sorted order, <last> for the last one
 *   predecessor  likewise the element before it, <first> for the first one
 *   rank         for each element, how many elements come before it in the stable sorted order
 *   fill         the prompt also holds the sorted list with some positions blanked (_) and a
 *                second <sep>; the answer is the full sorted list
 *   min_prefix   for each position i, the minimum of elements 1..i
 *
 * Stable sorted order: by value, ties by input position, so equal values are distinct elements
 * (the successor of the first of two 7s is the second 7). Length = n, the list size.
 */
#include "task_impl.h"

#define LIST_MAX 1000

enum { O_VALUES, O_REPEAT, O_EXTRA };
enum { S_SPECIAL = 0 };  /* sym[0]: <last>, <first> or _ */

#define VALUES_OPT {"values", OPTK_RANGE, "0..99", 0, 999, NULL, "the range of list values, each one token"}
#define REPEAT_OPT {"repeat", OPTK_BOOL, "true", 0, 0, NULL, "lists may repeat values"}

static const OptDef list_opts[] = {VALUES_OPT, REPEAT_OPT};
static const OptDef unique_opts[] = {VALUES_OPT};
static const OptDef rank_opts[] = {VALUES_OPT, REPEAT_OPT,
    {"rank_max", OPTK_INT, "128", 1, 1000, NULL, "longest list for rank; ranks 0..rank_max-1 are tokens"}};
static const OptDef fill_opts[] = {VALUES_OPT, REPEAT_OPT,
    {"blank", OPTK_INT, "50", 1, 100, NULL, "percent chance that a sorted position is blanked (at least one is)"}};

static int unique(const Task *t) { return t->def == &task_def_sort_unique || !topt(t, O_REPEAT); }

static int list_setup(Task *t, LgErr *err) {
    int lo = topt(t, O_VALUES), hi = topt_hi(t, O_VALUES), range = hi - lo + 1;
    task_add_numbers(t, lo, hi);
    t->min_len = 1;
    t->max_len = unique(t) && range < LIST_MAX ? range : LIST_MAX;
    if (t->def == &task_def_successor) t->sym[S_SPECIAL] = vocab_add(t->vocab, "<last>");
    if (t->def == &task_def_predecessor) t->sym[S_SPECIAL] = vocab_add(t->vocab, "<first>");
    if (t->def == &task_def_fill) t->sym[S_SPECIAL] = vocab_add(t->vocab, "_");
    if (t->def == &task_def_rank) {
        int rmax = topt(t, O_EXTRA);
        if (rmax < t->max_len) t->max_len = rmax;
        t->n_num2 = rmax;
        t->num2 = lg_malloc((size_t)rmax * sizeof(int), "rank ids");
        for (int r = 0; r < rmax; r++) {
            char s[16];
            snprintf(s, sizeof s, "%d", r);
            t->num2[r] = vocab_add(t->vocab, s);
        }
    }
    (void)err;
    /* x, order, pos (LIST_MAX each), then a pool/count array of range + 1 */
    task_alloc_scratch(t, 3 * LIST_MAX + range + 1);
    return 0;
}

static int list_max_tokens(const Task *t, int n) {
    return t->def == &task_def_fill ? 3 * n + 4 : 2 * n + 3;
}

/* Draws x[0..n) (values relative to lo) and the stable sorted order: order[k] is the input index
 * of the k-th smallest, pos[i] the sorted position of input i. */
static void draw_list(Task *t, Rng *rng, int n, int **xo, int **ordero, int **poso) {
    int range = t->n_num;
    int *x = t->scratch, *order = x + LIST_MAX, *pos = order + LIST_MAX, *aux = pos + LIST_MAX;
    if (unique(t)) {  /* partial Fisher-Yates over the value pool */
        for (int v = 0; v < range; v++) aux[v] = v;
        for (int i = 0; i < n; i++) {
            int j = i + (int)rng_below(rng, (uint64_t)(range - i));
            int tmp = aux[i];
            aux[i] = aux[j], aux[j] = tmp;
            x[i] = aux[i];
        }
    } else {
        for (int i = 0; i < n; i++) x[i] = (int)rng_below(rng, (uint64_t)range);
    }
    /* counting sort, stable */
    for (int v = 0; v <= range; v++) aux[v] = 0;
    for (int i = 0; i < n; i++) aux[x[i] + 1]++;
    for (int v = 0; v < range; v++) aux[v + 1] += aux[v];
    for (int i = 0; i < n; i++) {
        order[aux[x[i]]] = i;
        pos[i] = aux[x[i]]++;
    }
    *xo = x, *ordero = order, *poso = pos;
}

static void list_gen(Task *t, Rng *rng, int n, TaskExample *ex) {
    int *x, *order, *pos;
    draw_list(t, rng, n, &x, &order, &pos);
    for (int i = 0; i < n; i++) ex_put(ex, t->num[x[i]], 0);
    ex_put(ex, VOCAB_SEP, 0);
    const TaskDef *d = t->def;
    if (d == &task_def_fill) {
        int pct = topt(t, O_EXTRA), forced = (int)rng_below(rng, (uint64_t)n);
        for (int k = 0; k < n; k++) {
            int blank = k == forced || (int)rng_below(rng, 100) < pct;
            ex_put(ex, blank ? t->sym[S_SPECIAL] : t->num[x[order[k]]], 0);
        }
        ex_put(ex, VOCAB_SEP, 0);
    }
    ex_prompt_end(ex);
    int run_min = x[0];
    for (int i = 0; i < n; i++) {
        int tok;
        if (d == &task_def_successor) tok = pos[i] + 1 < n ? t->num[x[order[pos[i] + 1]]] : t->sym[S_SPECIAL];
        else if (d == &task_def_predecessor) tok = pos[i] > 0 ? t->num[x[order[pos[i] - 1]]] : t->sym[S_SPECIAL];
        else if (d == &task_def_rank) tok = t->num2[pos[i]];
        else if (d == &task_def_min_prefix) {
            run_min = x[i] < run_min ? x[i] : run_min;
            tok = t->num[run_min];
        } else tok = t->num[x[order[i]]];  /* sort, sort_unique, fill */
        ex_put(ex, tok, 0);
    }
}

#define LIST_LEN_HELP "n, the number of list elements"
#define LIST_DEF(id, nm, hlp, o) \
    const TaskDef id = {nm, hlp, LIST_LEN_HELP, o, (int)(sizeof o / sizeof o[0]), list_setup, list_max_tokens, list_gen}

LIST_DEF(task_def_sort, "sort", "sort a list of values (one token each)", list_opts);
LIST_DEF(task_def_sort_unique, "sort_unique", "sort a list of distinct values (RASP-L)", unique_opts);
LIST_DEF(task_def_successor, "successor", "hint: for each element, the next element in stable sorted order (<last> for the last)", list_opts);
LIST_DEF(task_def_predecessor, "predecessor", "hint: for each element, the previous element in stable sorted order (<first> for the first)", list_opts);
LIST_DEF(task_def_rank, "rank", "hint: for each element, how many elements precede it in stable sorted order", rank_opts);
LIST_DEF(task_def_fill, "fill", "hint: the sorted list with blanks (_) is given; write the full sorted list", fill_opts);
LIST_DEF(task_def_min_prefix, "min_prefix", "hint: for each position, the minimum of the list up to it", list_opts);
