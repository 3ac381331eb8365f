/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq/peftq.h>

#include "peftq-parallel-private.h"
#include "test-util.h"

typedef struct
{
  gsize n_items;
  gint *visits;        /* how often each item was passed to the callback */
  GMutex mutex;
  GArray *chunks;      /* Chunk, in the order the callbacks ran */
} Coverage;

typedef struct
{
  gsize begin;
  gsize end;
} Chunk;

static void
record_chunk (gsize    begin,
              gsize    end,
              gpointer user_data)
{
  Coverage *coverage = user_data;
  Chunk chunk = { begin, end };

  for (gsize i = begin; i < end && i < coverage->n_items; i++)
    g_atomic_int_inc (&coverage->visits[i]);

  g_mutex_lock (&coverage->mutex);
  g_array_append_val (coverage->chunks, chunk);
  g_mutex_unlock (&coverage->mutex);
}

static int
compare_chunks (gconstpointer a,
                gconstpointer b)
{
  const Chunk *first = a;
  const Chunk *second = b;

  return first->begin < second->begin ? -1 : first->begin > second->begin;
}

/* Runs peftq_parallel_for over @n_items and checks that the chunks tile the range. Every
 * item is visited exactly once, and the chunks are contiguous, in bounds and at most one
 * per thread. No chunk is smaller than @min_chunk unless the whole range is, and chunk
 * sizes differ by at most one item. */
static void
check_coverage (guint n_threads,
                gsize n_items,
                gsize min_chunk)
{
  Coverage coverage = { n_items, g_new0 (gint, MAX (n_items, 1)), { 0 }, g_array_new (FALSE, FALSE, sizeof (Chunk)) };
  gsize expected_begin = 0;
  gsize smallest = G_MAXSIZE;
  gsize largest = 0;

  g_test_message ("%u threads, %" G_GSIZE_FORMAT " items, chunks of at least %" G_GSIZE_FORMAT,
                  n_threads, n_items, min_chunk);
  g_mutex_init (&coverage.mutex);
  peftq_set_num_threads (n_threads);

  peftq_parallel_for (n_items, min_chunk, record_chunk, &coverage);

  for (gsize i = 0; i < n_items; i++)
    g_assert_cmpint (coverage.visits[i], ==, 1);

  g_array_sort (coverage.chunks, compare_chunks);
  g_assert_cmpuint (coverage.chunks->len, <=, n_threads);
  if (n_items == 0)
    g_assert_cmpuint (coverage.chunks->len, ==, 0);
  else
    g_assert_cmpuint (coverage.chunks->len, >=, 1);

  for (guint c = 0; c < coverage.chunks->len; c++)
    {
      Chunk *chunk = &g_array_index (coverage.chunks, Chunk, c);

      g_assert_cmpuint (chunk->begin, ==, expected_begin);
      g_assert_cmpuint (chunk->end, >, chunk->begin);
      g_assert_cmpuint (chunk->end, <=, n_items);
      g_assert_cmpuint (chunk->end - chunk->begin, >=, MIN (MAX (min_chunk, 1), n_items));
      smallest = MIN (smallest, chunk->end - chunk->begin);
      largest = MAX (largest, chunk->end - chunk->begin);
      expected_begin = chunk->end;
    }
  g_assert_cmpuint (expected_begin, ==, n_items);
  if (n_items > 0)
    g_assert_cmpuint (largest - smallest, <=, 1);

  g_mutex_clear (&coverage.mutex);
  g_array_unref (coverage.chunks);
  g_free (coverage.visits);
}

static void
test_parallel_for_coverage (void)
{
  static const guint thread_counts[] = { 1, 2, 3, 7 };
  static const gsize item_counts[] = { 0, 1, 2, 3, 6, 7, 8, 100, 1001, 65537 };
  static const gsize min_chunks[] = { 0, 1, 3, 64, 5000 };

  g_test_summary ("peftq_parallel_for covers the range exactly once with 1, 2, 3 and 7 threads");

  for (gsize t = 0; t < G_N_ELEMENTS (thread_counts); t++)
    for (gsize n = 0; n < G_N_ELEMENTS (item_counts); n++)
      for (gsize m = 0; m < G_N_ELEMENTS (min_chunks); m++)
        check_coverage (thread_counts[t], item_counts[n], min_chunks[m]);

  peftq_set_num_threads (0);
}

