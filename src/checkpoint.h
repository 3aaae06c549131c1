/* checkpoint: model files in HDF5 (layout in docs/checkpoint.md).
 *
 *   attributes on /:  format = "lengen", version = CKPT_VERSION, step (int64), config (INI text)
 *   /model/<name>     one float32 dataset per parameter, named and shaped as in the Params
 *                     block (PyTorch state-dict names; Linear weights out x in)
 *   /vocab            the token strings (variable-length UTF-8), index = token id
 *   anything else     named arrays the caller adds (CkptArray): optimizer state, RNG states,
 *                     data-stream position, ... ; groups on the path are created as needed
 *
 * Saving builds the file in memory, seals it with a crc32 of all its bytes in a 512-byte HDF5
 * user block (h5util.h) and writes it to `path.tmp`, fsyncs it, renames it over `path` and
 * fsyncs the folder, so neither a crash nor a power loss leaves a half file under the real
 * name, and a full disk is a clean error. Numeric datasets are chunked and deflate-compressed.
 * Opening checks the crc before libhdf5 reads the file: a damaged file is refused with
 * "checksum mismatch". A file without the header (written before checksums) is read with a
 * warning on stderr.
 *
 * Loading is in three steps so the caller can build the model in between:
 *   ckpt_open (format, version, step, config text, vocab) -> build the Model from the config
 *   -> ckpt_load_params (every parameter, exact shapes, nothing missing or extra)
 *   -> ckpt_read for each extra array the caller wants -> ckpt_close.
 * Every HDF5 call is checked; HDF5's own error printing is switched off and each failure
 * returns -1 with an LgErr naming the file and the dataset or attribute at fault.
 */
#ifndef LENGEN_CHECKPOINT_H
#define LENGEN_CHECKPOINT_H

#include <stdint.h>

#include "tensor.h"
#include "util.h"

#define CKPT_FORMAT "lengen"
#define CKPT_VERSION 1
/* ckpt_open refuses anything but a regular file of at most this size (a FIFO, /dev/zero) */
#define CKPT_MAX_FILE_BYTES (16LL << 30)
#define CKPT_MAXDIM 4

typedef enum { CKPT_F32, CKPT_I64, CKPT_U64 } CkptType;

/* A named array beside the model. For ckpt_save, data is read; for ckpt_read, data receives
 * the values and the file's dataset must have this type class and exactly these dims.
 * ndim 0 is a scalar. */
typedef struct CkptArray {
    const char *name;             /* HDF5 path, e.g. "/optim/m", "/rng/data" */
    CkptType type;
    void *data;                   /* float / int64_t / uint64_t */
    int ndim;
    int64_t dims[CKPT_MAXDIM];
} CkptArray;

/* Writes params (all of them, under /model), the attributes and the vocabulary, then each
 * extra array, to path (atomically, checksummed). config_text may be "" but not NULL; vocab
 * has n_vocab strings. Returns 0, or -1 with err (the errno text for a failed write, "disk
 * full" for ENOSPC; path.tmp removed, path untouched). */
int ckpt_save(const char *path, const Params *params, int64_t step, const char *config_text,
              const char *const *vocab, int n_vocab, const CkptArray *extras, int n_extras,
              LgErr *err);

typedef struct CkptFile {
    char path[512];
    int version;
    int checksum;                 /* 1: crc32 verified; 0: an older file without one */
    int64_t step;
    char *config;                 /* owned, NUL-terminated INI text */
    char **vocab;                 /* owned, n_vocab strings */
    int n_vocab;
    int64_t h5;                   /* the open HDF5 file (hid_t) */
} CkptFile;

/* Opens path, verifies its checksum (before any HDF5 call), checks `format`, reads version (must be <= CKPT_VERSION), step, config and
 * vocab. Returns 0, or -1 with err; on error nothing is left open. */
int ckpt_open(CkptFile *f, const char *path, LgErr *err);
/* Reads every parameter of params from /model: each must exist as a float dataset of exactly
 * the parameter's shape, and /model must hold no dataset params lacks (that means the file's
 * model differs from the one built). Returns 0 or -1 naming the dataset. On error params may
 * be partly overwritten. */
int ckpt_load_params(CkptFile *f, Params *params, LgErr *err);
/* Does a dataset exist at this path? */
int ckpt_has(CkptFile *f, const char *name);
/* Shape of a dataset: *ndim and dims[CKPT_MAXDIM]. Returns 0 or -1 if absent/unreadable. */
int ckpt_dims(CkptFile *f, const char *name, int *ndim, int64_t *dims, LgErr *err);
/* Reads one named array into a->data (see CkptArray). Returns 0 or -1 naming it. */
int ckpt_read(CkptFile *f, const CkptArray *a, LgErr *err);
/* Calls fn once per dataset in the file, in name order, with its full path, type ("f32",
 * "i64", "string", ...), rank and dims. Returns 0 or -1. */
typedef void (*CkptVisitFn)(const char *name, const char *type, int ndim, const int64_t *dims,
                            void *ctx);
int ckpt_list(CkptFile *f, CkptVisitFn fn, void *ctx, LgErr *err);
void ckpt_close(CkptFile *f);
/* The step of the checkpoint at path (ckpt_open: checksum verified), or -1 when it cannot be read. */
long ckpt_step_of(const char *path);

#endif
