/* checkpoint: HDF5 save/load of the model, its config text, vocabulary and named extras.
 * Every HDF5 call is checked; HDF5's automatic error stack printing is turned off so the
 * user sees our message (naming the file and dataset) instead. */
#include "checkpoint.h"

#include <hdf5.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"

/* The object-info API changed in HDF5 1.12; these wrappers take the basic fields only. */
#if H5_VERSION_GE(1, 12, 0)
#define obj_info_by_name(loc, name, info) H5Oget_info_by_name3(loc, name, info, H5O_INFO_BASIC, H5P_DEFAULT)
#define obj_visit(loc, fn, ctx) H5Ovisit3(loc, H5_INDEX_NAME, H5_ITER_INC, fn, ctx, H5O_INFO_BASIC)
typedef H5O_info2_t ObjInfo;
#else
#define obj_info_by_name(loc, name, info) H5Oget_info_by_name2(loc, name, info, H5O_INFO_BASIC, H5P_DEFAULT)
#define obj_visit(loc, fn, ctx) H5Ovisit2(loc, H5_INDEX_NAME, H5_ITER_INC, fn, ctx, H5O_INFO_BASIC)
typedef H5O_info_t ObjInfo;
#endif

static hid_t mem_type(CkptType t) {
    return t == CKPT_F32 ? H5T_NATIVE_FLOAT : t == CKPT_I64 ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
}

/* ------------------------------------------------------------------------------------------ */
/* writing                                                                                     */

#define CKPT_COMPRESS_MIN 1024

/* Writes a numeric dataset at `name` (intermediate groups created), deflate-compressed and
 * chunked from CKPT_COMPRESS_MIN elements on. */
static int write_array(hid_t file, const char *name, CkptType type, const void *data, int ndim,
                       const int64_t *dims, const char *path, LgErr *err) {
    if (ndim < 0 || ndim > CKPT_MAXDIM)
        return lg_err(err, "%s: dataset '%s' has rank %d (0..%d supported)", path, name, ndim, CKPT_MAXDIM);
    hsize_t hd[CKPT_MAXDIM];
    hsize_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return lg_err(err, "%s: dataset '%s' has dim %d = %lld", path, name, i, (long long)dims[i]);
        hd[i] = (hsize_t)dims[i];
        n *= hd[i];
    }
    hsize_t chunk[CKPT_MAXDIM];
    int chunked = ndim > 0 && n >= CKPT_COMPRESS_MIN;
    if (chunked) {
        /* one chunk per dataset up to 1M elements; bigger ones split along dim 0. Small
         * arrays stay contiguous: a chunk index costs more bytes than deflate saves. */
        hsize_t row = n / hd[0];
        for (int i = 0; i < ndim; i++) chunk[i] = hd[i];
        hsize_t rows = row ? (1u << 20) / row : 1;
        if (rows < 1) rows = 1;
        if (chunk[0] > rows) chunk[0] = rows;
    }
    hid_t ftype = type == CKPT_F32 ? H5T_IEEE_F32LE : type == CKPT_I64 ? H5T_STD_I64LE : H5T_STD_U64LE;
    return h5u_write_dataset(file, name, ftype, ndim, hd, chunked ? chunk : NULL, mem_type(type), data, path, err);
}

