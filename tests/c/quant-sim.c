/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <peftq.h>
#include <string.h>
#include <unistd.h>

#include "peftq-onnx-builder-private.h"
#include "peftq-onnx-export-private.h"
#include "test-util.h"

#define LINEAR "base_model.model.linear"

/* The seed's toy model: a root whose only child is linear = Linear(10, 10) with a bias,
 * with LoRA r=4, alpha=16 on linear, and random adapter weights so that loading them
 * makes a difference. */
typedef struct
{
  GRand *rand;
  char *dir;
  PeftqPeftModel *model;
  PeftqTensor *dummy;
  GHashTable *meta;
  PeftqPeftQuantUtils *utils;
  PeftqQuantSim *sim;
} Fixture;

static PeftqTensor *
random_tensor (GRand        *rand,
               const gint64 *shape,
               guint         rank)
{
  g_autofree float *values = NULL;
  g_autoptr(GError) error = NULL;
  gsize n = 1;
  PeftqTensor *tensor;

  for (guint i = 0; i < rank; i++)
    n *= (gsize) shape[i];
  values = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    values[i] = (float) g_rand_double_range (rand, -1, 1);
  tensor = peftq_tensor_new_from_floats (values, n, shape, rank, &error);
  g_assert_no_error (error);
  return tensor;
}

static PeftqLoraLayer *
get_lora_layer (PeftqPeftModel *model)
{
  PeftqModule *layer = peftq_module_find_module (PEFTQ_MODULE (model), LINEAR);

  g_assert_true (PEFTQ_IS_LORA_LAYER (layer));
  return PEFTQ_LORA_LAYER (layer);
}

static void
set_random_adapter_weights (Fixture *fixture,
                            guint    index)
{
  gint64 a_shape[2] = { 4, 10 }, b_shape[2] = { 10, 4 };
  g_autoptr(PeftqTensor) a = random_tensor (fixture->rand, a_shape, 2);
  g_autoptr(PeftqTensor) b = random_tensor (fixture->rand, b_shape, 2);
  g_autoptr(GError) error = NULL;

  g_assert_true (peftq_lora_layer_set_adapter_weights (get_lora_layer (fixture->model), index, a, b, &error));
  g_assert_no_error (error);
}

/* Steps 1 to 5 of the seed flow, plus the simulation. */
static void
fixture_set_up_n (Fixture *fixture,
                  guint    n_adapters)
{
  gint64 w_shape[2] = { 10, 10 }, b_shape[1] = { 10 };
  const char *targets[] = { "linear", NULL };
  g_autoptr(PeftqTensor) weight = NULL;
  g_autoptr(PeftqTensor) bias = NULL;
  g_autoptr(PeftqModule) root = NULL;
  g_autoptr(PeftqModule) linear = NULL;
  g_autoptr(PeftqLoraConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  guint n_replaced = 0;

  fixture->rand = g_rand_new_with_seed (42);
  fixture->dir = peftq_test_make_temp_dir ();
  weight = random_tensor (fixture->rand, w_shape, 2);
  bias = random_tensor (fixture->rand, b_shape, 1);
  linear = peftq_linear_new_with_weights (weight, bias, &error);
  g_assert_no_error (error);
  root = peftq_sequential_new ();
  peftq_sequential_append (PEFTQ_SEQUENTIAL (root), "linear", linear);

  /* Step 1 */
  config = peftq_lora_config_new (4, 16, targets);
  fixture->model = peftq_get_peft_model (root, config, NULL, &error);
  g_assert_no_error (error);
  if (n_adapters > 1)
    {
      PeftqAdapter *second = peftq_peft_model_add_adapter (fixture->model, "default_new", config, 7, &error);

      g_assert_no_error (error);
      g_assert_nonnull (second);
    }

  /* Step 2 */
  g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (fixture->model),
                                                                    &n_replaced, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_replaced, ==, 1);
  for (guint i = 0; i < n_adapters; i++)
    set_random_adapter_weights (fixture, i);

  /* Step 3 */
  g_assert_true (peftq_save_lora_weights_after_adaptation (PEFTQ_MODULE (fixture->model), fixture->dir,
                                                           "lora_weights_after_adaptation_for_adapter1",
                                                           &error));
  g_assert_no_error (error);

  /* Step 4 */
  fixture->meta = peftq_track_lora_meta_data (PEFTQ_MODULE (fixture->model), fixture->dir, "meta_data",
                                              G_TYPE_NONE, &error);
  g_assert_no_error (error);

  /* Step 5 */
  fixture->utils = peftq_peft_quant_utils_new (fixture->meta, NULL);

  fixture->dummy = random_tensor (fixture->rand, w_shape, 2);
  fixture->sim = peftq_quant_sim_new (PEFTQ_MODULE (fixture->model), fixture->dummy, NULL,
                                      PEFTQ_QUANT_SCHEME_TF, 8, 8, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture_set_up_n (fixture, GPOINTER_TO_UINT (data));
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->sim);
  g_clear_object (&fixture->utils);
  g_clear_pointer (&fixture->meta, g_hash_table_unref);
  g_clear_object (&fixture->dummy);
  g_clear_object (&fixture->model);
  peftq_test_remove_dir (fixture->dir);
  g_free (fixture->dir);
  g_rand_free (fixture->rand);
  peftq_onnx_export_set_override (NULL, NULL);
}

static gboolean
forward_dummy (PeftqModule  *model,
               gpointer      user_data,
               GError      **error)
{
  g_autoptr(PeftqTensor) output = peftq_module_forward_one (model, NULL, user_data, error);

  return output != NULL;
}

static gboolean
forward_fails (PeftqModule  *model,
               gpointer      user_data,
               GError      **error)
{
  g_autoptr(PeftqTensor) output = peftq_module_forward_one (model, NULL, user_data, error);

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the data loader broke");
  return FALSE;
}

static void
calibrate (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (peftq_quant_sim_compute_encodings (fixture->sim, forward_dummy, fixture->dummy, &error));
  g_assert_no_error (error);
}

