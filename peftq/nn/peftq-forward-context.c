/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-forward-context-private.h"

/**
 * PeftqForwardContext:
 *
 * What one forward pass needs besides its input tensors.
 *
 * The context carries the token positions that rotary embeddings use (by default
 * 0 … T-1 for T tokens), an optional attention mask, and an optional #GCancellable that
 * [method@Peftq.Module.forward] checks before each module. One context can serve many
 * forward passes.
 *
 * Since: 1.0
 */
struct _PeftqForwardContext
{
  GObject parent_instance;

  PeftqTensor *positions;
  PeftqTensor *attention_mask;
  GCancellable *cancellable;

  PeftqForwardRecorderFunc recorder;
  gpointer recorder_data;
  GDestroyNotify recorder_destroy;
  gboolean exporting;
};

G_DEFINE_FINAL_TYPE (PeftqForwardContext, peftq_forward_context, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_POSITIONS,
  PROP_ATTENTION_MASK,
  PROP_CANCELLABLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
peftq_forward_context_dispose (GObject *object)
{
  PeftqForwardContext *self = PEFTQ_FORWARD_CONTEXT (object);

  g_clear_object (&self->positions);
  g_clear_object (&self->attention_mask);
  g_clear_object (&self->cancellable);
  peftq_forward_context_set_recorder (self, NULL, NULL, NULL);

  G_OBJECT_CLASS (peftq_forward_context_parent_class)->dispose (object);
}

static void
peftq_forward_context_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  PeftqForwardContext *self = PEFTQ_FORWARD_CONTEXT (object);

  switch (prop_id)
    {
    case PROP_POSITIONS:
      g_value_set_object (value, self->positions);
      break;
    case PROP_ATTENTION_MASK:
      g_value_set_object (value, self->attention_mask);
      break;
    case PROP_CANCELLABLE:
      g_value_set_object (value, self->cancellable);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_forward_context_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  PeftqForwardContext *self = PEFTQ_FORWARD_CONTEXT (object);

  switch (prop_id)
    {
    case PROP_POSITIONS:
      peftq_forward_context_set_positions (self, g_value_get_object (value));
      break;
    case PROP_ATTENTION_MASK:
      peftq_forward_context_set_attention_mask (self, g_value_get_object (value));
      break;
    case PROP_CANCELLABLE:
      peftq_forward_context_set_cancellable (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_forward_context_class_init (PeftqForwardContextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = peftq_forward_context_dispose;
  object_class->get_property = peftq_forward_context_get_property;
  object_class->set_property = peftq_forward_context_set_property;

  /**
   * PeftqForwardContext:positions:
   *
   * Token positions, an integer tensor of shape [tokens] or [batch, tokens], or `NULL`
   * for the positions 0 … T-1.
   *
   * Since: 1.0
   */
  properties[PROP_POSITIONS] =
    g_param_spec_object ("positions", NULL, NULL, PEFTQ_TYPE_TENSOR,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqForwardContext:attention-mask:
   *
   * Optional attention mask of shape [batch, tokens]: a nonzero value marks a token
   * that other tokens may attend to, and zero marks padding. `NULL` attends to every
   * earlier token.
   *
   * Since: 1.0
   */
  properties[PROP_ATTENTION_MASK] =
    g_param_spec_object ("attention-mask", NULL, NULL, PEFTQ_TYPE_TENSOR,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqForwardContext:cancellable:
   *
   * Optional cancellable checked before each module runs.
   *
   * Since: 1.0
   */
  properties[PROP_CANCELLABLE] =
    g_param_spec_object ("cancellable", NULL, NULL, G_TYPE_CANCELLABLE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
peftq_forward_context_init (PeftqForwardContext *self)
{
}

/**
 * peftq_forward_context_new:
 *
 * Creates a context with default positions, no attention mask and no cancellable.
 *
 * Returns: (transfer full): a new forward context
 *
 * Since: 1.0
 */
PeftqForwardContext *
peftq_forward_context_new (void)
{
  return g_object_new (PEFTQ_TYPE_FORWARD_CONTEXT, NULL);
}

/**
 * peftq_forward_context_set_positions:
 * @self: a forward context
 * @positions: (nullable): an I64 or I32 tensor of shape [tokens] or [batch, tokens], or
 *   `NULL` for the positions 0 … T-1
 *
 * Sets the token positions that rotary position embeddings use.
 *
 * Since: 1.0
 */
void
peftq_forward_context_set_positions (PeftqForwardContext *self,
                                     PeftqTensor         *positions)
{
  g_return_if_fail (PEFTQ_IS_FORWARD_CONTEXT (self));
  g_return_if_fail (positions == NULL || PEFTQ_IS_TENSOR (positions));

  if (g_set_object (&self->positions, positions))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSITIONS]);
}

/**
 * peftq_forward_context_get_positions:
 * @self: a forward context
 *
 * Gets the token positions set with [method@Peftq.ForwardContext.set_positions].
 *
 * Returns: (transfer none) (nullable): the positions, or `NULL` for 0 … T-1
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_forward_context_get_positions (PeftqForwardContext *self)
{
  g_return_val_if_fail (PEFTQ_IS_FORWARD_CONTEXT (self), NULL);

  return self->positions;
}

/**
 * peftq_forward_context_set_attention_mask:
 * @self: a forward context
 * @mask: (nullable): a tensor of shape [batch, tokens] where zero marks padding, or
 *   `NULL`
 *
 * Sets the attention mask that attention modules combine with the causal mask.
 *
 * Since: 1.0
 */
void
peftq_forward_context_set_attention_mask (PeftqForwardContext *self,
                                          PeftqTensor         *mask)
{
  g_return_if_fail (PEFTQ_IS_FORWARD_CONTEXT (self));
  g_return_if_fail (mask == NULL || PEFTQ_IS_TENSOR (mask));

  if (g_set_object (&self->attention_mask, mask))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTENTION_MASK]);
}

/**
 * peftq_forward_context_get_attention_mask:
 * @self: a forward context
 *
 * Gets the attention mask set with [method@Peftq.ForwardContext.set_attention_mask].
 *
 * Returns: (transfer none) (nullable): the attention mask, or `NULL`
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_forward_context_get_attention_mask (PeftqForwardContext *self)
{
  g_return_val_if_fail (PEFTQ_IS_FORWARD_CONTEXT (self), NULL);

  return self->attention_mask;
}

/**
 * peftq_forward_context_set_cancellable:
 * @self: a forward context
 * @cancellable: (nullable): a cancellable, or `NULL`
 *
 * Sets the cancellable that [method@Peftq.Module.forward] checks before each module.
 * A cancelled forward pass fails with `G_IO_ERROR_CANCELLED`.
 *
 * Since: 1.0
 */
void
peftq_forward_context_set_cancellable (PeftqForwardContext *self,
                                       GCancellable        *cancellable)
{
  g_return_if_fail (PEFTQ_IS_FORWARD_CONTEXT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (g_set_object (&self->cancellable, cancellable))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CANCELLABLE]);
}

/**
 * peftq_forward_context_get_cancellable:
 * @self: a forward context
 *
 * Gets the cancellable set with [method@Peftq.ForwardContext.set_cancellable].
 *
 * Returns: (transfer none) (nullable): the cancellable, or `NULL`
 *
 * Since: 1.0
 */
GCancellable *
peftq_forward_context_get_cancellable (PeftqForwardContext *self)
{
  g_return_val_if_fail (PEFTQ_IS_FORWARD_CONTEXT (self), NULL);

  return self->cancellable;
}

void
peftq_forward_context_set_recorder (PeftqForwardContext      *self,
                                    PeftqForwardRecorderFunc  func,
                                    gpointer                  user_data,
                                    GDestroyNotify            destroy)
{
  g_return_if_fail (PEFTQ_IS_FORWARD_CONTEXT (self));

  if (self->recorder_destroy != NULL)
    self->recorder_destroy (self->recorder_data);

  self->recorder = func;
  self->recorder_data = user_data;
  self->recorder_destroy = destroy;
}

void
peftq_forward_context_record (PeftqForwardContext  *self,
                              PeftqModule          *module,
                              PeftqTensor         **inputs,
                              guint                 n_inputs,
                              PeftqTensor          *output)
{
  if (self->recorder != NULL)
    self->recorder (module, inputs, n_inputs, output, self->recorder_data);
}

void
peftq_forward_context_set_exporting (PeftqForwardContext *self,
                                     gboolean             exporting)
{
  g_return_if_fail (PEFTQ_IS_FORWARD_CONTEXT (self));

  self->exporting = !!exporting;
}

gboolean
peftq_forward_context_get_exporting (PeftqForwardContext *self)
{
  g_return_val_if_fail (PEFTQ_IS_FORWARD_CONTEXT (self), FALSE);

  return self->exporting;
}
