/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-peft-lora-layer.h"
#include "peftq-peft-lora-layer-private.h"
#include "peftq-error.h"
#include "peftq-module-private.h"

/**
 * PeftqPeftLoraLayer:
 *
 * A LoRA layer laid out as HuggingFace PEFT lays it out: the original module as the
 * child `base_layer`, and for every adapter the children `lora_A.<adapter name>` and
 * `lora_B.<adapter name>` (Linear modules without bias), so that parameter names match
 * PEFT's state dict, such as `q_proj.lora_A.default.weight`.
 *
 * The forward pass computes `base_layer(x) + lora_B(lora_A(x)) * scaling` for each
 * adapter whose [property@Peftq.Adapter:active] flag is set, in the order the adapters
 * were added. PEFT's `lora_dropout` modules are left out, because dropout is an
 * identity at inference.
 *
 * Since: 1.0
 */

typedef struct
{
  PeftqAdapter *adapter;
  guint rank;
  double alpha;
  double scaling;
  PeftqModule *lora_a;  /* owned by the lora_A container */
  PeftqModule *lora_b;
} Slot;

struct _PeftqPeftLoraLayer
{
  PeftqModule parent_instance;

  PeftqLoraBaseShape shape;
  PeftqModule *base_layer;    /* owned as a child */
  PeftqModule *lora_a_dict;
  PeftqModule *lora_b_dict;
  GPtrArray *slots;
};

G_DEFINE_FINAL_TYPE (PeftqPeftLoraLayer, peftq_peft_lora_layer, PEFTQ_TYPE_MODULE)

static guint signals[PEFTQ_LORA_N_SIGNALS];

static void
slot_free (gpointer data)
{
  Slot *slot = data;

  g_clear_object (&slot->adapter);
  g_free (slot);
}

static PeftqTensor *
peftq_peft_lora_layer_forward (PeftqModule          *module,
                               PeftqForwardContext  *context,
                               PeftqTensor         **inputs,
                               guint                 n_inputs,
                               GError              **error)
{
  PeftqPeftLoraLayer *self = PEFTQ_PEFT_LORA_LAYER (module);
  g_autoptr(PeftqTensor) result = NULL;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  result = peftq_module_forward (self->base_layer, context, inputs, n_inputs, error);
  if (result == NULL)
    return NULL;

  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);
      g_autoptr(PeftqTensor) hidden = NULL;
      g_autoptr(PeftqTensor) lora_out = NULL;
      PeftqTensor *sum;

      if (!peftq_adapter_get_active (slot->adapter))
        continue;

      hidden = peftq_module_forward_one (slot->lora_a, context, inputs[0], error);
      if (hidden == NULL)
        return NULL;
      lora_out = peftq_module_forward_one (slot->lora_b, context, hidden, error);
      if (lora_out == NULL)
        return NULL;
      sum = peftq_lora_add_scaled (result, lora_out, (float) slot->scaling, error);
      if (sum == NULL)
        return NULL;
      g_object_unref (result);
      result = sum;
    }

  return g_steal_pointer (&result);
}

static const char *
peftq_peft_lora_layer_get_type_name (PeftqModule *module)
{
  return "LoraLayer";
}

static void
peftq_peft_lora_layer_finalize (GObject *object)
{
  PeftqPeftLoraLayer *self = PEFTQ_PEFT_LORA_LAYER (object);

  g_ptr_array_unref (self->slots);

  G_OBJECT_CLASS (peftq_peft_lora_layer_parent_class)->finalize (object);
}

