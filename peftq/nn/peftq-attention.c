/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-attention.h"
#include "peftq-attention-private.h"
#include "peftq-module-private.h"
#include "peftq-linear.h"
#include "peftq-matmul.h"
#include "peftq-rotary-embedding.h"
#include "peftq-softmax.h"

#include <math.h>
#include <string.h>

/**
 * PeftqAttention:
 *
 * Grouped-query causal self-attention with rotary position embeddings, as in Llama,
 * Mistral and Qwen2.
 *
 * Every step is a child module, so that quantizers can attach to it, registered in
 * this order: `q_proj`, `k_proj`, `v_proj`, `o_proj` (Linear), `q_rope`, `k_rope`
 * ([class@Peftq.RotaryEmbedding]), `qk_matmul` (q · kᵀ scaled by 1/sqrt(head_dim)),
 * `softmax` (with the causal mask as its second input) and `av_matmul` (probabilities
 * times v). Each key/value head serves num_heads / num_kv_heads query heads.
 *
 * The input and the output have the shape [batch, tokens, hidden_size]. Padding given
 * by the context's attention mask is masked out as a key.
 *
 * Since: 1.0
 */
struct _PeftqAttention
{
  PeftqModule parent_instance;

  guint hidden_size;
  guint num_heads;
  guint num_kv_heads;
  guint head_dim;
};

G_DEFINE_FINAL_TYPE (PeftqAttention, peftq_attention, PEFTQ_TYPE_MODULE)

PeftqTensor *
peftq_attention_split_heads (PeftqTensor *x,
                             gsize        offset,
                             gsize        heads,
                             gsize        head_dim)
{
  gsize batch = (gsize) peftq_tensor_get_dim (x, 0);
  gsize tokens = (gsize) peftq_tensor_get_dim (x, 1);
  gsize width = (gsize) peftq_tensor_get_dim (x, 2);
  gint64 shape[4] = { (gint64) batch, (gint64) heads, (gint64) tokens, (gint64) head_dim };
  PeftqTensor *result = peftq_tensor_new_f32 (shape, 4);
  const float *source = peftq_tensor_peek_f32 (x);
  float *target = peftq_tensor_get_mutable_data (result);

  for (gsize b = 0; b < batch; b++)
    for (gsize h = 0; h < heads; h++)
      for (gsize t = 0; t < tokens; t++)
        memcpy (target + ((b * heads + h) * tokens + t) * head_dim,
                source + (b * tokens + t) * width + offset + h * head_dim,
                head_dim * sizeof (float));

  return result;
}

PeftqTensor *
peftq_attention_merge_heads (PeftqTensor *x)
{
  gsize batch = (gsize) peftq_tensor_get_dim (x, 0);
  gsize heads = (gsize) peftq_tensor_get_dim (x, 1);
  gsize tokens = (gsize) peftq_tensor_get_dim (x, 2);
  gsize head_dim = (gsize) peftq_tensor_get_dim (x, 3);
  gint64 shape[3] = { (gint64) batch, (gint64) tokens, (gint64) (heads * head_dim) };
  PeftqTensor *result = peftq_tensor_new_f32 (shape, 3);
  const float *source = peftq_tensor_peek_f32 (x);
  float *target = peftq_tensor_get_mutable_data (result);

  for (gsize b = 0; b < batch; b++)
    for (gsize h = 0; h < heads; h++)
      for (gsize t = 0; t < tokens; t++)
        memcpy (target + (b * tokens + t) * heads * head_dim + h * head_dim,
                source + ((b * heads + h) * tokens + t) * head_dim,
                head_dim * sizeof (float));

  return result;
}

PeftqTensor *
peftq_attention_build_mask (PeftqModule          *module,
                            PeftqForwardContext  *context,
                            gsize                 batch,
                            gsize                 tokens,
                            GError              **error)
{
  PeftqTensor *padding = context != NULL ? peftq_forward_context_get_attention_mask (context) : NULL;
  g_autoptr(PeftqTensor) keep = NULL;
  const float *keep_values = NULL;
  PeftqTensor *mask;
  float *values;

  if (padding != NULL)
    {
      if (peftq_tensor_get_rank (padding) != 2 ||
          peftq_tensor_get_dim (padding, 0) != (gint64) batch ||
          peftq_tensor_get_dim (padding, 1) != (gint64) tokens)
        {
          g_autofree char *expected = g_strdup_printf ("[%zu, %zu]", batch, tokens);

          peftq_module_set_shape_error (module, error, "an attention mask", padding, expected);
          return NULL;
        }

      /* peftq_tensor_to_float32 reads every dtype, so I64, BOOL and F32 masks all work. */
      keep = peftq_tensor_to_float32 (padding, error);
      if (keep == NULL)
        return NULL;
      keep_values = peftq_tensor_peek_f32 (keep);
    }

  if (keep_values == NULL)
    {
      gint64 shape[2] = { (gint64) tokens, (gint64) tokens };

      mask = peftq_tensor_new_f32 (shape, 2);
      values = peftq_tensor_get_mutable_data (mask);
      for (gsize i = 0; i < tokens; i++)
        for (gsize j = 0; j < tokens; j++)
          values[i * tokens + j] = j <= i ? 0.0f : -INFINITY;
      return mask;
    }

  {
    gint64 shape[4] = { (gint64) batch, 1, (gint64) tokens, (gint64) tokens };

    mask = peftq_tensor_new_f32 (shape, 4);
    values = peftq_tensor_get_mutable_data (mask);
    for (gsize b = 0; b < batch; b++)
      for (gsize i = 0; i < tokens; i++)
        for (gsize j = 0; j < tokens; j++)
          values[(b * tokens + i) * tokens + j] =
            (j <= i && keep_values[b * tokens + j] != 0.0f) ? 0.0f : -INFINITY;
  }

  return mask;
}

