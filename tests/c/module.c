/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq.h>
#include <math.h>
#include <string.h>

#include "peftq-forward-context-private.h"
#include "test-util.h"

/* A quantizer that rounds to multiples of its step and counts its calls. It has an
 * `encoding-changed` signal, like the real quantizers, so modules may cache its output. */
#define TEST_TYPE_QUANTIZER (test_quantizer_get_type ())
G_DECLARE_FINAL_TYPE (TestQuantizer, test_quantizer, TEST, QUANTIZER, PeftqQuantizer)

struct _TestQuantizer
{
  PeftqQuantizer parent_instance;
  float step;
  guint n_calls;
};

G_DEFINE_FINAL_TYPE (TestQuantizer, test_quantizer, PEFTQ_TYPE_QUANTIZER)

static PeftqTensor *
test_quantizer_forward (PeftqQuantizer  *quantizer,
                        PeftqTensor     *input,
                        GError         **error)
{
  TestQuantizer *self = TEST_QUANTIZER (quantizer);
  gsize n = 0;
  g_autofree float *values = peftq_tensor_to_floats (input, &n);
  guint rank;
  const gint64 *shape = peftq_tensor_get_shape (input, &rank);

  self->n_calls++;
  for (gsize i = 0; i < n; i++)
    values[i] = roundf (values[i] / self->step) * self->step;

  return peftq_tensor_new_from_floats (values, n, shape, rank, error);
}

static void
test_quantizer_class_init (TestQuantizerClass *klass)
{
  PEFTQ_QUANTIZER_CLASS (klass)->forward = test_quantizer_forward;
  g_signal_new ("encoding-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
test_quantizer_init (TestQuantizer *self)
{
  self->step = 1.0f;
}

static PeftqTensor *
make_tensor (const float  *values,
             gsize         n,
             const gint64 *shape,
             guint         rank)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *tensor = peftq_tensor_new_from_floats (values, n, shape, rank, &error);

  g_assert_no_error (error);
  return tensor;
}

static PeftqTensor *
make_zeros (const gint64 *shape,
            guint         rank)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *tensor = peftq_tensor_new (PEFTQ_DTYPE_F32, shape, rank, &error);

  g_assert_no_error (error);
  return tensor;
}

static void
assert_strv (char       **actual,
             const char  *const *expected)
{
  guint n_actual = g_strv_length (actual);
  guint n_expected = g_strv_length ((char **) expected);

  for (guint i = 0; i < MIN (n_actual, n_expected); i++)
    g_assert_cmpstr (actual[i], ==, expected[i]);
  g_assert_cmpuint (n_actual, ==, n_expected);
}

/* root
 *   model (container)
 *     embed_tokens (container with weight [4, 2])
 *     layers (container)
 *       0: Linear(2, 2) with bias
 *       1: the same Linear as 0 (shared)
 *     norm (container with weight [2])
 *   lm_head: Linear(2, 4) without bias, weight tied to embed_tokens.weight */
static PeftqModule *
build_tree (void)
{
  PeftqModule *root = peftq_module_new ();
  g_autoptr(PeftqModule) model = peftq_module_new ();
  g_autoptr(PeftqModule) embed = peftq_module_new ();
  g_autoptr(PeftqModule) layers = peftq_module_new ();
  g_autoptr(PeftqModule) linear = peftq_linear_new (2, 2, TRUE);
  g_autoptr(PeftqModule) norm = peftq_module_new ();
  g_autoptr(PeftqModule) lm_head = peftq_linear_new (2, 4, FALSE);
  g_autoptr(PeftqTensor) embed_weight = make_zeros ((gint64[]) { 4, 2 }, 2);
  g_autoptr(PeftqTensor) norm_weight = make_zeros ((gint64[]) { 2 }, 1);

  peftq_module_register_parameter (embed, "weight", embed_weight);
  peftq_module_register_parameter (norm, "weight", norm_weight);
  peftq_module_add_child (model, "embed_tokens", embed);
  peftq_module_add_child (layers, "0", linear);
  peftq_module_add_child (layers, "1", linear);
  peftq_module_add_child (model, "layers", layers);
  peftq_module_add_child (model, "norm", norm);
  peftq_module_add_child (root, "model", model);
  peftq_module_add_child (root, "lm_head", lm_head);
  peftq_module_tie_parameter (lm_head, "weight", embed, "weight");

  return root;
}

