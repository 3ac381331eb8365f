/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-lora-private.h"
#include "peftq-error.h"
#include "peftq-conv2d.h"
#include "peftq-linear.h"
#include "peftq-module-private.h"
#include "peftq-tensor-private.h"

#include <string.h>

PeftqLoraBaseKind
peftq_lora_base_kind (PeftqModule *module)
{
  const char *type_name = peftq_module_get_type_name (module);

  if (g_strcmp0 (type_name, "Linear") == 0)
    return PEFTQ_LORA_BASE_LINEAR;
  if (g_strcmp0 (type_name, "Conv1D") == 0)
    return PEFTQ_LORA_BASE_CONV1D;
  if (g_strcmp0 (type_name, "Conv2d") == 0)
    return PEFTQ_LORA_BASE_CONV2D;
  return PEFTQ_LORA_BASE_NONE;
}

gboolean
peftq_lora_base_get_shape (PeftqModule        *module,
                           PeftqLoraBaseShape *shape,
                           GError            **error)
{
  PeftqTensor *weight = peftq_module_get_parameter (module, "weight");
  g_autofree char *name = peftq_module_dup_qualified_name (module);
  const gint64 *dims;
  guint rank = 0;

  memset (shape, 0, sizeof *shape);
  shape->kind = peftq_lora_base_kind (module);
  shape->kernel[0] = shape->kernel[1] = 1;

  if (shape->kind == PEFTQ_LORA_BASE_NONE)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "Module “%s” is a %s; LoRA layers wrap only Linear, Conv1D and Conv2d modules",
                   name, peftq_module_get_type_name (module));
      return FALSE;
    }

  if (weight != NULL)
    dims = peftq_tensor_get_shape (weight, &rank);
  if (weight == NULL ||
      (shape->kind == PEFTQ_LORA_BASE_CONV2D ? rank != 4 : rank != 2))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Module “%s” (%s) has no weight of the expected rank %u",
                   name, peftq_module_get_type_name (module),
                   shape->kind == PEFTQ_LORA_BASE_CONV2D ? 4 : 2);
      return FALSE;
    }

  switch (shape->kind)
    {
    case PEFTQ_LORA_BASE_LINEAR:
      shape->out_features = dims[0];
      shape->in_features = dims[1];
      break;
    case PEFTQ_LORA_BASE_CONV1D:
      shape->in_features = dims[0];
      shape->out_features = dims[1];
      break;
    case PEFTQ_LORA_BASE_CONV2D:
      shape->out_features = dims[0];
      shape->in_features = dims[1];
      shape->kernel[0] = dims[2];
      shape->kernel[1] = dims[3];
      if (PEFTQ_IS_CONV2D (module))
        {
          peftq_conv2d_get_stride (PEFTQ_CONV2D (module), &shape->stride[0], &shape->stride[1]);
          peftq_conv2d_get_padding (PEFTQ_CONV2D (module), &shape->padding[0], &shape->padding[1]);
        }
      else
        {
          /* A Conv2d of a tree built from weight shapes alone: the weights do not record
           * stride and padding, so assume stride 1 and "same" padding. */
          shape->stride[0] = shape->stride[1] = 1;
          shape->padding[0] = (guint) (dims[2] - 1) / 2;
          shape->padding[1] = (guint) (dims[3] - 1) / 2;
        }
      break;
    case PEFTQ_LORA_BASE_NONE:
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

static char *
format_tensor_shape (PeftqTensor *tensor)
{
  return peftq_tensor_format_shape (tensor);
}

gboolean
peftq_lora_check_weights (const PeftqLoraBaseShape *shape,
                          const char               *layer_name,
                          PeftqTensor              *lora_a,
                          PeftqTensor              *lora_b,
                          guint                    *out_rank,
                          GError                  **error)
{
  g_autofree char *a_shape = format_tensor_shape (lora_a);
  g_autofree char *b_shape = format_tensor_shape (lora_b);
  gboolean conv = shape->kind == PEFTQ_LORA_BASE_CONV2D;
  guint expected_rank = conv ? 4 : 2;
  gint64 r;

  if (!peftq_dtype_is_float (peftq_tensor_get_dtype (lora_a)) ||
      !peftq_dtype_is_float (peftq_tensor_get_dtype (lora_b)))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_DTYPE_MISMATCH,
                   "LoRA weights of “%s” must be floating point, not %s and %s", layer_name,
                   peftq_dtype_to_string (peftq_tensor_get_dtype (lora_a)),
                   peftq_dtype_to_string (peftq_tensor_get_dtype (lora_b)));
      return FALSE;
    }

  if (peftq_tensor_get_rank (lora_a) != expected_rank || peftq_tensor_get_rank (lora_b) != expected_rank)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "LoRA weights of “%s” have shapes %s (lora_A) and %s (lora_B), but a %s "
                   "base layer needs %u-dimensional weights", layer_name, a_shape, b_shape,
                   conv ? "Conv2d" : "Linear or Conv1D", expected_rank);
      return FALSE;
    }

  r = peftq_tensor_get_dim (lora_a, 0);
  if (r < 1 || r > G_MAXINT32 || peftq_tensor_get_dim (lora_b, 1) != r)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "LoRA weights of “%s” disagree on the rank: lora_A is %s and lora_B is %s "
                   "(expected [r, in] and [out, r])", layer_name, a_shape, b_shape);
      return FALSE;
    }

  if (peftq_tensor_get_dim (lora_a, 1) != shape->in_features ||
      peftq_tensor_get_dim (lora_b, 0) != shape->out_features ||
      (conv && (peftq_tensor_get_dim (lora_a, 2) != shape->kernel[0] ||
                peftq_tensor_get_dim (lora_a, 3) != shape->kernel[1] ||
                peftq_tensor_get_dim (lora_b, 2) != 1 || peftq_tensor_get_dim (lora_b, 3) != 1)))
    {
      g_autofree char *expected_a = NULL;
      g_autofree char *expected_b = NULL;

      if (conv)
        {
          expected_a = g_strdup_printf ("[%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %"
                                        G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                                        r, shape->in_features, shape->kernel[0], shape->kernel[1]);
          expected_b = g_strdup_printf ("[%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", 1, 1]",
                                        shape->out_features, r);
        }
      else
        {
          expected_a = g_strdup_printf ("[%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                                        r, shape->in_features);
          expected_b = g_strdup_printf ("[%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                                        shape->out_features, r);
        }
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "LoRA weights of “%s” do not fit the base layer (%" G_GINT64_FORMAT
                   " in, %" G_GINT64_FORMAT " out): lora_A is %s (expected %s) and lora_B is %s "
                   "(expected %s)", layer_name, shape->in_features, shape->out_features,
                   a_shape, expected_a, b_shape, expected_b);
      return FALSE;
    }

  *out_rank = (guint) r;
  return TRUE;
}

