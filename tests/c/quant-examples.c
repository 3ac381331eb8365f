/* SPDX-License-Identifier: MIT */
/* The worked examples of AIMET's affine quantizer: integers are compared exactly and
 * floats with a relative tolerance of 1e-6 (absolute 1e-12 around zero). */
#include "config.h"

#include <peftq.h>

#include <math.h>

#define EPS 1.1920928955078125e-07f

static void
assert_close (double actual,
              double expected)
{
  double tolerance = MAX (fabs (expected) * 1e-6, 1e-12);

  if (fabs (actual - expected) > tolerance)
    g_error ("Expected %.9g, got %.9g (tolerance %.3g)", expected, actual, tolerance);
}

static PeftqTensor *
make_tensor (const float  *values,
             gsize         n_values,
             const gint64 *shape,
             guint         rank)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *tensor = peftq_tensor_new_from_floats (values, n_values, shape, rank, &error);

  g_assert_no_error (error);
  return tensor;
}

static PeftqTensor *
make_vector (const float *values,
             gsize        n_values)
{
  gint64 shape = (gint64) n_values;

  return make_tensor (values, n_values, &shape, 1);
}

static float *
apply (PeftqAffineQuantizer *quantizer,
       PeftqTensor          *input,
       gboolean              dequantize)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) output = NULL;
  gsize n = 0;

  if (dequantize)
    output = peftq_affine_quantizer_quantize_dequantize (quantizer, input, &error);
  else
    output = peftq_affine_quantizer_quantize (quantizer, input, &error);
  g_assert_no_error (error);
  g_assert_nonnull (output);
  g_assert_cmpint (peftq_tensor_get_dtype (output), ==, PEFTQ_DTYPE_F32);

  return peftq_tensor_to_floats (output, &n);
}

static void
calibrate (PeftqAffineQuantizer *quantizer,
           PeftqTensor          *input)
{
  g_autoptr(GError) error = NULL;

  peftq_affine_quantizer_begin_calibration (quantizer);
  g_assert_true (peftq_affine_quantizer_observe (quantizer, input, &error));
  g_assert_no_error (error);
  g_assert_true (peftq_affine_quantizer_end_calibration (quantizer, &error));
  g_assert_no_error (error);
}

static void
test_e1_min_max_asymmetric (void)
{
  const float x[] = { -1.0f, -0.31f, 0.0f, 0.26f, 1.0f, 2.0f, 2.5f };
  const float expected_q[] = { 0, 50, 73, 92, 146, 219, 255 };
  const float expected_dq[] = { -1.0019608f, -0.3156863f, 0.0f, 0.2607843f, 1.0019608f,
                                2.0039215f, 2.4980392f };
  g_autoptr(PeftqAffineQuantizer) quantizer = peftq_affine_quantizer_new (8, FALSE);
  g_autoptr(PeftqTensor) input = make_vector (x, G_N_ELEMENTS (x));
  g_autofree float *q = NULL;
  g_autofree float *dq = NULL;
  PeftqEncoding *encoding;
  gsize n = 0;

  g_test_summary ("E1: min-max calibration of an unsigned asymmetric 8-bit quantizer");

  calibrate (quantizer, input);
  encoding = peftq_affine_quantizer_get_encoding (quantizer);
  g_assert_nonnull (encoding);

  g_assert_cmpint (peftq_encoding_get_qmin (encoding), ==, 0);
  g_assert_cmpint (peftq_encoding_get_qmax (encoding), ==, 255);
  g_assert_cmpfloat (peftq_encoding_get_range_min (encoding, &n)[0], ==, -1.0f);
  g_assert_cmpfloat (peftq_encoding_get_range_max (encoding, &n)[0], ==, 2.5f);
  assert_close (peftq_encoding_get_scale (encoding, &n)[0], 0.013725490);
  g_assert_cmpfloat (peftq_encoding_get_offset (encoding, &n)[0], ==, -73.0f);
  g_assert_cmpint (peftq_encoding_get_legacy_offset (encoding, &n)[0], ==, -73);
  assert_close (peftq_encoding_get_min (encoding, &n)[0], -1.0019608);
  assert_close (peftq_encoding_get_max (encoding, &n)[0], 2.4980392);

  q = apply (quantizer, input, FALSE);
  dq = apply (quantizer, input, TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (x); i++)
    {
      g_assert_cmpfloat (q[i], ==, expected_q[i]);
      assert_close (dq[i], expected_dq[i]);
    }
}

