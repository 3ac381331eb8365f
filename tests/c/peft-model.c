/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <math.h>
#include <peftq.h>
#include <string.h>

#include "test-util.h"

/* AIMET's DummyModel: a root whose forward pass runs its only child, linear. */
#define TEST_TYPE_DUMMY_MODEL (test_dummy_model_get_type ())
G_DECLARE_FINAL_TYPE (TestDummyModel, test_dummy_model, TEST, DUMMY_MODEL, PeftqModule)

struct _TestDummyModel
{
  PeftqModule parent_instance;
};

G_DEFINE_FINAL_TYPE (TestDummyModel, test_dummy_model, PEFTQ_TYPE_MODULE)

static PeftqTensor *
test_dummy_model_forward (PeftqModule          *module,
                          PeftqForwardContext  *context,
                          PeftqTensor         **inputs,
                          guint                 n_inputs,
                          GError              **error)
{
  return peftq_module_forward (peftq_module_get_child (module, "linear"), context, inputs,
                               n_inputs, error);
}

static void
test_dummy_model_class_init (TestDummyModelClass *klass)
{
  PEFTQ_MODULE_CLASS (klass)->forward = test_dummy_model_forward;
}

static void
test_dummy_model_init (TestDummyModel *self)
{
}

/* AIMET's test helper ConvInplaceLinear: a stand-in module that holds the real LoRA
 * module as its child conv2d. */
#define TEST_TYPE_CONV_INPLACE_LINEAR (test_conv_inplace_linear_get_type ())
G_DECLARE_FINAL_TYPE (TestConvInplaceLinear, test_conv_inplace_linear, TEST, CONV_INPLACE_LINEAR, PeftqModule)

struct _TestConvInplaceLinear
{
  PeftqModule parent_instance;
};

G_DEFINE_FINAL_TYPE (TestConvInplaceLinear, test_conv_inplace_linear, PEFTQ_TYPE_MODULE)

static PeftqTensor *
test_conv_inplace_linear_forward (PeftqModule          *module,
                                  PeftqForwardContext  *context,
                                  PeftqTensor         **inputs,
                                  guint                 n_inputs,
                                  GError              **error)
{
  return peftq_module_forward (peftq_module_get_child (module, "conv2d"), context, inputs,
                               n_inputs, error);
}

static void
test_conv_inplace_linear_class_init (TestConvInplaceLinearClass *klass)
{
  PEFTQ_MODULE_CLASS (klass)->forward = test_conv_inplace_linear_forward;
}

static void
test_conv_inplace_linear_init (TestConvInplaceLinear *self)
{
}

static PeftqTensor *
random_tensor (GRand        *rand,
               const gint64 *shape,
               guint         rank)
{
  guint64 n = 1;
  g_autofree float *values = NULL;
  g_autoptr(GError) error = NULL;
  PeftqTensor *tensor;

  for (guint i = 0; i < rank; i++)
    n *= (guint64) shape[i];
  values = g_new (float, n);
  for (guint64 i = 0; i < n; i++)
    values[i] = (float) g_rand_double_range (rand, -1, 1);
  tensor = peftq_tensor_new_from_floats (values, n, shape, rank, &error);
  g_assert_no_error (error);
  return tensor;
}

static PeftqModule *
new_dummy_model (GRand *rand)
{
  gint64 weight_shape[2] = { 10, 10 };
  gint64 bias_shape[1] = { 10 };
  g_autoptr(PeftqTensor) weight = random_tensor (rand, weight_shape, 2);
  g_autoptr(PeftqTensor) bias = random_tensor (rand, bias_shape, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqModule) linear = peftq_linear_new_with_weights (weight, bias, &error);
  PeftqModule *model = g_object_new (TEST_TYPE_DUMMY_MODEL, NULL);

  g_assert_no_error (error);
  peftq_module_add_child (model, "linear", linear);
  return model;
}

static PeftqLoraConfig *
new_dummy_config (void)
{
  const char *targets[] = { "linear", NULL };

  return peftq_lora_config_new (4, 16, targets);
}

static PeftqPeftModel *
new_peft_dummy (GRand *rand)
{
  g_autoptr(PeftqModule) model = new_dummy_model (rand);
  g_autoptr(PeftqLoraConfig) config = new_dummy_config ();
  g_autoptr(GError) error = NULL;
  PeftqPeftModel *peft_model = peftq_get_peft_model (model, config, NULL, &error);

  g_assert_no_error (error);
  return peft_model;
}

static PeftqTensor *
run (PeftqModule *model,
     PeftqTensor *input)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *output = peftq_module_forward_one (model, NULL, input, &error);

  g_assert_no_error (error);
  return output;
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
assert_names (PeftqModule       *model,
              const char *const *expected)
{
  g_auto(GStrv) names = peftq_module_list_module_names (model);

  for (guint i = 0; expected[i] != NULL; i++)
    {
      g_test_message ("module %u: %s", i, names[i]);
      g_assert_cmpstr (names[i], ==, expected[i]);
    }
  g_assert_cmpuint (g_strv_length (names), ==, g_strv_length ((char **) expected));
}

