/* par: when an op's loop is worth a parallel region.
 *
 * Entering an OpenMP region costs microseconds on an idle machine and can cost a scheduler
 * time slice (milliseconds) per barrier when the cores are shared, which made the tiny demo
 * 50x slower under load. Loops with less work than ops_par_min (roughly float operations;
 * ops_set_par_min in ops.h) run on the calling thread. The split changes nothing in the
 * results: every output element is computed by the same code in the same order whichever
 * thread runs it.
 */
#ifndef LENGEN_OPS_PAR_H
#define LENGEN_OPS_PAR_H

#include <stddef.h>

extern size_t ops_par_min;
#define OPS_PAR(work) ((size_t)(work) >= ops_par_min)

#endif
