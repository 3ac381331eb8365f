/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-encoding-analyzer.h"

G_BEGIN_DECLS

/* One histogram per encoding value, as AIMET's histogram observer keeps them. The first
 * batch fixes the bin range to the finite minimum and maximum of its data (widened by
 * 0.5 on both sides when they are equal). A later batch that falls outside widens the
 * range: the old counts move to the new bins in proportion to their overlap, with the
 * share rounded half to even, and the new data is binned in the new range. */
typedef struct
{
  gsize n_histograms;
  guint n_bins;
  gboolean *valid;
  double *min;
  double *max;
  double *counts;   /* n_histograms x n_bins */
} PeftqHistogramSet;

PeftqHistogramSet *peftq_histogram_set_new     (gsize                  n_histograms,
                                                guint                  n_bins);
void               peftq_histogram_set_free    (PeftqHistogramSet     *set);
gboolean           peftq_histogram_set_any     (const PeftqHistogramSet *set);

/* Adds the finite values of @input (laid out against the analyzer's shape) to the
 * histograms, with warnings through the analyzer. */
gboolean           peftq_histogram_set_observe (PeftqHistogramSet     *set,
                                                PeftqEncodingAnalyzer *analyzer,
                                                PeftqTensor           *input,
                                                GError               **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeftqHistogramSet, peftq_histogram_set_free)

G_END_DECLS
