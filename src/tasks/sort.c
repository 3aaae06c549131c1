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
 *   next_larger  one query q from the list after <sep>; the answer is the smallest list value
 *                larger than q, <last> if none: <next_larger> 42 7 13 7 <sep> 7 13 <eos>
 *   copies       one query q from the list after <sep>; the answer is how many times q occurs,
 *                in decimal digits: <copies> 42 7 13 7 <sep> 7 2 <eos>
 *
 * Stable sorted order: by value, ties by input position, so equal values are distinct elements
 * (the successor of the first of two 7s is the second 7). Length = n, the list size.
 *
 * next_larger and copies carry no position: their answers depend on the query's value only, never
 * on where it stands, and the query sits where sort's previous output token sits, so the step they
 * train is the step sort takes after each output token (next distinct value, or one more copy).
 *
 * Option `window` shapes TRAINING lists only (task_generate_train): a share of them (window_share
 * percent) draws its values from a random run of w consecutive values, w uniform in the window
 * range, so that repeats and neighbours one apart, common in long lists, are common in short ones
 * too. Held-out and evaluation lists always draw uniformly from `values`.
 */
#include "task_impl.h"

#define LIST_MAX 1000

enum { O_VALUES, O_WINDOW, O_WINDOW_SHARE, O_REPEAT, O_EXTRA };
enum { S_SPECIAL = 0 };  /* sym[0]: <last>, <first> or _ */

#define VALUES_OPT {"values", OPTK_RANGE, "0..99", 0, 999, NULL, "the range of list values, each one token"}
#define REPEAT_OPT {"repeat", OPTK_BOOL, "true", 0, 0, NULL, "lists may repeat values"}

#define WINDOW_OPTS \
    {"window", OPTK_RANGE, "0..0", 0, 1000, NULL, \
     "training lists only: values from a random run of w consecutive values, w uniform in this range (0..0 = off)"}, \
    {"window_share", OPTK_INT, "50", 0, 100, NULL, "percent of training lists drawn from a window (with window on)"}

static const OptDef list_opts[] = {VALUES_OPT, WINDOW_OPTS, REPEAT_OPT};
static const OptDef unique_opts[] = {VALUES_OPT, WINDOW_OPTS};
static const OptDef rank_opts[] = {VALUES_OPT, WINDOW_OPTS, REPEAT_OPT,
    {"rank_max", OPTK_INT, "128", 1, 1000, NULL, "longest list for rank; ranks 0..rank_max-1 are tokens"}};
static const OptDef fill_opts[] = {VALUES_OPT, WINDOW_OPTS, REPEAT_OPT,
    {"blank", OPTK_INT, "50", 1, 100, NULL, "percent chance that a sorted position is blanked (at least one is)"}};

static int unique(const Task *t) { return t->def == &task_def_sort_unique || !topt(t, O_REPEAT); }

static int list_setup(Task *t, LgErr *err) {
    int lo = topt(t, O_VALUES), hi = topt_hi(t, O_VALUES), range = hi - lo + 1;
    task_add_numbers(t, lo, hi);
    t->min_len = 1;
    t->max_len = unique(t) && range < LIST_MAX ? range : LIST_MAX;
    if (t->def == &task_def_successor || t->def == &task_def_next_larger) t->sym[S_SPECIAL] = vocab_add(t->vocab, "<last>");
    if (t->def == &task_def_copies) task_add_digits(t);  /* sym[0..9]; <last> is not needed */
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
    if (topt(t, O_WINDOW) == 0 && topt_hi(t, O_WINDOW) > 0)
        return lg_err(err, "%s: window = 0..%d: the narrowest window must hold at least one value (e.g. 1..%d), "
                      "or use 0..0 for off", t->def->name, topt_hi(t, O_WINDOW), topt_hi(t, O_WINDOW));
    /* x, order, pos (LIST_MAX each), then a pool/count array of range + 1 */
    task_alloc_scratch(t, 3 * LIST_MAX + range + 1);
    return 0;
}

static int list_max_tokens(const Task *t, int n) {
    if (t->def == &task_def_fill) return 3 * n + 4;
    if (t->def == &task_def_next_larger || t->def == &task_def_copies) return n + 8;  /* q, answer <= 4 digits */
    return 2 * n + 3;
}

/* The value window of one list: [*lo, *lo + *w) inside [0, range). The whole range unless this is
 * a training example, window is on and the list is one of window_share percent. */
static void draw_window(Task *t, Rng *rng, int n, int *lo, int *w) {
    int range = t->n_num;
    *lo = 0, *w = range;
    if (!t->training || topt_hi(t, O_WINDOW) == 0) return;
    if ((int)rng_below(rng, 100) >= topt(t, O_WINDOW_SHARE)) return;
    int wl = topt(t, O_WINDOW), wh = topt_hi(t, O_WINDOW);
    if (wh > range) wh = range;
    if (wl > wh) wl = wh;
    int width = (int)rng_range(rng, wl, wh);
    if (unique(t) && width < n) width = n;  /* distinct values need n of them */
    *w = width;
    *lo = (int)rng_below(rng, (uint64_t)(range - width + 1));
}

/* Draws x[0..n) (values relative to lo) and the stable sorted order: order[k] is the input index
 * of the k-th smallest, pos[i] the sorted position of input i. */
static void draw_list(Task *t, Rng *rng, int n, int **xo, int **ordero, int **poso) {
    int range = t->n_num;
    int *x = t->scratch, *order = x + LIST_MAX, *pos = order + LIST_MAX, *aux = pos + LIST_MAX;
    int lo, w;
    draw_window(t, rng, n, &lo, &w);
    if (unique(t)) {  /* partial Fisher-Yates over the value pool */
        for (int v = 0; v < w; v++) aux[v] = lo + v;
        for (int i = 0; i < n; i++) {
            int j = i + (int)rng_below(rng, (uint64_t)(w - i));
            int tmp = aux[i];
            aux[i] = aux[j], aux[j] = tmp;
            x[i] = aux[i];
        }
    } else {
        for (int i = 0; i < n; i++) x[i] = lo + (int)rng_below(rng, (uint64_t)w);
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
    if (d == &task_def_next_larger || d == &task_def_copies) {
        int q = x[(int)rng_below(rng, (uint64_t)n)], next = -1, count = 0;
        ex_put(ex, t->num[q], 0);
        ex_prompt_end(ex);
        for (int i = 0; i < n; i++) {
            if (x[i] > q && (next < 0 || x[i] < next)) next = x[i];
            count += x[i] == q;
        }
        if (d == &task_def_copies) ex_int(t, ex, count);
        else ex_put(ex, next < 0 ? t->sym[S_SPECIAL] : t->num[next], 0);
        return;
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
LIST_DEF(task_def_next_larger, "next_larger", "hint: the smallest list value larger than a queried one (<last> if none); carries no position", list_opts);
LIST_DEF(task_def_copies, "copies", "hint: how many times a queried value occurs in the list (decimal digits); carries no position", list_opts);
