/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gstdio.h>
#include <peftq.h>
#include <string.h>

#include "test-util.h"

/* A two-layer base with square 8 x 8 projections, built from shapes. */
static const char base_shapes[] =
  "{\"model.layers.0.q_proj.weight\": [8, 8], \"model.layers.0.v_proj.weight\": [8, 8],"
  " \"model.layers.1.q_proj.weight\": [8, 8], \"model.layers.1.v_proj.weight\": [8, 8],"
  " \"model.embed_tokens.weight\": [16, 8]}";

static const char valid_config[] =
  "{\"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", \"v_proj\"], \"peft_type\": \"LORA\"}";

typedef struct
{
  char *dir;
  PeftqShapeModel *base;
  PeftqPeftModel *model;
  char **names_before;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = peftq_test_make_temp_dir ();
  fixture->base = peftq_shape_model_new_from_shapes (base_shapes, -1, "llama", &error);
  g_assert_no_error (error);
  fixture->model = peftq_peft_model_new (PEFTQ_MODULE (fixture->base));
  fixture->names_before = peftq_module_list_module_names (PEFTQ_MODULE (fixture->model));
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_strfreev (fixture->names_before);
  g_clear_object (&fixture->base);
  g_assert_finalize_object (fixture->model);
  peftq_test_remove_dir (fixture->dir);
  g_free (fixture->dir);
}

static PeftqTensor *
filled_tensor (gint64 rows,
               gint64 cols,
               float  start)
{
  gint64 shape[2] = { rows, cols };
  g_autofree float *values = g_new (float, rows * cols);
  g_autoptr(GError) error = NULL;
  PeftqTensor *tensor;

  for (gint64 i = 0; i < rows * cols; i++)
    values[i] = start + 0.01f * (float) i;
  tensor = peftq_tensor_new_from_floats (values, rows * cols, shape, 2, &error);
  g_assert_no_error (error);
  return tensor;
}

