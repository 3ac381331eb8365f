/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* RMSNorm over the last axis, as Hugging Face's LlamaRMSNorm: for each row of @cols
 * values, out = (x · 1/sqrt (mean (x²) + eps)) · weight. @out may alias @x. */
void peftq_rms_norm   (const float *x,
                       const float *weight,
                       float        eps,
                       float       *out,
                       gsize        rows,
                       gsize        cols);

/* LayerNorm over the last axis: out = (x - mean) / sqrt (var + eps) · weight + bias, with
 * the biased variance. @weight and @bias may be NULL (1 and 0). @out may alias @x. */
void peftq_layer_norm (const float *x,
                       const float *weight,
                       const float *bias,
                       float        eps,
                       float       *out,
                       gsize        rows,
                       gsize        cols);

G_END_DECLS
