/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <math.h>
#include <peftq.h>
#include <string.h>

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
make_ids (const gint64 *values,
          gsize         n,
          const gint64 *shape,
          guint         rank)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (values, n * sizeof (gint64));
  PeftqTensor *tensor = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, shape, rank, bytes, &error);

  g_assert_no_error (error);
  return tensor;
}

static void
set_param (PeftqModule *module,
           const char  *name,
           const float *values,
           gsize        n)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *old = peftq_module_get_parameter (module, name);
  guint rank;
  const gint64 *shape = peftq_tensor_get_shape (old, &rank);
  g_autoptr(PeftqTensor) tensor = make_tensor (values, n, shape, rank);

  g_assert_true (peftq_module_set_parameter (module, name, tensor, &error));
  g_assert_no_error (error);
}

static void
assert_values (PeftqTensor *tensor,
               const float *expected,
               gsize        n,
               double       tolerance)
{
  const float *values = peftq_tensor_peek_data (tensor);

  g_assert_cmpuint (peftq_tensor_get_n_elements (tensor), ==, n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (values[i], expected[i], tolerance);
}

static PeftqTensor *
run_one (PeftqModule *module,
         PeftqTensor *input)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *output = peftq_module_forward_one (module, NULL, input, &error);

  g_assert_no_error (error);
  g_assert_nonnull (output);
  return output;
}

static PeftqTensor *
run_two (PeftqModule *module,
         PeftqTensor *a,
         PeftqTensor *b)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *inputs[] = { a, b };
  PeftqTensor *output = peftq_module_forward (module, NULL, inputs, 2, &error);

  g_assert_no_error (error);
  g_assert_nonnull (output);
  return output;
}

/* Conv1D stores W as [in, out]: W = [[1, 2, 3], [4, 5, 6]], b = [1, 0, -1]
 * x = [1, -1] -> x · W + b = [1 - 4 + 1, 2 - 5, 3 - 6 - 1] = [-2, -3, -4] */
static void
test_conv1d (void)
{
  g_autoptr(PeftqModule) conv = peftq_conv1d_new (2, 3);
  const float w[] = { 1, 2, 3, 4, 5, 6 };
  const float b[] = { 1, 0, -1 };
  const float x[] = { 1, -1 };
  const float expected[] = { -2, -3, -4 };
  g_autoptr(PeftqTensor) input = make_tensor (x, 2, (gint64[]) { 1, 1, 2 }, 3);
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(PeftqTensor) wrong = make_tensor (w, 6, (gint64[]) { 3, 2 }, 2);
  g_autoptr(GError) error = NULL;

  set_param (conv, "weight", w, 6);
  set_param (conv, "bias", b, 3);
  output = run_one (conv, input);
  g_assert_cmpint (peftq_tensor_get_dim (output, 2), ==, 3);
  assert_values (output, expected, 3, 1e-6);
  g_assert_cmpstr (peftq_module_get_type_name (conv), ==, "Conv1D");

  /* A Linear-shaped [out, in] weight is rejected, naming both shapes. */
  g_assert_false (peftq_module_set_parameter (conv, "weight", wrong, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "[2, 3]"));
  g_assert_nonnull (strstr (error->message, "[3, 2]"));
}

/* A 3x3 input [[1, 2, 3], [4, 5, 6], [7, 8, 9]] and a 2x2 kernel of ones:
 * stride 1, no padding: [[12, 16], [24, 28]] (+ bias 1 -> [[13, 17], [25, 29]])
 * stride 2, padding 1: the padded windows sum to [[1, 5], [11, 28]] */