static void
test_parallel_for_uses_threads (void)
{
  Coverage coverage = { 700, g_new0 (gint, 700), { 0 }, g_array_new (FALSE, FALSE, sizeof (Chunk)) };

  g_test_summary ("With 7 threads and enough items, the range splits into 7 chunks");

  g_mutex_init (&coverage.mutex);
  peftq_set_num_threads (7);
  peftq_parallel_for (700, 1, record_chunk, &coverage);
  peftq_set_num_threads (0);

  g_assert_cmpuint (coverage.chunks->len, ==, 7);

  g_mutex_clear (&coverage.mutex);
  g_array_unref (coverage.chunks);
  g_free (coverage.visits);
}

typedef struct
{
  gint inner_calls;
  gint inner_items;
} Nested;

static void
count_inner (gsize    begin,
             gsize    end,
             gpointer user_data)
{
  Nested *nested = user_data;

  g_atomic_int_inc (&nested->inner_calls);
  g_atomic_int_add (&nested->inner_items, (gint) (end - begin));
}

static void
run_inner (gsize    begin,
           gsize    end,
           gpointer user_data)
{
  for (gsize i = begin; i < end; i++)
    peftq_parallel_for (50, 1, count_inner, user_data);
}

static void
test_parallel_for_nested (void)
{
  Nested nested = { 0, 0 };

  g_test_summary ("A parallel loop inside a parallel loop finishes and covers every inner item");

  peftq_set_num_threads (3);
  peftq_parallel_for (9, 1, run_inner, &nested);
  peftq_set_num_threads (0);

  g_assert_cmpint (g_atomic_int_get (&nested.inner_items), ==, 9 * 50);
  g_assert_cmpint (g_atomic_int_get (&nested.inner_calls), >=, 9);
}

static void
test_num_threads_setting (void)
{
  g_test_summary ("set_num_threads changes the count, and 0 returns to the default");

  peftq_set_num_threads (5);
  g_assert_cmpuint (peftq_get_num_threads (), ==, 5);

  peftq_set_num_threads (0);
  g_assert_cmpuint (peftq_get_num_threads (), >=, 1);
}

static void
test_num_threads_environment (void)
{
  g_test_summary ("PEFTQ_NUM_THREADS sets the default, and an invalid value is ignored");

  if (g_test_subprocess ())
    {
      const char *expected = g_getenv ("PEFTQ_TEST_EXPECTED_THREADS");

      g_assert_nonnull (expected);
      if (g_strcmp0 (expected, "processors") == 0)
        g_assert_cmpuint (peftq_get_num_threads (), ==, g_get_num_processors ());
      else
        g_assert_cmpuint (peftq_get_num_threads (), ==, g_ascii_strtoull (expected, NULL, 10));
      return;
    }

  /* The child inherits the environment, and the first call reads the variable. */
  g_setenv ("PEFTQ_NUM_THREADS", "3", TRUE);
  g_setenv ("PEFTQ_TEST_EXPECTED_THREADS", "3", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();

  g_setenv ("PEFTQ_NUM_THREADS", "zero", TRUE);
  g_setenv ("PEFTQ_TEST_EXPECTED_THREADS", "processors", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();

  g_setenv ("PEFTQ_NUM_THREADS", "0", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();

  g_unsetenv ("PEFTQ_NUM_THREADS");
  g_unsetenv ("PEFTQ_TEST_EXPECTED_THREADS");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  /* First, so that g_setenv runs before any worker thread exists. */
  g_test_add_func ("/peftq/threads/num-threads/environment", test_num_threads_environment);
  g_test_add_func ("/peftq/threads/parallel-for/coverage", test_parallel_for_coverage);
  g_test_add_func ("/peftq/threads/parallel-for/uses-threads", test_parallel_for_uses_threads);
  g_test_add_func ("/peftq/threads/parallel-for/nested", test_parallel_for_nested);
  g_test_add_func ("/peftq/threads/num-threads/setting", test_num_threads_setting);

  return g_test_run ();
}
