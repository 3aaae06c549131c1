/* vocab: the token alphabet shared by every task of one model.
 *
 * Ids are dense, 0..n-1, and given in the order tokens are added, so a vocabulary built by the
 * same calls in the same order always has the same ids. The specials come first and are fixed:
 * PAD=0, BOS=1, EOS=2, SEP=3. Task tokens (`<sort>`, `<add>`, ...) and each task's own tokens
 * follow (see task_create_many). Adding a token that is already present returns its id, so
 * several tasks share digits, separators and number tokens.
 *
 * Token strings are at most VOCAB_TOKEN_MAX-1 bytes. A checkpoint can rebuild the same Vocab by
 * vocab_init and vocab_add of its stored strings in id order.
 */
#ifndef LENGEN_VOCAB_H
#define LENGEN_VOCAB_H

#include <stddef.h>

#define VOCAB_PAD 0
#define VOCAB_BOS 1
#define VOCAB_EOS 2
#define VOCAB_SEP 3
#define VOCAB_TOKEN_MAX 32

typedef struct Vocab {
    int n, cap;
    char (*str)[VOCAB_TOKEN_MAX];  /* str[id] */
} Vocab;

/* Initialises v with the four specials "<pad>", "<bos>", "<eos>", "<sep>". Free with vocab_free. */
void vocab_init(Vocab *v);
void vocab_free(Vocab *v);
/* The id of s, adding it at the end when absent. s must be non-empty and shorter than
 * VOCAB_TOKEN_MAX (a programmer error otherwise: tokens come from code, not users). */
int vocab_add(Vocab *v, const char *s);
/* The id of s, or -1 when absent. */
int vocab_id(const Vocab *v, const char *s);
/* The string of id, or "<?>" for an id outside 0..n-1 (so printing model output never crashes). */
const char *vocab_str(const Vocab *v, int id);
static inline int vocab_size(const Vocab *v) { return v->n; }

#endif