int ckpt_save(const char *path, const Params *params, int64_t step, const char *config_text,
              const char *const *vocab, int n_vocab, const CkptArray *extras, int n_extras,
              LgErr *err) {
    h5u_quiet();
    LG_ASSERT(params->finalized, "ckpt_save: params not finalized");
    LG_ASSERT(config_text && (vocab || n_vocab == 0), "ckpt_save: NULL config text or vocab");
    for (int i = 0; i < n_vocab; i++)
        if (!vocab[i]) return lg_err(err, "%s: vocabulary entry %d is NULL", path, i);
    hid_t file = h5u_mem_create(path, err);
    if (file < 0) return -1;
    int version = CKPT_VERSION, rc = -1;
    if (h5u_attr_str(file, "format", CKPT_FORMAT, path, err) ||
        h5u_attr_num(file, "version", H5T_NATIVE_INT, H5T_NATIVE_INT, &version, path, err) ||
        h5u_attr_num(file, "step", H5T_NATIVE_INT64, H5T_NATIVE_INT64, &step, path, err) ||
        h5u_attr_str(file, "config", config_text, path, err))
        goto out;
    for (int i = 0; i < params->count; i++) {
        const Tensor *t = params->tensors[i];
        char name[300];
        int64_t dims[CKPT_MAXDIM];
        snprintf(name, sizeof name, "/model/%s", t->name);
        for (int d = 0; d < t->ndim; d++) dims[d] = t->shape[d];
        if (write_array(file, name, CKPT_F32, t->data, t->ndim, dims, path, err)) goto out;
    }
    if (h5u_write_strings(file, "/vocab", vocab, n_vocab, path, err)) goto out;
    for (int i = 0; i < n_extras; i++) {
        const CkptArray *a = &extras[i];
        if (!a->name || !a->name[0]) {
            lg_err(err, "%s: extra array %d has no name", path, i);
            goto out;
        }
        if (write_array(file, a->name, a->type, a->data, a->ndim, a->dims, path, err)) goto out;
    }
    rc = 0;
out:
    /* closes the in-memory file; on success writes it, sealed with its checksum, atomically */
    return h5u_mem_commit(file, path, rc, err);
}

/* ------------------------------------------------------------------------------------------ */
/* reading                                                                                     */

/* Reads a string attribute (variable- or fixed-length) into a new lg_malloc'd string. */
static char *read_str_attr(hid_t loc, const char *name) {
    if (H5Aexists(loc, name) <= 0) return NULL;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), ft = -1, mt = -1, sp = -1;
    char *out = NULL;
    if (a < 0) return NULL;
    ft = H5Aget_type(a);
    sp = H5Aget_space(a);
    if (ft < 0 || sp < 0 || H5Tget_class(ft) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 1) goto out;
    htri_t var = H5Tis_variable_str(ft);
    if (var < 0) goto out;
    if (var) {
        char *s = NULL;
        mt = h5u_str_type();
        if (mt < 0 || H5Aread(a, mt, &s) < 0) goto out;
        out = lg_strdup(s ? s : "");
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, &s);
    } else {
        size_t n = H5Tget_size(ft);
        if (n == 0) goto out;
        mt = H5Tcopy(H5T_C_S1);
        if (mt < 0 || H5Tset_size(mt, n + 1) < 0) goto out;
        out = lg_calloc(n + 2, 1, "string attribute");
        if (H5Aread(a, mt, out) < 0) {
            lg_free(out);
            out = NULL;
        }
    }
out:
    h5u_close(mt); h5u_close(sp); h5u_close(ft); h5u_close(a);
    return out;
}

static int read_num_attr(hid_t loc, const char *name, hid_t mtype, void *out) {
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t ft = H5Aget_type(a);
    int rc = -1;
    if (ft >= 0 && (H5Tget_class(ft) == H5T_INTEGER || H5Tget_class(ft) == H5T_FLOAT) &&
        H5Aread(a, mtype, out) >= 0)
        rc = 0;
    h5u_close(ft);
    h5u_close(a);
    return rc;
}