static PeftqTensor *
run_child (PeftqModule          *self,
           const char           *name,
           PeftqForwardContext  *context,
           PeftqTensor          *first,
           PeftqTensor          *second,
           GError              **error)
{
  PeftqTensor *inputs[2] = { first, second };

  return peftq_module_forward (peftq_module_get_child (self, name), context, inputs,
                               second != NULL ? 2 : 1, error);
}

static PeftqTensor *
peftq_attention_forward (PeftqModule          *module,
                         PeftqForwardContext  *context,
                         PeftqTensor         **inputs,
                         guint                 n_inputs,
                         GError              **error)
{
  PeftqAttention *self = PEFTQ_ATTENTION (module);
  g_autoptr(PeftqTensor) x = NULL;
  g_autoptr(PeftqTensor) q = NULL;
  g_autoptr(PeftqTensor) k = NULL;
  g_autoptr(PeftqTensor) v = NULL;
  g_autoptr(PeftqTensor) q_heads = NULL;
  g_autoptr(PeftqTensor) k_heads = NULL;
  g_autoptr(PeftqTensor) v_heads = NULL;
  g_autoptr(PeftqTensor) q_rotated = NULL;
  g_autoptr(PeftqTensor) k_rotated = NULL;
  g_autoptr(PeftqTensor) scores = NULL;
  g_autoptr(PeftqTensor) mask = NULL;
  g_autoptr(PeftqTensor) probabilities = NULL;
  g_autoptr(PeftqTensor) context_heads = NULL;
  g_autoptr(PeftqTensor) merged = NULL;
  gsize batch;
  gsize tokens;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  x = peftq_tensor_ensure_f32 (inputs[0], "The input of an attention module", error);
  if (x == NULL)
    return NULL;
  if (peftq_tensor_get_rank (x) != 3 || peftq_tensor_get_dim (x, 2) != self->hidden_size)
    {
      g_autofree char *expected = g_strdup_printf ("[batch, tokens, %u]", self->hidden_size);

      peftq_module_set_shape_error (module, error, "an input", x, expected);
      return NULL;
    }
  batch = (gsize) peftq_tensor_get_dim (x, 0);
  tokens = (gsize) peftq_tensor_get_dim (x, 1);

  if ((q = run_child (module, "q_proj", context, x, NULL, error)) == NULL ||
      (k = run_child (module, "k_proj", context, x, NULL, error)) == NULL ||
      (v = run_child (module, "v_proj", context, x, NULL, error)) == NULL)
    return NULL;

  /* A replaced projection (such as a LoRA layer) must keep the projection's shape. */
  if (peftq_tensor_get_rank (q) != 3 || peftq_tensor_get_dim (q, 2) != (gint64) self->num_heads * self->head_dim ||
      peftq_tensor_get_rank (k) != 3 || peftq_tensor_get_dim (k, 2) != (gint64) self->num_kv_heads * self->head_dim ||
      peftq_tensor_get_rank (v) != 3 || peftq_tensor_get_dim (v, 2) != (gint64) self->num_kv_heads * self->head_dim)
    {
      g_autofree char *expected = g_strdup_printf ("[%zu, %zu, %u] for q and [%zu, %zu, %u] for k and v",
                                                   batch, tokens, self->num_heads * self->head_dim,
                                                   batch, tokens, self->num_kv_heads * self->head_dim);

      peftq_module_set_shape_error (module, error, "projections with q", q, expected);
      return NULL;
    }

  q_heads = peftq_attention_split_heads (q, 0, self->num_heads, self->head_dim);
  k_heads = peftq_attention_split_heads (k, 0, self->num_kv_heads, self->head_dim);
  v_heads = peftq_attention_split_heads (v, 0, self->num_kv_heads, self->head_dim);

  if ((q_rotated = run_child (module, "q_rope", context, q_heads, NULL, error)) == NULL ||
      (k_rotated = run_child (module, "k_rope", context, k_heads, NULL, error)) == NULL ||
      (scores = run_child (module, "qk_matmul", context, q_rotated, k_rotated, error)) == NULL)
    return NULL;

  mask = peftq_attention_build_mask (module, context, batch, tokens, error);
  if (mask == NULL)
    return NULL;

  if ((probabilities = run_child (module, "softmax", context, scores, mask, error)) == NULL ||
      (context_heads = run_child (module, "av_matmul", context, probabilities, v_heads, error)) == NULL)
    return NULL;

  merged = peftq_attention_merge_heads (context_heads);
  return run_child (module, "o_proj", context, merged, NULL, error);
}

