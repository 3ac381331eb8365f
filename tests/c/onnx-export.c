/* SPDX-License-Identifier: MIT */
/* ONNX export by tracing: node and initializer names, quantizers, external data and
 * failures. The Python test test_onnx_export.py checks the files with onnx.checker and
 * ONNX Runtime. */
#include "config.h"

#include "peftq.h"
#include "peftq-onnx-export-private.h"
#include "test-util.h"

#include <glib/gstdio.h>

static PeftqTensor *
floats (const float  *values,
        gsize         n_values,
        const gint64 *shape,
        guint         rank)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *tensor = peftq_tensor_new_from_floats (values, n_values, shape, rank, &error);

  g_assert_no_error (error);
  return tensor;
}

/* A root with one Linear(10, 10) child named `linear`, the toy model of the LoRA flow. */
static PeftqModule *
build_toy (void)
{
  PeftqModule *root = peftq_sequential_new ();
  g_autoptr(PeftqModule) linear = peftq_linear_new (10, 10, TRUE);
  float weight[100];
  float bias[10];
  gint64 weight_shape[2] = { 10, 10 };
  gint64 bias_shape[1] = { 10 };
  g_autoptr(PeftqTensor) weight_tensor = NULL;
  g_autoptr(PeftqTensor) bias_tensor = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 100; i++)
    weight[i] = 0.01f * (float) ((i * 37) % 23) - 0.1f;
  for (guint i = 0; i < 10; i++)
    bias[i] = 0.05f * (float) i - 0.2f;
  weight_tensor = floats (weight, 100, weight_shape, 2);
  bias_tensor = floats (bias, 10, bias_shape, 1);
  g_assert_true (peftq_module_set_parameter (linear, "weight", weight_tensor, &error));
  g_assert_true (peftq_module_set_parameter (linear, "bias", bias_tensor, &error));
  g_assert_no_error (error);
  peftq_module_add_child (root, "linear", linear);
  return root;
}

static PeftqTensor *
toy_input (void)
{
  float values[20];
  gint64 shape[2] = { 2, 10 };

  for (guint i = 0; i < 20; i++)
    values[i] = 0.1f * (float) i - 1.0f;
  return floats (values, 20, shape, 2);
}

static void
test_toy_names (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "toy.onnx", NULL);
  g_autoptr(PeftqModule) root = build_toy ();
  g_autoptr(PeftqTensor) input = toy_input ();
  g_autoptr(PeftqOnnxModel) model = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) modules = NULL;
  g_auto(GStrv) initializers = NULL;
  g_auto(GStrv) nodes = NULL;

  g_assert_true (peftq_module_export_onnx (root, input, path, &error));
  g_assert_no_error (error);

  model = peftq_onnx_model_load (path, &error);
  g_assert_no_error (error);
  modules = peftq_onnx_model_get_module_names (model);
  g_assert_cmpstrv (modules, ((const char *[]) { "linear", NULL }));
  initializers = peftq_onnx_model_get_initializer_names (model);
  g_assert_cmpuint (g_strv_length (initializers), ==, 2);
  g_assert_true (g_strv_contains ((const char *const *) initializers, "linear.weight"));
  g_assert_true (g_strv_contains ((const char *const *) initializers, "linear.bias"));
  nodes = peftq_onnx_model_get_module_node_names (model, "linear");
  g_assert_cmpstrv (nodes, ((const char *[]) { "linear", "linear#1", "linear#2.end", NULL }));
  g_assert_cmpstr (peftq_onnx_model_get_node_op_type (model, 0), ==, "Transpose");
  g_assert_cmpstr (peftq_onnx_model_get_node_op_type (model, 1), ==, "MatMul");
  g_assert_cmpstr (peftq_onnx_model_get_node_op_type (model, 2), ==, "Add");

  peftq_test_remove_dir (dir);
}

/* The output quantizer leaves no node and does not change the graph; the weight
 * quantizer's quantize-dequantized values are written. */
