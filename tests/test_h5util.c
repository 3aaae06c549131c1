/* Tests of the shared HDF5 helpers: what they write reads back with plain HDF5 calls (types,
 * values, chunking and deflate or none, groups created on the path), and each failure names
 * the file and the attribute or dataset. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "../src/h5util.h"
#include "test.h"

static const char *tmp_path(const char *tag) {
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/lengen_test_%d_%s.h5", (int)getpid(), tag);
    return buf;
}

/* 1 if dataset `name` is chunked as chunk[0..ndim) with the deflate filter, 0 if contiguous
 * without filters, -1 otherwise. */
static int layout_of(hid_t file, const char *name, int ndim, const hsize_t *chunk) {
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT), dcpl = ds >= 0 ? H5Dget_create_plist(ds) : -1;
    int r = -1;
    if (dcpl >= 0) {
        H5D_layout_t lay = H5Pget_layout(dcpl);
        int nf = H5Pget_nfilters(dcpl);
        if (lay == H5D_CONTIGUOUS && nf == 0) r = 0;
        hsize_t got[4];
        if (lay == H5D_CHUNKED && nf == 1 && H5Pget_chunk(dcpl, 4, got) == ndim) {
            unsigned flags, cd[4];
            size_t ncd = 4;
            H5Z_filter_t f = H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, 0, NULL, NULL);
            r = f == H5Z_FILTER_DEFLATE && memcmp(got, chunk, (size_t)ndim * sizeof *got) == 0;
        }
    }
    h5u_close(dcpl);
    h5u_close(ds);
    return r;
}

TEST(h5u_writes_attrs_strings_and_datasets_that_read_back) {
    h5u_quiet();
    const char *path = tmp_path("h5u");
    LgErr err = {0};
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(f >= 0);
    int64_t step = -1234567890123;
    const char *words[] = {"<pad>", "é", ""};
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = 0.25f * (float)i - 1;
    int one = 7;
    hsize_t d2[2] = {3, 4}, c2[2] = {1, 4};
    CHECK(h5u_attr_str(f, "format", "lengen-test", path, &err) == 0, "%s", err.msg);
    CHECK(h5u_attr_num(f, "step", H5T_STD_I64LE, H5T_NATIVE_INT64, &step, path, &err) == 0, "%s", err.msg);
    CHECK(h5u_write_strings(f, "/words", words, 3, path, &err) == 0, "%s", err.msg);
    CHECK(h5u_write_dataset(f, "/a/b/x", H5T_IEEE_F32LE, 2, d2, c2, H5T_NATIVE_FLOAT, x, path, &err) == 0, "%s",
          err.msg);
    CHECK(h5u_write_dataset(f, "/plain", H5T_STD_I32LE, 2, d2, NULL, H5T_NATIVE_INT, (int[12]){0}, path, &err) == 0,
          "%s", err.msg);
    CHECK(h5u_write_dataset(f, "/scalar", H5T_STD_I32LE, 0, NULL, NULL, H5T_NATIVE_INT, &one, path, &err) == 0,
          "%s", err.msg);
    CHECK(H5Fclose(f) >= 0);

    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    hid_t t = h5u_str_type(), a = H5Aopen(f, "format", H5P_DEFAULT);
    char *s = NULL;
    CHECK(t >= 0 && a >= 0 && H5Aread(a, t, &s) >= 0 && s && strcmp(s, "lengen-test") == 0);
    H5free_memory(s);
    h5u_close(a);
    int64_t got_step = 0;
    a = H5Aopen(f, "step", H5P_DEFAULT);
    CHECK(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &got_step) >= 0 && got_step == step);
    h5u_close(a);
    hid_t ds = H5Dopen2(f, "/words", H5P_DEFAULT), sp = H5Dget_space(ds);
    char *w[3] = {0};
    CHECK(ds >= 0 && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, w) >= 0);
    CHECK(strcmp(w[0], "<pad>") == 0 && strcmp(w[1], "é") == 0 && w[2] && w[2][0] == 0);
    H5Dvlen_reclaim(t, sp, H5P_DEFAULT, w);
    h5u_close(sp);
    h5u_close(ds);
    h5u_close(t);
    float y[12] = {0};
    ds = H5Dopen2(f, "/a/b/x", H5P_DEFAULT);
    CHECK(ds >= 0 && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0);
    h5u_close(ds);
    CHECK(memcmp(x, y, sizeof x) == 0);
    CHECK(layout_of(f, "/a/b/x", 2, c2) == 1, "chunked [1, 4] with deflate");
    CHECK(layout_of(f, "/plain", 2, NULL) == 0, "contiguous, no filter");
    int got_one = 0;
    ds = H5Dopen2(f, "/scalar", H5P_DEFAULT);
    CHECK(ds >= 0 && H5Dread(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &got_one) >= 0 && got_one == 7);
    h5u_close(ds);
    CHECK(H5Fclose(f) >= 0);
    unlink(path);
}

TEST(h5u_failures_name_the_file_and_the_object) {
    h5u_quiet();
    const char *path = tmp_path("h5u_err");
    LgErr err = {0};
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(f >= 0);
    int v = 1;
    hsize_t d[1] = {2};
    CHECK(h5u_attr_str(f, "format", "x", path, &err) == 0);
    CHECK(h5u_attr_str(f, "format", "x", path, &err) == -1 && strstr(err.msg, path) &&
          strstr(err.msg, "attribute 'format'"), "%s", err.msg);
    CHECK(h5u_attr_num(f, "format", H5T_NATIVE_INT, H5T_NATIVE_INT, &v, path, &err) == -1 &&
          strstr(err.msg, "attribute 'format'"), "%s", err.msg);
    CHECK(h5u_write_strings(f, "/vocab", (const char *const[]){"a"}, 1, path, &err) == 0);
    CHECK(h5u_write_strings(f, "/vocab", (const char *const[]){"a"}, 1, path, &err) == -1 && strstr(err.msg, path) &&
          strstr(err.msg, "dataset '/vocab'"), "%s", err.msg);
    CHECK(h5u_write_dataset(f, "/vocab", H5T_STD_I32LE, 1, d, NULL, H5T_NATIVE_INT, (int[2]){0}, path, &err) == -1 &&
          strstr(err.msg, "dataset '/vocab'"), "%s", err.msg);
    CHECK(h5u_create_dataset(f, "/vocab/x", H5T_STD_I32LE, 1, d, d, path, &err) == -1 &&
          strstr(err.msg, "dataset '/vocab/x'"), "%s", err.msg);
    h5u_close(-1);  /* a no-op */
    CHECK(H5Fclose(f) >= 0);
    unlink(path);
}
