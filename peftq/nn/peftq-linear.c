/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-linear.h"
#include "peftq-module-private.h"
#include "peftq-gemm-private.h"

/**
 * PeftqLinear:
 *
 * A fully connected layer, like PyTorch's `torch.nn.Linear`: y = x · Wᵀ + b.
 *
 * The parameter `weight` has the shape [out_features, in_features] and the optional
 * parameter `bias` the shape [out_features]. The input has the shape
 * [..., in_features] and the output [..., out_features]. The module exports to the ONNX
 * operator `Gemm`.
 *
 * Since: 1.0
 */
struct _PeftqLinear
{
  PeftqModule parent_instance;

  guint in_features;
  guint out_features;
  gboolean has_bias;
};

G_DEFINE_FINAL_TYPE (PeftqLinear, peftq_linear, PEFTQ_TYPE_MODULE)

enum
{
  PROP_0,
  PROP_IN_FEATURES,
  PROP_OUT_FEATURES,
  PROP_HAS_BIAS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static PeftqTensor *
peftq_linear_forward (PeftqModule          *module,
                      PeftqForwardContext  *context,
                      PeftqTensor         **inputs,
                      guint                 n_inputs,
                      GError              **error)
{
  PeftqLinear *self = PEFTQ_LINEAR (module);
  g_autoptr(PeftqTensor) input = NULL;
  g_autoptr(PeftqTensor) weight = NULL;
  g_autoptr(PeftqTensor) bias = NULL;
  g_autofree gint64 *out_shape = NULL;
  PeftqTensor *output;
  const gint64 *shape;
  guint rank;
  gsize rows;
  float *out;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  input = peftq_tensor_ensure_f32 (inputs[0], "The input of a Linear module", error);
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
      peftq_tensor_get_dim (weight, 0) != self->out_features ||
      peftq_tensor_get_dim (weight, 1) != self->in_features)
    {
      g_autofree char *expected = g_strdup_printf ("[%u, %u]", self->out_features, self->in_features);

      peftq_module_set_shape_error (module, error, "a weight", weight, expected);
      return NULL;
    }

  if (self->has_bias)
    {
      bias = peftq_module_get_effective_parameter (module, "bias", error);
      if (bias == NULL)
        return NULL;
      if (peftq_tensor_get_n_elements (bias) != self->out_features)
        {
          g_autofree char *expected = g_strdup_printf ("[%u]", self->out_features);

          peftq_module_set_shape_error (module, error, "a bias", bias, expected);
          return NULL;
        }
    }

  out_shape = g_memdup2 (shape, rank * sizeof (gint64));
  out_shape[rank - 1] = self->out_features;
  output = peftq_tensor_new_f32 (out_shape, rank);
  out = peftq_tensor_get_mutable_data (output);
  rows = (gsize) (peftq_tensor_get_n_elements (input) / MAX (self->in_features, 1));
  if (self->in_features == 0)
    rows = (gsize) (peftq_tensor_get_n_elements (output) / MAX (self->out_features, 1));

  if (bias != NULL)
    {
      const float *b = peftq_tensor_peek_f32 (bias);

      for (gsize i = 0; i < rows; i++)
        for (guint j = 0; j < self->out_features; j++)
          out[i * self->out_features + j] = b[j];
    }

  peftq_gemm (TRUE, rows, self->out_features, self->in_features,
              peftq_tensor_peek_f32 (input), self->in_features,
              peftq_tensor_peek_f32 (weight), self->in_features,
              bias != NULL ? 1.0f : 0.0f, out, self->out_features);

  return output;
}

static const char *
peftq_linear_get_op_type (PeftqModule *module)
{
  return "Gemm";
}

static const char *
peftq_linear_get_type_name (PeftqModule *module)
{
  return "Linear";
}

