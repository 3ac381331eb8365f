/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-encoding-analyzer.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_SQNR_ANALYZER (peftq_sqnr_analyzer_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqSqnrAnalyzer, peftq_sqnr_analyzer, PEFTQ, SQNR_ANALYZER, PeftqEncodingAnalyzer)

PEFTQ_AVAILABLE_IN_ALL
PeftqEncodingAnalyzer *peftq_sqnr_analyzer_new          (guint               num_bins) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
guint                  peftq_sqnr_analyzer_get_num_bins (PeftqSqnrAnalyzer  *self);
PEFTQ_AVAILABLE_IN_ALL
double                 peftq_sqnr_analyzer_get_gamma    (PeftqSqnrAnalyzer  *self);
PEFTQ_AVAILABLE_IN_ALL
void                   peftq_sqnr_analyzer_set_gamma    (PeftqSqnrAnalyzer  *self,
                                                         double              gamma);

G_END_DECLS
