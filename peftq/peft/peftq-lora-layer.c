/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-lora-layer.h"
#include "peftq-lora-layer-private.h"
#include "peftq-add.h"
#include "peftq-error.h"
#include "peftq-lora-private.h"
#include "peftq-module-private.h"
#include "peftq-multiply.h"
#include "peftq-peft-lora-layer-private.h"
#include "peftq-tensor-private.h"

#include <math.h>

/**
 * PeftqLoraLayer:
 *
 * The quantizable LoRA layer of AIMET's `aimet_torch.peft.LoraLayer`, made by
 * [func@Peftq.replace_lora_layers_with_quantizable_layers] from a
 * [class@Peftq.PeftLoraLayer].
 *
 * Its children, in registration order, are `base_layer`, `lora_A.0`, `lora_A.1`, ...,
 * `lora_B.0`, `lora_B.1`, ..., then for each adapter a Multiply module and an Add
 * module: `mul_scale` and `add_lora_to_res` for adapter 0, and `mul_scale_<i>` and
 * `add_lora_to_res_<i>` for adapter i > 0. AIMET shares one `mul_scale` and one
 * `add_lora_to_res` between all adapters of a layer. peftq gives each adapter its own,
 * so that their quantizers never see another adapter's tensors. Adapter indices follow
 * the order in which adapters were added to the PEFT layer.
 *
 * For each active adapter i, the forward pass computes, as AIMET does:
 *
 * ```
 * h = mul_scale_i (lora_A.i (x), scaling_i)      # input 1 is the 0-d scaling tensor
 * result = add_lora_to_res_i (result, lora_B.i (h))
 * ```
 *
 * starting from `result = base_layer (x)`. The scaling thus multiplies the rank-r
 * intermediate. AIMET runs every adapter whatever its active flag; peftq skips
 * inactive adapters.
 *
 * Since: 1.0
 */

typedef struct
{
  PeftqAdapter *adapter;
  guint rank;
  double alpha;
  double scaling;
  PeftqTensor *scaling_tensor;
} Slot;

struct _PeftqLoraLayer
{
  PeftqModule parent_instance;

  PeftqLoraBaseShape shape;
  GPtrArray *slots;
};

G_DEFINE_FINAL_TYPE (PeftqLoraLayer, peftq_lora_layer, PEFTQ_TYPE_MODULE)

static guint signals[PEFTQ_LORA_N_SIGNALS];

/* The modules are looked up by name on each use, so that a caller may swap any of them
 * with peftq_module_replace_child(), as AIMET's flow does with ConvInplaceLinear. */
static PeftqModule *
lookup_indexed (PeftqLoraLayer *self,
                const char     *list_name,
                guint           index)
{
  char name[16];

  g_snprintf (name, sizeof name, "%u", index);
  return peftq_module_get_child (peftq_module_get_child (PEFTQ_MODULE (self), list_name), name);
}

static PeftqModule *
lookup_per_adapter (PeftqLoraLayer *self,
                    const char     *base_name,
                    guint           index)
{
  g_autofree char *name = index == 0 ? g_strdup (base_name)
                                     : g_strdup_printf ("%s_%u", base_name, index);

  return peftq_module_get_child (PEFTQ_MODULE (self), name);
}

#define SLOT_LORA_A(self, i) lookup_indexed ((self), "lora_A", (i))
#define SLOT_LORA_B(self, i) lookup_indexed ((self), "lora_B", (i))
#define SLOT_MUL_SCALE(self, i) lookup_per_adapter ((self), "mul_scale", (i))
#define SLOT_ADD(self, i) lookup_per_adapter ((self), "add_lora_to_res", (i))
#define BASE_LAYER(self) peftq_module_get_child (PEFTQ_MODULE (self), "base_layer")

static void
slot_free (gpointer data)
{
  Slot *slot = data;

  g_clear_object (&slot->adapter);
  g_clear_object (&slot->scaling_tensor);
  g_free (slot);
}

