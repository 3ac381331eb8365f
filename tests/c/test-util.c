/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/resource.h>

char *
peftq_test_get_data_path (const char *relative)
{
  const char *root = g_getenv ("PEFTQ_TESTDATA");
  g_autofree char *path = NULL;

  if (root == NULL || *root == '\0')
    {
      g_test_skip ("PEFTQ_TESTDATA is not set, so the shared test data cannot be found");
      return NULL;
    }

  path = g_build_filename (root, relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *message = g_strdup_printf ("Test data %s is missing", path);
      g_test_skip (message);
      return NULL;
    }

  return g_steal_pointer (&path);
}

char *
peftq_test_make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *path = g_dir_make_tmp ("peftq-test-XXXXXX", &error);

  g_assert_no_error (error);
  return path;
}

static void
remove_recursively (GFile *file)
{
  g_autoptr(GFileEnumerator) children = NULL;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  if (children != NULL)
    {
      GFileInfo *info;

      while ((info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
        {
          g_autoptr(GFile) child = g_file_get_child (file, g_file_info_get_name (info));

          remove_recursively (child);
          g_object_unref (info);
        }
    }

  g_file_delete (file, NULL, NULL);
}

void
peftq_test_remove_dir (const char *path)
{
  g_autoptr(GFile) dir = NULL;

  if (path == NULL)
    return;

  dir = g_file_new_for_path (path);
  remove_recursively (dir);
}

char *
peftq_test_write_file (const char    *dir,
                       const char    *name,
                       gconstpointer  data,
                       gsize          length)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, data, (gssize) length, &error);
  g_assert_no_error (error);

  return path;
}

GBytes *
peftq_test_read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);

  return g_bytes_new_take (contents, length);
}

GBytes *
peftq_test_build_safetensors (const char *header,
                              gsize       data_size)
{
  gsize header_size = strlen (header);
  guint64 length_le = GUINT64_TO_LE ((guint64) header_size);
  GByteArray *contents = g_byte_array_sized_new ((guint) (8 + header_size + data_size));

  g_byte_array_append (contents, (const guint8 *) &length_le, 8);
  g_byte_array_append (contents, (const guint8 *) header, (guint) header_size);
  for (gsize i = 0; i < data_size; i++)
    {
      guint8 value = (guint8) (i % 251);
      g_byte_array_append (contents, &value, 1);
    }

  return g_byte_array_free_to_bytes (contents);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

char **
peftq_test_list_dir (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) handle = g_dir_open (dir, 0, &error);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (handle)) != NULL)
    g_ptr_array_add (names, g_strdup (name));

  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);

  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

void
peftq_test_fill_random (GRand  *rng,
                        guint8 *data,
                        gsize   length)
{
  for (gsize i = 0; i < length; i++)
    data[i] = (guint8) g_rand_int_range (rng, 0, 256);
}

static struct rlimit saved_file_size_limit;
static struct sigaction saved_sigxfsz_action;

gboolean
peftq_test_limit_file_size (guint64 max_bytes)
{
  struct rlimit limit;
  struct sigaction ignore = { 0 };

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved_file_size_limit), ==, 0);
  if (saved_file_size_limit.rlim_max != RLIM_INFINITY && saved_file_size_limit.rlim_max < max_bytes)
    {
      g_test_skip ("The hard RLIMIT_FSIZE is below the limit this test needs");
      return FALSE;
    }

  ignore.sa_handler = SIG_IGN;
  g_assert_cmpint (sigaction (SIGXFSZ, &ignore, &saved_sigxfsz_action), ==, 0);

  limit.rlim_cur = (rlim_t) max_bytes;
  limit.rlim_max = saved_file_size_limit.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);

  return TRUE;
}

void
peftq_test_restore_file_size_limit (void)
{
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved_file_size_limit), ==, 0);
  g_assert_cmpint (sigaction (SIGXFSZ, &saved_sigxfsz_action, NULL), ==, 0);
}