PeftqModule *
peftq_lora_new_projection (const PeftqLoraBaseShape *shape,
                           gboolean                  is_b,
                           PeftqTensor              *weight,
                           GError                  **error)
{
  if (shape->kind == PEFTQ_LORA_BASE_CONV2D)
    {
      g_autoptr(PeftqModule) conv = NULL;
      guint r = (guint) peftq_tensor_get_dim (weight, is_b ? 1 : 0);

      if (is_b)
        conv = peftq_conv2d_new (r, (guint) shape->out_features, 1, 1, 0, 1, FALSE);
      else
        /* PEFT gives lora_A the base layer's kernel, stride and padding. */
        conv = peftq_conv2d_new_full ((guint) shape->in_features, r,
                                      (guint) shape->kernel[0], (guint) shape->kernel[1],
                                      shape->stride[0], shape->stride[1],
                                      shape->padding[0], shape->padding[1], 1, FALSE);
      if (!peftq_module_set_parameter (conv, "weight", weight, error))
        return NULL;
      return g_steal_pointer (&conv);
    }

  return peftq_linear_new_with_weights (weight, NULL, error);
}

PeftqTensor *
peftq_lora_compute_delta (const PeftqLoraBaseShape *shape,
                          PeftqTensor              *lora_a,
                          PeftqTensor              *lora_b,
                          double                    scaling,
                          GError                  **error)
{
  g_autoptr(PeftqTensor) a32 = peftq_tensor_ensure_f32 (lora_a, "lora_A", error);
  g_autoptr(PeftqTensor) b32 = NULL;
  gint64 out = shape->out_features;
  gint64 r = peftq_tensor_get_dim (lora_a, 0);
  gint64 cols;
  const float *a;
  const float *b;
  PeftqTensor *delta;
  float *d;
  float s = (float) scaling;

  if (a32 == NULL)
    return NULL;
  b32 = peftq_tensor_ensure_f32 (lora_b, "lora_B", error);
  if (b32 == NULL)
    return NULL;

  cols = (gint64) (peftq_tensor_get_n_elements (lora_a) / (guint64) r);
  a = peftq_tensor_peek_f32 (a32);
  b = peftq_tensor_peek_f32 (b32);

  if (shape->kind == PEFTQ_LORA_BASE_CONV2D)
    {
      gint64 dims[4] = { out, shape->in_features, shape->kernel[0], shape->kernel[1] };

      delta = peftq_tensor_new_f32 (dims, 4);
    }
  else if (shape->kind == PEFTQ_LORA_BASE_CONV1D)
    {
      gint64 dims[2] = { shape->in_features, out };

      delta = peftq_tensor_new_f32 (dims, 2);
    }
  else
    {
      gint64 dims[2] = { out, shape->in_features };

      delta = peftq_tensor_new_f32 (dims, 2);
    }
  d = peftq_tensor_get_mutable_data (delta);

  /* delta[o, c] = sum_k B[o, k] * A[k, c], summed in float32, then times the scaling
   * as PEFT's get_delta_weight does. Conv1D stores the weight as (in, out). */
  for (gint64 o = 0; o < out; o++)
    for (gint64 c = 0; c < cols; c++)
      {
        float sum = 0.0f;

        for (gint64 k = 0; k < r; k++)
          sum += b[o * r + k] * a[k * cols + c];
        if (shape->kind == PEFTQ_LORA_BASE_CONV1D)
          d[c * out + o] = sum * s;
        else
          d[o * cols + c] = sum * s;
      }

  return delta;
}