static PeftqTensor *
peftq_lora_layer_forward (PeftqModule          *module,
                          PeftqForwardContext  *context,
                          PeftqTensor         **inputs,
                          guint                 n_inputs,
                          GError              **error)
{
  PeftqLoraLayer *self = PEFTQ_LORA_LAYER (module);
  g_autoptr(PeftqTensor) result = NULL;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  result = peftq_module_forward (BASE_LAYER (self), context, inputs, n_inputs, error);
  if (result == NULL)
    return NULL;

  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);
      g_autoptr(PeftqTensor) hidden = NULL;
      g_autoptr(PeftqTensor) scaled = NULL;
      g_autoptr(PeftqTensor) lora_out = NULL;
      PeftqTensor *mul_inputs[2];
      PeftqTensor *add_inputs[2];
      PeftqTensor *sum;

      if (!peftq_adapter_get_active (slot->adapter))
        continue;

      hidden = peftq_module_forward_one (SLOT_LORA_A (self, i), context, inputs[0], error);
      if (hidden == NULL)
        return NULL;

      mul_inputs[0] = hidden;
      mul_inputs[1] = slot->scaling_tensor;
      scaled = peftq_module_forward (SLOT_MUL_SCALE (self, i), context, mul_inputs, 2, error);
      if (scaled == NULL)
        return NULL;

      lora_out = peftq_module_forward_one (SLOT_LORA_B (self, i), context, scaled, error);
      if (lora_out == NULL)
        return NULL;

      add_inputs[0] = result;
      add_inputs[1] = lora_out;
      sum = peftq_module_forward (SLOT_ADD (self, i), context, add_inputs, 2, error);
      if (sum == NULL)
        return NULL;
      g_object_unref (result);
      result = sum;
    }

  return g_steal_pointer (&result);
}

static const char *
peftq_lora_layer_get_type_name (PeftqModule *module)
{
  return "LoraLayer";
}

static void
peftq_lora_layer_finalize (GObject *object)
{
  PeftqLoraLayer *self = PEFTQ_LORA_LAYER (object);

  g_ptr_array_unref (self->slots);

  G_OBJECT_CLASS (peftq_lora_layer_parent_class)->finalize (object);
}

