/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-causal-lm.h"
#include "peftq-architectures-private.h"
#include "peftq-model-config-private.h"
#include "peftq-module-private.h"
#include "peftq-weight-source-private.h"
#include "peftq-linear.h"

#include <string.h>

/**
 * PeftqCausalLM:
 *
 * A causal language model loaded from a Hugging Face model folder, and the root of its
 * module tree.
 *
 * The root has two children: the base model (`model` for the Llama family, `transformer`
 * for GPT-2) and `lm_head`, so module and parameter names are the Hugging Face names,
 * such as `model.layers.0.self_attn.q_proj.weight`. With `tie_word_embeddings`, the
 * parameter `lm_head.weight` is tied to the token embedding. The forward pass takes I64
 * or I32 token ids of shape [batch, tokens] and returns float32 logits of shape
 * [batch, tokens, vocab_size].
 *
 * Since: 1.0
 */
struct _PeftqCausalLM
{
  PeftqModule parent_instance;

  PeftqModelConfig *config;
  char *base_name;
};

G_DEFINE_FINAL_TYPE (PeftqCausalLM, peftq_causal_lm, PEFTQ_TYPE_MODULE)

static PeftqTensor *
peftq_causal_lm_forward (PeftqModule          *module,
                         PeftqForwardContext  *context,
                         PeftqTensor         **inputs,
                         guint                 n_inputs,
                         GError              **error)
{
  PeftqCausalLM *self = PEFTQ_CAUSAL_LM (module);
  g_autoptr(PeftqTensor) hidden = NULL;
  PeftqDType dtype;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  dtype = peftq_tensor_get_dtype (inputs[0]);
  if (dtype != PEFTQ_DTYPE_I64 && dtype != PEFTQ_DTYPE_I32)
    {
      g_autofree char *description = peftq_module_dup_description (module);
      g_autofree char *shape = peftq_tensor_format_shape (inputs[0]);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_DTYPE_MISMATCH,
                   "The %s got input ids of dtype %s and shape %s, expected token ids of dtype "
                   "I64 or I32 and shape [batch, tokens]",
                   description, peftq_dtype_to_string (dtype), shape);
      return NULL;
    }
  if (peftq_tensor_get_rank (inputs[0]) != 2)
    {
      peftq_module_set_shape_error (module, error, "input ids", inputs[0],
                                    "[batch, tokens] of dtype I64 or I32");
      return NULL;
    }

  hidden = peftq_module_forward_one (peftq_module_get_child (module, self->base_name), context, inputs[0], error);
  if (hidden == NULL)
    return NULL;

  return peftq_module_forward_one (peftq_module_get_child (module, "lm_head"), context, hidden, error);
}

static const char *
peftq_causal_lm_get_type_name (PeftqModule *module)
{
  PeftqCausalLM *self = PEFTQ_CAUSAL_LM (module);

  return self->config != NULL ? self->config->architecture_name : "CausalLM";
}

static void
peftq_causal_lm_finalize (GObject *object)
{
  PeftqCausalLM *self = PEFTQ_CAUSAL_LM (object);

  peftq_model_config_free (self->config);
  g_free (self->base_name);

  G_OBJECT_CLASS (peftq_causal_lm_parent_class)->finalize (object);
}

static void
peftq_causal_lm_class_init (PeftqCausalLMClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  object_class->finalize = peftq_causal_lm_finalize;
  module_class->forward = peftq_causal_lm_forward;
  module_class->get_type_name = peftq_causal_lm_get_type_name;
}

static void
peftq_causal_lm_init (PeftqCausalLM *self)
{
}

/* Returns the name of @key in the checkpoint. GPT-2 checkpoints written from GPT2Model
 * (such as the original `gpt2` upload) leave out the `transformer.` prefix. */
static const char *
find_checkpoint_name (PeftqWeightSource *source,
                      const char        *key)
{
  if (peftq_weight_source_has (source, key))
    return key;

  if (g_str_has_prefix (key, "transformer.") && peftq_weight_source_has (source, key + strlen ("transformer.")))
    return key + strlen ("transformer.");

  return NULL;
}

