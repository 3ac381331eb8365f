/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <peftq.h>
#include <string.h>
#include <glib/gstdio.h>

#include "test-util.h"

/* The eval input and reference logits of stories260K, from a PyTorch reference. */
typedef struct
{
  char *model_dir;
  PeftqTensor *input_ids;
  PeftqTensor *reference;
} Stories;

static gboolean
stories_load (Stories *stories)
{
  g_autofree char *ids_path = peftq_test_get_data_path ("expected/eval_input_ids.safetensors");
  g_autofree char *logits_path = peftq_test_get_data_path ("expected/base/float_logits.safetensors");
  g_autoptr(PeftqSafetensorsFile) logits_file = NULL;
  g_autoptr(GError) error = NULL;

  stories->model_dir = peftq_test_get_data_path ("stories260K");
  if (stories->model_dir == NULL || ids_path == NULL || logits_path == NULL)
    return FALSE;

  stories->input_ids = peftq_load_token_ids (ids_path, &error);
  g_assert_no_error (error);
  logits_file = peftq_safetensors_file_open (logits_path, &error);
  g_assert_no_error (error);
  stories->reference = peftq_safetensors_file_get_tensor (logits_file, "logits", &error);
  g_assert_no_error (error);
  return TRUE;
}

static void
stories_clear (Stories *stories)
{
  g_free (stories->model_dir);
  g_clear_object (&stories->input_ids);
  g_clear_object (&stories->reference);
}

static double
max_abs_difference (PeftqTensor *a,
                    PeftqTensor *b)
{
  gsize n_a = 0;
  gsize n_b = 0;
  g_autofree float *va = peftq_tensor_to_floats (a, &n_a);
  g_autofree float *vb = peftq_tensor_to_floats (b, &n_b);
  double max = 0.0;

  g_assert_cmpuint (n_a, ==, n_b);
  for (gsize i = 0; i < n_a; i++)
    max = MAX (max, fabs ((double) va[i] - vb[i]));

  return max;
}

static void
test_stories_logits (void)
{
  Stories stories = { 0 };
  g_autoptr(PeftqCausalLM) model = NULL;
  g_autoptr(PeftqTensor) logits = NULL;
  g_autoptr(GError) error = NULL;
  guint rank;
  const gint64 *shape;

  if (!stories_load (&stories))
    return;

  model = peftq_causal_lm_load (stories.model_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (peftq_causal_lm_get_model_type (model), ==, "llama");
  g_assert_cmpstr (peftq_causal_lm_get_architecture (model), ==, "LlamaForCausalLM");
  g_assert_cmpuint (peftq_causal_lm_get_vocab_size (model), ==, 512);
  g_assert_cmpuint (peftq_causal_lm_get_hidden_size (model), ==, 64);
  g_assert_cmpuint (peftq_causal_lm_get_num_layers (model), ==, 5);
  g_assert_cmpint (peftq_causal_lm_get_bos_token_id (model), ==, 1);

  logits = peftq_causal_lm_forward_ids (model, NULL, stories.input_ids, &error);
  g_assert_no_error (error);
  shape = peftq_tensor_get_shape (logits, &rank);
  g_assert_cmpuint (rank, ==, 3);
  g_assert_cmpint (shape[0], ==, 1);
  g_assert_cmpint (shape[1], ==, 16);
  g_assert_cmpint (shape[2], ==, 512);
  g_assert_cmpfloat (max_abs_difference (logits, stories.reference), <, 1e-4);

  stories_clear (&stories);
}

static void
test_stories_greedy (void)
{
  g_autofree char *model_dir = peftq_test_get_data_path ("stories260K");
  g_autofree char *greedy_path = peftq_test_get_data_path ("stories260K/greedy_200.json");
  g_autoptr(PeftqCausalLM) model = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree gint64 *tokens = NULL;
  const gint64 bos = 1;
  gsize n_tokens = 0;
  JsonArray *expected;

  if (model_dir == NULL || greedy_path == NULL)
    return;

  g_assert_true (json_parser_load_from_file (parser, greedy_path, &error));
  expected = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "greedy_ids");
  g_assert_cmpuint (json_array_get_length (expected), ==, 200);

  model = peftq_causal_lm_load (model_dir, &error);
  g_assert_no_error (error);
  tokens = peftq_causal_lm_generate_greedy (model, &bos, 1, 200, &n_tokens, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_tokens, ==, 200);
  for (guint i = 0; i < 200; i++)
    g_assert_cmpint (tokens[i], ==, json_array_get_int_element (expected, i));
}