/* Computes base(x) + scaling * B (A x) in double precision from the parameters. */
static float *
reference_forward (PeftqTensor *input,
                   PeftqTensor *weight,
                   PeftqTensor *bias,
                   PeftqTensor *lora_a,
                   PeftqTensor *lora_b,
                   double       scaling,
                   gsize       *n_out)
{
  gsize n_x, n_w, n_b, n_a, n_lb;
  g_autofree float *x = peftq_tensor_to_floats (input, &n_x);
  g_autofree float *w = peftq_tensor_to_floats (weight, &n_w);
  g_autofree float *b = peftq_tensor_to_floats (bias, &n_b);
  g_autofree float *a = lora_a != NULL ? peftq_tensor_to_floats (lora_a, &n_a) : NULL;
  g_autofree float *lb = lora_b != NULL ? peftq_tensor_to_floats (lora_b, &n_lb) : NULL;
  gint64 out = peftq_tensor_get_dim (weight, 0);
  gint64 in = peftq_tensor_get_dim (weight, 1);
  gint64 rows = (gint64) n_x / in;
  gint64 r = lora_a != NULL ? peftq_tensor_get_dim (lora_a, 0) : 0;
  float *y = g_new (float, rows * out);

  for (gint64 row = 0; row < rows; row++)
    for (gint64 o = 0; o < out; o++)
      {
        double sum = b[o];

        for (gint64 i = 0; i < in; i++)
          sum += (double) w[o * in + i] * x[row * in + i];
        for (gint64 k = 0; k < r; k++)
          {
            double h = 0;

            for (gint64 i = 0; i < in; i++)
              h += (double) a[k * in + i] * x[row * in + i];
            sum += scaling * lb[o * r + k] * h;
          }
        y[row * out + o] = (float) sum;
      }
  *n_out = rows * out;
  return y;
}

static void
assert_matches_reference (PeftqTensor *output,
                          const float *expected,
                          gsize        n_expected,
                          float        tolerance)
{
  gsize n;
  g_autofree float *y = peftq_tensor_to_floats (output, &n);

  g_assert_cmpuint (n, ==, n_expected);
  for (gsize i = 0; i < n; i++)
    if (fabsf (y[i] - expected[i]) > tolerance)
      g_error ("element %zu: %g, expected %g", i, y[i], expected[i]);
}