static void
test_conv2d (void)
{
  const float x[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  const float ones[] = { 1, 1, 1, 1 };
  const float bias[] = { 1 };
  const float expected_plain[] = { 13, 17, 25, 29 };
  const float expected_strided[] = { 1, 5, 11, 28 };
  g_autoptr(PeftqTensor) input = make_tensor (x, 9, (gint64[]) { 1, 1, 3, 3 }, 4);
  g_autoptr(PeftqModule) plain = peftq_conv2d_new (1, 1, 2, 1, 0, 1, TRUE);
  g_autoptr(PeftqModule) strided = peftq_conv2d_new (1, 1, 2, 2, 1, 1, FALSE);
  g_autoptr(PeftqTensor) out_plain = NULL;
  g_autoptr(PeftqTensor) out_strided = NULL;

  set_param (plain, "weight", ones, 4);
  set_param (plain, "bias", bias, 1);
  set_param (strided, "weight", ones, 4);
  out_plain = run_one (plain, input);
  out_strided = run_one (strided, input);
  assert_values (out_plain, expected_plain, 4, 1e-6);
  assert_values (out_strided, expected_strided, 4, 1e-6);
  g_assert_cmpstr (peftq_module_get_op_type (plain), ==, "Conv");
}

/* Two groups of one channel each: channel 0 is scaled by 2 and channel 1 by -1 with 1x1
 * kernels, so [[1, 2], [3, 4]] and [[5, 6], [7, 8]] become [[2, 4], [6, 8]] and
 * [[-5, -6], [-7, -8]]. */
static void
test_conv2d_groups (void)
{
  const float x[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  const float w[] = { 2, -1 };
  const float expected[] = { 2, 4, 6, 8, -5, -6, -7, -8 };
  g_autoptr(PeftqTensor) input = make_tensor (x, 8, (gint64[]) { 1, 2, 2, 2 }, 4);
  g_autoptr(PeftqModule) conv = peftq_conv2d_new (2, 2, 1, 1, 0, 2, FALSE);
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(PeftqTensor) wrong = make_tensor (x, 4, (gint64[]) { 1, 1, 2, 2 }, 4);
  g_autoptr(GError) error = NULL;

  set_param (conv, "weight", w, 2);
  output = run_one (conv, input);
  assert_values (output, expected, 8, 1e-6);

  /* Three input channels instead of two. */
  g_clear_object (&output);
  output = peftq_module_forward_one (conv, NULL, wrong, &error);
  g_assert_null (output);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
}

static void
test_embedding (void)
{
  const float table[] = { 0, 1, 10, 11, 20, 21 };
  const gint64 ids[] = { 2, 0, 1, 2 };
  const gint64 bad_ids[] = { 1, 3 };
  const float expected[] = { 20, 21, 0, 1, 10, 11, 20, 21 };
  g_autoptr(PeftqModule) embedding = peftq_embedding_new (3, 2);
  g_autoptr(PeftqTensor) input = make_ids (ids, 4, (gint64[]) { 2, 2 }, 2);
  g_autoptr(PeftqTensor) bad = make_ids (bad_ids, 2, (gint64[]) { 1, 2 }, 2);
  g_autoptr(PeftqTensor) floats = make_tensor (table, 2, (gint64[]) { 1, 2 }, 2);
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(PeftqModule) root = peftq_module_new ();
  g_autoptr(GError) error = NULL;

  peftq_module_add_child (root, "embed_tokens", embedding);
  set_param (embedding, "weight", table, 6);
  output = run_one (embedding, input);
  g_assert_cmpuint (peftq_tensor_get_rank (output), ==, 3);
  assert_values (output, expected, 8, 1e-9);
  g_assert_cmpstr (peftq_module_get_op_type (embedding), ==, "Gather");
  g_clear_object (&output);

  /* An id outside the table is an error that names the module and the id. */
  output = peftq_module_forward_one (embedding, NULL, bad, &error);
  g_assert_null (output);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "embed_tokens"));
  g_assert_nonnull (strstr (error->message, "id 3"));
  g_clear_error (&error);

  output = peftq_module_forward_one (embedding, NULL, floats, &error);
  g_assert_null (output);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_DTYPE_MISMATCH);
}

/* RMSNorm of [3, 4] with weight [1, 2] and eps 0: mean square 12.5,
 * so [3, 4] / sqrt (12.5) · [1, 2] = [0.848528, 2.262742].
 * LayerNorm of [1, 3] with weight [2, 2], bias [1, 0], eps 0: mean 2, var 1,
 * so [-1, 1] · 2 + [1, 0] = [-1, 2]. */
