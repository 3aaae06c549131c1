/* model_helpers: see model_helpers.h. */
#include "model_helpers.h"

#include <stdio.h>
#include <string.h>

#include "../src/rng.h"

void tm_defaults(ModelConfig *c) {
    Config full;
    cfg_defaults(&full);
    *c = full.model;
}

int tm_model_from_ini(ModelConfig *c, const char *text, const char *origin, LgErr *err) {
    Config full;
    cfg_defaults(&full);
    if (cfg_load_string(&full, text, origin, err) != 0) return -1;
    *c = full.model;
    return 0;
}

char *tm_ini(const ModelConfig *c) {
    Config full;
    cfg_defaults(&full);
    full.model = *c;
    return cfg_to_string(&full);
}

void tm_perturb(Model *m, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->params.count; i++) {
        Tensor *t = m->params.tensors[i];
        const char *n = t->name;
        if (!strcmp(n, "pe.fire.c") || !strcmp(n, "pe.fire.L")) continue;
        int norm_w = (strstr(n, ".ln") || !strncmp(n, "ln_f", 4)) && strstr(n, ".weight");
        int one = norm_w || strstr(n, "attn.temp");
        for (size_t k = 0; k < t->n; k++) t->data[k] = (one ? 1.0f : 0.0f) + (one ? 0.2f : 0.5f) * rng_normal(&r);
    }
}

int tm_experiment(Experiment *e, Config *c, const char *ini, uint64_t seed, LgErr *err) {
    cfg_defaults(c);
    if (cfg_load_string(c, ini, "ini", err) || cfg_validate(c, err) || exp_build(e, c, err)) return -1;
    tm_perturb(&e->model, seed);
    return 0;
}