static void
test_get_peft_model_names (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  g_autoptr(PeftqPeftModel) peft_model = new_peft_dummy (rand);
  static const char *const expected[] = {
    "", "base_model", "base_model.model", "base_model.model.linear",
    "base_model.model.linear.base_layer", "base_model.model.linear.lora_A",
    "base_model.model.linear.lora_A.default", "base_model.model.linear.lora_B",
    "base_model.model.linear.lora_B.default", NULL,
  };
  PeftqModule *layer;
  PeftqAdapter *adapter;
  PeftqTensor *lora_b;
  g_autofree float *values = NULL;
  gsize n;

  g_test_summary ("get_peft_model wraps the model and adds a zero-initialized adapter");
  assert_names (PEFTQ_MODULE (peft_model), expected);

  layer = peftq_module_find_module (PEFTQ_MODULE (peft_model), "base_model.model.linear");
  g_assert_true (PEFTQ_IS_PEFT_LORA_LAYER (layer));
  g_assert_cmpuint (peftq_peft_lora_layer_get_n_adapters (PEFTQ_PEFT_LORA_LAYER (layer)), ==, 1);
  g_assert_cmpfloat (peftq_peft_lora_layer_get_scaling (PEFTQ_PEFT_LORA_LAYER (layer), 0), ==, 4.0);
  g_assert_cmpuint (peftq_peft_lora_layer_get_rank (PEFTQ_PEFT_LORA_LAYER (layer), 0), ==, 4);

  adapter = peftq_peft_model_get_adapter (peft_model, "default");
  g_assert_nonnull (adapter);
  g_assert_true (peftq_adapter_get_active (adapter));
  g_assert_cmpuint (peftq_adapter_get_n_layers (adapter), ==, 1);
  g_assert_cmpfloat (peftq_adapter_get_scaling (adapter, "base_model.model.linear"), ==, 4.0);

  lora_b = peftq_module_get_parameter (peftq_peft_lora_layer_get_lora_b (PEFTQ_PEFT_LORA_LAYER (layer), 0),
                                       "weight");
  g_assert_cmpint (peftq_tensor_get_dim (lora_b, 0), ==, 10);
  g_assert_cmpint (peftq_tensor_get_dim (lora_b, 1), ==, 4);
  values = peftq_tensor_to_floats (lora_b, &n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (values[i], ==, 0.0f);

  g_assert_finalize_object (g_steal_pointer (&peft_model));
}

static void
set_random_adapter (PeftqPeftLoraLayer *layer,
                    guint               index,
                    GRand              *rand)
{
  guint r = peftq_peft_lora_layer_get_rank (layer, index);
  PeftqTensor *base_weight = peftq_module_get_parameter (peftq_peft_lora_layer_get_base_layer (layer), "weight");
  gint64 a_shape[2] = { r, peftq_tensor_get_dim (base_weight, 1) };
  gint64 b_shape[2] = { peftq_tensor_get_dim (base_weight, 0), r };
  g_autoptr(PeftqTensor) a = random_tensor (rand, a_shape, 2);
  g_autoptr(PeftqTensor) b = random_tensor (rand, b_shape, 2);
  g_autoptr(GError) error = NULL;

  g_assert_true (peftq_peft_lora_layer_set_adapter_weights (layer, index, a, b, &error));
  g_assert_no_error (error);
}

static void
test_forward_matches_formula (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (2);
  g_autoptr(PeftqPeftModel) peft_model = new_peft_dummy (rand);
  PeftqPeftLoraLayer *layer;
  PeftqModule *base;
  gint64 input_shape[2] = { 10, 10 };
  g_autoptr(PeftqTensor) input = random_tensor (rand, input_shape, 2);
  g_autoptr(PeftqTensor) zero_output = NULL;
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(PeftqTensor) base_output = NULL;
  g_autofree float *expected = NULL;
  gsize n_expected;

  g_test_summary ("The LoRA forward is base(x) + B(A x) * scaling on a square layer");

  layer = PEFTQ_PEFT_LORA_LAYER (peftq_module_find_module (PEFTQ_MODULE (peft_model), "base_model.model.linear"));
  base = peftq_peft_lora_layer_get_base_layer (layer);
  base_output = run (base, input);

  /* A fresh adapter adds exactly zero. */
  zero_output = run (PEFTQ_MODULE (peft_model), input);
  g_assert_cmpfloat (max_abs_difference (zero_output, base_output), ==, 0.0f);

  set_random_adapter (layer, 0, rand);
  output = run (PEFTQ_MODULE (peft_model), input);
  expected = reference_forward (input, peftq_module_get_parameter (base, "weight"),
                                peftq_module_get_parameter (base, "bias"),
                                peftq_module_get_parameter (peftq_peft_lora_layer_get_lora_a (layer, 0), "weight"),
                                peftq_module_get_parameter (peftq_peft_lora_layer_get_lora_b (layer, 0), "weight"),
                                4.0, &n_expected);
  /* float32 sums of 10 and 4 products of values below 1, against double: 1e-5. */
  assert_matches_reference (output, expected, n_expected, 1e-5f);
  g_assert_cmpfloat (max_abs_difference (output, base_output), >, 0.01f);

  g_assert_finalize_object (g_steal_pointer (&peft_model));
}

static void
test_delta_weight_square (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  g_autoptr(PeftqPeftModel) peft_model = new_peft_dummy (rand);
  PeftqPeftLoraLayer *layer;
  g_autoptr(PeftqTensor) delta = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *a = NULL;
  g_autofree float *b = NULL;
  g_autofree float *d = NULL;
  gsize n;

  g_test_summary ("The merged delta is (B @ A) * scaling in (out, in) layout");
  layer = PEFTQ_PEFT_LORA_LAYER (peftq_module_find_module (PEFTQ_MODULE (peft_model), "base_model.model.linear"));
  set_random_adapter (layer, 0, rand);
  delta = peftq_peft_lora_layer_compute_delta_weight (layer, 0, &error);
  g_assert_no_error (error);
  a = peftq_tensor_to_floats (peftq_module_get_parameter (peftq_peft_lora_layer_get_lora_a (layer, 0), "weight"), &n);
  b = peftq_tensor_to_floats (peftq_module_get_parameter (peftq_peft_lora_layer_get_lora_b (layer, 0), "weight"), &n);
  d = peftq_tensor_to_floats (delta, &n);
  g_assert_cmpuint (n, ==, 100);
  for (guint o = 0; o < 10; o++)
    for (guint i = 0; i < 10; i++)
      {
        double sum = 0;

        for (guint k = 0; k < 4; k++)
          sum += (double) b[o * 4 + k] * a[k * 10 + i];
        g_assert_cmpfloat_with_epsilon (d[o * 10 + i], sum * 4.0, 1e-5);
      }
  g_assert_finalize_object (g_steal_pointer (&peft_model));
}

static void
on_signal_count (GObject *object,
                 gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
on_weights_changed (GObject *object,
                    guint    index,
                    gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_replacement (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);
  g_autoptr(PeftqPeftModel) peft_model = new_peft_dummy (rand);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) peft_layers = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  gint64 input_shape[3] = { 2, 5, 10 };
  g_autoptr(PeftqTensor) input = random_tensor (rand, input_shape, 3);
  g_autoptr(PeftqTensor) before = NULL;
  g_autoptr(PeftqTensor) after = NULL;
  static const char *const expected[] = {
    "", "base_model", "base_model.model", "base_model.model.linear",
    "base_model.model.linear.base_layer", "base_model.model.linear.lora_A",
    "base_model.model.linear.lora_A.0", "base_model.model.linear.lora_B",
    "base_model.model.linear.lora_B.0", "base_model.model.linear.mul_scale",
    "base_model.model.linear.add_lora_to_res", NULL,
  };
  PeftqLoraLayer *layer;
  guint n_replaced = 0;
  guint n_weight_signals = 0;

  g_test_summary ("Replacement counts layers, renames adapters and keeps the output");
  set_random_adapter (PEFTQ_PEFT_LORA_LAYER (peftq_module_find_module (PEFTQ_MODULE (peft_model),
                                                                        "base_model.model.linear")),
                      0, rand);
  peft_layers = peftq_list_peft_lora_layers (PEFTQ_MODULE (peft_model));
  g_assert_cmpuint (peft_layers->len, ==, 1);
  before = run (PEFTQ_MODULE (peft_model), input);

  g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (peft_model),
                                                                    &n_replaced, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_replaced, ==, 1);
  g_clear_pointer (&peft_layers, g_ptr_array_unref);
  peft_layers = peftq_list_peft_lora_layers (PEFTQ_MODULE (peft_model));
  g_assert_cmpuint (peft_layers->len, ==, 0);
  layers = peftq_list_lora_layers (PEFTQ_MODULE (peft_model));
  g_assert_cmpuint (layers->len, ==, 1);
  assert_names (PEFTQ_MODULE (peft_model), expected);

  layer = g_ptr_array_index (layers, 0);
  g_assert_cmpuint (peftq_lora_layer_get_n_adapters (layer), ==, 1);
  g_assert_cmpstr (peftq_lora_layer_get_adapter_name (layer, 0), ==, "default");
  g_assert_cmpint (peftq_lora_layer_find_adapter (layer, "default"), ==, 0);
  g_assert_cmpfloat (peftq_lora_layer_get_scaling (layer, 0), ==, 4.0);
  g_assert_cmpuint (peftq_tensor_get_rank (peftq_lora_layer_get_scaling_tensor (layer, 0)), ==, 0);
  g_assert_true (PEFTQ_IS_MULTIPLY (peftq_lora_layer_get_mul_scale (layer, 0)));
  g_assert_true (PEFTQ_IS_ADD (peftq_lora_layer_get_add_lora_to_res (layer, 0)));
  g_assert_true (PEFTQ_IS_LINEAR (peftq_lora_layer_get_base_layer (layer)));

  after = run (PEFTQ_MODULE (peft_model), input);
  g_assert_cmpfloat (max_abs_difference (before, after), <=, 1e-6f);

  /* Zeroed weights make the layer equal to its base layer. */
  g_signal_connect (layer, "adapter-weights-changed", G_CALLBACK (on_weights_changed), &n_weight_signals);
  peftq_lora_layer_zero_adapter_weights (layer, 0);
  g_assert_cmpuint (n_weight_signals, ==, 1);
  {
    g_autoptr(PeftqTensor) zeroed = run (PEFTQ_MODULE (peft_model), input);
    g_autoptr(PeftqTensor) base = run (peftq_lora_layer_get_base_layer (layer), input);

    g_assert_cmpfloat (max_abs_difference (zeroed, base), ==, 0.0f);
  }

  g_clear_pointer (&layers, g_ptr_array_unref);
  g_assert_finalize_object (g_steal_pointer (&peft_model));
}