static gboolean
load_weights (PeftqCausalLM      *self,
              PeftqWeightSource  *source,
              const char         *folder,
              GError            **error)
{
  g_auto(GStrv) keys = peftq_module_list_state_dict_keys (PEFTQ_MODULE (self));

  for (guint i = 0; keys[i] != NULL; i++)
    {
      const char *dot = strrchr (keys[i], '.');
      g_autofree char *module_path = g_strndup (keys[i], (gsize) (dot - keys[i]));
      PeftqModule *module = peftq_module_find_module (PEFTQ_MODULE (self), module_path);
      g_autoptr(PeftqTensor) tensor = NULL;
      const char *name;

      /* A tied head shares the embedding, as Hugging Face ties it even when the file
       * also stores lm_head.weight. */
      if (self->config->tie_word_embeddings && strcmp (keys[i], "lm_head.weight") == 0)
        continue;

      name = find_checkpoint_name (source, keys[i]);
      if (name == NULL)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                       "Model folder %s has no tensor “%s”, which a %s model needs",
                       folder, keys[i], self->config->architecture_name);
          return FALSE;
        }

      tensor = peftq_weight_source_get (source, name, error);
      if (tensor == NULL)
        return FALSE;

      if (!peftq_module_set_parameter (module, dot + 1, tensor, error))
        {
          g_prefix_error (error, "Model folder %s: ", folder);
          return FALSE;
        }
    }

  return TRUE;
}

/**
 * peftq_causal_lm_load:
 * @folder: a Hugging Face model folder with `config.json` and `model.safetensors` or a
 *   sharded `model.safetensors.index.json`
 * @error: return location for a #GError
 *
 * Loads a causal language model. The supported model types are `llama` (also SmolLM and
 * TinyLlama), `mistral` and `qwen2` with the LlamaForCausalLM layout, and `gpt2`
 * (GPT2LMHeadModel). Weights may be F32, F16 or BF16. They stay memory-mapped, and
 * 16-bit weights are converted to float32 on first use.
 *
 * Returns: (transfer full): the model, or `NULL` if the folder, its configuration or a
 *   weight is missing or invalid, or the model type is not supported
 *
 * Since: 1.0
 */
PeftqCausalLM *
peftq_causal_lm_load (const char  *folder,
                      GError     **error)
{
  g_autofree char *config_path = NULL;
  g_autoptr(PeftqModelConfig) config = NULL;
  g_autoptr(PeftqWeightSource) source = NULL;
  g_autoptr(PeftqCausalLM) self = NULL;
  g_autoptr(PeftqModule) base = NULL;
  g_autoptr(PeftqModule) lm_head = NULL;

  g_return_val_if_fail (folder != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_test (folder, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND, "Model folder %s does not exist", folder);
      return NULL;
    }
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Model path %s is not a folder: pass the folder that contains config.json", folder);
      return NULL;
    }

  config_path = g_build_filename (folder, "config.json", NULL);
  config = peftq_model_config_load (config_path, error);
  if (config == NULL)
    return NULL;

  source = peftq_weight_source_open (folder, error);
  if (source == NULL)
    return NULL;

  base = config->architecture == PEFTQ_ARCHITECTURE_GPT2
    ? peftq_gpt2_build (config, error)
    : peftq_llama_build (config, error);
  if (base == NULL)
    return NULL;

  self = g_object_new (PEFTQ_TYPE_CAUSAL_LM, NULL);
  self->base_name = g_strdup (config->architecture == PEFTQ_ARCHITECTURE_GPT2 ? "transformer" : "model");
  lm_head = peftq_linear_new (config->hidden_size, config->vocab_size, FALSE);
  peftq_module_add_child (PEFTQ_MODULE (self), self->base_name, base);
  peftq_module_add_child (PEFTQ_MODULE (self), "lm_head", lm_head);
  self->config = g_steal_pointer (&config);

  if (self->config->tie_word_embeddings)
    peftq_module_tie_parameter (lm_head, "weight",
                                peftq_module_get_child (base, self->config->architecture == PEFTQ_ARCHITECTURE_GPT2 ? "wte" : "embed_tokens"),
                                "weight");

  if (!load_weights (self, source, folder, error))
    return NULL;

  /* As Hugging Face's loader does, warn when a checkpoint contains weights that the
   * model built from config.json does not use, which usually means a wrong layer count or
   * architecture in the config. */
  {
    g_autoptr(GPtrArray) unused = peftq_weight_source_list_unused (source);
    guint index;

    /* A tied head reads the embedding, so a stored lm_head.weight is expected to stay
     * unread; Hugging Face does not warn about it either. */
    if (self->config->tie_word_embeddings &&
        g_ptr_array_find_with_equal_func (unused, "lm_head.weight", g_str_equal, &index))
      g_ptr_array_remove_index (unused, index);

    if (unused->len > 0)
      g_warning ("Model folder %s: %u checkpoint tensors are not used by the model that "
                 "config.json describes, such as “%s”; check num_hidden_layers and the "
                 "architecture in config.json",
                 folder, unused->len, (const char *) g_ptr_array_index (unused, 0));
  }

  return g_steal_pointer (&self);
}

