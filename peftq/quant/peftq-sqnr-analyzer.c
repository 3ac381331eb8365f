/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-sqnr-analyzer.h"

#include "peftq-encoding-analyzer-private.h"
#include "peftq-encoding-private.h"
#include "peftq-histogram-private.h"

#include <float.h>
#include <math.h>

/**
 * PeftqSqnrAnalyzer:
 *
 * The SQNR encoding analyzer, AIMET's `post_training_tf_enhanced` scheme and its
 * default.
 *
 * It keeps the same histograms as [class@Peftq.PercentileAnalyzer] and picks, per
 * encoding value, the candidate (delta, offset) with the lowest quantization noise. Each
 * bin counts as its midpoint `m` with its count `c`; a candidate costs the sum of
 * `c * ((q + offset) * delta - m)^2`, where `t = round(m / delta - offset)` and
 * `q = clamp(t, 0, n)`, with the term multiplied by
 * [property@Peftq.SqnrAnalyzer:gamma] when `t` was clipped.
 *
 * With `mn = min(hist min, 0)`, `mx = max(max(hist max, 0), mn + eps * n)` and
 * `n = num_steps`:
 *
 * - asymmetric: `D = (mx - mn) / n`, deltas `D * i / 16` for `i = 1..17`, offsets
 *   `round(-n + k * step)` for `k >= 0` while below `step = n / (min(n + 2, 21) - 2)`,
 *   plus `round(mn / D)`. Each pair is clipped to the observed grid range
 *   `[D * round(mn / D), that + D * n]`.
 * - symmetric: `D = 2 * max(mx, -mn) / n`, deltas `max(D * i / 100, eps)` for
 *   `i = 1..101`, offset `floor(-n / 2)`.
 *
 * The winner gives `min = offset * delta` and `max = min + n * delta`. Candidates are
 * computed in float32; the costs are summed in double precision.
 *
 * Since: 1.0
 */

struct _PeftqSqnrAnalyzer
{
  PeftqEncodingAnalyzer parent_instance;

  guint num_bins;
  double gamma;
  PeftqHistogramSet *histograms;
};

G_DEFINE_FINAL_TYPE (PeftqSqnrAnalyzer, peftq_sqnr_analyzer, PEFTQ_TYPE_ENCODING_ANALYZER)