static PeftqAffineQuantizer *
quantizer (Fixture    *fixture,
           const char *name)
{
  PeftqQuantizer *q = peftq_quant_sim_get_quantizer (fixture->sim, name);

  g_assert_nonnull (q);
  return PEFTQ_AFFINE_QUANTIZER (q);
}

static gboolean
is_frozen (Fixture    *fixture,
           const char *name)
{
  return !peftq_affine_quantizer_get_allow_overwrite (quantizer (fixture, name));
}

static PeftqEncoding *
dup_encoding (Fixture    *fixture,
              const char *name)
{
  PeftqEncoding *encoding = peftq_affine_quantizer_get_encoding (quantizer (fixture, name));

  return encoding != NULL ? peftq_encoding_ref (encoding) : NULL;
}

/* A stand-in for the ONNX tracer: one node per leaf module, named after it, with
 * initializers named "<module>.<param>". */
static gboolean
write_toy_onnx (PeftqModule  *model,
                PeftqTensor  *dummy_input,
                const char   *path,
                gpointer      user_data,
                GError      **error)
{
  g_autoptr(PeftqOnnxBuilder) builder = peftq_onnx_builder_new ("toy");
  gint64 shape[2] = { 10, 10 };
  PeftqModule *base = peftq_module_find_module (model, LINEAR ".base_layer");
  PeftqModule *lora_a = peftq_module_find_module (model, LINEAR ".lora_A.0");
  PeftqModule *lora_b = peftq_module_find_module (model, LINEAR ".lora_B.0");
  g_autoptr(PeftqTensor) scale = NULL;
  const float four = 4.0f;
  const char *base_in[] = { "input", LINEAR ".base_layer.weight", LINEAR ".base_layer.bias", NULL };
  const char *base_out[] = { "/base_layer/Gemm_output_0", NULL };
  const char *a_in[] = { "input", LINEAR ".lora_A.0.weight", NULL };
  const char *a_out[] = { "/lora_A/Gemm_output_0", NULL };
  const char *mul_in[] = { "/lora_A/Gemm_output_0", "scaling", NULL };
  const char *mul_out[] = { "/mul_scale/Mul_output_0", NULL };
  const char *b_in[] = { "/mul_scale/Mul_output_0", LINEAR ".lora_B.0.weight", NULL };
  const char *b_out[] = { "/lora_B/Gemm_output_0", NULL };
  const char *add_in[] = { "/base_layer/Gemm_output_0", "/lora_B/Gemm_output_0", NULL };
  const char *add_out[] = { "output", NULL };
  PeftqOnnxNode *node;

  scale = peftq_tensor_new_from_floats (&four, 1, NULL, 0, error);
  peftq_onnx_builder_add_input (builder, "input", PEFTQ_DTYPE_F32, shape, NULL, 2);
  peftq_onnx_builder_add_output (builder, "output", PEFTQ_DTYPE_F32, shape, NULL, 2);
  peftq_onnx_builder_add_initializer (builder, LINEAR ".base_layer.weight", peftq_module_get_parameter (base, "weight"));
  peftq_onnx_builder_add_initializer (builder, LINEAR ".base_layer.bias", peftq_module_get_parameter (base, "bias"));
  peftq_onnx_builder_add_initializer (builder, LINEAR ".lora_A.0.weight", peftq_module_get_parameter (lora_a, "weight"));
  peftq_onnx_builder_add_initializer (builder, LINEAR ".lora_B.0.weight", peftq_module_get_parameter (lora_b, "weight"));
  peftq_onnx_builder_add_initializer (builder, "scaling", scale);
  node = peftq_onnx_builder_add_node (builder, "Gemm", LINEAR ".base_layer", base_in, base_out);
  peftq_onnx_node_add_int (node, "transB", 1);
  node = peftq_onnx_builder_add_node (builder, "Gemm", LINEAR ".lora_A.0", a_in, a_out);
  peftq_onnx_node_add_int (node, "transB", 1);
  peftq_onnx_builder_add_node (builder, "Mul", LINEAR ".mul_scale", mul_in, mul_out);
  node = peftq_onnx_builder_add_node (builder, "Gemm", LINEAR ".lora_B.0", b_in, b_out);
  peftq_onnx_node_add_int (node, "transB", 1);
  peftq_onnx_builder_add_node (builder, "Add", LINEAR ".add_lora_to_res", add_in, add_out);

  return peftq_onnx_builder_write (builder, path, PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD, error);
}

static gboolean
file_exists (const char *dir,
             const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

static GBytes *
read_dir_file (const char *dir,
               const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  return peftq_test_read_file (path);
}

static void
count_signal (PeftqQuantSim  *sim,
              const char     *name,
              PeftqQuantizer *q,
              gpointer        user_data)
{
  guint *count = user_data;

  g_assert_cmpstr (name, ==, peftq_quantizer_get_name (q));
  (*count)++;
}

static void
test_placement (Fixture       *fixture,
                gconstpointer  data)
{
  g_auto(GStrv) names = peftq_quant_sim_get_quantizer_names (fixture->sim);
  const char *expected[] = {
    LINEAR ".base_layer.weight", LINEAR ".base_layer.input.0", LINEAR ".base_layer.output",
    LINEAR ".lora_A.0.weight", LINEAR ".lora_A.0.input.0", LINEAR ".lora_A.0.output",
    LINEAR ".lora_B.0.weight", LINEAR ".lora_B.0.output",
    LINEAR ".mul_scale.output", LINEAR ".add_lora_to_res.output", NULL,
  };
  g_autoptr(GListModel) list = peftq_quant_sim_list_quantizers (fixture->sim);
  PeftqModule *base = peftq_module_find_module (PEFTQ_MODULE (fixture->model), LINEAR ".base_layer");
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqQuantSim) again = NULL;

  g_test_summary ("Quantizers follow AIMET's default placement on the toy LoRA model");
  g_assert_cmpstrv (names, expected);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, g_strv_length (names));
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(PeftqQuantizer) q = g_list_model_get_item (list, i);

      g_assert_cmpstr (peftq_quantizer_get_name (q), ==, names[i]);
    }

  /* No bias quantizer, no quantizer on the 0-d scaling, weights symmetric. */
  g_assert_null (peftq_module_get_param_quantizer (base, "bias"));
  g_assert_null (peftq_quant_sim_get_quantizer (fixture->sim, LINEAR ".mul_scale.input.1"));
  g_assert_true (peftq_affine_quantizer_get_symmetric (quantizer (fixture, LINEAR ".base_layer.weight")));
  g_assert_false (peftq_affine_quantizer_get_symmetric (quantizer (fixture, LINEAR ".base_layer.output")));
  g_assert_true (peftq_quant_sim_get_quantizer_module (fixture->sim, LINEAR ".base_layer.output") == base);

  /* A second simulation of a model that has quantizers is refused. */
  again = peftq_quant_sim_new (PEFTQ_MODULE (fixture->model), NULL, NULL,
                               PEFTQ_QUANT_SCHEME_TF, 8, 8, &error);
  g_assert_null (again);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "already has quantizers");
}

