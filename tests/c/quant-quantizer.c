/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq.h>

#include <math.h>
#include <string.h>

typedef struct
{
  PeftqAffineQuantizer *quantizer;
  guint encoding_changed;
  guint bitwidth_notified;
  guint symmetric_notified;
  guint signed_notified;
  guint enabled_notified;
  guint allow_overwrite_notified;
} Fixture;

static void
count (guint *counter)
{
  (*counter)++;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture->quantizer = g_object_new (PEFTQ_TYPE_AFFINE_QUANTIZER,
                                     "bitwidth", 8,
                                     "symmetric", FALSE,
                                     "name", "base_model.model.linear.lora_A.0.weight",
                                     NULL);
  g_signal_connect_swapped (fixture->quantizer, "encoding-changed", G_CALLBACK (count),
                            &fixture->encoding_changed);
  g_signal_connect_swapped (fixture->quantizer, "notify::bitwidth", G_CALLBACK (count),
                            &fixture->bitwidth_notified);
  g_signal_connect_swapped (fixture->quantizer, "notify::symmetric", G_CALLBACK (count),
                            &fixture->symmetric_notified);
  g_signal_connect_swapped (fixture->quantizer, "notify::signed", G_CALLBACK (count),
                            &fixture->signed_notified);
  g_signal_connect_swapped (fixture->quantizer, "notify::enabled", G_CALLBACK (count),
                            &fixture->enabled_notified);
  g_signal_connect_swapped (fixture->quantizer, "notify::allow-overwrite", G_CALLBACK (count),
                            &fixture->allow_overwrite_notified);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_assert_finalize_object (fixture->quantizer);
}

static PeftqTensor *
make_vector (const float *values,
             gsize        n_values)
{
  g_autoptr(GError) error = NULL;
  gint64 shape = (gint64) n_values;
  PeftqTensor *tensor = peftq_tensor_new_from_floats (values, n_values, &shape, 1, &error);

  g_assert_no_error (error);
  return tensor;
}

static void
set_range (PeftqAffineQuantizer *quantizer,
           float                 lo,
           float                 hi)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (peftq_affine_quantizer_set_range (quantizer, &lo, 1, &hi, 1, &error));
  g_assert_no_error (error);
}

static float
first_scale (PeftqAffineQuantizer *quantizer)
{
  gsize n = 0;

  return peftq_encoding_get_scale (peftq_affine_quantizer_get_encoding (quantizer), &n)[0];
}

static void
test_defaults (void)
{
  g_autoptr(PeftqAffineQuantizer) symmetric = peftq_affine_quantizer_new (8, TRUE);
  g_autoptr(PeftqAffineQuantizer) asymmetric = peftq_affine_quantizer_new (4, FALSE);

  g_test_summary ("Symmetric quantizers get the signed grid and asymmetric the unsigned one");

  g_assert_true (peftq_affine_quantizer_get_signed (symmetric));
  g_assert_cmpint (peftq_affine_quantizer_get_qmin (symmetric), ==, -128);
  g_assert_cmpint (peftq_affine_quantizer_get_qmax (symmetric), ==, 127);
  g_assert_false (peftq_affine_quantizer_get_signed (asymmetric));
  g_assert_cmpint (peftq_affine_quantizer_get_qmin (asymmetric), ==, 0);
  g_assert_cmpint (peftq_affine_quantizer_get_qmax (asymmetric), ==, 15);
  g_assert_true (peftq_affine_quantizer_get_enabled (symmetric));
  g_assert_true (peftq_affine_quantizer_get_allow_overwrite (symmetric));
  g_assert_false (peftq_affine_quantizer_is_initialized (symmetric));
  g_assert_null (peftq_affine_quantizer_get_encoding (symmetric));
  g_assert_cmpuint (peftq_affine_quantizer_get_n_encodings (symmetric), ==, 1);
  g_assert_true (PEFTQ_IS_MIN_MAX_ANALYZER (peftq_affine_quantizer_get_encoding_analyzer (symmetric)));
}

