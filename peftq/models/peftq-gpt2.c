/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-architectures-private.h"
#include "peftq-composite-private.h"
#include "peftq-module-private.h"
#include "peftq-activation.h"
#include "peftq-add.h"
#include "peftq-attention-private.h"
#include "peftq-conv1d.h"
#include "peftq-embedding.h"
#include "peftq-layer-norm.h"
#include "peftq-matmul.h"
#include "peftq-softmax.h"

#include <math.h>
#include <string.h>

/* GPT-2 blocks with Hugging Face's module names (`transformer.h.N.attn.c_attn` and so
 * on). The steps that Hugging Face computes inline are named children here:
 * `transformer.embed_add` (token plus position embeddings), `attn.qk_matmul`,
 * `attn.softmax`, `attn.av_matmul`, `attn_residual_add`, `mlp.act` (Hugging Face's own
 * name) and `mlp_residual_add`. */

typedef struct
{
  guint num_heads;
  guint head_dim;
} AttentionShape;

static PeftqTensor *
attention_forward (PeftqModule          *self,
                   PeftqForwardContext  *context,
                   PeftqTensor         **inputs,
                   guint                 n_inputs,
                   gpointer              user_data,
                   GError              **error)
{
  const AttentionShape *shape = user_data;
  gsize width = (gsize) shape->num_heads * shape->head_dim;
  g_autoptr(PeftqTensor) qkv = NULL;
  g_autoptr(PeftqTensor) q = NULL;
  g_autoptr(PeftqTensor) k = NULL;
  g_autoptr(PeftqTensor) v = NULL;
  g_autoptr(PeftqTensor) scores = NULL;
  g_autoptr(PeftqTensor) mask = NULL;
  g_autoptr(PeftqTensor) probabilities = NULL;
  g_autoptr(PeftqTensor) heads = NULL;
  g_autoptr(PeftqTensor) merged = NULL;

  if (!peftq_module_check_n_inputs (self, n_inputs, 1, error))
    return NULL;

  qkv = peftq_composite_run_child (self, "c_attn", context, inputs[0], NULL, error);
  if (qkv == NULL)
    return NULL;

  if (peftq_tensor_get_rank (qkv) != 3 || peftq_tensor_get_dim (qkv, 2) != (gint64) (3 * width))
    {
      g_autofree char *expected = g_strdup_printf ("[batch, tokens, %zu]", 3 * width);

      peftq_module_set_shape_error (self, error, "a fused q, k, v projection", qkv, expected);
      return NULL;
    }

  /* c_attn's output is q, k and v side by side. */
  q = peftq_attention_split_heads (qkv, 0, shape->num_heads, shape->head_dim);
  k = peftq_attention_split_heads (qkv, width, shape->num_heads, shape->head_dim);
  v = peftq_attention_split_heads (qkv, 2 * width, shape->num_heads, shape->head_dim);

  mask = peftq_attention_build_mask (self, context, (gsize) peftq_tensor_get_dim (qkv, 0),
                                     (gsize) peftq_tensor_get_dim (qkv, 1), error);
  if (mask == NULL)
    return NULL;

  if ((scores = peftq_composite_run_child (self, "qk_matmul", context, q, k, error)) == NULL ||
      (probabilities = peftq_composite_run_child (self, "softmax", context, scores, mask, error)) == NULL ||
      (heads = peftq_composite_run_child (self, "av_matmul", context, probabilities, v, error)) == NULL)
    return NULL;

  merged = peftq_attention_merge_heads (heads);
  return peftq_composite_run_child (self, "c_proj", context, merged, NULL, error);
}

