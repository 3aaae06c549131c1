/* h5util: shared HDF5 helpers (contracts in h5util.h). Each function checks every HDF5 call,
 * releases what it opened on every path, and reports one message naming file and object. */
#include "h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void h5u_quiet(void) {
    /* cannot fail in a way that matters: at worst HDF5 also prints its stack */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5u_close(hid_t id) {
    if (id < 0) return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
    }
}

hid_t h5u_str_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return -1;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static int attr_fail(const char *path, const char *name, LgErr *err) {
    return lg_err(err, "%s: cannot write attribute '%s' (disk full?)", path, name);
}

static int dataset_fail(const char *path, const char *name, LgErr *err) {
    return lg_err(err, "%s: cannot write dataset '%s' (duplicate name, or disk full?)", path, name);
}

/* Creates scalar attribute `name` of type ftype on loc and writes *value (memory type mtype). */
static int attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *value) {
    hid_t s = H5Screate(H5S_SCALAR), a = -1;
    int rc = -1;
    if (s < 0) goto out;
    a = H5Acreate2(loc, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, value) < 0) goto out;
    rc = 0;
out:
    h5u_close(a);
    h5u_close(s);
    return rc;
}

int h5u_attr_str(hid_t loc, const char *name, const char *value, const char *path, LgErr *err) {
    hid_t t = h5u_str_type();
    int rc = t < 0 ? -1 : attr_write(loc, name, t, t, &value);
    h5u_close(t);
    return rc ? attr_fail(path, name, err) : 0;
}

int h5u_attr_num(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *value, const char *path,
                 LgErr *err) {
    return attr_write(loc, name, ftype, mtype, value) ? attr_fail(path, name, err) : 0;
}

int h5u_write_strings(hid_t loc, const char *name, const char *const *s, int n, const char *path, LgErr *err) {
    hsize_t dim = (hsize_t)n;
    hid_t t = h5u_str_type(), sp = H5Screate_simple(1, &dim, NULL), ds = -1;
    int rc = -1;
    if (n < 0 || t < 0 || sp < 0) goto out;
    ds = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0) goto out;
    if (n > 0 && H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) < 0) goto out;
    rc = 0;
out:
    h5u_close(ds);
    h5u_close(sp);
    h5u_close(t);
    return rc ? dataset_fail(path, name, err) : 0;
}

hid_t h5u_create_dataset(hid_t loc, const char *name, hid_t ftype, int ndim, const hsize_t *dims,
                         const hsize_t *chunk, const char *path, LgErr *err) {
    hid_t space = ndim > 0 ? H5Screate_simple(ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE), ds = -1;
    if (space < 0 || lcpl < 0 || dcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) goto out;
    if (chunk && ndim > 0 && (H5Pset_chunk(dcpl, ndim, chunk) < 0 || H5Pset_deflate(dcpl, 4) < 0)) goto out;
    ds = H5Dcreate2(loc, name, ftype, space, lcpl, dcpl, H5P_DEFAULT);
out:
    h5u_close(dcpl);
    h5u_close(lcpl);
    h5u_close(space);
    if (ds < 0) dataset_fail(path, name, err);
    return ds;
}

int h5u_write_dataset(hid_t loc, const char *name, hid_t ftype, int ndim, const hsize_t *dims,
                      const hsize_t *chunk, hid_t mtype, const void *data, const char *path, LgErr *err) {
    hid_t ds = h5u_create_dataset(loc, name, ftype, ndim, dims, chunk, path, err);
    if (ds < 0) return -1;
    hsize_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    int ok = n == 0 || H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    if (H5Dclose(ds) < 0) ok = 0;
    return ok ? 0 : dataset_fail(path, name, err);
}

/* ---- checksummed files ---- */

