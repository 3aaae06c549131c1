/* h5util: the HDF5 helpers shared by the file writers and readers (checkpoint.c, probe.c).
 *
 * Every HDF5 call here is checked. A failure returns -1 (or an invalid id) with an LgErr that
 * names the file (`path`: the name to show the user, e.g. the .tmp being written) and the
 * attribute or dataset. Call h5u_quiet() first so HDF5 does not print its own error stack.
 * Ids returned are owned by the caller; close them with h5u_close (or the H5?close call).
 *
 * Files we write (checkpoints, probe dumps) are built in memory and written by us, sealed with
 * a checksum (h5u_mem_create, h5u_mem_commit): libhdf5 never writes to disk, so a full disk is
 * our checked write(2) failing with errno, not an error inside HDF5's own cleanup. The file
 * starts with a 512-byte HDF5 user block (HDF5, h5py and h5dump skip it) holding
 *
 *   bytes 0..15   "lengen checksum\n"
 *         16..19  header version, uint32 little-endian (H5U_SUM_VERSION)
 *         20..23  crc32 (zlib) of the whole file with these four bytes read as zero
 *         24..31  the file's length in bytes, uint64 little-endian
 *         32..511 zero
 *
 * h5u_verify checks it before libhdf5 reads a byte, so a damaged file never reaches the parser.
 */
#ifndef LENGEN_H5UTIL_H
#define LENGEN_H5UTIL_H

#include <hdf5.h>

#include "util.h"

/* Turns off HDF5's automatic error-stack printing (process-wide), so users see our messages. */
void h5u_quiet(void);

/* Closes a file, group, dataset, dataspace, datatype, attribute or property-list id. Ignores
 * id < 0 and any failure: for cleanup paths only (check H5Fclose yourself when it matters). */
void h5u_close(hid_t id);

/* A new variable-length UTF-8 string datatype, or -1. The caller closes it. */
hid_t h5u_str_type(void);

/* Writes scalar attribute `name` on `loc` (file, group or dataset) holding the string `value`
 * as a variable-length UTF-8 string. Returns 0, or -1 with err set. */
int h5u_attr_str(hid_t loc, const char *name, const char *value, const char *path, LgErr *err);

/* Writes scalar numeric attribute `name` on `loc`, stored as `ftype`, from *value in memory
 * type `mtype` (e.g. H5T_STD_I64LE from an int64_t with H5T_NATIVE_INT64). Returns 0 or -1. */
int h5u_attr_num(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *value, const char *path,
                 LgErr *err);

/* Writes 1-D dataset `name` [n] of variable-length UTF-8 strings s[0..n) (none NULL), whole and
 * uncompressed. Returns 0 or -1. */
int h5u_write_strings(hid_t loc, const char *name, const char *const *s, int n, const char *path, LgErr *err);

/* Creates numeric dataset `name` of file type `ftype` and dims[0..ndim) (ndim 0: a scalar),
 * creating the groups on its path. chunk NULL: contiguous; else chunked by chunk[0..ndim)
 * (each >= 1) and deflate-compressed (level 4). Nothing is written yet. Returns the open
 * dataset (the caller closes it) or -1 with err set. */
hid_t h5u_create_dataset(hid_t loc, const char *name, hid_t ftype, int ndim, const hsize_t *dims,
                         const hsize_t *chunk, const char *path, LgErr *err);

/* h5u_create_dataset, then writes all of it from data (contiguous, row-major, memory type
 * `mtype`; may be NULL when a dim is 0) and closes it. Returns 0 or -1 with err set. */
int h5u_write_dataset(hid_t loc, const char *name, hid_t ftype, int ndim, const hsize_t *dims,
                      const hsize_t *chunk, hid_t mtype, const void *data, const char *path, LgErr *err);

/* ---- checksummed files ---- */

#define H5U_USERBLOCK 512
#define H5U_SUM_VERSION 1

/* An empty HDF5 file in memory (core driver, nothing on disk) with room for the checksum
 * header. path is only named in messages. Returns the file id or -1 with err. */
hid_t h5u_mem_create(const char *path, LgErr *err);

/* Finishes a file from h5u_mem_create: rc == 0: takes its image, closes it, seals it with the
 * checksum header and writes it to path atomically (lg_write_atomic: path.tmp, fsync, rename,
 * fsync of the folder). rc != 0: closes it and keeps rc and err. The file id is closed exactly
 * once either way. Returns 0, or -1 with err (nothing left under path.tmp). */
int h5u_mem_commit(hid_t file, const char *path, int rc, LgErr *err);

/* Checks the checksum header of the file at path against its bytes, reading it whole, before
 * any HDF5 call touches it. Returns 1 when the header is there and the crc and length match;
 * 0 when the file has no header but starts with the HDF5 signature (written before lengen
 * checksummed its files: unverified); -1 with err naming the file otherwise ("checksum
 * mismatch", a length that differs from the header's, no header and no HDF5 signature, a
 * header version from a newer lengen, unreadable). */
int h5u_verify(const char *path, LgErr *err);

/* h5u_verify, then opens the very bytes it checked (read again through the same descriptor
 * into memory, opened by HDF5's core driver as a file image) read-only with HDF5. Returns the file id with *checksum = h5u_verify's 1 or 0, or -1 with
 * err (h5u_verify's refusals, or HDF5 cannot open it). */
hid_t h5u_open_verified(const char *path, int *checksum, LgErr *err);

#endif
