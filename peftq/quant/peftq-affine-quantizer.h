/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-encoding.h"
#include "peftq-encoding-analyzer.h"
#include "peftq-quantizer.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_AFFINE_QUANTIZER (peftq_affine_quantizer_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqAffineQuantizer, peftq_affine_quantizer, PEFTQ, AFFINE_QUANTIZER, PeftqQuantizer)

PEFTQ_AVAILABLE_IN_ALL
PeftqAffineQuantizer  *peftq_affine_quantizer_new                   (guint                   bitwidth,
                                                                     gboolean                symmetric) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqAffineQuantizer  *peftq_affine_quantizer_new_per_channel       (guint                   bitwidth,
                                                                     gboolean                symmetric,
                                                                     gint64                  n_channels,
                                                                     guint                   axis,
                                                                     guint                   rank,
                                                                     GError                **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqAffineQuantizer  *peftq_affine_quantizer_new_full              (const gint64           *shape,
                                                                     guint                   rank,
                                                                     const gint64           *block_size,
                                                                     guint                   n_block_size,
                                                                     guint                   bitwidth,
                                                                     gboolean                symmetric,
                                                                     GError                **error) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
const gint64          *peftq_affine_quantizer_get_shape             (PeftqAffineQuantizer   *self,
                                                                     guint                  *rank);
PEFTQ_AVAILABLE_IN_ALL
const gint64          *peftq_affine_quantizer_get_block_size        (PeftqAffineQuantizer   *self,
                                                                     guint                  *n_block_size);
PEFTQ_AVAILABLE_IN_ALL
gsize                  peftq_affine_quantizer_get_n_encodings       (PeftqAffineQuantizer   *self);

PEFTQ_AVAILABLE_IN_ALL
guint                  peftq_affine_quantizer_get_bitwidth          (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_set_bitwidth          (PeftqAffineQuantizer   *self,
                                                                     guint                   bitwidth,
                                                                     GError                **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_get_symmetric         (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
void                   peftq_affine_quantizer_set_symmetric         (PeftqAffineQuantizer   *self,
                                                                     gboolean                symmetric);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_get_signed            (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
void                   peftq_affine_quantizer_set_signed            (PeftqAffineQuantizer   *self,
                                                                     gboolean                is_signed);
PEFTQ_AVAILABLE_IN_ALL
gint64                 peftq_affine_quantizer_get_qmin              (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
gint64                 peftq_affine_quantizer_get_qmax              (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_get_enabled           (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
void                   peftq_affine_quantizer_set_enabled           (PeftqAffineQuantizer   *self,
                                                                     gboolean                enabled);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_get_allow_overwrite   (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
void                   peftq_affine_quantizer_set_allow_overwrite   (PeftqAffineQuantizer   *self,
                                                                     gboolean                allow_overwrite);

PEFTQ_AVAILABLE_IN_ALL
PeftqEncodingAnalyzer *peftq_affine_quantizer_get_encoding_analyzer (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_set_encoding_analyzer (PeftqAffineQuantizer   *self,
                                                                     PeftqEncodingAnalyzer  *analyzer,
                                                                     GError                **error);

PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_is_initialized        (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
PeftqEncoding         *peftq_affine_quantizer_get_encoding          (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_set_encoding          (PeftqAffineQuantizer   *self,
                                                                     PeftqEncoding          *encoding,
                                                                     GError                **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_set_range             (PeftqAffineQuantizer   *self,
                                                                     const float            *min,
                                                                     gsize                   n_min,
                                                                     const float            *max,
                                                                     gsize                   n_max,
                                                                     GError                **error);
PEFTQ_AVAILABLE_IN_ALL
void                   peftq_affine_quantizer_clear_encoding        (PeftqAffineQuantizer   *self);

PEFTQ_AVAILABLE_IN_ALL
PeftqTensor           *peftq_affine_quantizer_quantize              (PeftqAffineQuantizer   *self,
                                                                     PeftqTensor            *input,
                                                                     GError                **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor           *peftq_affine_quantizer_dequantize            (PeftqAffineQuantizer   *self,
                                                                     PeftqTensor            *input,
                                                                     GError                **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor           *peftq_affine_quantizer_quantize_dequantize   (PeftqAffineQuantizer   *self,
                                                                     PeftqTensor            *input,
                                                                     GError                **error) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
void                   peftq_affine_quantizer_begin_calibration     (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_observe               (PeftqAffineQuantizer   *self,
                                                                     PeftqTensor            *input,
                                                                     GError                **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_end_calibration       (PeftqAffineQuantizer   *self,
                                                                     GError                **error);
PEFTQ_AVAILABLE_IN_ALL
void                   peftq_affine_quantizer_abort_calibration     (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_is_calibrating        (PeftqAffineQuantizer   *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean               peftq_affine_quantizer_is_observing          (PeftqAffineQuantizer   *self);

G_END_DECLS
