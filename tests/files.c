/* files: temporary folders removed after each test, and (files.h). */
#define _XOPEN_SOURCE 700
#include "files.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

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
