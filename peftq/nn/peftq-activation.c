/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-activation.h"
#include "peftq-module-private.h"
#include "peftq-activation-private.h"

#include <string.h>

/**
 * PeftqActivation:
 *
 * An elementwise activation function: SiLU, GELU (exact or tanh) or ReLU.
 *
 * The type names are PyTorch's (`SiLU`, `GELU`, `ReLU`). The operator types are `Silu`
 * (a peftq name: ONNX has no single SiLU operator, and exporters write Sigmoid and Mul),
 * `Gelu` (ONNX opset 20) and `Relu`.
 *
 * Since: 1.0
 */
struct _PeftqActivation
{
  PeftqModule parent_instance;

  PeftqActivationKind kind;
};

G_DEFINE_FINAL_TYPE (PeftqActivation, peftq_activation, PEFTQ_TYPE_MODULE)

static PeftqTensor *
peftq_activation_forward (PeftqModule          *module,
                          PeftqForwardContext  *context,
                          PeftqTensor         **inputs,
                          guint                 n_inputs,
                          GError              **error)
{
  PeftqActivation *self = PEFTQ_ACTIVATION (module);
  static const PeftqUnaryOp ops[] = {
    [PEFTQ_ACTIVATION_KIND_SILU] = PEFTQ_UNARY_SILU,
    [PEFTQ_ACTIVATION_KIND_GELU] = PEFTQ_UNARY_GELU,
    [PEFTQ_ACTIVATION_KIND_GELU_TANH] = PEFTQ_UNARY_GELU_TANH,
    [PEFTQ_ACTIVATION_KIND_RELU] = PEFTQ_UNARY_RELU,
  };
  g_autoptr(PeftqTensor) input = NULL;
  PeftqTensor *output;
  const gint64 *shape;
  guint rank;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  input = peftq_tensor_ensure_f32 (inputs[0], "The input of an activation", error);
  if (input == NULL)
    return NULL;

  shape = peftq_tensor_get_shape (input, &rank);
  output = peftq_tensor_new_f32 (shape, rank);
  peftq_unary (ops[self->kind], peftq_tensor_peek_f32 (input),
               peftq_tensor_get_mutable_data (output), peftq_tensor_get_n_elements (input));
  return output;
}

static const char *
peftq_activation_get_op_type (PeftqModule *module)
{
  switch (PEFTQ_ACTIVATION (module)->kind)
    {
    case PEFTQ_ACTIVATION_KIND_SILU:
      return "Silu";
    case PEFTQ_ACTIVATION_KIND_GELU:
    case PEFTQ_ACTIVATION_KIND_GELU_TANH:
      return "Gelu";
    case PEFTQ_ACTIVATION_KIND_RELU:
    default:
      return "Relu";
    }
}

static const char *
peftq_activation_get_type_name (PeftqModule *module)
{
  switch (PEFTQ_ACTIVATION (module)->kind)
    {
    case PEFTQ_ACTIVATION_KIND_SILU:
      return "SiLU";
    case PEFTQ_ACTIVATION_KIND_GELU:
    case PEFTQ_ACTIVATION_KIND_GELU_TANH:
      return "GELU";
    case PEFTQ_ACTIVATION_KIND_RELU:
    default:
      return "ReLU";
    }
}

static void
peftq_activation_class_init (PeftqActivationClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_activation_forward;
  module_class->get_op_type = peftq_activation_get_op_type;
  module_class->get_type_name = peftq_activation_get_type_name;
}

static void
peftq_activation_init (PeftqActivation *self)
{
}

/**
 * peftq_activation_new:
 * @kind: the function
 *
 * Creates an activation module.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_activation_new (PeftqActivationKind kind)
{
  PeftqActivation *self;

  g_return_val_if_fail (kind <= PEFTQ_ACTIVATION_KIND_RELU, NULL);

  self = g_object_new (PEFTQ_TYPE_ACTIVATION, NULL);
  self->kind = kind;
  return PEFTQ_MODULE (self);
}

/**
 * peftq_activation_new_from_name:
 * @name: a Hugging Face activation name: `silu` (or `swish`), `gelu`, `gelu_new`,
 *   `gelu_pytorch_tanh` or `relu`
 * @error: return location for a #GError
 *
 * Creates the activation that a Hugging Face configuration names in `hidden_act` or
 * `activation_function`.
 *
 * Returns: (transfer full): a new module, or `NULL` for an unsupported name
 *
 * Since: 1.0
 */
PeftqModule *
peftq_activation_new_from_name (const char  *name,
                                GError     **error)
{
  static const struct
  {
    const char *name;
    PeftqActivationKind kind;
  } names[] = {
    { "silu", PEFTQ_ACTIVATION_KIND_SILU },
    { "swish", PEFTQ_ACTIVATION_KIND_SILU },
    { "gelu", PEFTQ_ACTIVATION_KIND_GELU },
    { "gelu_new", PEFTQ_ACTIVATION_KIND_GELU_TANH },
    { "gelu_pytorch_tanh", PEFTQ_ACTIVATION_KIND_GELU_TANH },
    { "gelu_fast", PEFTQ_ACTIVATION_KIND_GELU_TANH },
    { "relu", PEFTQ_ACTIVATION_KIND_RELU },
  };

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (strcmp (name, names[i].name) == 0)
        return peftq_activation_new (names[i].kind);
    }

  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
               "Activation function “%s” is not supported; use silu, gelu, gelu_new, "
               "gelu_pytorch_tanh or relu", name);
  return NULL;
}

/**
 * peftq_activation_get_kind:
 * @self: an activation module
 *
 * Gets the function that @self applies.
 *
 * Returns: the activation kind
 *
 * Since: 1.0
 */
PeftqActivationKind
peftq_activation_get_kind (PeftqActivation *self)
{
  g_return_val_if_fail (PEFTQ_IS_ACTIVATION (self), PEFTQ_ACTIVATION_KIND_SILU);

  return self->kind;
}