static PeftqPeftModel *
new_two_adapter_dummy (GRand *rand)
{
  PeftqPeftModel *peft_model = new_peft_dummy (rand);
  g_autoptr(PeftqLoraConfig) config = new_dummy_config ();
  g_autoptr(GError) error = NULL;
  PeftqAdapter *second;

  second = peftq_peft_model_add_adapter (peft_model, "default_new", config, 7, &error);
  g_assert_no_error (error);
  g_assert_nonnull (second);
  return peft_model;
}

static void
test_two_adapters_active_set (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autoptr(PeftqPeftModel) peft_model = new_two_adapter_dummy (rand);
  PeftqPeftLoraLayer *layer;
  PeftqAdapter *first, *second;
  gint64 input_shape[2] = { 3, 10 };
  g_autoptr(PeftqTensor) input = random_tensor (rand, input_shape, 2);
  g_autoptr(PeftqTensor) base_output = NULL;
  g_autoptr(PeftqTensor) first_only = NULL;
  g_autoptr(PeftqTensor) both = NULL;
  g_autoptr(PeftqTensor) none = NULL;
  g_autoptr(GError) error = NULL;
  const char *only_second[] = { "default_new", NULL };
  const char *all[] = { "default", "default_new", NULL };
  const char *unknown[] = { "missing", NULL };
  guint n_active_signals = 0;

  g_test_summary ("Only active adapters contribute, and changes are signalled");
  layer = PEFTQ_PEFT_LORA_LAYER (peftq_module_find_module (PEFTQ_MODULE (peft_model), "base_model.model.linear"));
  g_assert_cmpuint (peftq_peft_lora_layer_get_n_adapters (layer), ==, 2);
  g_assert_cmpint (peftq_peft_lora_layer_find_adapter (layer, "default_new"), ==, 1);
  g_assert_nonnull (peftq_module_find_module (PEFTQ_MODULE (peft_model), "base_model.model.linear.lora_A.default_new"));
  set_random_adapter (layer, 0, rand);
  set_random_adapter (layer, 1, rand);

  first = peftq_peft_model_get_adapter (peft_model, "default");
  second = peftq_peft_model_get_adapter (peft_model, "default_new");
  g_assert_true (peftq_adapter_get_active (first));
  g_assert_false (peftq_adapter_get_active (second));

  g_signal_connect (layer, "active-adapters-changed", G_CALLBACK (on_signal_count), &n_active_signals);
  base_output = run (peftq_peft_lora_layer_get_base_layer (layer), input);
  first_only = run (PEFTQ_MODULE (peft_model), input);

  g_assert_true (peftq_peft_model_set_active_adapters (peft_model, all, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_active_signals, ==, 1);
  both = run (PEFTQ_MODULE (peft_model), input);
  g_assert_cmpfloat (max_abs_difference (both, first_only), >, 0.01f);

  g_assert_true (peftq_peft_model_set_active_adapters (peft_model, only_second, &error));
  g_assert_cmpuint (n_active_signals, ==, 2);
  peftq_adapter_set_active (second, FALSE);
  g_assert_cmpuint (n_active_signals, ==, 3);
  none = run (PEFTQ_MODULE (peft_model), input);
  g_assert_cmpfloat (max_abs_difference (none, base_output), ==, 0.0f);

  g_assert_false (peftq_peft_model_set_active_adapters (peft_model, unknown, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "missing"));
  g_assert_false (peftq_adapter_get_active (first));

  g_assert_finalize_object (g_steal_pointer (&peft_model));
}

static void
test_two_adapters_replacement_and_meta_data (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (6);
  g_autoptr(PeftqPeftModel) peft_model = new_two_adapter_dummy (rand);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) meta = NULL;
  g_autoptr(GHashTable) loaded = NULL;
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *json_path = g_build_filename (dir, "meta.json", NULL);
  gint64 input_shape[2] = { 4, 10 };
  g_autoptr(PeftqTensor) input = random_tensor (rand, input_shape, 2);
  g_autoptr(PeftqTensor) before = NULL;
  g_autoptr(PeftqTensor) after = NULL;
  const char *all[] = { "default", "default_new", NULL };
  static const char *const expected[] = {
    "", "base_model", "base_model.model", "base_model.model.linear",
    "base_model.model.linear.base_layer", "base_model.model.linear.lora_A",
    "base_model.model.linear.lora_A.0", "base_model.model.linear.lora_A.1",
    "base_model.model.linear.lora_B", "base_model.model.linear.lora_B.0",
    "base_model.model.linear.lora_B.1", "base_model.model.linear.mul_scale",
    "base_model.model.linear.add_lora_to_res", "base_model.model.linear.mul_scale_1",
    "base_model.model.linear.add_lora_to_res_1", NULL,
  };
  PeftqAdapterMetaData *first, *second;
  PeftqPeftLoraLayer *peft_layer;

  g_test_summary ("Two adapters get indices 0 and 1, their own mul_scale, and metadata");
  peft_layer = PEFTQ_PEFT_LORA_LAYER (peftq_module_find_module (PEFTQ_MODULE (peft_model), "base_model.model.linear"));
  set_random_adapter (peft_layer, 0, rand);
  set_random_adapter (peft_layer, 1, rand);
  g_assert_true (peftq_peft_model_set_active_adapters (peft_model, all, &error));
  before = run (PEFTQ_MODULE (peft_model), input);

  g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (peft_model), NULL, &error));
  g_assert_no_error (error);
  assert_names (PEFTQ_MODULE (peft_model), expected);
  after = run (PEFTQ_MODULE (peft_model), input);
  g_assert_cmpfloat (max_abs_difference (before, after), <=, 1e-6f);

  meta = peftq_track_lora_meta_data (PEFTQ_MODULE (peft_model), dir, "meta", G_TYPE_NONE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (meta), ==, 2);
  first = g_hash_table_lookup (meta, "default");
  second = g_hash_table_lookup (meta, "default_new");
  g_assert_nonnull (first);
  g_assert_nonnull (second);
  g_assert_cmpfloat (peftq_adapter_meta_data_get_alpha (first), ==, 16);
  g_assert_true (peftq_adapter_meta_data_has_alpha (first));
  g_assert_cmpstr (peftq_adapter_meta_data_get_lora_a (first)[0], ==, "base_model.model.linear.lora_A.0");
  g_assert_null (peftq_adapter_meta_data_get_lora_a (first)[1]);
  g_assert_cmpstr (peftq_adapter_meta_data_get_lora_b (second)[0], ==, "base_model.model.linear.lora_B.1");
  g_assert_null (peftq_adapter_meta_data_get_lora_b (second)[1]);
  g_assert_cmpstr (peftq_adapter_meta_data_get_mul_scale (first)[0], ==, "base_model.model.linear.mul_scale");
  g_assert_cmpstr (peftq_adapter_meta_data_get_mul_scale (second)[0], ==, "base_model.model.linear.mul_scale_1");

  g_assert_true (g_file_test (json_path, G_FILE_TEST_IS_REGULAR));
  loaded = peftq_adapter_meta_data_load_file (json_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (loaded), ==, 2);
  g_assert_cmpstr (peftq_adapter_meta_data_get_lora_b (g_hash_table_lookup (loaded, "default_new"))[0], ==,
                   "base_model.model.linear.lora_B.1");
  g_assert_cmpfloat (peftq_adapter_meta_data_get_alpha (g_hash_table_lookup (loaded, "default")), ==, 16);

  peftq_test_remove_dir (dir);
  g_assert_finalize_object (g_steal_pointer (&peft_model));
}

