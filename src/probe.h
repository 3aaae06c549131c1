/* probe: what a trained model computes on held-out examples, dumped to HDF5 for offline study
 * (attention maps, hidden states, logits; docs/probing.md).
 *
 * The examples are the first n of the held-out set of (task, length) (data.h), the same ones
 * `lengen eval` decodes, at the same positions. Each is run teacher-forced on its full true sequence (prompt, answer
 * and <eos>), without grad, in batches right-padded with <pad>; causal attention keeps the
 * padding from changing any real position. The file (built in memory, then written to PATH.tmp
 * with a crc32 header, fsynced and renamed to PATH, as checkpoints are: h5util.h):
 *
 *   /tokens            [N, T] int32    token ids, <pad> (0) after each example's end
 *   /positions         [N, T] f32      each token's position: 0..n-1, or with [eval]
 *                                      random_positions the ones eval gives the example
 *                                      (eval_positions); the last repeated after the end
 *   /digit_index       [N, T] int32    each token's digit place (what Abacus embeds; 0 for
 *                                      non-digits and after the end, -1 for addition's `+`
 *                                      and `=` after a units digit): with /tokens it is the
 *                                      whole input of the forward that made /logits
 *   /n_tokens          [N] int32       tokens of each example; /prompt_len [N] int32
 *   /text              [N] strings     the example as `lengen data` prints it
 *   /vocab             [V] strings     token strings, index = id
 *   /logits            [N, T, V] f32   logits[i, t] predicts token t+1 from tokens 0..t
 *   /attn/layer<l>     [N, H, T, T] f32  attention probabilities, [query, key], causal
 *   /hidden/layer<l>   [N, T, D] f32   residual stream after block l (only with hidden)
 *   attributes on /:   format = "lengen-probe", checkpoint, step, task, length, n, config
 *
 * T is the longest example's token count. Numeric datasets are chunked per example and
 * deflate-compressed.
 */
#ifndef LENGEN_PROBE_H
#define LENGEN_PROBE_H

#include <stdio.h>

#include "experiment.h"

typedef struct ProbeOptions {
    int task;                 /* index into e->tasks */
    int length;               /* task length of the examples */
    int n;                    /* examples, >= 1 */
    int hidden;               /* also write /hidden/layer<l> */
    int batch;                /* examples run together; memory ~ batch * L * H * T * T floats,
                               * plus the (compressed) file itself, built in memory */
    const char *checkpoint;   /* recorded in the `checkpoint` attribute */
    long step;                /* recorded in the `step` attribute */
} ProbeOptions;

/* Runs e's model on the examples and writes out_path as above. Fails (-1 with err, nothing
 * left under out_path or out_path.tmp) when the length is outside the task's range, the
 * sequences need more positions than the model has, or a write fails. */
int probe_write(Experiment *e, const ProbeOptions *o, const char *out_path, LgErr *err);

/* ---- the summary: the mechanism without Python ---- */

/* Keys a query's "on target" share counts (query row t predicts token t+1):
 *   next   prompt keys whose token equals token t+1 (sort: the next element in sorted order,
 *          every copy of it; copy: the source of the next token)
 *   same   earlier keys whose token equals token t (the query's own value: its other copies)
 *   first  key 0, the task token (the usual attention sink) */
typedef enum { PROBE_NEXT, PROBE_SAME, PROBE_FIRST, PROBE_TARGET_COUNT } ProbeTarget;
extern const char *const probe_target_names[PROBE_TARGET_COUNT];
/* The target of a name, or -1. */
int probe_target_parse(const char *name);

/* Means over the answer queries (rows prompt_len-1 .. n_tokens-2 of every example, the ones
 * whose next token is an answer token) of each layer's and head's attention row. */
typedef struct ProbeSummary {
    int L, H, n;              /* layers, heads, examples */
    ProbeTarget target;
    long rows;                /* answer queries counted */
    double *entropy;          /* [L*H] mean entropy of the row, nats */
    double *distance;         /* [L*H] mean of sum_j a_j (t - j): how far back it looks */
    double *on_target;        /* [L*H] mean attention mass on the target keys */
    double uniform_entropy;   /* mean log(t + 1): the entropy of uniform attention */
} ProbeSummary;

/* Runs the model on the same held-out examples as probe_write (o->hidden is ignored) and fills
 * out (owned; probe_summary_free). -1 with err on a bad length or count, as probe_write. */
int probe_summary(Experiment *e, const ProbeOptions *o, ProbeTarget target, ProbeSummary *out, LgErr *err);
void probe_summary_free(ProbeSummary *s);
/* The table `lengen probe --summary` prints. */
void probe_summary_print(FILE *f, const ProbeSummary *s);

#endif
