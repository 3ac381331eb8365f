/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-percentile-analyzer.h"

#include "peftq-encoding-analyzer-private.h"
#include "peftq-error.h"
#include "peftq-histogram-private.h"

/**
 * PeftqPercentileAnalyzer:
 *
 * The percentile encoding analyzer, AIMET's `post_training_percentile` scheme.
 *
 * It keeps one histogram of [property@Peftq.PercentileAnalyzer:num-bins] bins per
 * encoding value. The first observed tensor fixes the bin range, and later tensors widen
 * it, moving the old counts proportionally, so the statistics do not depend on how the
 * data is split into batches as long as the first batch holds the minimum and maximum.
 *
 * With cumulative counts `c` and total `T`, the range is `[edges[i_min], edges[i_max]]`,
 * where `i_max` is the first bin with `c >= T * p / 100` and `i_min` the first with
 * `c >= T * (1 - p / 100)`; with `p = 100` it is the whole histogram range. The range
 * then gets the adjustments of [class@Peftq.MinMaxAnalyzer].
 *
 * Since: 1.0
 */

struct _PeftqPercentileAnalyzer
{
  PeftqEncodingAnalyzer parent_instance;

  guint num_bins;
  double percentile;
  PeftqHistogramSet *histograms;
};

G_DEFINE_FINAL_TYPE (PeftqPercentileAnalyzer, peftq_percentile_analyzer, PEFTQ_TYPE_ENCODING_ANALYZER)

enum
{
  PROP_0,
  PROP_NUM_BINS,
  PROP_PERCENTILE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define DEFAULT_NUM_BINS 2048
#define MIN_PERCENTILE 50.0
#define MAX_PERCENTILE 100.0

static void
peftq_percentile_analyzer_reset (PeftqEncodingAnalyzer *analyzer)
{
  PeftqPercentileAnalyzer *self = PEFTQ_PERCENTILE_ANALYZER (analyzer);

  g_clear_pointer (&self->histograms, peftq_histogram_set_free);
  self->histograms = peftq_histogram_set_new (peftq_encoding_analyzer_get_n_encodings (analyzer),
                                              self->num_bins);
}

static gboolean
peftq_percentile_analyzer_observe (PeftqEncodingAnalyzer  *analyzer,
                                   PeftqTensor            *input,
                                   GError                **error)
{
  PeftqPercentileAnalyzer *self = PEFTQ_PERCENTILE_ANALYZER (analyzer);

  return peftq_histogram_set_observe (self->histograms, analyzer, input, error);
}

static gboolean
peftq_percentile_analyzer_has_statistics (PeftqEncodingAnalyzer *analyzer)
{
  return peftq_histogram_set_any (PEFTQ_PERCENTILE_ANALYZER (analyzer)->histograms);
}

static void
percentile_range (PeftqHistogramSet *set,
                  gsize              h,
                  double             percentile,
                  float             *out_min,
                  float             *out_max)
{
  const double *counts = set->counts + h * set->n_bins;
  double width = (set->max[h] - set->min[h]) / set->n_bins;
  double total = 0.0;
  double cumulative = 0.0;
  double max_target;
  double min_target;
  gint64 min_index = -1;
  gint64 max_index = -1;

  if (!set->valid[h])
    {
      *out_min = 0.0f;
      *out_max = 0.0f;
      return;
    }
  if (percentile >= MAX_PERCENTILE)
    {
      *out_min = (float) set->min[h];
      *out_max = (float) set->max[h];
      return;
    }

  for (guint b = 0; b < set->n_bins; b++)
    total += counts[b];

  max_target = total * percentile / 100.0;
  min_target = total * (1.0 - percentile / 100.0);
  for (guint b = 0; b < set->n_bins; b++)
    {
      cumulative += counts[b];
      if (min_index < 0 && cumulative >= min_target)
        min_index = b;
      if (max_index < 0 && cumulative >= max_target)
        max_index = b;
    }
  if (max_index < 0)
    max_index = set->n_bins;
  if (min_index < 0)
    min_index = 0;

  *out_min = (float) (set->min[h] + width * (double) min_index);
  *out_max = (float) (set->min[h] + width * (double) max_index);
}

static PeftqEncoding *
peftq_percentile_analyzer_compute_encoding (PeftqEncodingAnalyzer  *analyzer,
                                            guint                   bitwidth,
                                            gboolean                symmetric,
                                            gboolean                is_signed,
                                            GError                **error)
{
  PeftqPercentileAnalyzer *self = PEFTQ_PERCENTILE_ANALYZER (analyzer);
  gsize n = self->histograms->n_histograms;
  g_autofree float *min = g_new (float, n);
  g_autofree float *max = g_new (float, n);

  for (gsize h = 0; h < n; h++)
    {
      float mn;
      float mx;

      percentile_range (self->histograms, h, self->percentile, &mn, &mx);
      peftq_encoding_analyzer_adjust_range (mn, mx, bitwidth, symmetric, &min[h], &max[h]);
    }

  return peftq_encoding_analyzer_build_encoding (analyzer, min, max, bitwidth, symmetric,
                                                 is_signed, error);
}

static void
peftq_percentile_analyzer_finalize (GObject *object)
{
  PeftqPercentileAnalyzer *self = PEFTQ_PERCENTILE_ANALYZER (object);

  g_clear_pointer (&self->histograms, peftq_histogram_set_free);

  G_OBJECT_CLASS (peftq_percentile_analyzer_parent_class)->finalize (object);
}

static void
peftq_percentile_analyzer_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  PeftqPercentileAnalyzer *self = PEFTQ_PERCENTILE_ANALYZER (object);