/**
 * peftq_causal_lm_forward_ids:
 * @self: a causal language model
 * @context: (nullable): the forward context (positions, attention mask), or `NULL`
 * @input_ids: token ids of dtype I64 or I32 and shape [batch, tokens]
 * @error: return location for a #GError
 *
 * Computes the logits of every position, as [method@Peftq.Module.forward] does on the
 * root module.
 *
 * Returns: (transfer full): float32 logits of shape [batch, tokens, vocab_size], or
 *   `NULL` on error, such as an id outside the vocabulary
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_causal_lm_forward_ids (PeftqCausalLM        *self,
                             PeftqForwardContext  *context,
                             PeftqTensor          *input_ids,
                             GError              **error)
{
  g_return_val_if_fail (PEFTQ_IS_CAUSAL_LM (self), NULL);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (input_ids), NULL);

  return peftq_module_forward_one (PEFTQ_MODULE (self), context, input_ids, error);
}

static gint64
argmax_last_row (PeftqTensor *logits)
{
  const float *values = peftq_tensor_peek_data (logits);
  gsize vocab = (gsize) peftq_tensor_get_dim (logits, -1);
  gsize rows = (gsize) (peftq_tensor_get_n_elements (logits) / MAX (vocab, 1));
  const float *last = values + (rows - 1) * vocab;
  gsize best = 0;

  /* The first maximum wins, as torch.argmax returns it. */
  for (gsize i = 1; i < vocab; i++)
    if (last[i] > last[best])
      best = i;

  return (gint64) best;
}

/**
 * peftq_causal_lm_generate_greedy:
 * @self: a causal language model
 * @prompt: (array length=n_prompt): the prompt token ids, at least one
 * @n_prompt: the number of prompt tokens
 * @n_steps: the number of tokens to generate
 * @n_tokens: (out): the number of generated tokens, @n_steps on success
 * @error: return location for a #GError
 *
 * Decodes greedily: appends the most likely next token @n_steps times, without stopping
 * at an end-of-sequence token. Each step runs the model on the whole sequence so far
 * (there is no key/value cache) and the output layer on the last position only.
 *
 * Returns: (array length=n_tokens) (transfer full): the generated token ids, without
 *   the prompt, or `NULL` on error
 *
 * Since: 1.0
 */
gint64 *
peftq_causal_lm_generate_greedy (PeftqCausalLM  *self,
                                 const gint64   *prompt,
                                 gsize           n_prompt,
                                 guint           n_steps,
                                 gsize          *n_tokens,
                                 GError        **error)
{
  g_autofree gint64 *sequence = NULL;
  PeftqModule *base;
  PeftqModule *lm_head;

  g_return_val_if_fail (PEFTQ_IS_CAUSAL_LM (self), NULL);
  g_return_val_if_fail (prompt != NULL || n_prompt == 0, NULL);
  g_return_val_if_fail (n_tokens != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  *n_tokens = 0;
  if (n_prompt == 0)
    {
      g_set_error_literal (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                           "Greedy decoding needs a prompt of at least one token, such as the BOS id");
      return NULL;
    }

  base = peftq_module_get_child (PEFTQ_MODULE (self), self->base_name);
  lm_head = peftq_module_get_child (PEFTQ_MODULE (self), "lm_head");
  sequence = g_new (gint64, n_prompt + n_steps);
  memcpy (sequence, prompt, n_prompt * sizeof (gint64));

  for (guint step = 0; step < n_steps; step++)
    {
      gsize length = n_prompt + step;
      gint64 shape[2] = { 1, (gint64) length };
      gint64 last_shape[3] = { 1, 1, (gint64) self->config->hidden_size };
      g_autoptr(GBytes) bytes = g_bytes_new (sequence, length * sizeof (gint64));
      g_autoptr(PeftqTensor) ids = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, shape, 2, bytes, error);
      g_autoptr(PeftqTensor) hidden = NULL;
      g_autoptr(PeftqTensor) last = NULL;
      g_autoptr(PeftqTensor) logits = NULL;

      if (ids == NULL)
        return NULL;

      hidden = peftq_module_forward_one (base, NULL, ids, error);
      if (hidden == NULL)
        return NULL;

      /* Only the last position's logits are needed. */
      last = peftq_tensor_new_f32 (last_shape, 3);
      memcpy (peftq_tensor_get_mutable_data (last),
              (const float *) peftq_tensor_peek_data (hidden) + (length - 1) * self->config->hidden_size,
              self->config->hidden_size * sizeof (float));
      logits = peftq_module_forward_one (lm_head, NULL, last, error);
      if (logits == NULL)
        return NULL;

      sequence[length] = argmax_last_row (logits);
    }

  *n_tokens = n_steps;
  return g_memdup2 (sequence + n_prompt, MAX (n_steps, 1) * sizeof (gint64));
}

