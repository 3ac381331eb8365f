/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-multiply.h"
#include "peftq-binary-private.h"

/**
 * PeftqMultiply:
 *
 * Elementwise multiplication of two tensors with NumPy broadcasting, including by a 0-d scalar tensor.
 *
 * The module takes two inputs and exports to the ONNX operator `Mul`. It is a module
 * of its own, rather than an operator inside another module's forward pass, so that a
 * quantization simulation can attach quantizers to it.
 *
 * Since: 1.0
 */
struct _PeftqMultiply
{
  PeftqModule parent_instance;
};

G_DEFINE_FINAL_TYPE (PeftqMultiply, peftq_multiply, PEFTQ_TYPE_MODULE)

static PeftqTensor *
peftq_multiply_forward (PeftqModule          *module,
                    PeftqForwardContext  *context,
                    PeftqTensor         **inputs,
                    guint                 n_inputs,
                    GError              **error)
{
  return peftq_binary_module_forward (module, PEFTQ_BINARY_MUL, inputs, n_inputs, error);
}

static const char *
peftq_multiply_get_op_type (PeftqModule *module)
{
  return "Mul";
}

static const char *
peftq_multiply_get_type_name (PeftqModule *module)
{
  return "Mul";
}

static void
peftq_multiply_class_init (PeftqMultiplyClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_multiply_forward;
  module_class->get_op_type = peftq_multiply_get_op_type;
  module_class->get_type_name = peftq_multiply_get_type_name;
}

static void
peftq_multiply_init (PeftqMultiply *self)
{
}

/**
 * peftq_multiply_new:
 *
 * Creates a module that multiplies its two inputs elementwise, with NumPy
 * broadcasting.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_multiply_new (void)
{
  return g_object_new (PEFTQ_TYPE_MULTIPLY, NULL);
}