static void
peftq_peft_lora_layer_class_init (PeftqPeftLoraLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  object_class->finalize = peftq_peft_lora_layer_finalize;
  module_class->forward = peftq_peft_lora_layer_forward;
  module_class->get_type_name = peftq_peft_lora_layer_get_type_name;

  /**
   * PeftqPeftLoraLayer::active-adapters-changed:
   * @self: the layer
   *
   * Emitted when the [property@Peftq.Adapter:active] flag of one of the layer's
   * adapters changes.
   *
   * Since: 1.0
   */
  signals[PEFTQ_LORA_SIGNAL_ACTIVE_ADAPTERS_CHANGED] =
    g_signal_new ("active-adapters-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * PeftqPeftLoraLayer::adapter-weights-changed:
   * @self: the layer
   * @index: the position of the adapter in the layer
   *
   * Emitted when [method@Peftq.PeftLoraLayer.set_adapter_weights] replaces the
   * weights of an adapter.
   *
   * Since: 1.0
   */
  signals[PEFTQ_LORA_SIGNAL_ADAPTER_WEIGHTS_CHANGED] =
    g_signal_new ("adapter-weights-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
peftq_peft_lora_layer_init (PeftqPeftLoraLayer *self)
{
  self->slots = g_ptr_array_new_with_free_func (slot_free);
}

PeftqPeftLoraLayer *
peftq_peft_lora_layer_new (const PeftqLoraBaseShape *shape)
{
  PeftqPeftLoraLayer *self = g_object_new (PEFTQ_TYPE_PEFT_LORA_LAYER, NULL);

  self->shape = *shape;
  return self;
}

void
peftq_peft_lora_layer_attach_base (PeftqPeftLoraLayer *self,
                                   PeftqModule        *base_layer)
{
  g_autoptr(PeftqModule) lora_a_dict = peftq_module_new ();
  g_autoptr(PeftqModule) lora_b_dict = peftq_module_new ();

  peftq_module_add_child (PEFTQ_MODULE (self), "base_layer", base_layer);
  peftq_module_add_child (PEFTQ_MODULE (self), "lora_A", lora_a_dict);
  peftq_module_add_child (PEFTQ_MODULE (self), "lora_B", lora_b_dict);
  self->base_layer = base_layer;
  self->lora_a_dict = lora_a_dict;
  self->lora_b_dict = lora_b_dict;
}

static void
on_adapter_active_changed (PeftqAdapter *adapter,
                           GParamSpec   *pspec,
                           gpointer      user_data)
{
  g_signal_emit (user_data, signals[PEFTQ_LORA_SIGNAL_ACTIVE_ADAPTERS_CHANGED], 0);
}

void
peftq_peft_lora_layer_add_adapter (PeftqPeftLoraLayer *self,
                                   PeftqAdapter       *adapter,
                                   guint               rank,
                                   double              alpha,
                                   double              scaling,
                                   PeftqModule        *lora_a,
                                   PeftqModule        *lora_b)
{
  Slot *slot = g_new0 (Slot, 1);
  const char *name = peftq_adapter_get_name (adapter);

  slot->adapter = g_object_ref (adapter);
  slot->rank = rank;
  slot->alpha = alpha;
  slot->scaling = scaling;
  slot->lora_a = lora_a;
  slot->lora_b = lora_b;
  peftq_module_add_child (self->lora_a_dict, name, lora_a);
  peftq_module_add_child (self->lora_b_dict, name, lora_b);
  g_ptr_array_add (self->slots, slot);
  g_signal_connect_object (adapter, "notify::active", G_CALLBACK (on_adapter_active_changed),
                           self, 0);
}

const PeftqLoraBaseShape *
peftq_peft_lora_layer_get_base_shape (PeftqPeftLoraLayer *self)
{
  return &self->shape;
}

/**
 * peftq_peft_lora_layer_get_base_layer:
 * @self: a layer
 *
 * Gets the wrapped original module, the child `base_layer`.
 *
 * Returns: (transfer none): the base layer
 *
 * Since: 1.0
 */
PeftqModule *
peftq_peft_lora_layer_get_base_layer (PeftqPeftLoraLayer *self)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), NULL);
  return self->base_layer;
}

/**
 * peftq_peft_lora_layer_get_n_adapters:
 * @self: a layer
 *
 * Counts the adapters of the layer, active or not.
 *
 * Returns: the number of adapters
 *
 * Since: 1.0
 */
guint
peftq_peft_lora_layer_get_n_adapters (PeftqPeftLoraLayer *self)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), 0);
  return self->slots->len;
}

static Slot *
get_slot (PeftqPeftLoraLayer *self,
          guint               index)
{
  return g_ptr_array_index (self->slots, index);
}

/**
 * peftq_peft_lora_layer_get_adapter:
 * @self: a layer
 * @index: the position of an adapter, below [method@Peftq.PeftLoraLayer.get_n_adapters]
 *
 * Gets an adapter of the layer.
 *
 * Returns: (transfer none): the adapter
 *
 * Since: 1.0
 */
PeftqAdapter *
peftq_peft_lora_layer_get_adapter (PeftqPeftLoraLayer *self,
                                   guint               index)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);
  return get_slot (self, index)->adapter;
}

/**
 * peftq_peft_lora_layer_find_adapter:
 * @self: a layer
 * @adapter_name: an adapter name
 *
 * Finds the position of an adapter by name.
 *
 * Returns: the position, or -1 if the layer has no adapter of that name
 *
 * Since: 1.0
 */
gint
peftq_peft_lora_layer_find_adapter (PeftqPeftLoraLayer *self,
                                    const char         *adapter_name)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), -1);
  g_return_val_if_fail (adapter_name != NULL, -1);

  for (guint i = 0; i < self->slots->len; i++)
    if (g_strcmp0 (peftq_adapter_get_name (get_slot (self, i)->adapter), adapter_name) == 0)
      return (gint) i;
  return -1;
}