static void
test_e2_min_max_symmetric (void)
{
  const float stats[] = { -0.6f, 1.27f };
  const float x[] = { -0.6f, 0.004f, 0.006f, 0.5f, 1.27f, -2.0f, 1.5f };
  const float expected_q[] = { -60, 0, 1, 50, 127, -128, 127 };
  const float expected_dq[] = { -0.6f, 0.0f, 0.01f, 0.5f, 1.27f, -1.28f, 1.27f };
  g_autoptr(PeftqAffineQuantizer) quantizer = peftq_affine_quantizer_new (8, TRUE);
  g_autoptr(PeftqTensor) observed = make_vector (stats, G_N_ELEMENTS (stats));
  g_autoptr(PeftqTensor) input = make_vector (x, G_N_ELEMENTS (x));
  g_autofree float *q = NULL;
  g_autofree float *dq = NULL;
  PeftqEncoding *encoding;
  gsize n = 0;

  g_test_summary ("E2: min-max calibration of a signed symmetric 8-bit quantizer");

  calibrate (quantizer, observed);
  encoding = peftq_affine_quantizer_get_encoding (quantizer);
  g_assert_nonnull (encoding);

  /* delta = max(1.27 / 127, 0.6 / 128) = 0.01 */
  g_assert_cmpint (peftq_encoding_get_qmin (encoding), ==, -128);
  g_assert_cmpint (peftq_encoding_get_qmax (encoding), ==, 127);
  assert_close (peftq_encoding_get_range_min (encoding, &n)[0], -1.28);
  assert_close (peftq_encoding_get_range_max (encoding, &n)[0], 1.27);
  assert_close (peftq_encoding_get_scale (encoding, &n)[0], 0.01);
  g_assert_cmpfloat (peftq_encoding_get_offset (encoding, &n)[0], ==, 0.0f);
  g_assert_cmpint (peftq_encoding_get_legacy_offset (encoding, &n)[0], ==, -128);

  q = apply (quantizer, input, FALSE);
  dq = apply (quantizer, input, TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (x); i++)
    {
      g_assert_cmpfloat (q[i], ==, expected_q[i]);
      assert_close (dq[i], expected_dq[i]);
    }
}

static void
test_e3_per_channel (void)
{
  const float w[] = { 0.7f, -0.36f, 0.1f, -1.6f, 0.2f, 0.55f };
  const gint64 shape[] = { 2, 3 };
  const float expected_q[] = { 7, -4, 1, -8, 1, 3 };
  const float expected_dq[] = { 0.7f, -0.4f, 0.1f, -1.6f, 0.2f, 0.6f };
  const double expected_scale[] = { 0.1, 0.2 };
  const double expected_min[] = { -0.8, -1.6 };
  const double expected_max[] = { 0.7, 1.4 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqAffineQuantizer) quantizer = NULL;
  g_autoptr(PeftqTensor) input = make_tensor (w, G_N_ELEMENTS (w), shape, 2);
  g_autofree float *q = NULL;
  g_autofree float *dq = NULL;
  const gint64 *quantizer_shape;
  guint rank = 0;
  PeftqEncoding *encoding;
  gsize n = 0;

  g_test_summary ("E3: per-channel signed symmetric 4-bit quantizer of shape (2, 1)");

  quantizer = peftq_affine_quantizer_new_per_channel (4, TRUE, 2, 0, 2, &error);
  g_assert_no_error (error);
  quantizer_shape = peftq_affine_quantizer_get_shape (quantizer, &rank);
  g_assert_cmpuint (rank, ==, 2);
  g_assert_cmpint (quantizer_shape[0], ==, 2);
  g_assert_cmpint (quantizer_shape[1], ==, 1);

  calibrate (quantizer, input);
  encoding = peftq_affine_quantizer_get_encoding (quantizer);
  g_assert_nonnull (encoding);
  g_assert_cmpuint (peftq_encoding_get_n_values (encoding), ==, 2);
  g_assert_cmpint (peftq_encoding_get_qmin (encoding), ==, -8);
  g_assert_cmpint (peftq_encoding_get_qmax (encoding), ==, 7);

  /* Row 0: delta = max(0.7 / 7, 0.36 / 8) = 0.1; row 1: max(0.55 / 7, 1.6 / 8) = 0.2. */
  for (gsize c = 0; c < 2; c++)
    {
      assert_close (peftq_encoding_get_scale (encoding, &n)[c], expected_scale[c]);
      assert_close (peftq_encoding_get_min (encoding, &n)[c], expected_min[c]);
      assert_close (peftq_encoding_get_max (encoding, &n)[c], expected_max[c]);
      g_assert_cmpint (peftq_encoding_get_legacy_offset (encoding, &n)[c], ==, -8);
    }

  q = apply (quantizer, input, FALSE);
  dq = apply (quantizer, input, TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (w); i++)
    {
      g_assert_cmpfloat (q[i], ==, expected_q[i]);
      assert_close (dq[i], expected_dq[i]);
    }
}

