/* vocab: dense token ids <-> strings, specials first; see vocab.h. Lookup is a linear scan:
 * vocabularies are a few hundred tokens and lookups happen when tasks are built, not per step. */
#include "vocab.h"

#include <string.h>

#include "../util.h"

void vocab_init(Vocab *v) {
    v->n = 0;
    v->cap = 64;
    v->str = lg_malloc((size_t)v->cap * sizeof *v->str, "vocab strings");
    vocab_add(v, "<pad>");
    vocab_add(v, "<bos>");
    vocab_add(v, "<eos>");
    vocab_add(v, "<sep>");
}

void vocab_free(Vocab *v) {
    lg_free(v->str);
    v->str = NULL;
    v->n = v->cap = 0;
}

int vocab_id(const Vocab *v, const char *s) {
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->str[i], s)) return i;
    return -1;
}

int vocab_add(Vocab *v, const char *s) {
    size_t len = strlen(s);
    LG_ASSERT(len > 0 && len < VOCAB_TOKEN_MAX, "token '%s' must have 1..%d bytes", s, VOCAB_TOKEN_MAX - 1);
    int id = vocab_id(v, s);
    if (id >= 0) return id;
    if (v->n == v->cap) {
        v->cap *= 2;
        v->str = lg_realloc(v->str, (size_t)v->cap * sizeof *v->str, "vocab strings");
    }
    memcpy(v->str[v->n], s, len + 1);
    return v->n++;
}

const char *vocab_str(const Vocab *v, int id) {
    if (id < 0 || id >= v->n) return "<?>";
    return v->str[id];
}