enum
{
  PROP_0,
  PROP_NUM_BINS,
  PROP_GAMMA,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define DEFAULT_NUM_BINS 2048
#define DEFAULT_GAMMA 3.0
#define ASYMMETRIC_DELTA_CANDIDATES 17
#define SYMMETRIC_DELTA_CANDIDATES 101
#define OFFSET_CANDIDATES 21

static void
peftq_sqnr_analyzer_reset (PeftqEncodingAnalyzer *analyzer)
{
  PeftqSqnrAnalyzer *self = PEFTQ_SQNR_ANALYZER (analyzer);

  g_clear_pointer (&self->histograms, peftq_histogram_set_free);
  self->histograms = peftq_histogram_set_new (peftq_encoding_analyzer_get_n_encodings (analyzer),
                                              self->num_bins);
}

static gboolean
peftq_sqnr_analyzer_observe (PeftqEncodingAnalyzer  *analyzer,
                             PeftqTensor            *input,
                             GError                **error)
{
  PeftqSqnrAnalyzer *self = PEFTQ_SQNR_ANALYZER (analyzer);

  return peftq_histogram_set_observe (self->histograms, analyzer, input, error);
}

static gboolean
peftq_sqnr_analyzer_has_statistics (PeftqEncodingAnalyzer *analyzer)
{
  return peftq_histogram_set_any (PEFTQ_SQNR_ANALYZER (analyzer)->histograms);
}

typedef struct
{
  const double *counts;
  const float *midpoints;
  guint n_bins;
  float num_steps;
  double gamma;
} CostInput;

static double
candidate_cost (const CostInput *input,
                float            delta,
                float            offset)
{
  double cost = 0.0;

  for (guint b = 0; b < input->n_bins; b++)
    {
      float m = input->midpoints[b];
      float t;
      float q;
      double error;

      if (input->counts[b] == 0.0)
        continue;

      t = nearbyintf (m / delta - offset);
      q = t < 0.0f ? 0.0f : (t > input->num_steps ? input->num_steps : t);
      error = (double) ((q + offset) * delta) - (double) m;
      error = error * error * input->counts[b];
      if (t != q)
        error *= input->gamma;
      cost += error;
    }

  return cost;
}

static void
sqnr_range (PeftqSqnrAnalyzer *self,
            gsize              h,
            guint              bitwidth,
            gboolean           symmetric,
            float             *out_min,
            float             *out_max)
{
  PeftqHistogramSet *set = self->histograms;
  const float eps = PEFTQ_ENCODING_MIN_SCALE;
  /* The largest candidate spans up to 2.125 times the clamped range (17/16 of twice the
   * limit), so a quarter of FLT_MAX keeps every candidate width finite. */
  const float limit = FLT_MAX / 4;
  float n = (float) (((guint64) 1 << bitwidth) - 1);
  g_autofree float *midpoints = g_new (float, set->n_bins);
  CostInput input = { set->counts + h * set->n_bins, midpoints, set->n_bins, n, self->gamma };
  double width = (set->max[h] - set->min[h]) / set->n_bins;
  double best_cost = INFINITY;
  float best_delta = eps;
  float best_offset = 0.0f;
  float mn;
  float mx;

  for (guint b = 0; b < set->n_bins; b++)
    midpoints[b] = (float) (set->min[h] + width * (b + 0.5));

  mn = set->valid[h] ? (float) set->min[h] : 0.0f;
  mx = set->valid[h] ? (float) set->max[h] : 0.0f;
  mn = CLAMP (mn, -limit, 0.0f);
  mx = CLAMP (mx, 0.0f, limit);
  mx = MAX (mx, mn + eps * n);

  if (symmetric)
    {
      float d = 2.0f * MAX (mx, -mn) / n;
      float offset = floorf (-n / 2.0f);

      for (int i = 1; i <= SYMMETRIC_DELTA_CANDIDATES; i++)
        {
          float delta = MAX (d * (float) i / (float) (SYMMETRIC_DELTA_CANDIDATES - 1), eps);
          double cost = candidate_cost (&input, delta, offset);

          if (cost < best_cost)
            {
              best_cost = cost;
              best_delta = delta;
              best_offset = offset;
            }
        }
    }
  else
    {
      float d = (mx - mn) / n;
      float observed_offset = nearbyintf (mn / d);
      float observed_min = d * observed_offset;
      float observed_max = observed_min + d * n;
      int n_offset_steps = (int) MIN (n + 2.0f, (float) OFFSET_CANDIDATES) - 2;
      float step = n / (float) n_offset_steps;
      float offsets[OFFSET_CANDIDATES + 2];
      int n_offsets = 0;

      for (int k = 0; n_offsets < OFFSET_CANDIDATES + 1; k++)
        {
          float value = -n + (float) k * step;

          if (!(value < step))
            break;
          offsets[n_offsets++] = nearbyintf (value);
        }
      offsets[n_offsets++] = observed_offset;

      for (int i = 1; i <= ASYMMETRIC_DELTA_CANDIDATES; i++)
        {
          float delta_i = d * (float) i / (float) (ASYMMETRIC_DELTA_CANDIDATES - 1);

          for (int k = 0; k < n_offsets; k++)
            {
              float lo = MAX (observed_min, delta_i * offsets[k]);
              float hi = MIN (observed_max, lo + delta_i * n);
              float delta = MAX ((hi - lo) / n, eps);
              float offset = nearbyintf (lo / delta);
              double cost = candidate_cost (&input, delta, offset);

              if (cost < best_cost)
                {
                  best_cost = cost;
                  best_delta = delta;
                  best_offset = offset;
                }
            }
        }
    }

  *out_min = best_offset * best_delta;
  *out_max = *out_min + n * best_delta;
}

static PeftqEncoding *
peftq_sqnr_analyzer_compute_encoding (PeftqEncodingAnalyzer  *analyzer,
                                      guint                   bitwidth,
                                      gboolean                symmetric,
                                      gboolean                is_signed,
                                      GError                **error)
{
  PeftqSqnrAnalyzer *self = PEFTQ_SQNR_ANALYZER (analyzer);
  gsize n = self->histograms->n_histograms;
  g_autofree float *min = g_new (float, n);
  g_autofree float *max = g_new (float, n);

  for (gsize h = 0; h < n; h++)
    sqnr_range (self, h, bitwidth, symmetric, &min[h], &max[h]);

  return peftq_encoding_analyzer_build_encoding (analyzer, min, max, bitwidth, symmetric,
                                                 is_signed, error);
}

static void
peftq_sqnr_analyzer_finalize (GObject *object)
{
  PeftqSqnrAnalyzer *self = PEFTQ_SQNR_ANALYZER (object);

  g_clear_pointer (&self->histograms, peftq_histogram_set_free);

  G_OBJECT_CLASS (peftq_sqnr_analyzer_parent_class)->finalize (object);
}

static void
peftq_sqnr_analyzer_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  PeftqSqnrAnalyzer *self = PEFTQ_SQNR_ANALYZER (object);