PeftqTensor *
peftq_lora_add_scaled (PeftqTensor  *base,
                       PeftqTensor  *addend,
                       float         scaling,
                       GError      **error)
{
  g_autoptr(PeftqTensor) base32 = peftq_tensor_ensure_f32 (base, "The base layer output", error);
  g_autoptr(PeftqTensor) addend32 = NULL;
  const gint64 *shape;
  PeftqTensor *result;
  const float *x;
  const float *y;
  float *out;
  guint rank;
  guint64 n;

  if (base32 == NULL)
    return NULL;
  addend32 = peftq_tensor_ensure_f32 (addend, "The LoRA output", error);
  if (addend32 == NULL)
    return NULL;

  n = peftq_tensor_get_n_elements (base32);
  if (peftq_tensor_get_n_elements (addend32) != n)
    {
      g_autofree char *base_shape = peftq_tensor_format_shape (base32);
      g_autofree char *addend_shape = peftq_tensor_format_shape (addend32);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "The LoRA output %s does not match the base layer output %s",
                   addend_shape, base_shape);
      return NULL;
    }

  shape = peftq_tensor_get_shape (base32, &rank);
  result = peftq_tensor_new_f32 (shape, rank);
  out = peftq_tensor_get_mutable_data (result);
  x = peftq_tensor_peek_f32 (base32);
  y = peftq_tensor_peek_f32 (addend32);
  for (guint64 i = 0; i < n; i++)
    out[i] = x[i] + y[i] * scaling;
  return result;
}

PeftqTensor *
peftq_lora_new_scalar (double value)
{
  PeftqTensor *tensor = peftq_tensor_new_f32 (NULL, 0);
  float *data = peftq_tensor_get_mutable_data (tensor);

  data[0] = (float) value;
  return tensor;
}