static void
test_module_names (void)
{
  g_autoptr(PeftqModule) root = build_tree ();
  PeftqModule *linear = peftq_module_find_module (root, "model.layers.0");
  PeftqModule *shared = peftq_module_find_module (root, "model.layers.1");
  g_autofree char *root_name = peftq_module_dup_qualified_name (root);
  g_autofree char *linear_name = NULL;

  g_assert_nonnull (linear);
  g_assert_true (shared == linear);
  g_assert_cmpstr (root_name, ==, "");
  g_assert_cmpstr (peftq_module_get_name (root), ==, "");
  g_assert_null (peftq_module_get_parent (root));

  /* A shared module keeps the name and parent of its first registration. */
  linear_name = peftq_module_dup_qualified_name (linear);
  g_assert_cmpstr (linear_name, ==, "model.layers.0");
  g_assert_cmpstr (peftq_module_get_name (linear), ==, "0");
  g_assert_true (peftq_module_get_parent (linear) == peftq_module_find_module (root, "model.layers"));

  g_assert_true (peftq_module_find_module (root, "") == root);
  g_assert_null (peftq_module_find_module (root, "model.missing"));
  g_assert_null (peftq_module_find_module (root, "model.layers.0.weight"));
  g_assert_null (peftq_module_get_child (root, "layers"));

  g_assert_cmpstr (peftq_module_get_type_name (root), ==, "Module");
  g_assert_null (peftq_module_get_op_type (root));
  g_assert_cmpstr (peftq_module_get_type_name (linear), ==, "Linear");
  g_assert_cmpstr (peftq_module_get_op_type (linear), ==, "Gemm");
}

static void
test_module_named_modules (void)
{
  g_autoptr(PeftqModule) root = build_tree ();
  g_autoptr(GPtrArray) modules = peftq_module_list_modules (root);
  g_autoptr(GPtrArray) children = peftq_module_get_children (root);
  g_auto(GStrv) names = peftq_module_list_module_names (root);
  g_auto(GStrv) sub_names = peftq_module_list_module_names (peftq_module_find_module (root, "model"));
  const char *const expected[] = {
    "", "model", "model.embed_tokens", "model.layers", "model.layers.0", "model.norm", "lm_head", NULL
  };
  const char *const expected_sub[] = { "", "embed_tokens", "layers", "layers.0", "norm", NULL };

  assert_strv (names, expected);
  assert_strv (sub_names, expected_sub);
  g_assert_cmpuint (modules->len, ==, G_N_ELEMENTS (expected) - 1);
  for (guint i = 0; i < modules->len; i++)
    g_assert_true (g_ptr_array_index (modules, i) == peftq_module_find_module (root, expected[i]));

  g_assert_cmpuint (children->len, ==, 2);
  g_assert_true (g_ptr_array_index (children, 0) == peftq_module_get_child (root, "model"));
  g_assert_true (g_ptr_array_index (children, 1) == peftq_module_get_child (root, "lm_head"));
}

static void
test_module_named_parameters (void)
{
  g_autoptr(PeftqModule) root = build_tree ();
  g_auto(GStrv) named = peftq_module_list_named_parameters (root);
  g_auto(GStrv) keys = peftq_module_list_state_dict_keys (root);
  g_auto(GStrv) own = peftq_module_list_parameter_names (peftq_module_find_module (root, "model.layers.0"));
  g_autoptr(GHashTable) state = peftq_module_state_dict (root);
  /* Tied and shared parameters once, as torch's named_parameters() lists them. */
  const char *const expected_named[] = {
    "model.embed_tokens.weight", "model.layers.0.weight", "model.layers.0.bias", "model.norm.weight", NULL
  };
  /* Every path, as torch's state_dict() lists them. */
  const char *const expected_keys[] = {
    "model.embed_tokens.weight", "model.layers.0.weight", "model.layers.0.bias",
    "model.layers.1.weight", "model.layers.1.bias", "model.norm.weight", "lm_head.weight", NULL
  };
  const char *const expected_own[] = { "weight", "bias", NULL };

  assert_strv (named, expected_named);
  assert_strv (keys, expected_keys);
  assert_strv (own, expected_own);

  g_assert_cmpuint (g_hash_table_size (state), ==, G_N_ELEMENTS (expected_keys) - 1);
  g_assert_true (g_hash_table_lookup (state, "lm_head.weight") ==
                 g_hash_table_lookup (state, "model.embed_tokens.weight"));
  g_assert_true (g_hash_table_lookup (state, "model.layers.1.bias") ==
                 peftq_module_get_parameter (peftq_module_find_module (root, "model.layers.0"), "bias"));
}

