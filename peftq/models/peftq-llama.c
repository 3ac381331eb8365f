/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-architectures-private.h"
#include "peftq-composite-private.h"
#include "peftq-module-private.h"
#include "peftq-activation.h"
#include "peftq-add.h"
#include "peftq-attention.h"
#include "peftq-embedding.h"
#include "peftq-linear.h"
#include "peftq-multiply.h"
#include "peftq-rms-norm.h"

/* Llama-family blocks. The child names and their registration order follow Hugging
 * Face's LlamaModel, with one named child for each step that a quantization simulation
 * observes: `attn_residual_add` and `mlp_residual_add` in each layer, and `act_fn` and
 * `act_mul` (SiLU(gate) · up) in each MLP. */

static PeftqTensor *
mlp_forward (PeftqModule          *self,
             PeftqForwardContext  *context,
             PeftqTensor         **inputs,
             guint                 n_inputs,
             gpointer              user_data,
             GError              **error)
{
  g_autoptr(PeftqTensor) gate = NULL;
  g_autoptr(PeftqTensor) up = NULL;
  g_autoptr(PeftqTensor) activated = NULL;
  g_autoptr(PeftqTensor) product = NULL;

  if (!peftq_module_check_n_inputs (self, n_inputs, 1, error))
    return NULL;

  if ((gate = peftq_composite_run_child (self, "gate_proj", context, inputs[0], NULL, error)) == NULL ||
      (up = peftq_composite_run_child (self, "up_proj", context, inputs[0], NULL, error)) == NULL ||
      (activated = peftq_composite_run_child (self, "act_fn", context, gate, NULL, error)) == NULL ||
      (product = peftq_composite_run_child (self, "act_mul", context, activated, up, error)) == NULL)
    return NULL;

  return peftq_composite_run_child (self, "down_proj", context, product, NULL, error);
}

static PeftqTensor *
decoder_layer_forward (PeftqModule          *self,
                       PeftqForwardContext  *context,
                       PeftqTensor         **inputs,
                       guint                 n_inputs,
                       gpointer              user_data,
                       GError              **error)
{
  if (!peftq_module_check_n_inputs (self, n_inputs, 1, error))
    return NULL;

  return peftq_composite_run_pre_norm_block (self, context, inputs[0], "input_layernorm", "self_attn",
                                             "post_attention_layernorm", "mlp", error);
}

static PeftqTensor *
llama_model_forward (PeftqModule          *self,
                     PeftqForwardContext  *context,
                     PeftqTensor         **inputs,
                     guint                 n_inputs,
                     gpointer              user_data,
                     GError              **error)
{
  g_autoptr(PeftqTensor) hidden = NULL;
  g_autoptr(GPtrArray) layers = NULL;

  if (!peftq_module_check_n_inputs (self, n_inputs, 1, error))
    return NULL;

  hidden = peftq_composite_run_child (self, "embed_tokens", context, inputs[0], NULL, error);
  if (hidden == NULL)
    return NULL;

  layers = peftq_module_get_children (peftq_module_get_child (self, "layers"));
  for (guint i = 0; i < layers->len; i++)
    {
      PeftqTensor *next = peftq_module_forward_one (g_ptr_array_index (layers, i), context, hidden, error);

      if (next == NULL)
        return NULL;
      g_object_unref (hidden);
      hidden = next;
    }

  return peftq_composite_run_child (self, "norm", context, hidden, NULL, error);
}

static PeftqModule *
build_mlp (const PeftqModelConfig  *config,
           GError                 **error)
{
  PeftqModule *mlp = peftq_composite_new ("LlamaMLP", mlp_forward, NULL, NULL);
  g_autoptr(PeftqModule) gate = peftq_linear_new (config->hidden_size, config->intermediate_size, config->mlp_bias);
  g_autoptr(PeftqModule) up = peftq_linear_new (config->hidden_size, config->intermediate_size, config->mlp_bias);
  g_autoptr(PeftqModule) down = peftq_linear_new (config->intermediate_size, config->hidden_size, config->mlp_bias);
  g_autoptr(PeftqModule) act = peftq_activation_new_from_name (config->activation, error);
  g_autoptr(PeftqModule) mul = peftq_multiply_new ();

  if (act == NULL)
    {
      g_object_unref (mlp);
      return NULL;
    }

  peftq_module_add_child (mlp, "gate_proj", gate);
  peftq_module_add_child (mlp, "up_proj", up);
  peftq_module_add_child (mlp, "down_proj", down);
  peftq_module_add_child (mlp, "act_fn", act);
  peftq_module_add_child (mlp, "act_mul", mul);
  return mlp;
}

static PeftqModule *
build_layer (const PeftqModelConfig  *config,
             GError                 **error)
{
  g_autoptr(PeftqModule) layer = peftq_composite_new ("LlamaDecoderLayer", decoder_layer_forward, NULL, NULL);
  g_autoptr(PeftqModule) input_norm = peftq_rms_norm_new (config->hidden_size, (float) config->norm_eps);
  g_autoptr(PeftqModule) attention = NULL;
  g_autoptr(PeftqModule) attn_add = peftq_add_new ();
  g_autoptr(PeftqModule) post_norm = peftq_rms_norm_new (config->hidden_size, (float) config->norm_eps);
  g_autoptr(PeftqModule) mlp = NULL;
  g_autoptr(PeftqModule) mlp_add = peftq_add_new ();

  attention = peftq_attention_new (config->hidden_size, config->num_heads, config->num_kv_heads,
                                   config->head_dim, (float) config->rope_theta,
                                   config->qkv_bias, config->output_bias);
  mlp = build_mlp (config, error);
  if (mlp == NULL)
    return NULL;

  peftq_module_add_child (layer, "input_layernorm", input_norm);
  peftq_module_add_child (layer, "self_attn", attention);
  peftq_module_add_child (layer, "attn_residual_add", attn_add);
  peftq_module_add_child (layer, "post_attention_layernorm", post_norm);
  peftq_module_add_child (layer, "mlp", mlp);
  peftq_module_add_child (layer, "mlp_residual_add", mlp_add);
  return g_steal_pointer (&layer);
}

PeftqModule *
peftq_llama_build (const PeftqModelConfig  *config,
                   GError                 **error)
{
  g_autoptr(PeftqModule) model = peftq_composite_new ("LlamaModel", llama_model_forward, NULL, NULL);
  g_autoptr(PeftqModule) embed = peftq_embedding_new (config->vocab_size, config->hidden_size);
  g_autoptr(PeftqModule) layers = peftq_module_new ();
  g_autoptr(PeftqModule) norm = peftq_rms_norm_new (config->hidden_size, (float) config->norm_eps);

  for (guint i = 0; i < config->num_layers; i++)
    {
      g_autoptr(PeftqModule) layer = build_layer (config, error);
      char name[16];

      if (layer == NULL)
        return NULL;
      g_snprintf (name, sizeof name, "%u", i);
      peftq_module_add_child (layers, name, layer);
    }

  peftq_module_add_child (model, "embed_tokens", embed);
  peftq_module_add_child (model, "layers", layers);
  peftq_module_add_child (model, "norm", norm);
  return g_steal_pointer (&model);
}