static int read_vocab(CkptFile *f, LgErr *err) {
    hid_t file = (hid_t)f->h5;
    if (H5Lexists(file, "/vocab", H5P_DEFAULT) <= 0)
        return lg_err(err, "%s: dataset '/vocab' is missing (not a complete lengen model file)", f->path);
    hid_t ds = H5Dopen2(file, "/vocab", H5P_DEFAULT), ft = -1, sp = -1, mt = -1;
    int rc = -1;
    char **buf = NULL;
    if (ds < 0) goto out;
    ft = H5Dget_type(ds);
    sp = H5Dget_space(ds);
    if (ft < 0 || sp < 0 || H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) <= 0 ||
        H5Sget_simple_extent_ndims(sp) != 1) {
        rc = lg_err(err, "%s: dataset '/vocab' must be a 1-D array of variable-length strings", f->path);
        goto out;
    }
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    if (n < 0 || n > (1 << 24)) goto out;
    mt = h5u_str_type();
    buf = lg_calloc((size_t)n + 1, sizeof *buf, "vocab read buffer");
    if (mt < 0 || (n > 0 && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) goto out;
    f->vocab = lg_calloc((size_t)n + 1, sizeof *f->vocab, "vocab");
    f->n_vocab = (int)n;
    for (hssize_t i = 0; i < n; i++) f->vocab[i] = lg_strdup(buf[i] ? buf[i] : "");
    if (n > 0) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
    rc = 0;
out:
    lg_free(buf);
    h5u_close(mt); h5u_close(sp); h5u_close(ft); h5u_close(ds);
    if (rc && !err->msg[0]) lg_err(err, "%s: cannot read dataset '/vocab' (file truncated or corrupt?)", f->path);
    return rc;
}

void ckpt_close(CkptFile *f) {
    if (f->h5 > 0) H5Fclose((hid_t)f->h5);
    lg_free(f->config);
    if (f->vocab)
        for (int i = 0; i < f->n_vocab; i++) lg_free(f->vocab[i]);
    lg_free(f->vocab);
    memset(f, 0, sizeof *f);
}

long ckpt_step_of(const char *path) {
    CkptFile f;
    if (ckpt_open(&f, path, NULL) != 0) return -1;
    long step = (long)f.step;
    ckpt_close(&f);
    return step;
}

int ckpt_open(CkptFile *f, const char *path, LgErr *err) {
    h5u_quiet();
    memset(f, 0, sizeof *f);
    LgErr local;
    if (!err) err = &local;
    err->msg[0] = 0;
    snprintf(f->path, sizeof f->path, "%s", path);
    if (lg_check_input_file(path, CKPT_MAX_FILE_BYTES, "checkpoint", err) != 0) return -1;
    if (access(path, R_OK) != 0) return lg_err(err, "%s: no such file or not readable", path);
    /* every byte checked before libhdf5 parses any: a damaged file never reaches the parser */
    hid_t file = h5u_open_verified(path, &f->checksum, err);
    if (file < 0) return -1;
    if (!f->checksum)
        fprintf(stderr, "lengen: warning: %s has no checksum (written by a lengen before checksums); "
                "read unverified. Resuming the run writes checksummed checkpoints.\n", path);
    f->h5 = file;
    char *fmt = read_str_attr(file, "format");
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0) {
        lg_err(err, "%s: attribute 'format' is %s%s%s, expected \"%s\" (not a lengen model file)", path,
               fmt ? "\"" : "", fmt ? fmt : "missing", fmt ? "\"" : "", CKPT_FORMAT);
        lg_free(fmt);
        goto fail;
    }
    lg_free(fmt);
    if (read_num_attr(file, "version", H5T_NATIVE_INT, &f->version)) {
        lg_err(err, "%s: attribute 'version' is missing or not a number", path);
        goto fail;
    }
    if (f->version < 1 || f->version > CKPT_VERSION) {
        lg_err(err, "%s: format version %d; this lengen reads versions 1..%d (upgrade lengen)", path,
               f->version, CKPT_VERSION);
        goto fail;
    }
    if (read_num_attr(file, "step", H5T_NATIVE_INT64, &f->step)) {
        lg_err(err, "%s: attribute 'step' is missing or not a number", path);
        goto fail;
    }
    f->config = read_str_attr(file, "config");
    if (!f->config) {
        lg_err(err, "%s: attribute 'config' (the INI text) is missing or not a string", path);
        goto fail;
    }
    if (read_vocab(f, err)) goto fail;
    return 0;