static const unsigned char SUM_MAGIC[16] = "lengen checksum\n";
static const unsigned char HDF5_SIGNATURE[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
enum { SUM_VERSION_AT = 16, SUM_CRC_AT = 20, SUM_LENGTH_AT = 24 };

static void put_le(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* crc32 continued over n bytes (zlib takes at most UINT_MAX at a time) */
static uLong crc_add(uLong crc, const unsigned char *p, size_t n) {
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}

/* The crc of a header (its crc field read as zero). */
static uLong header_crc(const unsigned char *head) {
    unsigned char h[H5U_USERBLOCK];
    memcpy(h, head, sizeof h);
    put_le(h + SUM_CRC_AT, 0, 4);
    return crc_add(crc32(0L, Z_NULL, 0), h, sizeof h);
}

hid_t h5u_mem_create(const char *path, LgErr *err) {
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS), file = -1;
    /* backing_store 0: the file lives in memory only; it grows 1 MiB at a time */
    if (fcpl >= 0 && fapl >= 0 && H5Pset_userblock(fcpl, H5U_USERBLOCK) >= 0 &&
        H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) >= 0)
        file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    h5u_close(fapl);
    h5u_close(fcpl);
    if (file < 0) lg_err(err, "%s: cannot create the file in memory (out of memory?)", path);
    return file;
}

int h5u_mem_commit(hid_t file, const char *path, int rc, LgErr *err) {
    unsigned char *image = NULL;
    ssize_t n = -1;
    if (rc == 0) {
        if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0 || (n = H5Fget_file_image(file, NULL, 0)) <= 0) {
            rc = lg_err(err, "%s: cannot assemble the file in memory (out of memory?)", path);
        } else {
            image = lg_malloc((size_t)n, "HDF5 file image");
            if (H5Fget_file_image(file, image, (size_t)n) != n)
                rc = lg_err(err, "%s: cannot copy the file image out of HDF5", path);
        }
    }
    /* in memory: closing writes nothing to disk, so it cannot fail on a full disk */
    if (H5Fclose(file) < 0 && rc == 0) rc = lg_err(err, "%s: cannot close the file in memory", path);
    if (rc == 0) {
        unsigned char head[H5U_USERBLOCK] = {0};
        memcpy(head, SUM_MAGIC, sizeof SUM_MAGIC);
        put_le(head + SUM_VERSION_AT, H5U_SUM_VERSION, 4);
        put_le(head + SUM_LENGTH_AT, (uint64_t)H5U_USERBLOCK + (uint64_t)n, 8);
        uLong crc = crc_add(header_crc(head), image, (size_t)n);
        put_le(head + SUM_CRC_AT, crc, 4);
        rc = lg_write_atomic(path, head, sizeof head, image, (size_t)n, err);
    }
    lg_free(image);
    return rc;
}