/**
 * peftq_causal_lm_get_base_model:
 * @self: a causal language model
 *
 * Gets the base model below the output layer: the child `model` of a Llama-family model
 * or `transformer` of GPT-2.
 *
 * Returns: (transfer none): the base model
 *
 * Since: 1.0
 */
PeftqModule *
peftq_causal_lm_get_base_model (PeftqCausalLM *self)
{
  g_return_val_if_fail (PEFTQ_IS_CAUSAL_LM (self), NULL);

  return peftq_module_get_child (PEFTQ_MODULE (self), self->base_name);
}

/**
 * peftq_causal_lm_get_model_type:
 * @self: a causal language model
 *
 * Gets the `model_type` of the configuration, such as `llama` or `gpt2`.
 *
 * Returns: (transfer none): the model type
 *
 * Since: 1.0
 */
const char *
peftq_causal_lm_get_model_type (PeftqCausalLM *self)
{
  g_return_val_if_fail (PEFTQ_IS_CAUSAL_LM (self), NULL);

  return self->config->model_type;
}

/**
 * peftq_causal_lm_get_architecture:
 * @self: a causal language model
 *
 * Gets the Hugging Face class of the model, such as `LlamaForCausalLM`.
 *
 * Returns: (transfer none): the architecture name
 *
 * Since: 1.0
 */
const char *
peftq_causal_lm_get_architecture (PeftqCausalLM *self)
{
  g_return_val_if_fail (PEFTQ_IS_CAUSAL_LM (self), NULL);

  return self->config->architecture_name;
}

/**
 * peftq_causal_lm_get_vocab_size:
 * @self: a causal language model
 *
 * Gets the number of tokens in the vocabulary, the last dimension of the logits.
 *
 * Returns: the vocabulary size
 *
 * Since: 1.0
 */
guint
peftq_causal_lm_get_vocab_size (PeftqCausalLM *self)
{
  g_return_val_if_fail (PEFTQ_IS_CAUSAL_LM (self), 0);

  return self->config->vocab_size;
}

/**
 * peftq_causal_lm_get_hidden_size:
 * @self: a causal language model
 *
 * Gets the size of the hidden states.
 *
 * Returns: the hidden size
 *
 * Since: 1.0
 */
guint
peftq_causal_lm_get_hidden_size (PeftqCausalLM *self)
{
  g_return_val_if_fail (PEFTQ_IS_CAUSAL_LM (self), 0);

  return self->config->hidden_size;
}

/**
 * peftq_causal_lm_get_num_layers:
 * @self: a causal language model
 *
 * Gets the number of decoder layers.
 *
 * Returns: the number of layers
 *
 * Since: 1.0
 */
guint
peftq_causal_lm_get_num_layers (PeftqCausalLM *self)
{
  g_return_val_if_fail (PEFTQ_IS_CAUSAL_LM (self), 0);

  return self->config->num_layers;
}

/**
 * peftq_causal_lm_get_bos_token_id:
 * @self: a causal language model
 *
 * Gets the `bos_token_id` of the configuration.
 *
 * Returns: the beginning-of-sequence token id, or -1 if the configuration names none
 *
 * Since: 1.0
 */
gint64
peftq_causal_lm_get_bos_token_id (PeftqCausalLM *self)
{
  g_return_val_if_fail (PEFTQ_IS_CAUSAL_LM (self), -1);

  return self->config->bos_token_id;
}
