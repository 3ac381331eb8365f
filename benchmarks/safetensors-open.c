/* SPDX-License-Identifier: MIT */
/* Measures what opening a large safetensors file through peftq costs, against reading it.
 *
 * The program writes a file of many 4 MiB F32 tensors (1 GiB by default). Then it runs
 * two phases, each in its own child process, so that their peak memory stays separate.
 *   (a) peftq_safetensors_file_open, then get_tensor and a read of the first byte of
 *       every tensor.
 *   (b) read() of the whole file into one buffer, the baseline.
 * It prints the median time of each phase and the ratio (a)/(b). For memory it prints the
 * peak resident set and the anonymous part of it (RssAnon, memory not backed by a file)
 * at the end of the phase. It also prints how much of the file was in the page cache
 * (mincore) when each phase began and, at most, when it ended.
 * With --cold, each phase starts after posix_fadvise(POSIX_FADV_DONTNEED) has asked the
 * kernel to drop the file's cached pages, which needs no privileges. */
/* mincore() and posix_fadvise() are outside strict C11. */
#define _GNU_SOURCE 1

#include "config.h"

#include <peftq/peftq.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TENSOR_BYTES (4 * 1024 * 1024)

typedef struct
{
  double seconds;
  long peak_rss_kib;
  long anonymous_kib;       /* RssAnon before the phase frees its memory */
  double cached_fraction;   /* of the file's pages, when the phase began */
  double cached_after;      /* of the file's pages, when the phase ended */
  guint64 checksum;         /* keeps the reads from being optimized away */
} PhaseResult;

/* Runs one phase and stores RssAnon before the phase frees its memory. */
typedef gboolean (*PhaseFunc) (const char  *path,
                               guint64     *checksum,
                               long        *anonymous_kib,
                               GError     **error);

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* Writes @n_tensors tensors of TENSOR_BYTES each with plain write() calls, so that the
 * writing process keeps at most one tensor in memory. */
static gboolean
write_benchmark_file (const char  *path,
                      guint        n_tensors,
                      GError     **error)
{
  g_autoptr(GString) header = g_string_new ("{\"__metadata__\":{\"format\":\"pt\"}");
  g_autofree guint8 *tensor = g_malloc (TENSOR_BYTES);
  guint64 header_length;
  int fd;

  for (guint i = 0; i < n_tensors; i++)
    g_string_append_printf (header,
                            ",\"model.layers.%04u.weight\":{\"dtype\":\"F32\",\"shape\":[1024,1024],"
                            "\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                            i, (guint64) i * TENSOR_BYTES, (guint64) (i + 1) * TENSOR_BYTES);
  g_string_append_c (header, '}');
  while ((8 + header->len) % 8 != 0)
    g_string_append_c (header, ' ');
  header_length = GUINT64_TO_LE ((guint64) header->len);

  for (gsize i = 0; i < TENSOR_BYTES; i++)
    tensor[i] = (guint8) (i * 31 + 7);

  fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "Failed to create %s: %s",
                   path, g_strerror (errno));
      return FALSE;
    }

  if (write (fd, &header_length, 8) != 8 || write (fd, header->str, header->len) != (gssize) header->len)
    goto failed;
  for (guint i = 0; i < n_tensors; i++)
    {
      tensor[0] = (guint8) i;
      if (write (fd, tensor, TENSOR_BYTES) != TENSOR_BYTES)
        goto failed;
    }

  /* Clean pages are what POSIX_FADV_DONTNEED can drop for --cold. */
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "Failed to flush %s: %s",
                   path, g_strerror (errno));
      return FALSE;
    }
  return TRUE;

failed:
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "Failed to write %s: %s",
               path, g_strerror (errno));
  close (fd);
  return FALSE;
}

/* Returns a field of /proc/self/status in KiB, such as RssAnon, or -1 where there is none. */
static long
read_status_kib (const char *field)
{
  g_autofree char *status = NULL;
  g_autofree char *prefix = g_strdup_printf ("\n%s:", field);
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, prefix);
  if (line == NULL)
    return -1;

  return strtol (line + strlen (prefix), NULL, 10);
}