static void
test_norms (void)
{
  const float x[] = { 3, 4 };
  const float w[] = { 1, 2 };
  const float expected_rms[] = { 0.8485281f, 2.2627417f };
  const float y[] = { 1, 3 };
  const float lw[] = { 2, 2 };
  const float lb[] = { 1, 0 };
  const float expected_layer[] = { -1, 2 };
  g_autoptr(PeftqModule) rms = peftq_rms_norm_new (2, 0.0f);
  g_autoptr(PeftqModule) layer = peftq_layer_norm_new (2, 0.0f, TRUE);
  g_autoptr(PeftqTensor) input = make_tensor (x, 2, (gint64[]) { 1, 2 }, 2);
  g_autoptr(PeftqTensor) input2 = make_tensor (y, 2, (gint64[]) { 2 }, 1);
  g_autoptr(PeftqTensor) rms_out = NULL;
  g_autoptr(PeftqTensor) layer_out = NULL;

  set_param (rms, "weight", w, 2);
  set_param (layer, "weight", lw, 2);
  set_param (layer, "bias", lb, 2);
  rms_out = run_one (rms, input);
  layer_out = run_one (layer, input2);
  assert_values (rms_out, expected_rms, 2, 1e-6);
  assert_values (layer_out, expected_layer, 2, 1e-6);
  g_assert_cmpstr (peftq_module_get_type_name (rms), ==, "RMSNorm");
  g_assert_cmpfloat (peftq_rms_norm_get_eps (PEFTQ_RMS_NORM (rms)), ==, 0.0f);
}

/* Values from the formulas at x = -1, 0, 1, 2:
 * SiLU x / (1 + e^-x):        -0.268941, 0, 0.731059, 1.761594
 * GELU 0.5 x (1 + erf (x/√2)): -0.158655, 0, 0.841345, 1.954500
 * GELU tanh approximation:     -0.158808, 0, 0.841192, 1.954598
 * ReLU:                        0, 0, 1, 2 */
static void
test_activations (void)
{
  const float x[] = { -1, 0, 1, 2 };
  const float silu[] = { -0.2689414f, 0, 0.7310586f, 1.7615942f };
  const float gelu[] = { -0.1586553f, 0, 0.8413447f, 1.9544997f };
  const float gelu_tanh[] = { -0.1588080f, 0, 0.8411920f, 1.9545977f };
  const float relu[] = { 0, 0, 1, 2 };
  const float *expected[] = { silu, gelu, gelu_tanh, relu };
  const char *names[] = { "silu", "gelu", "gelu_new", "relu" };
  g_autoptr(PeftqTensor) input = make_tensor (x, 4, (gint64[]) { 4 }, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqModule) unknown = NULL;

  for (guint kind = PEFTQ_ACTIVATION_KIND_SILU; kind <= PEFTQ_ACTIVATION_KIND_RELU; kind++)
    {
      g_autoptr(PeftqModule) module = peftq_activation_new ((PeftqActivationKind) kind);
      g_autoptr(PeftqModule) named = peftq_activation_new_from_name (names[kind], &error);
      g_autoptr(PeftqTensor) output = run_one (module, input);

      g_assert_no_error (error);
      g_assert_cmpint (peftq_activation_get_kind (PEFTQ_ACTIVATION (named)), ==, kind);
      assert_values (output, expected[kind], 4, 1e-6);
    }

  unknown = peftq_activation_new_from_name ("mish", &error);
  g_assert_null (unknown);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "mish"));
}

/* softmax ([0, ln 3]) = [0.25, 0.75]; with the mask [0, -inf] it is [1, 0], and a fully
 * masked row is zeros. */
