/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-add.h"
#include "peftq-binary-private.h"

/**
 * PeftqAdd:
 *
 * Elementwise addition of two tensors with NumPy broadcasting, such as a residual connection.
 *
 * The module takes two inputs and exports to the ONNX operator `Add`. It is a module
 * of its own, rather than an operator inside another module's forward pass, so that a
 * quantization simulation can attach quantizers to it.
 *
 * Since: 1.0
 */
struct _PeftqAdd
{
  PeftqModule parent_instance;
};

G_DEFINE_FINAL_TYPE (PeftqAdd, peftq_add, PEFTQ_TYPE_MODULE)

static PeftqTensor *
peftq_add_forward (PeftqModule          *module,
                   PeftqForwardContext  *context,
                   PeftqTensor         **inputs,
                   guint                 n_inputs,
                   GError              **error)
{
  return peftq_binary_module_forward (module, PEFTQ_BINARY_ADD, inputs, n_inputs, error);
}

static const char *
peftq_add_get_op_type (PeftqModule *module)
{
  return "Add";
}

static const char *
peftq_add_get_type_name (PeftqModule *module)
{
  return "Add";
}

static void
peftq_add_class_init (PeftqAddClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_add_forward;
  module_class->get_op_type = peftq_add_get_op_type;
  module_class->get_type_name = peftq_add_get_type_name;
}

static void
peftq_add_init (PeftqAdd *self)
{
}

/**
 * peftq_add_new:
 *
 * Creates a module that adds its two inputs elementwise, with NumPy broadcasting.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_add_new (void)
{
  return g_object_new (PEFTQ_TYPE_ADD, NULL);
}
