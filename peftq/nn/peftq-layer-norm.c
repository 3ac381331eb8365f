/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-layer-norm.h"
#include "peftq-module-private.h"
#include "peftq-norm-private.h"

/**
 * PeftqLayerNorm:
 *
 * Layer normalization over the last axis, as PyTorch's `nn.LayerNorm`:
 * y = (x - mean) / sqrt(var + eps) · weight + bias, with the biased variance.
 *
 * The parameters `weight` (ones) and the optional `bias` (zeros) have the shape [dim].
 * The operator type is `LayerNormalization`.
 *
 * Since: 1.0
 */
struct _PeftqLayerNorm
{
  PeftqModule parent_instance;

  guint dim;
  float eps;
  gboolean has_bias;
};

G_DEFINE_FINAL_TYPE (PeftqLayerNorm, peftq_layer_norm, PEFTQ_TYPE_MODULE)

static gboolean
get_vector (PeftqModule   *module,
            const char    *name,
            guint          dim,
            PeftqTensor  **out,
            GError       **error)
{
  *out = peftq_module_get_effective_parameter (module, name, error);
  if (*out == NULL)
    return FALSE;

  if (peftq_tensor_get_n_elements (*out) != dim)
    {
      g_autofree char *expected = g_strdup_printf ("[%u]", dim);
      g_autofree char *what = g_strdup_printf ("a %s", name);

      peftq_module_set_shape_error (module, error, what, *out, expected);
      return FALSE;
    }

  return TRUE;
}

static PeftqTensor *
peftq_layer_norm_forward (PeftqModule          *module,
                          PeftqForwardContext  *context,
                          PeftqTensor         **inputs,
                          guint                 n_inputs,
                          GError              **error)
{
  PeftqLayerNorm *self = PEFTQ_LAYER_NORM (module);
  g_autoptr(PeftqTensor) input = NULL;
  g_autoptr(PeftqTensor) weight = NULL;
  g_autoptr(PeftqTensor) bias = NULL;
  PeftqTensor *output;
  const gint64 *shape;
  guint rank;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  input = peftq_tensor_ensure_f32 (inputs[0], "The input of a LayerNorm module", error);
  if (input == NULL)
    return NULL;

  shape = peftq_tensor_get_shape (input, &rank);
  if (rank == 0 || shape[rank - 1] != self->dim)
    {
      g_autofree char *expected = g_strdup_printf ("[..., %u]", self->dim);

      peftq_module_set_shape_error (module, error, "an input", input, expected);
      return NULL;
    }

  if (!get_vector (module, "weight", self->dim, &weight, error))
    return NULL;
  if (self->has_bias && !get_vector (module, "bias", self->dim, &bias, error))
    return NULL;

  output = peftq_tensor_new_f32 (shape, rank);
  if (self->dim > 0)
    peftq_layer_norm (peftq_tensor_peek_f32 (input), peftq_tensor_peek_f32 (weight),
                      bias != NULL ? peftq_tensor_peek_f32 (bias) : NULL, self->eps,
                      peftq_tensor_get_mutable_data (output),
                      (gsize) (peftq_tensor_get_n_elements (input) / self->dim), self->dim);
  return output;
}

static const char *
peftq_layer_norm_get_op_type (PeftqModule *module)
{
  return "LayerNormalization";
}

static const char *
peftq_layer_norm_get_type_name (PeftqModule *module)
{
  return "LayerNorm";
}

static void
peftq_layer_norm_class_init (PeftqLayerNormClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_layer_norm_forward;
  module_class->get_op_type = peftq_layer_norm_get_op_type;
  module_class->get_type_name = peftq_layer_norm_get_type_name;
}

static void
peftq_layer_norm_init (PeftqLayerNorm *self)
{
}

/**
 * peftq_layer_norm_new:
 * @dim: the size of the last axis
 * @eps: the value added to the variance
 * @bias: whether the module has the parameter `bias`
 *
 * Creates a LayerNorm module with a weight of ones and a bias of zeros.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_layer_norm_new (guint    dim,
                      float    eps,
                      gboolean bias)
{
  PeftqLayerNorm *self = g_object_new (PEFTQ_TYPE_LAYER_NORM, NULL);
  gint64 shape[1] = { dim };
  g_autoptr(PeftqTensor) weight = peftq_tensor_new_f32 (shape, 1);
  float *values = peftq_tensor_get_mutable_data (weight);

  for (guint i = 0; i < dim; i++)
    values[i] = 1.0f;

  self->dim = dim;
  self->eps = eps;
  self->has_bias = bias;
  peftq_module_register_parameter (PEFTQ_MODULE (self), "weight", weight);
  if (bias)
    {
      g_autoptr(PeftqTensor) zeros = peftq_tensor_new_f32 (shape, 1);

      peftq_module_register_parameter (PEFTQ_MODULE (self), "bias", zeros);
    }

  return PEFTQ_MODULE (self);
}

/**
 * peftq_layer_norm_get_eps:
 * @self: a LayerNorm module
 *
 * Gets the value added to the variance.
 *
 * Returns: epsilon
 *
 * Since: 1.0
 */
float
peftq_layer_norm_get_eps (PeftqLayerNorm *self)
{
  g_return_val_if_fail (PEFTQ_IS_LAYER_NORM (self), 0.0f);

  return self->eps;
}
