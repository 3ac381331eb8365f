/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq.h>

#include <float.h>
#include <math.h>
#include <string.h>

/* Warnings of the Peftq domain, captured by log_writer. The library logs structured
 * messages, which g_test_expect_message does not see in GLib 2.74. */
static GPtrArray *captured_warnings;

static GLogWriterOutput
log_writer (GLogLevelFlags   log_level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }

  if ((log_level & G_LOG_LEVEL_WARNING) && g_strcmp0 (domain, "Peftq") == 0 && message != NULL)
    {
      g_ptr_array_add (captured_warnings, g_strdup (message));
      return G_LOG_WRITER_HANDLED;
    }

  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

/* Asserts that exactly one warning was logged since the last call and that it contains
 * @fragment. */
static void
assert_one_warning (const char *fragment)
{
  g_assert_cmpuint (captured_warnings->len, ==, 1);
  g_assert_nonnull (strstr (captured_warnings->pdata[0], fragment));
  g_ptr_array_set_size (captured_warnings, 0);
}

static void
assert_close (double actual,
              double expected)
{
  double tolerance = MAX (fabs (expected) * 1e-6, 1e-12);

  if (fabs (actual - expected) > tolerance)
    g_error ("Expected %.9g, got %.9g (tolerance %.3g)", expected, actual, tolerance);
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
observe (PeftqEncodingAnalyzer *analyzer,
         const float           *values,
         gsize                  n_values)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) tensor = make_vector (values, n_values);

  g_assert_true (peftq_encoding_analyzer_observe (analyzer, tensor, &error));
  g_assert_no_error (error);
}

static PeftqEncoding *
compute (PeftqEncodingAnalyzer *analyzer,
         guint                  bitwidth,
         gboolean               symmetric)
{
  g_autoptr(GError) error = NULL;
  PeftqEncoding *encoding;

  encoding = peftq_encoding_analyzer_compute_encoding (analyzer, bitwidth, symmetric,
                                                       symmetric, &error);
  g_assert_no_error (error);
  g_assert_nonnull (encoding);
  return encoding;
}

static float
range_min (PeftqEncoding *encoding)
{
  gsize n = 0;

  return peftq_encoding_get_range_min (encoding, &n)[0];
}

static float
range_max (PeftqEncoding *encoding)
{
  gsize n = 0;

  return peftq_encoding_get_range_max (encoding, &n)[0];
}

static float
scale_of (PeftqEncoding *encoding)
{
  gsize n = 0;

  return peftq_encoding_get_scale (encoding, &n)[0];
}

