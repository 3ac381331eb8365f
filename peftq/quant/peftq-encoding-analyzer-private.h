/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-encoding-analyzer.h"
#include "peftq-qdq.h"

G_BEGIN_DECLS

/* Sets the name used in warnings, normally the name of the quantizer that owns the
 * analyzer. */
void     peftq_encoding_analyzer_set_label       (PeftqEncodingAnalyzer  *self,
                                                  const char             *label);

/* Computes the layout of @input against the analyzer's shape and returns its float32
 * values in *data, converting other dtypes into *converted (freed by the caller). */
gboolean peftq_encoding_analyzer_prepare_input   (PeftqEncodingAnalyzer  *self,
                                                  PeftqTensor            *input,
                                                  PeftqQdqLayout         *layout,
                                                  const float           **data,
                                                  PeftqTensor           **converted,
                                                  GError                **error);

/* Emits one warning for an observed batch when it had NaN or infinite values (which the
 * analyzers skip) or values within 5 % of FLT_MAX. */
void     peftq_encoding_analyzer_warn_values     (PeftqEncodingAnalyzer  *self,
                                                  guint64                 n_nonfinite,
                                                  guint64                 n_near_limit);

/* Turns observed statistics (mn, mx) into a range as the min-max analyzer does: include
 * zero, widen ranges narrower than FLT_EPSILON per step, recenter symmetric ranges on the
 * signed grid, and clamp to +-FLT_MAX / 2 so that the width stays finite. */
void     peftq_encoding_analyzer_adjust_range    (float                   mn,
                                                  float                   mx,
                                                  guint                   bitwidth,
                                                  gboolean                symmetric,
                                                  float                  *out_min,
                                                  float                  *out_max);

/* Builds the encoding of the analyzer's shape from per-encoding ranges. */
PeftqEncoding *peftq_encoding_analyzer_build_encoding (PeftqEncodingAnalyzer  *self,
                                                       const float            *min,
                                                       const float            *max,
                                                       guint                   bitwidth,
                                                       gboolean                symmetric,
                                                       gboolean                is_signed,
                                                       GError                **error);

G_END_DECLS
