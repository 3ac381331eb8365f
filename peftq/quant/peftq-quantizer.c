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

G_DEFINE_ABSTRACT_TYPE (PeftqQuantizer, peftq_quantizer, G_TYPE_OBJECT)

static void
peftq_quantizer_class_init (PeftqQuantizerClass *klass)
{
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