static void
test_softmax (void)
{
  const float x[] = { 0, logf (3.0f), 1, 2 };
  const float mask_values[] = { 0, -INFINITY, -INFINITY, -INFINITY };
  const float expected[] = { 0.25f, 0.75f, 0.2689414f, 0.7310586f };
  const float expected_masked[] = { 1, 0, 0, 0 };
  g_autoptr(PeftqModule) softmax = peftq_softmax_new ();
  g_autoptr(PeftqTensor) input = make_tensor (x, 4, (gint64[]) { 2, 2 }, 2);
  g_autoptr(PeftqTensor) mask = make_tensor (mask_values, 4, (gint64[]) { 2, 2 }, 2);
  g_autoptr(PeftqTensor) plain = run_one (softmax, input);
  g_autoptr(PeftqTensor) masked = run_two (softmax, input, mask);

  assert_values (plain, expected, 4, 1e-6);
  assert_values (masked, expected_masked, 4, 1e-6);
}

/* Batched products with grouped broadcasting: A [1, 2, 1, 2] (two heads), B [1, 1, 2, 2]
 * (one shared head). A head 0 = [1, 2], head 1 = [3, 4]; B = [[1, 0], [1, 1]].
 * Transposed B (rows are n): head 0 -> [1, 3], head 1 -> [3, 7]; times scale 0.5. */
static void
test_matmul (void)
{
  const float a[] = { 1, 2, 3, 4 };
  const float b[] = { 1, 0, 1, 1 };
  const float expected_t[] = { 0.5f, 1.5f, 1.5f, 3.5f };
  const float expected_n[] = { 3, 2, 7, 4 };
  g_autoptr(PeftqTensor) ta = make_tensor (a, 4, (gint64[]) { 1, 2, 1, 2 }, 4);
  g_autoptr(PeftqTensor) tb = make_tensor (b, 4, (gint64[]) { 1, 1, 2, 2 }, 4);
  g_autoptr(PeftqModule) qk = peftq_matmul_new (TRUE, 0.5f);
  g_autoptr(PeftqModule) av = peftq_matmul_new (FALSE, 1.0f);
  g_autoptr(PeftqTensor) out_t = run_two (qk, ta, tb);
  g_autoptr(PeftqTensor) out_n = run_two (av, ta, tb);
  g_autoptr(PeftqTensor) bad = make_tensor (a, 3, (gint64[]) { 1, 3, 1, 1 }, 4);
  g_autoptr(PeftqTensor) failed = NULL;
  g_autoptr(GError) error = NULL;
  PeftqTensor *inputs[] = { ta, bad };

  assert_values (out_t, expected_t, 4, 1e-6);
  assert_values (out_n, expected_n, 4, 1e-6);
  g_assert_cmpstr (peftq_module_get_type_name (qk), ==, "QKMatMul");
  g_assert_cmpstr (peftq_module_get_type_name (av), ==, "MatMul");

  failed = peftq_module_forward (av, NULL, inputs, 2, &error);
  g_assert_null (failed);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "[1, 3, 1, 1]"));
  g_assert_nonnull (strstr (error->message, "[1, 2, 1, 2]"));
}

/* RoPE with head_dim 2 rotates (x1, x2) by position · 1 radian:
 * position 0: [1, 0] -> [1, 0]; position 1: [1, 0] -> [cos 1, sin 1].
 * Context positions [5, 6] rotate by 5 and 6 radians. */
static void
test_rope (void)
{
  const float x[] = { 1, 0, 1, 0 };
  const float expected[] = { 1, 0, cosf (1), sinf (1) };
  const float expected_shifted[] = { cosf (5), sinf (5), cosf (6), sinf (6) };
  const gint64 positions[] = { 5, 6 };
  g_autoptr(PeftqModule) rope = peftq_rotary_embedding_new (2, 10000.0f);
  g_autoptr(PeftqTensor) input = make_tensor (x, 4, (gint64[]) { 1, 1, 2, 2 }, 4);
  g_autoptr(PeftqTensor) position_tensor = make_ids (positions, 2, (gint64[]) { 2 }, 1);
  g_autoptr(PeftqForwardContext) context = peftq_forward_context_new ();
  g_autoptr(PeftqTensor) output = run_one (rope, input);
  g_autoptr(PeftqTensor) shifted = NULL;
  g_autoptr(GError) error = NULL;

  assert_values (output, expected, 4, 1e-6);

  peftq_forward_context_set_positions (context, position_tensor);
  shifted = peftq_module_forward_one (rope, context, input, &error);
  g_assert_no_error (error);
  assert_values (shifted, expected_shifted, 4, 1e-6);
  g_assert_cmpstr (peftq_module_get_type_name (rope), ==, "RoPE");
}