static void
test_encoding_changed_once (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqEncoding) same = NULL;

  g_test_summary ("encoding-changed fires once per real change and never on a no-op");

  set_range (fixture->quantizer, -1.0f, 2.5f);
  g_assert_cmpuint (fixture->encoding_changed, ==, 1);
  set_range (fixture->quantizer, -1.0f, 2.5f);
  g_assert_cmpuint (fixture->encoding_changed, ==, 1);
  set_range (fixture->quantizer, -1.0f, 3.0f);
  g_assert_cmpuint (fixture->encoding_changed, ==, 2);

  same = peftq_encoding_ref (peftq_affine_quantizer_get_encoding (fixture->quantizer));
  g_assert_true (peftq_affine_quantizer_set_encoding (fixture->quantizer, same, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->encoding_changed, ==, 2);

  peftq_affine_quantizer_clear_encoding (fixture->quantizer);
  g_assert_cmpuint (fixture->encoding_changed, ==, 3);
  g_assert_false (peftq_affine_quantizer_is_initialized (fixture->quantizer));
  peftq_affine_quantizer_clear_encoding (fixture->quantizer);
  g_assert_cmpuint (fixture->encoding_changed, ==, 3);

  g_assert_true (peftq_affine_quantizer_set_encoding (fixture->quantizer, same, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->encoding_changed, ==, 4);
}

static void
test_properties_notify_on_change (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("Property setters notify only when the value changes");

  g_assert_true (peftq_affine_quantizer_set_bitwidth (fixture->quantizer, 8, &error));
  peftq_affine_quantizer_set_symmetric (fixture->quantizer, FALSE);
  peftq_affine_quantizer_set_enabled (fixture->quantizer, TRUE);
  peftq_affine_quantizer_set_allow_overwrite (fixture->quantizer, TRUE);
  peftq_affine_quantizer_set_signed (fixture->quantizer, FALSE);
  peftq_quantizer_set_name (PEFTQ_QUANTIZER (fixture->quantizer),
                            "base_model.model.linear.lora_A.0.weight");
  g_assert_cmpuint (fixture->bitwidth_notified, ==, 0);
  g_assert_cmpuint (fixture->symmetric_notified, ==, 0);
  g_assert_cmpuint (fixture->enabled_notified, ==, 0);
  g_assert_cmpuint (fixture->allow_overwrite_notified, ==, 0);
  g_assert_cmpuint (fixture->signed_notified, ==, 0);

  g_assert_true (peftq_affine_quantizer_set_bitwidth (fixture->quantizer, 16, &error));
  g_assert_no_error (error);
  peftq_affine_quantizer_set_symmetric (fixture->quantizer, TRUE);
  peftq_affine_quantizer_set_enabled (fixture->quantizer, FALSE);
  peftq_affine_quantizer_set_allow_overwrite (fixture->quantizer, FALSE);
  peftq_affine_quantizer_set_signed (fixture->quantizer, TRUE);
  g_assert_cmpuint (fixture->bitwidth_notified, ==, 1);
  g_assert_cmpuint (fixture->symmetric_notified, ==, 1);
  g_assert_cmpuint (fixture->enabled_notified, ==, 1);
  g_assert_cmpuint (fixture->allow_overwrite_notified, ==, 1);
  g_assert_cmpuint (fixture->signed_notified, ==, 1);

  /* No encoding yet, so no grid change emits encoding-changed. */
  g_assert_cmpuint (fixture->encoding_changed, ==, 0);

  g_assert_false (peftq_affine_quantizer_set_bitwidth (fixture->quantizer, 0, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (peftq_affine_quantizer_set_bitwidth (fixture->quantizer, 25, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED);
  g_assert_cmpuint (peftq_affine_quantizer_get_bitwidth (fixture->quantizer), ==, 16);
}

static void
test_bitwidth_keeps_range (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  PeftqEncoding *encoding;
  gsize n = 0;

  g_test_summary ("A bitwidth change keeps the range and recomputes the scale once");

  set_range (fixture->quantizer, -1.0f, 2.0f);
  g_assert_cmpfloat (first_scale (fixture->quantizer), ==, 3.0f / 255.0f);

  g_assert_true (peftq_affine_quantizer_set_bitwidth (fixture->quantizer, 4, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->encoding_changed, ==, 2);
  encoding = peftq_affine_quantizer_get_encoding (fixture->quantizer);
  g_assert_cmpuint (peftq_encoding_get_bitwidth (encoding), ==, 4);
  g_assert_cmpfloat (peftq_encoding_get_range_min (encoding, &n)[0], ==, -1.0f);
  g_assert_cmpfloat (peftq_encoding_get_range_max (encoding, &n)[0], ==, 2.0f);
  g_assert_cmpfloat (first_scale (fixture->quantizer), ==, 3.0f / 15.0f);

  /* Symmetry changes only the offset. */
  peftq_affine_quantizer_set_symmetric (fixture->quantizer, TRUE);
  g_assert_cmpuint (fixture->encoding_changed, ==, 3);
  g_assert_cmpfloat (peftq_encoding_get_offset (peftq_affine_quantizer_get_encoding (fixture->quantizer), &n)[0],
                     ==, 0.0f);
  g_assert_cmpint (peftq_affine_quantizer_get_qmin (fixture->quantizer), ==, 0);
}

static void
test_uninitialized_error (Fixture       *fixture,
                          gconstpointer  user_data)
{
  const float x[] = { 1.0f };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) input = make_vector (x, 1);
  g_autoptr(PeftqTensor) output = NULL;

  g_test_summary ("An enabled quantizer without an encoding fails naming itself");

  output = peftq_quantizer_forward (PEFTQ_QUANTIZER (fixture->quantizer), input, &error);
  g_assert_null (output);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_INITIALIZED);
  g_assert_nonnull (strstr (error->message, "base_model.model.linear.lora_A.0.weight"));
}

static void
test_forward_modes (Fixture       *fixture,
                    gconstpointer  user_data)
{
  const float x[] = { -1.0f, 0.3f, 2.5f };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) input = make_vector (x, G_N_ELEMENTS (x));
  g_autoptr(PeftqTensor) observed = NULL;
  g_autoptr(PeftqTensor) disabled = NULL;
  g_autoptr(PeftqTensor) quantized = NULL;
  g_autofree float *values = NULL;
  gsize n = 0;

  g_test_summary ("forward observes while calibrating, passes through when disabled");

  peftq_affine_quantizer_begin_calibration (fixture->quantizer);
  g_assert_true (peftq_affine_quantizer_is_calibrating (fixture->quantizer));
  g_assert_true (peftq_affine_quantizer_is_observing (fixture->quantizer));
  observed = peftq_quantizer_forward (PEFTQ_QUANTIZER (fixture->quantizer), input, &error);
  g_assert_no_error (error);
  g_assert_true (observed == input);
  g_assert_cmpuint (fixture->encoding_changed, ==, 0);
  g_assert_true (peftq_affine_quantizer_end_calibration (fixture->quantizer, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->encoding_changed, ==, 1);
  g_assert_false (peftq_affine_quantizer_is_calibrating (fixture->quantizer));

  quantized = peftq_quantizer_forward (PEFTQ_QUANTIZER (fixture->quantizer), input, &error);
  g_assert_no_error (error);
  g_assert_true (quantized != input);
  values = peftq_tensor_to_floats (quantized, &n);
  /* Scale 3.5 / 255, offset -73: 0.3 is 21.86 steps, so 22 steps above zero. */
  g_assert_cmpfloat (values[1], ==, 22.0f * first_scale (fixture->quantizer));

  peftq_affine_quantizer_set_enabled (fixture->quantizer, FALSE);
  disabled = peftq_quantizer_forward (PEFTQ_QUANTIZER (fixture->quantizer), input, &error);
  g_assert_no_error (error);
  g_assert_true (disabled == input);
}

static void
test_frozen_keeps_encoding (Fixture       *fixture,
                            gconstpointer  user_data)
{
  const float x[] = { -10.0f, 10.0f };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) input = make_vector (x, G_N_ELEMENTS (x));
  g_autoptr(PeftqTensor) output = NULL;
  g_autofree float *values = NULL;
  gsize n = 0;

  g_test_summary ("A frozen quantizer keeps its range and keeps quantizing in calibration");

  set_range (fixture->quantizer, -1.0f, 1.0f);
  peftq_affine_quantizer_set_allow_overwrite (fixture->quantizer, FALSE);

  peftq_affine_quantizer_begin_calibration (fixture->quantizer);
  g_assert_false (peftq_affine_quantizer_is_observing (fixture->quantizer));
  output = peftq_quantizer_forward (PEFTQ_QUANTIZER (fixture->quantizer), input, &error);
  g_assert_no_error (error);
  values = peftq_tensor_to_floats (output, &n);
  g_assert_cmpfloat (fabsf (values[0]), <=, 1.01f);
  g_assert_true (peftq_affine_quantizer_end_calibration (fixture->quantizer, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (fixture->encoding_changed, ==, 1);
  g_assert_cmpfloat (first_scale (fixture->quantizer), ==, 2.0f / 255.0f);
}

static void
test_frozen_uninitialized_calibrates (Fixture       *fixture,
                                      gconstpointer  user_data)
{
  const float x[] = { -1.0f, 1.0f };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) input = make_vector (x, G_N_ELEMENTS (x));

  g_test_summary ("A frozen quantizer without an encoding still gets one from calibration");

  peftq_affine_quantizer_set_allow_overwrite (fixture->quantizer, FALSE);
  peftq_affine_quantizer_begin_calibration (fixture->quantizer);
  g_assert_true (peftq_affine_quantizer_is_observing (fixture->quantizer));
  g_assert_true (peftq_affine_quantizer_observe (fixture->quantizer, input, &error));
  g_assert_true (peftq_affine_quantizer_end_calibration (fixture->quantizer, &error));
  g_assert_no_error (error);
  g_assert_true (peftq_affine_quantizer_is_initialized (fixture->quantizer));
  g_assert_cmpuint (fixture->encoding_changed, ==, 1);
}

static void
test_calibration_without_data (Fixture       *fixture,
                               gconstpointer  user_data)
{
  const float x[] = { -1.0f, 1.0f };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) input = make_vector (x, G_N_ELEMENTS (x));

  g_test_summary ("Calibration without data, or aborted, keeps the previous state");

  set_range (fixture->quantizer, -2.0f, 2.0f);
  peftq_affine_quantizer_begin_calibration (fixture->quantizer);
  g_assert_true (peftq_affine_quantizer_end_calibration (fixture->quantizer, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->encoding_changed, ==, 1);
  g_assert_cmpfloat (first_scale (fixture->quantizer), ==, 4.0f / 255.0f);

  peftq_affine_quantizer_begin_calibration (fixture->quantizer);
  g_assert_true (peftq_affine_quantizer_observe (fixture->quantizer, input, &error));
  peftq_affine_quantizer_abort_calibration (fixture->quantizer);
  g_assert_false (peftq_affine_quantizer_is_calibrating (fixture->quantizer));
  g_assert_cmpuint (fixture->encoding_changed, ==, 1);

  /* Recalibrating to the same range is a no-op for the signal. */
  set_range (fixture->quantizer, -1.0f, 1.0f);
  peftq_affine_quantizer_begin_calibration (fixture->quantizer);
  g_assert_true (peftq_affine_quantizer_observe (fixture->quantizer, input, &error));
  g_assert_true (peftq_affine_quantizer_end_calibration (fixture->quantizer, &error));
  g_assert_cmpuint (fixture->encoding_changed, ==, 2);
}

static void
test_set_encoding_adopts_grid (Fixture       *fixture,
                               gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqEncoding) encoding = NULL;
  g_autoptr(PeftqEncoding) wide = NULL;
  const gint64 shape[] = { 2 };
  const float lo[] = { -1.0f, -2.0f };
  const float hi[] = { 1.0f, 2.0f };

  g_test_summary ("set_encoding takes the file's grid and rejects a wrong value count");

  encoding = peftq_encoding_new_per_tensor (-0.31f, 0.31f * 32767.0f / 32768.0f, 16, TRUE,
                                            &error);
  g_assert_no_error (error);
  g_assert_true (peftq_affine_quantizer_set_encoding (fixture->quantizer, encoding, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_affine_quantizer_get_bitwidth (fixture->quantizer), ==, 16);
  g_assert_true (peftq_affine_quantizer_get_symmetric (fixture->quantizer));
  g_assert_true (peftq_affine_quantizer_get_signed (fixture->quantizer));
  g_assert_cmpuint (fixture->bitwidth_notified, ==, 1);
  g_assert_cmpuint (fixture->symmetric_notified, ==, 1);
  g_assert_cmpuint (fixture->signed_notified, ==, 1);
  g_assert_cmpuint (fixture->encoding_changed, ==, 1);

  wide = peftq_encoding_new (shape, 1, NULL, 0, lo, 2, hi, 2, 8, TRUE, TRUE, &error);
  g_assert_no_error (error);
  g_assert_false (peftq_affine_quantizer_set_encoding (fixture->quantizer, wide, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "base_model.model.linear.lora_A.0.weight"));
  g_assert_nonnull (strstr (error->message, "has 1 encodings"));
  g_assert_nonnull (strstr (error->message, "has 2 values"));
  g_assert_cmpuint (fixture->encoding_changed, ==, 1);
}

static void
test_invalid_ranges (Fixture       *fixture,
                     gconstpointer  user_data)
{
  const float nan_value = NAN;
  const float one = 1.0f;
  const float two[] = { 1.0f, 2.0f };
  const float zero = 0.0f;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Ranges that give no finite positive scale are errors");

  g_assert_false (peftq_affine_quantizer_set_range (fixture->quantizer, &nan_value, 1, &one, 1,
                                                    &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (peftq_affine_quantizer_set_range (fixture->quantizer, &one, 1, &zero, 1,
                                                    &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (peftq_affine_quantizer_set_range (fixture->quantizer, &one, 1, &one, 1,
                                                    &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (peftq_affine_quantizer_set_range (fixture->quantizer, two, 2, two, 2, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);

  g_assert_false (peftq_affine_quantizer_is_initialized (fixture->quantizer));
  g_assert_cmpuint (fixture->encoding_changed, ==, 0);
}

static void
test_shape_mismatch_names_quantizer (Fixture       *fixture,
                                     gconstpointer  user_data)
{
  const float x[] = { 1.0f, 2.0f, 3.0f };
  const float lo[] = { -1.0f, -1.0f };
  const float hi[] = { 1.0f, 1.0f };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqAffineQuantizer) quantizer = NULL;
  g_autoptr(PeftqTensor) input = make_vector (x, G_N_ELEMENTS (x));
  g_autoptr(PeftqTensor) output = NULL;

  g_test_summary ("An input that does not fit the encoding shape is an error");

  quantizer = peftq_affine_quantizer_new_per_channel (8, TRUE, 2, 0, 1, &error);
  g_assert_no_error (error);
  peftq_quantizer_set_name (PEFTQ_QUANTIZER (quantizer), "fc.weight");
  g_assert_true (peftq_affine_quantizer_set_range (quantizer, lo, 2, hi, 2, &error));
  output = peftq_affine_quantizer_quantize_dequantize (quantizer, input, &error);
  g_assert_null (output);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "fc.weight"));
}

static void
test_blockwise (void)
{
  const float x[] = { 1.0f, -1.0f, 8.0f, -8.0f,
                      0.5f, 0.25f, 100.0f, 50.0f };
  const gint64 input_shape[] = { 2, 4 };
  const gint64 shape[] = { 2, 2 };
  const gint64 block_size[] = { 1, 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqAffineQuantizer) quantizer = NULL;
  g_autoptr(PeftqTensor) input = NULL;
  g_autoptr(PeftqTensor) output = NULL;
  g_autofree float *values = NULL;
  PeftqEncoding *encoding;
  gsize n = 0;

  g_test_summary ("A blockwise quantizer calibrates and quantizes each block on its own");

  quantizer = peftq_affine_quantizer_new_full (shape, 2, block_size, 2, 8, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_affine_quantizer_get_n_encodings (quantizer), ==, 4);
  input = peftq_tensor_new_from_floats (x, G_N_ELEMENTS (x), input_shape, 2, &error);
  g_assert_no_error (error);

  peftq_affine_quantizer_begin_calibration (quantizer);
  g_assert_true (peftq_affine_quantizer_observe (quantizer, input, &error));
  g_assert_true (peftq_affine_quantizer_end_calibration (quantizer, &error));
  g_assert_no_error (error);

  /* Block maxima of |x| are 1, 8, 0.5 and 100; delta = max(max / 127, -min / 128). */
  encoding = peftq_affine_quantizer_get_encoding (quantizer);
  g_assert_cmpfloat (peftq_encoding_get_scale (encoding, &n)[0], ==, 1.0f / 127.0f);
  g_assert_cmpfloat (peftq_encoding_get_scale (encoding, &n)[1], ==, 8.0f / 127.0f);
  g_assert_cmpfloat (peftq_encoding_get_scale (encoding, &n)[2], ==, 0.5f / 127.0f);
  g_assert_cmpfloat (peftq_encoding_get_scale (encoding, &n)[3], ==, 100.0f / 127.0f);

  output = peftq_affine_quantizer_quantize (quantizer, input, &error);
  g_assert_no_error (error);
  values = peftq_tensor_to_floats (output, &n);
  g_assert_cmpfloat (values[0], ==, 127.0f);
  g_assert_cmpfloat (values[3], ==, -127.0f);
  g_assert_cmpfloat (values[5], ==, 64.0f);
  g_assert_cmpfloat (values[7], ==, 64.0f);
}

static void
test_other_dtypes (void)
{
  const guint16 halves[] = { 0x3c00, 0xbc00 }; /* 1.0 and -1.0 in float16 */
  const gint64 shape[] = { 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (halves, sizeof halves);
  g_autoptr(PeftqTensor) input = NULL;
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(PeftqAffineQuantizer) quantizer = peftq_affine_quantizer_new (8, TRUE);
  g_autofree float *values = NULL;
  gsize n = 0;

  g_test_summary ("Float16 inputs are quantized in float32 and give float32 outputs");

  input = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_F16, shape, 1, bytes, &error);
  g_assert_no_error (error);
  set_range (quantizer, -1.28f, 1.27f);
  output = peftq_affine_quantizer_quantize_dequantize (quantizer, input, &error);
  g_assert_no_error (error);
  g_assert_cmpint (peftq_tensor_get_dtype (output), ==, PEFTQ_DTYPE_F32);
  values = peftq_tensor_to_floats (output, &n);
  g_assert_cmpfloat (values[0], ==, 100.0f * first_scale (quantizer));
  g_assert_cmpfloat (values[1], ==, -100.0f * first_scale (quantizer));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/peftq/quant-quantizer/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/peftq/quant-quantizer/defaults", test_defaults);
  ADD ("encoding-changed-once", test_encoding_changed_once);
  ADD ("properties-notify-on-change", test_properties_notify_on_change);
  ADD ("bitwidth-keeps-range", test_bitwidth_keeps_range);
  ADD ("uninitialized-error", test_uninitialized_error);
  ADD ("forward-modes", test_forward_modes);
  ADD ("frozen-keeps-encoding", test_frozen_keeps_encoding);
  ADD ("frozen-uninitialized-calibrates", test_frozen_uninitialized_calibrates);
  ADD ("calibration-without-data", test_calibration_without_data);
  ADD ("set-encoding-adopts-grid", test_set_encoding_adopts_grid);
  ADD ("invalid-ranges", test_invalid_ranges);
  ADD ("shape-mismatch-names-quantizer", test_shape_mismatch_names_quantizer);
  g_test_add_func ("/peftq/quant-quantizer/blockwise", test_blockwise);
  g_test_add_func ("/peftq/quant-quantizer/other-dtypes", test_other_dtypes);

#undef ADD

  return g_test_run ();
}
