/* rng: a small, fast, seedable random generator (xoshiro256**, seeded through splitmix64).
 *
 * Everything random in lengen (init, dropout, data, randomized positions) draws from an Rng it
 * owns, so a run is repeatable from its seed and a checkpoint can store the state (4 words)
 * for exact resume. Streams for different purposes are derived with rng_fork, so adding a
 * draw in one place does not shift another stream.
 */
#ifndef LENGEN_RNG_H
#define LENGEN_RNG_H

#include <stdint.h>

typedef struct Rng {
    uint64_t s[4];
} Rng;

void rng_seed(Rng *r, uint64_t seed);
/* A new independent stream from r's seed material and a label; r is not advanced. */
Rng rng_fork(const Rng *r, uint64_t label);
/* The next 64 random bits. Inline, with rng_uniform, so a loop of draws (dropout) keeps the
 * state in registers. */
static inline uint64_t rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static inline uint64_t rng_u64(Rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}
/* Uniform integer in [0, n); n > 0. Unbiased. */
uint64_t rng_below(Rng *r, uint64_t n);
/* Uniform integer in [lo, hi], inclusive; lo <= hi. */
int64_t rng_range(Rng *r, int64_t lo, int64_t hi);
/* [0, 1), in steps of 2^-24 */
static inline float rng_uniform(Rng *r) { return (float)(rng_u64(r) >> 40) * (1.0f / 16777216.0f); }
float rng_normal(Rng *r);   /* N(0, 1), Box-Muller */
/* Fisher-Yates shuffle of n ints. */
void rng_shuffle_int(Rng *r, int *a, int n);

#endif