static void
test_save_after_adaptation_and_reload (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (8);
  g_autoptr(PeftqPeftModel) peft_model = new_peft_dummy (rand);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "lora_weights.safetensor", NULL);
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_auto(GStrv) keys = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  PeftqLoraLayer *layer;
  g_autoptr(PeftqTensor) saved_b = NULL;
  g_autoptr(PeftqTensor) original_b = NULL;

  g_test_summary ("save_lora_weights_after_adaptation writes exactly the LoRA weights");
  set_random_adapter (PEFTQ_PEFT_LORA_LAYER (peftq_module_find_module (PEFTQ_MODULE (peft_model),
                                                                        "base_model.model.linear")),
                      0, rand);

  /* Before replacement there is nothing to save. */
  g_assert_false (peftq_save_lora_weights_after_adaptation (PEFTQ_MODULE (peft_model), dir,
                                                            "lora_weights", &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (peft_model), NULL, &error));
  g_assert_true (peftq_save_lora_weights_after_adaptation (PEFTQ_MODULE (peft_model), dir,
                                                           "lora_weights", &error));
  g_assert_no_error (error);

  file = peftq_safetensors_file_open (path, &error);
  g_assert_no_error (error);
  keys = peftq_safetensors_file_get_tensor_names (file);
  g_assert_cmpuint (g_strv_length (keys), ==, 2);
  g_assert_true (g_strv_contains ((const char *const *) keys, "base_model.model.linear.lora_A.0.weight"));
  g_assert_true (g_strv_contains ((const char *const *) keys, "base_model.model.linear.lora_B.0.weight"));

  layers = peftq_list_lora_layers (PEFTQ_MODULE (peft_model));
  layer = g_ptr_array_index (layers, 0);
  original_b = g_object_ref (peftq_module_get_parameter (peftq_lora_layer_get_lora_b (layer, 0), "weight"));
  saved_b = peftq_safetensors_file_get_tensor (file, "base_model.model.linear.lora_B.0.weight", &error);
  g_assert_true (peftq_tensor_equal (saved_b, original_b));

  /* AIMET-style load: zero the adapter, then load the file back. */
  peftq_lora_layer_zero_adapter_weights (layer, 0);
  g_assert_false (peftq_tensor_equal (peftq_module_get_parameter (peftq_lora_layer_get_lora_b (layer, 0), "weight"),
                                      original_b));
  g_assert_true (peftq_load_lora_weights (PEFTQ_MODULE (peft_model), path, &error));
  g_assert_no_error (error);
  g_assert_true (peftq_tensor_equal (peftq_module_get_parameter (peftq_lora_layer_get_lora_b (layer, 0), "weight"),
                                     original_b));

  g_clear_object (&file);
  g_clear_pointer (&layers, g_ptr_array_unref);
  peftq_test_remove_dir (dir);
  g_assert_finalize_object (g_steal_pointer (&peft_model));
}