fail:
    ckpt_close(f);
    return -1;
}

int ckpt_has(CkptFile *f, const char *name) {
    h5u_quiet();
    /* H5Lexists fails on a missing intermediate group: check every prefix */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", name);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int ok = H5Lexists((hid_t)f->h5, buf, H5P_DEFAULT) > 0;
        *p = '/';
        if (!ok) return 0;
    }
    if (H5Lexists((hid_t)f->h5, buf, H5P_DEFAULT) <= 0) return 0;
    ObjInfo info;
    if (obj_info_by_name((hid_t)f->h5, buf, &info) < 0) return 0;
    return info.type == H5O_TYPE_DATASET;
}

int ckpt_dims(CkptFile *f, const char *name, int *ndim, int64_t *dims, LgErr *err) {
    if (!ckpt_has(f, name)) return lg_err(err, "%s: dataset '%s' is missing", f->path, name);
    hid_t ds = H5Dopen2((hid_t)f->h5, name, H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
    int rc = -1;
    if (sp >= 0) {
        int nd = H5Sget_simple_extent_ndims(sp);
        hsize_t hd[CKPT_MAXDIM];
        if (nd >= 0 && nd <= CKPT_MAXDIM && H5Sget_simple_extent_dims(sp, hd, NULL) >= 0) {
            *ndim = nd;
            for (int i = 0; i < nd; i++) dims[i] = (int64_t)hd[i];
            rc = 0;
        }
    }
    h5u_close(sp);
    h5u_close(ds);
    return rc ? lg_err(err, "%s: cannot read the shape of dataset '%s' (corrupt, or rank > %d?)",
                       f->path, name, CKPT_MAXDIM) : 0;
}

static void dims_str(char *buf, size_t len, int ndim, const int64_t *dims) {
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
}

int ckpt_read(CkptFile *f, const CkptArray *a, LgErr *err) {
    h5u_quiet();
    int ndim;
    int64_t dims[CKPT_MAXDIM];
    if (ckpt_dims(f, a->name, &ndim, dims, err)) return -1;
    int same = ndim == a->ndim;
    for (int i = 0; same && i < ndim; i++) same = dims[i] == a->dims[i];
    if (!same) {
        char have[128], want[128];
        dims_str(have, sizeof have, ndim, dims);
        dims_str(want, sizeof want, a->ndim, a->dims);
        return lg_err(err, "%s: dataset '%s' has shape %s, expected %s (the file was written for a "
                           "different model or config)", f->path, a->name, have, want);
    }
    hid_t ds = H5Dopen2((hid_t)f->h5, a->name, H5P_DEFAULT);
    hid_t ft = ds >= 0 ? H5Dget_type(ds) : -1;
    int rc = -1;
    if (ft >= 0) {
        H5T_class_t cls = H5Tget_class(ft);
        H5T_class_t want = a->type == CKPT_F32 ? H5T_FLOAT : H5T_INTEGER;
        if (cls != want) {
            h5u_close(ft);
            h5u_close(ds);
            return lg_err(err, "%s: dataset '%s' holds %s, expected %s", f->path, a->name,
                          cls == H5T_FLOAT ? "floats" : cls == H5T_INTEGER ? "integers" : "non-numbers",
                          want == H5T_FLOAT ? "floats" : "integers");
        }
        int64_t n = 1;
        for (int i = 0; i < ndim; i++) n *= dims[i];
        if (n == 0 || H5Dread(ds, mem_type(a->type), H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data) >= 0) rc = 0;
    }
    h5u_close(ft);
    h5u_close(ds);
    return rc ? lg_err(err, "%s: cannot read dataset '%s' (file truncated or corrupt?)", f->path, a->name) : 0;
}

typedef struct {
    const Params *params;
    char unexpected[256];
} ExtraScan;

static herr_t scan_model(hid_t g, const char *name, const H5L_info_t *info, void *ctx) {
    (void)g; (void)info;
    ExtraScan *s = ctx;
    if (!params_find(s->params, name)) {
        snprintf(s->unexpected, sizeof s->unexpected, "%s", name);
        return 1;  /* stop */
    }
    return 0;
}

int ckpt_load_params(CkptFile *f, Params *params, LgErr *err) {
    h5u_quiet();
    LG_ASSERT(params->finalized, "ckpt_load_params: params not finalized");
    if (H5Lexists((hid_t)f->h5, "/model", H5P_DEFAULT) <= 0)
        return lg_err(err, "%s: group '/model' is missing", f->path);
    for (int i = 0; i < params->count; i++) {
        Tensor *t = params->tensors[i];
        char name[300];
        snprintf(name, sizeof name, "/model/%s", t->name);
        CkptArray a = {.name = name, .type = CKPT_F32, .data = t->data, .ndim = t->ndim};
        for (int d = 0; d < t->ndim; d++) a.dims[d] = t->shape[d];
        if (!ckpt_has(f, name))
            return lg_err(err, "%s: dataset '%s' is missing (the file's model has a different "
                               "architecture or posenc than the config builds)", f->path, name);
        if (ckpt_read(f, &a, err)) return -1;
    }
    hid_t g = H5Gopen2((hid_t)f->h5, "/model", H5P_DEFAULT);
    if (g < 0) return lg_err(err, "%s: cannot open group '/model'", f->path);
    ExtraScan s = {params, ""};
    herr_t r = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, scan_model, &s);
    H5Gclose(g);
    if (r < 0) return lg_err(err, "%s: cannot list group '/model' (corrupt?)", f->path);
    if (s.unexpected[0])
        return lg_err(err, "%s: dataset '/model/%s' is not a parameter of the configured model "
                           "(the file's model differs from the config)", f->path, s.unexpected);
    return 0;
}

