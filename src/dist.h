/* dist: the processes of one data-parallel training job (MPI), behind calls that are no-ops in
 * a build without MPI.
 *
 * `make MPI=1` builds ./lengen-mpi with mpicc and -DLG_MPI; plain `make` builds ./lengen, in
 * which this module is a single process (rank 0 of 1) and every call returns at once. Even the
 * MPI binary joins MPI only when a launcher started it (mpirun, or srun with PMIx): run by hand
 * it is one process, like ./lengen, and does not pay MPI_Init. LENGEN_NO_MPI=1 in the
 * environment also keeps it out (the sweep sets it in the `lengen train` children it starts
 * from an MPI rank, which must not try to join their parent's job).
 *
 * The job is MPI_COMM_WORLD. Collectives must be called by every rank in the same order; the
 * reductions are in place. A job whose ranks disagree cannot continue: dist_abort ends every
 * rank with the exit status given.
 */
#ifndef LENGEN_DIST_H
#define LENGEN_DIST_H

#include <stddef.h>

/* Joins the job if launched by an MPI launcher (see above). Call once, first thing in main.
 * Returns the number of ranks (1 when not in a job). */
int dist_init(int *argc, char ***argv);
/* Leaves the job (MPI_Finalize) if dist_init joined one. */
void dist_finalize(void);

int dist_rank(void);        /* 0..dist_size()-1 */
int dist_size(void);        /* ranks in the job, 1 without one */
int dist_local_size(void);  /* ranks of the job on this machine (threads per rank default) */
int dist_compiled(void);    /* 1 in the MPI build */
/* Threads for this rank when the config asks for `configured` (0 = default): the default in a
 * job is the machine's cores shared among its ranks on the machine (unless LENGEN_THREADS is
 * set), so `mpirun -np 2` on 2 cores runs 2 x 1 thread, not 2 x 2. */
int dist_threads(int configured);

typedef enum { DIST_SUM, DIST_MIN, DIST_MAX } DistOp;

/* x[0..n) summed over ranks, in place, on every rank (MPI_Allreduce). The gradient block. */
void dist_sum_f32(float *x, size_t n);
/* x[0..n) reduced by op over ranks, in place, on every rank. Small control values. */
void dist_reduce_f64(double *x, int n, DistOp op);

/* Ends every rank of the job with `status` (MPI_Abort); without a job, exit(status). */
void dist_abort(int status);

#endif
