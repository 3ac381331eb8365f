/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-demo.h"
#include "peftq-error.h"
#include "peftq-file-private.h"
#include "peftq-safetensors.h"
#include "peftq-tensor-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>

/* The demo model: a Llama-style decoder small enough to calibrate in well under a
 * second, with grouped-query attention and an untied output layer so that every part
 * of the flow has something to do. */
enum
{
  DEMO_VOCAB_SIZE = 256,
  DEMO_HIDDEN_SIZE = 64,
  DEMO_INTERMEDIATE_SIZE = 128,
  DEMO_N_LAYERS = 2,
  DEMO_N_HEADS = 4,
  DEMO_N_KV_HEADS = 2,
  DEMO_HEAD_DIM = DEMO_HIDDEN_SIZE / DEMO_N_HEADS,
  DEMO_N_SEQUENCES = 4,
  DEMO_SEQUENCE_LENGTH = 32,
};

typedef struct
{
  const char *name;
  guint rank;
  guint alpha;
  const char *const *targets;
  guint64 seed;
} DemoAdapter;

static const char *const attention_targets[] = { "q_proj", "v_proj", NULL };
static const char *const all_linear_targets[] = {
  "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", NULL,
};

/* Two adapters that differ in rank, alpha and targets, as real adapter sets do. */
static const DemoAdapter demo_adapters[] = {
  { "attention_r4", 4, 8, attention_targets, 0x5eed0001 },
  { "all_linear_r8", 8, 16, all_linear_targets, 0x5eed0002 },
};

/* splitmix64: a small generator whose output is the same on every platform, so the demo
 * files are byte-identical wherever peftq runs. */
static guint64
next_random (guint64 *state)
{
  guint64 z = (*state += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [-limit, limit), from the top 24 bits so that the float is exact. */
static float
next_uniform (guint64 *state,
              float    limit)
{
  float unit = (float) (next_random (state) >> 40) * 0x1p-24f;

  return (2.0f * unit - 1.0f) * limit;
}

static PeftqTensor *
random_matrix (guint64 *state,
               gint64   rows,
               gint64   columns,
               float    limit)
{
  const gint64 shape[] = { rows, columns };
  PeftqTensor *tensor = peftq_tensor_new_f32 (shape, 2);
  float *values = peftq_tensor_get_mutable_data (tensor);

  for (gint64 i = 0; i < rows * columns; i++)
    values[i] = next_uniform (state, limit);

  return tensor;
}

static PeftqTensor *
norm_weight (guint64 *state,
             gint64   size)
{
  PeftqTensor *tensor = peftq_tensor_new_f32 (&size, 1);
  float *values = peftq_tensor_get_mutable_data (tensor);

  for (gint64 i = 0; i < size; i++)
    values[i] = 1.0f + next_uniform (state, 0.1f);

  return tensor;
}

static gboolean
add_owned (PeftqSafetensorsWriter  *writer,
           const char              *name,
           PeftqTensor             *tensor,
           GError                 **error)
{
  g_autoptr(PeftqTensor) owned = tensor;

  return peftq_safetensors_writer_add_tensor (writer, name, owned, error);
}

static gboolean
write_json (const char  *path,
            JsonBuilder *builder,
            GError     **error)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);

  return peftq_file_set_contents_atomic (path, text, -1, error);
}

static gboolean
make_dir (const char  *dir,
          GError     **error)
{
  if (g_mkdir_with_parents (dir, 0777) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO,
                   "Failed to create the folder “%s”: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

static gboolean
write_model_config (const char  *path,
                    GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "architectures");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, "LlamaForCausalLM");
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "model_type");
  json_builder_add_string_value (builder, "llama");
  json_builder_set_member_name (builder, "hidden_size");
  json_builder_add_int_value (builder, DEMO_HIDDEN_SIZE);
  json_builder_set_member_name (builder, "intermediate_size");
  json_builder_add_int_value (builder, DEMO_INTERMEDIATE_SIZE);
  json_builder_set_member_name (builder, "num_hidden_layers");
  json_builder_add_int_value (builder, DEMO_N_LAYERS);
  json_builder_set_member_name (builder, "num_attention_heads");
  json_builder_add_int_value (builder, DEMO_N_HEADS);
  json_builder_set_member_name (builder, "num_key_value_heads");
  json_builder_add_int_value (builder, DEMO_N_KV_HEADS);
  json_builder_set_member_name (builder, "vocab_size");
  json_builder_add_int_value (builder, DEMO_VOCAB_SIZE);
  json_builder_set_member_name (builder, "max_position_embeddings");
  json_builder_add_int_value (builder, 256);
  json_builder_set_member_name (builder, "rms_norm_eps");
  json_builder_add_double_value (builder, 1e-5);
  json_builder_set_member_name (builder, "rope_theta");
  json_builder_add_double_value (builder, 10000.0);
  json_builder_set_member_name (builder, "tie_word_embeddings");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_set_member_name (builder, "hidden_act");
  json_builder_add_string_value (builder, "silu");
  json_builder_set_member_name (builder, "bos_token_id");
  json_builder_add_int_value (builder, 1);
  json_builder_set_member_name (builder, "eos_token_id");
  json_builder_add_int_value (builder, 2);
  json_builder_set_member_name (builder, "torch_dtype");
  json_builder_add_string_value (builder, "float32");
  json_builder_end_object (builder);

  return write_json (path, builder, error);
}

