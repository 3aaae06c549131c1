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
uint64_t rng_u64(Rng *r);
/* Uniform integer in [0, n); n > 0. Unbiased. */
uint64_t rng_below(Rng *r, uint64_t n);
/* Uniform integer in [lo, hi], inclusive; lo <= hi. */
int64_t rng_range(Rng *r, int64_t lo, int64_t hi);
float rng_uniform(Rng *r);  /* [0, 1) */
float rng_normal(Rng *r);   /* N(0, 1), Box-Muller */
/* Fisher-Yates shuffle of n ints. */
void rng_shuffle_int(Rng *r, int *a, int n);

#endif