static void
test_min_max_fixed (void)
{
  const float x[] = { -3.0f, 1.0f, 2.0f };
  const float positive[] = { 2.0f, 2.0f, 2.0f };
  const float single[] = { -5.0f };
  g_autoptr(PeftqEncodingAnalyzer) analyzer = peftq_min_max_analyzer_new ();
  g_autoptr(PeftqEncoding) asymmetric = NULL;
  g_autoptr(PeftqEncoding) symmetric = NULL;
  g_autoptr(PeftqEncoding) constant = NULL;
  g_autoptr(PeftqEncoding) constant_symmetric = NULL;
  g_autoptr(PeftqEncoding) one = NULL;

  g_test_summary ("Min-max ranges of fixed inputs, constants and a single element");

  g_assert_false (peftq_encoding_analyzer_has_statistics (analyzer));
  observe (analyzer, x, G_N_ELEMENTS (x));
  g_assert_true (peftq_encoding_analyzer_has_statistics (analyzer));

  /* Asymmetric: the statistics [-3, 2] already include zero and are wide enough. */
  asymmetric = compute (analyzer, 8, FALSE);
  g_assert_cmpfloat (range_min (asymmetric), ==, -3.0f);
  g_assert_cmpfloat (range_max (asymmetric), ==, 2.0f);

  /* Symmetric: delta = max(2 / 127, 3 / 128) = 3 / 128, so [-3, 127 * 3 / 128]. */
  symmetric = compute (analyzer, 8, TRUE);
  assert_close (range_min (symmetric), -3.0);
  assert_close (range_max (symmetric), 127.0 * 3.0 / 128.0);

  /* A positive constant: zero inclusion gives [0, 2]; symmetric delta = 2 / 127. */
  peftq_encoding_analyzer_reset (analyzer);
  observe (analyzer, positive, G_N_ELEMENTS (positive));
  constant = compute (analyzer, 8, FALSE);
  g_assert_cmpfloat (range_min (constant), ==, 0.0f);
  g_assert_cmpfloat (range_max (constant), ==, 2.0f);
  constant_symmetric = compute (analyzer, 8, TRUE);
  assert_close (range_min (constant_symmetric), -128.0 * 2.0 / 127.0);
  assert_close (range_max (constant_symmetric), 2.0);

  /* A single element -5 with 4 bits: [-5, 0]. */
  peftq_encoding_analyzer_reset (analyzer);
  observe (analyzer, single, 1);
  one = compute (analyzer, 4, FALSE);
  g_assert_cmpfloat (range_min (one), ==, -5.0f);
  g_assert_cmpfloat (range_max (one), ==, 0.0f);
  assert_close (scale_of (one), 5.0 / 15.0);
}

static void
test_min_max_per_channel (void)
{
  const float x[] = { 1.0f, -2.0f, 3.0f,
                      -4.0f, 5.0f, 0.5f };
  const gint64 input_shape[] = { 2, 3 };
  const gint64 shape[] = { 3 };
  const float expected_min[] = { -4.0f, -2.0f, 0.0f };
  const float expected_max[] = { 1.0f, 5.0f, 3.0f };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqEncodingAnalyzer) analyzer = peftq_min_max_analyzer_new ();
  g_autoptr(PeftqTensor) input = NULL;
  g_autoptr(PeftqEncoding) encoding = NULL;
  gsize n = 0;

  g_test_summary ("Per-channel statistics reduce over every axis but the channel axis");

  g_assert_true (peftq_encoding_analyzer_set_shape (analyzer, shape, 1, NULL, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_encoding_analyzer_get_n_encodings (analyzer), ==, 3);

  input = peftq_tensor_new_from_floats (x, G_N_ELEMENTS (x), input_shape, 2, &error);
  g_assert_no_error (error);
  g_assert_true (peftq_encoding_analyzer_observe (analyzer, input, &error));
  g_assert_no_error (error);

  /* Columns: {1, -4}, {-2, 5}, {3, 0.5}, each widened to include zero. */
  encoding = compute (analyzer, 8, FALSE);
  g_assert_cmpuint (peftq_encoding_get_n_values (encoding), ==, 3);
  for (gsize c = 0; c < 3; c++)
    {
      g_assert_cmpfloat (peftq_encoding_get_range_min (encoding, &n)[c], ==, expected_min[c]);
      g_assert_cmpfloat (peftq_encoding_get_range_max (encoding, &n)[c], ==, expected_max[c]);
    }
}

static void
fill_random (float  *values,
             gsize   n,
             guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < n; i++)
    values[i] = (float) g_rand_double_range (rand, -3.0, 5.0);
}

