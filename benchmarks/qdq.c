/* SPDX-License-Identifier: MIT */
/* Quantize-dequantize throughput on a 64 MiB float32 tensor, per tensor and per channel,
 * with 1 and 2 threads, against memcpy of the same buffer in the same run. Throughput
 * counts the input bytes processed per second; each measurement is the best of several
 * repetitions. */
#include "config.h"

#include <peftq.h>

#include "peftq-qdq.h"

#include <string.h>

#define ROWS 4096
#define COLUMNS 4096
#define REPEATS 7

typedef void (*BenchFunc) (gpointer user_data);

typedef struct
{
  const float *input;
  float *output;
  gsize n;
  const PeftqQdqLayout *layout;
  const float *scales;
  const float *offsets;
  gboolean use_ref;
} Bench;

static void
run_memcpy (gpointer user_data)
{
  Bench *bench = user_data;

  memcpy (bench->output, bench->input, bench->n * sizeof (float));
}

static void
run_qdq (gpointer user_data)
{
  Bench *bench = user_data;

  peftq_qdq_run (bench->layout, PEFTQ_QDQ_OP_QDQ, bench->input, bench->output, bench->scales,
                 bench->offsets, -128.0f, 127.0f, bench->use_ref);
}

/* Returns the best time of REPEATS runs, in seconds. */
static double
best_time (BenchFunc func,
           gpointer  user_data)
{
  double best = G_MAXDOUBLE;

  func (user_data);
  for (int i = 0; i < REPEATS; i++)
    {
      gint64 start = g_get_monotonic_time ();

      func (user_data);
      best = MIN (best, (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
    }

  return best;
}

int
main (int    argc,
      char **argv)
{
  const gsize n = (gsize) ROWS * COLUMNS;
  const double gigabytes = (double) (n * sizeof (float)) / 1e9;
  const gint64 input_shape[] = { ROWS, COLUMNS };
  const gint64 channel_shape[] = { ROWS, 1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  g_autofree float *input = g_new (float, n);
  g_autofree float *output = g_new (float, n);
  g_autofree float *scales = g_new (float, ROWS);
  g_autofree float *offsets = g_new0 (float, ROWS);
  PeftqQdqLayout per_tensor;
  PeftqQdqLayout per_channel;
  Bench bench = { input, output, n, NULL, scales, offsets, FALSE };
  double memcpy_seconds;

  for (gsize i = 0; i < n; i++)
    input[i] = (float) g_rand_double_range (rand, -2.0, 2.0);
  memset (output, 0, n * sizeof (float));
  for (gsize c = 0; c < ROWS; c++)
    scales[c] = 0.01f + 0.00001f * (float) c;

  if (!peftq_qdq_layout_init (&per_tensor, input_shape, 2, NULL, 0, NULL, &error) ||
      !peftq_qdq_layout_init (&per_channel, input_shape, 2, channel_shape, 2, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  memcpy_seconds = best_time (run_memcpy, &bench);
  g_print ("64 MiB float32 (%d x %d), best of %d runs\n", ROWS, COLUMNS, REPEATS);
  g_print ("%-28s %8.2f GB/s\n", "memcpy", gigabytes / memcpy_seconds);

  for (guint threads = 1; threads <= 2; threads++)
    {
      const struct
      {
        const char *name;
        const PeftqQdqLayout *layout;
        gboolean use_ref;
      } cases[] = {
        { "qdq per tensor", &per_tensor, FALSE },
        { "qdq per channel", &per_channel, FALSE },
        { "qdq per tensor (_ref)", &per_tensor, TRUE },
      };

      peftq_set_num_threads (threads);
      for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
        {
          double seconds;
          g_autofree char *label = g_strdup_printf ("%s, %u thread%s", cases[c].name, threads,
                                                    threads > 1 ? "s" : "");

          bench.layout = cases[c].layout;
          bench.use_ref = cases[c].use_ref;
          seconds = best_time (run_qdq, &bench);
          g_print ("%-36s %8.2f GB/s  ratio to memcpy %.2f\n", label, gigabytes / seconds,
                   memcpy_seconds / seconds);
        }
    }

  return 0;
}
