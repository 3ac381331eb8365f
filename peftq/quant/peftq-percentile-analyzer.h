/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-encoding-analyzer.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_PERCENTILE_ANALYZER (peftq_percentile_analyzer_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqPercentileAnalyzer, peftq_percentile_analyzer, PEFTQ, PERCENTILE_ANALYZER, PeftqEncodingAnalyzer)

PEFTQ_AVAILABLE_IN_ALL
PeftqEncodingAnalyzer *peftq_percentile_analyzer_new            (guint                     num_bins) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
guint                  peftq_percentile_analyzer_get_num_bins   (PeftqPercentileAnalyzer  *self);
PEFTQ_AVAILABLE_IN_ALL
double                 peftq_percentile_analyzer_get_percentile (PeftqPercentileAnalyzer  *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_percentile_analyzer_set_percentile (PeftqPercentileAnalyzer  *self,
                                                                 double                    percentile,
                                                                 GError                  **error);

G_END_DECLS
