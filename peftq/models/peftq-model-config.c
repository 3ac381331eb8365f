/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-model-config-private.h"
#include "peftq-error.h"

#include <json-glib/json-glib.h>
#include <string.h>

void
peftq_model_config_free (PeftqModelConfig *config)
{
  if (config == NULL)
    return;

  g_free (config->model_type);
  g_free (config->architecture_name);
  g_free (config->activation);
  g_free (config);
}

/* Reads an optional positive integer; a missing or null key keeps *value. */
static gboolean
read_uint (JsonObject  *object,
           const char  *path,
           const char  *key,
           gboolean     required,
           guint       *value,
           GError     **error)
{
  JsonNode *node = json_object_get_member (object, key);
  gint64 number;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (required)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "%s: the required key “%s” is missing", path, key);
          return FALSE;
        }
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: “%s” must be an integer", path, key);
      return FALSE;
    }

  number = json_node_get_int (node);
  if (number < 1 || number > G_MAXINT32)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: “%s” is %" G_GINT64_FORMAT ", but must be a positive integer below 2^31",
                   path, key, number);
      return FALSE;
    }

  *value = (guint) number;
  return TRUE;
}

static gboolean
read_double (JsonObject  *object,
             const char  *path,
             const char  *key,
             double      *value,
             GError     **error)
{
  JsonNode *node = json_object_get_member (object, key);
  GType type;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: “%s” must be a number", path, key);
      return FALSE;
    }

  *value = type == G_TYPE_DOUBLE ? json_node_get_double (node) : (double) json_node_get_int (node);
  if (!(*value > 0.0))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: “%s” must be positive", path, key);
      return FALSE;
    }

  return TRUE;
}

static gboolean
read_bool (JsonObject  *object,
           const char  *path,
           const char  *key,
           gboolean    *value,
           GError     **error)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: “%s” must be true or false", path, key);
      return FALSE;
    }

  *value = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
read_string (JsonObject  *object,
             const char  *path,
             const char  *key,
             char       **value,
             GError     **error)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: “%s” must be a string", path, key);
      return FALSE;
    }

  g_free (*value);
  *value = g_strdup (json_node_get_string (node));
  return TRUE;
}

/* Token ids may be an integer, null, or a list (the first entry counts). */
static gint64
read_token_id (JsonObject *object,
               const char *key)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) > 0)
    node = json_array_get_element (json_node_get_array (node), 0);

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);

  return -1;
}

static const struct
{
  const char *model_type;
  const char *architecture;
  PeftqArchitecture family;
} supported[] = {
  { "llama", "LlamaForCausalLM", PEFTQ_ARCHITECTURE_LLAMA },
  { "mistral", "MistralForCausalLM", PEFTQ_ARCHITECTURE_LLAMA },
  { "qwen2", "Qwen2ForCausalLM", PEFTQ_ARCHITECTURE_LLAMA },
  { "gpt2", "GPT2LMHeadModel", PEFTQ_ARCHITECTURE_GPT2 },
};

static gboolean
read_identity (JsonObject        *object,
               const char        *path,
               PeftqModelConfig  *config,
               GError           **error)
{
  JsonNode *architectures = json_object_get_member (object, "architectures");
  int found = -1;

  if (!read_string (object, path, "model_type", &config->model_type, error))
    return FALSE;

  if (architectures != NULL && JSON_NODE_HOLDS_ARRAY (architectures) &&
      json_array_get_length (json_node_get_array (architectures)) > 0)
    {
      JsonNode *first = json_array_get_element (json_node_get_array (architectures), 0);

      if (JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_STRING)
        config->architecture_name = g_strdup (json_node_get_string (first));
    }

  if (config->model_type == NULL && config->architecture_name == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s names neither a “model_type” nor “architectures”", path);
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (supported); i++)
    {
      if (config->model_type != NULL ? strcmp (config->model_type, supported[i].model_type) == 0
                                     : strcmp (config->architecture_name, supported[i].architecture) == 0)
        found = (int) i;
    }

  if (found < 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "%s: model type “%s” (architecture %s) is not supported; peftq loads "
                   "llama, mistral, qwen2 and gpt2 models",
                   path, config->model_type != NULL ? config->model_type : "not given",
                   config->architecture_name != NULL ? config->architecture_name : "not given");
      return FALSE;
    }

  /* A head other than causal language modelling (such as ...ForSequenceClassification)
   * needs weights that the loaders do not build. */
  if (config->architecture_name != NULL && strcmp (config->architecture_name, supported[found].architecture) != 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "%s: architecture “%s” is not supported for model type “%s”; only %s is",
                   path, config->architecture_name, supported[found].model_type,
                   supported[found].architecture);
      return FALSE;
    }

  if (config->model_type == NULL)
    config->model_type = g_strdup (supported[found].model_type);
  if (config->architecture_name == NULL)
    config->architecture_name = g_strdup (supported[found].architecture);
  config->architecture = supported[found].family;
  return TRUE;
}