/* The module tree has the reference names, in the reference registration order. */
static void
test_stories_module_names (void)
{
  g_autofree char *model_dir = peftq_test_get_data_path ("stories260K");
  g_autoptr(PeftqCausalLM) model = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_auto(GStrv) params = NULL;
  g_auto(GStrv) keys = NULL;
  const char *const layer0[] = {
    "model.layers.0", "model.layers.0.input_layernorm", "model.layers.0.self_attn",
    "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj",
    "model.layers.0.self_attn.v_proj", "model.layers.0.self_attn.o_proj",
    "model.layers.0.self_attn.q_rope", "model.layers.0.self_attn.k_rope",
    "model.layers.0.self_attn.qk_matmul", "model.layers.0.self_attn.softmax",
    "model.layers.0.self_attn.av_matmul", "model.layers.0.attn_residual_add",
    "model.layers.0.post_attention_layernorm", "model.layers.0.mlp",
    "model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj", "model.layers.0.mlp.down_proj",
    "model.layers.0.mlp.act_fn", "model.layers.0.mlp.act_mul", "model.layers.0.mlp_residual_add",
  };
  guint n_names;

  if (model_dir == NULL)
    return;

  model = peftq_causal_lm_load (model_dir, &error);
  g_assert_no_error (error);
  names = peftq_module_list_module_names (PEFTQ_MODULE (model));
  n_names = g_strv_length (names);

  g_assert_cmpstr (names[0], ==, "");
  g_assert_cmpstr (names[1], ==, "model");
  g_assert_cmpstr (names[2], ==, "model.embed_tokens");
  g_assert_cmpstr (names[3], ==, "model.layers");
  for (guint i = 0; i < G_N_ELEMENTS (layer0); i++)
    g_assert_cmpstr (names[4 + i], ==, layer0[i]);
  g_assert_cmpstr (names[n_names - 2], ==, "model.norm");
  g_assert_cmpstr (names[n_names - 1], ==, "lm_head");
  g_assert_cmpuint (n_names, ==, 4 + 5 * G_N_ELEMENTS (layer0) + 2);

  g_assert_cmpstr (peftq_module_get_type_name (peftq_module_find_module (PEFTQ_MODULE (model), "model.layers.0.mlp.act_mul")), ==, "Mul");
  g_assert_cmpstr (peftq_module_get_type_name (peftq_module_find_module (PEFTQ_MODULE (model), "model.layers.0.mlp.act_fn")), ==, "SiLU");

  /* The tied head is listed once by named_parameters and twice by the state dict. */
  params = peftq_module_list_named_parameters (PEFTQ_MODULE (model));
  keys = peftq_module_list_state_dict_keys (PEFTQ_MODULE (model));
  g_assert_cmpuint (g_strv_length (params), ==, 47);
  g_assert_cmpuint (g_strv_length (keys), ==, 48);
  g_assert_true (g_strv_contains ((const char *const *) keys, "lm_head.weight"));
  g_assert_false (g_strv_contains ((const char *const *) params, "lm_head.weight"));
  g_assert_true (peftq_module_get_parameter (peftq_module_find_module (PEFTQ_MODULE (model), "lm_head"), "weight") ==
                 peftq_module_get_parameter (peftq_module_find_module (PEFTQ_MODULE (model), "model.embed_tokens"), "weight"));
}