/* HF rotate_half with head_dim 4 and theta 100: frequencies 1 and 1/10, pairs (0, 2)
 * and (1, 3). At position 1, x = [1, 2, 3, 4]:
 * out0 = 1 cos 1 - 3 sin 1, out2 = 3 cos 1 + 1 sin 1,
 * out1 = 2 cos 0.1 - 4 sin 0.1, out3 = 4 cos 0.1 + 2 sin 0.1 */
static void
test_rope_rotate_half (void)
{
  const float x[] = { 0, 0, 0, 0, 1, 2, 3, 4 };
  const float expected[] = {
    0, 0, 0, 0,
    cosf (1) - 3 * sinf (1), 2 * cosf (0.1f) - 4 * sinf (0.1f),
    3 * cosf (1) + sinf (1), 4 * cosf (0.1f) + 2 * sinf (0.1f),
  };
  g_autoptr(PeftqModule) rope = peftq_rotary_embedding_new (4, 100.0f);
  g_autoptr(PeftqTensor) input = make_tensor (x, 8, (gint64[]) { 1, 1, 2, 4 }, 4);
  g_autoptr(PeftqTensor) output = run_one (rope, input);

  assert_values (output, expected, 8, 1e-6);
}

/* Causal attention with one head of size 2 and identity projections, on x0 = [1, 0] and
 * x1 = [0, 1]. With head_dim 2, RoPE rotates token t by t radians: q0 = k0 = [1, 0] and
 * q1 = k1 = [-sin 1, cos 1]. Token 0 attends only to itself, so its output is v0 = x0.
 * Token 1 scores [-sin 1, 1] / √2, and its output is the softmax weights [w0, w1]. */
