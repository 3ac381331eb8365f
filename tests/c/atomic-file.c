/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq/peftq.h>

#include "peftq-file-private.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  user_data)
{
  fixture->dir = peftq_test_make_temp_dir ();
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  user_data)
{
  peftq_test_remove_dir (fixture->dir);
  g_free (fixture->dir);
}

static void
assert_dir_lists (const char         *dir,
                  const char * const *expected)
{
  g_auto(GStrv) names = peftq_test_list_dir (dir);
  guint n_expected = expected != NULL ? g_strv_length ((GStrv) expected) : 0;

  for (guint i = 0; names[i] != NULL; i++)
    g_test_message ("%s contains %s", dir, names[i]);

  g_assert_cmpuint (g_strv_length (names), ==, n_expected);
  for (guint i = 0; i < n_expected; i++)
    g_assert_cmpstr (names[i], ==, expected[i]);
}

static void
assert_file_contains (const char *path,
                      const char *expected)
{
  g_autoptr(GBytes) contents = peftq_test_read_file (path);

  g_assert_cmpmem (g_bytes_get_data (contents, NULL), g_bytes_get_size (contents), expected, strlen (expected));
}

static void
test_creates_file (Fixture       *fixture,
                   gconstpointer  user_data)
{
  static const char * const expected[] = { "out.json", NULL };
  g_autofree char *path = g_build_filename (fixture->dir, "out.json", NULL);
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("set_contents_atomic creates the file with the contents and nothing else");

  written = peftq_file_set_contents_atomic (path, "{\"a\": 1}", -1, &error);

  g_assert_no_error (error);
  g_assert_true (written);
  assert_file_contains (path, "{\"a\": 1}");
  assert_dir_lists (fixture->dir, expected);
}

static void
test_replaces_file (Fixture       *fixture,
                    gconstpointer  user_data)
{
  static const char * const expected[] = { "out.bin", NULL };
  g_autofree char *path = peftq_test_write_file (fixture->dir, "out.bin", "an older and longer text", 24);
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("set_contents_atomic replaces an existing file whole, with an explicit length");

  written = peftq_file_set_contents_atomic (path, "new\0data", 8, &error);

  g_assert_no_error (error);
  g_assert_true (written);
  {
    g_autoptr(GBytes) contents = peftq_test_read_file (path);
    g_assert_cmpmem (g_bytes_get_data (contents, NULL), g_bytes_get_size (contents), "new\0data", 8);
  }
  assert_dir_lists (fixture->dir, expected);
}

static void
test_empty_contents (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "empty", NULL);
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("Writing zero bytes gives an empty file");

  written = peftq_file_set_contents_atomic (path, "", 0, &error);

  g_assert_no_error (error);
  g_assert_true (written);
  assert_file_contains (path, "");
}

static void
test_mode_follows_umask (Fixture       *fixture,
                         gconstpointer  user_data)
{
  static const mode_t masks[] = { 022, 077, 002 };

  g_test_summary ("New files get mode 0666 minus the umask, like files that open() creates");

  for (gsize i = 0; i < G_N_ELEMENTS (masks); i++)
    {
      g_autofree char *name = g_strdup_printf ("mode-%03o", (guint) masks[i]);
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
      g_autoptr(GError) error = NULL;
      mode_t previous = umask (masks[i]);
      GStatBuf info;

      peftq_file_set_contents_atomic (path, "x", 1, &error);
      umask (previous);

      g_assert_no_error (error);
      g_assert_cmpint (g_stat (path, &info), ==, 0);
      g_assert_cmpuint (info.st_mode & 0777, ==, 0666 & ~masks[i]);
    }
}

static void
test_missing_folder (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "no-such-folder", "out.json", NULL);
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("Writing into a missing folder fails with an I/O error that names the file");

  written = peftq_file_set_contents_atomic (path, "x", 1, &error);

  g_assert_false (written);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, path);
  assert_dir_lists (fixture->dir, NULL);
}

static void
test_over_folder (Fixture       *fixture,
                  gconstpointer  user_data)
{
  static const char * const expected[] = { "folder", NULL };
  g_autofree char *path = g_build_filename (fixture->dir, "folder", NULL);
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("Writing over a folder fails and leaves the folder");

  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);

  written = peftq_file_set_contents_atomic (path, "x", 1, &error);

  g_assert_false (written);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, "folder");
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));
  assert_dir_lists (fixture->dir, expected);
}

static void
test_abort_removes_temporary (Fixture       *fixture,
                              gconstpointer  user_data)
{
  static const char * const expected[] = { "kept", NULL };
  g_autofree char *path = peftq_test_write_file (fixture->dir, "kept", "old", 3);
  g_autoptr(GError) error = NULL;
  PeftqAtomicFile *file;

  g_test_summary ("Aborting a started file removes its temporary file and keeps the old file");

  file = peftq_atomic_file_begin (path, &error);
  g_assert_no_error (error);
  g_assert_true (peftq_atomic_file_write (file, "partial", 7, &error));
  g_assert_no_error (error);
  {
    g_auto(GStrv) during = peftq_test_list_dir (fixture->dir);

    /* While the file is written, the temporary file sits beside the old one. */
    g_assert_cmpuint (g_strv_length (during), ==, 2);
  }

  peftq_atomic_file_abort (file);

  assert_file_contains (path, "old");
  assert_dir_lists (fixture->dir, expected);
}

static void
test_failed_write_keeps_old_file (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  static const char * const expected[] = { "model.bin", NULL };
  g_autofree char *path = peftq_test_write_file (fixture->dir, "model.bin", "the old contents", 16);
  g_autofree char *contents = g_malloc0 (1024 * 1024);
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("A write that fails part way keeps the old file and leaves no temporary file");

  /* With a file size limit of 4 KiB, write() fails with EFBIG part way through 1 MiB. */
  if (!peftq_test_limit_file_size (4096))
    return;
  written = peftq_file_set_contents_atomic (path, contents, 1024 * 1024, &error);
  peftq_test_restore_file_size_limit ();

  g_assert_false (written);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, path);

  assert_file_contains (path, "the old contents");
  assert_dir_lists (fixture->dir, expected);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add ("/peftq/atomic-file/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("creates-file", test_creates_file);
  ADD ("replaces-file", test_replaces_file);
  ADD ("empty-contents", test_empty_contents);
  ADD ("mode-follows-umask", test_mode_follows_umask);
  ADD ("missing-folder", test_missing_folder);
  ADD ("over-folder", test_over_folder);
  ADD ("abort-removes-temporary", test_abort_removes_temporary);
  ADD ("failed-write-keeps-old-file", test_failed_write_keeps_old_file);
#undef ADD

  return g_test_run ();
}