/* Writes @config (stories260K's config.json changed by @edit) and a copy of its tensors
 * (changed by @edit_tensors) into a new folder. */
typedef void (*EditConfigFunc)  (JsonObject *config);
typedef void (*EditTensorsFunc) (GHashTable *tensors);

static char *
write_variant (const char      *model_dir,
               EditConfigFunc   edit,
               EditTensorsFunc  edit_tensors)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *config_path = g_build_filename (model_dir, "config.json", NULL);
  g_autofree char *weights_path = g_build_filename (model_dir, "model.safetensors", NULL);
  g_autofree char *out_config = g_build_filename (dir, "config.json", NULL);
  g_autofree char *out_weights = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  g_autoptr(GHashTable) tensors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_assert_true (json_parser_load_from_file (parser, config_path, &error));
  if (edit != NULL)
    edit (json_node_get_object (json_parser_get_root (parser)));
  json_generator_set_root (generator, json_parser_get_root (parser));
  g_assert_true (json_generator_to_file (generator, out_config, &error));

  file = peftq_safetensors_file_open (weights_path, &error);
  g_assert_no_error (error);
  names = peftq_safetensors_file_get_tensor_names (file);
  for (guint i = 0; names[i] != NULL; i++)
    g_hash_table_insert (tensors, g_strdup (names[i]), peftq_safetensors_file_get_tensor (file, names[i], NULL));
  if (edit_tensors != NULL)
    edit_tensors (tensors);

  g_hash_table_iter_init (&iter, tensors);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_true (peftq_safetensors_writer_add_tensor (writer, key, value, &error));
  g_assert_true (peftq_safetensors_writer_write (writer, out_weights, &error));

  return g_steal_pointer (&dir);
}

static void
assert_load_fails (const char  *dir,
                   gint         code,
                   const char  *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqCausalLM) model = peftq_causal_lm_load (dir, &error);

  g_assert_null (model);
  g_assert_error (error, PEFTQ_ERROR, code);
  if (strstr (error->message, fragment) == NULL)
    g_printerr ("unexpected message: %s\n", error->message);
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
remove_norm (GHashTable *tensors)
{
  g_hash_table_remove (tensors, "model.layers.2.mlp.up_proj.weight");
}

static void
shrink_norm (GHashTable *tensors)
{
  float values[63] = { 0 };
  g_autoptr(GError) error = NULL;
  PeftqTensor *wrong = peftq_tensor_new_from_floats (values, 63, (gint64[]) { 63 }, 1, &error);

  g_assert_no_error (error);
  g_hash_table_insert (tensors, g_strdup ("model.norm.weight"), wrong);
}

static void
make_bert (JsonObject *config)
{
  json_object_set_string_member (config, "model_type", "bert");
}

static void
make_classifier (JsonObject *config)
{
  JsonArray *architectures = json_array_new ();

  json_array_add_string_element (architectures, "LlamaForSequenceClassification");
  json_object_set_array_member (config, "architectures", architectures);
}

static void
break_heads (JsonObject *config)
{
  json_object_set_int_member (config, "num_key_value_heads", 3);
}