static void
check_zero_tensor (gboolean symmetric)
{
  const float zeros[5] = { 0 };
  g_autoptr(PeftqAffineQuantizer) quantizer = peftq_affine_quantizer_new (8, symmetric);
  g_autoptr(PeftqTensor) input = make_vector (zeros, G_N_ELEMENTS (zeros));
  g_autofree float *q = NULL;
  g_autofree float *dq = NULL;
  PeftqEncoding *encoding;
  gsize n = 0;

  calibrate (quantizer, input);
  encoding = peftq_affine_quantizer_get_encoding (quantizer);
  g_assert_nonnull (encoding);

  g_assert_cmpfloat (peftq_encoding_get_scale (encoding, &n)[0], ==, EPS);
  if (symmetric)
    {
      assert_close (peftq_encoding_get_min (encoding, &n)[0], -1.5258789e-05);
      assert_close (peftq_encoding_get_max (encoding, &n)[0], 1.5139580e-05);
      g_assert_cmpint (peftq_encoding_get_legacy_offset (encoding, &n)[0], ==, -128);
    }
  else
    {
      g_assert_cmpfloat (peftq_encoding_get_min (encoding, &n)[0], ==, 0.0f);
      assert_close (peftq_encoding_get_max (encoding, &n)[0], 3.0398369e-05);
      g_assert_cmpint (peftq_encoding_get_legacy_offset (encoding, &n)[0], ==, 0);
    }

  q = apply (quantizer, input, FALSE);
  dq = apply (quantizer, input, TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (zeros); i++)
    {
      g_assert_cmpfloat (q[i], ==, 0.0f);
      g_assert_cmpfloat (dq[i], ==, 0.0f);
    }
}

static void
test_e4_zero_tensor (void)
{
  g_test_summary ("E4: a zero tensor gets the minimum range with scale FLT_EPSILON");

  check_zero_tensor (FALSE);
  check_zero_tensor (TRUE);
}

static void
test_e5_lora_scale (void)
{
  const float x[] = { 4.0f, 0.25f };
  const float lo = 0.0f;
  const float hi = 1.0f;
  const float small_hi = 1e-5f;
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqAffineQuantizer) quantizer = peftq_affine_quantizer_new (16, FALSE);
  g_autoptr(PeftqTensor) input = make_vector (x, G_N_ELEMENTS (x));
  g_autofree float *q = NULL;
  g_autofree float *dq = NULL;
  g_autofree float *dq_small = NULL;
  gsize n = 0;

  g_test_summary ("E5: the LoRA scale quantizer, 16-bit unsigned, fixed ranges");

  g_assert_true (peftq_affine_quantizer_set_range (quantizer, &lo, 1, &hi, 1, &error));
  g_assert_no_error (error);
  assert_close (peftq_encoding_get_scale (peftq_affine_quantizer_get_encoding (quantizer), &n)[0],
                1.5259022e-05);
  g_assert_cmpfloat (peftq_encoding_get_offset (peftq_affine_quantizer_get_encoding (quantizer), &n)[0],
                     ==, 0.0f);

  q = apply (quantizer, input, FALSE);
  dq = apply (quantizer, input, TRUE);
  g_assert_cmpfloat (q[0], ==, 65535.0f);
  g_assert_cmpfloat (q[1], ==, 16384.0f);
  assert_close (dq[0], 1.0);
  assert_close (dq[1], 0.25000381);

  g_assert_true (peftq_affine_quantizer_set_range (quantizer, &lo, 1, &small_hi, 1, &error));
  g_assert_no_error (error);
  assert_close (peftq_encoding_get_scale (peftq_affine_quantizer_get_encoding (quantizer), &n)[0],
                1.5259022e-10);
  dq_small = apply (quantizer, input, TRUE);
  assert_close (dq_small[0], 9.9999997e-06);
}

static void
test_e6_ties_to_even (void)
{
  const float x[] = { 0.25f, 0.75f, 1.25f, -0.75f, -0.25f, 100.0f };
  const float expected_q[] = { 0, 2, 2, -2, 0, 127 };
  const float expected_dq[] = { 0.0f, 1.0f, 1.0f, -1.0f, 0.0f, 63.5f };
  const float lo = -64.0f;
  const float hi = 63.5f;
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqAffineQuantizer) quantizer = peftq_affine_quantizer_new (8, TRUE);
  g_autoptr(PeftqTensor) input = make_vector (x, G_N_ELEMENTS (x));
  g_autofree float *q = NULL;
  g_autofree float *dq = NULL;
  gsize n = 0;

  g_test_summary ("E6: exact ties round half to even, not away from zero");

  g_assert_true (peftq_affine_quantizer_set_range (quantizer, &lo, 1, &hi, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (peftq_encoding_get_scale (peftq_affine_quantizer_get_encoding (quantizer), &n)[0],
                     ==, 0.5f);

  q = apply (quantizer, input, FALSE);
  dq = apply (quantizer, input, TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (x); i++)
    {
      g_assert_cmpfloat (q[i], ==, expected_q[i]);
      g_assert_cmpfloat (dq[i], ==, expected_dq[i]);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/quant-examples/e1-min-max-asymmetric", test_e1_min_max_asymmetric);
  g_test_add_func ("/peftq/quant-examples/e2-min-max-symmetric", test_e2_min_max_symmetric);
  g_test_add_func ("/peftq/quant-examples/e3-per-channel", test_e3_per_channel);
  g_test_add_func ("/peftq/quant-examples/e4-zero-tensor", test_e4_zero_tensor);
  g_test_add_func ("/peftq/quant-examples/e5-lora-scale", test_e5_lora_scale);
  g_test_add_func ("/peftq/quant-examples/e6-ties-to-even", test_e6_ties_to_even);

  return g_test_run ();
}