/**
 * peftq_demo_write_model:
 * @dir: (type filename): the folder to write into; it is created if needed
 * @error: return location for a #GError
 *
 * Writes peftq's embedded demo model to @dir as a HuggingFace model folder
 * (`config.json` and `model.safetensors`): a Llama-style decoder with 2 layers, hidden
 * size 64, 4 attention heads sharing 2 key/value heads, and a vocabulary of 256 tokens.
 * Its weights come from a fixed-seed generator, so the files are the same on every run
 * and every platform. The weights are random, so the model predicts nothing useful: it
 * exists to run the quantization flow end to end.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
peftq_demo_write_model (const char  *dir,
                        GError     **error)
{
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  g_autofree char *config_path = NULL;
  g_autofree char *weights_path = NULL;
  guint64 state = 0x5eed0000;
  /* Uniform limits near 1/sqrt(fan_in), so activations keep a sensible scale. */
  const float hidden_limit = 1.0f / sqrtf ((float) DEMO_HIDDEN_SIZE);
  const float intermediate_limit = 1.0f / sqrtf ((float) DEMO_INTERMEDIATE_SIZE);
  const gint64 kv_size = DEMO_N_KV_HEADS * DEMO_HEAD_DIM;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!make_dir (dir, error))
    return FALSE;

  if (!add_owned (writer, "model.embed_tokens.weight", random_matrix (&state, DEMO_VOCAB_SIZE, DEMO_HIDDEN_SIZE, 1.0f), error))
    return FALSE;

  for (int layer = 0; layer < DEMO_N_LAYERS; layer++)
    {
      const struct
      {
        const char *name;
        gint64 rows;
        gint64 columns;
        float limit;
      } linears[] = {
        { "self_attn.q_proj", DEMO_HIDDEN_SIZE, DEMO_HIDDEN_SIZE, hidden_limit },
        { "self_attn.k_proj", kv_size, DEMO_HIDDEN_SIZE, hidden_limit },
        { "self_attn.v_proj", kv_size, DEMO_HIDDEN_SIZE, hidden_limit },
        { "self_attn.o_proj", DEMO_HIDDEN_SIZE, DEMO_HIDDEN_SIZE, hidden_limit },
        { "mlp.gate_proj", DEMO_INTERMEDIATE_SIZE, DEMO_HIDDEN_SIZE, hidden_limit },
        { "mlp.up_proj", DEMO_INTERMEDIATE_SIZE, DEMO_HIDDEN_SIZE, hidden_limit },
        { "mlp.down_proj", DEMO_HIDDEN_SIZE, DEMO_INTERMEDIATE_SIZE, intermediate_limit },
      };
      g_autofree char *input_norm = g_strdup_printf ("model.layers.%d.input_layernorm.weight", layer);
      g_autofree char *post_norm = g_strdup_printf ("model.layers.%d.post_attention_layernorm.weight", layer);

      if (!add_owned (writer, input_norm, norm_weight (&state, DEMO_HIDDEN_SIZE), error) ||
          !add_owned (writer, post_norm, norm_weight (&state, DEMO_HIDDEN_SIZE), error))
        return FALSE;

      for (gsize i = 0; i < G_N_ELEMENTS (linears); i++)
        {
          g_autofree char *name = g_strdup_printf ("model.layers.%d.%s.weight", layer, linears[i].name);

          if (!add_owned (writer, name, random_matrix (&state, linears[i].rows, linears[i].columns, linears[i].limit), error))
            return FALSE;
        }
    }

  if (!add_owned (writer, "model.norm.weight", norm_weight (&state, DEMO_HIDDEN_SIZE), error) ||
      !add_owned (writer, "lm_head.weight", random_matrix (&state, DEMO_VOCAB_SIZE, DEMO_HIDDEN_SIZE, hidden_limit), error))
    return FALSE;

  peftq_safetensors_writer_set_metadata (writer, "format", "pt");

  weights_path = g_build_filename (dir, "model.safetensors", NULL);
  config_path = g_build_filename (dir, "config.json", NULL);

  return peftq_safetensors_writer_write (writer, weights_path, error) &&
         write_model_config (config_path, error);
}

