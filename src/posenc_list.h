/* posenc_list: the list of positional encodings, the one table behind the PeKind values, the
 * names config files use and posenc's scheme table; and the attention temperatures.
 *
 * config.h includes this header for its enum types, so it depends on nothing but util.h. The
 * rules of these keys (t5 and rope limits, table sizes, temperature base) are posenc's:
 * config validation calls pe_check, which model_init calls too.
 *
 * Adding an encoding is one row here and one file src/posenc/<name>.c defining the scheme
 * (docs/model.md, "Adding an encoding"). A row is X(value, name in INI files, scheme object).
 */
#ifndef LENGEN_POSENC_LIST_H
#define LENGEN_POSENC_LIST_H

#include "util.h"

#define PE_LIST(X)                               \
    X(PE_NOPE, "nope", pe_scheme_nope)           \
    X(PE_LEARNED, "learned", pe_scheme_learned)  \
    X(PE_SINUSOIDAL, "sinusoidal", pe_scheme_sinusoidal) \
    X(PE_T5, "t5", pe_scheme_t5)                 \
    X(PE_ALIBI, "alibi", pe_scheme_alibi)        \
    X(PE_ROPE, "rope", pe_scheme_rope)           \
    X(PE_FIRE, "fire", pe_scheme_fire)           \
    X(PE_ABACUS, "abacus", pe_scheme_abacus)    \
    X(PE_COUPLED, "coupled", pe_scheme_coupled)

#define PE_LIST_ENUM(kind, name, scheme) kind,
typedef enum { PE_LIST(PE_LIST_ENUM) PE_COUNT } PeKind;
#undef PE_LIST_ENUM

/* Length-dependent attention temperature: off; logits times log(n_i) / log(base) with n_i the
 * keys query row i sees; the same times a learned per-head scale [H] in every layer. */
typedef enum { TEMP_OFF, TEMP_LOG, TEMP_LEARNED_LOG, TEMP_LOG_BEYOND } TempKind;

/* The names INI files use, by value, NULL-terminated (for config's enum keys). */
extern const char *const pe_names[];
extern const char *const pe_temp_names[];

/* Checks the positional and temperature keys of a model config (whose heads divide d_model):
 * the scheme's own keys (rope dims, t5 buckets, table sizes, ...), random positions and the
 * temperature base. Returns 0, or -1 with err naming the key and value. */
struct ModelConfig;
int pe_check(const struct ModelConfig *m, LgErr *err);

#endif
