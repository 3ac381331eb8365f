/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-sequential.h"
#include "peftq-module-private.h"

/**
 * PeftqSequential:
 *
 * A container that runs its children in registration order, each on the output of the
 * previous one, like PyTorch's `nn.Sequential`. It builds toy models, such as a root
 * whose only child is `linear`, a Linear(10, 10) layer.
 *
 * Since: 1.0
 */
struct _PeftqSequential
{
  PeftqModule parent_instance;
};

G_DEFINE_FINAL_TYPE (PeftqSequential, peftq_sequential, PEFTQ_TYPE_MODULE)

static PeftqTensor *
peftq_sequential_forward (PeftqModule          *module,
                          PeftqForwardContext  *context,
                          PeftqTensor         **inputs,
                          guint                 n_inputs,
                          GError              **error)
{
  g_autoptr(GPtrArray) children = peftq_module_get_children (module);
  g_autoptr(PeftqTensor) current = NULL;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  current = g_object_ref (inputs[0]);
  for (guint i = 0; i < children->len; i++)
    {
      PeftqTensor *next = peftq_module_forward_one (g_ptr_array_index (children, i), context, current, error);

      if (next == NULL)
        return NULL;
      g_object_unref (current);
      current = next;
    }

  return g_steal_pointer (&current);
}

static const char *
peftq_sequential_get_type_name (PeftqModule *module)
{
  return "Sequential";
}

static void
peftq_sequential_class_init (PeftqSequentialClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_sequential_forward;
  module_class->get_type_name = peftq_sequential_get_type_name;
}

static void
peftq_sequential_init (PeftqSequential *self)
{
}

/**
 * peftq_sequential_new:
 *
 * Creates an empty sequential container, whose forward pass returns its input.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_sequential_new (void)
{
  return g_object_new (PEFTQ_TYPE_SEQUENTIAL, NULL);
}

/**
 * peftq_sequential_append:
 * @self: a sequential container
 * @name: the local name of the new child
 * @module: the module to run after the current last child
 *
 * Appends a child, as [method@Peftq.Module.add_child] does.
 *
 * Since: 1.0
 */
void
peftq_sequential_append (PeftqSequential *self,
                         const char      *name,
                         PeftqModule     *module)
{
  g_return_if_fail (PEFTQ_IS_SEQUENTIAL (self));

  peftq_module_add_child (PEFTQ_MODULE (self), name, module);
}