static void
add_string_array (JsonBuilder       *builder,
                  const char        *member,
                  const char *const *values)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (guint i = 0; values[i] != NULL; i++)
    json_builder_add_string_value (builder, values[i]);
  json_builder_end_array (builder);
}

static gboolean
write_adapter_config (const char        *path,
                      const DemoAdapter *adapter,
                      GError           **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "peft_type");
  json_builder_add_string_value (builder, "LORA");
  json_builder_set_member_name (builder, "task_type");
  json_builder_add_string_value (builder, "CAUSAL_LM");
  json_builder_set_member_name (builder, "base_model_name_or_path");
  json_builder_add_string_value (builder, "peftq-demo");
  json_builder_set_member_name (builder, "r");
  json_builder_add_int_value (builder, adapter->rank);
  json_builder_set_member_name (builder, "lora_alpha");
  json_builder_add_int_value (builder, adapter->alpha);
  json_builder_set_member_name (builder, "lora_dropout");
  json_builder_add_double_value (builder, 0.0);
  add_string_array (builder, "target_modules", adapter->targets);
  json_builder_set_member_name (builder, "bias");
  json_builder_add_string_value (builder, "none");
  json_builder_set_member_name (builder, "fan_in_fan_out");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_set_member_name (builder, "use_rslora");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_set_member_name (builder, "use_dora");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_set_member_name (builder, "modules_to_save");
  json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "rank_pattern");
  json_builder_begin_object (builder);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "alpha_pattern");
  json_builder_begin_object (builder);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "inference_mode");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_end_object (builder);

  return write_json (path, builder, error);
}

static gint64
target_out_features (const char *target)
{
  if (g_str_equal (target, "k_proj") || g_str_equal (target, "v_proj"))
    return DEMO_N_KV_HEADS * DEMO_HEAD_DIM;
  if (g_str_equal (target, "gate_proj") || g_str_equal (target, "up_proj"))
    return DEMO_INTERMEDIATE_SIZE;
  return DEMO_HIDDEN_SIZE;
}

static gint64
target_in_features (const char *target)
{
  return g_str_equal (target, "down_proj") ? DEMO_INTERMEDIATE_SIZE : DEMO_HIDDEN_SIZE;
}

static const char *
target_block (const char *target)
{
  if (g_str_equal (target, "gate_proj") || g_str_equal (target, "up_proj") || g_str_equal (target, "down_proj"))
    return "mlp";
  return "self_attn";
}

/**
 * peftq_demo_write_adapter:
 * @dir: (type filename): the folder to write into; it is created if needed
 * @index: which demo adapter: 0 is `attention_r4` (rank 4, alpha 8, on `q_proj` and
 *   `v_proj`), 1 is `all_linear_r8` (rank 8, alpha 16, on all seven projections)
 * @error: return location for a #GError
 *
 * Writes one adapter for the demo model of [func@Peftq.demo_write_model] as a PEFT
 * adapter folder (`adapter_config.json` and `adapter_model.safetensors`). Unlike a fresh
 * PEFT adapter, both lora_A and lora_B are non-zero, so the adapter changes the model's
 * output.
 *
 * Returns: `TRUE` on success, `FALSE` with %PEFTQ_ERROR_INVALID_ARGUMENT for an
 *   @index other than 0 or 1
 *
 * Since: 1.0
 */
