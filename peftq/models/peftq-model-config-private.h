/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  PEFTQ_ARCHITECTURE_LLAMA,  /* Llama, Mistral, Qwen2, SmolLM, TinyLlama */
  PEFTQ_ARCHITECTURE_GPT2,
} PeftqArchitecture;

/* The settings of a Hugging Face config.json that the loaders use, with Hugging Face's
 * defaults for the keys that a file leaves out. */
typedef struct
{
  PeftqArchitecture architecture;
  char *model_type;         /* "llama", "mistral", "qwen2" or "gpt2" */
  char *architecture_name;  /* such as "LlamaForCausalLM" */
  guint hidden_size;
  guint intermediate_size;
  guint num_layers;
  guint num_heads;
  guint num_kv_heads;
  guint head_dim;
  guint vocab_size;
  guint max_positions;
  double norm_eps;
  double rope_theta;
  gboolean tie_word_embeddings;
  gboolean qkv_bias;
  gboolean output_bias;
  gboolean mlp_bias;
  gboolean scale_attention;
  char *activation;
  gint64 bos_token_id;      /* -1 when the file names none */
  gint64 eos_token_id;
} PeftqModelConfig;

/* Reads and validates @path (a config.json). Fails on an unsupported model type or
 * architecture, a missing or invalid key, or inconsistent sizes, naming the file and key. */
PeftqModelConfig *peftq_model_config_load (const char  *path,
                                           GError     **error);
void              peftq_model_config_free (PeftqModelConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeftqModelConfig, peftq_model_config_free)

G_END_DECLS