static void
test_invalid_folders (void)
{
  g_autofree char *model_dir = peftq_test_get_data_path ("stories260K");
  g_autofree char *empty = NULL;
  g_autofree char *missing_tensor = NULL;
  g_autofree char *wrong_shape = NULL;
  g_autofree char *bert = NULL;
  g_autofree char *classifier = NULL;
  g_autofree char *bad_heads = NULL;
  g_autofree char *no_weights = NULL;
  g_autofree char *no_weights_file = NULL;

  if (model_dir == NULL)
    return;

  empty = peftq_test_make_temp_dir ();
  assert_load_fails (empty, PEFTQ_ERROR_NOT_FOUND, "config.json");
  assert_load_fails ("/nonexistent/peftq-model", PEFTQ_ERROR_NOT_FOUND, "/nonexistent/peftq-model");

  {
    g_autofree char *config_file = g_build_filename (model_dir, "config.json", NULL);

    assert_load_fails (config_file, PEFTQ_ERROR_INVALID_ARGUMENT, "is not a folder");
    assert_load_fails (config_file, PEFTQ_ERROR_INVALID_ARGUMENT, config_file);
  }

  missing_tensor = write_variant (model_dir, NULL, remove_norm);
  assert_load_fails (missing_tensor, PEFTQ_ERROR_NOT_FOUND, "model.layers.2.mlp.up_proj.weight");

  wrong_shape = write_variant (model_dir, NULL, shrink_norm);
  assert_load_fails (wrong_shape, PEFTQ_ERROR_SHAPE_MISMATCH, "model.norm.weight");
  assert_load_fails (wrong_shape, PEFTQ_ERROR_SHAPE_MISMATCH, "[63]");
  assert_load_fails (wrong_shape, PEFTQ_ERROR_SHAPE_MISMATCH, "[64]");

  bert = write_variant (model_dir, make_bert, NULL);
  assert_load_fails (bert, PEFTQ_ERROR_UNSUPPORTED, "“bert”");

  classifier = write_variant (model_dir, make_classifier, NULL);
  assert_load_fails (classifier, PEFTQ_ERROR_UNSUPPORTED, "LlamaForSequenceClassification");

  bad_heads = write_variant (model_dir, break_heads, NULL);
  assert_load_fails (bad_heads, PEFTQ_ERROR_INVALID_DATA, "num_key_value_heads");

  no_weights = write_variant (model_dir, NULL, NULL);
  no_weights_file = g_build_filename (no_weights, "model.safetensors", NULL);
  g_assert_cmpint (g_remove (no_weights_file), ==, 0);
  assert_load_fails (no_weights, PEFTQ_ERROR_NOT_FOUND, "model.safetensors");

  peftq_test_remove_dir (empty);
  peftq_test_remove_dir (missing_tensor);
  peftq_test_remove_dir (wrong_shape);
  peftq_test_remove_dir (bert);
  peftq_test_remove_dir (classifier);
  peftq_test_remove_dir (bad_heads);
  peftq_test_remove_dir (no_weights);
}

/* Splits stories260K into two shards with an index, with the weights rounded to @dtype
 * (and stored as F32 again with @back_to_f32), and optionally with the index naming a
 * third shard that does not exist. */
static char *
write_sharded (const char *model_dir,
               PeftqDType  dtype,
               gboolean    back_to_f32,
               gboolean    missing_shard)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *config_src = g_build_filename (model_dir, "config.json", NULL);
  g_autofree char *config_dst = g_build_filename (dir, "config.json", NULL);
  g_autofree char *weights_path = g_build_filename (model_dir, "model.safetensors", NULL);
  g_autofree char *index_path = g_build_filename (dir, "model.safetensors.index.json", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(PeftqSafetensorsWriter) first = peftq_safetensors_writer_new ();
  g_autoptr(PeftqSafetensorsWriter) second = peftq_safetensors_writer_new ();
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (config_src, &contents, &length, &error));
  g_assert_true (g_file_set_contents (config_dst, contents, (gssize) length, &error));

  file = peftq_safetensors_file_open (weights_path, &error);
  g_assert_no_error (error);
  names = peftq_safetensors_file_get_tensor_names (file);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "weight_map");
  json_builder_begin_object (builder);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(PeftqTensor) tensor = peftq_safetensors_file_get_tensor (file, names[i], &error);
      g_autoptr(PeftqTensor) rounded = peftq_tensor_convert (tensor, dtype, &error);
      g_autoptr(PeftqTensor) converted = back_to_f32 ? peftq_tensor_to_float32 (rounded, &error) : g_object_ref (rounded);
      gboolean in_first = i % 2 == 0;
      const char *shard = in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";

      g_assert_no_error (error);
      g_assert_true (peftq_safetensors_writer_add_tensor (in_first ? first : second, names[i], converted, &error));
      json_builder_set_member_name (builder, names[i]);
      json_builder_add_string_value (builder, missing_shard && i == 3 ? "model-00003-of-00002.safetensors" : shard);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  g_assert_true (json_generator_to_file (generator, index_path, &error));

  {
    g_autofree char *first_path = g_build_filename (dir, "model-00001-of-00002.safetensors", NULL);
    g_autofree char *second_path = g_build_filename (dir, "model-00002-of-00002.safetensors", NULL);

    g_assert_true (peftq_safetensors_writer_write (first, first_path, &error));
    g_assert_true (peftq_safetensors_writer_write (second, second_path, &error));
  }

  return g_steal_pointer (&dir);
}

