/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-rms-norm.h"
#include "peftq-module-private.h"
#include "peftq-norm-private.h"

/**
 * PeftqRMSNorm:
 *
 * Root-mean-square normalization over the last axis, as Hugging Face's LlamaRMSNorm:
 * y = weight · x / sqrt(mean(x²) + eps).
 *
 * The parameter `weight` has the shape [dim] and starts at ones. The operator type is
 * `RMSNormalization`, the ONNX operator of opset 23.
 *
 * Since: 1.0
 */
struct _PeftqRMSNorm
{
  PeftqModule parent_instance;

  guint dim;
  float eps;
};

G_DEFINE_FINAL_TYPE (PeftqRMSNorm, peftq_rms_norm, PEFTQ_TYPE_MODULE)

static PeftqTensor *
peftq_rms_norm_forward (PeftqModule          *module,
                        PeftqForwardContext  *context,
                        PeftqTensor         **inputs,
                        guint                 n_inputs,
                        GError              **error)
{
  PeftqRMSNorm *self = PEFTQ_RMS_NORM (module);
  g_autoptr(PeftqTensor) input = NULL;
  g_autoptr(PeftqTensor) weight = NULL;
  PeftqTensor *output;
  const gint64 *shape;
  guint rank;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  input = peftq_tensor_ensure_f32 (inputs[0], "The input of an RMSNorm module", error);
  if (input == NULL)
    return NULL;

  shape = peftq_tensor_get_shape (input, &rank);
  if (rank == 0 || shape[rank - 1] != self->dim)
    {
      g_autofree char *expected = g_strdup_printf ("[..., %u]", self->dim);

      peftq_module_set_shape_error (module, error, "an input", input, expected);
      return NULL;
    }

  weight = peftq_module_get_effective_parameter (module, "weight", error);
  if (weight == NULL)
    return NULL;
  if (peftq_tensor_get_n_elements (weight) != self->dim)
    {
      g_autofree char *expected = g_strdup_printf ("[%u]", self->dim);

      peftq_module_set_shape_error (module, error, "a weight", weight, expected);
      return NULL;
    }

  output = peftq_tensor_new_f32 (shape, rank);
  if (self->dim > 0)
    peftq_rms_norm (peftq_tensor_peek_f32 (input), peftq_tensor_peek_f32 (weight), self->eps,
                    peftq_tensor_get_mutable_data (output),
                    (gsize) (peftq_tensor_get_n_elements (input) / self->dim), self->dim);
  return output;
}

static const char *
peftq_rms_norm_get_op_type (PeftqModule *module)
{
  return "RMSNormalization";
}

static const char *
peftq_rms_norm_get_type_name (PeftqModule *module)
{
  return "RMSNorm";
}

static void
peftq_rms_norm_class_init (PeftqRMSNormClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_rms_norm_forward;
  module_class->get_op_type = peftq_rms_norm_get_op_type;
  module_class->get_type_name = peftq_rms_norm_get_type_name;
}

static void
peftq_rms_norm_init (PeftqRMSNorm *self)
{
}

/**
 * peftq_rms_norm_new:
 * @dim: the size of the last axis
 * @eps: the value added to the mean square (`rms_norm_eps`)
 *
 * Creates an RMSNorm module with a weight of ones.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_rms_norm_new (guint dim,
                    float eps)
{
  PeftqRMSNorm *self = g_object_new (PEFTQ_TYPE_RMS_NORM, NULL);
  gint64 shape[1] = { dim };
  g_autoptr(PeftqTensor) weight = peftq_tensor_new_f32 (shape, 1);
  float *values = peftq_tensor_get_mutable_data (weight);

  for (guint i = 0; i < dim; i++)
    values[i] = 1.0f;

  self->dim = dim;
  self->eps = eps;
  peftq_module_register_parameter (PEFTQ_MODULE (self), "weight", weight);
  return PEFTQ_MODULE (self);
}

/**
 * peftq_rms_norm_get_eps:
 * @self: an RMSNorm module
 *
 * Gets the value added to the mean square.
 *
 * Returns: epsilon
 *
 * Since: 1.0
 */
float
peftq_rms_norm_get_eps (PeftqRMSNorm *self)
{
  g_return_val_if_fail (PEFTQ_IS_RMS_NORM (self), 0.0f);

  return self->eps;
}
