/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-encoding-analyzer.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_MIN_MAX_ANALYZER (peftq_min_max_analyzer_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqMinMaxAnalyzer, peftq_min_max_analyzer, PEFTQ, MIN_MAX_ANALYZER, PeftqEncodingAnalyzer)

PEFTQ_AVAILABLE_IN_ALL
PeftqEncodingAnalyzer *peftq_min_max_analyzer_new (void) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