/* Returns the fraction of @path's pages that are in the page cache, or -1 if unknown. */
static double
cached_fraction (const char *path)
{
  long page_size = sysconf (_SC_PAGESIZE);
  GStatBuf info;
  g_autofree unsigned char *resident = NULL;
  gsize n_pages;
  gsize n_resident = 0;
  void *mapping;
  int fd;

  if (g_stat (path, &info) != 0 || info.st_size == 0)
    return -1;

  fd = g_open (path, O_RDONLY, 0);
  if (fd < 0)
    return -1;
  mapping = mmap (NULL, (size_t) info.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close (fd);
  if (mapping == MAP_FAILED)
    return -1;

  n_pages = ((gsize) info.st_size + (gsize) page_size - 1) / (gsize) page_size;
  resident = g_malloc (n_pages);
  if (mincore (mapping, (size_t) info.st_size, resident) == 0)
    {
      for (gsize i = 0; i < n_pages; i++)
        n_resident += resident[i] & 1;
    }
  munmap (mapping, (size_t) info.st_size);

  return (double) n_resident / (double) n_pages;
}

static void
drop_from_page_cache (const char *path)
{
  int fd = g_open (path, O_RDONLY, 0);

  if (fd < 0)
    return;
  posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
  close (fd);
}

/* Phase (a): open with peftq and read the first byte of every tensor. */
static gboolean
open_with_peftq (const char  *path,
                 guint64     *checksum,
                 long        *anonymous_kib,
                 GError     **error)
{
  g_autoptr(PeftqSafetensorsFile) file = peftq_safetensors_file_open (path, error);
  g_auto(GStrv) names = NULL;

  if (file == NULL)
    return FALSE;

  names = peftq_safetensors_file_get_tensor_names (file);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(PeftqTensor) tensor = peftq_safetensors_file_get_tensor (file, names[i], error);

      if (tensor == NULL)
        return FALSE;
      *checksum += *(const volatile guint8 *) peftq_tensor_peek_data (tensor);
    }

  *anonymous_kib = read_status_kib ("RssAnon");
  return TRUE;
}

/* Phase (b): read the whole file into one buffer with read(). */
static gboolean
read_whole_file (const char  *path,
                 guint64     *checksum,
                 long        *anonymous_kib,
                 GError     **error)
{
  GStatBuf info;
  g_autofree guint8 *buffer = NULL;
  gsize done = 0;
  int fd;

  if (g_stat (path, &info) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "Failed to stat %s", path);
      return FALSE;
    }

  buffer = g_malloc ((gsize) info.st_size);
  fd = g_open (path, O_RDONLY, 0);
  if (fd < 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "Failed to open %s", path);
      return FALSE;
    }

  while (done < (gsize) info.st_size)
    {
      gssize n = read (fd, buffer + done, (gsize) info.st_size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_IO, "Failed to read %s", path);
          close (fd);
          return FALSE;
        }
      done += (gsize) n;
    }
  close (fd);

  *checksum += buffer[done / 2];
  *anonymous_kib = read_status_kib ("RssAnon");
  return TRUE;
}

