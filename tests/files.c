/* files: temporary folders removed after each test, and (files.h). */
#define _XOPEN_SOURCE 700
#include "files.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/util.h"
#include "test.h"

enum { MAX_DIRS = 64 };
static char made[MAX_DIRS][256];
static int n_made;

int test_tmpdir(char *dir, size_t cap) {
    dir[0] = 0;
    if (!EXPECT(n_made < MAX_DIRS, "more than %d temporary folders in one test", MAX_DIRS)) return 0;
    const char *tmp = getenv("TMPDIR");
    char *d = made[n_made];
    int n = snprintf(d, sizeof made[0], "%s/lengen_test_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!EXPECT(n > 0 && (size_t)n < cap && (size_t)n < sizeof made[0], "the folder name %s does not fit %zu bytes; "
                "use a shorter TMPDIR", d, cap))
        return 0;
    if (!EXPECT(mkdtemp(d), "mkdtemp %s failed", d)) return 0;
    n_made++;
    snprintf(dir, cap, "%s", d);
    return 1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    if (remove(path) != 0) fprintf(stderr, "    could not remove %s\n", path);
    return 0;
}

void test_tmpdir_cleanup(int keep) {
    for (int i = 0; i < n_made; i++) {
        if (keep) fprintf(stderr, "    kept %s\n", made[i]);
        else nftw(made[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    n_made = 0;
}

char *test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    char *s = lg_malloc((size_t)n + 1, "test file");
    size_t got = fread(s, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) {
        lg_free(s);
        return NULL;
    }
    s[got] = 0;
    if (len) *len = got;
    return s;
}