static void
test_quantizers (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "toy.onnx", NULL);
  g_autoptr(PeftqModule) root = build_toy ();
  PeftqModule *linear = peftq_module_get_child (root, "linear");
  g_autoptr(PeftqTensor) input = toy_input ();
  g_autoptr(PeftqAffineQuantizer) weight_quantizer = peftq_affine_quantizer_new (4, TRUE);
  g_autoptr(PeftqAffineQuantizer) output_quantizer = peftq_affine_quantizer_new (4, FALSE);
  g_autoptr(PeftqOnnxModel) model = NULL;
  g_autoptr(PeftqTensor) written = NULL;
  g_autoptr(PeftqTensor) effective = NULL;
  g_autoptr(PeftqTensor) raw = NULL;
  g_autoptr(GError) error = NULL;
  float low = -0.1f;
  float high = 0.1f;
  float out_low = 0.0f;
  float out_high = 0.01f;

  g_assert_true (peftq_affine_quantizer_set_range (weight_quantizer, &low, 1, &high, 1, &error));
  g_assert_true (peftq_affine_quantizer_set_range (output_quantizer, &out_low, 1, &out_high, 1, &error));
  g_assert_no_error (error);
  peftq_module_set_param_quantizer (linear, "weight", PEFTQ_QUANTIZER (weight_quantizer));
  peftq_module_set_output_quantizer (linear, 0, PEFTQ_QUANTIZER (output_quantizer));

  g_assert_true (peftq_module_export_onnx (root, input, path, &error));
  g_assert_no_error (error);

  model = peftq_onnx_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_onnx_model_get_n_nodes (model), ==, 3);
  written = peftq_onnx_model_get_initializer (model, "linear.weight", &error);
  g_assert_no_error (error);
  effective = peftq_module_get_effective_parameter (linear, "weight", &error);
  g_assert_no_error (error);
  raw = peftq_tensor_to_float32 (peftq_module_get_parameter (linear, "weight"), &error);
  g_assert_no_error (error);
  g_assert_cmpmem (peftq_tensor_peek_data (written), peftq_tensor_get_n_bytes (written),
                   peftq_tensor_peek_data (effective), peftq_tensor_get_n_bytes (effective));
  g_assert_true (memcmp (peftq_tensor_peek_data (raw), peftq_tensor_peek_data (effective),
                         peftq_tensor_get_n_bytes (raw)) != 0);

  peftq_test_remove_dir (dir);
}

static void
test_external_data (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "toy.onnx", NULL);
  g_autofree char *data_path = g_build_filename (dir, "toy.onnx.data", NULL);
  g_autoptr(PeftqModule) root = build_toy ();
  g_autoptr(PeftqTensor) input = toy_input ();
  g_autoptr(PeftqOnnxModel) model = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (peftq_onnx_export_module (root, input, path, 16, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (data_path, G_FILE_TEST_EXISTS));

  model = peftq_onnx_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (peftq_onnx_model_is_initializer_external (model, "linear.weight"));

  peftq_test_remove_dir (dir);
}

static void
test_unsupported_module (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "conv.onnx", NULL);
  g_autoptr(PeftqModule) root = peftq_sequential_new ();
  g_autoptr(PeftqModule) conv = peftq_conv2d_new (1, 1, 1, 1, 0, 1, FALSE);
  float values[4] = { 1, 2, 3, 4 };
  gint64 shape[4] = { 1, 1, 2, 2 };
  g_autoptr(PeftqTensor) input = floats (values, 4, shape, 4);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) contents = NULL;
  g_autofree char *existing = peftq_test_write_file (dir, "conv.onnx", "earlier export", 14);

  peftq_module_add_child (root, "conv", conv);
  g_assert_false (peftq_module_export_onnx (root, input, path, &error));
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED, "“conv”");
  g_assert_true (strstr (error->message, "Conv2d") != NULL);

  /* The earlier file stays as it was. */
  contents = peftq_test_read_file (path);
  g_assert_cmpmem (g_bytes_get_data (contents, NULL), g_bytes_get_size (contents), "earlier export", 14);

  peftq_test_remove_dir (dir);
}

static void
test_unwritable_path (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "missing", "toy.onnx", NULL);
  g_autoptr(PeftqModule) root = build_toy ();
  g_autoptr(PeftqTensor) input = toy_input ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) entries = NULL;

  g_assert_false (peftq_module_export_onnx (root, input, path, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO);
  entries = peftq_test_list_dir (dir);
  g_assert_cmpuint (g_strv_length (entries), ==, 0);

  peftq_test_remove_dir (dir);
}

static void
test_bad_dummy_input (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "toy.onnx", NULL);
  g_autoptr(PeftqModule) root = build_toy ();
  gint64 values[3] = { 1, 2, 3 };
  gint64 shape[1] = { 3 };
  g_autoptr(GBytes) bytes = g_bytes_new (values, sizeof values);
  g_autoptr(PeftqTensor) ids = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, shape, 1, bytes, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (peftq_module_export_onnx (root, ids, path, &error));
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "[3]");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  peftq_test_remove_dir (dir);
}

/* The demo model: every parameter is an initializer under its own name, except the
 * tied head, and every node maps back to a module of the tree. */