static PeftqTensor *
load_and_run (const char  *dir,
              PeftqTensor *input_ids,
              PeftqDType   expected_dtype)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqCausalLM) model = peftq_causal_lm_load (dir, &error);
  PeftqModule *norm;
  PeftqTensor *logits;

  g_assert_no_error (error);
  norm = peftq_module_find_module (PEFTQ_MODULE (model), "model.norm");
  g_assert_cmpint (peftq_tensor_get_dtype (peftq_module_get_parameter (norm, "weight")), ==, expected_dtype);
  logits = peftq_causal_lm_forward_ids (model, NULL, input_ids, &error);
  g_assert_no_error (error);
  return logits;
}

static void
test_sharded_and_16_bit (void)
{
  Stories stories = { 0 };
  g_autofree char *sharded = NULL;
  g_autofree char *broken = NULL;
  g_autoptr(PeftqTensor) logits = NULL;
  PeftqDType dtypes[] = { PEFTQ_DTYPE_F16, PEFTQ_DTYPE_BF16 };

  if (!stories_load (&stories))
    return;

  sharded = write_sharded (stories.model_dir, PEFTQ_DTYPE_F32, FALSE, FALSE);
  logits = load_and_run (sharded, stories.input_ids, PEFTQ_DTYPE_F32);
  g_assert_cmpfloat (max_abs_difference (logits, stories.reference), <, 1e-4);
  peftq_test_remove_dir (sharded);

  /* 16-bit weights give the logits of the same rounded weights stored as F32. */
  for (guint c = 0; c < G_N_ELEMENTS (dtypes); c++)
    {
      g_autofree char *half = write_sharded (stories.model_dir, dtypes[c], FALSE, FALSE);
      g_autofree char *rounded = write_sharded (stories.model_dir, dtypes[c], TRUE, FALSE);
      g_autoptr(PeftqTensor) half_logits = load_and_run (half, stories.input_ids, dtypes[c]);
      g_autoptr(PeftqTensor) rounded_logits = load_and_run (rounded, stories.input_ids, PEFTQ_DTYPE_F32);

      g_assert_cmpfloat (max_abs_difference (half_logits, rounded_logits), <, 1e-6);
      g_assert_cmpfloat (max_abs_difference (half_logits, stories.reference), >, 0.0);
      peftq_test_remove_dir (half);
      peftq_test_remove_dir (rounded);
    }

  broken = write_sharded (stories.model_dir, PEFTQ_DTYPE_F32, FALSE, TRUE);
  assert_load_fails (broken, PEFTQ_ERROR_NOT_FOUND, "model-00003-of-00002.safetensors");
  peftq_test_remove_dir (broken);

  stories_clear (&stories);
}

/* Two sequences, the second padded at the end: the mask changes nothing for the real
 * tokens, and a batch gives the same logits as each sequence alone. */