/* Runs @phase in a child process and collects its time, peak memory and cache state. */
static gboolean
run_phase_in_child (PhaseFunc    phase,
                    const char  *path,
                    gboolean     cold,
                    PhaseResult *result)
{
  int pipe_fds[2];
  pid_t child;
  int status = 0;

  if (pipe (pipe_fds) != 0)
    return FALSE;

  child = fork ();
  if (child < 0)
    return FALSE;

  if (child == 0)
    {
      g_autoptr(GError) error = NULL;
      PhaseResult measured = { 0 };
      struct rusage usage;
      double start;

      close (pipe_fds[0]);
      if (cold)
        drop_from_page_cache (path);
      measured.cached_fraction = cached_fraction (path);

      start = now_seconds ();
      if (!phase (path, &measured.checksum, &measured.anonymous_kib, &error))
        {
          g_printerr ("%s\n", error->message);
          _exit (1);
        }
      measured.seconds = now_seconds () - start;
      measured.cached_after = cached_fraction (path);

      getrusage (RUSAGE_SELF, &usage);
      measured.peak_rss_kib = usage.ru_maxrss;   /* kibibytes on Linux */

      if (write (pipe_fds[1], &measured, sizeof measured) != sizeof measured)
        _exit (1);
      _exit (0);
    }

  close (pipe_fds[1]);
  if (read (pipe_fds[0], result, sizeof *result) != sizeof *result)
    result->seconds = -1;
  close (pipe_fds[0]);
  waitpid (child, &status, 0);

  return WIFEXITED (status) && WEXITSTATUS (status) == 0 && result->seconds >= 0;
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

typedef struct
{
  double median_seconds;
  long peak_rss_kib;
  long anonymous_kib;
  double min_cached;
  double max_cached;
  double max_cached_after;
} PhaseSummary;

static gboolean
measure_phase (PhaseFunc     phase,
               const char   *path,
               gboolean      cold,
               guint         repeats,
               PhaseSummary *summary)
{
  g_autofree double *times = g_new (double, repeats);

  summary->peak_rss_kib = 0;
  summary->anonymous_kib = 0;
  summary->min_cached = 1;
  summary->max_cached = 0;
  summary->max_cached_after = 0;
  for (guint r = 0; r < repeats; r++)
    {
      PhaseResult result = { 0 };

      if (!run_phase_in_child (phase, path, cold, &result))
        return FALSE;
      times[r] = result.seconds;
      summary->peak_rss_kib = MAX (summary->peak_rss_kib, result.peak_rss_kib);
      summary->anonymous_kib = MAX (summary->anonymous_kib, result.anonymous_kib);
      summary->min_cached = MIN (summary->min_cached, result.cached_fraction);
      summary->max_cached = MAX (summary->max_cached, result.cached_fraction);
      summary->max_cached_after = MAX (summary->max_cached_after, result.cached_after);
    }

  qsort (times, repeats, sizeof (double), compare_doubles);
  summary->median_seconds = times[repeats / 2];
  return TRUE;
}

static void
print_phase (const char         *label,
             const PhaseSummary *summary)
{
  printf ("%-44s %10.3f ms  %8.1f MiB  %8.1f MiB  %3.0f%%-%3.0f%%  %3.0f%%\n",
          label, summary->median_seconds * 1e3, (double) summary->peak_rss_kib / 1024.0,
          (double) summary->anonymous_kib / 1024.0,
          summary->min_cached * 100, summary->max_cached * 100, summary->max_cached_after * 100);
}

int
main (int    argc,
      char **argv)
{
  gint size_mib = 1024;
  gint repeats = 5;
  gboolean cold = FALSE;
  g_auto(GStrv) paths = NULL;
  const GOptionEntry entries[] = {
    { "size-mib", 's', 0, G_OPTION_ARG_INT, &size_mib, "File size in MiB, a multiple of 4 (default 1024)", "MIB" },
    { "repeats", 'r', 0, G_OPTION_ARG_INT, &repeats, "Runs of each phase; the median time is shown (default 5)", "N" },
    { "cold", 0, 0, G_OPTION_ARG_NONE, &cold, "Drop the file from the page cache before each run", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &paths, NULL, "[PATH]" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[PATH]");
  g_autoptr(GError) error = NULL;
  g_autofree char *temp_dir = NULL;
  g_autofree char *path = NULL;
  PhaseSummary mapped;
  PhaseSummary read_all;
  struct utsname machine;
  double write_start;
  guint n_tensors;

  g_option_context_set_summary (context,
                                "Write a safetensors file (to PATH, or to a temporary folder) and compare opening it\n"
                                "with peftq and touching every tensor against reading it whole with read().");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (size_mib < 4 || size_mib % 4 != 0 || repeats < 1 || (paths != NULL && g_strv_length (paths) > 1))
    {
      g_printerr ("--size-mib must be a positive multiple of 4, --repeats at least 1, and at most one PATH\n");
      return 2;
    }

  n_tensors = (guint) size_mib / 4;
  if (paths != NULL && paths[0] != NULL)
    path = g_strdup (paths[0]);
  else
    {
      temp_dir = g_dir_make_tmp ("peftq-benchmark-XXXXXX", &error);
      if (temp_dir == NULL)
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      path = g_build_filename (temp_dir, "model.safetensors", NULL);
    }

  uname (&machine);
  printf ("peftq %s safetensors-open benchmark on %s %s, %u processors\n",
          PEFTQ_VERSION_S, machine.sysname, machine.machine, g_get_num_processors ());

  write_start = now_seconds ();
  if (!write_benchmark_file (path, n_tensors, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  printf ("wrote %s: %u tensors of 4 MiB (%d MiB) in %.2f s\n", path, n_tensors, size_mib, now_seconds () - write_start);
  printf ("page cache: %s, median of %d runs\n\n", cold ? "dropped before each run (--cold)" : "as left by the write", repeats);

  if (!measure_phase (read_whole_file, path, cold, (guint) repeats, &read_all) ||
      !measure_phase (open_with_peftq, path, cold, (guint) repeats, &mapped))
    {
      g_printerr ("A benchmark phase failed\n");
      return 1;
    }

  printf ("%-44s %13s  %12s  %12s  %9s  %s\n", "phase", "median time", "peak RSS", "anonymous", "cached",
          "cached after");
  print_phase ("(a) peftq open + first byte of each tensor", &mapped);
  print_phase ("(b) read() of the whole file", &read_all);
  printf ("\nratio (a)/(b): %.5f\n", mapped.median_seconds / read_all.median_seconds);

  if (temp_dir != NULL)
    {
      g_unlink (path);
      g_rmdir (temp_dir);
    }

  return 0;
}
