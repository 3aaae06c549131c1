/* Tests of the files that cannot crash us (issue 11): the crc32 header of checkpoints and probe
 * files, checked before libhdf5 parses anything (whole files mutated by flipped bits, zeroed and
 * 0xff ranges, cuts and appended bytes, every region of the file), older files without it;
 * kill -9 of trainers that checkpoint every step, each surviving checkpoint verified; and every
 * write checked: a full disk (a small tmpfs when we may mount one, else a file size limit),
 * CSV, sweep table and standard output writes that fail end in a clean message and exit status,
 * no crash in HDF5's cleanup, no HDF5 id left open and no .tmp left behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include "../src/checkpoint.h"
#include "../src/experiment.h"
#include "../src/h5util.h"
#include "../src/model.h"
#include "../src/rundir.h"
#include "../src/util.h"
#include "cli_run.h"
#include "model_helpers.h"
#include "files.h"
#include "test.h"

static const char *VOCAB[] = {"<pad>", "0", "1", "+", "=", "é"};

/* The file's bytes (test_read_file) with its size as a long; -1 when it cannot be read. */
static unsigned char *read_whole(const char *path, long *size) {
    size_t n = 0;
    unsigned char *buf = (unsigned char *)test_read_file(path, &n);
    *size = buf ? (long)n : -1;
    return buf;
}

static int write_whole(const char *path, const void *buf, long size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(buf, 1, (size_t)size, f) == (size_t)size;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Runs shell text with stderr merged into out. Returns the exit status, -1 on a signal. */
static int sh_run(const char *text, char *out, size_t cap) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "(%s) 2>&1", text);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    while (fgetc(p) != EOF) {}
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *bin(void) {
    const char *b = getenv("LENGEN_BIN");
    return b && *b ? b : "./lengen";
}

/* A model file of a small model with extras, the way train.c writes one. */
static int save_small(const char *path, Model *m, LgErr *err) {
    ModelConfig c;
    tm_defaults(&c);
    c.d_model = 16;
    c.layers = 2;
    c.heads = 2;
    c.posenc = PE_LEARNED;
    c.max_pos = 32;
    if (model_init(m, &c, 6, 1, err) != 0) return -1;
    float opt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t ostep = 9;
    CkptArray ex[] = {
        {.name = "/optim/m", .type = CKPT_F32, .data = opt, .ndim = 1, .dims = {8}},
        {.name = "/optim/step", .type = CKPT_I64, .data = &ostep, .ndim = 0},
    };
    char *text = tm_ini(&c);
    int rc = ckpt_save(path, &m->params, 11, text, VOCAB, 6, ex, 2, err);
    lg_free(text);
    return rc;
}