  switch (prop_id)
    {
    case PROP_NUM_BINS:
      g_value_set_uint (value, self->num_bins);
      break;
    case PROP_GAMMA:
      g_value_set_double (value, self->gamma);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_sqnr_analyzer_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  PeftqSqnrAnalyzer *self = PEFTQ_SQNR_ANALYZER (object);

  switch (prop_id)
    {
    case PROP_NUM_BINS:
      self->num_bins = g_value_get_uint (value);
      peftq_sqnr_analyzer_reset (PEFTQ_ENCODING_ANALYZER (self));
      break;
    case PROP_GAMMA:
      peftq_sqnr_analyzer_set_gamma (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_sqnr_analyzer_class_init (PeftqSqnrAnalyzerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PeftqEncodingAnalyzerClass *analyzer_class = PEFTQ_ENCODING_ANALYZER_CLASS (klass);

  object_class->finalize = peftq_sqnr_analyzer_finalize;
  object_class->get_property = peftq_sqnr_analyzer_get_property;
  object_class->set_property = peftq_sqnr_analyzer_set_property;
  analyzer_class->reset = peftq_sqnr_analyzer_reset;
  analyzer_class->observe = peftq_sqnr_analyzer_observe;
  analyzer_class->has_statistics = peftq_sqnr_analyzer_has_statistics;
  analyzer_class->compute_encoding = peftq_sqnr_analyzer_compute_encoding;

  /**
   * PeftqSqnrAnalyzer:num-bins:
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
   * PeftqSqnrAnalyzer:gamma:
   *
   * The weight of the noise of clipped values relative to rounding noise.
   *
   * Since: 1.0
   */
  properties[PROP_GAMMA] =
    g_param_spec_double ("gamma", NULL, NULL,
                         0.0, G_MAXDOUBLE, DEFAULT_GAMMA,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
peftq_sqnr_analyzer_init (PeftqSqnrAnalyzer *self)
{
  self->num_bins = DEFAULT_NUM_BINS;
  self->gamma = DEFAULT_GAMMA;
  peftq_sqnr_analyzer_reset (PEFTQ_ENCODING_ANALYZER (self));
}

/**
 * peftq_sqnr_analyzer_new:
 * @num_bins: the number of histogram bins per encoding value; AIMET uses 2048
 *
 * Creates a per-tensor SQNR analyzer with gamma 3.
 *
 * Returns: (transfer full): the new analyzer
 *
 * Since: 1.0
 */
PeftqEncodingAnalyzer *
peftq_sqnr_analyzer_new (guint num_bins)
{
  g_return_val_if_fail (num_bins >= 1, NULL);

  return g_object_new (PEFTQ_TYPE_SQNR_ANALYZER, "num-bins", num_bins, NULL);
}

/**
 * peftq_sqnr_analyzer_get_num_bins:
 * @self: an SQNR analyzer
 *
 * Returns the number of histogram bins per encoding value.
 *
 * Returns: the number of bins
 *
 * Since: 1.0
 */
guint
peftq_sqnr_analyzer_get_num_bins (PeftqSqnrAnalyzer *self)
{
  g_return_val_if_fail (PEFTQ_IS_SQNR_ANALYZER (self), 0);

  return self->num_bins;
}

/**
 * peftq_sqnr_analyzer_get_gamma:
 * @self: an SQNR analyzer
 *
 * Returns the weight of clipping noise.
 *
 * Returns: gamma
 *
 * Since: 1.0
 */
double
peftq_sqnr_analyzer_get_gamma (PeftqSqnrAnalyzer *self)
{
  g_return_val_if_fail (PEFTQ_IS_SQNR_ANALYZER (self), 0.0);

  return self->gamma;
}

/**
 * peftq_sqnr_analyzer_set_gamma:
 * @self: an SQNR analyzer
 * @gamma: the weight of clipping noise, at least 0
 *
 * Sets the weight of the noise of clipped values.
 *
 * Since: 1.0
 */
void
peftq_sqnr_analyzer_set_gamma (PeftqSqnrAnalyzer *self,
                               double             gamma)
{
  g_return_if_fail (PEFTQ_IS_SQNR_ANALYZER (self));
  g_return_if_fail (gamma >= 0.0);

  if (self->gamma == gamma)
    return;

  self->gamma = gamma;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GAMMA]);
}
