/* model_helpers: shared by the model and checkpoint tests. A ModelConfig with the documented
 * defaults, a reader/writer of the [model] INI section (key = field name, the form
 * tools/make_golden.py writes and reads), and a perturbation of a model's weights so tests
 * see sharp attention instead of the near-uniform one of a fresh N(0, 0.02) init. */
#ifndef LENGEN_TEST_MODEL_HELPERS_H
#define LENGEN_TEST_MODEL_HELPERS_H

#include "../src/config.h"
#include "../src/model.h"

void tm_defaults(ModelConfig *c);
/* Applies "key = value" lines of the [model] section of text over c. Returns 0, or -1 on an
 * unknown key or value (printed). */
int tm_parse_ini(ModelConfig *c, const char *text);
/* The [model] section for c; static buffer. */
const char *tm_ini(const ModelConfig *c);
/* Every parameter += N(0, 0.5) except FIRE c and L; norm weights and temperatures stay
 * near 1. */
void tm_perturb(Model *m, uint64_t seed);

#endif
