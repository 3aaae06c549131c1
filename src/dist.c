/* dist: MPI data-parallel plumbing; without LG_MPI one process of one. See dist.h. */
#include "dist.h"

#include <omp.h>
#include <stdlib.h>

#include "util.h"

int dist_threads(int configured) {
    if (configured > 0 || dist_size() == 1 || getenv("LENGEN_THREADS")) return configured;
    int n = omp_get_num_procs() / dist_local_size();
    return n < 1 ? 1 : n;
}

#ifdef LG_MPI
#include <limits.h>
#include <mpi.h>

static int joined, rank, size = 1, local_size = 1;

/* Was this process started by an MPI launcher? OpenMPI's mpirun sets OMPI_COMM_WORLD_SIZE,
 * PMIx launchers (srun --mpi=pmix, prterun) PMIX_RANK, others PMI_SIZE. */
static int launched(void) {
    const char *no = getenv("LENGEN_NO_MPI");
    if (no && *no && *no != '0') return 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}

int dist_init(int *argc, char ***argv) {
    if (joined || !launched()) return size;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) lg_die("MPI_Init failed (is this job's launcher OpenMPI's mpirun?)");
    joined = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size);
    MPI_Comm_free(&local);
    return size;
}

void dist_finalize(void) {
    if (!joined) return;
    MPI_Finalize();
    joined = 0;
}

int dist_rank(void) { return rank; }
int dist_size(void) { return size; }
int dist_local_size(void) { return local_size; }
int dist_compiled(void) { return 1; }

/* MPI counts are int: blocks over INT_MAX elements go in pieces */
#define CHUNK ((size_t)1 << 30)

void dist_sum_f32(float *x, size_t n) {
    if (size == 1) return;
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t m = n - i < CHUNK ? n - i : CHUNK;
        if (MPI_Allreduce(MPI_IN_PLACE, x + i, (int)m, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
            lg_die("MPI_Allreduce of %zu floats failed", m);
    }
}

void dist_reduce_f64(double *x, int n, DistOp op) {
    if (size == 1) return;
    MPI_Op o = op == DIST_SUM ? MPI_SUM : op == DIST_MIN ? MPI_MIN : MPI_MAX;
    if (MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, o, MPI_COMM_WORLD) != MPI_SUCCESS)
        lg_die("MPI_Allreduce of %d doubles failed", n);
}


void dist_abort(int status) {
    if (joined && size > 1) MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}

#else /* one process */

int dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 1;
}
void dist_finalize(void) {}
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
int dist_local_size(void) { return 1; }
int dist_compiled(void) { return 0; }
void dist_sum_f32(float *x, size_t n) { (void)x; (void)n; }
void dist_reduce_f64(double *x, int n, DistOp op) { (void)x; (void)n; (void)op; }
void dist_abort(int status) { exit(status); }

#endif