TEST(integrity_checkpoint_carries_a_crc_header_and_older_files_still_load) {
    char dir[64], path[128], old[128];
    if (!test_tmpdir(dir, sizeof dir)) return;
    snprintf(path, sizeof path, "%s/m.h5", dir);
    snprintf(old, sizeof old, "%s/old.h5", dir);
    Model m;
    LgErr err;
    CHECK(save_small(path, &m, &err) == 0, "%s", err.msg);
    long size;
    unsigned char *buf = read_whole(path, &size);
    CHECK(buf && size > H5U_USERBLOCK, "read %s", path);
    CHECK(!memcmp(buf, "lengen checksum\n", 16) && buf[16] == 1 && !memcmp(buf + 512, "\x89HDF\r\n\x1a\n", 8),
          "magic, version 1 and the HDF5 superblock after the 512-byte user block");
    uint64_t len = 0;
    for (int i = 0; i < 8; i++) len |= (uint64_t)buf[24 + i] << (8 * i);
    CHECK(len == (uint64_t)size, "header length %llu, file %ld", (unsigned long long)len, size);
    CHECK(h5u_verify(path, &err) == 1, "%s", err.msg);
    CkptFile f;
    CHECK(ckpt_open(&f, path, &err) == 0 && f.checksum == 1 && f.step == 11, "%s", err.msg);
    ckpt_close(&f);
    /* the same file without the header: what lengen wrote before checksums (HDF5 finds its
     * superblock at 0) loads, flagged unverified, with the same weights */
    CHECK(write_whole(old, buf + H5U_USERBLOCK, size - H5U_USERBLOCK) == 0);
    CHECK(h5u_verify(old, &err) == 0, "no header: 0, got an error %s", err.msg);
    Model q;
    CHECK(model_init(&q, &m.cfg, 6, 1, &err) == 0, "%s", err.msg);
    memset(q.params.data, 0, q.params.n * sizeof(float));
    CHECK(ckpt_open(&f, old, &err) == 0 && f.checksum == 0, "%s", err.msg);
    int loaded = ckpt_load_params(&f, &q.params, &err);
    ckpt_close(&f);
    CHECK(loaded == 0, "%s", err.msg);
    CHECK(!memcmp(q.params.data, m.params.data, m.params.n * sizeof(float)), "weights of the older file");
    static char out[1 << 16];
    char cmd[300];
    snprintf(cmd, sizeof cmd, "inspect %s", path);
    int rc = cli_run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "checksum: crc32 of the whole file, verified"), "exit %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "inspect %s", old);
    rc = cli_run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "checksum: none") && strstr(out, "warning") && strstr(out, "no checksum"),
          "exit %d: %s", rc, out);
    /* HDF5's own tools skip the user block: h5dump (hdf5-tools, a build dependency) and h5py
     * (python3-h5py, tools/install-deps.sh --python; checked when it is installed) */
    snprintf(cmd, sizeof cmd, "h5dump -H -A 0 %s", path);
    rc = sh_run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "/model") == NULL && strstr(out, "GROUP \"model\""), "h5dump: exit %d: %s", rc, out);
    if (sh_run("/usr/bin/python3 -c 'import h5py'", out, sizeof out) == 0) {
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import h5py; f = h5py.File('%s', 'r'); "
                 "print(f.userblock_size, f.attrs['step'], f['model/tok_emb.weight'].shape)\"", path);
        rc = sh_run(cmd, out, sizeof out);
        CHECK(rc == 0 && !strcmp(out, "512 11 (6, 16)\n"), "h5py: exit %d: %s", rc, out);
    } else {
        printf("    h5py not installed (tools/install-deps.sh --python): its check skipped\n");
    }
    lg_free(buf);
    model_free(&m);
    model_free(&q);
}

/* Opens a mutant and, when it opens, loads its parameters into m. Returns 0 or -1 with err. */
static int load_mutant(const char *path, Model *m, LgErr *err) {
    CkptFile f;
    if (ckpt_open(&f, path, err) != 0) return -1;
    int rc = ckpt_load_params(&f, &m->params, err);
    ckpt_close(&f);
    return rc;
}

typedef struct Mutants {
    const char *path;
    const unsigned char *orig;
    long size;
    unsigned char *buf;
    Model *m;
    int n, changed, refused, bad;    /* bad: a changed file that loaded or a message off the mark */
    char first_bad[1200];
} Mutants;

/* Writes buf[0..size) as a mutant and loads it: a file that differs from the original must be
 * refused by the checksum check, naming the file; an unchanged one must load. */
static void try_mutant(Mutants *mu, long size) {
    LgErr err = {{0}};
    int same = size == mu->size && !memcmp(mu->buf, mu->orig, (size_t)size);
    if (write_whole(mu->path, mu->buf, size) != 0) {
        mu->bad++;
        snprintf(mu->first_bad, sizeof mu->first_bad, "cannot write %s", mu->path);
        return;
    }
    int rc = load_mutant(mu->path, mu->m, &err);
    mu->n++;
    mu->changed += !same;
    mu->refused += rc != 0;
    int ok = same ? rc == 0
                  : rc != 0 && strstr(err.msg, mu->path) &&
                        (strstr(err.msg, "checksum mismatch") || strstr(err.msg, "checksum header says") ||
                         strstr(err.msg, "truncated") || strstr(err.msg, "checksum header version") ||
                         strstr(err.msg, "not an HDF5 file with a lengen checksum header"));
    if (!ok && !mu->bad++)
        snprintf(mu->first_bad, sizeof mu->first_bad, "mutant %d (%s, size %ld): rc %d: %s", mu->n,
                 same ? "unchanged" : "changed", size, rc, err.msg);
}

