/* model_helpers: shared by the model and checkpoint tests. A ModelConfig with the schema's
 * defaults, its config text and back through the config module (the one INI parser; the text
 * is what a checkpoint stores and tools/make_golden.py reads), and a perturbation of a model's
 * weights so tests see sharp attention instead of the near-uniform one of a fresh N(0, 0.02)
 * init. */
#ifndef LENGEN_TEST_MODEL_HELPERS_H
#define LENGEN_TEST_MODEL_HELPERS_H

#include "../src/config.h"
#include "../src/experiment.h"
#include "../src/model.h"

/* The [model] defaults of the config schema (cfg_defaults). */
void tm_defaults(ModelConfig *c);
/* The model settings of config text (e.g. a checkpoint's config attribute) over the schema
 * defaults, read by cfg_load_string. Returns 0, or -1 with err naming origin:line. */
int tm_model_from_ini(ModelConfig *c, const char *text, const char *origin, LgErr *err);
/* The resolved config text (cfg_to_string) of the defaults with model c: what a checkpoint of
 * such a model stores. Caller frees with lg_free. */
char *tm_ini(const ModelConfig *c);
/* Every parameter += N(0, 0.5) except FIRE c and L; norm weights and temperatures stay
 * near 1. */
void tm_perturb(Model *m, uint64_t seed);
/* The experiment of config text `ini` over the defaults (into c), its model tm_perturb'd with
 * `seed`. Returns 0, or -1 with err naming the config line or what does not build. */
int tm_experiment(Experiment *e, Config *c, const char *ini, uint64_t seed, LgErr *err);

#endif
