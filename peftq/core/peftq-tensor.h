/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"

G_BEGIN_DECLS

/**
 * PeftqDType:
 * @PEFTQ_DTYPE_F64: 64-bit IEEE 754 float
 * @PEFTQ_DTYPE_F32: 32-bit IEEE 754 float
 * @PEFTQ_DTYPE_F16: 16-bit IEEE 754 half-precision float
 * @PEFTQ_DTYPE_BF16: 16-bit bfloat16 (the upper half of a float32)
 * @PEFTQ_DTYPE_I64: signed 64-bit integer
 * @PEFTQ_DTYPE_I32: signed 32-bit integer
 * @PEFTQ_DTYPE_I16: signed 16-bit integer
 * @PEFTQ_DTYPE_I8: signed 8-bit integer
 * @PEFTQ_DTYPE_U8: unsigned 8-bit integer
 * @PEFTQ_DTYPE_BOOL: boolean stored in one byte, 0 or 1
 *
 * Element types of a [class@Peftq.Tensor]. The names match the dtype strings of the
 * safetensors format. Values are stored little-endian.
 *
 * Since: 1.0
 */
typedef enum
{
  PEFTQ_DTYPE_F64,
  PEFTQ_DTYPE_F32,
  PEFTQ_DTYPE_F16,
  PEFTQ_DTYPE_BF16,
  PEFTQ_DTYPE_I64,
  PEFTQ_DTYPE_I32,
  PEFTQ_DTYPE_I16,
  PEFTQ_DTYPE_I8,
  PEFTQ_DTYPE_U8,
  PEFTQ_DTYPE_BOOL,
} PeftqDType;

PEFTQ_AVAILABLE_IN_ALL
gsize        peftq_dtype_get_size    (PeftqDType  dtype);
PEFTQ_AVAILABLE_IN_ALL
const char  *peftq_dtype_to_string   (PeftqDType  dtype);
PEFTQ_AVAILABLE_IN_ALL
gboolean     peftq_dtype_from_string (const char *name,
                                      PeftqDType *out_dtype);
PEFTQ_AVAILABLE_IN_ALL
gboolean     peftq_dtype_is_float    (PeftqDType  dtype);

#define PEFTQ_TYPE_TENSOR (peftq_tensor_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqTensor, peftq_tensor, PEFTQ, TENSOR, GObject)

PEFTQ_AVAILABLE_IN_ALL
PeftqTensor   *peftq_tensor_new             (PeftqDType     dtype,
                                             const gint64  *shape,
                                             guint          rank,
                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor   *peftq_tensor_new_from_bytes  (PeftqDType     dtype,
                                             const gint64  *shape,
                                             guint          rank,
                                             GBytes        *data,
                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor   *peftq_tensor_new_from_floats (const float   *data,
                                             gsize          n_data,
                                             const gint64  *shape,
                                             guint          rank,
                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
PeftqDType     peftq_tensor_get_dtype       (PeftqTensor   *self);
PEFTQ_AVAILABLE_IN_ALL
guint          peftq_tensor_get_rank        (PeftqTensor   *self);
PEFTQ_AVAILABLE_IN_ALL
const gint64  *peftq_tensor_get_shape       (PeftqTensor   *self,
                                             guint         *rank);
PEFTQ_AVAILABLE_IN_ALL
gint64         peftq_tensor_get_dim         (PeftqTensor   *self,
                                             int            axis);
PEFTQ_AVAILABLE_IN_ALL
guint64        peftq_tensor_get_n_elements  (PeftqTensor   *self);
PEFTQ_AVAILABLE_IN_ALL
gsize          peftq_tensor_get_n_bytes     (PeftqTensor   *self);
PEFTQ_AVAILABLE_IN_ALL
GBytes        *peftq_tensor_get_bytes       (PeftqTensor   *self);
PEFTQ_AVAILABLE_IN_ALL
gconstpointer  peftq_tensor_peek_data       (PeftqTensor   *self);
PEFTQ_AVAILABLE_IN_ALL
guint64        peftq_tensor_get_data_address (PeftqTensor  *self);
PEFTQ_AVAILABLE_IN_ALL
char          *peftq_tensor_format_shape    (PeftqTensor   *self) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
PeftqTensor   *peftq_tensor_reshape         (PeftqTensor   *self,
                                             const gint64  *shape,
                                             guint          rank,
                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor   *peftq_tensor_convert         (PeftqTensor   *self,
                                             PeftqDType     dtype,
                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor   *peftq_tensor_to_float32      (PeftqTensor   *self,
                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
float         *peftq_tensor_to_floats       (PeftqTensor   *self,
                                             gsize         *n_values) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean       peftq_tensor_equal           (PeftqTensor   *self,
                                             PeftqTensor   *other);

G_END_DECLS