static void
test_module_tied_parameter_set (void)
{
  g_autoptr(PeftqModule) root = build_tree ();
  g_autoptr(GError) error = NULL;
  const float values[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  g_autoptr(PeftqTensor) weight = make_tensor (values, 8, (gint64[]) { 4, 2 }, 2);
  PeftqModule *lm_head = peftq_module_find_module (root, "lm_head");
  PeftqModule *embed = peftq_module_find_module (root, "model.embed_tokens");

  g_assert_true (peftq_module_set_parameter (lm_head, "weight", weight, &error));
  g_assert_no_error (error);
  g_assert_true (peftq_module_get_parameter (embed, "weight") == weight);
}

static void
test_module_replace_child (void)
{
  g_autoptr(PeftqModule) root = build_tree ();
  g_autoptr(PeftqModule) replacement = peftq_linear_new (2, 4, TRUE);
  g_autoptr(PeftqModule) old = g_object_ref (peftq_module_get_child (root, "lm_head"));
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_autofree char *qualified = NULL;
  const char *const expected[] = {
    "", "model", "model.embed_tokens", "model.layers", "model.layers.0", "model.norm", "lm_head", NULL
  };

  g_assert_true (peftq_module_replace_child (root, "lm_head", replacement, &error));
  g_assert_no_error (error);
  g_assert_true (peftq_module_get_child (root, "lm_head") == replacement);
  g_assert_null (peftq_module_get_parent (old));
  g_assert_true (peftq_module_get_parent (replacement) == root);
  qualified = peftq_module_dup_qualified_name (replacement);
  g_assert_cmpstr (qualified, ==, "lm_head");

  /* The replacement keeps the position of the old child. */
  names = peftq_module_list_module_names (root);
  assert_strv (names, expected);

  g_assert_false (peftq_module_replace_child (root, "missing", replacement, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "missing"));
}

static void
test_module_load_state_dict (void)
{
  g_autoptr(PeftqModule) root = build_tree ();
  g_autoptr(GHashTable) state = peftq_module_state_dict (root);
  g_autoptr(GError) error = NULL;
  const float values[] = { 1, 2 };
  g_autoptr(PeftqTensor) norm = make_tensor (values, 2, (gint64[]) { 2 }, 1);
  g_autoptr(PeftqTensor) wrong = make_zeros ((gint64[]) { 3 }, 1);
  PeftqModule *norm_module = peftq_module_find_module (root, "model.norm");
  PeftqTensor *old_norm = peftq_module_get_parameter (norm_module, "weight");

  /* Strict: a missing key is an error that names it, and nothing changes. */
  g_hash_table_insert (state, g_strdup ("model.norm.weight"), g_object_ref (norm));
  g_hash_table_remove (state, "model.layers.1.bias");
  g_assert_false (peftq_module_load_state_dict (root, state, TRUE, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "missing keys “model.layers.1.bias”"));
  g_assert_true (peftq_module_get_parameter (norm_module, "weight") == old_norm);
  g_clear_error (&error);

  /* Strict: an unexpected key is an error that names it. */
  g_hash_table_insert (state, g_strdup ("model.layers.1.bias"),
                       g_object_ref (g_hash_table_lookup (state, "model.layers.0.bias")));
  g_hash_table_insert (state, g_strdup ("model.extra.weight"), g_object_ref (norm));
  g_assert_false (peftq_module_load_state_dict (root, state, TRUE, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "unexpected keys “model.extra.weight”"));
  g_clear_error (&error);

  /* Not strict: the unexpected and missing keys are skipped, the rest is loaded. */
  g_hash_table_remove (state, "model.layers.1.bias");
  g_assert_true (peftq_module_load_state_dict (root, state, FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (peftq_module_get_parameter (norm_module, "weight") == norm);

  /* A wrong shape is an error in either mode, naming the key and both shapes. */
  g_hash_table_insert (state, g_strdup ("model.norm.weight"), g_object_ref (wrong));
  g_assert_false (peftq_module_load_state_dict (root, state, FALSE, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "model.norm.weight"));
  g_assert_nonnull (strstr (error->message, "[2]"));
  g_assert_nonnull (strstr (error->message, "[3]"));
  g_assert_true (peftq_module_get_parameter (norm_module, "weight") == norm);
}

static void
test_module_set_parameter_checks (void)
{
  g_autoptr(PeftqModule) root = build_tree ();
  PeftqModule *linear = peftq_module_find_module (root, "model.layers.0");
  g_autoptr(PeftqTensor) wrong = make_zeros ((gint64[]) { 2, 3 }, 2);
  g_autoptr(PeftqTensor) ids = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (peftq_module_set_parameter (linear, "weight", wrong, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "model.layers.0.weight"));
  g_assert_nonnull (strstr (error->message, "[2, 2]"));
  g_assert_nonnull (strstr (error->message, "[2, 3]"));
  g_clear_error (&error);

  g_assert_false (peftq_module_set_parameter (linear, "scale", wrong, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "scale"));
  g_clear_error (&error);

  ids = peftq_tensor_new (PEFTQ_DTYPE_I64, (gint64[]) { 2, 2 }, 2, &error);
  g_assert_no_error (error);
  g_assert_false (peftq_module_set_parameter (linear, "weight", ids, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_DTYPE_MISMATCH);
}

static void
test_module_quantizer_slots (void)
{
  g_autoptr(PeftqModule) add = peftq_add_new ();
  g_autoptr(TestQuantizer) first = g_object_new (TEST_TYPE_QUANTIZER, NULL);
  g_autoptr(TestQuantizer) output = g_object_new (TEST_TYPE_QUANTIZER, NULL);
  const float a_values[] = { 0.4f, 1.4f };
  const float b_values[] = { 0.3f, 0.3f };
  g_autoptr(PeftqTensor) a = make_tensor (a_values, 2, (gint64[]) { 2 }, 1);
  g_autoptr(PeftqTensor) b = make_tensor (b_values, 2, (gint64[]) { 2 }, 1);
  PeftqTensor *inputs[] = { a, b };
  g_autoptr(PeftqTensor) result = NULL;
  g_autoptr(GError) error = NULL;
  const float *values;

  g_assert_cmpuint (peftq_module_get_n_input_quantizers (add), ==, 0);
  g_assert_cmpuint (peftq_module_get_n_output_quantizers (add), ==, 0);
  g_assert_null (peftq_module_get_input_quantizer (add, 0));

  /* Input 0 rounds to whole numbers: 0.4 -> 0 and 1.4 -> 1; then + 0.3. */
  peftq_module_set_input_quantizer (add, 0, PEFTQ_QUANTIZER (first));
  g_assert_cmpuint (peftq_module_get_n_input_quantizers (add), ==, 1);
  g_assert_true (peftq_module_get_input_quantizer (add, 0) == PEFTQ_QUANTIZER (first));
  result = peftq_module_forward (add, NULL, inputs, 2, &error);
  g_assert_no_error (error);
  values = peftq_tensor_peek_data (result);
  g_assert_cmpfloat_with_epsilon (values[0], 0.3f, 1e-6);
  g_assert_cmpfloat_with_epsilon (values[1], 1.3f, 1e-6);
  g_assert_cmpuint (first->n_calls, ==, 1);
  g_clear_object (&result);

  /* The output quantizer rounds 0.3 -> 0 and 1.3 -> 1. */
  peftq_module_set_output_quantizer (add, 0, PEFTQ_QUANTIZER (output));
  g_assert_cmpuint (peftq_module_get_n_output_quantizers (add), ==, 1);
  result = peftq_module_forward (add, NULL, inputs, 2, &error);
  g_assert_no_error (error);
  values = peftq_tensor_peek_data (result);
  g_assert_cmpfloat (values[0], ==, 0.0f);
  g_assert_cmpfloat (values[1], ==, 1.0f);
  g_assert_cmpuint (output->n_calls, ==, 1);

  /* Input slot 2 alone counts three slots; emptying it counts none again. */
  peftq_module_clear_quantizers (add);
  g_assert_cmpuint (peftq_module_get_n_input_quantizers (add), ==, 0);
  g_assert_cmpuint (peftq_module_get_n_output_quantizers (add), ==, 0);
  peftq_module_set_input_quantizer (add, 2, PEFTQ_QUANTIZER (first));
  g_assert_cmpuint (peftq_module_get_n_input_quantizers (add), ==, 3);
  g_assert_null (peftq_module_get_input_quantizer (add, 1));
  peftq_module_set_input_quantizer (add, 2, NULL);
  g_assert_cmpuint (peftq_module_get_n_input_quantizers (add), ==, 0);
}

static void
test_module_param_quantizer_cache (void)
{
  const float weight_values[] = { 0.4f, 1.6f, -0.6f, 2.2f };
  g_autoptr(PeftqTensor) weight = make_tensor (weight_values, 4, (gint64[]) { 2, 2 }, 2);
  g_autoptr(PeftqTensor) other = make_tensor (weight_values, 4, (gint64[]) { 2, 2 }, 2);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqModule) linear = peftq_linear_new_with_weights (weight, NULL, &error);
  g_autoptr(TestQuantizer) quantizer = g_object_new (TEST_TYPE_QUANTIZER, NULL);
  g_autoptr(PeftqTensor) effective = NULL;
  g_autoptr(PeftqTensor) again = NULL;
  const float *values;

  g_assert_no_error (error);
  g_assert_null (peftq_module_get_param_quantizer (linear, "weight"));

  peftq_module_set_param_quantizer (linear, "weight", PEFTQ_QUANTIZER (quantizer));
  g_assert_true (peftq_module_get_param_quantizer (linear, "weight") == PEFTQ_QUANTIZER (quantizer));
  effective = peftq_module_get_effective_parameter (linear, "weight", &error);
  g_assert_no_error (error);
  values = peftq_tensor_peek_data (effective);
  g_assert_cmpfloat (values[0], ==, 0.0f);
  g_assert_cmpfloat (values[1], ==, 2.0f);
  g_assert_cmpfloat (values[2], ==, -1.0f);
  g_assert_cmpfloat (values[3], ==, 2.0f);
  g_clear_object (&effective);

  /* The result is cached until the quantizer signals a change. */
  effective = peftq_module_get_effective_parameter (linear, "weight", &error);
  g_assert_cmpuint (quantizer->n_calls, ==, 1);
  quantizer->step = 0.5f;
  g_signal_emit_by_name (quantizer, "encoding-changed");
  again = peftq_module_get_effective_parameter (linear, "weight", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (quantizer->n_calls, ==, 2);
  values = peftq_tensor_peek_data (again);
  g_assert_cmpfloat (values[0], ==, 0.5f);
  g_clear_object (&again);

  /* Setting the parameter drops the cache too. */
  g_assert_true (peftq_module_set_parameter (linear, "weight", other, &error));
  again = peftq_module_get_effective_parameter (linear, "weight", &error);
  g_assert_cmpuint (quantizer->n_calls, ==, 3);
  g_clear_object (&again);

  /* Without a quantizer the stored float32 value is used as it is. */
  peftq_module_set_param_quantizer (linear, "weight", NULL);
  again = peftq_module_get_effective_parameter (linear, "weight", &error);
  g_assert_no_error (error);
  g_assert_true (peftq_tensor_equal (again, other));
  g_assert_cmpuint (quantizer->n_calls, ==, 3);
}

static void
test_module_f16_parameter (void)
{
  const float values[] = { 0.5f, -2.0f, 1.25f, 3.0f };
  g_autoptr(PeftqTensor) f32 = make_tensor (values, 4, (gint64[]) { 2, 2 }, 2);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) f16 = peftq_tensor_convert (f32, PEFTQ_DTYPE_F16, &error);
  g_autoptr(PeftqModule) linear = peftq_linear_new (2, 2, FALSE);
  g_autoptr(PeftqTensor) first = NULL;
  g_autoptr(PeftqTensor) second = NULL;

  g_assert_no_error (error);
  g_assert_true (peftq_module_set_parameter (linear, "weight", f16, &error));
  g_assert_true (peftq_module_get_parameter (linear, "weight") == f16);

  first = peftq_module_get_effective_parameter (linear, "weight", &error);
  g_assert_no_error (error);
  g_assert_cmpint (peftq_tensor_get_dtype (first), ==, PEFTQ_DTYPE_F32);
  g_assert_true (peftq_tensor_equal (first, f32));

  /* Converted once: the second call returns the same float32 tensor. */
  second = peftq_module_get_effective_parameter (linear, "weight", &error);
  g_assert_true (first == second);
}

static void
test_module_container_forward (void)
{
  g_autoptr(PeftqModule) container = peftq_module_new ();
  g_autoptr(PeftqTensor) input = make_zeros ((gint64[]) { 2 }, 1);
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(GError) error = NULL;

  output = peftq_module_forward_one (container, NULL, input, &error);
  g_assert_null (output);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED);
}

static void
test_module_cancelled_forward (void)
{
  g_autoptr(PeftqModule) linear = peftq_linear_new (2, 2, TRUE);
  g_autoptr(PeftqForwardContext) context = peftq_forward_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PeftqTensor) input = make_zeros ((gint64[]) { 1, 2 }, 2);
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(GError) error = NULL;

  peftq_forward_context_set_cancellable (context, cancellable);
  g_assert_true (peftq_forward_context_get_cancellable (context) == cancellable);
  g_cancellable_cancel (cancellable);
  output = peftq_module_forward_one (linear, context, input, &error);
  g_assert_null (output);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

typedef struct
{
  GPtrArray *modules;
  guint n_inputs;
} Trace;

static void
record_step (PeftqModule  *module,
             PeftqTensor **inputs,
             guint         n_inputs,
             PeftqTensor  *output,
             gpointer      user_data)
{
  Trace *trace = user_data;

  g_assert_true (PEFTQ_IS_TENSOR (output));
  g_ptr_array_add (trace->modules, module);
  trace->n_inputs += n_inputs;
}

static void
test_module_recorder (void)
{
  g_autoptr(PeftqModule) add = peftq_add_new ();
  g_autoptr(PeftqModule) mul = peftq_multiply_new ();
  g_autoptr(PeftqForwardContext) context = peftq_forward_context_new ();
  g_autoptr(PeftqTensor) a = make_zeros ((gint64[]) { 3 }, 1);
  g_autoptr(PeftqTensor) sum = NULL;
  g_autoptr(PeftqTensor) product = NULL;
  g_autoptr(GPtrArray) modules = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  Trace trace = { modules, 0 };
  PeftqTensor *inputs[2] = { a, a };

  peftq_forward_context_set_recorder (context, record_step, &trace, NULL);
  sum = peftq_module_forward (add, context, inputs, 2, &error);
  g_assert_no_error (error);
  inputs[1] = sum;
  product = peftq_module_forward (mul, context, inputs, 2, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (modules->len, ==, 2);
  g_assert_true (g_ptr_array_index (modules, 0) == add);
  g_assert_true (g_ptr_array_index (modules, 1) == mul);
  g_assert_cmpuint (trace.n_inputs, ==, 4);
}

/* y = x · Wᵀ + b with W = [[1, 2], [3, 4], [5, 6]], b = [0.5, -1, 2]:
 * x = [1, 1]  -> [3.5, 6, 13]
 * x = [2, -1] -> [0.5, 1, 6] */
static void
test_linear_forward (void)
{
  const float w[] = { 1, 2, 3, 4, 5, 6 };
  const float b[] = { 0.5f, -1, 2 };
  const float x[] = { 1, 1, 2, -1 };
  const float expected[] = { 3.5f, 6, 13, 0.5f, 1, 6 };
  g_autoptr(PeftqTensor) weight = make_tensor (w, 6, (gint64[]) { 3, 2 }, 2);
  g_autoptr(PeftqTensor) bias = make_tensor (b, 3, (gint64[]) { 3 }, 1);
  g_autoptr(PeftqTensor) input = make_tensor (x, 4, (gint64[]) { 1, 2, 2 }, 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqModule) linear = peftq_linear_new_with_weights (weight, bias, &error);
  g_autoptr(PeftqTensor) output = NULL;
  const float *values;
  guint rank;
  const gint64 *shape;

  g_assert_no_error (error);
  g_assert_cmpuint (peftq_linear_get_in_features (PEFTQ_LINEAR (linear)), ==, 2);
  g_assert_cmpuint (peftq_linear_get_out_features (PEFTQ_LINEAR (linear)), ==, 3);
  g_assert_true (peftq_linear_get_has_bias (PEFTQ_LINEAR (linear)));

  output = peftq_module_forward_one (linear, NULL, input, &error);
  g_assert_no_error (error);
  shape = peftq_tensor_get_shape (output, &rank);
  g_assert_cmpuint (rank, ==, 3);
  g_assert_cmpint (shape[0], ==, 1);
  g_assert_cmpint (shape[1], ==, 2);
  g_assert_cmpint (shape[2], ==, 3);
  values = peftq_tensor_peek_data (output);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpfloat_with_epsilon (values[i], expected[i], 1e-6);
}

/* Without bias: W = [[1, -1]], x = [3, 5] -> [-2]. */
static void
test_linear_no_bias (void)
{
  const float w[] = { 1, -1 };
  const float x[] = { 3, 5 };
  g_autoptr(PeftqTensor) weight = make_tensor (w, 2, (gint64[]) { 1, 2 }, 2);
  g_autoptr(PeftqTensor) input = make_tensor (x, 2, (gint64[]) { 2 }, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqModule) linear = peftq_linear_new_with_weights (weight, NULL, &error);
  g_autoptr(PeftqTensor) output = NULL;
  g_auto(GStrv) params = NULL;

  g_assert_no_error (error);
  params = peftq_module_list_parameter_names (linear);
  g_assert_cmpuint (g_strv_length (params), ==, 1);
  g_assert_false (peftq_linear_get_has_bias (PEFTQ_LINEAR (linear)));

  output = peftq_module_forward_one (linear, NULL, input, &error);
  g_assert_no_error (error);
  g_assert_cmpint (peftq_tensor_get_rank (output), ==, 1);
  g_assert_cmpfloat (((const float *) peftq_tensor_peek_data (output))[0], ==, -2.0f);
}

static void
test_linear_shape_error (void)
{
  g_autoptr(PeftqModule) root = peftq_module_new ();
  g_autoptr(PeftqModule) linear = peftq_linear_new (4, 2, TRUE);
  g_autoptr(PeftqTensor) input = make_zeros ((gint64[]) { 1, 3 }, 2);
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(GError) error = NULL;

  peftq_module_add_child (root, "proj", linear);
  output = peftq_module_forward_one (linear, NULL, input, &error);
  g_assert_null (output);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "“proj”"));
  g_assert_nonnull (strstr (error->message, "[1, 3]"));
  g_assert_nonnull (strstr (error->message, "[..., 4]"));
}

/* [[1, 2, 3], [4, 5, 6]] + [10, 20, 30] = [[11, 22, 33], [14, 25, 36]]
 * [[1, 2, 3], [4, 5, 6]] * [[2], [-1]] = [[2, 4, 6], [-4, -5, -6]]
 * [[1, 2, 3], [4, 5, 6]] * 0.5 (0-d)   = [[0.5, 1, 1.5], [2, 2.5, 3]] */
static void
test_add_multiply_broadcast (void)
{
  const float m[] = { 1, 2, 3, 4, 5, 6 };
  const float row[] = { 10, 20, 30 };
  const float column[] = { 2, -1 };
  const float half = 0.5f;
  const float expected_sum[] = { 11, 22, 33, 14, 25, 36 };
  const float expected_column[] = { 2, 4, 6, -4, -5, -6 };
  const float expected_half[] = { 0.5f, 1, 1.5f, 2, 2.5f, 3 };
  g_autoptr(PeftqTensor) matrix = make_tensor (m, 6, (gint64[]) { 2, 3 }, 2);
  g_autoptr(PeftqTensor) row_tensor = make_tensor (row, 3, (gint64[]) { 3 }, 1);
  g_autoptr(PeftqTensor) column_tensor = make_tensor (column, 2, (gint64[]) { 2, 1 }, 2);
  g_autoptr(PeftqTensor) scalar = make_tensor (&half, 1, NULL, 0);
  g_autoptr(PeftqModule) add = peftq_add_new ();
  g_autoptr(PeftqModule) mul = peftq_multiply_new ();
  g_autoptr(GError) error = NULL;
  struct
  {
    PeftqModule *module;
    PeftqTensor *a;
    PeftqTensor *b;
    const float *expected;
  } cases[] = {
    { add, matrix, row_tensor, expected_sum },
    { add, row_tensor, matrix, expected_sum },
    { mul, matrix, column_tensor, expected_column },
    { mul, matrix, scalar, expected_half },
    { mul, scalar, matrix, expected_half },
  };

  g_assert_cmpstr (peftq_module_get_op_type (add), ==, "Add");
  g_assert_cmpstr (peftq_module_get_op_type (mul), ==, "Mul");

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      PeftqTensor *inputs[] = { cases[c].a, cases[c].b };
      g_autoptr(PeftqTensor) output = peftq_module_forward (cases[c].module, NULL, inputs, 2, &error);
      const float *values;

      g_assert_no_error (error);
      g_assert_cmpuint (peftq_tensor_get_rank (output), ==, 2);
      g_assert_cmpint (peftq_tensor_get_dim (output, 0), ==, 2);
      g_assert_cmpint (peftq_tensor_get_dim (output, 1), ==, 3);
      values = peftq_tensor_peek_data (output);
      for (guint i = 0; i < 6; i++)
        g_assert_cmpfloat_with_epsilon (values[i], cases[c].expected[i], 1e-6);
    }
}