static void
test_load_lora_weights_missing (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  g_autoptr(PeftqPeftModel) peft_model = new_peft_dummy (rand);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "partial.safetensor", NULL);
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  gint64 a_shape[2] = { 4, 10 };
  g_autoptr(PeftqTensor) a = random_tensor (rand, a_shape, 2);
  g_autoptr(GPtrArray) layers = NULL;
  PeftqTensor *before;

  g_test_summary ("A weights file missing a LoRA module is rejected without changes");
  g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (peft_model), NULL, &error));
  g_assert_true (peftq_safetensors_writer_add_tensor (writer, "base_model.model.linear.lora_A.0.weight", a, &error));
  g_assert_true (peftq_safetensors_writer_add_tensor (writer, "base_model.model.linear.bias_extra", a, &error));
  g_assert_true (peftq_safetensors_writer_write (writer, path, &error));

  layers = peftq_list_lora_layers (PEFTQ_MODULE (peft_model));
  before = peftq_module_get_parameter (peftq_lora_layer_get_lora_a (g_ptr_array_index (layers, 0), 0), "weight");
  g_assert_false (peftq_load_lora_weights (PEFTQ_MODULE (peft_model), path, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "base_model.model.linear.lora_B.0.weight"));
  g_assert_nonnull (strstr (error->message, "bias_extra"));
  g_assert_true (peftq_module_get_parameter (peftq_lora_layer_get_lora_a (g_ptr_array_index (layers, 0), 0), "weight")
                 == before);

  g_clear_pointer (&layers, g_ptr_array_unref);
  peftq_test_remove_dir (dir);
  g_assert_finalize_object (g_steal_pointer (&peft_model));
}