static PeftqTensor *
mlp_forward (PeftqModule          *self,
             PeftqForwardContext  *context,
             PeftqTensor         **inputs,
             guint                 n_inputs,
             gpointer              user_data,
             GError              **error)
{
  g_autoptr(PeftqTensor) up = NULL;
  g_autoptr(PeftqTensor) activated = NULL;

  if (!peftq_module_check_n_inputs (self, n_inputs, 1, error))
    return NULL;

  if ((up = peftq_composite_run_child (self, "c_fc", context, inputs[0], NULL, error)) == NULL ||
      (activated = peftq_composite_run_child (self, "act", context, up, NULL, error)) == NULL)
    return NULL;

  return peftq_composite_run_child (self, "c_proj", context, activated, NULL, error);
}

static PeftqTensor *
block_forward (PeftqModule          *self,
               PeftqForwardContext  *context,
               PeftqTensor         **inputs,
               guint                 n_inputs,
               gpointer              user_data,
               GError              **error)
{
  if (!peftq_module_check_n_inputs (self, n_inputs, 1, error))
    return NULL;

  return peftq_composite_run_pre_norm_block (self, context, inputs[0], "ln_1", "attn", "ln_2", "mlp", error);
}

/* The position ids: the context's positions, or 0 … T-1. */
static PeftqTensor *
get_position_ids (PeftqForwardContext *context,
                  gsize                tokens)
{
  PeftqTensor *positions = context != NULL ? peftq_forward_context_get_positions (context) : NULL;
  gint64 shape[1] = { (gint64) tokens };
  g_autoptr(GBytes) bytes = NULL;
  gint64 *values;

  if (positions != NULL)
    return g_object_ref (positions);

  values = g_new (gint64, MAX (tokens, 1));
  for (gsize t = 0; t < tokens; t++)
    values[t] = (gint64) t;
  bytes = g_bytes_new_take (values, tokens * sizeof (gint64));
  return peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, shape, 1, bytes, NULL);
}

static PeftqTensor *
gpt2_model_forward (PeftqModule          *self,
                    PeftqForwardContext  *context,
                    PeftqTensor         **inputs,
                    guint                 n_inputs,
                    gpointer              user_data,
                    GError              **error)
{
  g_autoptr(PeftqTensor) tokens = NULL;
  g_autoptr(PeftqTensor) position_ids = NULL;
  g_autoptr(PeftqTensor) positions = NULL;
  g_autoptr(PeftqTensor) hidden = NULL;
  g_autoptr(GPtrArray) blocks = NULL;
  guint rank = peftq_tensor_get_rank (inputs[0]);

  if (!peftq_module_check_n_inputs (self, n_inputs, 1, error))
    return NULL;

  if (rank == 0)
    {
      peftq_module_set_shape_error (self, error, "input ids", inputs[0], "[batch, tokens]");
      return NULL;
    }

  position_ids = get_position_ids (context, (gsize) peftq_tensor_get_dim (inputs[0], rank - 1));
  if ((tokens = peftq_composite_run_child (self, "wte", context, inputs[0], NULL, error)) == NULL ||
      (positions = peftq_composite_run_child (self, "wpe", context, position_ids, NULL, error)) == NULL ||
      (hidden = peftq_composite_run_child (self, "embed_add", context, tokens, positions, error)) == NULL)
    return NULL;

  blocks = peftq_module_get_children (peftq_module_get_child (self, "h"));
  for (guint i = 0; i < blocks->len; i++)
    {
      PeftqTensor *next = peftq_module_forward_one (g_ptr_array_index (blocks, i), context, hidden, error);

      if (next == NULL)
        return NULL;
      g_object_unref (hidden);
      hidden = next;
    }

  return peftq_composite_run_child (self, "ln_f", context, hidden, NULL, error);
}