/* Writes an adapter folder; each key is followed by the rows and columns of its tensor. */
static char *
write_adapter (Fixture    *fixture,
               const char *name,
               const char *config,
               ...)
{
  g_autofree char *folder = g_build_filename (fixture->dir, name, NULL);
  g_autofree char *config_path = g_build_filename (folder, "adapter_config.json", NULL);
  g_autofree char *weights_path = g_build_filename (folder, "adapter_model.safetensors", NULL);
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  g_autoptr(GError) error = NULL;
  const char *key;
  va_list args;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_true (g_file_set_contents (config_path, config, -1, &error));

  va_start (args, config);
  while ((key = va_arg (args, const char *)) != NULL)
    {
      gint64 rows = va_arg (args, gint64);
      gint64 cols = va_arg (args, gint64);
      g_autoptr(PeftqTensor) tensor = filled_tensor (rows, cols, 0.5f);

      g_assert_true (peftq_safetensors_writer_add_tensor (writer, key, tensor, &error));
    }
  va_end (args);

  g_assert_true (peftq_safetensors_writer_write (writer, weights_path, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&folder);
}

#define PAIR(layer, r) \
  "base_model.model.model.layers." layer ".lora_A.weight", (gint64) (r), (gint64) 8, \
  "base_model.model.model.layers." layer ".lora_B.weight", (gint64) 8, (gint64) (r)

#define ALL_PAIRS(r) PAIR ("0.q_proj", r), PAIR ("0.v_proj", r), PAIR ("1.q_proj", r), PAIR ("1.v_proj", r)

static void
assert_unchanged (Fixture *fixture)
{
  g_auto(GStrv) names = peftq_module_list_module_names (PEFTQ_MODULE (fixture->model));

  g_assert_cmpstrv (names, fixture->names_before);
  g_assert_cmpuint (peftq_peft_model_get_n_adapters (fixture->model), ==, 0);
}

static void
expect_load_error (Fixture    *fixture,
                   const char *folder,
                   int         code,
                   const char *needle)
{
  g_autoptr(GError) error = NULL;
  PeftqAdapter *adapter = peftq_peft_model_load_adapter (fixture->model, folder, NULL, &error);

  g_assert_null (adapter);
  g_assert_error (error, PEFTQ_ERROR, code);
  g_test_message ("%s", error->message);
  if (strstr (error->message, needle) == NULL)
    g_error ("message “%s” does not contain “%s”", error->message, needle);
  assert_unchanged (fixture);
}

static void
test_valid_adapter (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *folder = write_adapter (fixture, "valid", valid_config, ALL_PAIRS (4), NULL);
  g_autoptr(GError) error = NULL;
  PeftqAdapter *adapter;

  g_test_summary ("The fixture's valid adapter loads, so the invalid cases fail for their own reason");
  adapter = peftq_peft_model_load_adapter (fixture->model, folder, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (peftq_adapter_get_name (adapter), ==, "default");
  g_assert_cmpuint (peftq_adapter_get_n_layers (adapter), ==, 4);
  g_assert_cmpfloat (peftq_adapter_get_scaling (adapter, "base_model.model.model.layers.1.v_proj"), ==, 2.0);
}

static void
test_dora_rejected_before_weights (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autofree char *folder = g_build_filename (fixture->dir, "dora", NULL);
  g_autofree char *config_path = g_build_filename (folder, "adapter_config.json", NULL);
  g_autofree char *weights_path = g_build_filename (folder, "adapter_model.safetensors", NULL);

  g_test_summary ("use_dora is rejected from the config, before the weights are opened");
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_true (g_file_set_contents (config_path,
                                      "{\"r\": 4, \"target_modules\": [\"q_proj\"], \"use_dora\": true}",
                                      -1, NULL));
  /* Not a safetensors file: opening it would give another error. */
  g_assert_true (g_file_set_contents (weights_path, "garbage", -1, NULL));
  expect_load_error (fixture, folder, PEFTQ_ERROR_UNSUPPORTED, "use_dora");
}

static void
test_wrong_prefix (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *folder = write_adapter (fixture, "prefix", valid_config,
                                           "model.layers.0.q_proj.lora_A.weight", (gint64) 4, (gint64) 8,
                                           "model.layers.0.q_proj.lora_B.weight", (gint64) 8, (gint64) 4,
                                           NULL);

  g_test_summary ("Keys without base_model.model. match nothing and name the nearest module");
  expect_load_error (fixture, folder, PEFTQ_ERROR_NOT_FOUND, "model.layers.0.q_proj.lora_A.weight");
  expect_load_error (fixture, folder, PEFTQ_ERROR_NOT_FOUND,
                     "nearest module: base_model.model.model.layers.0.q_proj");
  expect_load_error (fixture, folder, PEFTQ_ERROR_NOT_FOUND, "have no weights");
}

static void
test_unknown_module (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *folder = write_adapter (fixture, "unknown", valid_config, ALL_PAIRS (4),
                                           PAIR ("7.q_proj", 4), NULL);

  g_test_summary ("A LoRA pair for a module the model lacks is reported");
  expect_load_error (fixture, folder, PEFTQ_ERROR_NOT_FOUND, "layers.7.q_proj");
}

static void
test_rank_pattern_disagrees (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autofree char *folder = write_adapter (fixture, "rank",
                                           "{\"r\": 4, \"target_modules\": [\"q_proj\", \"v_proj\"],"
                                           " \"rank_pattern\": {\"q_proj\": 2}}",
                                           ALL_PAIRS (4), NULL);

  g_test_summary ("A rank that disagrees with rank_pattern is rejected");
  expect_load_error (fixture, folder, PEFTQ_ERROR_SHAPE_MISMATCH, "config gives rank 2");
}

static void
test_rank_pattern_agrees (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *folder = write_adapter (fixture, "rank-ok",
                                           "{\"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", \"v_proj\"],"
                                           " \"rank_pattern\": {\"q_proj\": 2}}",
                                           PAIR ("0.q_proj", 2), PAIR ("0.v_proj", 4),
                                           PAIR ("1.q_proj", 2), PAIR ("1.v_proj", 4), NULL);
  g_autoptr(GError) error = NULL;
  PeftqAdapter *adapter;

  g_test_summary ("Ranks from rank_pattern load with their own scaling");
  adapter = peftq_peft_model_load_adapter (fixture->model, folder, "mixed", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_adapter_get_rank (adapter, "base_model.model.model.layers.0.q_proj"), ==, 2);
  g_assert_cmpfloat (peftq_adapter_get_scaling (adapter, "base_model.model.model.layers.0.q_proj"), ==, 4.0);
  g_assert_cmpuint (peftq_adapter_get_rank (adapter, "base_model.model.model.layers.0.v_proj"), ==, 4);
  g_assert_cmpfloat (peftq_adapter_get_scaling (adapter, "base_model.model.model.layers.0.v_proj"), ==, 2.0);
}

static void
test_lora_a_without_b (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *folder = write_adapter (fixture, "half", valid_config,
                                           PAIR ("0.q_proj", 4), PAIR ("0.v_proj", 4), PAIR ("1.q_proj", 4),
                                           "base_model.model.model.layers.1.v_proj.lora_A.weight",
                                           (gint64) 4, (gint64) 8, NULL);

  g_test_summary ("A lora_A without its lora_B is rejected by name");
  expect_load_error (fixture, folder, PEFTQ_ERROR_NOT_FOUND,
                     "has no matching “base_model.model.model.layers.1.v_proj.lora_B.weight”");
}

static void
test_shape_mismatch (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *folder = write_adapter (fixture, "shape", valid_config,
                                           PAIR ("0.q_proj", 4), PAIR ("0.v_proj", 4), PAIR ("1.q_proj", 4),
                                           "base_model.model.model.layers.1.v_proj.lora_A.weight", (gint64) 4, (gint64) 16,
                                           "base_model.model.model.layers.1.v_proj.lora_B.weight", (gint64) 8, (gint64) 4,
                                           NULL);

  g_test_summary ("LoRA weights that do not fit the base layer are rejected");
  expect_load_error (fixture, folder, PEFTQ_ERROR_SHAPE_MISMATCH, "do not fit the base layer");
  expect_load_error (fixture, folder, PEFTQ_ERROR_SHAPE_MISMATCH, "[4, 16]");
}

static void
test_git_lfs_pointer (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *folder = g_build_filename (fixture->dir, "lfs", NULL);
  g_autofree char *config_path = g_build_filename (folder, "adapter_config.json", NULL);
  g_autofree char *weights_path = g_build_filename (folder, "adapter_model.safetensors", NULL);

  g_test_summary ("A Git LFS pointer in place of the weights is named as such");
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_true (g_file_set_contents (config_path, valid_config, -1, NULL));
  g_assert_true (g_file_set_contents (weights_path,
                                      "version https://git-lfs.github.com/spec/v1\n"
                                      "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
                                      "size 12345\n", -1, NULL));
  expect_load_error (fixture, folder, PEFTQ_ERROR_INVALID_DATA, "Git LFS");
}

static void
test_other_peft_kinds (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *magnitude = write_adapter (fixture, "magnitude", valid_config, ALL_PAIRS (4),
                                              "base_model.model.model.layers.0.q_proj.lora_magnitude_vector",
                                              (gint64) 1, (gint64) 8, NULL);
  g_autofree char *embedding = write_adapter (fixture, "embedding", valid_config, ALL_PAIRS (4),
                                              "base_model.model.model.embed_tokens.lora_embedding_A",
                                              (gint64) 4, (gint64) 16, NULL);
  g_autofree char *indexed = write_adapter (fixture, "indexed", valid_config, ALL_PAIRS (4),
                                            "base_model.model.model.layers.0.q_proj.lora_A.0.weight",
                                            (gint64) 4, (gint64) 8, NULL);
  g_autofree char *stray = write_adapter (fixture, "stray", valid_config, ALL_PAIRS (4),
                                          "base_model.model.model.layers.0.q_proj.weight",
                                          (gint64) 8, (gint64) 8, NULL);

  g_test_summary ("Other PEFT tensor kinds and stray tensors are reported by name");
  expect_load_error (fixture, magnitude, PEFTQ_ERROR_UNSUPPORTED, "lora_magnitude_vector");
  expect_load_error (fixture, embedding, PEFTQ_ERROR_UNSUPPORTED, "lora_embedding_A");
  expect_load_error (fixture, indexed, PEFTQ_ERROR_INVALID_DATA, "peftq_load_lora_weights");
  expect_load_error (fixture, stray, PEFTQ_ERROR_INVALID_DATA, "modules_to_save");
}

static void
test_missing_files (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *folder = g_build_filename (fixture->dir, "bin", NULL);
  g_autofree char *config_path = g_build_filename (folder, "adapter_config.json", NULL);
  g_autofree char *bin_path = g_build_filename (folder, "adapter_model.bin", NULL);
  g_autofree char *empty = g_build_filename (fixture->dir, "empty", NULL);

  g_test_summary ("Missing configs and pickled weights are reported");
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (empty, 0700), ==, 0);
  g_assert_true (g_file_set_contents (config_path, valid_config, -1, NULL));
  g_assert_true (g_file_set_contents (bin_path, "PK", -1, NULL));
  expect_load_error (fixture, folder, PEFTQ_ERROR_UNSUPPORTED, "adapter_model.bin");
  expect_load_error (fixture, empty, PEFTQ_ERROR_NOT_FOUND, "adapter_config.json");
}

static void
test_second_adapter_and_atomicity (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autofree char *first = write_adapter (fixture, "first", valid_config, ALL_PAIRS (4), NULL);
  g_autofree char *broken = write_adapter (fixture, "broken", valid_config,
                                           PAIR ("0.q_proj", 4), PAIR ("0.v_proj", 4), NULL);
  g_auto(GStrv) names_after_first = NULL;
  g_auto(GStrv) names_after_failure = NULL;
  g_autoptr(GError) error = NULL;
  PeftqAdapter *adapter;
  PeftqAdapter *second;

  g_test_summary ("A failed second load leaves the first adapter and the tree as they were");
  adapter = peftq_peft_model_load_adapter (fixture->model, first, "first", &error);
  g_assert_no_error (error);
  names_after_first = peftq_module_list_module_names (PEFTQ_MODULE (fixture->model));

  g_assert_null (peftq_peft_model_load_adapter (fixture->model, broken, "second", &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);
  g_clear_error (&error);
  names_after_failure = peftq_module_list_module_names (PEFTQ_MODULE (fixture->model));
  g_assert_cmpstrv (names_after_failure, names_after_first);
  g_assert_cmpuint (peftq_peft_model_get_n_adapters (fixture->model), ==, 1);

  g_assert_null (peftq_peft_model_load_adapter (fixture->model, first, "first", &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (peftq_peft_model_load_adapter (fixture->model, first, "has.dot", &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  second = peftq_peft_model_load_adapter (fixture->model, first, "second", &error);
  g_assert_no_error (error);
  g_assert_true (peftq_adapter_get_active (adapter));
  g_assert_false (peftq_adapter_get_active (second));
  g_assert_nonnull (peftq_module_find_module (PEFTQ_MODULE (fixture->model),
                                              "base_model.model.model.layers.1.v_proj.lora_B.second"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/peftq/invalid-adapters/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("valid", test_valid_adapter);
  ADD ("dora-before-weights", test_dora_rejected_before_weights);
  ADD ("wrong-prefix", test_wrong_prefix);
  ADD ("unknown-module", test_unknown_module);
  ADD ("rank-pattern-disagrees", test_rank_pattern_disagrees);
  ADD ("rank-pattern-agrees", test_rank_pattern_agrees);
  ADD ("lora-a-without-b", test_lora_a_without_b);
  ADD ("shape-mismatch", test_shape_mismatch);
  ADD ("git-lfs-pointer", test_git_lfs_pointer);
  ADD ("other-peft-kinds", test_other_peft_kinds);
  ADD ("missing-files", test_missing_files);
  ADD ("second-adapter-atomicity", test_second_adapter_and_atomicity);

  return g_test_run ();
}