static void
test_replaced_module_type (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (10);
  g_autoptr(PeftqPeftModel) peft_model = new_peft_dummy (rand);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) meta = NULL;
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "lora_weights.safetensor", NULL);
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_auto(GStrv) keys = NULL;
  PeftqModule *list;

  g_test_summary ("Swapped LoRA modules are saved and tracked through their conv2d child");
  g_assert_true (peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (peft_model), NULL, &error));

  /* Swap lora_A.0 and lora_B.0 for wrappers holding the original module as conv2d. */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(PeftqModule) wrapper = g_object_new (TEST_TYPE_CONV_INPLACE_LINEAR, NULL);
      g_autoptr(PeftqModule) inner = NULL;
      g_autoptr(PeftqModule) placeholder = peftq_module_new ();

      list = peftq_module_find_module (PEFTQ_MODULE (peft_model),
                                       i == 0 ? "base_model.model.linear.lora_A" : "base_model.model.linear.lora_B");
      inner = g_object_ref (peftq_module_get_child (list, "0"));
      peftq_module_add_child (list, "0", placeholder);
      peftq_module_add_child (wrapper, "conv2d", inner);
      g_assert_true (peftq_module_replace_child (list, "0", wrapper, &error));
      g_assert_no_error (error);
    }

  g_assert_true (peftq_save_lora_weights_after_adaptation (PEFTQ_MODULE (peft_model), dir,
                                                           "lora_weights", &error));
  g_assert_no_error (error);
  file = peftq_safetensors_file_open (path, &error);
  g_assert_no_error (error);
  keys = peftq_safetensors_file_get_tensor_names (file);
  g_assert_cmpuint (g_strv_length (keys), ==, 2);
  g_assert_true (g_strv_contains ((const char *const *) keys, "base_model.model.linear.lora_A.0.conv2d.weight"));
  g_assert_true (g_strv_contains ((const char *const *) keys, "base_model.model.linear.lora_B.0.conv2d.weight"));

  meta = peftq_track_lora_meta_data (PEFTQ_MODULE (peft_model), dir, "meta", TEST_TYPE_CONV_INPLACE_LINEAR, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (peftq_adapter_meta_data_get_lora_a (g_hash_table_lookup (meta, "default"))[0], ==,
                   "base_model.model.linear.lora_A.0.conv2d");
  g_clear_pointer (&meta, g_hash_table_unref);
  meta = peftq_track_lora_meta_data (PEFTQ_MODULE (peft_model), dir, "meta", G_TYPE_NONE, &error);
  g_assert_cmpstr (peftq_adapter_meta_data_get_lora_a (g_hash_table_lookup (meta, "default"))[0], ==,
                   "base_model.model.linear.lora_A.0");

  g_clear_object (&file);
  peftq_test_remove_dir (dir);
  g_assert_finalize_object (g_steal_pointer (&peft_model));
}

typedef struct
{
  guint stride;
  guint padding;
} ConvGeometry;

