/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-threads.h"
#include "peftq-parallel-private.h"

#include <stdlib.h>

/* 0 means not chosen yet: the first use reads PEFTQ_NUM_THREADS or counts the processors. */
static guint configured_threads;
static GThreadPool *worker_pool;
static GMutex pool_mutex;

typedef struct
{
  PeftqRangeFunc func;
  gpointer user_data;
  GMutex mutex;
  GCond done_cond;
  guint n_pending;
} ParallelJob;

typedef struct
{
  ParallelJob *job;
  gsize begin;
  gsize end;
} ParallelChunk;

/**
 * peftq_get_num_threads:
 *
 * Returns the number of threads that peftq's kernels split large tensors across. It
 * defaults to the `PEFTQ_NUM_THREADS` environment variable when that is a positive
 * integer, and otherwise to the number of processors.
 *
 * Returns: the thread count, at least 1
 *
 * Since: 1.0
 */
guint
peftq_get_num_threads (void)
{
  guint n_threads = g_atomic_int_get (&configured_threads);

  if (n_threads == 0)
    {
      const char *from_env = g_getenv ("PEFTQ_NUM_THREADS");
      guint64 parsed = 0;

      if (from_env != NULL && g_ascii_string_to_unsigned (from_env, 10, 1, 1024, &parsed, NULL))
        n_threads = (guint) parsed;
      else
        n_threads = g_get_num_processors ();

      g_atomic_int_set (&configured_threads, MAX (n_threads, 1));
    }

  return g_atomic_int_get (&configured_threads);
}

/**
 * peftq_set_num_threads:
 * @n_threads: the thread count, or 0 to return to the default
 *
 * Sets the number of threads that peftq's kernels use. Results do not depend on the
 * thread count: every kernel splits work so that each output element is computed by one
 * thread in the same order.
 *
 * Since: 1.0
 */
void
peftq_set_num_threads (guint n_threads)
{
  g_atomic_int_set (&configured_threads, n_threads);
}

static void
run_chunk (gpointer data,
           gpointer pool_data)
{
  ParallelChunk *chunk = data;
  ParallelJob *job = chunk->job;

  job->func (chunk->begin, chunk->end, job->user_data);

  g_mutex_lock (&job->mutex);
  job->n_pending--;
  if (job->n_pending == 0)
    g_cond_signal (&job->done_cond);
  g_mutex_unlock (&job->mutex);
}

static GThreadPool *
get_worker_pool (void)
{
  g_mutex_lock (&pool_mutex);
  if (worker_pool == NULL)
    {
      /* Non-exclusive pool with no thread limit: nested parallel calls from a worker
       * cannot deadlock, because a new thread starts when all are busy. */
      worker_pool = g_thread_pool_new (run_chunk, NULL, -1, FALSE, NULL);
    }
  g_mutex_unlock (&pool_mutex);

  return worker_pool;
}

void
peftq_parallel_for (gsize          n_items,
                    gsize          min_chunk,
                    PeftqRangeFunc func,
                    gpointer       user_data)
{
  guint n_threads = peftq_get_num_threads ();
  gsize n_chunks;
  gsize chunk_size;
  gsize n_extra;
  ParallelJob job = { 0 };
  g_autofree ParallelChunk *chunks = NULL;

  if (n_items == 0)
    return;

  /* Rounding n_items / min_chunk down keeps every chunk at min_chunk items or more. */
  min_chunk = MAX (min_chunk, 1);
  n_chunks = MIN ((gsize) n_threads, n_items / min_chunk);
  if (n_chunks <= 1)
    {
      func (0, n_items, user_data);
      return;
    }

  /* Balanced split: the first n_items % n_chunks chunks get one extra item. */
  chunk_size = n_items / n_chunks;
  n_extra = n_items % n_chunks;

  job.func = func;
  job.user_data = user_data;
  g_mutex_init (&job.mutex);
  g_cond_init (&job.done_cond);
  job.n_pending = (guint) (n_chunks - 1);

  chunks = g_new (ParallelChunk, n_chunks);
  for (gsize i = 0; i < n_chunks; i++)
    {
      chunks[i].job = &job;
      chunks[i].begin = i * chunk_size + MIN (i, n_extra);
      chunks[i].end = chunks[i].begin + chunk_size + (i < n_extra ? 1 : 0);
    }

  for (gsize i = 1; i < n_chunks; i++)
    g_thread_pool_push (get_worker_pool (), &chunks[i], NULL);

  func (chunks[0].begin, chunks[0].end, user_data);

  g_mutex_lock (&job.mutex);
  while (job.n_pending > 0)
    g_cond_wait (&job.done_cond, &job.mutex);
  g_mutex_unlock (&job.mutex);

  g_mutex_clear (&job.mutex);
  g_cond_clear (&job.done_cond);
}
