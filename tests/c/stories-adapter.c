/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <peftq.h>
#include <string.h>

#include "test-util.h"

typedef struct
{
  PeftqPeftModel *model;
  PeftqTensor *input_ids;
} Fixture;

static PeftqTensor *
read_tensor (const char *relative,
             const char *name)
{
  g_autofree char *path = peftq_test_get_data_path (relative);
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(GError) error = NULL;
  PeftqTensor *tensor;

  if (path == NULL)
    return NULL;
  file = peftq_safetensors_file_open (path, &error);
  g_assert_no_error (error);
  tensor = peftq_safetensors_file_get_tensor (file, name, &error);
  g_assert_no_error (error);
  return tensor;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *model_dir = peftq_test_get_data_path ("stories260K");
  g_autofree char *adapter_dir = peftq_test_get_data_path ("stories260K-adapters/qv_r4");
  g_autoptr(PeftqCausalLM) lm = NULL;
  g_autoptr(GError) error = NULL;

  memset (fixture, 0, sizeof *fixture);
  if (model_dir == NULL || adapter_dir == NULL)
    return;

  lm = peftq_causal_lm_load (model_dir, &error);
  g_assert_no_error (error);
  fixture->model = peftq_peft_model_new (PEFTQ_MODULE (lm));
  g_assert_nonnull (peftq_peft_model_load_adapter (fixture->model, adapter_dir, NULL, &error));
  g_assert_no_error (error);
  fixture->input_ids = read_tensor ("expected/eval_input_ids.safetensors", "input_ids");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->input_ids);
  if (fixture->model != NULL)
    g_assert_finalize_object (fixture->model);
}

static PeftqTensor *
run (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *logits = peftq_module_forward_one (PEFTQ_MODULE (fixture->model), NULL,
                                                  fixture->input_ids, &error);

  g_assert_no_error (error);
  return logits;
}

static float
max_abs_difference (PeftqTensor *a,
                    PeftqTensor *b)
{
  gsize n_a, n_b;
  g_autofree float *x = peftq_tensor_to_floats (a, &n_a);
  g_autofree float *y = peftq_tensor_to_floats (b, &n_b);
  float max = 0;

  g_assert_cmpuint (n_a, ==, n_b);
  for (gsize i = 0; i < n_a; i++)
    max = MAX (max, fabsf (x[i] - y[i]));
  return max;
}

static void
test_float_logits (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(PeftqTensor) expected = read_tensor ("expected/qv_r4/float_logits.safetensors", "logits");
  g_autoptr(PeftqTensor) expected_base = read_tensor ("expected/base/float_logits.safetensors", "logits");
  g_autoptr(PeftqTensor) before = NULL;
  g_autoptr(PeftqTensor) after = NULL;
  g_autoptr(PeftqTensor) inactive = NULL;
  g_autoptr(GError) error = NULL;
  const char *none[] = { NULL };
  const char *qv[] = { "default", NULL };
  guint n_replaced = 0;

  g_test_summary ("stories260K with qv_r4 matches the reference logits before and after replacement");
  if (fixture->model == NULL || expected == NULL || expected_base == NULL)
    return;

  before = run (fixture);
  g_test_message ("before replacement: max |difference| %g", max_abs_difference (before, expected));
  g_assert_cmpfloat (max_abs_difference (before, expected), <=, 1e-4f);
  /* The adapter moves the logits by up to about 3, so the check above can fail. */
  g_assert_cmpfloat (max_abs_difference (expected, expected_base), >, 0.5f);

  g_assert_true (peftq_peft_model_set_active_adapters (fixture->model, none, &error));
  inactive = run (fixture);
  g_assert_cmpfloat (max_abs_difference (inactive, expected_base), <=, 1e-4f);
  g_assert_true (peftq_peft_model_set_active_adapters (fixture->model, qv, &error));

  g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (fixture->model),
                                                                    &n_replaced, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_replaced, ==, 10);
  after = run (fixture);
  g_test_message ("after replacement: max |difference| %g", max_abs_difference (after, expected));
  g_assert_cmpfloat (max_abs_difference (after, expected), <=, 1e-4f);
  /* The scaling 2 is a power of two, so moving it before lora_B changes nothing. */
  g_assert_cmpfloat (max_abs_difference (after, before), <=, 1e-6f);
}

static void
test_placement_order (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *path = peftq_test_get_data_path ("expected/qv_r4/quantizer_placement.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  JsonArray *entries;
  gint last_index = -1;
  guint n_lora_modules = 0;

  g_test_summary ("The modules of the reference placement exist, in the same order");
  if (fixture->model == NULL || path == NULL)
    return;

  g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (fixture->model), NULL, &error));
  names = peftq_module_list_module_names (PEFTQ_MODULE (fixture->model));
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  entries = json_node_get_array (json_parser_get_root (parser));

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      const char *module = json_object_get_string_member (entry, "module");
      gint index = -1;

      for (guint j = 0; names[j] != NULL; j++)
        if (strcmp (names[j], module) == 0)
          index = (gint) j;
      if (index < 0)
        g_error ("module %s of the reference placement is missing", module);
      if (index < last_index)
        g_error ("module %s comes before the previous reference module", module);
      last_index = index;
      if (strstr (module, ".lora_") != NULL || g_str_has_suffix (module, ".mul_scale") ||
          g_str_has_suffix (module, ".add_lora_to_res"))
        n_lora_modules++;
    }
  /* lora_A.0 and lora_B.0 have weight and output entries; mul_scale and add one each. */
  g_assert_cmpuint (n_lora_modules, ==, 10 * 6);
}