static void
test_bad_bitwidth (void)
{
  g_autoptr(PeftqModule) root = peftq_sequential_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqQuantSim) sim = NULL;
  PeftqQuantScheme scheme = PEFTQ_QUANT_SCHEME_TF;

  sim = peftq_quant_sim_new (root, NULL, NULL, PEFTQ_QUANT_SCHEME_TF, 3, 8, &error);
  g_assert_null (sim);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "4 to 32");
  g_clear_error (&error);

  sim = peftq_quant_sim_new (root, NULL, NULL, PEFTQ_QUANT_SCHEME_TF, 8, 33, &error);
  g_assert_null (sim);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "33");
  g_clear_error (&error);

  g_assert_true (peftq_quant_scheme_from_string ("tf_enhanced", &scheme, &error));
  g_assert_cmpint (scheme, ==, PEFTQ_QUANT_SCHEME_TF_ENHANCED);
  g_assert_true (peftq_quant_scheme_from_string ("post_training_percentile", &scheme, &error));
  g_assert_cmpint (scheme, ==, PEFTQ_QUANT_SCHEME_PERCENTILE);
  g_assert_false (peftq_quant_scheme_from_string ("tf_fancy", &scheme, &error));
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "tf_fancy");
}

/* The eleven steps of the seed flow, with the checks of AIMET's tests. */
static void
test_seed_flow (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *weights_path = g_build_filename (fixture->dir, "lora_weights_after_adaptation_for_adapter1.safetensor", NULL);
  g_autofree char *weights_out = NULL;
  g_autofree char *onnx_path = g_build_filename (fixture->dir, "model.onnx", NULL);
  g_autoptr(PeftqSafetensorsFile) saved = NULL;
  g_autoptr(PeftqSafetensorsFile) exported = NULL;
  g_autoptr(PeftqTensor) saved_b = NULL;
  g_autoptr(PeftqEncoding) base_weight_before = NULL;
  g_autoptr(PeftqEncoding) base_weight_after = NULL;
  g_autoptr(PeftqAffineQuantizer) lora_a_16 = NULL;
  g_autoptr(GPtrArray) lora_modules = NULL;
  g_auto(GStrv) lora_names = NULL;
  g_auto(GStrv) keys = NULL;
  g_autoptr(PeftqEncodingsFile) adapter_file = NULL;
  PeftqLoraLayer *layer = get_lora_layer (fixture->model);
  PeftqModule *lora_b = peftq_lora_layer_get_lora_b (layer, 0);
  guint n_lora_a_changes = 0;
  guint n_all_changes = 0;
  gsize n;

  g_test_summary ("The eleven steps of the seed flow run on the toy model");

  g_assert_true (file_exists (fixture->dir, "lora_weights_after_adaptation_for_adapter1.safetensor"));
  g_assert_true (file_exists (fixture->dir, "meta_data.json"));
  g_signal_connect (fixture->sim, "encoding-changed::" LINEAR ".lora_A.0.weight",
                    G_CALLBACK (count_signal), &n_lora_a_changes);
  g_signal_connect (fixture->sim, "encoding-changed", G_CALLBACK (count_signal), &n_all_changes);

  /* Step 6: zero adapters. */
  peftq_peft_quant_utils_disable_lora_adapters (fixture->utils, fixture->sim);
  {
    g_autofree float *values = peftq_tensor_to_floats (peftq_module_get_parameter (lora_b, "weight"), &n);

    g_assert_cmpuint (n, ==, 40);
    for (gsize i = 0; i < n; i++)
      g_assert_cmpfloat (values[i], ==, 0.0f);
  }

  /* Step 7: calibrate and freeze the base parameters. */
  calibrate (fixture);
  g_assert_cmpuint (n_lora_a_changes, ==, 1);
  g_assert_cmpuint (n_all_changes, ==, 10);
  g_assert_false (is_frozen (fixture, LINEAR ".base_layer.weight"));
  peftq_peft_quant_utils_freeze_base_model_param_quantizers (fixture->utils, fixture->sim);
  g_assert_true (is_frozen (fixture, LINEAR ".base_layer.weight"));
  g_assert_false (is_frozen (fixture, LINEAR ".lora_A.0.weight"));
  g_assert_false (is_frozen (fixture, LINEAR ".lora_B.0.weight"));
  g_assert_false (is_frozen (fixture, LINEAR ".base_layer.output"));
  {
    /* E4: a zero weight gets min -128 eps, max 127 eps. */
    g_autoptr(PeftqEncoding) zero = dup_encoding (fixture, LINEAR ".lora_B.0.weight");

    g_assert_cmpfloat_with_epsilon (peftq_encoding_get_scale (zero, &n)[0], PEFTQ_ENCODING_MIN_SCALE, 1e-12);
  }
  base_weight_before = dup_encoding (fixture, LINEAR ".base_layer.weight");

  /* Step 8: export with the model. */
  peftq_onnx_export_set_override (write_toy_onnx, NULL);
  g_assert_true (peftq_quant_sim_export (fixture->sim, fixture->dir, "model", fixture->dummy, TRUE,
                                         "base_encodings", &error));
  g_assert_no_error (error);
  g_assert_true (file_exists (fixture->dir, "model.onnx"));
  g_assert_true (file_exists (fixture->dir, "base_encodings.encodings"));
  g_assert_true (file_exists (fixture->dir, "base_encodings_torch.encodings"));
  g_assert_false (file_exists (fixture->dir, "model.pth"));

  /* Step 9: load the adapter weights; the LoRA weight encodings become stale. */
  n_lora_a_changes = 0;
  g_assert_true (peftq_peft_quant_utils_enable_adapter_and_load_weights (fixture->utils, fixture->sim,
                                                                         weights_path, &error));
  g_assert_no_error (error);
  saved = peftq_safetensors_file_open (weights_path, &error);
  g_assert_no_error (error);
  saved_b = peftq_safetensors_file_get_tensor (saved, LINEAR ".lora_B.0.weight", &error);
  g_assert_no_error (error);
  g_assert_true (peftq_tensor_equal (saved_b, peftq_module_get_parameter (lora_b, "weight")));
  g_assert_cmpuint (n_lora_a_changes, ==, 1);
  g_assert_false (peftq_affine_quantizer_is_initialized (quantizer (fixture, LINEAR ".lora_A.0.weight")));

  /* Step 10: the LoRA modules, and a 16-bit quantizer in place of lora_A's. */
  lora_modules = peftq_peft_quant_utils_get_quantized_lora_layer (fixture->utils, fixture->sim, &lora_names);
  g_assert_cmpuint (lora_modules->len, ==, 2);
  g_assert_cmpstr (lora_names[0], ==, LINEAR ".lora_A.0");
  g_assert_cmpstr (lora_names[1], ==, LINEAR ".lora_B.0");
  lora_a_16 = peftq_affine_quantizer_new (16, TRUE);
  g_assert_true (peftq_quant_sim_set_quantizer (fixture->sim, LINEAR ".lora_A.0.weight",
                                                PEFTQ_QUANTIZER (lora_a_16), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (peftq_quantizer_get_name (PEFTQ_QUANTIZER (lora_a_16)), ==, LINEAR ".lora_A.0.weight");

  /* Step 11: calibrate again, export encodings and adapter weights. */
  n_lora_a_changes = 0;
  calibrate (fixture);
  g_assert_cmpuint (n_lora_a_changes, ==, 1);
  g_assert_true (peftq_affine_quantizer_is_initialized (lora_a_16));
  base_weight_after = dup_encoding (fixture, LINEAR ".base_layer.weight");
  g_assert_true (peftq_encoding_equal (base_weight_before, base_weight_after));

  g_assert_true (peftq_quant_sim_export (fixture->sim, fixture->dir, "model", NULL, FALSE, "adapter1", &error));
  g_assert_no_error (error);
  g_assert_true (file_exists (fixture->dir, "adapter1.encodings"));
  g_assert_true (file_exists (fixture->dir, "adapter1_torch.encodings"));
  g_assert_true (peftq_peft_quant_utils_export_adapter_weights (fixture->utils, fixture->sim, fixture->dir,
                                                                "adapter1_weights", onnx_path, &error));
  g_assert_no_error (error);
  weights_out = g_build_filename (fixture->dir, "adapter1_weights.safetensor", NULL);
  exported = peftq_safetensors_file_open (weights_out, &error);
  g_assert_no_error (error);
  keys = peftq_safetensors_file_get_tensor_names (exported);
  g_assert_cmpuint (g_strv_length (keys), ==, 2);
  g_assert_true (g_strv_contains ((const char * const *) keys, LINEAR ".lora_A.0.weight"));
  g_assert_true (g_strv_contains ((const char * const *) keys, LINEAR ".lora_B.0.weight"));

  /* The adapter file names ONNX tensors and holds the 16-bit lora_A encoding. */
  {
    g_autofree char *path = g_build_filename (fixture->dir, "adapter1.encodings", NULL);
    PeftqEncoding *encoding;

    adapter_file = peftq_encodings_file_new_from_file (path, &error);
    g_assert_no_error (error);
    encoding = peftq_encodings_file_get_param_encoding (adapter_file, LINEAR ".lora_A.0.weight");
    g_assert_nonnull (encoding);
    g_assert_cmpuint (peftq_encoding_get_bitwidth (encoding), ==, 16);
    g_assert_nonnull (peftq_encodings_file_get_activation_encoding (adapter_file, "/lora_A/Gemm_output_0"));
    g_assert_nonnull (peftq_encodings_file_get_activation_encoding (adapter_file, "input"));
    g_assert_nonnull (peftq_encodings_file_get_activation_encoding (adapter_file, "output"));
  }
}

static void
test_export_without_onnx (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_auto(GStrv) listing = NULL;

  g_test_summary ("export_model FALSE without an ONNX file fails and keeps earlier files");
  calibrate (fixture);


  g_assert_true (peftq_quant_sim_export_encodings (fixture->sim, fixture->dir, "base", NULL, &error));
  g_assert_no_error (error);
  before = read_dir_file (fixture->dir, "base.encodings");

  g_assert_false (peftq_quant_sim_export (fixture->sim, fixture->dir, "model", NULL, FALSE, "base", &error));
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND, "model.onnx");
  after = read_dir_file (fixture->dir, "base.encodings");
  g_assert_true (g_bytes_equal (before, after));
  listing = peftq_test_list_dir (fixture->dir);
  g_assert_false (g_strv_contains ((const char * const *) listing, "model.onnx"));
}

static void
test_unwritable_output (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *blocked = g_build_filename (fixture->dir, "base.encodings", NULL);
  g_autoptr(GBytes) torch_before = NULL;
  g_autoptr(GBytes) torch_after = NULL;

  g_test_summary ("A file that cannot be written gives an error and keeps the others");
  calibrate (fixture);
  g_assert_true (peftq_quant_sim_export_encodings (fixture->sim, fixture->dir, "other", NULL, &error));
  g_assert_no_error (error);
  torch_before = read_dir_file (fixture->dir, "other_torch.encodings");

  /* A folder where the encodings file should go cannot be replaced by a file. */
  g_assert_cmpint (g_mkdir (blocked, 0755), ==, 0);
  g_assert_false (peftq_quant_sim_export_encodings (fixture->sim, fixture->dir, "base", NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("error: %s", error->message);
  g_assert_true (strstr (error->message, "base.encodings") != NULL);
  g_clear_error (&error);
  torch_after = read_dir_file (fixture->dir, "other_torch.encodings");
  g_assert_true (g_bytes_equal (torch_before, torch_after));

  /* A folder without write permission, where permissions apply. */
  if (geteuid () != 0)
    {
      g_autofree char *locked = g_build_filename (fixture->dir, "locked", NULL);

      g_assert_cmpint (g_mkdir (locked, 0500), ==, 0);
      g_assert_false (peftq_quant_sim_export_encodings (fixture->sim, locked, "base", NULL, &error));
      g_assert_nonnull (error);
      g_chmod (locked, 0700);
    }

  /* A folder that does not exist. */
  g_clear_error (&error);
  {
    g_autofree char *missing = g_build_filename (fixture->dir, "missing", NULL);

    g_assert_false (peftq_quant_sim_export_encodings (fixture->sim, missing, "base", NULL, &error));
    peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND, "missing");
  }
}

static void
test_failing_callback (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqEncoding) before = NULL;
  g_autoptr(PeftqEncoding) after = NULL;
  gint64 shape[2] = { 10, 10 };
  g_autoptr(PeftqTensor) other = random_tensor (fixture->rand, shape, 2);
  g_autoptr(PeftqTensor) bigger = NULL;
  float values[100];

  g_test_summary ("A failing forward pass leaves activation encodings unchanged");
  calibrate (fixture);
  before = dup_encoding (fixture, LINEAR ".base_layer.output");

  for (guint i = 0; i < 100; i++)
    values[i] = 10.0f * (float) i;
  bigger = peftq_tensor_new_from_floats (values, 100, shape, 2, &error);
  g_assert_no_error (error);
  g_assert_false (peftq_quant_sim_compute_encodings (fixture->sim, forward_fails, bigger, &error));
  peftq_test_assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_FAILED, "data loader");
  g_clear_error (&error);
  after = dup_encoding (fixture, LINEAR ".base_layer.output");
  g_assert_true (peftq_encoding_equal (before, after));
  g_assert_false (peftq_affine_quantizer_is_calibrating (quantizer (fixture, LINEAR ".base_layer.output")));

  /* A frozen quantizer keeps its encoding through a calibration on other data. */
  peftq_affine_quantizer_set_allow_overwrite (quantizer (fixture, LINEAR ".base_layer.output"), FALSE);
  g_assert_true (peftq_quant_sim_compute_encodings (fixture->sim, forward_dummy, bigger, &error));
  g_assert_no_error (error);
  g_clear_pointer (&after, peftq_encoding_unref);
  after = dup_encoding (fixture, LINEAR ".base_layer.output");
  g_assert_true (peftq_encoding_equal (before, after));
  g_clear_pointer (&after, peftq_encoding_unref);
  after = dup_encoding (fixture, LINEAR ".add_lora_to_res.output");
  g_assert_false (peftq_encoding_equal (before, after));
  (void) other;
}

