/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-quantizer.h"

/**
 * PeftqQuantizer:
 *
 * The abstract base class of quantizers.
 *
 * A quantizer sits in a slot of a module: on its inputs, its outputs or one of its
 * parameters. A module's forward pass hands each tensor that passes such a slot to
 * [method@Peftq.Quantizer.forward].
 *
 * Since: 1.0
 */

typedef struct
{
  char *name;
} PeftqQuantizerPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (PeftqQuantizer, peftq_quantizer, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
peftq_quantizer_finalize (GObject *object)
{
  PeftqQuantizer *self = PEFTQ_QUANTIZER (object);
  PeftqQuantizerPrivate *priv = peftq_quantizer_get_instance_private (self);

  g_free (priv->name);

  G_OBJECT_CLASS (peftq_quantizer_parent_class)->finalize (object);
}

static void
peftq_quantizer_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  PeftqQuantizer *self = PEFTQ_QUANTIZER (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, peftq_quantizer_get_name (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_quantizer_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  PeftqQuantizer *self = PEFTQ_QUANTIZER (object);

  switch (prop_id)
    {
    case PROP_NAME:
      peftq_quantizer_set_name (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_quantizer_class_init (PeftqQuantizerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = peftq_quantizer_finalize;
  object_class->get_property = peftq_quantizer_get_property;
  object_class->set_property = peftq_quantizer_set_property;

  /**
   * PeftqQuantizer:name:
   *
   * The name of the quantizer in messages, such as
   * `base_model.model.linear.lora_A.0.weight`, or `NULL`.
   *
   * Since: 1.0
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
peftq_quantizer_init (PeftqQuantizer *self)
{
}

/**
 * peftq_quantizer_forward:
 * @self: a quantizer
 * @input: the tensor that passes the quantizer
 * @error: return location for a #GError
 *
 * Applies the quantizer to @input. While calibrating, the quantizer observes @input and
 * returns it unchanged. Otherwise an enabled quantizer returns @input quantized and
 * dequantized, and a disabled one returns @input itself.
 *
 * Returns: (transfer full): the output tensor, or `NULL` if the quantizer is enabled
 *   but has no encoding yet
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_quantizer_forward (PeftqQuantizer  *self,
                         PeftqTensor     *input,
                         GError         **error)
{
  g_return_val_if_fail (PEFTQ_IS_QUANTIZER (self), NULL);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (input), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return PEFTQ_QUANTIZER_GET_CLASS (self)->forward (self, input, error);
}

/**
 * peftq_quantizer_get_name:
 * @self: a quantizer
 *
 * Returns the name of the quantizer used in messages.
 *
 * Returns: (nullable): the name, or `NULL` when none was set
 *
 * Since: 1.0
 */
const char *
peftq_quantizer_get_name (PeftqQuantizer *self)
{
  PeftqQuantizerPrivate *priv = peftq_quantizer_get_instance_private (self);

  g_return_val_if_fail (PEFTQ_IS_QUANTIZER (self), NULL);

  return priv->name;
}

/**
 * peftq_quantizer_set_name:
 * @self: a quantizer
 * @name: (nullable): the new name
 *
 * Sets the name of the quantizer used in messages.
 *
 * Since: 1.0
 */
void
peftq_quantizer_set_name (PeftqQuantizer *self,
                          const char     *name)
{
  PeftqQuantizerPrivate *priv = peftq_quantizer_get_instance_private (self);

  g_return_if_fail (PEFTQ_IS_QUANTIZER (self));

  if (g_strcmp0 (priv->name, name) == 0)
    return;

  g_free (priv->name);
  priv->name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}