/* Reads up to n bytes (fewer only at the end of the file). Returns the count or -1. */
static ssize_t read_full(int fd, unsigned char *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* The header's checks on an open file of size `size`; head holds its first `got` bytes. */
static int verify_open(int fd, const char *path, long long size, const unsigned char *head, ssize_t got, LgErr *err) {
    if (got < H5U_USERBLOCK)
        return lg_err(err, "%s: truncated: %lld bytes, shorter than its %d-byte checksum header", path, size,
                      H5U_USERBLOCK);
    uint64_t version = get_le(head + SUM_VERSION_AT, 4), length = get_le(head + SUM_LENGTH_AT, 8);
    if (version != H5U_SUM_VERSION)
        return lg_err(err, "%s: checksum header version %llu; this lengen reads version %d (a newer lengen "
                      "wrote it, or the header is damaged)", path, (unsigned long long)version, H5U_SUM_VERSION);
    if (length != (uint64_t)size)
        return lg_err(err, "%s: %lld bytes, but its checksum header says %llu (truncated or damaged)", path, size,
                      (unsigned long long)length);
    uLong crc = header_crc(head);
    size_t cap = (size_t)1 << 20;
    unsigned char *buf = lg_malloc(cap, "checksum buffer");
    long long total = H5U_USERBLOCK;
    ssize_t r;
    while ((r = read_full(fd, buf, cap)) > 0) {
        crc = crc_add(crc, buf, (size_t)r);
        total += r;
    }
    lg_free(buf);
    if (r < 0) return lg_err_io(err, "read", path);
    if (total != size)
        return lg_err(err, "%s: %lld bytes readable of %lld (changed while being read?)", path, total, size);
    uLong stored = (uLong)get_le(head + SUM_CRC_AT, 4);
    if (crc != stored)
        return lg_err(err, "%s: checksum mismatch (crc32 of the file %08lx, its header says %08lx): the file is "
                      "damaged; use another copy or checkpoint (best.h5)", path, crc, stored);
    return 1;
}

/* h5u_verify on an open file. */
static int verify_fd(int fd, const char *path, LgErr *err) {
    struct stat st;
    unsigned char head[H5U_USERBLOCK];
    ssize_t got;
    if (fstat(fd, &st) != 0) return lg_err_io(err, "stat", path);
    if (!S_ISREG(st.st_mode)) return lg_err(err, "%s: not a regular file", path);
    if ((got = read_full(fd, head, sizeof head)) < 0) return lg_err_io(err, "read", path);
    if (got >= (ssize_t)sizeof SUM_MAGIC && !memcmp(head, SUM_MAGIC, sizeof SUM_MAGIC))
        return verify_open(fd, path, (long long)st.st_size, head, got, err);
    if (got >= (ssize_t)sizeof HDF5_SIGNATURE && !memcmp(head, HDF5_SIGNATURE, sizeof HDF5_SIGNATURE))
        return 0;  /* an HDF5 file without our header: written before lengen checksummed its files */
    return lg_err(err, "%s: not an HDF5 file with a lengen checksum header (truncated or corrupt?)", path);
}

int h5u_verify(const char *path, LgErr *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return lg_err_io(err, "open", path);
    int rc = verify_fd(fd, path, err);
    close(fd);
    return rc;
}

/* Opens the bytes of fd (size bytes, from offset 0) as an HDF5 file held in memory, so libhdf5
 * parses exactly what was verified: it resolves a path (even /proc/self/fd/N) to a name and
 * opens that again, which a save renaming a new file over it in between would change. */
static hid_t open_image(int fd, long long size, const char *path, LgErr *err) {
    unsigned char *buf = lg_malloc((size_t)size, "checkpoint image");
    hid_t file = -1;
    if (lseek(fd, 0, SEEK_SET) != 0 || read_full(fd, buf, (size_t)size) != (ssize_t)size) {
        lg_free(buf);
        lg_err(err, "%s: cannot read it again after its checksum (changed while being read?)", path);
        return -1;
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* the core driver refuses an image under the name of a file that exists, and tells open
     * files apart by name: a name no file has, unique per open */
    static unsigned long opened;
    char name[64];
    snprintf(name, sizeof name, "lengen-image-%d-%lu", (int)getpid(), ++opened);
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 20, 0) >= 0 && H5Pset_file_image(fapl, buf, (size_t)size) >= 0)
        file = H5Fopen(name, H5F_ACC_RDONLY, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    lg_free(buf);   /* the property list and the file hold their own copies */
    if (file < 0) lg_err(err, "%s: cannot open as HDF5 (truncated or corrupt?)", path);
    return file;
}

hid_t h5u_open_verified(const char *path, int *checksum, LgErr *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        lg_err_io(err, "open", path);
        return -1;
    }
    hid_t file = -1;
    struct stat st;
    int sum = verify_fd(fd, path, err);
    if (sum >= 0 && fstat(fd, &st) != 0)
        lg_err_io(err, "stat", path);
    else if (sum >= 0)
        file = open_image(fd, (long long)st.st_size, path, err);
    close(fd);
    if (file >= 0 && checksum) *checksum = sum;
    return file;
}