/* Scale within 1e-6 relative and offsets equal: a file holds decimal floats. */
static void
assert_encodings_close (PeftqEncoding *a,
                        PeftqEncoding *b)
{
  gsize n_a, n_b;
  const float *scale_a = peftq_encoding_get_scale (a, &n_a);
  const float *scale_b = peftq_encoding_get_scale (b, &n_b);
  const gint32 *offset_a = peftq_encoding_get_legacy_offset (a, &n_a);
  const gint32 *offset_b = peftq_encoding_get_legacy_offset (b, &n_b);

  g_assert_cmpuint (n_a, ==, n_b);
  g_assert_cmpuint (peftq_encoding_get_bitwidth (a), ==, peftq_encoding_get_bitwidth (b));
  for (gsize i = 0; i < n_a; i++)
    {
      g_assert_cmpfloat_with_epsilon (scale_a[i], scale_b[i], 1e-6 * fabsf (scale_a[i]));
      g_assert_cmpint (offset_a[i], ==, offset_b[i]);
    }
}

static void
unfreeze_all (Fixture *fixture)
{
  g_autoptr(GListModel) list = peftq_quant_sim_list_quantizers (fixture->sim);

  for (guint i = 0; i < g_list_model_get_n_items (list); i++)
    {
      g_autoptr(PeftqQuantizer) q = g_list_model_get_item (list, i);

      peftq_affine_quantizer_set_allow_overwrite (PEFTQ_AFFINE_QUANTIZER (q), TRUE);
    }
}

