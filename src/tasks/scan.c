/* scan: SCAN commands (Lake & Baroni) from its grammar, with their action sequences.
 *
 *   C -> S | S and S | S after S        (S1 and S2: S1 then S2; S1 after S2: S2 then S1)
 *   S -> V | V twice | V thrice
 *   V -> U | U D | turn D | U opposite D | turn opposite D | U around D | turn around D
 *   U -> walk | look | run | jump       D -> left | right
 *
 * Length = the number of output actions (1..48), the quantity of the SCAN length split (train
 * on <= 22..25 actions, test longer). Commands are sampled by construction, uniformly among all
 * commands with exactly that many actions: counts of S and C per action length are tabulated
 * at setup. Some lengths have no command (e.g. 47); those round down to the nearest length
 * that has one, and ex->length says which was generated.
 */
#include "task_impl.h"

#define SCAN_MAX 48
enum { F_U, F_UD, F_TD, F_UOPP, F_TOPP, F_UAR, F_TAR, N_FORMS };
static const int form_len[N_FORMS] = {1, 2, 1, 3, 2, 8, 4};
static const int form_cnt[N_FORMS] = {4, 8, 2, 8, 2, 8, 2};

enum { W_WALK, W_LOOK, W_RUN, W_JUMP, W_TURN, W_LEFT, W_RIGHT, W_OPPOSITE, W_AROUND, W_TWICE, W_THRICE, W_AND,
       W_AFTER, A_WALK, A_LOOK, A_RUN, A_JUMP, A_LTURN, A_RTURN, N_SCAN_SYMS };
static const char *const scan_syms[N_SCAN_SYMS] = {
    "walk", "look", "run", "jump", "turn", "left", "right", "opposite", "around", "twice", "thrice", "and", "after",
    "I_WALK", "I_LOOK", "I_RUN", "I_JUMP", "I_TURN_LEFT", "I_TURN_RIGHT",
};

typedef struct { int form, u, dir, reps; } ScanS;

/* scratch: cnt_s[0..24], cnt_c[0..48] */
static int *cnt_s(Task *t) { return t->scratch; }
static int *cnt_c(Task *t) { return t->scratch + 25; }

static int scan_setup(Task *t, LgErr *err) {
    for (int s = 0; s < N_SCAN_SYMS; s++) t->sym[s] = vocab_add(t->vocab, scan_syms[s]);
    task_alloc_scratch(t, 25 + SCAN_MAX + 1);
    int *cs = cnt_s(t), *cc = cnt_c(t);
    for (int l = 0; l <= 24; l++) cs[l] = 0;
    for (int f = 0; f < N_FORMS; f++)
        for (int r = 1; r <= 3; r++) cs[form_len[f] * r] += form_cnt[f];
    for (int l = 0; l <= SCAN_MAX; l++) {
        cc[l] = l <= 24 ? cs[l] : 0;
        for (int a = 1; a < l; a++)
            if (a <= 24 && l - a <= 24) cc[l] += 2 * cs[a] * cs[l - a];
    }
    t->min_len = 1, t->max_len = SCAN_MAX;
    (void)err;
    return 0;
}
static int scan_max_tokens(const Task *t, int n) { return n + 12; }

static ScanS sample_s(Task *t, Rng *rng, int len) {
    int r = (int)rng_below(rng, (uint64_t)cnt_s(t)[len]);
    ScanS s = {0, 0, 0, 0};
    for (int f = 0; f < N_FORMS; f++)
        for (int k = 1; k <= 3; k++)
            if (form_len[f] * k == len) {
                if (r < form_cnt[f]) {
                    s.form = f, s.reps = k;
                    s.u = (int)rng_below(rng, 4), s.dir = (int)rng_below(rng, 2);
                    return s;
                }
                r -= form_cnt[f];
            }
    lg_die("scan: no S command has %d actions", len);
}

static void put_s_words(const Task *t, TaskExample *ex, ScanS s) {
    int f = s.form, turn = f == F_TD || f == F_TOPP || f == F_TAR;
    ex_put(ex, t->sym[turn ? W_TURN : W_WALK + s.u], 0);
    if (f == F_UOPP || f == F_TOPP) ex_put(ex, t->sym[W_OPPOSITE], 0);
    if (f == F_UAR || f == F_TAR) ex_put(ex, t->sym[W_AROUND], 0);
    if (f != F_U) ex_put(ex, t->sym[W_LEFT + s.dir], 0);
    if (s.reps > 1) ex_put(ex, t->sym[s.reps == 2 ? W_TWICE : W_THRICE], 0);
}

static void put_s_actions(const Task *t, TaskExample *ex, ScanS s) {
    int u = t->sym[A_WALK + s.u], d = t->sym[A_LTURN + s.dir];
    for (int r = 0; r < s.reps; r++) {
        switch (s.form) {
        case F_U: ex_put(ex, u, 0); break;
        case F_UD: ex_put(ex, d, 0), ex_put(ex, u, 0); break;
        case F_TD: ex_put(ex, d, 0); break;
        case F_UOPP: ex_put(ex, d, 0), ex_put(ex, d, 0), ex_put(ex, u, 0); break;
        case F_TOPP: ex_put(ex, d, 0), ex_put(ex, d, 0); break;
        case F_UAR: for (int k = 0; k < 4; k++) ex_put(ex, d, 0), ex_put(ex, u, 0); break;
        case F_TAR: for (int k = 0; k < 4; k++) ex_put(ex, d, 0); break;
        }
    }
}

static void scan_gen(Task *t, Rng *rng, int len, TaskExample *ex) {
    const int *cs = cnt_s(t), *cc = cnt_c(t);
    while (cc[len] == 0) len--;
    ex->length = len;
    int r = (int)rng_below(rng, (uint64_t)cc[len]);
    if (len <= 24 && r < cs[len]) {
        ScanS s = sample_s(t, rng, len);
        put_s_words(t, ex, s);
        ex_put(ex, VOCAB_SEP, 0);
        ex_prompt_end(ex);
        put_s_actions(t, ex, s);
        return;
    }
    if (len <= 24) r -= cs[len];
    /* a = actions of the part executed first, b = of the part executed second */
    int a = 1;
    for (;; a++) {
        int w = (a <= 24 && len - a <= 24) ? 2 * cs[a] * cs[len - a] : 0;
        if (r < w) break;
        r -= w;
    }
    int after = r % 2;
    ScanS first = sample_s(t, rng, a), second = sample_s(t, rng, len - a);
    if (after) put_s_words(t, ex, second), ex_put(ex, t->sym[W_AFTER], 0), put_s_words(t, ex, first);
    else put_s_words(t, ex, first), ex_put(ex, t->sym[W_AND], 0), put_s_words(t, ex, second);
    ex_put(ex, VOCAB_SEP, 0);
    ex_prompt_end(ex);
    put_s_actions(t, ex, first);
    put_s_actions(t, ex, second);
}

const TaskDef task_def_scan = {"scan", "SCAN command -> action sequence, for the length split",
                               "n, the number of output actions (1..48; lengths without a command round down)",
                               NULL, 0, scan_setup, scan_max_tokens, scan_gen};