static void
test_demo_model (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *model_dir = g_build_filename (dir, "model", NULL);
  g_autofree char *path = g_build_filename (dir, "demo.onnx", NULL);
  g_autoptr(PeftqCausalLM) lm = NULL;
  g_autoptr(PeftqOnnxModel) model = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) parameters = NULL;
  gint64 values[4] = { 1, 2, 3, 4 };
  gint64 shape[2] = { 1, 4 };
  g_autoptr(GBytes) bytes = g_bytes_new (values, sizeof values);
  g_autoptr(PeftqTensor) ids = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, shape, 2, bytes, NULL);
  g_auto(GStrv) outputs = NULL;
  g_auto(GStrv) inputs = NULL;

  g_assert_true (peftq_demo_write_model (model_dir, &error));
  g_assert_no_error (error);
  lm = peftq_causal_lm_load (model_dir, &error);
  g_assert_no_error (error);
  g_assert_true (peftq_module_export_onnx (PEFTQ_MODULE (lm), ids, path, &error));
  g_assert_no_error (error);
  model = peftq_onnx_model_load (path, &error);
  g_assert_no_error (error);

  inputs = peftq_onnx_model_get_input_names (model);
  g_assert_cmpstrv (inputs, ((const char *[]) { "input_ids", NULL }));
  outputs = peftq_onnx_model_get_output_names (model);
  g_assert_cmpstrv (outputs, ((const char *[]) { "logits", NULL }));

  /* named_parameters() lists a tied parameter once, under its first name. */
  parameters = peftq_module_list_named_parameters (PEFTQ_MODULE (lm));
  for (guint i = 0; parameters[i] != NULL; i++)
    {
      g_test_message ("parameter %s", parameters[i]);
      g_assert_true (peftq_onnx_model_has_initializer (model, parameters[i]));
    }

  for (guint i = 0; i < peftq_onnx_model_get_n_nodes (model); i++)
    {
      g_autofree char *module = peftq_onnx_node_name_to_module_name (peftq_onnx_model_get_node_name (model, i));

      g_assert_nonnull (peftq_module_find_module (PEFTQ_MODULE (lm), module));
    }

  peftq_test_remove_dir (dir);
}

/* Both LoRA layouts on stories260K with the adapter qv_r4: the AIMET layout names the
 * adapter weights `lora_A.0` and writes each scaling as an initializer. */
static void
test_lora_layers (gconstpointer data)
{
  gboolean replace = GPOINTER_TO_INT (data);
  g_autofree char *model_dir = peftq_test_get_data_path ("stories260K");
  g_autofree char *adapter_dir = peftq_test_get_data_path ("stories260K-adapters/qv_r4");
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(PeftqCausalLM) lm = NULL;
  g_autoptr(PeftqPeftModel) model = NULL;
  PeftqAdapter *adapter;
  g_autoptr(PeftqOnnxModel) onnx_model = NULL;
  g_autoptr(GError) error = NULL;
  const char *layer = "base_model.model.model.layers.0.self_attn.q_proj";
  g_autofree char *lora_a = NULL;
  g_autofree char *scaling = NULL;
  gint64 values[5] = { 1, 20, 300, 4, 50 };
  gint64 shape[2] = { 1, 5 };
  g_autoptr(GBytes) bytes = g_bytes_new (values, sizeof values);
  g_autoptr(PeftqTensor) ids = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, shape, 2, bytes, NULL);

  if (model_dir == NULL || adapter_dir == NULL)
    return;

  lm = peftq_causal_lm_load (model_dir, &error);
  g_assert_no_error (error);
  model = peftq_peft_model_new (PEFTQ_MODULE (lm));
  adapter = peftq_peft_model_load_adapter (model, adapter_dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (adapter);
  if (replace)
    {
      guint n_replaced = 0;

      g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (model), &n_replaced, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (n_replaced, ==, 10);
    }

  dir = peftq_test_make_temp_dir ();
  path = g_build_filename (dir, "lora.onnx", NULL);
  g_assert_true (peftq_module_export_onnx (PEFTQ_MODULE (model), ids, path, &error));
  g_assert_no_error (error);
  onnx_model = peftq_onnx_model_load (path, &error);
  g_assert_no_error (error);

  lora_a = g_strconcat (layer, replace ? ".lora_A.0.weight" : ".lora_A.default.weight", NULL);
  g_assert_true (peftq_onnx_model_has_initializer (onnx_model, lora_a));
  scaling = g_strconcat (layer, ".mul_scale.scaling", NULL);
  g_assert_cmpint (peftq_onnx_model_has_initializer (onnx_model, scaling), ==, replace);

  peftq_test_remove_dir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);

  /* A model built without ONNX support cannot write files: skip everything. */
  if (!peftq_onnx_model_load ("/nonexistent/model.onnx", &error) &&
      g_error_matches (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED))
    {
      g_test_skip ("peftq was built without ONNX support");
      return g_test_run ();
    }

  g_test_add_func ("/onnx-export/toy-names", test_toy_names);
  g_test_add_func ("/onnx-export/quantizers", test_quantizers);
  g_test_add_func ("/onnx-export/external-data", test_external_data);
  g_test_add_func ("/onnx-export/unsupported-module", test_unsupported_module);
  g_test_add_func ("/onnx-export/unwritable-path", test_unwritable_path);
  g_test_add_func ("/onnx-export/bad-dummy-input", test_bad_dummy_input);
  g_test_add_func ("/onnx-export/demo-model", test_demo_model);
  g_test_add_data_func ("/onnx-export/lora/peft-layers", GINT_TO_POINTER (FALSE), test_lora_layers);
  g_test_add_data_func ("/onnx-export/lora/aimet-layers", GINT_TO_POINTER (TRUE), test_lora_layers);

  return g_test_run ();
}