static void
peftq_lora_layer_class_init (PeftqLoraLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  object_class->finalize = peftq_lora_layer_finalize;
  module_class->forward = peftq_lora_layer_forward;
  module_class->get_type_name = peftq_lora_layer_get_type_name;

  /**
   * PeftqLoraLayer::active-adapters-changed:
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
   * PeftqLoraLayer::adapter-weights-changed:
   * @self: the layer
   * @index: the index of the adapter
   *
   * Emitted when [method@Peftq.LoraLayer.set_adapter_weights] or
   * [method@Peftq.LoraLayer.zero_adapter_weights] replaces the weights of an adapter.
   *
   * Since: 1.0
   */
  signals[PEFTQ_LORA_SIGNAL_ADAPTER_WEIGHTS_CHANGED] =
    g_signal_new ("adapter-weights-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
peftq_lora_layer_init (PeftqLoraLayer *self)
{
  self->slots = g_ptr_array_new_with_free_func (slot_free);
}

static void
on_adapter_active_changed (PeftqAdapter *adapter,
                           GParamSpec   *pspec,
                           gpointer      user_data)
{
  g_signal_emit (user_data, signals[PEFTQ_LORA_SIGNAL_ACTIVE_ADAPTERS_CHANGED], 0);
}

/* Takes @name out of @parent, leaving an empty module in its place, and returns it
 * without a parent, so that it can be added to another module. */
static PeftqModule *
detach_child (PeftqModule *parent,
              const char  *name)
{
  PeftqModule *child = g_object_ref (peftq_module_get_child (parent, name));
  g_autoptr(PeftqModule) placeholder = peftq_module_new ();

  peftq_module_add_child (parent, name, placeholder);
  return child;
}

PeftqLoraLayer *
peftq_lora_layer_new_from_peft (PeftqPeftLoraLayer *peft_layer)
{
  PeftqLoraLayer *self = g_object_new (PEFTQ_TYPE_LORA_LAYER, NULL);
  PeftqModule *peft_module = PEFTQ_MODULE (peft_layer);
  PeftqModule *peft_lora_a = peftq_module_get_child (peft_module, "lora_A");
  PeftqModule *peft_lora_b = peftq_module_get_child (peft_module, "lora_B");
  g_autoptr(PeftqModule) base = detach_child (peft_module, "base_layer");
  g_autoptr(PeftqModule) lora_a_list = peftq_module_new ();
  g_autoptr(PeftqModule) lora_b_list = peftq_module_new ();
  guint n_adapters = peftq_peft_lora_layer_get_n_adapters (peft_layer);

  self->shape = *peftq_peft_lora_layer_get_base_shape (peft_layer);
  peftq_module_add_child (PEFTQ_MODULE (self), "base_layer", base);
  peftq_module_add_child (PEFTQ_MODULE (self), "lora_A", lora_a_list);
  peftq_module_add_child (PEFTQ_MODULE (self), "lora_B", lora_b_list);

  for (guint i = 0; i < n_adapters; i++)
    {
      PeftqAdapter *adapter = peftq_peft_lora_layer_get_adapter (peft_layer, i);
      const char *adapter_name = peftq_adapter_get_name (adapter);
      g_autoptr(PeftqModule) lora_a = detach_child (peft_lora_a, adapter_name);
      g_autoptr(PeftqModule) lora_b = detach_child (peft_lora_b, adapter_name);
      g_autofree char *index = g_strdup_printf ("%u", i);
      Slot *slot = g_new0 (Slot, 1);

      slot->adapter = g_object_ref (adapter);
      slot->rank = peftq_peft_lora_layer_get_rank (peft_layer, i);
      slot->alpha = peftq_peft_lora_layer_get_alpha (peft_layer, i);
      slot->scaling = peftq_peft_lora_layer_get_scaling (peft_layer, i);
      slot->scaling_tensor = peftq_lora_new_scalar (slot->scaling);
      peftq_module_add_child (lora_a_list, index, lora_a);
      peftq_module_add_child (lora_b_list, index, lora_b);
      g_ptr_array_add (self->slots, slot);
      g_signal_connect_object (adapter, "notify::active", G_CALLBACK (on_adapter_active_changed),
                               self, 0);
    }

  /* The Multiply and Add modules come after all lora_A and lora_B modules, as in
   * AIMET's LoraLayer, whose mul_scale and add_lora_to_res are registered last. */
  for (guint i = 0; i < n_adapters; i++)
    {
      g_autoptr(PeftqModule) mul_scale = peftq_multiply_new ();
      g_autoptr(PeftqModule) add_lora_to_res = peftq_add_new ();
      g_autofree char *mul_name = i == 0 ? g_strdup ("mul_scale") : g_strdup_printf ("mul_scale_%u", i);
      g_autofree char *add_name = i == 0 ? g_strdup ("add_lora_to_res")
                                         : g_strdup_printf ("add_lora_to_res_%u", i);

      peftq_module_add_child (PEFTQ_MODULE (self), mul_name, mul_scale);
      peftq_module_add_child (PEFTQ_MODULE (self), add_name, add_lora_to_res);
    }

  return self;
}

static Slot *
get_slot (PeftqLoraLayer *self,
          guint           index)
{
  return g_ptr_array_index (self->slots, index);
}

/**
 * peftq_lora_layer_get_base_layer:
 * @self: a layer
 *
 * Gets the original module, the child `base_layer`.
 *
 * Returns: (transfer none): the base layer
 *
 * Since: 1.0
 */
PeftqModule *
peftq_lora_layer_get_base_layer (PeftqLoraLayer *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), NULL);
  return BASE_LAYER (self);
}

