/* rng: xoshiro256** by Blackman and Vigna, seeded with splitmix64. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(Rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

Rng rng_fork(const Rng *r, uint64_t label) {
    Rng out;
    uint64_t x = r->s[0] ^ rng_rotl(r->s[1], 17) ^ rng_rotl(r->s[2], 31) ^ rng_rotl(r->s[3], 47);
    x ^= splitmix64(&label);
    rng_seed(&out, x);
    return out;
}

uint64_t rng_below(Rng *r, uint64_t n) {
    /* rejection sampling on the top of the range keeps it unbiased */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rng_u64(r); while (x >= limit);
    return x % n;
}

int64_t rng_range(Rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

float rng_normal(Rng *r) {
    double u1 = ((double)(rng_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void rng_shuffle_int(Rng *r, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
