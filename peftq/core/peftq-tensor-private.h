/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-tensor.h"

G_BEGIN_DECLS

/* Scalar conversions between float32 and the 16-bit formats: round to nearest even,
 * subnormals, infinities and NaN preserved (a NaN stays a quiet NaN). */
float    peftq_f16_to_f32  (guint16 bits);
guint16  peftq_f32_to_f16  (float   value);
float    peftq_bf16_to_f32 (guint16 bits);
guint16  peftq_f32_to_bf16 (float   value);

/* Computes the element count of a shape, or fails on a negative dimension or overflow
 * of the element count or byte size. */
gboolean peftq_shape_get_n_elements (const gint64  *shape,
                                     guint          rank,
                                     PeftqDType     dtype,
                                     guint64       *out_n_elements,
                                     GError       **error);

/* Creates a zero-filled float32 tensor of a shape that the caller knows to be valid. */
PeftqTensor *peftq_tensor_new_f32 (const gint64 *shape,
                                   guint         rank);

/* Writable storage of a tensor that peftq allocated itself (peftq_tensor_new and
 * peftq_tensor_new_f32). Tensors over foreign or mapped bytes are read-only. */
gpointer     peftq_tensor_get_mutable_data (PeftqTensor *self);
gboolean     peftq_tensor_is_writable      (PeftqTensor *self);

/* The float32 payload of an F32 tensor whose storage is aligned for float. */
const float *peftq_tensor_peek_f32 (PeftqTensor *self);

G_END_DECLS