static void
test_batch_and_mask (void)
{
  g_autofree char *model_dir = peftq_test_get_data_path ("stories260K");
  const gint64 ids[] = { 1, 461, 401, 378, 1, 300, 0, 0 };
  const gint64 mask_values[] = { 1, 1, 1, 1, 1, 1, 0, 0 };
  g_autoptr(PeftqCausalLM) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) id_bytes = g_bytes_new (ids, sizeof ids);
  g_autoptr(GBytes) mask_bytes = g_bytes_new (mask_values, sizeof mask_values);
  g_autoptr(GBytes) first_bytes = g_bytes_new (ids, 4 * sizeof (gint64));
  g_autoptr(PeftqTensor) batch = NULL;
  g_autoptr(PeftqTensor) mask = NULL;
  g_autoptr(PeftqTensor) first = NULL;
  g_autoptr(PeftqTensor) batch_logits = NULL;
  g_autoptr(PeftqTensor) first_logits = NULL;
  g_autoptr(PeftqForwardContext) context = peftq_forward_context_new ();
  const float *batch_values;
  const float *first_values;

  if (model_dir == NULL)
    return;

  model = peftq_causal_lm_load (model_dir, &error);
  g_assert_no_error (error);
  batch = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, (gint64[]) { 2, 4 }, 2, id_bytes, &error);
  mask = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, (gint64[]) { 2, 4 }, 2, mask_bytes, &error);
  first = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, (gint64[]) { 1, 4 }, 2, first_bytes, &error);
  g_assert_no_error (error);

  peftq_forward_context_set_attention_mask (context, mask);
  batch_logits = peftq_causal_lm_forward_ids (model, context, batch, &error);
  g_assert_no_error (error);
  first_logits = peftq_causal_lm_forward_ids (model, NULL, first, &error);
  g_assert_no_error (error);

  batch_values = peftq_tensor_peek_data (batch_logits);
  first_values = peftq_tensor_peek_data (first_logits);
  for (guint i = 0; i < 4 * 512; i++)
    g_assert_cmpfloat_with_epsilon (batch_values[i], first_values[i], 1e-5);
  for (guint i = 4 * 512; i < 8 * 512; i++)
    g_assert_true (isfinite (batch_values[i]));
}

