/* h5util: shared HDF5 helpers (contracts in h5util.h). Each function checks every HDF5 call,
 * releases what it opened on every path, and reports one message naming file and object. */
#include "h5util.h"

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