static void
test_attention_causal (void)
{
  const float identity[] = { 1, 0, 0, 1 };
  const float x[] = { 1, 0, 0, 1 };
  g_autoptr(PeftqModule) attention = peftq_attention_new (2, 1, 1, 2, 10000.0f, FALSE, FALSE);
  g_autoptr(PeftqTensor) input = make_tensor (x, 4, (gint64[]) { 1, 2, 2 }, 3);
  g_autoptr(PeftqTensor) output = NULL;
  g_auto(GStrv) names = peftq_module_list_module_names (attention);
  const char *const expected_names[] = {
    "", "q_proj", "k_proj", "v_proj", "o_proj", "q_rope", "k_rope", "qk_matmul", "softmax", "av_matmul", NULL
  };
  const float *values;
  float w1 = 1.0f / (1.0f + expf (-(1.0f + sinf (1.0f)) / sqrtf (2.0f)));

  for (guint i = 0; expected_names[i] != NULL; i++)
    g_assert_cmpstr (names[i], ==, expected_names[i]);
  g_assert_cmpuint (g_strv_length (names), ==, G_N_ELEMENTS (expected_names) - 1);

  for (guint i = 0; i < 4; i++)
    set_param (peftq_module_get_child (attention, expected_names[i + 1]), "weight", identity, 4);

  output = run_one (attention, input);
  values = peftq_tensor_peek_data (output);
  g_assert_cmpfloat_with_epsilon (values[0], 1.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (values[1], 0.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (values[2], 1.0f - w1, 1e-5);
  g_assert_cmpfloat_with_epsilon (values[3], w1, 1e-5);
}

/* The seed's toy model: a root whose only child is `linear`, a Linear(10, 10) with bias.
 * With W = 2·I and b = 1, x = 0 … 9 maps to 2x + 1. */
static void
test_sequential_toy_model (void)
{
  g_autoptr(PeftqModule) model = peftq_sequential_new ();
  g_autoptr(PeftqModule) linear = peftq_linear_new (10, 10, TRUE);
  g_auto(GStrv) params = NULL;
  float w[100] = { 0 };
  float b[10];
  float x[10];
  float expected[10];
  g_autoptr(PeftqTensor) input = NULL;
  g_autoptr(PeftqTensor) output = NULL;

  for (guint i = 0; i < 10; i++)
    {
      w[i * 10 + i] = 2;
      b[i] = 1;
      x[i] = (float) i;
      expected[i] = 2.0f * i + 1;
    }

  peftq_sequential_append (PEFTQ_SEQUENTIAL (model), "linear", linear);
  set_param (linear, "weight", w, 100);
  set_param (linear, "bias", b, 10);
  params = peftq_module_list_named_parameters (model);
  g_assert_cmpstr (params[0], ==, "linear.weight");
  g_assert_cmpstr (params[1], ==, "linear.bias");
  g_assert_null (params[2]);

  input = make_tensor (x, 10, (gint64[]) { 1, 10 }, 2);
  output = run_one (model, input);
  assert_values (output, expected, 10, 1e-6);
}

/* Results must not depend on the thread count: a model of several modules gives the
 * same bits with 1 and 2 threads. */
static void
test_thread_independence (void)
{
  g_autoptr(PeftqModule) model = peftq_sequential_new ();
  g_autoptr(PeftqModule) linear = peftq_linear_new (256, 300, TRUE);
  g_autoptr(PeftqModule) norm = peftq_rms_norm_new (300, 1e-5f);
  g_autoptr(PeftqModule) act = peftq_activation_new (PEFTQ_ACTIVATION_KIND_GELU);
  g_autoptr(PeftqModule) softmax = peftq_softmax_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autofree float *w = g_new (float, 256 * 300);
  g_autofree float *x = g_new (float, 64 * 256);
  g_autoptr(PeftqTensor) input = NULL;
  g_autoptr(PeftqTensor) one = NULL;
  g_autoptr(PeftqTensor) two = NULL;
  guint saved = peftq_get_num_threads ();

  for (guint i = 0; i < 256 * 300; i++)
    w[i] = (float) g_rand_double_range (rand, -0.1, 0.1);
  for (guint i = 0; i < 64 * 256; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);

  peftq_sequential_append (PEFTQ_SEQUENTIAL (model), "linear", linear);
  peftq_sequential_append (PEFTQ_SEQUENTIAL (model), "norm", norm);
  peftq_sequential_append (PEFTQ_SEQUENTIAL (model), "act", act);
  peftq_sequential_append (PEFTQ_SEQUENTIAL (model), "softmax", softmax);
  set_param (linear, "weight", w, 256 * 300);
  input = make_tensor (x, 64 * 256, (gint64[]) { 64, 256 }, 2);

  peftq_set_num_threads (1);
  one = run_one (model, input);
  peftq_set_num_threads (2);
  two = run_one (model, input);
  peftq_set_num_threads (saved);

  g_assert_true (peftq_tensor_equal (one, two));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/layers/conv1d", test_conv1d);
  g_test_add_func ("/layers/conv2d", test_conv2d);
  g_test_add_func ("/layers/conv2d-groups", test_conv2d_groups);
  g_test_add_func ("/layers/embedding", test_embedding);
  g_test_add_func ("/layers/norms", test_norms);
  g_test_add_func ("/layers/activations", test_activations);
  g_test_add_func ("/layers/softmax", test_softmax);
  g_test_add_func ("/layers/matmul", test_matmul);
  g_test_add_func ("/layers/rope", test_rope);
  g_test_add_func ("/layers/rope-rotate-half", test_rope_rotate_half);
  g_test_add_func ("/layers/attention-causal", test_attention_causal);
  g_test_add_func ("/layers/sequential-toy-model", test_sequential_toy_model);
  g_test_add_func ("/layers/thread-independence", test_thread_independence);

  return g_test_run ();
}