static void
test_min_max_batch_split (void)
{
  const gsize n = 1000;
  const gsize splits[] = { 1, 3, 7, 250 };
  g_autofree float *values = g_new (float, n);
  g_autoptr(PeftqEncoding) reference = NULL;

  g_test_summary ("Min-max statistics do not depend on how the data is split or ordered");

  fill_random (values, n, 11);

  for (gsize s = 0; s < G_N_ELEMENTS (splits); s++)
    for (int backwards = 0; backwards <= 1; backwards++)
      {
        g_autoptr(PeftqEncodingAnalyzer) analyzer = peftq_min_max_analyzer_new ();
        g_autoptr(PeftqEncoding) encoding = NULL;
        gsize batch = (n + splits[s] - 1) / splits[s];

        for (gsize b = 0; b < splits[s]; b++)
          {
            gsize index = backwards ? splits[s] - 1 - b : b;
            gsize begin = index * batch;
            gsize end = MIN (n, begin + batch);

            if (begin < end)
              observe (analyzer, values + begin, end - begin);
          }

        encoding = compute (analyzer, 8, FALSE);
        if (reference == NULL)
          reference = peftq_encoding_ref (encoding);
        g_assert_true (peftq_encoding_equal (encoding, reference));
      }
}

static void
test_nonfinite_values (void)
{
  const float mixed[] = { 1.0f, NAN, -2.0f, INFINITY, -INFINITY };
  const float only_nan[] = { NAN, NAN };
  g_autoptr(PeftqEncodingAnalyzer) analyzer = peftq_min_max_analyzer_new ();
  g_autoptr(PeftqEncoding) encoding = NULL;
  g_autoptr(PeftqEncoding) nothing = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("NaN and infinity are skipped with one warning per tensor");

  observe (analyzer, mixed, G_N_ELEMENTS (mixed));
  assert_one_warning ("skipped 3 NaN or infinite values");

  encoding = compute (analyzer, 8, FALSE);
  g_assert_cmpfloat (range_min (encoding), ==, -2.0f);
  g_assert_cmpfloat (range_max (encoding), ==, 1.0f);
  g_assert_false (isnan (scale_of (encoding)));

  /* Only NaN: no statistics, so no encoding and no error. */
  peftq_encoding_analyzer_reset (analyzer);
  observe (analyzer, only_nan, G_N_ELEMENTS (only_nan));
  assert_one_warning ("skipped 2 NaN or infinite values");
  g_assert_false (peftq_encoding_analyzer_has_statistics (analyzer));
  nothing = peftq_encoding_analyzer_compute_encoding (analyzer, 8, FALSE, FALSE, &error);
  g_assert_no_error (error);
  g_assert_null (nothing);
}

static void
check_near_limit (PeftqEncodingAnalyzer *analyzer,
                  gboolean               symmetric)
{
  const float extremes[] = { FLT_MAX, -FLT_MAX, 1.0f };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqEncoding) encoding = NULL;
  g_autoptr(PeftqAffineQuantizer) quantizer = peftq_affine_quantizer_new (8, symmetric);
  g_autoptr(PeftqTensor) input = make_vector (extremes, G_N_ELEMENTS (extremes));
  g_autoptr(PeftqTensor) output = NULL;
  g_autofree float *values = NULL;
  gsize n = 0;

  peftq_encoding_analyzer_reset (analyzer);
  observe (analyzer, extremes, G_N_ELEMENTS (extremes));
  assert_one_warning ("within 5% of the float32 limit");

  encoding = compute (analyzer, 8, symmetric);
  g_assert_true (isfinite (scale_of (encoding)));
  g_assert_cmpfloat (scale_of (encoding), >, 0.0f);
  g_assert_true (isfinite (peftq_encoding_get_min (encoding, &n)[0]));
  g_assert_true (isfinite (peftq_encoding_get_max (encoding, &n)[0]));

  g_assert_true (peftq_affine_quantizer_set_encoding (quantizer, encoding, &error));
  g_assert_no_error (error);
  output = peftq_affine_quantizer_quantize_dequantize (quantizer, input, &error);
  g_assert_no_error (error);
  values = peftq_tensor_to_floats (output, &n);
  for (gsize i = 0; i < n; i++)
    g_assert_false (isnan (values[i]));
}