TEST(integrity_damaged_checkpoints_are_refused_before_hdf5_reads_them) {
    char dir[64], path[128], mpath[128];
    if (!test_tmpdir(dir, sizeof dir)) return;
    snprintf(path, sizeof path, "%s/m.h5", dir);
    snprintf(mpath, sizeof mpath, "%s/mutant.h5", dir);
    Model m;
    LgErr err;
    CHECK(save_small(path, &m, &err) == 0, "%s", err.msg);
    long size;
    unsigned char *orig = read_whole(path, &size);
    CHECK(orig && size > 4096, "size %ld", size);
    Mutants mu = {mpath, orig, size, lg_malloc((size_t)size + 64, "mutant"), &m, 0, 0, 0, 0, ""};
    /* one flipped bit every ~size/700 bytes, the bit position cycling */
    long step = size / 700 > 0 ? size / 700 : 1;
    for (long off = 0; off < size; off += step) {
        memcpy(mu.buf, orig, (size_t)size);
        mu.buf[off] ^= (unsigned char)(1u << (off % 8));
        try_mutant(&mu, size);
    }
    /* zeroed and 0xff ranges of 1 .. 512 bytes over the whole file (some zeroed ranges were
     * zero already: those files are unchanged and must load) */
    static const int lens[] = {1, 4, 16, 64, 512};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
        for (long off = 0; off < size; off += size / 120 + lens[k] / 4) {
            long n = off + lens[k] <= size ? lens[k] : size - off;
            memcpy(mu.buf, orig, (size_t)size);
            memset(mu.buf + off, k % 2 ? 0xff : 0, (size_t)n);
            try_mutant(&mu, size);
        }
    /* the case: four zeroed bytes inside the stored config text */
    const unsigned char *cfg = memmem(orig, (size_t)size, "[model]", 7);
    CHECK(cfg, "the config text is stored verbatim");
    memcpy(mu.buf, orig, (size_t)size);
    memset(mu.buf + (cfg - orig) + 40, 0, 4);
    try_mutant(&mu, size);
    /* cut short anywhere (inside the header too), and bytes appended */
    for (long cut = 0; cut < size; cut += size / 40 + 1) {
        memcpy(mu.buf, orig, (size_t)cut);
        try_mutant(&mu, cut);
    }
    memcpy(mu.buf, orig, (size_t)size);
    memset(mu.buf + size, 0, 64);
    try_mutant(&mu, size + 64);
    /* and the original itself still loads */
    memcpy(mu.buf, orig, (size_t)size);
    try_mutant(&mu, size);
    printf("    %d mutants of a %ld-byte checkpoint: %d changed, %d refused\n", mu.n, size, mu.changed, mu.refused);
    CHECK(mu.bad == 0, "%d mutants went wrong; first: %s", mu.bad, mu.first_bad);
    CHECK(mu.n > 1000 && mu.refused == mu.changed, "%d mutants, %d changed, %d refused", mu.n, mu.changed, mu.refused);
    lg_free(mu.buf);
    lg_free(orig);
    model_free(&m);
}

TEST(integrity_failed_save_closes_every_hdf5_id_and_leaves_no_tmp) {
    char dir[64], path[128], tmp[140];
    if (!test_tmpdir(dir, sizeof dir)) return;
    snprintf(path, sizeof path, "%s/m.h5", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    Params p;
    params_init(&p);
    int s[2] = {3, 4};
    params_add(&p, "w", 2, s);
    params_finalize(&p);
    float v[4] = {1, 2, 3, 4};
    CkptArray dup[] = {
        {.name = "/x/a", .type = CKPT_F32, .data = v, .ndim = 1, .dims = {4}},
        {.name = "/x/a", .type = CKPT_F32, .data = v, .ndim = 1, .dims = {4}},
    };
    ssize_t before = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    LgErr err;
    CHECK(ckpt_save(path, &p, 0, "", VOCAB, 2, dup, 2, &err) == -1 && strstr(err.msg, "/x/a"), "%s", err.msg);
    CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == before, "HDF5 ids left open after a failed save");
    CHECK(!exists(path) && !exists(tmp), "nothing written");
    char nodir[160];
    snprintf(nodir, sizeof nodir, "%s/no/such/folder/m.h5", dir);
    CHECK(ckpt_save(nodir, &p, 0, "", VOCAB, 2, NULL, 0, &err) == -1 && strstr(err.msg, "cannot create") &&
          strstr(err.msg, "No such file"), "%s", err.msg);
    CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == before, "HDF5 ids left open after a failed write");
    CHECK(ckpt_save(path, &p, 0, "", VOCAB, 2, dup, 1, &err) == 0, "%s", err.msg);
    CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == before, "HDF5 ids left open after a save");
    CHECK(exists(path) && !exists(tmp));
    params_free(&p);
}

