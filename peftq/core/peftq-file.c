/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-file-private.h"
#include "peftq-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

struct _PeftqAtomicFile
{
  char *path;
  char *temp_path;
  int fd;
};

static void
set_io_error (GError     **error,
              int          saved_errno,
              const char  *action,
              const char  *path)
{
  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO,
               "Failed to %s “%s”: %s", action, path, g_strerror (saved_errno));
}

gboolean
peftq_check_regular_file (const char  *path,
                          GError     **error)
{
  GStatBuf info;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_stat (path, &info) != 0)
    return TRUE;

  if (!S_ISREG (info.st_mode))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO,
                   "“%s” is not a regular file%s", path,
                   S_ISDIR (info.st_mode) ? " but a folder" : "");
      return FALSE;
    }

  return TRUE;
}

gboolean
peftq_check_file_prefix (const char  *prefix,
                         GError     **error)
{
  g_return_val_if_fail (prefix != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (*prefix == '\0')
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Invalid file name prefix “”: it must not be empty");
      return FALSE;
    }

  if (strcmp (prefix, ".") == 0 || strcmp (prefix, "..") == 0 ||
      strchr (prefix, '/') != NULL || strchr (prefix, G_DIR_SEPARATOR) != NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Invalid file name prefix “%s”: it must be a file name without a folder part, "
                   "not “.” or “..”", prefix);
      return FALSE;
    }

  return TRUE;
}

PeftqAtomicFile *
peftq_atomic_file_begin (const char  *path,
                         GError     **error)
{
  PeftqAtomicFile *file;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO,
                   "Failed to write “%s”: it is a folder", path);
      return NULL;
    }

  /* The temporary file sits in the same folder, so that rename() cannot cross file
   * systems. A dot prefix hides it from directory listings while it is written. */
  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);

  file = g_new0 (PeftqAtomicFile, 1);
  file->path = g_strdup (path);
  file->temp_path = g_strdup_printf ("%s%c.%s.XXXXXX", dir, G_DIR_SEPARATOR, base);
  /* open() applies the umask to 0666, so the file gets the mode of any new data file. */
  file->fd = g_mkstemp_full (file->temp_path, O_WRONLY, 0666);
  if (file->fd < 0)
    {
      int saved_errno = errno;

      set_io_error (error, saved_errno, "create a temporary file for", path);
      g_free (file->path);
      g_free (file->temp_path);
      g_free (file);
      return NULL;
    }

  return file;
}

gboolean
peftq_atomic_file_write (PeftqAtomicFile  *file,
                         gconstpointer     data,
                         gsize             length,
                         GError          **error)
{
  const guint8 *bytes = data;

  g_return_val_if_fail (file != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  while (length > 0)
    {
      gssize written = write (file->fd, bytes, MIN (length, (gsize) G_MAXSSIZE));

      if (written < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;

          set_io_error (error, saved_errno, "write", file->path);
          return FALSE;
        }

      bytes += written;
      length -= (gsize) written;
    }

  return TRUE;
}

static void
atomic_file_free (PeftqAtomicFile *file)
{
  g_free (file->path);
  g_free (file->temp_path);
  g_free (file);
}

void
peftq_atomic_file_abort (PeftqAtomicFile *file)
{
  if (file == NULL)
    return;

  if (file->fd >= 0)
    close (file->fd);
  g_unlink (file->temp_path);
  atomic_file_free (file);
}

gboolean
peftq_atomic_file_commit (PeftqAtomicFile  *file,
                          GError          **error)
{
  int fd;

  g_return_val_if_fail (file != NULL, FALSE);

  fd = file->fd;
  file->fd = -1;

  /* Flush before the rename: otherwise a crash can leave the new name on empty data. */
  if (fsync (fd) != 0 && errno != EINVAL)
    {
      int saved_errno = errno;

      close (fd);
      set_io_error (error, saved_errno, "flush", file->path);
      peftq_atomic_file_abort (file);
      return FALSE;
    }

  if (close (fd) != 0)
    {
      int saved_errno = errno;

      set_io_error (error, saved_errno, "close", file->path);
      peftq_atomic_file_abort (file);
      return FALSE;
    }

  if (g_rename (file->temp_path, file->path) != 0)
    {
      int saved_errno = errno;

      set_io_error (error, saved_errno, "rename the temporary file to", file->path);
      peftq_atomic_file_abort (file);
      return FALSE;
    }

  atomic_file_free (file);
  return TRUE;
}

gboolean
peftq_file_set_contents_atomic (const char  *path,
                                const char  *contents,
                                gssize       length,
                                GError     **error)
{
  g_autoptr(PeftqAtomicFile) file = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (contents != NULL || length <= 0, FALSE);

  if (length < 0)
    length = (gssize) strlen (contents);

  file = peftq_atomic_file_begin (path, error);
  if (file == NULL)
    return FALSE;

  if (!peftq_atomic_file_write (file, contents, (gsize) length, error))
    return FALSE;

  return peftq_atomic_file_commit (g_steal_pointer (&file), error);
}