static void
test_near_float_limit (void)
{
  g_autoptr(PeftqEncodingAnalyzer) min_max = peftq_min_max_analyzer_new ();
  g_autoptr(PeftqEncodingAnalyzer) percentile = peftq_percentile_analyzer_new (64);
  g_autoptr(PeftqEncodingAnalyzer) sqnr = peftq_sqnr_analyzer_new (64);

  g_test_summary ("Ranges near FLT_MAX give a finite scale and no NaN output");

  check_near_limit (min_max, FALSE);
  check_near_limit (min_max, TRUE);
  check_near_limit (percentile, FALSE);
  check_near_limit (percentile, TRUE);
  check_near_limit (sqnr, FALSE);
  check_near_limit (sqnr, TRUE);
}

static void
test_zero_tensor_all_analyzers (void)
{
  const float zeros[8] = { 0 };
  PeftqEncodingAnalyzer *analyzers[3];

  g_test_summary ("All analyzers give a finite positive scale for a zero tensor");

  analyzers[0] = peftq_min_max_analyzer_new ();
  analyzers[1] = peftq_percentile_analyzer_new (2048);
  analyzers[2] = peftq_sqnr_analyzer_new (2048);

  for (gsize a = 0; a < G_N_ELEMENTS (analyzers); a++)
    {
      for (int symmetric = 0; symmetric <= 1; symmetric++)
        {
          g_autoptr(PeftqEncoding) encoding = NULL;

          peftq_encoding_analyzer_reset (analyzers[a]);
          observe (analyzers[a], zeros, G_N_ELEMENTS (zeros));
          encoding = compute (analyzers[a], 8, symmetric);
          g_assert_true (isfinite (scale_of (encoding)));
          g_assert_cmpfloat (scale_of (encoding), >, 0.0f);
        }
      g_assert_finalize_object (analyzers[a]);
    }
}