static void
test_token_ids_files (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *good = g_build_filename (dir, "good.json", NULL);
  g_autofree char *flat = g_build_filename (dir, "flat.json", NULL);
  g_autofree char *ragged = g_build_filename (dir, "ragged.json", NULL);
  g_autofree char *text = g_build_filename (dir, "text.json", NULL);
  g_autofree char *object = g_build_filename (dir, "object.json", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty.json", NULL);
  g_autofree char *i32 = g_build_filename (dir, "ids.safetensors", NULL);
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  g_autoptr(PeftqTensor) tensor = NULL;
  g_autoptr(PeftqTensor) ids32 = NULL;
  g_autoptr(GError) error = NULL;
  const gint32 values32[] = { 5, 6, 7, 8, 9, 10 };
  g_autoptr(GBytes) bytes32 = g_bytes_new (values32, sizeof values32);
  const gint64 *values;

  g_assert_true (g_file_set_contents (good, " [[1, 2, 3], [4, 5, 6]]", -1, &error));
  g_assert_true (g_file_set_contents (flat, "[7, 8]", -1, &error));
  g_assert_true (g_file_set_contents (ragged, "[[1, 2], [3]]", -1, &error));
  g_assert_true (g_file_set_contents (text, "[[1, \"two\"]]", -1, &error));
  g_assert_true (g_file_set_contents (object, "\n {\"a\": 1}", -1, &error));
  g_assert_true (g_file_set_contents (empty, "[]", -1, &error));

  tensor = peftq_load_token_ids (good, &error);
  g_assert_no_error (error);
  g_assert_cmpint (peftq_tensor_get_dtype (tensor), ==, PEFTQ_DTYPE_I64);
  g_assert_cmpint (peftq_tensor_get_dim (tensor, 0), ==, 2);
  g_assert_cmpint (peftq_tensor_get_dim (tensor, 1), ==, 3);
  values = peftq_tensor_peek_data (tensor);
  g_assert_cmpint (values[5], ==, 6);
  g_clear_object (&tensor);

  tensor = peftq_load_token_ids (flat, &error);
  g_assert_no_error (error);
  g_assert_cmpint (peftq_tensor_get_dim (tensor, 0), ==, 1);
  g_assert_cmpint (peftq_tensor_get_dim (tensor, 1), ==, 2);
  g_clear_object (&tensor);

  tensor = peftq_load_token_ids (ragged, &error);
  g_assert_null (tensor);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "sequence 1"));
  g_clear_error (&error);

  tensor = peftq_load_token_ids (text, &error);
  g_assert_null (tensor);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "[0][1]"));
  g_clear_error (&error);

  /* A JSON object is reported as JSON of the wrong shape, not as a bad safetensors file. */
  tensor = peftq_load_token_ids (object, &error);
  g_assert_null (tensor);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                                    "must be a JSON list of lists of token ids");
  g_assert_nonnull (strstr (error->message, object));
  g_clear_error (&error);

  tensor = peftq_load_token_ids (empty, &error);
  g_assert_null (tensor);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                                    "must be a JSON list of lists of token ids");
  g_clear_error (&error);

  /* I32 input_ids in safetensors become I64. */
  ids32 = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I32, (gint64[]) { 2, 3 }, 2, bytes32, &error);
  g_assert_true (peftq_safetensors_writer_add_tensor (writer, "input_ids", ids32, &error));
  g_assert_true (peftq_safetensors_writer_write (writer, i32, &error));
  tensor = peftq_load_token_ids (i32, &error);
  g_assert_no_error (error);
  g_assert_cmpint (peftq_tensor_get_dtype (tensor), ==, PEFTQ_DTYPE_I64);
  values = peftq_tensor_peek_data (tensor);
  g_assert_cmpint (values[0], ==, 5);
  g_assert_cmpint (values[5], ==, 10);
  g_clear_object (&tensor);

  /* A header length of 123 makes the file start with '{', yet it is safetensors. */
  {
    g_autofree char *brace = g_build_filename (dir, "brace.safetensors", NULL);
    g_autoptr(GString) header = g_string_new ("{\"input_ids\":{\"dtype\":\"I64\",\"shape\":[1,2],"
                                              "\"data_offsets\":[0,16]}}");
    g_autoptr(GBytes) contents = NULL;

    while (header->len < '{')
      g_string_append_c (header, ' ');
    contents = peftq_test_build_safetensors (header->str, 16);
    g_assert_cmpint (((const char *) g_bytes_get_data (contents, NULL))[0], ==, '{');
    g_assert_true (g_file_set_contents (brace, g_bytes_get_data (contents, NULL),
                                        (gssize) g_bytes_get_size (contents), &error));
    tensor = peftq_load_token_ids (brace, &error);
    g_assert_no_error (error);
    g_assert_cmpint (peftq_tensor_get_dim (tensor, 0), ==, 1);
    g_assert_cmpint (peftq_tensor_get_dim (tensor, 1), ==, 2);
    g_clear_object (&tensor);
  }

  tensor = peftq_load_token_ids ("/nonexistent/ids.json", &error);
  g_assert_null (tensor);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);

  peftq_test_remove_dir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/causal-lm/stories-logits", test_stories_logits);
  g_test_add_func ("/causal-lm/stories-greedy", test_stories_greedy);
  g_test_add_func ("/causal-lm/stories-module-names", test_stories_module_names);
  g_test_add_func ("/causal-lm/invalid-folders", test_invalid_folders);
  g_test_add_func ("/causal-lm/sharded-and-16-bit", test_sharded_and_16_bit);
  g_test_add_func ("/causal-lm/batch-and-mask", test_batch_and_mask);
  g_test_add_func ("/causal-lm/token-ids-files", test_token_ids_files);

  return g_test_run ();
}
