/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-composite-private.h"
#include "peftq-module-private.h"

struct _PeftqComposite
{
  PeftqModule parent_instance;

  const char *type_name;
  PeftqCompositeForwardFunc forward;
  gpointer user_data;
  GDestroyNotify destroy;
};

G_DEFINE_FINAL_TYPE (PeftqComposite, peftq_composite, PEFTQ_TYPE_MODULE)

static PeftqTensor *
peftq_composite_forward (PeftqModule          *module,
                         PeftqForwardContext  *context,
                         PeftqTensor         **inputs,
                         guint                 n_inputs,
                         GError              **error)
{
  PeftqComposite *self = PEFTQ_COMPOSITE (module);

  return self->forward (module, context, inputs, n_inputs, self->user_data, error);
}

static const char *
peftq_composite_get_type_name (PeftqModule *module)
{
  return PEFTQ_COMPOSITE (module)->type_name;
}

static void
peftq_composite_finalize (GObject *object)
{
  PeftqComposite *self = PEFTQ_COMPOSITE (object);

  if (self->destroy != NULL)
    self->destroy (self->user_data);

  G_OBJECT_CLASS (peftq_composite_parent_class)->finalize (object);
}

static void
peftq_composite_class_init (PeftqCompositeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  object_class->finalize = peftq_composite_finalize;
  module_class->forward = peftq_composite_forward;
  module_class->get_type_name = peftq_composite_get_type_name;
}

static void
peftq_composite_init (PeftqComposite *self)
{
}

PeftqModule *
peftq_composite_new (const char                *type_name,
                     PeftqCompositeForwardFunc  forward,
                     gpointer                   user_data,
                     GDestroyNotify             destroy)
{
  PeftqComposite *self = g_object_new (PEFTQ_TYPE_COMPOSITE, NULL);

  self->type_name = type_name;
  self->forward = forward;
  self->user_data = user_data;
  self->destroy = destroy;
  return PEFTQ_MODULE (self);
}

PeftqTensor *
peftq_composite_run_child (PeftqModule          *self,
                           const char           *name,
                           PeftqForwardContext  *context,
                           PeftqTensor          *first,
                           PeftqTensor          *second,
                           GError              **error)
{
  PeftqModule *child = peftq_module_get_child (self, name);
  PeftqTensor *inputs[2] = { first, second };

  if (child == NULL)
    {
      g_autofree char *description = peftq_module_dup_description (self);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "The %s has no child “%s”", description, name);
      return NULL;
    }

  return peftq_module_forward (child, context, inputs, second != NULL ? 2 : 1, error);
}

PeftqTensor *
peftq_composite_run_pre_norm_block (PeftqModule          *self,
                                    PeftqForwardContext  *context,
                                    PeftqTensor          *input,
                                    const char           *attention_norm,
                                    const char           *attention,
                                    const char           *mlp_norm,
                                    const char           *mlp,
                                    GError              **error)
{
  g_autoptr(PeftqTensor) normed = NULL;
  g_autoptr(PeftqTensor) attended = NULL;
  g_autoptr(PeftqTensor) hidden = NULL;
  g_autoptr(PeftqTensor) mlp_normed = NULL;
  g_autoptr(PeftqTensor) mlp_output = NULL;

  normed = peftq_composite_run_child (self, attention_norm, context, input, NULL, error);
  if (normed == NULL)
    return NULL;

  attended = peftq_composite_run_child (self, attention, context, normed, NULL, error);
  if (attended == NULL)
    return NULL;

  hidden = peftq_composite_run_child (self, "attn_residual_add", context, input, attended, error);
  if (hidden == NULL)
    return NULL;

  mlp_normed = peftq_composite_run_child (self, mlp_norm, context, hidden, NULL, error);
  if (mlp_normed == NULL)
    return NULL;

  mlp_output = peftq_composite_run_child (self, mlp, context, mlp_normed, NULL, error);
  if (mlp_output == NULL)
    return NULL;

  return peftq_composite_run_child (self, "mlp_residual_add", context, hidden, mlp_output, error);
}