/**
 * peftq_lora_layer_get_n_adapters:
 * @self: a layer
 *
 * Counts the adapters of the layer, active or not.
 *
 * Returns: the number of adapters
 *
 * Since: 1.0
 */
guint
peftq_lora_layer_get_n_adapters (PeftqLoraLayer *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), 0);
  return self->slots->len;
}

/**
 * peftq_lora_layer_get_adapter:
 * @self: a layer
 * @index: an adapter index, below [method@Peftq.LoraLayer.get_n_adapters]
 *
 * Gets the adapter at an index.
 *
 * Returns: (transfer none): the adapter
 *
 * Since: 1.0
 */
PeftqAdapter *
peftq_lora_layer_get_adapter (PeftqLoraLayer *self,
                              guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);
  return get_slot (self, index)->adapter;
}

/**
 * peftq_lora_layer_get_adapter_name:
 * @self: a layer
 * @index: an adapter index
 *
 * Gets the name of the adapter at an index (AIMET's `index_to_adapter_name`).
 *
 * Returns: the adapter name
 *
 * Since: 1.0
 */
const char *
peftq_lora_layer_get_adapter_name (PeftqLoraLayer *self,
                                   guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);
  return peftq_adapter_get_name (get_slot (self, index)->adapter);
}

/**
 * peftq_lora_layer_find_adapter:
 * @self: a layer
 * @adapter_name: an adapter name
 *
 * Finds the index of an adapter by name (AIMET's `adapter_name_to_index`).
 *
 * Returns: the index, or -1 if the layer has no adapter of that name
 *
 * Since: 1.0
 */
gint
peftq_lora_layer_find_adapter (PeftqLoraLayer *self,
                               const char     *adapter_name)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), -1);
  g_return_val_if_fail (adapter_name != NULL, -1);

  for (guint i = 0; i < self->slots->len; i++)
    if (g_strcmp0 (peftq_adapter_get_name (get_slot (self, i)->adapter), adapter_name) == 0)
      return (gint) i;
  return -1;
}

/**
 * peftq_lora_layer_get_adapter_active:
 * @self: a layer
 * @index: an adapter index
 *
 * Checks whether the adapter at an index contributes to the forward pass.
 *
 * Returns: the adapter's [property@Peftq.Adapter:active] flag
 *
 * Since: 1.0
 */
gboolean
peftq_lora_layer_get_adapter_active (PeftqLoraLayer *self,
                                     guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), FALSE);
  g_return_val_if_fail (index < self->slots->len, FALSE);
  return peftq_adapter_get_active (get_slot (self, index)->adapter);
}

/**
 * peftq_lora_layer_get_lora_a:
 * @self: a layer
 * @index: an adapter index
 *
 * Gets the module `lora_A.<index>`.
 *
 * Returns: (transfer none): the module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_lora_layer_get_lora_a (PeftqLoraLayer *self,
                             guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);
  return SLOT_LORA_A (self, index);
}

/**
 * peftq_lora_layer_get_lora_b:
 * @self: a layer
 * @index: an adapter index
 *
 * Gets the module `lora_B.<index>`.
 *
 * Returns: (transfer none): the module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_lora_layer_get_lora_b (PeftqLoraLayer *self,
                             guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);
  return SLOT_LORA_B (self, index);
}

/**
 * peftq_lora_layer_get_mul_scale:
 * @self: a layer
 * @index: an adapter index
 *
 * Gets the Multiply module that applies the scaling of an adapter: `mul_scale` for
 * index 0, `mul_scale_<index>` otherwise.
 *
 * Returns: (transfer none): the module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_lora_layer_get_mul_scale (PeftqLoraLayer *self,
                                guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);
  return SLOT_MUL_SCALE (self, index);
}

/**
 * peftq_lora_layer_get_add_lora_to_res:
 * @self: a layer
 * @index: an adapter index
 *
 * Gets the Add module that adds an adapter's output to the result:
 * `add_lora_to_res` for index 0, `add_lora_to_res_<index>` otherwise.
 *
 * Returns: (transfer none): the module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_lora_layer_get_add_lora_to_res (PeftqLoraLayer *self,
                                      guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);
  return SLOT_ADD (self, index);
}

/**
 * peftq_lora_layer_get_scaling:
 * @self: a layer
 * @index: an adapter index
 *
 * Gets the scaling of an adapter in this layer.
 *
 * Returns: the scaling
 *
 * Since: 1.0
 */
