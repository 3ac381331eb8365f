/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A file being written under a temporary name in the folder of its final path. Commit
 * flushes it to disk and renames it over the final path, so readers see either the old
 * file or the complete new one. Abort, or an error in any step, removes the temporary
 * file and leaves the old one untouched. */
typedef struct _PeftqAtomicFile PeftqAtomicFile;

PeftqAtomicFile *peftq_atomic_file_begin  (const char       *path,
                                           GError          **error);
gboolean         peftq_atomic_file_write  (PeftqAtomicFile  *file,
                                           gconstpointer     data,
                                           gsize             length,
                                           GError          **error);
/* Frees @file whether or not the commit succeeds. */
gboolean         peftq_atomic_file_commit (PeftqAtomicFile  *file,
                                           GError          **error);
void             peftq_atomic_file_abort  (PeftqAtomicFile  *file);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeftqAtomicFile, peftq_atomic_file_abort)

/* Writes @length bytes of @contents (-1 for a NUL-terminated string) atomically. */
gboolean peftq_file_set_contents_atomic (const char  *path,
                                         const char  *contents,
                                         gssize       length,
                                         GError     **error);

/* Fails with PEFTQ_ERROR_IO when @path exists but is not a regular file (a folder, FIFO,
 * device or socket). It only calls stat(), because opening a FIFO for reading blocks until
 * a writer appears. A missing or unreadable @path passes, so that the caller's open
 * reports it with its usual error (PEFTQ_ERROR_NOT_FOUND for a missing file). */
gboolean peftq_check_regular_file (const char  *path,
                                   GError     **error);

/* Fails with PEFTQ_ERROR_INVALID_ARGUMENT unless @prefix is a plain file name stem: not
 * empty, not "." or "..", and without a directory separator, so that files written as
 * `<dir>/<prefix><suffix>` stay inside `<dir>` and are not hidden files. */
gboolean peftq_check_file_prefix (const char  *prefix,
                                  GError     **error);

G_END_DECLS