/**
 * peftq_peft_lora_layer_get_lora_a:
 * @self: a layer
 * @index: the position of an adapter
 *
 * Gets the module `lora_A.<adapter name>`.
 *
 * Returns: (transfer none): the module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_peft_lora_layer_get_lora_a (PeftqPeftLoraLayer *self,
                                  guint               index)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);
  return get_slot (self, index)->lora_a;
}

/**
 * peftq_peft_lora_layer_get_lora_b:
 * @self: a layer
 * @index: the position of an adapter
 *
 * Gets the module `lora_B.<adapter name>`.
 *
 * Returns: (transfer none): the module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_peft_lora_layer_get_lora_b (PeftqPeftLoraLayer *self,
                                  guint               index)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);
  return get_slot (self, index)->lora_b;
}

/**
 * peftq_peft_lora_layer_get_scaling:
 * @self: a layer
 * @index: the position of an adapter
 *
 * Gets the scaling of an adapter in this layer.
 *
 * Returns: the scaling
 *
 * Since: 1.0
 */
double
peftq_peft_lora_layer_get_scaling (PeftqPeftLoraLayer *self,
                                   guint               index)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), 0);
  g_return_val_if_fail (index < self->slots->len, 0);
  return get_slot (self, index)->scaling;
}

/**
 * peftq_peft_lora_layer_get_rank:
 * @self: a layer
 * @index: the position of an adapter
 *
 * Gets the rank of an adapter in this layer.
 *
 * Returns: the rank
 *
 * Since: 1.0
 */
guint
peftq_peft_lora_layer_get_rank (PeftqPeftLoraLayer *self,
                                guint               index)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), 0);
  g_return_val_if_fail (index < self->slots->len, 0);
  return get_slot (self, index)->rank;
}

/**
 * peftq_peft_lora_layer_get_alpha:
 * @self: a layer
 * @index: the position of an adapter
 *
 * Gets the alpha of an adapter in this layer.
 *
 * Returns: the alpha
 *
 * Since: 1.0
 */
double
peftq_peft_lora_layer_get_alpha (PeftqPeftLoraLayer *self,
                                 guint               index)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), 0);
  g_return_val_if_fail (index < self->slots->len, 0);
  return get_slot (self, index)->alpha;
}

/**
 * peftq_peft_lora_layer_set_adapter_weights:
 * @self: a layer
 * @index: the position of an adapter
 * @lora_a: the new lora_A weight, of the current shape
 * @lora_b: the new lora_B weight, of the current shape
 * @error: return location for a #GError
 *
 * Replaces both weights of an adapter and emits
 * [signal@Peftq.PeftLoraLayer::adapter-weights-changed]. Nothing changes on error.
 *
 * Returns: `TRUE` on success, `FALSE` if a shape or dtype does not fit
 *
 * Since: 1.0
 */
gboolean
peftq_peft_lora_layer_set_adapter_weights (PeftqPeftLoraLayer  *self,
                                           guint                index,
                                           PeftqTensor         *lora_a,
                                           PeftqTensor         *lora_b,
                                           GError             **error)
{
  g_autofree char *name = NULL;
  Slot *slot;
  guint rank;

  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), FALSE);
  g_return_val_if_fail (index < self->slots->len, FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (lora_a), FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (lora_b), FALSE);

  slot = get_slot (self, index);
  name = peftq_module_dup_qualified_name (PEFTQ_MODULE (self));
  if (!peftq_lora_check_weights (&self->shape, name, lora_a, lora_b, &rank, error))
    return FALSE;
  if (rank != slot->rank)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "LoRA weights of “%s” have rank %u, but adapter “%s” has rank %u there",
                   name, rank, peftq_adapter_get_name (slot->adapter), slot->rank);
      return FALSE;
    }

  if (!peftq_module_set_parameter (slot->lora_a, "weight", lora_a, error) ||
      !peftq_module_set_parameter (slot->lora_b, "weight", lora_b, error))
    return FALSE;

  g_signal_emit (self, signals[PEFTQ_LORA_SIGNAL_ADAPTER_WEIGHTS_CHANGED], 0, index);
  return TRUE;
}

/**
 * peftq_peft_lora_layer_compute_delta_weight:
 * @self: a layer
 * @index: the position of an adapter
 * @error: return location for a #GError
 *
 * Computes the merged weight change of an adapter, `(B @ A) * scaling` in float32, in
 * the layout of the base layer's weight: (out, in) for Linear, (in, out) for GPT-2's
 * Conv1D (PEFT's `fan_in_fan_out`), and (out, in, kh, kw) for Conv2d.
 *
 * Returns: (transfer full): the delta, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_peft_lora_layer_compute_delta_weight (PeftqPeftLoraLayer  *self,
                                            guint                index,
                                            GError             **error)
{
  Slot *slot;

  g_return_val_if_fail (PEFTQ_IS_PEFT_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);

  slot = get_slot (self, index);
  return peftq_lora_compute_delta (&self->shape,
                                   peftq_module_get_parameter (slot->lora_a, "weight"),
                                   peftq_module_get_parameter (slot->lora_b, "weight"),
                                   slot->scaling, error);
}