static void
test_percentile_fixed (void)
{
  float values[100];
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqEncodingAnalyzer) analyzer = peftq_percentile_analyzer_new (100);
  PeftqPercentileAnalyzer *percentile = PEFTQ_PERCENTILE_ANALYZER (analyzer);
  g_autoptr(PeftqEncoding) full = NULL;
  g_autoptr(PeftqEncoding) ninety = NULL;

  g_test_summary ("Percentile ranges of -50..49 in 100 bins");

  for (int i = 0; i < 100; i++)
    values[i] = (float) (i - 50);
  observe (analyzer, values, 100);

  /* p = 100 is the histogram range, the data's min and max. */
  full = compute (analyzer, 8, FALSE);
  g_assert_cmpfloat (range_min (full), ==, -50.0f);
  g_assert_cmpfloat (range_max (full), ==, 49.0f);

  /* The bins are 0.99 wide and each holds one value, so the cumulative count of bin b
   * is b + 1. The maximum is the left edge of the first bin with c >= 90 (bin 89):
   * -50 + 89 * 0.99 = 38.11; the minimum that of the first bin with c >= 10 (bin 9):
   * -50 + 9 * 0.99 = -41.09. */
  g_assert_true (peftq_percentile_analyzer_set_percentile (percentile, 90.0, &error));
  g_assert_no_error (error);
  ninety = compute (analyzer, 8, FALSE);
  assert_close (range_min (ninety), -41.09);
  assert_close (range_max (ninety), 38.11);

  g_assert_false (peftq_percentile_analyzer_set_percentile (percentile, 49.0, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
  g_assert_cmpfloat (peftq_percentile_analyzer_get_percentile (percentile), ==, 90.0);
}

static void
test_histogram_batch_split (void)
{
  const gsize n = 2000;
  g_autofree float *values = g_new (float, n);
  PeftqEncodingAnalyzer *pairs[2][2];

  g_test_summary ("Histogram analyzers match one batch when the first batch holds the extremes");

  fill_random (values, n, 5);
  /* Put the minimum and maximum into the first batch. */
  values[0] = -4.0f;
  values[1] = 6.0f;

  pairs[0][0] = peftq_percentile_analyzer_new (256);
  pairs[0][1] = peftq_percentile_analyzer_new (256);
  pairs[1][0] = peftq_sqnr_analyzer_new (256);
  pairs[1][1] = peftq_sqnr_analyzer_new (256);
  peftq_percentile_analyzer_set_percentile (PEFTQ_PERCENTILE_ANALYZER (pairs[0][0]), 95.0, NULL);
  peftq_percentile_analyzer_set_percentile (PEFTQ_PERCENTILE_ANALYZER (pairs[0][1]), 95.0, NULL);

  for (gsize p = 0; p < 2; p++)
    {
      g_autoptr(PeftqEncoding) whole = NULL;
      g_autoptr(PeftqEncoding) split = NULL;

      observe (pairs[p][0], values, n);
      for (gsize begin = 0; begin < n; begin += 300)
        observe (pairs[p][1], values + begin, MIN (300, n - begin));

      for (int symmetric = 0; symmetric <= 1; symmetric++)
        {
          g_clear_pointer (&whole, peftq_encoding_unref);
          g_clear_pointer (&split, peftq_encoding_unref);
          whole = compute (pairs[p][0], 8, symmetric);
          split = compute (pairs[p][1], 8, symmetric);
          g_assert_true (peftq_encoding_equal (whole, split));
        }

      g_assert_finalize_object (pairs[p][0]);
      g_assert_finalize_object (pairs[p][1]);
    }
}

static void
test_histogram_widening (void)
{
  const float first[] = { 0.0f, 1.0f };
  const float second[] = { -1.0f, 0.5f };
  g_autoptr(PeftqEncodingAnalyzer) analyzer = peftq_percentile_analyzer_new (16);
  g_autoptr(PeftqEncoding) encoding = NULL;

  g_test_summary ("A later batch outside the histogram range widens it");

  observe (analyzer, first, 2);
  observe (analyzer, second, 2);
  encoding = compute (analyzer, 8, FALSE);
  g_assert_cmpfloat (range_min (encoding), ==, -1.0f);
  g_assert_cmpfloat (range_max (encoding), ==, 1.0f);
}

static void
test_sqnr_asymmetric_fixed (void)
{
  const float values[] = { 0.0f, 1.0f };
  g_autoptr(PeftqEncodingAnalyzer) analyzer = peftq_sqnr_analyzer_new (4);
  g_autoptr(PeftqEncoding) encoding = NULL;

  g_test_summary ("SQNR picks the candidate that represents the bin midpoints exactly");

  /* Four bins over [0, 1] with midpoints 0.125 and 0.875 holding one value each. With
   * mn = 0 every offset candidate clips to lo = 0, so candidate i has the range
   * [0, min(1, i / 16)] and delta = i / (16 * 255). For i = 15, delta = 1 / 272 and both
   * midpoints are grid points (34 and 238 steps): zero noise. i = 14 and i >= 16 leave
   * rounding noise, and i < 14 clips 0.875. So the range is [0, 15 / 16]. */
  observe (analyzer, values, G_N_ELEMENTS (values));
  encoding = compute (analyzer, 8, FALSE);
  g_assert_cmpfloat (range_min (encoding), ==, 0.0f);
  assert_close (range_max (encoding), 0.9375);
}

static void
test_sqnr_symmetric_candidates (void)
{
  const gsize n = 4000;
  g_autofree float *values = g_new (float, n);
  g_autoptr(PeftqEncodingAnalyzer) analyzer = peftq_sqnr_analyzer_new (2048);
  g_autoptr(PeftqEncodingAnalyzer) reference = peftq_min_max_analyzer_new ();
  g_autoptr(PeftqEncoding) encoding = NULL;
  g_autoptr(PeftqEncoding) min_max = NULL;
  double observed_max = 0.0;
  double d;
  double candidate;
  float delta;

  g_test_summary ("Symmetric SQNR returns one of its candidates on the signed grid");

  /* A peaked distribution with rare outliers, so clipping them can pay off. */
  fill_random (values, n, 3);
  for (gsize i = 0; i < n; i++)
    {
      values[i] = values[i] * values[i] * values[i] / 25.0f;
      observed_max = MAX (observed_max, fabs (values[i]));
    }
  observe (analyzer, values, n);
  observe (reference, values, n);
  encoding = compute (analyzer, 8, TRUE);
  min_max = compute (reference, 8, TRUE);

  /* The result is [-128 delta, 127 delta] with delta = D * i / 100 for an integer i in
   * 1..101, where D = 2 * max(|hist min|, |hist max|) / 255. */
  delta = scale_of (encoding);
  assert_close (range_min (encoding), -128.0 * delta);
  assert_close (range_max (encoding), 127.0 * delta);
  d = 2.0 * observed_max / 255.0;
  candidate = delta / d * 100.0;
  g_assert_cmpfloat (fabs (candidate - nearbyint (candidate)), <, 1e-3);
  g_assert_cmpfloat (nearbyint (candidate), >=, 1.0);
  g_assert_cmpfloat (nearbyint (candidate), <=, 101.0);

  /* Clipping the cubed tail must beat covering it, so the range is narrower than the
   * min-max range. */
  g_assert_cmpfloat (range_max (encoding), <, range_max (min_max));
}

static void
test_sqnr_gamma_property (void)
{
  g_autoptr(PeftqEncodingAnalyzer) analyzer = peftq_sqnr_analyzer_new (128);
  PeftqSqnrAnalyzer *sqnr = PEFTQ_SQNR_ANALYZER (analyzer);
  guint notifications = 0;

  g_test_summary ("Gamma notifies only on change");

  g_signal_connect_swapped (analyzer, "notify::gamma", G_CALLBACK (g_atomic_int_inc),
                            &notifications);
  g_assert_cmpfloat (peftq_sqnr_analyzer_get_gamma (sqnr), ==, 3.0);
  peftq_sqnr_analyzer_set_gamma (sqnr, 3.0);
  g_assert_cmpuint (notifications, ==, 0);
  peftq_sqnr_analyzer_set_gamma (sqnr, 1.0);
  g_assert_cmpuint (notifications, ==, 1);
  g_assert_cmpuint (peftq_sqnr_analyzer_get_num_bins (sqnr), ==, 128);
}

int
main (int    argc,
      char **argv)
{
  int status;

  captured_warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (log_writer, NULL, NULL);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/quant-analyzers/min-max-fixed", test_min_max_fixed);
  g_test_add_func ("/peftq/quant-analyzers/min-max-per-channel", test_min_max_per_channel);
  g_test_add_func ("/peftq/quant-analyzers/min-max-batch-split", test_min_max_batch_split);
  g_test_add_func ("/peftq/quant-analyzers/nonfinite-values", test_nonfinite_values);
  g_test_add_func ("/peftq/quant-analyzers/near-float-limit", test_near_float_limit);
  g_test_add_func ("/peftq/quant-analyzers/zero-tensor", test_zero_tensor_all_analyzers);
  g_test_add_func ("/peftq/quant-analyzers/percentile-fixed", test_percentile_fixed);
  g_test_add_func ("/peftq/quant-analyzers/histogram-batch-split", test_histogram_batch_split);
  g_test_add_func ("/peftq/quant-analyzers/histogram-widening", test_histogram_widening);
  g_test_add_func ("/peftq/quant-analyzers/sqnr-asymmetric-fixed", test_sqnr_asymmetric_fixed);
  g_test_add_func ("/peftq/quant-analyzers/sqnr-symmetric-candidates", test_sqnr_symmetric_candidates);
  g_test_add_func ("/peftq/quant-analyzers/sqnr-gamma", test_sqnr_gamma_property);

  status = g_test_run ();
  g_ptr_array_unref (captured_warnings);
  return status;
}
