/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-min-max-analyzer.h"

#include "peftq-encoding-analyzer-private.h"

/**
 * PeftqMinMaxAnalyzer:
 *
 * The min-max encoding analyzer, AIMET's `post_training_tf` scheme.
 *
 * The statistics are the running minimum and maximum of every encoding value over all
 * observed tensors, so they do not depend on how the data is split into batches. The
 * range then includes zero and is widened where it is narrower than `FLT_EPSILON` per
 * step: `max = mx + num_steps * eps` when asymmetric. A symmetric range becomes
 * `[-ceil(n/2) * delta, floor(n/2) * delta]` with
 * `delta = max(max / floor(n/2), -min / ceil(n/2))`, where `n = num_steps`.
 *
 * Since: 1.0
 */

struct _PeftqMinMaxAnalyzer
{
  PeftqEncodingAnalyzer parent_instance;

  gsize n_encodings;
  float *mins;
  float *maxs;
  gboolean *seen;
  gboolean has_statistics;
};

G_DEFINE_FINAL_TYPE (PeftqMinMaxAnalyzer, peftq_min_max_analyzer, PEFTQ_TYPE_ENCODING_ANALYZER)

static void
peftq_min_max_analyzer_reset (PeftqEncodingAnalyzer *analyzer)
{
  PeftqMinMaxAnalyzer *self = PEFTQ_MIN_MAX_ANALYZER (analyzer);

  self->n_encodings = peftq_encoding_analyzer_get_n_encodings (analyzer);
  g_free (self->mins);
  g_free (self->maxs);
  g_free (self->seen);
  self->mins = g_new0 (float, self->n_encodings);
  self->maxs = g_new0 (float, self->n_encodings);
  self->seen = g_new0 (gboolean, self->n_encodings);
  self->has_statistics = FALSE;
}

static gboolean
peftq_min_max_analyzer_observe (PeftqEncodingAnalyzer  *analyzer,
                                PeftqTensor            *input,
                                GError                **error)
{
  PeftqMinMaxAnalyzer *self = PEFTQ_MIN_MAX_ANALYZER (analyzer);
  g_autoptr(PeftqTensor) converted = NULL;
  PeftqQdqLayout layout;
  const float *data = NULL;
  guint64 n_nonfinite = 0;
  guint64 n_near_limit = 0;

  if (!peftq_encoding_analyzer_prepare_input (analyzer, input, &layout, &data, &converted,
                                              error))
    return FALSE;

  peftq_qdq_reduce_min_max (&layout, data, self->mins, self->maxs, self->seen,
                            &n_nonfinite, &n_near_limit);
  peftq_encoding_analyzer_warn_values (analyzer, n_nonfinite, n_near_limit);

  for (gsize i = 0; i < self->n_encodings && !self->has_statistics; i++)
    self->has_statistics = self->seen[i];

  return TRUE;
}

static gboolean
peftq_min_max_analyzer_has_statistics (PeftqEncodingAnalyzer *analyzer)
{
  return PEFTQ_MIN_MAX_ANALYZER (analyzer)->has_statistics;
}

static PeftqEncoding *
peftq_min_max_analyzer_compute_encoding (PeftqEncodingAnalyzer  *analyzer,
                                         guint                   bitwidth,
                                         gboolean                symmetric,
                                         gboolean                is_signed,
                                         GError                **error)
{
  PeftqMinMaxAnalyzer *self = PEFTQ_MIN_MAX_ANALYZER (analyzer);
  g_autofree float *min = g_new (float, self->n_encodings);
  g_autofree float *max = g_new (float, self->n_encodings);

  /* Values that never saw data keep [0, 0] and get the minimum range. */
  for (gsize i = 0; i < self->n_encodings; i++)
    peftq_encoding_analyzer_adjust_range (self->mins[i], self->maxs[i], bitwidth, symmetric,
                                          &min[i], &max[i]);

  return peftq_encoding_analyzer_build_encoding (analyzer, min, max, bitwidth, symmetric,
                                                 is_signed, error);
}

static void
peftq_min_max_analyzer_finalize (GObject *object)
{
  PeftqMinMaxAnalyzer *self = PEFTQ_MIN_MAX_ANALYZER (object);

  g_free (self->mins);
  g_free (self->maxs);
  g_free (self->seen);

  G_OBJECT_CLASS (peftq_min_max_analyzer_parent_class)->finalize (object);
}

static void
peftq_min_max_analyzer_class_init (PeftqMinMaxAnalyzerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PeftqEncodingAnalyzerClass *analyzer_class = PEFTQ_ENCODING_ANALYZER_CLASS (klass);

  object_class->finalize = peftq_min_max_analyzer_finalize;
  analyzer_class->reset = peftq_min_max_analyzer_reset;
  analyzer_class->observe = peftq_min_max_analyzer_observe;
  analyzer_class->has_statistics = peftq_min_max_analyzer_has_statistics;
  analyzer_class->compute_encoding = peftq_min_max_analyzer_compute_encoding;
}

static void
peftq_min_max_analyzer_init (PeftqMinMaxAnalyzer *self)
{
  peftq_min_max_analyzer_reset (PEFTQ_ENCODING_ANALYZER (self));
}

/**
 * peftq_min_max_analyzer_new:
 *
 * Creates a per-tensor min-max analyzer.
 *
 * Returns: (transfer full): the new analyzer
 *
 * Since: 1.0
 */
PeftqEncodingAnalyzer *
peftq_min_max_analyzer_new (void)
{
  return g_object_new (PEFTQ_TYPE_MIN_MAX_ANALYZER, NULL);
}