double
peftq_lora_layer_get_scaling (PeftqLoraLayer *self,
                              guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), 0);
  g_return_val_if_fail (index < self->slots->len, 0);
  return get_slot (self, index)->scaling;
}

/**
 * peftq_lora_layer_get_scaling_tensor:
 * @self: a layer
 * @index: an adapter index
 *
 * Gets the 0-d float32 tensor that the forward pass feeds to input 1 of the adapter's
 * `mul_scale` module.
 *
 * Returns: (transfer none): the scaling tensor
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_lora_layer_get_scaling_tensor (PeftqLoraLayer *self,
                                     guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);
  return get_slot (self, index)->scaling_tensor;
}

/**
 * peftq_lora_layer_set_scaling:
 * @self: a layer
 * @index: an adapter index
 * @scaling: the new scaling, finite
 *
 * Sets the scaling of an adapter in this layer, which the forward pass multiplies the
 * output of lora_A by. The value is written into the existing scaling tensor (see
 * [method@Peftq.LoraLayer.get_scaling_tensor]), so an ONNX export names it as before.
 *
 * This is how one graph serves adapters with different `lora_alpha / r`: the command
 * `peftq quantize` loads each adapter's scaling along with its weights.
 *
 * Since: 1.0
 */
void
peftq_lora_layer_set_scaling (PeftqLoraLayer *self,
                              guint           index,
                              double          scaling)
{
  Slot *slot;

  g_return_if_fail (PEFTQ_IS_LORA_LAYER (self));
  g_return_if_fail (index < self->slots->len);
  g_return_if_fail (isfinite (scaling));

  slot = get_slot (self, index);
  slot->scaling = scaling;
  ((float *) peftq_tensor_get_mutable_data (slot->scaling_tensor))[0] = (float) scaling;
}

/**
 * peftq_lora_layer_get_rank:
 * @self: a layer
 * @index: an adapter index
 *
 * Gets the rank of an adapter in this layer.
 *
 * Returns: the rank
 *
 * Since: 1.0
 */
guint
peftq_lora_layer_get_rank (PeftqLoraLayer *self,
                           guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), 0);
  g_return_val_if_fail (index < self->slots->len, 0);
  return get_slot (self, index)->rank;
}

/**
 * peftq_lora_layer_get_alpha:
 * @self: a layer
 * @index: an adapter index
 *
 * Gets the alpha of an adapter in this layer.
 *
 * Returns: the alpha
 *
 * Since: 1.0
 */
double
peftq_lora_layer_get_alpha (PeftqLoraLayer *self,
                            guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), 0);
  g_return_val_if_fail (index < self->slots->len, 0);
  return get_slot (self, index)->alpha;
}

/**
 * peftq_lora_layer_set_adapter_weights:
 * @self: a layer
 * @index: an adapter index
 * @lora_a: the new `lora_A.<index>` weight, of its current shape
 * @lora_b: the new `lora_B.<index>` weight, of its current shape
 * @error: return location for a #GError
 *
 * Replaces both weights of an adapter and emits
 * [signal@Peftq.LoraLayer::adapter-weights-changed]. Nothing changes on error.
 *
 * Returns: `TRUE` on success, `FALSE` if a shape, rank or dtype does not fit
 *
 * Since: 1.0
 */