static void
test_load_encodings (Fixture       *fixture,
                     gconstpointer  data)
{
  static const char *const versions[] = { PEFTQ_ENCODINGS_VERSION_0_6_1, PEFTQ_ENCODINGS_VERSION_1_0_0 };

  g_test_summary ("Encodings round trip through load_encodings in both versions");
  calibrate (fixture);

  for (guint v = 0; v < G_N_ELEMENTS (versions); v++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *prefix = g_strdup_printf ("enc_%u", v);
      g_autofree char *torch_name = g_strdup_printf ("enc_%u_torch.encodings", v);
      g_autofree char *torch_path = g_build_filename (fixture->dir, torch_name, NULL);
      g_autoptr(PeftqEncoding) before = dup_encoding (fixture, LINEAR ".base_layer.output");
      g_autoptr(PeftqEncoding) after = NULL;

      g_assert_true (peftq_quant_sim_set_encodings_version (fixture->sim, versions[v], &error));
      g_assert_true (peftq_quant_sim_export_encodings (fixture->sim, fixture->dir, prefix, NULL, &error));
      g_assert_no_error (error);

      peftq_affine_quantizer_clear_encoding (quantizer (fixture, LINEAR ".base_layer.output"));
      peftq_affine_quantizer_set_bitwidth (quantizer (fixture, LINEAR ".lora_B.0.output"), 4, &error);
      g_assert_true (peftq_quant_sim_load_encodings (fixture->sim, torch_path, TRUE, TRUE, &error));
      g_assert_no_error (error);
      after = dup_encoding (fixture, LINEAR ".base_layer.output");
      g_assert_nonnull (after);
      assert_encodings_close (before, after);
      g_assert_cmpuint (peftq_affine_quantizer_get_bitwidth (quantizer (fixture, LINEAR ".lora_B.0.output")), ==, 8);
      g_assert_false (is_frozen (fixture, LINEAR ".base_layer.output"));

      g_assert_true (peftq_quant_sim_load_and_freeze_encodings (fixture->sim, torch_path, &error));
      g_assert_no_error (error);
      g_assert_true (is_frozen (fixture, LINEAR ".base_layer.output"));
      g_assert_true (is_frozen (fixture, LINEAR ".lora_A.0.weight"));
      /* A frozen quantizer is skipped by the next load: set bitwidth 4 and keep it. */
      peftq_affine_quantizer_set_bitwidth (quantizer (fixture, LINEAR ".lora_B.0.output"), 4, &error);
      g_assert_true (peftq_quant_sim_load_encodings (fixture->sim, torch_path, TRUE, TRUE, &error));
      g_assert_cmpuint (peftq_affine_quantizer_get_bitwidth (quantizer (fixture, LINEAR ".lora_B.0.output")), ==, 4);
      unfreeze_all (fixture);
      peftq_affine_quantizer_set_bitwidth (quantizer (fixture, LINEAR ".lora_B.0.output"), 8, &error);
    }

  /* Strict loading refuses a file of another model; partial FALSE removes quantizers. */
  {
    g_autoptr(GError) error = NULL;
    const char *other = "{\"version\": \"0.6.1\", \"activation_encodings\": {\"model.fc\": {\"output\": {\"0\": "
                        "{\"bitwidth\": 8, \"dtype\": \"int\", \"is_symmetric\": \"False\", \"max\": 2.55, "
                        "\"min\": 0.0, \"offset\": 0, \"scale\": 0.01}}}}, \"param_encodings\": "
                        "{\"model.fc.weight\": [{\"bitwidth\": 8, \"dtype\": \"int\", \"is_symmetric\": \"True\", "
                        "\"max\": 1.27, \"min\": -1.28, \"offset\": -128, \"scale\": 0.01}]}, "
                        "\"excluded_layers\": [], \"quantizer_args\": {}}";
    g_autofree char *path = peftq_test_write_file (fixture->dir, "other_torch.encodings", other, strlen (other));
    g_autofree char *torch_path = g_build_filename (fixture->dir, "enc_0_torch.encodings", NULL);

    g_assert_false (peftq_quant_sim_load_encodings (fixture->sim, path, TRUE, TRUE, &error));
    peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND, "model.fc.weight");
    g_clear_error (&error);
    g_assert_true (peftq_quant_sim_load_encodings (fixture->sim, path, FALSE, TRUE, &error));
    g_assert_no_error (error);
    g_assert_true (peftq_quant_sim_load_encodings (fixture->sim, path, FALSE, FALSE, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (peftq_quant_sim_get_n_quantizers (fixture->sim), ==, 0);
    (void) torch_path;
  }
}

static void
test_freeze_and_bitwidths (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqAffineQuantizer) add_input = peftq_affine_quantizer_new (8, FALSE);
  g_autoptr(GPtrArray) modules = NULL;
  g_autoptr(GPtrArray) fp_modules = NULL;
  g_auto(GStrv) names = NULL;
  g_auto(GStrv) fp_names = NULL;

  g_test_summary ("Freezing and LoRA bitwidths with two adapters, as AIMET's tests check");
  calibrate (fixture);

  /* Section 11, item 4 */
  peftq_peft_quant_utils_freeze_base_model_param_quantizers (fixture->utils, fixture->sim);
  g_assert_true (is_frozen (fixture, LINEAR ".base_layer.weight"));
  g_assert_false (is_frozen (fixture, LINEAR ".lora_A.0.weight"));
  g_assert_false (is_frozen (fixture, LINEAR ".lora_A.1.weight"));
  g_assert_false (is_frozen (fixture, LINEAR ".lora_B.0.weight"));
  g_assert_false (is_frozen (fixture, LINEAR ".lora_B.1.weight"));
  g_assert_false (is_frozen (fixture, LINEAR ".base_layer.output"));

  /* Item 5, and input 1 of a two-input op is frozen too. */
  g_assert_true (peftq_quant_sim_set_quantizer (fixture->sim, LINEAR ".add_lora_to_res.input.1",
                                                PEFTQ_QUANTIZER (add_input), &error));
  g_assert_no_error (error);
  peftq_peft_quant_utils_freeze_base_model_activation_quantizers (fixture->utils, fixture->sim);
  g_assert_true (is_frozen (fixture, LINEAR ".base_layer.output"));
  g_assert_true (is_frozen (fixture, LINEAR ".add_lora_to_res.input.1"));
  g_assert_true (is_frozen (fixture, LINEAR ".mul_scale.output"));
  g_assert_false (is_frozen (fixture, LINEAR ".lora_A.0.output"));
  g_assert_false (is_frozen (fixture, LINEAR ".lora_B.1.output"));

  /* Item 6 */
  g_assert_true (peftq_peft_quant_utils_set_bitwidth_for_lora_adapters (fixture->utils, fixture->sim, 4, 4, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_affine_quantizer_get_bitwidth (quantizer (fixture, LINEAR ".base_layer.output")), ==, 8);
  g_assert_cmpuint (peftq_affine_quantizer_get_bitwidth (quantizer (fixture, LINEAR ".lora_A.0.weight")), ==, 4);
  g_assert_cmpuint (peftq_affine_quantizer_get_bitwidth (quantizer (fixture, LINEAR ".lora_A.1.weight")), ==, 4);
  g_assert_cmpuint (peftq_affine_quantizer_get_bitwidth (quantizer (fixture, LINEAR ".lora_B.1.output")), ==, 4);
  g_assert_cmpuint (peftq_affine_quantizer_get_bitwidth (quantizer (fixture, LINEAR ".lora_A.0.input.0")), ==, 8);
  g_assert_false (peftq_peft_quant_utils_set_bitwidth_for_lora_adapters (fixture->utils, fixture->sim, 0, 4, &error));
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "1 to 32");

  /* Item 9: four LoRA modules, every name contains "lora". */
  modules = peftq_peft_quant_utils_get_quantized_lora_layer (fixture->utils, fixture->sim, &names);
  g_assert_cmpuint (modules->len, ==, 4);
  for (guint i = 0; names[i] != NULL; i++)
    g_assert_nonnull (strstr (names[i], "lora"));
  fp_modules = peftq_peft_quant_utils_get_fp_lora_layer (fixture->utils, PEFTQ_MODULE (fixture->model), &fp_names);
  g_assert_cmpuint (fp_modules->len, ==, 4);
  g_assert_cmpstrv (names, fp_names);
}