/* A tiny run's config text with out_dir dir. */
static void tiny_ini(char *buf, size_t n, const char *dir, int d_model, int steps, int log_every) {
    snprintf(buf, n,
             "[model]\nlayers = 1\nheads = 2\nd_model = %d\nmax_pos = 32\nposenc = alibi\n"
             "[task]\nmain = copy\nalphabet = 6\n"
             "[train]\nsteps = %d\nbatch_size = 8\nwarmup = 1\nmin_length = 1\nmax_length = 6\n"
             "log_every = %d\neval_every = 0\nckpt_every = 0\n"
             "[eval]\nlengths = 4\nn = 4\n"
             "[run]\nname = r\nout_dir = %s\nseed = 3\nthreads = 1\n",
             d_model, steps, log_every, dir);
}

static int write_string(const char *path, const char *text) {
    return write_whole(path, text, (long)strlen(text));
}

TEST(integrity_commands_refuse_a_damaged_checkpoint_and_probe_files_are_checksummed) {
    char dir[64], ini[128], text[1024], cmd[1024], ckpt[160], probe[160];
    static char out[1 << 16];
    if (!test_tmpdir(dir, sizeof dir)) return;
    snprintf(ini, sizeof ini, "%s/t.ini", dir);
    tiny_ini(text, sizeof text, dir, 16, 3, 1);
    CHECK(write_string(ini, text) == 0);
    snprintf(cmd, sizeof cmd, "train %s --quiet", ini);
    int rc = cli_run(cmd, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    snprintf(ckpt, sizeof ckpt, "%s/r/ckpt.h5", dir);
    snprintf(probe, sizeof probe, "%s/probe.h5", dir);
    snprintf(cmd, sizeof cmd, "probe %s --length 4 --n 2 --out %s", ckpt, probe);
    rc = cli_run(cmd, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    LgErr err;
    CHECK(h5u_verify(probe, &err) == 1, "the probe file is checksummed: %s", err.msg);
    long size;
    unsigned char *buf = read_whole(ckpt, &size);
    CHECK(buf && size > 1000);
    buf[size / 2] ^= 0x10;
    CHECK(write_whole(ckpt, buf, size) == 0);
    lg_free(buf);
    const char *cmds[] = {"inspect %s", "eval %s", "sample %s", "probe %s --length 4 --out %s.p.h5",
                          "train --resume %s"};
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
        snprintf(cmd, sizeof cmd, cmds[k], ckpt, dir);
        rc = cli_run(cmd, out, sizeof out);
        CHECK(rc == 2 && strstr(out, "checksum mismatch") && strstr(out, ckpt), "%s: exit %d: %s", cmd, rc, out);
    }
}
/* A small disk for the full-disk test: a 64 KiB tmpfs mounted on dir when we may mount one
 * (root), else a file size limit of 8 KiB on the commands run (prefix; SIGXFSZ ignored, so a
 * write past it fails with EFBIG instead of killing the process). */
typedef struct SmallDisk {
    char dir[64];
    int mounted;
    char prefix[64];
} SmallDisk;

static void small_disk_open(SmallDisk *d) {
    if (!test_tmpdir(d->dir, sizeof d->dir)) d->dir[0] = 0;
    d->mounted = mount("tmpfs", d->dir, "tmpfs", 0, "size=64k") == 0;
    snprintf(d->prefix, sizeof d->prefix, "%s", d->mounted ? "" : "trap '' XFSZ; ulimit -f 16; ");
}

static void small_disk_close(SmallDisk *d) {
    if (d->mounted && umount(d->dir) != 0) fprintf(stderr, "could not unmount %s: %s\n", d->dir, strerror(errno));
}

/* Runs lengen args on the small disk's terms. */
static int run_small(const SmallDisk *d, const char *args, char *out, size_t cap) {
    char text[2048];
    snprintf(text, sizeof text, "%s%s %s", d->prefix, bin(), args);
    return sh_run(text, out, cap);
}

/* Does dir (or a folder in it, one level) hold a file ending in .tmp? */
static int has_tmp(const char *dir) {
    char cmd[300], out[256];
    snprintf(cmd, sizeof cmd, "find '%s' -maxdepth 2 -name '*.tmp'", dir);
    sh_run(cmd, out, sizeof out);
    return out[0] != 0;
}

TEST(integrity_full_disk_and_failed_csv_writes_end_in_a_clean_message) {
    static char out_ckpt[1 << 14], out_probe[1 << 14], out_csv[1 << 14], out_eval[1 << 14];
    char dir[64], ini[128], text[1024], cmd[1024], run[128];
    if (!test_tmpdir(dir, sizeof dir)) return;
    snprintf(run, sizeof run, "%s/r", dir);
    snprintf(ini, sizeof ini, "%s/t.ini", dir);
    tiny_ini(text, sizeof text, dir, 16, 2, 1);
    CHECK(write_string(ini, text) == 0);
    snprintf(cmd, sizeof cmd, "train %s --quiet", ini);
    int rc = cli_run(cmd, out_ckpt, sizeof out_ckpt);
    CHECK(rc == 0, "exit %d: %s", rc, out_ckpt);

    SmallDisk d;
    small_disk_open(&d);
    char ini_full[128], ini_csv[128];
    snprintf(ini_full, sizeof ini_full, "%s/full.ini", dir);
    snprintf(ini_csv, sizeof ini_csv, "%s/csv.ini", dir);
    /* a checkpoint (~1 MB) that does not fit */
    tiny_ini(text, sizeof text, d.dir, 64, 2, 1);
    int ok = write_string(ini_full, text) == 0;
    /* a train.csv that outgrows the disk: 3000 rows, no checkpoint before the end */
    tiny_ini(text, sizeof text, d.dir, 8, 3000, 1);
    ok = ok && write_string(ini_csv, text) == 0;
    snprintf(cmd, sizeof cmd, "train %s --quiet", ini_full);
    int rc_ckpt = run_small(&d, cmd, out_ckpt, sizeof out_ckpt);
    int tmp_ckpt = has_tmp(d.dir);
    snprintf(cmd, sizeof cmd, "probe %s --length 4 --n 256 --out %s/p.h5", run, d.dir);
    int rc_probe = run_small(&d, cmd, out_probe, sizeof out_probe);
    char probe_path[128];
    snprintf(probe_path, sizeof probe_path, "%s/p.h5", d.dir);
    int probe_left = exists(probe_path) || has_tmp(d.dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/r'", d.dir);
    ok = ok && system(cmd) == 0;
    snprintf(cmd, sizeof cmd, "train %s --quiet", ini_csv);
    int rc_csv = run_small(&d, cmd, out_csv, sizeof out_csv);
    small_disk_close(&d);

    /* eval.csv beside a checkpoint that cannot be appended to (/dev/full: ENOSPC) */
    char csv[160];
    snprintf(csv, sizeof csv, "%s/eval.csv", run);
    ok = ok && unlink(csv) == 0 && symlink("/dev/full", csv) == 0;
    snprintf(cmd, sizeof cmd, "eval %s", run);
    int rc_eval = cli_run(cmd, out_eval, sizeof out_eval);

    const char *why = d.mounted ? "No space left on device (disk full)" : "(file size limit reached)";
    printf("    small disk: %s\n", d.mounted ? "64 KiB tmpfs" : "8 KiB file size limit (no mount permission)");
    CHECK(ok, "test setup");
    CHECK(rc_ckpt == 1 && strstr(out_ckpt, ".h5.tmp") && strstr(out_ckpt, why) && !tmp_ckpt,
          "checkpoint on a full disk: exit %d, .tmp left %d: %s", rc_ckpt, tmp_ckpt, out_ckpt);
    CHECK(rc_probe == 1 && strstr(out_probe, "p.h5.tmp") && strstr(out_probe, why) && !probe_left,
          "probe on a full disk: exit %d, file left %d: %s", rc_probe, probe_left, out_probe);
    CHECK(rc_csv == 1 && strstr(out_csv, "train.csv") && strstr(out_csv, why),
          "train.csv on a full disk: exit %d: %s", rc_csv, out_csv);
    CHECK(rc_eval == 1 && strstr(out_eval, "eval.csv") && strstr(out_eval, "No space left on device (disk full)"),
          "eval.csv on /dev/full: exit %d: %s", rc_eval, out_eval);
}

TEST(integrity_csv_rows_are_synced_before_a_checkpoint) {
    char dir[64];
    if (!test_tmpdir(dir, sizeof dir)) return;
    RunDir r;
    memset(&r, 0, sizeof r);
    snprintf(r.dir, sizeof r.dir, "%s", dir);
    char path[200];
    rundir_file(path, sizeof path, dir, RUNDIR_TRAIN_CSV);
    r.train_csv = fopen(path, "w");
    CHECK(r.train_csv);
    fputs("step,loss\n", r.train_csv);   /* still in the stdio buffer */
    LgErr err = {{0}};
    CHECK(rundir_sync(&r, &err) == 0, "%s", err.msg);
    long size = 0;
    unsigned char *b = read_whole(path, &size);
    CHECK(b && size == 10, "the row is in the file after rundir_sync (%ld bytes)", size);
    lg_free(b);
    CHECK(rundir_close(&r, &err) == 0, "%s", err.msg);
}

TEST(integrity_csv_row_and_close_report_a_failed_write) {
    RunDir r;
    memset(&r, 0, sizeof r);
    snprintf(r.dir, sizeof r.dir, "/tmp/lengen_run_on_a_full_disk");
    r.train_csv = fopen("/dev/full", "w");
    r.eval_csv = fopen("/dev/full", "w");
    CHECK(r.train_csv && r.eval_csv, "open /dev/full");
    double sum[1] = {1.5};
    long count[1] = {3};
    LgErr err = {{0}};
    int rc = rundir_train_row(&r, 10, 0.5, sum, count, 1, 1e-3f, 0.25f, 100, 1, &err);
    CHECK(rc == -1 && strstr(err.msg, "/tmp/lengen_run_on_a_full_disk/train.csv") && strstr(err.msg, "disk full"),
          "%s", err.msg);
    CHECK(rundir_sync(&r, &err) == -1 && strstr(err.msg, "train.csv"), "%s", err.msg);
    rundir_eval_row(r.eval_csv, 10, "copy", 4, 8, 1, 1, -1, NULL);   /* buffered: seen at close */
    err.msg[0] = 0;
    CHECK(rundir_close(&r, &err) == -1 && strstr(err.msg, "train.csv") && strstr(err.msg, "an earlier write"),
          "the first failure: %s", err.msg);
    CHECK(!r.train_csv && !r.eval_csv, "both closed");
    r.eval_csv = fopen("/dev/full", "w");
    CHECK(r.eval_csv, "open /dev/full");
    rundir_eval_row(r.eval_csv, 10, "copy", 4, 8, 1, 1, -1, NULL);
    CHECK(rundir_close(&r, &err) == -1 && strstr(err.msg, "eval.csv") && strstr(err.msg, "disk full"), "%s", err.msg);
}

TEST(integrity_output_that_cannot_be_written_is_a_failure) {
    static char out[1 << 12];
    char cmd[300];
    snprintf(cmd, sizeof cmd, "%s data copy --n 3 > /dev/full", bin());
    int rc = sh_run(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "lengen data: cannot write standard output: No space left on device (disk full)"),
          "exit %d: %s", rc, out);
}

TEST(integrity_sweep_table_on_a_full_disk_fails_naming_the_file) {
    static char out[1 << 12];
    char dir[64], path[200], text[600], cmd[300];
    if (!test_tmpdir(dir, sizeof dir)) return;
    snprintf(path, sizeof path, "%s/base.ini", dir);
    tiny_ini(text, sizeof text, dir, 16, 2, 1);
    CHECK(write_string(path, text) == 0);
    snprintf(text, sizeof text, "[sweep]\nbase = %s/base.ini\nname = s\nout_dir = %s\n[grid]\nrun.seed = 1, 2\n",
             dir, dir);
    snprintf(path, sizeof path, "%s/sweep.ini", dir);
    CHECK(write_string(path, text) == 0);
    snprintf(path, sizeof path, "%s/s", dir);
    CHECK(lg_mkdir_p(path, NULL) == 0);
    snprintf(path, sizeof path, "%s/s/results.csv", dir);
    CHECK(symlink("/dev/full", path) == 0);
    snprintf(cmd, sizeof cmd, "sweep %s/sweep.ini --table", dir);
    int rc = cli_run(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "results.csv") && strstr(out, "(disk full)"), "exit %d: %s", rc, out);
}