static void
test_save_after_adaptation (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autofree char *expected_path = peftq_test_get_data_path ("expected/qv_r4/lora_weights_after_adaptation.safetensor");
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(PeftqSafetensorsFile) expected = NULL;
  g_autoptr(PeftqSafetensorsFile) actual = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) expected_keys = NULL;
  g_auto(GStrv) actual_keys = NULL;

  g_test_summary ("Saved LoRA weights match the reference keys and values");
  if (fixture->model == NULL || expected_path == NULL)
    return;

  dir = peftq_test_make_temp_dir ();
  path = g_build_filename (dir, "lora_weights_after_adaptation.safetensor", NULL);
  g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (fixture->model), NULL, &error));
  g_assert_true (peftq_save_lora_weights_after_adaptation (PEFTQ_MODULE (fixture->model), dir,
                                                           "lora_weights_after_adaptation", &error));
  g_assert_no_error (error);

  expected = peftq_safetensors_file_open (expected_path, &error);
  actual = peftq_safetensors_file_open (path, &error);
  g_assert_no_error (error);
  expected_keys = peftq_safetensors_file_get_tensor_names (expected);
  actual_keys = peftq_safetensors_file_get_tensor_names (actual);
  g_assert_cmpuint (g_strv_length (actual_keys), ==, g_strv_length (expected_keys));
  g_assert_cmpuint (g_strv_length (actual_keys), ==, 20);
  for (guint i = 0; expected_keys[i] != NULL; i++)
    {
      g_autoptr(PeftqTensor) a = NULL;
      g_autoptr(PeftqTensor) b = NULL;

      g_assert_true (peftq_safetensors_file_has_tensor (actual, expected_keys[i]));
      a = peftq_safetensors_file_get_tensor (actual, expected_keys[i], &error);
      b = peftq_safetensors_file_get_tensor (expected, expected_keys[i], &error);
      g_assert_no_error (error);
      g_assert_true (peftq_tensor_equal (a, b));
    }

  g_clear_object (&actual);
  peftq_test_remove_dir (dir);
}

static void
test_meta_data (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *expected_path = peftq_test_get_data_path ("expected/qv_r4/meta_data.json");
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GHashTable) meta = NULL;
  g_autoptr(JsonParser) expected = json_parser_new ();
  g_autoptr(JsonParser) actual = json_parser_new ();
  g_autoptr(GError) error = NULL;
  PeftqAdapterMetaData *entry;

  g_test_summary ("Tracked metadata equals the reference meta_data.json");
  if (fixture->model == NULL || expected_path == NULL)
    return;

  dir = peftq_test_make_temp_dir ();
  path = g_build_filename (dir, "meta_data.json", NULL);
  g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (fixture->model), NULL, &error));
  meta = peftq_track_lora_meta_data (PEFTQ_MODULE (fixture->model), dir, "meta_data", G_TYPE_NONE, &error);
  g_assert_no_error (error);
  entry = g_hash_table_lookup (meta, "default");
  g_assert_nonnull (entry);
  g_assert_cmpuint (g_strv_length ((char **) peftq_adapter_meta_data_get_lora_a (entry)), ==, 10);
  g_assert_cmpfloat (peftq_adapter_meta_data_get_alpha (entry), ==, 8);

  g_assert_true (json_parser_load_from_file (expected, expected_path, &error));
  g_assert_true (json_parser_load_from_file (actual, path, &error));
  g_assert_no_error (error);
  g_assert_true (json_node_equal (json_parser_get_root (expected), json_parser_get_root (actual)));

  peftq_test_remove_dir (dir);
}

static void
test_other_adapters (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *rslora = peftq_test_get_data_path ("stories260K-adapters/rslora_r16");
  g_autofree char *all_linear = peftq_test_get_data_path ("stories260K-adapters/all_linear_r8");
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) one = NULL;
  g_autoptr(PeftqTensor) two = NULL;
  PeftqAdapter *r16, *r8;
  const char *both[] = { "default", "rslora", NULL };

  g_test_summary ("Three adapters share the model and keep their own scalings");
  if (fixture->model == NULL || rslora == NULL || all_linear == NULL)
    return;

  r16 = peftq_peft_model_load_adapter (fixture->model, rslora, "rslora", &error);
  g_assert_no_error (error);
  r8 = peftq_peft_model_load_adapter (fixture->model, all_linear, "all_linear", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_adapter_get_n_layers (r16), ==, 20);
  g_assert_cmpuint (peftq_adapter_get_n_layers (r8), ==, 35);
  g_assert_cmpfloat (peftq_adapter_get_scaling (r16, "base_model.model.model.layers.0.self_attn.o_proj"), ==, 4.0);
  g_assert_cmpfloat (peftq_adapter_get_scaling (r8, "base_model.model.model.layers.4.mlp.down_proj"), ==, 2.0);
  g_assert_false (peftq_adapter_get_active (r16));

  one = run (fixture);
  g_assert_true (peftq_peft_model_set_active_adapters (fixture->model, both, &error));
  two = run (fixture);
  g_assert_cmpfloat (max_abs_difference (one, two), >, 0.1f);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/peftq/stories-adapter/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("float-logits", test_float_logits);
  ADD ("placement-order", test_placement_order);
  ADD ("save-after-adaptation", test_save_after_adaptation);
  ADD ("meta-data", test_meta_data);
  ADD ("other-adapters", test_other_adapters);

  return g_test_run ();
}