static void
test_fixed_range_scale (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint n_clamped = 99;
  GLogLevelFlags old_fatal;
  PeftqEncoding *encoding;
  gsize n;

  g_test_summary ("The fixed-range scale quantizer keeps [0, 1] through calibration");
  /* The clamped scaling is reported with a warning; count it instead of aborting. */
  old_fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_assert_true (peftq_peft_quant_utils_quantize_lora_scale_with_fixed_range (fixture->utils, fixture->sim,
                                                                              16, 0.0, 1.0, &n_clamped, &error));
  g_assert_no_error (error);
  /* The scaling 16 / 4 = 4 is outside [0, 1]. */
  g_assert_cmpuint (n_clamped, ==, 1);
  calibrate (fixture);
  encoding = peftq_affine_quantizer_get_encoding (quantizer (fixture, LINEAR ".mul_scale.input.1"));
  g_assert_cmpfloat (peftq_encoding_get_min (encoding, &n)[0], ==, 0.0f);
  g_assert_cmpfloat (peftq_encoding_get_max (encoding, &n)[0], ==, 1.0f);
  g_assert_true (is_frozen (fixture, LINEAR ".mul_scale.input.1"));

  g_log_set_always_fatal (old_fatal);
  g_assert_true (peftq_peft_quant_utils_quantize_lora_scale_with_fixed_range (fixture->utils, fixture->sim,
                                                                              16, 0.0, 8.0, &n_clamped, &error));
  g_assert_cmpuint (n_clamped, ==, 0);
  g_assert_false (peftq_peft_quant_utils_quantize_lora_scale_with_fixed_range (fixture->utils, fixture->sim,
                                                                               16, 1.0, 1.0, NULL, &error));
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "empty");
}

