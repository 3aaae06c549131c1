/* model_helpers: see model_helpers.h. */
#include "model_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/rng.h"

void tm_defaults(ModelConfig *c) {
    memset(c, 0, sizeof *c);
    c->layers = 2;
    c->heads = 4;
    c->d_model = 128;
    c->d_ff = 0;
    c->dropout = 0.0f;
    c->norm = NORM_LAYERNORM;
    c->bias = 1;
    c->activation = ACT_GELU;
    c->tie_embeddings = 1;
    c->max_pos = 512;
    c->init_std = 0.02f;
    c->posenc = PE_NOPE;
    c->rope_base = 10000.0f;
    c->rope_fraction = 1.0f;
    c->t5_buckets = 32;
    c->t5_max_distance = 128;
    c->t5_shared = 1;
    c->fire_hidden = 32;
    c->fire_c_init = 0.1f;
    c->fire_L_init = 512.0f;
    c->abacus_max_offset = 100;
    c->abacus_max_digits = 128;
    c->random_positions = 0;
    c->random_max_pos = 2048;
    c->temperature = TEMP_OFF;
    c->temperature_base = 20;
}

static const char *PE[] = {"nope", "learned", "sinusoidal", "t5", "alibi", "rope", "fire", "abacus"};

static int boolean(const char *v) { return !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"); }

int tm_parse_ini(ModelConfig *c, const char *text) {
    char line[512];
    int in_model = 0;
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        p += n + (p[n] == '\n');
        if (line[0] == '[') {
            in_model = !strncmp(line, "[model]", 7);
            continue;
        }
        char key[64], val[256];
        if (!in_model || sscanf(line, " %63[a-zA-Z_0-9] = %255s", key, val) != 2) continue;
#define I(k) if (!strcmp(key, #k)) { c->k = atoi(val); continue; }
#define F(k) if (!strcmp(key, #k)) { c->k = (float)atof(val); continue; }
#define B(k) if (!strcmp(key, #k)) { c->k = boolean(val); continue; }
        I(layers) I(heads) I(d_model) I(d_ff) F(dropout) B(bias) B(tie_embeddings) I(max_pos)
        F(init_std) F(rope_base) F(rope_fraction) I(t5_buckets) I(t5_max_distance) B(t5_shared)
        I(fire_hidden) F(fire_c_init) F(fire_L_init) I(abacus_max_offset) I(abacus_max_digits)
        B(random_positions) I(random_max_pos) I(temperature_base)
#undef I
#undef F
#undef B
        if (!strcmp(key, "norm")) { c->norm = !strcmp(val, "rmsnorm") ? NORM_RMSNORM : NORM_LAYERNORM; continue; }
        if (!strcmp(key, "activation")) { c->activation = !strcmp(val, "relu") ? ACT_RELU : ACT_GELU; continue; }
        if (!strcmp(key, "temperature")) {
            c->temperature = !strcmp(val, "off") ? TEMP_OFF : !strcmp(val, "log") ? TEMP_LOG : TEMP_LEARNED_LOG;
            continue;
        }
        if (!strcmp(key, "posenc")) {
            int k = -1;
            for (int i = 0; i < 8; i++)
                if (!strcmp(val, PE[i])) k = i;
            if (k < 0) { fprintf(stderr, "tm_parse_ini: posenc '%s'\n", val); return -1; }
            c->posenc = (PeKind)k;
            continue;
        }
        fprintf(stderr, "tm_parse_ini: unknown key '%s'\n", key);
        return -1;
    }
    return 0;
}

const char *tm_ini(const ModelConfig *c) {
    static char buf[2048];
    static const char *temp[] = {"off", "log", "learned"};
    snprintf(buf, sizeof buf,
             "[model]\nlayers = %d\nheads = %d\nd_model = %d\nd_ff = %d\ndropout = %g\nnorm = %s\n"
             "bias = %s\nactivation = %s\ntie_embeddings = %s\nmax_pos = %d\ninit_std = %g\n"
             "posenc = %s\nrope_base = %.9g\nrope_fraction = %.9g\nt5_buckets = %d\n"
             "t5_max_distance = %d\nt5_shared = %s\nfire_hidden = %d\nfire_c_init = %.9g\n"
             "fire_L_init = %.9g\nabacus_max_offset = %d\nabacus_max_digits = %d\n"
             "random_positions = %s\nrandom_max_pos = %d\ntemperature = %s\ntemperature_base = %d\n",
             c->layers, c->heads, c->d_model, c->d_ff, c->dropout,
             c->norm == NORM_RMSNORM ? "rmsnorm" : "layernorm", c->bias ? "true" : "false",
             c->activation == ACT_RELU ? "relu" : "gelu", c->tie_embeddings ? "true" : "false",
             c->max_pos, c->init_std, PE[c->posenc], c->rope_base, c->rope_fraction, c->t5_buckets,
             c->t5_max_distance, c->t5_shared ? "true" : "false", c->fire_hidden, c->fire_c_init,
             c->fire_L_init, c->abacus_max_offset, c->abacus_max_digits,
             c->random_positions ? "true" : "false", c->random_max_pos, temp[c->temperature],
             c->temperature_base);
    return buf;
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