static void
test_conv2d_lora (gconstpointer data)
{
  const ConvGeometry *geometry = data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autoptr(PeftqModule) root = peftq_module_new ();
  g_autoptr(PeftqModule) conv = peftq_conv2d_new (3, 4, 3, geometry->stride, geometry->padding, 1, TRUE);
  g_autoptr(PeftqModule) delta_conv = peftq_conv2d_new (3, 4, 3, geometry->stride, geometry->padding, 1, FALSE);
  g_autoptr(PeftqPeftModel) peft_model = NULL;
  g_autoptr(PeftqLoraConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) delta = NULL;
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(PeftqTensor) base_output = NULL;
  g_autoptr(PeftqTensor) delta_output = NULL;
  g_autoptr(PeftqTensor) expected = NULL;
  const char *targets[] = { "conv", NULL };
  gint64 weight_shape[4] = { 4, 3, 3, 3 };
  gint64 a_shape[4] = { 2, 3, 3, 3 };
  gint64 b_shape[4] = { 4, 2, 1, 1 };
  gint64 input_shape[4] = { 1, 3, 5, 5 };
  g_autoptr(PeftqTensor) weight = random_tensor (rand, weight_shape, 4);
  g_autoptr(PeftqTensor) a = random_tensor (rand, a_shape, 4);
  g_autoptr(PeftqTensor) b = random_tensor (rand, b_shape, 4);
  g_autoptr(PeftqTensor) input = random_tensor (rand, input_shape, 4);
  PeftqPeftLoraLayer *layer;
  gsize n_expected;
  g_autofree float *base_values = NULL;
  g_autofree float *delta_values = NULL;

  g_test_summary ("A Conv2d base gets Conv2d LoRA modules, and its output adds the merged delta");
  g_assert_true (peftq_module_set_parameter (conv, "weight", weight, &error));
  peftq_module_add_child (root, "conv", conv);
  peft_model = peftq_peft_model_new (root);
  config = peftq_lora_config_new (2, 3, targets);
  g_assert_nonnull (peftq_peft_model_add_adapter (peft_model, NULL, config, 1, &error));
  g_assert_no_error (error);

  layer = PEFTQ_PEFT_LORA_LAYER (peftq_module_find_module (PEFTQ_MODULE (peft_model), "base_model.model.conv"));
  g_assert_cmpstr (peftq_module_get_type_name (peftq_peft_lora_layer_get_lora_a (layer, 0)), ==, "Conv2d");
  {
    guint stride_height;
    guint padding_width;

    /* lora_A copies the base layer's stride and padding, as PEFT does. */
    peftq_conv2d_get_stride (PEFTQ_CONV2D (peftq_peft_lora_layer_get_lora_a (layer, 0)), &stride_height, NULL);
    peftq_conv2d_get_padding (PEFTQ_CONV2D (peftq_peft_lora_layer_get_lora_a (layer, 0)), NULL, &padding_width);
    g_assert_cmpuint (stride_height, ==, geometry->stride);
    g_assert_cmpuint (padding_width, ==, geometry->padding);
  }
  g_assert_true (peftq_peft_lora_layer_set_adapter_weights (layer, 0, a, b, &error));
  g_assert_no_error (error);

  /* conv(x, W) + conv(x, delta) = conv(x, W + delta), and the LoRA output must match. */
  delta = peftq_peft_lora_layer_compute_delta_weight (layer, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (peftq_tensor_get_rank (delta), ==, 4);
  g_assert_true (peftq_module_set_parameter (delta_conv, "weight", delta, &error));
  output = run (PEFTQ_MODULE (layer), input);
  base_output = run (peftq_peft_lora_layer_get_base_layer (layer), input);
  delta_output = run (delta_conv, input);
  base_values = peftq_tensor_to_floats (base_output, &n_expected);
  delta_values = peftq_tensor_to_floats (delta_output, &n_expected);
  for (gsize i = 0; i < n_expected; i++)
    base_values[i] += delta_values[i];
  assert_matches_reference (output, base_values, n_expected, 1e-4f);
  g_assert_cmpfloat (max_abs_difference (output, base_output), >, 0.01f);

  g_assert_finalize_object (g_steal_pointer (&peft_model));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/peft-model/get-peft-model-names", test_get_peft_model_names);
  g_test_add_func ("/peftq/peft-model/forward-formula", test_forward_matches_formula);
  g_test_add_func ("/peftq/peft-model/delta-weight-square", test_delta_weight_square);
  g_test_add_func ("/peftq/peft-model/replacement", test_replacement);
  g_test_add_func ("/peftq/peft-model/two-adapters-active-set", test_two_adapters_active_set);
  g_test_add_func ("/peftq/peft-model/two-adapters-meta-data", test_two_adapters_replacement_and_meta_data);
  g_test_add_func ("/peftq/peft-model/save-after-adaptation", test_save_after_adaptation_and_reload);
  g_test_add_func ("/peftq/peft-model/load-lora-weights-missing", test_load_lora_weights_missing);
  g_test_add_func ("/peftq/peft-model/replaced-module-type", test_replaced_module_type);
  {
    static const ConvGeometry same_size = { 1, 1 };
    static const ConvGeometry strided = { 2, 0 };

    g_test_add_data_func ("/peftq/peft-model/conv2d-lora", &same_size, test_conv2d_lora);
    g_test_add_data_func ("/peftq/peft-model/conv2d-lora-strided", &strided, test_conv2d_lora);
  }

  return g_test_run ();
}