gboolean
peftq_demo_write_adapter (const char  *dir,
                          guint        index,
                          GError     **error)
{
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  g_autofree char *config_path = NULL;
  g_autofree char *weights_path = NULL;
  const DemoAdapter *adapter;
  guint64 state;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (index >= G_N_ELEMENTS (demo_adapters))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "There is no demo adapter %u; the demo has adapters 0 and 1", index);
      return FALSE;
    }

  adapter = &demo_adapters[index];
  state = adapter->seed;

  if (!make_dir (dir, error))
    return FALSE;

  for (int layer = 0; layer < DEMO_N_LAYERS; layer++)
    {
      for (guint i = 0; adapter->targets[i] != NULL; i++)
        {
          const char *target = adapter->targets[i];
          g_autofree char *prefix = g_strdup_printf ("base_model.model.model.layers.%d.%s.%s",
                                                     layer, target_block (target), target);
          g_autofree char *name_a = g_strconcat (prefix, ".lora_A.weight", NULL);
          g_autofree char *name_b = g_strconcat (prefix, ".lora_B.weight", NULL);
          gint64 in_features = target_in_features (target);

          if (!add_owned (writer, name_a, random_matrix (&state, adapter->rank, in_features,
                                                         1.0f / sqrtf ((float) in_features)), error) ||
              !add_owned (writer, name_b, random_matrix (&state, target_out_features (target), adapter->rank,
                                                         0.5f / sqrtf ((float) adapter->rank)), error))
            return FALSE;
        }
    }

  peftq_safetensors_writer_set_metadata (writer, "format", "pt");

  weights_path = g_build_filename (dir, "adapter_model.safetensors", NULL);
  config_path = g_build_filename (dir, "adapter_config.json", NULL);

  return peftq_safetensors_writer_write (writer, weights_path, error) &&
         write_adapter_config (config_path, adapter, error);
}

/**
 * peftq_demo_write_calibration:
 * @path: (type filename): the safetensors file to write
 * @error: return location for a #GError
 *
 * Writes calibration data for the demo model: an I64 tensor `input_ids` of 4 sequences of
 * 32 token ids, each starting with the BOS id 1, from a fixed-seed generator.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
peftq_demo_write_calibration (const char  *path,
                              GError     **error)
{
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  g_autoptr(PeftqTensor) ids = NULL;
  const gint64 shape[] = { DEMO_N_SEQUENCES, DEMO_SEQUENCE_LENGTH };
  guint64 state = 0x5eedca11;
  gint64 *values;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  ids = peftq_tensor_new (PEFTQ_DTYPE_I64, shape, G_N_ELEMENTS (shape), error);
  if (ids == NULL)
    return FALSE;

  values = peftq_tensor_get_mutable_data (ids);
  for (int sequence = 0; sequence < DEMO_N_SEQUENCES; sequence++)
    {
      values[sequence * DEMO_SEQUENCE_LENGTH] = 1;
      /* Ids 0 to 2 are special tokens, so the rest are drawn from 3 upwards. */
      for (int position = 1; position < DEMO_SEQUENCE_LENGTH; position++)
        values[sequence * DEMO_SEQUENCE_LENGTH + position] =
          3 + (gint64) (next_random (&state) % (DEMO_VOCAB_SIZE - 3));
    }

  if (!peftq_safetensors_writer_add_tensor (writer, "input_ids", ids, error))
    return FALSE;
  peftq_safetensors_writer_set_metadata (writer, "bos", "1");

  return peftq_safetensors_writer_write (writer, path, error);
}

/**
 * peftq_demo_write_all:
 * @dir: (type filename): the folder to write into; it is created if needed
 * @error: return location for a #GError
 *
 * Writes the whole demo input under @dir: the model in `model/`, the two adapters in
 * `adapters/attention_r4/` and `adapters/all_linear_r8/`, and the calibration ids in
 * `calibration.safetensors`.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
peftq_demo_write_all (const char  *dir,
                      GError     **error)
{
  g_autofree char *model_dir = NULL;
  g_autofree char *calibration_path = NULL;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  model_dir = g_build_filename (dir, "model", NULL);
  if (!peftq_demo_write_model (model_dir, error))
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (demo_adapters); i++)
    {
      g_autofree char *adapter_dir = g_build_filename (dir, "adapters", demo_adapters[i].name, NULL);

      if (!peftq_demo_write_adapter (adapter_dir, i, error))
        return FALSE;
    }

  calibration_path = g_build_filename (dir, "calibration.safetensors", NULL);
  return peftq_demo_write_calibration (calibration_path, error);
}
