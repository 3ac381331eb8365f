/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-conv1d.h"
#include "peftq-module-private.h"
#include "peftq-gemm-private.h"

#include <string.h>

/**
 * PeftqConv1D:
 *
 * GPT-2's `Conv1D` layer: a linear layer whose weight is stored transposed.
 *
 * y = x · W + b, where the parameter `weight` has the shape [in_features, out_features]
 * and `bias` the shape [out_features]. The input has the shape [..., in_features]. The
 * operator type is `Gemm`, like a linear layer.
 *
 * Since: 1.0
 */
struct _PeftqConv1D
{
  PeftqModule parent_instance;

  guint in_features;
  guint out_features;
};

G_DEFINE_FINAL_TYPE (PeftqConv1D, peftq_conv1d, PEFTQ_TYPE_MODULE)

static PeftqTensor *
peftq_conv1d_forward (PeftqModule          *module,
                      PeftqForwardContext  *context,
                      PeftqTensor         **inputs,
                      guint                 n_inputs,
                      GError              **error)
{
  PeftqConv1D *self = PEFTQ_CONV1D (module);
  g_autoptr(PeftqTensor) input = NULL;
  g_autoptr(PeftqTensor) weight = NULL;
  g_autoptr(PeftqTensor) bias = NULL;
  g_autofree gint64 *out_shape = NULL;
  PeftqTensor *output;
  const gint64 *shape;
  const float *b;
  float *out;
  guint rank;
  gsize rows;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  input = peftq_tensor_ensure_f32 (inputs[0], "The input of a Conv1D module", error);
  if (input == NULL)
    return NULL;

  shape = peftq_tensor_get_shape (input, &rank);
  if (rank == 0 || shape[rank - 1] != self->in_features)
    {
      g_autofree char *expected = g_strdup_printf ("[..., %u]", self->in_features);

      peftq_module_set_shape_error (module, error, "an input", input, expected);
      return NULL;
    }

  weight = peftq_module_get_effective_parameter (module, "weight", error);
  if (weight == NULL)
    return NULL;
  if (peftq_tensor_get_rank (weight) != 2 ||
      peftq_tensor_get_dim (weight, 0) != self->in_features ||
      peftq_tensor_get_dim (weight, 1) != self->out_features)
    {
      g_autofree char *expected = g_strdup_printf ("[%u, %u]", self->in_features, self->out_features);

      peftq_module_set_shape_error (module, error, "a weight", weight, expected);
      return NULL;
    }

  bias = peftq_module_get_effective_parameter (module, "bias", error);
  if (bias == NULL)
    return NULL;
  if (peftq_tensor_get_n_elements (bias) != self->out_features)
    {
      g_autofree char *expected = g_strdup_printf ("[%u]", self->out_features);

      peftq_module_set_shape_error (module, error, "a bias", bias, expected);
      return NULL;
    }

  out_shape = g_memdup2 (shape, rank * sizeof (gint64));
  out_shape[rank - 1] = self->out_features;
  output = peftq_tensor_new_f32 (out_shape, rank);
  out = peftq_tensor_get_mutable_data (output);
  rows = (gsize) (peftq_tensor_get_n_elements (output) / MAX (self->out_features, 1));

  b = peftq_tensor_peek_f32 (bias);
  for (gsize i = 0; i < rows; i++)
    memcpy (out + i * self->out_features, b, self->out_features * sizeof (float));

  peftq_gemm (FALSE, rows, self->out_features, self->in_features,
              peftq_tensor_peek_f32 (input), self->in_features,
              peftq_tensor_peek_f32 (weight), self->out_features,
              1.0f, out, self->out_features);
  return output;
}

static const char *
peftq_conv1d_get_op_type (PeftqModule *module)
{
  return "Gemm";
}

static const char *
peftq_conv1d_get_type_name (PeftqModule *module)
{
  return "Conv1D";
}

static void
peftq_conv1d_class_init (PeftqConv1DClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_conv1d_forward;
  module_class->get_op_type = peftq_conv1d_get_op_type;
  module_class->get_type_name = peftq_conv1d_get_type_name;
}

static void
peftq_conv1d_init (PeftqConv1D *self)
{
}

/**
 * peftq_conv1d_new:
 * @in_features: size of the last input dimension
 * @out_features: size of the last output dimension
 *
 * Creates a GPT-2 Conv1D layer with zero-filled parameters.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_conv1d_new (guint in_features,
                  guint out_features)
{
  PeftqConv1D *self = g_object_new (PEFTQ_TYPE_CONV1D, NULL);
  gint64 weight_shape[2] = { in_features, out_features };
  gint64 bias_shape[1] = { out_features };
  g_autoptr(PeftqTensor) weight = peftq_tensor_new_f32 (weight_shape, 2);
  g_autoptr(PeftqTensor) bias = peftq_tensor_new_f32 (bias_shape, 1);

  self->in_features = in_features;
  self->out_features = out_features;
  peftq_module_register_parameter (PEFTQ_MODULE (self), "weight", weight);
  peftq_module_register_parameter (PEFTQ_MODULE (self), "bias", bias);
  return PEFTQ_MODULE (self);
}