static gboolean
read_llama (JsonObject        *object,
            const char        *path,
            PeftqModelConfig  *config,
            GError           **error)
{
  gboolean attention_bias = FALSE;
  JsonNode *rope_scaling;

  config->norm_eps = 1e-6;
  config->rope_theta = 10000.0;
  config->max_positions = 2048;
  config->activation = g_strdup ("silu");

  if (!read_uint (object, path, "hidden_size", TRUE, &config->hidden_size, error) ||
      !read_uint (object, path, "intermediate_size", TRUE, &config->intermediate_size, error) ||
      !read_uint (object, path, "num_hidden_layers", TRUE, &config->num_layers, error) ||
      !read_uint (object, path, "num_attention_heads", TRUE, &config->num_heads, error) ||
      !read_uint (object, path, "vocab_size", TRUE, &config->vocab_size, error) ||
      !read_uint (object, path, "max_position_embeddings", FALSE, &config->max_positions, error) ||
      !read_double (object, path, "rms_norm_eps", &config->norm_eps, error) ||
      !read_double (object, path, "rope_theta", &config->rope_theta, error) ||
      !read_bool (object, path, "tie_word_embeddings", &config->tie_word_embeddings, error) ||
      !read_bool (object, path, "attention_bias", &attention_bias, error) ||
      !read_bool (object, path, "mlp_bias", &config->mlp_bias, error) ||
      !read_string (object, path, "hidden_act", &config->activation, error))
    return FALSE;

  config->num_kv_heads = config->num_heads;
  config->head_dim = config->hidden_size / config->num_heads;
  if (!read_uint (object, path, "num_key_value_heads", FALSE, &config->num_kv_heads, error) ||
      !read_uint (object, path, "head_dim", FALSE, &config->head_dim, error))
    return FALSE;

  if (!json_object_has_member (object, "head_dim") && config->hidden_size % config->num_heads != 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: hidden_size %u is not a multiple of num_attention_heads %u",
                   path, config->hidden_size, config->num_heads);
      return FALSE;
    }

  if (config->num_heads % config->num_kv_heads != 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: num_attention_heads %u is not a multiple of num_key_value_heads %u",
                   path, config->num_heads, config->num_kv_heads);
      return FALSE;
    }

  if (config->head_dim % 2 != 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: the head size %u is odd, so rotary embeddings cannot pair its elements",
                   path, config->head_dim);
      return FALSE;
    }

  rope_scaling = json_object_get_member (object, "rope_scaling");
  if (rope_scaling != NULL && !JSON_NODE_HOLDS_NULL (rope_scaling))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "%s: “rope_scaling” is not supported; only plain rotary embeddings are", path);
      return FALSE;
    }

  /* Qwen2 always has q, k and v biases and no o_proj bias; Llama's attention_bias
   * covers all four projections. */
  if (strcmp (config->model_type, "qwen2") == 0)
    {
      config->qkv_bias = TRUE;
      config->output_bias = FALSE;
      config->mlp_bias = FALSE;
    }
  else
    {
      config->qkv_bias = attention_bias;
      config->output_bias = attention_bias;
    }

  return TRUE;
}

static gboolean
read_gpt2 (JsonObject        *object,
           const char        *path,
           PeftqModelConfig  *config,
           GError           **error)
{
  gboolean scale_by_layer = FALSE;
  gboolean upcast = FALSE;

  config->norm_eps = 1e-5;
  config->max_positions = 1024;
  config->tie_word_embeddings = TRUE;
  config->scale_attention = TRUE;
  config->activation = g_strdup ("gelu_new");
  config->qkv_bias = TRUE;
  config->output_bias = TRUE;
  config->mlp_bias = TRUE;

  if (!read_uint (object, path, "n_embd", TRUE, &config->hidden_size, error) ||
      !read_uint (object, path, "n_layer", TRUE, &config->num_layers, error) ||
      !read_uint (object, path, "n_head", TRUE, &config->num_heads, error) ||
      !read_uint (object, path, "vocab_size", TRUE, &config->vocab_size, error) ||
      !read_uint (object, path, "n_positions", FALSE, &config->max_positions, error) ||
      !read_double (object, path, "layer_norm_epsilon", &config->norm_eps, error) ||
      !read_bool (object, path, "tie_word_embeddings", &config->tie_word_embeddings, error) ||
      !read_bool (object, path, "scale_attn_weights", &config->scale_attention, error) ||
      !read_bool (object, path, "scale_attn_by_inverse_layer_idx", &scale_by_layer, error) ||
      !read_bool (object, path, "reorder_and_upcast_attn", &upcast, error) ||
      !read_string (object, path, "activation_function", &config->activation, error))
    return FALSE;

  config->intermediate_size = 4 * config->hidden_size;
  if (!read_uint (object, path, "n_inner", FALSE, &config->intermediate_size, error))
    return FALSE;

  if (config->hidden_size % config->num_heads != 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: n_embd %u is not a multiple of n_head %u",
                   path, config->hidden_size, config->num_heads);
      return FALSE;
    }

  if (scale_by_layer)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "%s: “scale_attn_by_inverse_layer_idx” is not supported", path);
      return FALSE;
    }

  config->num_kv_heads = config->num_heads;
  config->head_dim = config->hidden_size / config->num_heads;
  return TRUE;
}

PeftqModelConfig *
peftq_model_config_load (const char  *path,
                         GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(PeftqModelConfig) config = g_new0 (PeftqModelConfig, 1);
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonObject *object;

  if (!json_parser_load_from_mapped_file (parser, path, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                     "Model configuration %s is missing", path);
      else
        g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                     "Model configuration %s could not be read: %s", path, local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Model configuration %s is not a JSON object", path);
      return NULL;
    }

  object = json_node_get_object (root);
  if (!read_identity (object, path, config, error))
    return NULL;

  if (config->architecture == PEFTQ_ARCHITECTURE_GPT2)
    {
      if (!read_gpt2 (object, path, config, error))
        return NULL;
    }
  else if (!read_llama (object, path, config, error))
    {
      return NULL;
    }

  config->bos_token_id = read_token_id (object, "bos_token_id");
  config->eos_token_id = read_token_id (object, "eos_token_id");
  return g_steal_pointer (&config);
}