typedef struct {
    CkptFile *f;
    CkptVisitFn fn;
    void *ctx;
} ListCtx;

static const char *type_name(hid_t ft) {
    H5T_class_t c = H5Tget_class(ft);
    size_t sz = H5Tget_size(ft);
    if (c == H5T_FLOAT) return sz == 4 ? "f32" : sz == 8 ? "f64" : "float";
    if (c == H5T_INTEGER) {
        int sgn = H5Tget_sign(ft) == H5T_SGN_2;
        if (sz == 8) return sgn ? "i64" : "u64";
        if (sz == 4) return sgn ? "i32" : "u32";
        return "int";
    }
    if (c == H5T_STRING) return "string";
    return "other";
}

static herr_t list_one(hid_t loc, const char *name, const ObjInfo *info, void *ctx) {
    ListCtx *l = ctx;
    if (info->type != H5O_TYPE_DATASET) return 0;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t sp = H5Dget_space(ds), ft = H5Dget_type(ds);
    herr_t rc = -1;
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t hd[32];
    if (ft >= 0 && nd >= 0 && nd <= 32 && H5Sget_simple_extent_dims(sp, hd, NULL) >= 0) {
        int64_t dims[32];
        for (int i = 0; i < nd; i++) dims[i] = (int64_t)hd[i];
        char full[600];
        snprintf(full, sizeof full, "/%s", name);
        l->fn(full, type_name(ft), nd, dims, l->ctx);
        rc = 0;
    }
    h5u_close(ft); h5u_close(sp); h5u_close(ds);
    return rc;
}

int ckpt_list(CkptFile *f, CkptVisitFn fn, void *ctx, LgErr *err) {
    h5u_quiet();
    ListCtx l = {f, fn, ctx};
    if (obj_visit((hid_t)f->h5, list_one, &l) < 0)
        return lg_err(err, "%s: cannot list the datasets (file truncated or corrupt?)", f->path);
    return 0;
}