static PeftqModule *
build_block (const PeftqModelConfig  *config,
             GError                 **error)
{
  guint e = config->hidden_size;
  AttentionShape *shape = g_new (AttentionShape, 1);
  g_autoptr(PeftqModule) block = peftq_composite_new ("GPT2Block", block_forward, NULL, NULL);
  g_autoptr(PeftqModule) attention = NULL;
  g_autoptr(PeftqModule) mlp = peftq_composite_new ("GPT2MLP", mlp_forward, NULL, NULL);
  g_autoptr(PeftqModule) ln_1 = peftq_layer_norm_new (e, (float) config->norm_eps, TRUE);
  g_autoptr(PeftqModule) ln_2 = peftq_layer_norm_new (e, (float) config->norm_eps, TRUE);
  g_autoptr(PeftqModule) c_attn = peftq_conv1d_new (e, 3 * e);
  g_autoptr(PeftqModule) c_proj = peftq_conv1d_new (e, e);
  g_autoptr(PeftqModule) qk = NULL;
  g_autoptr(PeftqModule) softmax = peftq_softmax_new ();
  g_autoptr(PeftqModule) av = peftq_matmul_new (FALSE, 1.0f);
  g_autoptr(PeftqModule) c_fc = peftq_conv1d_new (e, config->intermediate_size);
  g_autoptr(PeftqModule) mlp_proj = peftq_conv1d_new (config->intermediate_size, e);
  g_autoptr(PeftqModule) act = peftq_activation_new_from_name (config->activation, error);
  g_autoptr(PeftqModule) attn_add = peftq_add_new ();
  g_autoptr(PeftqModule) mlp_add = peftq_add_new ();

  shape->num_heads = config->num_heads;
  shape->head_dim = config->head_dim;
  attention = peftq_composite_new ("GPT2Attention", attention_forward, shape, g_free);
  if (act == NULL)
    return NULL;

  qk = peftq_matmul_new (TRUE, config->scale_attention ? 1.0f / sqrtf ((float) config->head_dim) : 1.0f);
  peftq_module_add_child (attention, "c_attn", c_attn);
  peftq_module_add_child (attention, "c_proj", c_proj);
  peftq_module_add_child (attention, "qk_matmul", qk);
  peftq_module_add_child (attention, "softmax", softmax);
  peftq_module_add_child (attention, "av_matmul", av);

  peftq_module_add_child (mlp, "c_fc", c_fc);
  peftq_module_add_child (mlp, "c_proj", mlp_proj);
  peftq_module_add_child (mlp, "act", act);

  peftq_module_add_child (block, "ln_1", ln_1);
  peftq_module_add_child (block, "attn", attention);
  peftq_module_add_child (block, "attn_residual_add", attn_add);
  peftq_module_add_child (block, "ln_2", ln_2);
  peftq_module_add_child (block, "mlp", mlp);
  peftq_module_add_child (block, "mlp_residual_add", mlp_add);
  return g_steal_pointer (&block);
}

PeftqModule *
peftq_gpt2_build (const PeftqModelConfig  *config,
                  GError                 **error)
{
  g_autoptr(PeftqModule) transformer = peftq_composite_new ("GPT2Model", gpt2_model_forward, NULL, NULL);
  g_autoptr(PeftqModule) wte = peftq_embedding_new (config->vocab_size, config->hidden_size);
  g_autoptr(PeftqModule) wpe = peftq_embedding_new (config->max_positions, config->hidden_size);
  g_autoptr(PeftqModule) embed_add = peftq_add_new ();
  g_autoptr(PeftqModule) blocks = peftq_module_new ();
  g_autoptr(PeftqModule) ln_f = peftq_layer_norm_new (config->hidden_size, (float) config->norm_eps, TRUE);

  for (guint i = 0; i < config->num_layers; i++)
    {
      g_autoptr(PeftqModule) block = build_block (config, error);
      char name[16];

      if (block == NULL)
        return NULL;
      g_snprintf (name, sizeof name, "%u", i);
      peftq_module_add_child (blocks, name, block);
    }

  peftq_module_add_child (transformer, "wte", wte);
  peftq_module_add_child (transformer, "wpe", wpe);
  peftq_module_add_child (transformer, "embed_add", embed_add);
  peftq_module_add_child (transformer, "h", blocks);
  peftq_module_add_child (transformer, "ln_f", ln_f);
  return g_steal_pointer (&transformer);
}