static void
test_add_shape_error (void)
{
  g_autoptr(PeftqModule) add = peftq_add_new ();
  g_autoptr(PeftqTensor) a = make_zeros ((gint64[]) { 2, 3 }, 2);
  g_autoptr(PeftqTensor) b = make_zeros ((gint64[]) { 2, 4 }, 2);
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(GError) error = NULL;
  PeftqTensor *inputs[] = { a, b };

  output = peftq_module_forward (add, NULL, inputs, 2, &error);
  g_assert_null (output);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "[2, 3]"));
  g_assert_nonnull (strstr (error->message, "[2, 4]"));
  g_clear_error (&error);

  output = peftq_module_forward (add, NULL, inputs, 1, &error);
  g_assert_null (output);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/module/names", test_module_names);
  g_test_add_func ("/module/named-modules", test_module_named_modules);
  g_test_add_func ("/module/named-parameters", test_module_named_parameters);
  g_test_add_func ("/module/tied-parameter-set", test_module_tied_parameter_set);
  g_test_add_func ("/module/replace-child", test_module_replace_child);
  g_test_add_func ("/module/load-state-dict", test_module_load_state_dict);
  g_test_add_func ("/module/set-parameter-checks", test_module_set_parameter_checks);
  g_test_add_func ("/module/quantizer-slots", test_module_quantizer_slots);
  g_test_add_func ("/module/param-quantizer-cache", test_module_param_quantizer_cache);
  g_test_add_func ("/module/f16-parameter", test_module_f16_parameter);
  g_test_add_func ("/module/container-forward", test_module_container_forward);
  g_test_add_func ("/module/cancelled-forward", test_module_cancelled_forward);
  g_test_add_func ("/module/recorder", test_module_recorder);
  g_test_add_func ("/linear/forward", test_linear_forward);
  g_test_add_func ("/linear/no-bias", test_linear_no_bias);
  g_test_add_func ("/linear/shape-error", test_linear_shape_error);
  g_test_add_func ("/binary/broadcast", test_add_multiply_broadcast);
  g_test_add_func ("/binary/shape-error", test_add_shape_error);

  return g_test_run ();
}
