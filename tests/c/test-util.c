/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

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