static const char *
peftq_attention_get_type_name (PeftqModule *module)
{
  return "Attention";
}

static void
peftq_attention_class_init (PeftqAttentionClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_attention_forward;
  module_class->get_type_name = peftq_attention_get_type_name;
}

static void
peftq_attention_init (PeftqAttention *self)
{
}

/**
 * peftq_attention_new:
 * @hidden_size: the size of the input and output features
 * @num_heads: the number of query heads
 * @num_kv_heads: the number of key/value heads, a divisor of @num_heads
 * @head_dim: the size of each head, an even number
 * @rope_theta: the base of the rotary frequencies
 * @qkv_bias: whether `q_proj`, `k_proj` and `v_proj` have biases (Qwen2)
 * @output_bias: whether `o_proj` has a bias
 *
 * Creates a grouped-query attention block with zero-filled projections.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_attention_new (guint    hidden_size,
                     guint    num_heads,
                     guint    num_kv_heads,
                     guint    head_dim,
                     float    rope_theta,
                     gboolean qkv_bias,
                     gboolean output_bias)
{
  PeftqAttention *self;
  PeftqModule *module;
  g_autoptr(PeftqModule) q_proj = NULL;
  g_autoptr(PeftqModule) k_proj = NULL;
  g_autoptr(PeftqModule) v_proj = NULL;
  g_autoptr(PeftqModule) o_proj = NULL;
  g_autoptr(PeftqModule) q_rope = NULL;
  g_autoptr(PeftqModule) k_rope = NULL;
  g_autoptr(PeftqModule) qk_matmul = NULL;
  g_autoptr(PeftqModule) softmax = NULL;
  g_autoptr(PeftqModule) av_matmul = NULL;

  g_return_val_if_fail (num_heads >= 1 && num_kv_heads >= 1, NULL);
  g_return_val_if_fail (num_heads % num_kv_heads == 0, NULL);
  g_return_val_if_fail (head_dim >= 2 && head_dim % 2 == 0, NULL);

  self = g_object_new (PEFTQ_TYPE_ATTENTION, NULL);
  self->hidden_size = hidden_size;
  self->num_heads = num_heads;
  self->num_kv_heads = num_kv_heads;
  self->head_dim = head_dim;
  module = PEFTQ_MODULE (self);

  q_proj = peftq_linear_new (hidden_size, num_heads * head_dim, qkv_bias);
  k_proj = peftq_linear_new (hidden_size, num_kv_heads * head_dim, qkv_bias);
  v_proj = peftq_linear_new (hidden_size, num_kv_heads * head_dim, qkv_bias);
  o_proj = peftq_linear_new (num_heads * head_dim, hidden_size, output_bias);
  q_rope = peftq_rotary_embedding_new (head_dim, rope_theta);
  k_rope = peftq_rotary_embedding_new (head_dim, rope_theta);
  qk_matmul = peftq_matmul_new (TRUE, 1.0f / sqrtf ((float) head_dim));
  softmax = peftq_softmax_new ();
  av_matmul = peftq_matmul_new (FALSE, 1.0f);

  peftq_module_add_child (module, "q_proj", q_proj);
  peftq_module_add_child (module, "k_proj", k_proj);
  peftq_module_add_child (module, "v_proj", v_proj);
  peftq_module_add_child (module, "o_proj", o_proj);
  peftq_module_add_child (module, "q_rope", q_rope);
  peftq_module_add_child (module, "k_rope", k_rope);
  peftq_module_add_child (module, "qk_matmul", qk_matmul);
  peftq_module_add_child (module, "softmax", softmax);
  peftq_module_add_child (module, "av_matmul", av_matmul);

  return module;
}

/**
 * peftq_attention_get_num_heads:
 * @self: an attention block
 *
 * Gets the number of query heads.
 *
 * Returns: the number of query heads
 *
 * Since: 1.0
 */
guint
peftq_attention_get_num_heads (PeftqAttention *self)
{
  g_return_val_if_fail (PEFTQ_IS_ATTENTION (self), 0);

  return self->num_heads;
}

/**
 * peftq_attention_get_num_kv_heads:
 * @self: an attention block
 *
 * Gets the number of key/value heads.
 *
 * Returns: the number of key/value heads
 *
 * Since: 1.0
 */
guint
peftq_attention_get_num_kv_heads (PeftqAttention *self)
{
  g_return_val_if_fail (PEFTQ_IS_ATTENTION (self), 0);

  return self->num_kv_heads;
}

/**
 * peftq_attention_get_head_dim:
 * @self: an attention block
 *
 * Gets the size of each head.
 *
 * Returns: the head size
 *
 * Since: 1.0
 */
guint
peftq_attention_get_head_dim (PeftqAttention *self)
{
  g_return_val_if_fail (PEFTQ_IS_ATTENTION (self), 0);

  return self->head_dim;
}