static void
test_load_bad_adapter_file (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  gint64 a_shape[2] = { 4, 10 }, wrong_shape[2] = { 10, 5 };
  g_autoptr(PeftqTensor) a = random_tensor (fixture->rand, a_shape, 2);
  g_autoptr(PeftqTensor) wrong = random_tensor (fixture->rand, wrong_shape, 2);
  g_autofree char *path = g_build_filename (fixture->dir, "bad.safetensor", NULL);
  g_autofree char *partial = g_build_filename (fixture->dir, "partial.safetensor", NULL);
  PeftqModule *lora_a = peftq_lora_layer_get_lora_a (get_lora_layer (fixture->model), 0);
  g_autoptr(PeftqTensor) before = g_object_ref (peftq_module_get_parameter (lora_a, "weight"));

  g_test_summary ("An adapter file missing a tensor, or with extra or misshapen ones, loads nothing");

  g_assert_true (peftq_safetensors_writer_add_tensor (writer, LINEAR ".lora_A.0.weight", a, &error));
  g_assert_true (peftq_safetensors_writer_write (writer, partial, &error));
  g_assert_no_error (error);
  g_assert_false (peftq_peft_quant_utils_enable_adapter_and_load_weights (fixture->utils, fixture->sim, partial, &error));
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND, LINEAR ".lora_B.0");
  g_assert_true (peftq_module_get_parameter (lora_a, "weight") == before);
  g_clear_error (&error);

  g_assert_true (peftq_safetensors_writer_add_tensor (writer, LINEAR ".lora_B.0.weight", wrong, &error));
  g_assert_true (peftq_safetensors_writer_add_tensor (writer, LINEAR ".lora_B.0.bias", wrong, &error));
  g_assert_true (peftq_safetensors_writer_write (writer, path, &error));
  g_assert_no_error (error);
  g_assert_false (peftq_peft_quant_utils_enable_adapter_and_load_weights (fixture->utils, fixture->sim, path, &error));
  g_assert_nonnull (error);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "unexpected tensors " LINEAR ".lora_B.0.bias"));
  g_assert_nonnull (strstr (error->message, "[10, 5]"));
  g_assert_true (peftq_module_get_parameter (lora_a, "weight") == before);
}

/* Real input: stories260K with the calibration data. */

static PeftqQuantSim *
load_stories_sim (PeftqModule **out_model)
{
  g_autofree char *folder = peftq_test_get_data_path ("stories260K/config.json");
  g_autofree char *eval = peftq_test_get_data_path ("expected/eval_input_ids.json");
  g_autoptr(PeftqCausalLM) lm = NULL;
  g_autoptr(PeftqPeftModel) model = NULL;
  g_autoptr(PeftqTensor) ids = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  PeftqQuantSim *sim;

  if (folder == NULL || eval == NULL)
    return NULL;
  dir = g_path_get_dirname (folder);
  lm = peftq_causal_lm_load (dir, &error);
  g_assert_no_error (error);
  model = peftq_peft_model_new (PEFTQ_MODULE (lm));
  ids = peftq_load_token_ids (eval, &error);
  g_assert_no_error (error);
  sim = peftq_quant_sim_new (PEFTQ_MODULE (model), ids, NULL, PEFTQ_QUANT_SCHEME_TF, 16, 8, &error);
  g_assert_no_error (error);
  *out_model = PEFTQ_MODULE (g_steal_pointer (&model));
  return sim;
}

static void
on_cancel_after_first (PeftqQuantSim *sim,
                       guint          done,
                       guint          total,
                       gpointer       user_data)
{
  g_cancellable_cancel (user_data);
}