gboolean
peftq_lora_layer_set_adapter_weights (PeftqLoraLayer  *self,
                                      guint            index,
                                      PeftqTensor     *lora_a,
                                      PeftqTensor     *lora_b,
                                      GError         **error)
{
  g_autofree char *name = NULL;
  Slot *slot;
  guint rank;

  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), FALSE);
  g_return_val_if_fail (index < self->slots->len, FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (lora_a), FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (lora_b), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  slot = get_slot (self, index);
  name = peftq_module_dup_qualified_name (PEFTQ_MODULE (self));
  if (!peftq_lora_check_weights (&self->shape, name, lora_a, lora_b, &rank, error))
    return FALSE;
  if (rank != slot->rank)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "LoRA weights of “%s” have rank %u, but adapter %u has rank %u there",
                   name, rank, index, slot->rank);
      return FALSE;
    }

  if (!peftq_module_set_parameter (SLOT_LORA_A (self, index), "weight", lora_a, error) ||
      !peftq_module_set_parameter (SLOT_LORA_B (self, index), "weight", lora_b, error))
    return FALSE;

  g_signal_emit (self, signals[PEFTQ_LORA_SIGNAL_ADAPTER_WEIGHTS_CHANGED], 0, index);
  return TRUE;
}

/**
 * peftq_lora_layer_zero_adapter_weights:
 * @self: a layer
 * @index: an adapter index
 *
 * Sets both weights of an adapter to zeros of the same shapes, so that the adapter adds
 * exactly zero (AIMET's `disable_lora_adapters` for one layer), and emits
 * [signal@Peftq.LoraLayer::adapter-weights-changed].
 *
 * Since: 1.0
 */
void
peftq_lora_layer_zero_adapter_weights (PeftqLoraLayer *self,
                                       guint           index)
{
  PeftqModule *modules[2];

  g_return_if_fail (PEFTQ_IS_LORA_LAYER (self));
  g_return_if_fail (index < self->slots->len);

  modules[0] = SLOT_LORA_A (self, index);
  modules[1] = SLOT_LORA_B (self, index);
  for (guint i = 0; i < G_N_ELEMENTS (modules); i++)
    {
      PeftqTensor *current = peftq_module_get_parameter (modules[i], "weight");
      const gint64 *shape;
      guint rank;
      g_autoptr(PeftqTensor) zeros = NULL;

      /* A module swapped in by the caller may keep its weight elsewhere. */
      if (current == NULL)
        continue;
      shape = peftq_tensor_get_shape (current, &rank);
      zeros = peftq_tensor_new_f32 (shape, rank);
      /* A float32 zero tensor of the parameter's own shape always fits. */
      peftq_module_set_parameter (modules[i], "weight", zeros, NULL);
    }

  g_signal_emit (self, signals[PEFTQ_LORA_SIGNAL_ADAPTER_WEIGHTS_CHANGED], 0, index);
}

/**
 * peftq_lora_layer_compute_delta_weight:
 * @self: a layer
 * @index: an adapter index
 * @error: return location for a #GError
 *
 * Computes the merged weight change of an adapter from the current weights, as
 * [method@Peftq.PeftLoraLayer.compute_delta_weight] does.
 *
 * Returns: (transfer full): the delta, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_lora_layer_compute_delta_weight (PeftqLoraLayer  *self,
                                       guint            index,
                                       GError         **error)
{
  Slot *slot;

  g_return_val_if_fail (PEFTQ_IS_LORA_LAYER (self), NULL);
  g_return_val_if_fail (index < self->slots->len, NULL);

  slot = get_slot (self, index);
  if (peftq_module_get_parameter (SLOT_LORA_A (self, index), "weight") == NULL ||
      peftq_module_get_parameter (SLOT_LORA_B (self, index), "weight") == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "lora_A.%u or lora_B.%u has no parameter “weight”", index, index);
      return NULL;
    }
  return peftq_lora_compute_delta (&self->shape,
                                   peftq_module_get_parameter (SLOT_LORA_A (self, index), "weight"),
                                   peftq_module_get_parameter (SLOT_LORA_B (self, index), "weight"),
                                   slot->scaling, error);
}