  switch (prop_id)
    {
    case PROP_NUM_BINS:
      g_value_set_uint (value, self->num_bins);
      break;
    case PROP_PERCENTILE:
      g_value_set_double (value, self->percentile);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_percentile_analyzer_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  PeftqPercentileAnalyzer *self = PEFTQ_PERCENTILE_ANALYZER (object);

  switch (prop_id)
    {
    case PROP_NUM_BINS:
      self->num_bins = g_value_get_uint (value);
      peftq_percentile_analyzer_reset (PEFTQ_ENCODING_ANALYZER (self));
      break;
    case PROP_PERCENTILE:
      peftq_percentile_analyzer_set_percentile (self, g_value_get_double (value), NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_percentile_analyzer_class_init (PeftqPercentileAnalyzerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PeftqEncodingAnalyzerClass *analyzer_class = PEFTQ_ENCODING_ANALYZER_CLASS (klass);

  object_class->finalize = peftq_percentile_analyzer_finalize;
  object_class->get_property = peftq_percentile_analyzer_get_property;
  object_class->set_property = peftq_percentile_analyzer_set_property;
  analyzer_class->reset = peftq_percentile_analyzer_reset;
  analyzer_class->observe = peftq_percentile_analyzer_observe;
  analyzer_class->has_statistics = peftq_percentile_analyzer_has_statistics;
  analyzer_class->compute_encoding = peftq_percentile_analyzer_compute_encoding;

  /**
   * PeftqPercentileAnalyzer:num-bins:
   *
   * The number of histogram bins per encoding value.
   *
   * Since: 1.0
   */
  properties[PROP_NUM_BINS] =
    g_param_spec_uint ("num-bins", NULL, NULL,
                       1, G_MAXINT32 / 2, DEFAULT_NUM_BINS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqPercentileAnalyzer:percentile:
   *
   * The percentile of the data that the range covers, 50 to 100.
   *
   * Since: 1.0
   */
  properties[PROP_PERCENTILE] =
    g_param_spec_double ("percentile", NULL, NULL,
                         MIN_PERCENTILE, MAX_PERCENTILE, MAX_PERCENTILE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
peftq_percentile_analyzer_init (PeftqPercentileAnalyzer *self)
{
  self->num_bins = DEFAULT_NUM_BINS;
  self->percentile = MAX_PERCENTILE;
  peftq_percentile_analyzer_reset (PEFTQ_ENCODING_ANALYZER (self));
}

/**
 * peftq_percentile_analyzer_new:
 * @num_bins: the number of histogram bins per encoding value; AIMET uses 2048
 *
 * Creates a per-tensor percentile analyzer with the percentile 100.
 *
 * Returns: (transfer full): the new analyzer
 *
 * Since: 1.0
 */
PeftqEncodingAnalyzer *
peftq_percentile_analyzer_new (guint num_bins)
{
  g_return_val_if_fail (num_bins >= 1, NULL);

  return g_object_new (PEFTQ_TYPE_PERCENTILE_ANALYZER, "num-bins", num_bins, NULL);
}

/**
 * peftq_percentile_analyzer_get_num_bins:
 * @self: a percentile analyzer
 *
 * Returns the number of histogram bins per encoding value.
 *
 * Returns: the number of bins
 *
 * Since: 1.0
 */
guint
peftq_percentile_analyzer_get_num_bins (PeftqPercentileAnalyzer *self)
{
  g_return_val_if_fail (PEFTQ_IS_PERCENTILE_ANALYZER (self), 0);

  return self->num_bins;
}

/**
 * peftq_percentile_analyzer_get_percentile:
 * @self: a percentile analyzer
 *
 * Returns the percentile of the data that the range covers.
 *
 * Returns: the percentile, 50 to 100
 *
 * Since: 1.0
 */
double
peftq_percentile_analyzer_get_percentile (PeftqPercentileAnalyzer *self)
{
  g_return_val_if_fail (PEFTQ_IS_PERCENTILE_ANALYZER (self), 0.0);

  return self->percentile;
}

/**
 * peftq_percentile_analyzer_set_percentile:
 * @self: a percentile analyzer
 * @percentile: the percentile, 50 to 100
 * @error: return location for a #GError
 *
 * Sets the percentile of the data that the range covers. The statistics are kept, so the
 * next encoding uses the new value.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when @percentile is outside
 *   50 to 100
 *
 * Since: 1.0
 */
gboolean
peftq_percentile_analyzer_set_percentile (PeftqPercentileAnalyzer  *self,
                                          double                    percentile,
                                          GError                  **error)
{
  g_return_val_if_fail (PEFTQ_IS_PERCENTILE_ANALYZER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!(percentile >= MIN_PERCENTILE && percentile <= MAX_PERCENTILE))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Invalid percentile %g: it must be between 50 and 100", percentile);
      return FALSE;
    }

  if (self->percentile == percentile)
    return TRUE;

  self->percentile = percentile;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PERCENTILE]);
  return TRUE;
}