static void
test_stories_bad_calibration (void)
{
  g_autoptr(PeftqModule) model = NULL;
  g_autoptr(PeftqQuantSim) sim = load_stories_sim (&model);
  g_autofree char *calibration = peftq_test_get_data_path ("calibration/calibration_ids.safetensors");
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PeftqTensor) ids = NULL;
  g_autoptr(PeftqEncoding) before = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *wrong_path = NULL;
  const char *name = "base_model.model.model.layers.0.input_layernorm.output";
  PeftqEncoding *after;

  g_test_summary ("Wrong calibration dtypes and cancelled calibrations are clear errors");
  if (sim == NULL || calibration == NULL)
    return;

  ids = peftq_load_token_ids (calibration, &error);
  g_assert_no_error (error);
  g_assert_true (peftq_quant_sim_compute_encodings_for_tensor (sim, ids, 16, NULL, &error));
  g_assert_no_error (error);
  before = peftq_encoding_ref (peftq_affine_quantizer_get_encoding (PEFTQ_AFFINE_QUANTIZER (peftq_quant_sim_get_quantizer (sim, name))));

  /* Cancelled after the first of two batches. */
  g_signal_connect (sim, "progress", G_CALLBACK (on_cancel_after_first), cancellable);
  g_assert_false (peftq_quant_sim_compute_encodings_for_tensor (sim, ids, 16, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  after = peftq_affine_quantizer_get_encoding (PEFTQ_AFFINE_QUANTIZER (peftq_quant_sim_get_quantizer (sim, name)));
  g_assert_true (peftq_encoding_equal (before, after));

  /* A float input_ids tensor. */
  {
    g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
    gint64 shape[2] = { 1, 4 };
    const float values[4] = { 1, 2, 3, 4 };
    g_autoptr(PeftqTensor) floats = peftq_tensor_new_from_floats (values, 4, shape, 2, &error);

    dir = peftq_test_make_temp_dir ();
    wrong_path = g_build_filename (dir, "wrong.safetensors", NULL);
    g_assert_true (peftq_safetensors_writer_add_tensor (writer, "input_ids", floats, &error));
    g_assert_true (peftq_safetensors_writer_write (writer, wrong_path, &error));
    g_assert_no_error (error);
  }
  g_assert_false (peftq_quant_sim_compute_encodings_from_file (sim, wrong_path, 0, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "wrong.safetensors"));
  g_assert_nonnull (strstr (error->message, "F32"));
  peftq_test_remove_dir (dir);
}

typedef struct
{
  GMainLoop *loop;
  gboolean ok;
  GError *error;
  guint n_progress;
} AsyncState;

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  AsyncState *state = user_data;

  state->ok = peftq_quant_sim_compute_encodings_from_file_finish (PEFTQ_QUANT_SIM (source), result, &state->error);
  g_main_loop_quit (state->loop);
}

static void
on_async_progress (PeftqQuantSim *sim,
                   guint          done,
                   guint          total,
                   gpointer       user_data)
{
  AsyncState *state = user_data;

  g_assert_cmpuint (total, ==, 4);
  state->n_progress++;
}

static void
test_stories_async (void)
{
  g_autoptr(PeftqModule) model = NULL;
  g_autoptr(PeftqQuantSim) sim = load_stories_sim (&model);
  g_autofree char *calibration = peftq_test_get_data_path ("calibration/calibration_ids.safetensors");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncState state = { 0 };
  const char *name = "base_model.model.lm_head.output";

  g_test_summary ("The asynchronous calibration reports progress and honours cancellation");
  if (sim == NULL || calibration == NULL)
    return;

  state.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (sim, "progress", G_CALLBACK (on_async_progress), &state);
  peftq_quant_sim_compute_encodings_from_file_async (sim, calibration, 8, NULL, on_async_done, &state);
  g_main_loop_run (state.loop);
  g_assert_no_error (state.error);
  g_assert_true (state.ok);
  g_assert_cmpuint (state.n_progress, ==, 4);
  g_assert_true (peftq_affine_quantizer_is_initialized (PEFTQ_AFFINE_QUANTIZER (peftq_quant_sim_get_quantizer (sim, name))));

  /* Cancelled before it starts: the activation encodings stay. */
  {
    g_autoptr(PeftqEncoding) before = peftq_encoding_ref (peftq_affine_quantizer_get_encoding (PEFTQ_AFFINE_QUANTIZER (peftq_quant_sim_get_quantizer (sim, name))));

    g_cancellable_cancel (cancellable);
    peftq_quant_sim_compute_encodings_from_file_async (sim, calibration, 8, cancellable, on_async_done, &state);
    g_main_loop_run (state.loop);
    g_assert_false (state.ok);
    g_assert_error (state.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&state.error);
    g_assert_true (peftq_encoding_equal (before, peftq_affine_quantizer_get_encoding (PEFTQ_AFFINE_QUANTIZER (peftq_quant_sim_get_quantizer (sim, name)))));
  }
  g_main_loop_unref (state.loop);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, n, func) \
  g_test_add ("/peftq/quant-sim/" path, Fixture, GUINT_TO_POINTER (n), fixture_set_up, func, fixture_tear_down)

  ADD ("placement", 1, test_placement);
  g_test_add_func ("/peftq/quant-sim/bad-bitwidth", test_bad_bitwidth);
  ADD ("seed-flow", 1, test_seed_flow);
  ADD ("export-without-onnx", 1, test_export_without_onnx);
  ADD ("unwritable-output", 1, test_unwritable_output);
  ADD ("failing-callback", 1, test_failing_callback);
  ADD ("load-encodings", 1, test_load_encodings);
  ADD ("freeze-and-bitwidths", 2, test_freeze_and_bitwidths);
  ADD ("fixed-range-scale", 1, test_fixed_range_scale);
  ADD ("bad-adapter-file", 1, test_load_bad_adapter_file);
  g_test_add_func ("/peftq/quant-sim/stories-bad-calibration", test_stories_bad_calibration);
  g_test_add_func ("/peftq/quant-sim/stories-async", test_stories_async);

  return g_test_run ();
}
