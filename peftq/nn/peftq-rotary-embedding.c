/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-rotary-embedding.h"
#include "peftq-module-private.h"
#include "peftq-forward-context.h"
#include "peftq-rope-private.h"

#include <string.h>

/**
 * PeftqRotaryEmbedding:
 *
 * Rotary position embedding (RoPE) in Hugging Face's `rotate_half` convention.
 *
 * The input has the shape [batch, heads, tokens, head_dim]. Element i of each head
 * rotates together with element i + head_dim/2 by the angle
 * position · theta^(-2i/head_dim). The positions come from the forward context
 * ([method@Peftq.ForwardContext.set_positions]), or are 0 … tokens-1.
 *
 * The type name is `RoPE` and the operator type `RotaryEmbedding`, the ONNX operator of
 * opset 23 that computes the same function.
 *
 * Since: 1.0
 */
struct _PeftqRotaryEmbedding
{
  PeftqModule parent_instance;

  guint head_dim;
  float theta;
};

G_DEFINE_FINAL_TYPE (PeftqRotaryEmbedding, peftq_rotary_embedding, PEFTQ_TYPE_MODULE)

/* Reads the context's positions as gint64: [tokens] or [batch, tokens]. */
static gint64 *
get_positions (PeftqModule          *module,
               PeftqForwardContext  *context,
               gsize                 batch,
               gsize                 tokens,
               gboolean             *per_batch,
               GError              **error)
{
  PeftqTensor *positions = peftq_forward_context_get_positions (context);
  gint64 *values;
  guint rank;
  const gint64 *shape;
  PeftqDType dtype;
  gconstpointer data;
  gsize n;

  *per_batch = FALSE;
  if (positions == NULL)
    {
      values = g_new (gint64, MAX (tokens, 1));
      for (gsize t = 0; t < tokens; t++)
        values[t] = (gint64) t;
      return values;
    }

  shape = peftq_tensor_get_shape (positions, &rank);
  dtype = peftq_tensor_get_dtype (positions);
  if ((dtype != PEFTQ_DTYPE_I64 && dtype != PEFTQ_DTYPE_I32) ||
      !((rank == 1 && shape[0] == (gint64) tokens) ||
        (rank == 2 && shape[0] == (gint64) batch && shape[1] == (gint64) tokens)))
    {
      g_autofree char *expected = g_strdup_printf ("[%zu] or [%zu, %zu] of dtype I64 or I32",
                                                   tokens, batch, tokens);

      peftq_module_set_shape_error (module, error, "positions", positions, expected);
      return NULL;
    }

  *per_batch = rank == 2;
  n = *per_batch ? batch * tokens : tokens;
  values = g_new (gint64, MAX (n, 1));
  data = peftq_tensor_peek_data (positions);
  for (gsize i = 0; i < n; i++)
    {
      if (dtype == PEFTQ_DTYPE_I64)
        memcpy (&values[i], (const guint8 *) data + 8 * i, 8);
      else
        {
          gint32 v;

          memcpy (&v, (const guint8 *) data + 4 * i, 4);
          values[i] = v;
        }
    }

  return values;
}

static PeftqTensor *
peftq_rotary_embedding_forward (PeftqModule          *module,
                                PeftqForwardContext  *context,
                                PeftqTensor         **inputs,
                                guint                 n_inputs,
                                GError              **error)
{
  PeftqRotaryEmbedding *self = PEFTQ_ROTARY_EMBEDDING (module);
  g_autoptr(PeftqTensor) input = NULL;
  g_autofree gint64 *positions = NULL;
  PeftqTensor *output;
  const gint64 *shape;
  guint rank;
  gboolean per_batch;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  input = peftq_tensor_ensure_f32 (inputs[0], "The input of a RoPE module", error);
  if (input == NULL)
    return NULL;

  shape = peftq_tensor_get_shape (input, &rank);
  if (rank != 4 || shape[3] != self->head_dim)
    {
      g_autofree char *expected = g_strdup_printf ("[batch, heads, tokens, %u]", self->head_dim);

      peftq_module_set_shape_error (module, error, "an input", input, expected);
      return NULL;
    }

  positions = get_positions (module, context, (gsize) shape[0], (gsize) shape[2], &per_batch, error);
  if (positions == NULL)
    return NULL;

  output = peftq_tensor_new_f32 (shape, rank);
  peftq_rope (peftq_tensor_peek_f32 (input), peftq_tensor_get_mutable_data (output),
              (gsize) shape[0], (gsize) shape[1], (gsize) shape[2], self->head_dim,
              positions, per_batch, self->theta);
  return output;
}

static const char *
peftq_rotary_embedding_get_op_type (PeftqModule *module)
{
  return "RotaryEmbedding";
}

static const char *
peftq_rotary_embedding_get_type_name (PeftqModule *module)
{
  return "RoPE";
}

static void
peftq_rotary_embedding_class_init (PeftqRotaryEmbeddingClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_rotary_embedding_forward;
  module_class->get_op_type = peftq_rotary_embedding_get_op_type;
  module_class->get_type_name = peftq_rotary_embedding_get_type_name;
}

static void
peftq_rotary_embedding_init (PeftqRotaryEmbedding *self)
{
}

/**
 * peftq_rotary_embedding_new:
 * @head_dim: the size of each head, an even number
 * @theta: the base of the rotation frequencies (`rope_theta`, 10000 in Llama 2)
 *
 * Creates a rotary position embedding.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_rotary_embedding_new (guint head_dim,
                            float theta)
{
  PeftqRotaryEmbedding *self;

  g_return_val_if_fail (head_dim % 2 == 0, NULL);
  g_return_val_if_fail (theta > 0.0f, NULL);

  self = g_object_new (PEFTQ_TYPE_ROTARY_EMBEDDING, NULL);
  self->head_dim = head_dim;
  self->theta = theta;
  return PEFTQ_MODULE (self);
}

/**
 * peftq_rotary_embedding_get_head_dim:
 * @self: a rotary embedding
 *
 * Gets the size of each head.
 *
 * Returns: the head size
 *
 * Since: 1.0
 */
guint
peftq_rotary_embedding_get_head_dim (PeftqRotaryEmbedding *self)
{
  g_return_val_if_fail (PEFTQ_IS_ROTARY_EMBEDDING (self), 0);

  return self->head_dim;
}

/**
 * peftq_rotary_embedding_get_theta:
 * @self: a rotary embedding
 *
 * Gets the base of the rotation frequencies.
 *
 * Returns: theta
 *
 * Since: 1.0
 */
float
peftq_rotary_embedding_get_theta (PeftqRotaryEmbedding *self)
{
  g_return_val_if_fail (PEFTQ_IS_ROTARY_EMBEDDING (self), 0.0f);

  return self->theta;
}