static void
peftq_linear_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  PeftqLinear *self = PEFTQ_LINEAR (object);

  switch (prop_id)
    {
    case PROP_IN_FEATURES:
      g_value_set_uint (value, self->in_features);
      break;
    case PROP_OUT_FEATURES:
      g_value_set_uint (value, self->out_features);
      break;
    case PROP_HAS_BIAS:
      g_value_set_boolean (value, self->has_bias);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_linear_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  PeftqLinear *self = PEFTQ_LINEAR (object);

  switch (prop_id)
    {
    case PROP_IN_FEATURES:
      self->in_features = g_value_get_uint (value);
      break;
    case PROP_OUT_FEATURES:
      self->out_features = g_value_get_uint (value);
      break;
    case PROP_HAS_BIAS:
      self->has_bias = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_linear_constructed (GObject *object)
{
  PeftqLinear *self = PEFTQ_LINEAR (object);
  PeftqModule *module = PEFTQ_MODULE (object);
  gint64 weight_shape[2] = { self->out_features, self->in_features };
  gint64 bias_shape[1] = { self->out_features };

  G_OBJECT_CLASS (peftq_linear_parent_class)->constructed (object);

  /* Zero-filled until a loader or the caller sets real values. */
  {
    g_autoptr(PeftqTensor) weight = peftq_tensor_new_f32 (weight_shape, 2);

    peftq_module_register_parameter (module, "weight", weight);
  }

  if (self->has_bias)
    {
      g_autoptr(PeftqTensor) bias = peftq_tensor_new_f32 (bias_shape, 1);

      peftq_module_register_parameter (module, "bias", bias);
    }
}

static void
peftq_linear_class_init (PeftqLinearClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  object_class->get_property = peftq_linear_get_property;
  object_class->set_property = peftq_linear_set_property;
  object_class->constructed = peftq_linear_constructed;

  module_class->forward = peftq_linear_forward;
  module_class->get_op_type = peftq_linear_get_op_type;
  module_class->get_type_name = peftq_linear_get_type_name;

  /**
   * PeftqLinear:in-features:
   *
   * Size of the last dimension of the input.
   *
   * Since: 1.0
   */
  properties[PROP_IN_FEATURES] =
    g_param_spec_uint ("in-features", NULL, NULL, 0, G_MAXINT32, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqLinear:out-features:
   *
   * Size of the last dimension of the output.
   *
   * Since: 1.0
   */
  properties[PROP_OUT_FEATURES] =
    g_param_spec_uint ("out-features", NULL, NULL, 0, G_MAXINT32, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqLinear:has-bias:
   *
   * Whether the module has the parameter `bias`.
   *
   * Since: 1.0
   */
  properties[PROP_HAS_BIAS] =
    g_param_spec_boolean ("has-bias", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
peftq_linear_init (PeftqLinear *self)
{
}

/**
 * peftq_linear_new:
 * @in_features: size of the last input dimension
 * @out_features: size of the last output dimension
 * @bias: whether the module has a bias
 *
 * Creates a linear layer with zero-filled float32 parameters.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_linear_new (guint    in_features,
                  guint    out_features,
                  gboolean bias)
{
  g_return_val_if_fail (in_features <= G_MAXINT32, NULL);
  g_return_val_if_fail (out_features <= G_MAXINT32, NULL);

  return g_object_new (PEFTQ_TYPE_LINEAR,
                       "in-features", in_features,
                       "out-features", out_features,
                       "has-bias", bias,
                       NULL);
}

/**
 * peftq_linear_new_with_weights:
 * @weight: the weight, of shape [out_features, in_features] and a floating-point dtype
 * @bias: (nullable): the bias, of shape [out_features], or `NULL` for none
 * @error: return location for a #GError
 *
 * Creates a linear layer from existing tensors, which it keeps without copying.
 *
 * Returns: (transfer full): a new module, or `NULL` if the shapes do not fit
 *
 * Since: 1.0
 */
PeftqModule *
peftq_linear_new_with_weights (PeftqTensor  *weight,
                               PeftqTensor  *bias,
                               GError      **error)
{
  g_autoptr(PeftqModule) module = NULL;
  gint64 out_features;
  gint64 in_features;

  g_return_val_if_fail (PEFTQ_IS_TENSOR (weight), NULL);
  g_return_val_if_fail (bias == NULL || PEFTQ_IS_TENSOR (bias), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (peftq_tensor_get_rank (weight) != 2 ||
      peftq_tensor_get_dim (weight, 0) > G_MAXINT32 ||
      peftq_tensor_get_dim (weight, 1) > G_MAXINT32)
    {
      g_autofree char *shape = peftq_tensor_format_shape (weight);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "A Linear weight must have the shape [out_features, in_features], not %s",
                   shape);
      return NULL;
    }

  out_features = peftq_tensor_get_dim (weight, 0);
  in_features = peftq_tensor_get_dim (weight, 1);
  module = peftq_linear_new ((guint) in_features, (guint) out_features, bias != NULL);
  if (!peftq_module_set_parameter (module, "weight", weight, error))
    return NULL;
  if (bias != NULL && !peftq_module_set_parameter (module, "bias", bias, error))
    return NULL;

  return g_steal_pointer (&module);
}

/**
 * peftq_linear_get_in_features:
 * @self: a linear layer
 *
 * Gets the size of the last input dimension.
 *
 * Returns: the number of input features
 *
 * Since: 1.0
 */
guint
peftq_linear_get_in_features (PeftqLinear *self)
{
  g_return_val_if_fail (PEFTQ_IS_LINEAR (self), 0);

  return self->in_features;
}

/**
 * peftq_linear_get_out_features:
 * @self: a linear layer
 *
 * Gets the size of the last output dimension.
 *
 * Returns: the number of output features
 *
 * Since: 1.0
 */
guint
peftq_linear_get_out_features (PeftqLinear *self)
{
  g_return_val_if_fail (PEFTQ_IS_LINEAR (self), 0);

  return self->out_features;
}

/**
 * peftq_linear_get_has_bias:
 * @self: a linear layer
 *
 * Checks whether the layer has the parameter `bias`.
 *
 * Returns: `TRUE` if the layer has a bias
 *
 * Since: 1.0
 */
gboolean
peftq_linear_get_has_bias (PeftqLinear *self)
{
  g_return_val_if_fail (PEFTQ_IS_LINEAR (self), FALSE);

  return self->has_bias;
}