/* Starts `lengen train ini` in the background (output to /dev/null). Returns its pid or -1. */
static pid_t start_train(const char *ini) {
    pid_t pid = fork();
    if (pid == 0) {
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)null;
        null = freopen("/dev/null", "w", stderr);
        execl(bin(), bin(), "train", ini, "--quiet", (char *)NULL);
        _exit(127);
    }
    return pid;
}

TEST(integrity_kill_9_during_checkpoint_writes_leaves_loadable_checkpoints) {
    char dir[64], ini[128], text[1024], ckpt[200], tmp[210];
    if (!test_tmpdir(dir, sizeof dir)) return;
    snprintf(ini, sizeof ini, "%s/t.ini", dir);
    /* a checkpoint (~1.2 MB) after every step, so most kills land in or next to a save */
    int rounds = 12, present = 0, mid_write = 0, bad = 0;
    char first_bad[1200] = "";
    for (int k = 0; k < rounds; k++) {
        snprintf(text, sizeof text,
                 "[model]\nlayers = 1\nheads = 2\nd_model = 64\nmax_pos = 32\nposenc = alibi\n"
                 "[task]\nmain = copy\nalphabet = 6\n"
                 "[train]\nsteps = 100000\nbatch_size = 8\nwarmup = 1\nmin_length = 1\nmax_length = 6\n"
                 "log_every = 1\neval_every = 0\nckpt_every = 1\n"
                 "[eval]\nlengths = 4\nn = 4\n"
                 "[run]\nname = r%d\nout_dir = %s\nseed = 3\nthreads = 1\n", k, dir);
        CHECK(write_string(ini, text) == 0);
        pid_t pid = start_train(ini);
        CHECK(pid > 0, "fork");
        snprintf(ckpt, sizeof ckpt, "%s/r%d/ckpt.h5", dir, k);
        snprintf(tmp, sizeof tmp, "%s.tmp", ckpt);
        /* wait for the first save to begin (however slow the start on a loaded machine), then
         * kill 0 .. 0.11 s later: in a save, or between the every-step saves */
        for (int w = 0; w < 6000 && !exists(ckpt) && !exists(tmp); w++) usleep(5000);
        usleep((useconds_t)(10000 * k));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        mid_write += exists(tmp);
        if (!exists(ckpt)) continue;
        present++;
        /* verified, and loaded whole: config, tasks, model weights and the optimizer state */
        LgErr err = {{0}};
        Experiment e;
        CkptFile f;
        int ok = h5u_verify(ckpt, &err) == 1 && exp_load(&e, ckpt, NULL, 0, &f, &err) == 0;
        if (ok) {
            size_t n = e.model.params.n;
            float *m = lg_malloc(n * sizeof *m, "optimizer m");
            CkptArray a = {.name = "/optim/m", .type = CKPT_F32, .data = m, .ndim = 1, .dims = {(int64_t)n}};
            ok = f.step >= 1 && ckpt_read(&f, &a, &err) == 0;
            lg_free(m);
            ckpt_close(&f);
            exp_free(&e);
        }
        if (!ok && !bad++) snprintf(first_bad, sizeof first_bad, "round %d: %s", k, err.msg);
    }
    printf("    %d kill -9s: %d left a ckpt.h5 (every one verified and loaded), %d hit a write (.tmp left)\n",
           rounds, present, mid_write);
    CHECK(bad == 0, "%d checkpoints did not load; first: %s", bad, first_bad);
    CHECK(present >= rounds / 2, "only %d of %d runs left a ckpt.h5 (the kills come after the first save began)", present, rounds);
}
