/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-softmax.h"
#include "peftq-module-private.h"
#include "peftq-elementwise-private.h"
#include "peftq-softmax-private.h"

#include <string.h>

/**
 * PeftqSoftmax:
 *
 * Softmax over the last axis, exported as the ONNX operator `Softmax`.
 *
 * An optional second input is an additive mask that broadcasts to the first input, such
 * as the causal mask of attention with 0 for allowed and -inf for masked positions. It
 * is added before the softmax, and a row that is masked everywhere becomes zeros.
 *
 * Since: 1.0
 */
struct _PeftqSoftmax
{
  PeftqModule parent_instance;
};

G_DEFINE_FINAL_TYPE (PeftqSoftmax, peftq_softmax, PEFTQ_TYPE_MODULE)

static gboolean
broadcasts_to (PeftqTensor  *mask,
               const gint64 *shape,
               guint         rank,
               gint64       *mask_shape)
{
  guint mask_rank;
  const gint64 *dims = peftq_tensor_get_shape (mask, &mask_rank);

  if (mask_rank > rank)
    return FALSE;

  for (guint axis = 0; axis < rank; axis++)
    {
      guint from_end = rank - axis;

      mask_shape[axis] = from_end <= mask_rank ? dims[mask_rank - from_end] : 1;
      if (mask_shape[axis] != 1 && mask_shape[axis] != shape[axis])
        return FALSE;
    }

  return TRUE;
}

static PeftqTensor *
peftq_softmax_forward (PeftqModule          *module,
                       PeftqForwardContext  *context,
                       PeftqTensor         **inputs,
                       guint                 n_inputs,
                       GError              **error)
{
  g_autoptr(PeftqTensor) input = NULL;
  PeftqTensor *output;
  const gint64 *shape;
  guint rank;
  gsize cols;
  gsize rows;
  float *out;

  if (n_inputs != 1 && !peftq_module_check_n_inputs (module, n_inputs, 2, error))
    return NULL;

  input = peftq_tensor_ensure_f32 (inputs[0], "The input of a Softmax module", error);
  if (input == NULL)
    return NULL;

  shape = peftq_tensor_get_shape (input, &rank);
  if (rank == 0 || rank > PEFTQ_MAX_BROADCAST_RANK)
    {
      peftq_module_set_shape_error (module, error, "an input", input, "a rank from 1 to 8");
      return NULL;
    }

  output = peftq_tensor_new_f32 (shape, rank);
  out = peftq_tensor_get_mutable_data (output);
  cols = (gsize) shape[rank - 1];
  rows = cols > 0 ? (gsize) (peftq_tensor_get_n_elements (input) / cols) : 0;

  if (n_inputs == 2)
    {
      g_autoptr(PeftqTensor) mask = NULL;
      gint64 mask_shape[PEFTQ_MAX_BROADCAST_RANK];

      mask = peftq_tensor_ensure_f32 (inputs[1], "The mask of a Softmax module", error);
      if (mask == NULL || !broadcasts_to (mask, shape, rank, mask_shape))
        {
          if (mask != NULL)
            {
              g_autofree char *expected = peftq_tensor_format_shape (input);
              g_autofree char *text = g_strdup_printf ("a shape that broadcasts to %s", expected);

              peftq_module_set_shape_error (module, error, "a mask", mask, text);
            }
          g_object_unref (output);
          return NULL;
        }

      peftq_binary_broadcast (PEFTQ_BINARY_ADD, peftq_tensor_peek_f32 (input), shape,
                              peftq_tensor_peek_f32 (mask), mask_shape, out, shape, rank);
      peftq_softmax (out, out, rows, cols);
    }
  else
    {
      peftq_softmax (peftq_tensor_peek_f32 (input), out, rows, cols);
    }

  return output;
}

static const char *
peftq_softmax_get_op_type (PeftqModule *module)
{
  return "Softmax";
}

static const char *
peftq_softmax_get_type_name (PeftqModule *module)
{
  return "Softmax";
}

static void
peftq_softmax_class_init (PeftqSoftmaxClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_softmax_forward;
  module_class->get_op_type = peftq_softmax_get_op_type;
  module_class->get_type_name = peftq_softmax_get_type_name;
}

static void
peftq_softmax_init (PeftqSoftmax *self)
{
}

/**
 * peftq_softmax_new:
 *
 * Creates a softmax over the last axis.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_softmax_new (void)
{
  return g_object_new (PEFTQ_TYPE_SOFTMAX, NULL);
}
