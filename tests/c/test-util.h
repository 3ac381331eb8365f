/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

/* Returns the path of @relative inside the shared test data folder (PEFTQ_TESTDATA), or
 * marks the current test as skipped and returns NULL when that file is missing. */
char *peftq_test_get_data_path (const char *relative);

/* Creates a fresh temporary folder for one test; remove it with peftq_test_remove_dir. */
char *peftq_test_make_temp_dir (void);
void  peftq_test_remove_dir    (const char *path);

/* Writes @length bytes to @name inside @dir with plain stdio calls (not through peftq) and
 * returns the full path. */
char *peftq_test_write_file (const char    *dir,
                             const char    *name,
                             gconstpointer  data,
                             gsize          length);

/* Reads a whole file into a GBytes, failing the test if it cannot be read. */
GBytes *peftq_test_read_file (const char *path);

/* Builds safetensors file contents by hand: the 8-byte little-endian length of @header,
 * @header itself and @data_size bytes of data (0, 1, 2, ... modulo 251). */
GBytes *peftq_test_build_safetensors (const char *header,
                                      gsize       data_size);

/* Lists the names in @dir, sorted. */
char **peftq_test_list_dir (const char *dir);

/* Fills @data with bytes from @rng. */
void peftq_test_fill_random (GRand  *rng,
                             guint8 *data,
                             gsize   length);

/* Lowers the soft file size limit (RLIMIT_FSIZE) of this process to @max_bytes, so that
 * write() fails with EFBIG past that size, and ignores SIGXFSZ, which would otherwise
 * kill the process. Returns FALSE, after marking the test skipped, when the limit cannot
 * be set. Call peftq_test_restore_file_size_limit before printing anything. */
gboolean peftq_test_limit_file_size         (guint64 max_bytes);
void     peftq_test_restore_file_size_limit (void);

/* Asserts that @error has domain @domain and code @code and that its message contains
 * @word. The message is printed first, so a failing check shows it. */
#define peftq_test_assert_error_mentions(error, domain, code, word)          \
  G_STMT_START {                                                             \
    g_assert_error ((error), (domain), (code));                              \
    g_test_message ("error message: %s", (error)->message);                  \
    g_assert_true (strstr ((error)->message, (word)) != NULL);               \
  } G_STMT_END

G_END_DECLS
