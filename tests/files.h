/* files: what tests do with files. Temporary folders that the runner removes when the test
 * that made them ends, passed or failed (so a CHECK returning midway leaves nothing behind),
 * and reading a whole file. */
#ifndef LENGEN_TEST_FILES_H
#define LENGEN_TEST_FILES_H

#include <stddef.h>

/* Makes a fresh folder $TMPDIR/lengen_test_XXXXXX (mkdtemp; /tmp without TMPDIR) and writes its
 * path to dir (cap: room for it, 64 bytes with /tmp).
 * The runner removes it, with everything in it, when the current test ends; with
 * LENGEN_TEST_KEEP=1 in the environment the folders of a failed test stay and their paths are
 * printed. Returns 1, or 0 after recording a test failure (dir is then ""). */
int test_tmpdir(char *dir, size_t cap);

/* Removes the folders test_tmpdir made since the last call (the runner calls it after each
 * test; keep: leave them and print where they are). */
void test_tmpdir_cleanup(int keep);

/* The whole file at path, NUL-terminated (so text can be used as a string; binary data may
 * hold NULs before it), its byte count in *len when len is not NULL. NULL when the file cannot
 * be opened or read. Free with lg_free. */
char *test_read_file(const char *path, size_t *len);

#endif
