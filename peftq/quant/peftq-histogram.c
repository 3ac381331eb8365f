/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-histogram-private.h"

#include "peftq-encoding-analyzer-private.h"

#include <math.h>
#include <string.h>

PeftqHistogramSet *
peftq_histogram_set_new (gsize n_histograms,
                         guint n_bins)
{
  PeftqHistogramSet *set = g_new0 (PeftqHistogramSet, 1);

  set->n_histograms = n_histograms;
  set->n_bins = n_bins;
  set->valid = g_new0 (gboolean, n_histograms);
  set->min = g_new0 (double, n_histograms);
  set->max = g_new0 (double, n_histograms);
  set->counts = g_new0 (double, n_histograms * n_bins);

  return set;
}

void
peftq_histogram_set_free (PeftqHistogramSet *set)
{
  if (set == NULL)
    return;

  g_free (set->valid);
  g_free (set->min);
  g_free (set->max);
  g_free (set->counts);
  g_free (set);
}

gboolean
peftq_histogram_set_any (const PeftqHistogramSet *set)
{
  for (gsize i = 0; i < set->n_histograms; i++)
    if (set->valid[i])
      return TRUE;
  return FALSE;
}

/* The bin of @value in [lo, hi) with @n_bins bins of @width; values outside count in the
 * first or last bin. */
static guint
bin_index (double value,
           double lo,
           double width,
           guint  n_bins)
{
  double position = (value - lo) / width;

  if (!(position >= 0.0))
    return 0;
  if (position >= (double) n_bins)
    return n_bins - 1;
  return (guint) position;
}

/* Moves the counts of histogram @h to the range [new_min, new_max]. */
static void
redistribute (PeftqHistogramSet *set,
              gsize              h,
              double             new_min,
              double             new_max)
{
  guint n_bins = set->n_bins;
  double *counts = set->counts + h * n_bins;
  double src_width = (set->max[h] - set->min[h]) / n_bins;
  double dest_width = (new_max - new_min) / n_bins;
  g_autofree double *moved = g_new0 (double, n_bins);

  for (guint b = 0; b < n_bins; b++)
    {
      double count = counts[b];
      double src_start;
      double dest_end;
      double share;
      guint dest;

      if (count == 0.0)
        continue;

      src_start = set->min[h] + src_width * b;
      dest = bin_index (src_start, new_min, dest_width, n_bins);
      dest_end = new_min + dest_width * (dest + 1);

      /* The part of the source bin below the end of its destination bin stays there, and
       * the rest goes to the next bin. */
      share = nearbyint ((dest_end - src_start) / src_width * count);
      share = MIN (share, count);
      moved[dest] += share;
      if (share < count)
        moved[MIN (dest + 1, n_bins - 1)] += count - share;
    }

  memcpy (counts, moved, n_bins * sizeof (double));
  set->min[h] = new_min;
  set->max[h] = new_max;
}

gboolean
peftq_histogram_set_observe (PeftqHistogramSet     *set,
                             PeftqEncodingAnalyzer *analyzer,
                             PeftqTensor           *input,
                             GError               **error)
{
  g_autoptr(PeftqTensor) converted = NULL;
  PeftqQdqLayout layout;
  const float *data = NULL;
  g_autofree float *batch_min = NULL;
  g_autofree float *batch_max = NULL;
  g_autofree gboolean *batch_seen = NULL;
  guint64 n_nonfinite = 0;
  guint64 n_near_limit = 0;

  if (!peftq_encoding_analyzer_prepare_input (analyzer, input, &layout, &data, &converted,
                                              error))
    return FALSE;

  batch_min = g_new0 (float, set->n_histograms);
  batch_max = g_new0 (float, set->n_histograms);
  batch_seen = g_new0 (gboolean, set->n_histograms);
  peftq_qdq_reduce_min_max (&layout, data, batch_min, batch_max, batch_seen,
                            &n_nonfinite, &n_near_limit);
  peftq_encoding_analyzer_warn_values (analyzer, n_nonfinite, n_near_limit);

  /* Fix or widen the range of every histogram that sees data. */
  for (gsize h = 0; h < set->n_histograms; h++)
    {
      double lo = batch_min[h];
      double hi = batch_max[h];

      if (!batch_seen[h])
        continue;

      if (!set->valid[h])
        {
          if (lo == hi)
            {
              lo -= 0.5;
              hi += 0.5;
            }
          set->min[h] = lo;
          set->max[h] = hi;
          set->valid[h] = TRUE;
        }
      else if (lo < set->min[h] || hi > set->max[h])
        {
          redistribute (set, h, MIN (lo, set->min[h]), MAX (hi, set->max[h]));
        }
    }

  for (guint64 run = 0; run < layout.n_runs; run++)
    {
      guint64 h = peftq_qdq_layout_get_encoding (&layout, run);
      const float *values = data + run * layout.run_length;
      double *counts = set->counts + h * set->n_bins;
      double lo = set->min[h];
      double width = (set->max[h] - lo) / set->n_bins;

      if (!batch_seen[h])
        continue;

      for (guint64 i = 0; i < layout.run_length; i++)
        if (isfinite (values[i]))
          counts[bin_index (values[i], lo, width, set->n_bins)] += 1.0;
    }

  return TRUE;
}
