/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <math.h>
#include <peftq.h>

#include "test-util.h"

static PeftqLoraConfig *
parse (const char *json)
{
  g_autoptr(GError) error = NULL;
  PeftqLoraConfig *config = peftq_lora_config_new_from_data (json, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

static void
expect_rejected (const char *json,
                 int         code,
                 const char *field)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqLoraConfig) config = peftq_lora_config_new_from_data (json, -1, &error);

  g_assert_null (config);
  g_assert_error (error, PEFTQ_ERROR, code);
  if (strstr (error->message, field) == NULL)
    g_error ("message “%s” does not name “%s”", error->message, field);
}

static void
test_stories_file (void)
{
  g_autofree char *path = peftq_test_get_data_path ("stories260K-adapters/qv_r4/adapter_config.json");
  g_autoptr(PeftqLoraConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  const char *const *targets;
  gsize n_layers = 99;

  g_test_summary ("The qv_r4 config reads with the values of its file");
  if (path == NULL)
    return;

  config = peftq_lora_config_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_lora_config_get_r (config), ==, 4);
  g_assert_cmpfloat (peftq_lora_config_get_lora_alpha (config), ==, 8.0);
  g_assert_false (peftq_lora_config_get_use_rslora (config));
  g_assert_false (peftq_lora_config_get_fan_in_fan_out (config));
  g_assert_cmpstr (peftq_lora_config_get_bias (config), ==, "none");
  g_assert_cmpstr (peftq_lora_config_get_task_type (config), ==, "CAUSAL_LM");
  g_assert_cmpstr (peftq_lora_config_get_base_model_name_or_path (config), ==, "stories260K");
  g_assert_null (peftq_lora_config_get_modules_to_save (config));
  g_assert_null (peftq_lora_config_get_layers_to_transform (config, &n_layers));
  g_assert_cmpuint (n_layers, ==, 0);
  targets = peftq_lora_config_get_target_modules (config);
  g_assert_nonnull (targets);
  g_assert_cmpstr (targets[0], ==, "q_proj");
  g_assert_cmpstr (targets[1], ==, "v_proj");
  g_assert_null (targets[2]);
  g_assert_cmpfloat_with_epsilon (peftq_lora_config_get_scaling (config, "model.layers.0.self_attn.q_proj"),
                                  2.0, 1e-12);
  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
test_rslora_file (void)
{
  g_autofree char *path = peftq_test_get_data_path ("stories260K-adapters/rslora_r16/adapter_config.json");
  g_autoptr(PeftqLoraConfig) config = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("rsLoRA scaling is alpha / sqrt(r)");
  if (path == NULL)
    return;

  config = peftq_lora_config_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (peftq_lora_config_get_use_rslora (config));
  g_assert_cmpfloat_with_epsilon (peftq_lora_config_get_scaling (config, "model.layers.1.self_attn.o_proj"),
                                  4.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (peftq_lora_compute_scaling (16, 16, FALSE), 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (peftq_lora_compute_scaling (8, 2, TRUE), 8 / sqrt (2), 1e-12);
  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
test_newer_peft_keys_ignored (void)
{
  g_autofree char *path = peftq_test_get_data_path ("adapters/distilbert-emotion-seqcls/adapter_config.json");
  g_autoptr(PeftqLoraConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  const char *const *save;

  g_test_summary ("A PEFT 0.20 config with many unknown keys reads");
  if (path == NULL)
    return;

  config = peftq_lora_config_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (peftq_lora_config_get_lora_dropout (config), ==, 0.1);
  save = peftq_lora_config_get_modules_to_save (config);
  g_assert_cmpuint (g_strv_length ((char **) save), ==, 4);
  g_assert_true (peftq_lora_config_is_module_to_save (config, "classifier"));
  g_assert_true (peftq_lora_config_is_module_to_save (config, "pre_classifier"));
  g_assert_false (peftq_lora_config_is_module_to_save (config, "distilbert.embeddings"));
  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
test_list_matching (void)
{
  g_autoptr(PeftqLoraConfig) config = NULL;

  g_test_summary ("List targets match the full name or a suffix at a dot boundary");
  config = parse ("{\"r\": 4, \"target_modules\": [\"c_proj\", \"linear\"]}");

  g_assert_true (peftq_lora_config_is_target (config, "linear"));
  g_assert_true (peftq_lora_config_is_target (config, "transformer.h.0.attn.c_proj"));
  g_assert_true (peftq_lora_config_is_target (config, "transformer.h.0.mlp.c_proj"));
  g_assert_false (peftq_lora_config_is_target (config, "transformer.h.0.mlp.xc_proj"));
  g_assert_false (peftq_lora_config_is_target (config, "transformer.h.0.c_proj.base_layer"));
  g_assert_false (peftq_lora_config_is_target (config, "c_proj_extra"));
  g_assert_false (peftq_lora_config_is_target (config, "alinear"));
  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
test_regex_matching (void)
{
  g_autoptr(PeftqLoraConfig) config = NULL;

  g_test_summary ("A string target must match the whole name as a regular expression");
  config = parse ("{\"r\": 4, \"target_modules\": \".*\\\\.(q|v)_proj\"}");

  g_assert_cmpstr (peftq_lora_config_get_target_modules_regex (config), ==, ".*\\.(q|v)_proj");
  g_assert_null (peftq_lora_config_get_target_modules (config));
  g_assert_true (peftq_lora_config_is_target (config, "model.layers.0.self_attn.q_proj"));
  g_assert_true (peftq_lora_config_is_target (config, "model.layers.3.self_attn.v_proj"));
  g_assert_false (peftq_lora_config_is_target (config, "model.layers.0.self_attn.k_proj"));
  /* A partial match is not enough. */
  g_assert_false (peftq_lora_config_is_target (config, "model.layers.0.self_attn.q_proj.base_layer"));
  g_assert_false (peftq_lora_config_is_target (config, "q_proj"));
  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
test_layers_to_transform (void)
{
  g_autoptr(PeftqLoraConfig) config = NULL;
  g_autoptr(PeftqLoraConfig) any_pattern = NULL;
  g_autoptr(PeftqLoraConfig) single = NULL;
  const gint *layers;
  gsize n_layers;

  g_test_summary ("layers_to_transform keeps only the listed layer indices");
  config = parse ("{\"r\": 4, \"target_modules\": [\"q_proj\"], \"layers_to_transform\": [0, 2],"
                  " \"layers_pattern\": \"layers\"}");
  layers = peftq_lora_config_get_layers_to_transform (config, &n_layers);
  g_assert_cmpuint (n_layers, ==, 2);
  g_assert_cmpint (layers[1], ==, 2);
  g_assert_true (peftq_lora_config_is_target (config, "model.layers.0.self_attn.q_proj"));
  g_assert_false (peftq_lora_config_is_target (config, "model.layers.1.self_attn.q_proj"));
  g_assert_true (peftq_lora_config_is_target (config, "model.layers.2.self_attn.q_proj"));
  g_assert_false (peftq_lora_config_is_target (config, "model.blocks.0.self_attn.q_proj"));
  /* A name equal to a list entry bypasses the filter in PEFT v0.11.1. */
  g_assert_true (peftq_lora_config_is_target (config, "q_proj"));

  any_pattern = parse ("{\"r\": 4, \"target_modules\": [\"c_attn\"], \"layers_to_transform\": [1]}");
  g_assert_true (peftq_lora_config_is_target (any_pattern, "transformer.h.1.attn.c_attn"));
  g_assert_false (peftq_lora_config_is_target (any_pattern, "transformer.h.0.attn.c_attn"));

  single = parse ("{\"r\": 4, \"target_modules\": [\"c_attn\"], \"layers_to_transform\": 0}");
  g_assert_true (peftq_lora_config_is_target (single, "transformer.h.0.attn.c_attn"));
  g_assert_false (peftq_lora_config_is_target (single, "transformer.h.10.attn.c_attn"));

  g_assert_finalize_object (g_steal_pointer (&config));
  g_assert_finalize_object (g_steal_pointer (&any_pattern));
  g_assert_finalize_object (g_steal_pointer (&single));
}

static void
test_exclude_modules (void)
{
  g_autoptr(PeftqLoraConfig) config = NULL;

  g_test_summary ("exclude_modules removes names from the targets");
  config = parse ("{\"r\": 4, \"target_modules\": [\"q_proj\"], \"exclude_modules\": [\"layers.1.self_attn.q_proj\"]}");
  g_assert_true (peftq_lora_config_is_target (config, "model.layers.0.self_attn.q_proj"));
  g_assert_false (peftq_lora_config_is_target (config, "model.layers.1.self_attn.q_proj"));
  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
test_rank_alpha_pattern (void)
{
  g_autoptr(PeftqLoraConfig) config = NULL;
  g_auto(GStrv) rank_keys = NULL;
  g_auto(GStrv) alpha_keys = NULL;
  guint rank;
  double alpha;

  g_test_summary ("rank_pattern and alpha_pattern select overrides in PEFT's order");
  config = parse ("{\"r\": 8, \"lora_alpha\": 16,"
                  " \"target_modules\": [\"q_proj\", \"v_proj\", \"o_proj\"],"
                  " \"rank_pattern\": {\"layers.0.self_attn.q_proj\": 2, \"v_proj\": 4},"
                  " \"alpha_pattern\": {\"q_proj\": 32, \"o_proj\": 6.5}}");

  rank_keys = peftq_lora_config_list_rank_pattern_keys (config);
  alpha_keys = peftq_lora_config_list_alpha_pattern_keys (config);
  g_assert_cmpuint (g_strv_length (rank_keys), ==, 2);
  g_assert_cmpstr (alpha_keys[0], ==, "q_proj");

  /* The rank key matches first, so the alpha key "q_proj" is not consulted. */
  peftq_lora_config_get_rank_and_alpha (config, "model.layers.0.self_attn.q_proj", &rank, &alpha);
  g_assert_cmpuint (rank, ==, 2);
  g_assert_cmpfloat (alpha, ==, 16);

  peftq_lora_config_get_rank_and_alpha (config, "model.layers.1.self_attn.q_proj", &rank, &alpha);
  g_assert_cmpuint (rank, ==, 8);
  g_assert_cmpfloat (alpha, ==, 32);

  peftq_lora_config_get_rank_and_alpha (config, "model.layers.1.self_attn.v_proj", &rank, &alpha);
  g_assert_cmpuint (rank, ==, 4);
  g_assert_cmpfloat (alpha, ==, 16);

  peftq_lora_config_get_rank_and_alpha (config, "model.layers.1.self_attn.o_proj", &rank, &alpha);
  g_assert_cmpuint (rank, ==, 8);
  g_assert_cmpfloat (alpha, ==, 6.5);
  g_assert_cmpfloat_with_epsilon (peftq_lora_config_get_scaling (config, "model.layers.1.self_attn.o_proj"),
                                  6.5 / 8, 1e-12);

  /* The pattern needs a dot before the key, so a root-level name keeps the defaults. */
  peftq_lora_config_get_rank_and_alpha (config, "v_proj", &rank, &alpha);
  g_assert_cmpuint (rank, ==, 8);

  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
test_unsupported_fields (void)
{
  g_test_summary ("Fields that change the forward pass are rejected by name");
  expect_rejected ("{\"r\": 4, \"target_modules\": [\"q\"], \"use_dora\": true}",
                   PEFTQ_ERROR_UNSUPPORTED, "use_dora");
  expect_rejected ("{\"r\": 4, \"target_modules\": [\"q\"], \"lora_bias\": true}",
                   PEFTQ_ERROR_UNSUPPORTED, "lora_bias");
  expect_rejected ("{\"r\": 4, \"target_modules\": [\"q\"], \"layer_replication\": [[0, 2]]}",
                   PEFTQ_ERROR_UNSUPPORTED, "layer_replication");
  expect_rejected ("{\"r\": 4, \"target_modules\": [\"q\"], \"bias\": \"all\"}",
                   PEFTQ_ERROR_UNSUPPORTED, "bias");
  expect_rejected ("{\"r\": 4, \"target_modules\": [\"q\"], \"bias\": \"lora_only\"}",
                   PEFTQ_ERROR_UNSUPPORTED, "lora_only");
  expect_rejected ("{\"r\": 4, \"target_modules\": [\"q\"], \"peft_type\": \"IA3\"}",
                   PEFTQ_ERROR_UNSUPPORTED, "peft_type");
  expect_rejected ("{\"r\": 4, \"target_modules\": [\"q\"], \"target_parameters\": [\"experts.w\"]}",
                   PEFTQ_ERROR_UNSUPPORTED, "target_parameters");
  expect_rejected ("{\"r\": 4, \"target_modules\": null}",
                   PEFTQ_ERROR_UNSUPPORTED, "target_modules");
}

static void
test_accepted_defaults (void)
{
  g_autoptr(PeftqLoraConfig) config = NULL;

  g_test_summary ("Empty or false values of the rejected fields are accepted");
  config = parse ("{\"target_modules\": [\"q\"], \"use_dora\": false, \"lora_bias\": false,"
                  " \"layer_replication\": null, \"bias\": \"none\", \"target_parameters\": [],"
                  " \"some_future_key\": {\"x\": [1, 2]}}");
  g_assert_cmpuint (peftq_lora_config_get_r (config), ==, 8);
  g_assert_cmpfloat (peftq_lora_config_get_lora_alpha (config), ==, 8);
  g_assert_false (peftq_lora_config_get_use_dora (config));
  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
test_invalid_values (void)
{
  g_test_summary ("Fields of the wrong type are named in the error");
  expect_rejected ("{\"r\": 0, \"target_modules\": [\"q\"]}", PEFTQ_ERROR_INVALID_DATA, "“r”");
  expect_rejected ("{\"r\": 2.5, \"target_modules\": [\"q\"]}", PEFTQ_ERROR_INVALID_DATA, "“r”");
  expect_rejected ("{\"r\": \"4\", \"target_modules\": [\"q\"]}", PEFTQ_ERROR_INVALID_DATA, "“r”");
  expect_rejected ("{\"lora_alpha\": [], \"target_modules\": [\"q\"]}", PEFTQ_ERROR_INVALID_DATA, "lora_alpha");
  expect_rejected ("{\"target_modules\": [\"q\", 3]}", PEFTQ_ERROR_INVALID_DATA, "target_modules");
  expect_rejected ("{\"target_modules\": \"(\"}", PEFTQ_ERROR_INVALID_DATA, "target_modules");
  expect_rejected ("{\"target_modules\": [\"q\"], \"rank_pattern\": {\"q\": 0}}",
                   PEFTQ_ERROR_INVALID_DATA, "rank_pattern");
  expect_rejected ("{\"target_modules\": [\"q\"], \"use_rslora\": \"yes\"}",
                   PEFTQ_ERROR_INVALID_DATA, "use_rslora");
  expect_rejected ("{\"target_modules\": [\"q\"], \"layers_to_transform\": [\"a\"]}",
                   PEFTQ_ERROR_INVALID_DATA, "layers_to_transform");
  expect_rejected ("[1, 2]", PEFTQ_ERROR_INVALID_DATA, "JSON object");
  expect_rejected ("{\"r\": ", PEFTQ_ERROR_INVALID_DATA, "invalid JSON");
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqLoraConfig) config = NULL;

  g_test_summary ("A missing config file is NOT_FOUND");
  config = peftq_lora_config_new_from_file ("/nonexistent/adapter_config.json", &error);
  g_assert_null (config);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);
}

static void
test_new_in_code (void)
{
  const char *targets[] = { "linear", NULL };
  g_autoptr(PeftqLoraConfig) config = peftq_lora_config_new (4, 16, targets);

  g_test_summary ("A config made in code has PEFT's defaults");
  g_assert_cmpuint (peftq_lora_config_get_r (config), ==, 4);
  g_assert_cmpfloat (peftq_lora_config_get_scaling (config, "linear"), ==, 4.0);
  g_assert_true (peftq_lora_config_is_target (config, "linear"));
  g_assert_cmpstr (peftq_lora_config_get_bias (config), ==, "none");
  g_assert_finalize_object (g_steal_pointer (&config));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/lora-config/stories-file", test_stories_file);
  g_test_add_func ("/peftq/lora-config/rslora-file", test_rslora_file);
  g_test_add_func ("/peftq/lora-config/newer-peft-keys", test_newer_peft_keys_ignored);
  g_test_add_func ("/peftq/lora-config/list-matching", test_list_matching);
  g_test_add_func ("/peftq/lora-config/regex-matching", test_regex_matching);
  g_test_add_func ("/peftq/lora-config/layers-to-transform", test_layers_to_transform);
  g_test_add_func ("/peftq/lora-config/exclude-modules", test_exclude_modules);
  g_test_add_func ("/peftq/lora-config/rank-alpha-pattern", test_rank_alpha_pattern);
  g_test_add_func ("/peftq/lora-config/unsupported-fields", test_unsupported_fields);
  g_test_add_func ("/peftq/lora-config/accepted-defaults", test_accepted_defaults);
  g_test_add_func ("/peftq/lora-config/invalid-values", test_invalid_values);
  g_test_add_func ("/peftq/lora-config/missing-file", test_missing_file);
  g_test_add_func ("/peftq/lora-config/new-in-code", test_new_in_code);

  return g_test_run ();
}
