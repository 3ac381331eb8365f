/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq.h>

#include "peftq-qdq.h"

#include <float.h>
#include <math.h>
#include <string.h>

typedef struct
{
  float scale;
  float offset;
  float qmin;
  float qmax;
} Grid;

static const Grid grids[] = {
  { 0.5f, 0.0f, -128.0f, 127.0f },
  { 0.013725490f, -73.0f, 0.0f, 255.0f },
  { 1.1920929e-07f, 0.0f, -8.0f, 7.0f },
  { 3.0f, -5.0f, 0.0f, 65535.0f },
  { 1.5259022e-05f, 0.0f, 0.0f, 65535.0f },
  { 1e-30f, -100.0f, -32768.0f, 32767.0f },
  { 1e30f, 3.0f, 0.0f, 15.0f },
};

static float
random_float (GRand *rand)
{
  switch (g_rand_int_range (rand, 0, 6))
    {
    case 0:
      /* An exact tie of a scale of 0.5: a multiple of 0.25. */
      return (float) g_rand_int_range (rand, -2000, 2000) * 0.25f;
    case 1:
      return (float) g_rand_double_range (rand, -3.0, 3.0);
    case 2:
      return (float) g_rand_double_range (rand, -1e5, 1e5);
    case 3:
      {
        guint32 bits = g_rand_int (rand);
        float value;

        memcpy (&value, &bits, sizeof value);
        return value;
      }
    case 4:
      /* Half-integer multiples of the scale of the second grid. */
      return ((float) g_rand_int_range (rand, -300, 300) + 0.5f) * 0.013725490f;
    default:
      return (float) g_rand_int_range (rand, -9000000, 9000000);
    }
}

static void
assert_same_bits (const float *a,
                  const float *b,
                  gsize        n,
                  const float *input)
{
  for (gsize i = 0; i < n; i++)
    if (memcmp (&a[i], &b[i], sizeof (float)) != 0)
      g_error ("Element %" G_GSIZE_FORMAT " (input %.9g): %.9g differs from %.9g",
               i, input[i], a[i], b[i]);
}

static void
test_vectorized_matches_ref (void)
{
  const float specials[] = { 0.0f, -0.0f, NAN, -NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX,
                             FLT_MIN, -FLT_MIN, 1e-45f, -1e-45f, 0x1p23f, -0x1p23f,
                             0x1p22f + 0.5f, -(0x1p22f + 0.5f), 8388607.5f, -8388607.5f,
                             0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f };
  g_autoptr(GRand) rand = g_rand_new_with_seed (20241024);
  const gsize n = 4099;
  g_autofree float *input = g_new (float, n);
  g_autofree float *expected = g_new (float, n);
  g_autofree float *actual = g_new (float, n);

  g_test_summary ("The vectorizable kernels return the bits of the _ref kernels");

  for (gsize i = 0; i < n; i++)
    input[i] = i < G_N_ELEMENTS (specials) ? specials[i] : random_float (rand);

  for (gsize g = 0; g < G_N_ELEMENTS (grids); g++)
    {
      const Grid *grid = &grids[g];

      /* Every length up to 40 checks the tails after the blocks of 16. */
      for (gsize length = 0; length <= 40; length++)
        {
          peftq_qdq_f32_ref (input, expected, length, grid->scale, grid->offset, grid->qmin,
                             grid->qmax);
          peftq_qdq_f32 (input, actual, length, grid->scale, grid->offset, grid->qmin,
                         grid->qmax);
          assert_same_bits (expected, actual, length, input);
        }

      peftq_qdq_f32_ref (input, expected, n, grid->scale, grid->offset, grid->qmin, grid->qmax);
      peftq_qdq_f32 (input, actual, n, grid->scale, grid->offset, grid->qmin, grid->qmax);
      assert_same_bits (expected, actual, n, input);

      peftq_quantize_f32_ref (input, expected, n, grid->scale, grid->offset, grid->qmin,
                              grid->qmax);
      peftq_quantize_f32 (input, actual, n, grid->scale, grid->offset, grid->qmin, grid->qmax);
      assert_same_bits (expected, actual, n, input);
    }
}

static void
test_ref_rounds_half_to_even (void)
{
  const float x[] = { 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f };
  const float expected[] = { 0.0f, 2.0f, 2.0f, -0.0f, -2.0f, -2.0f, 4.0f };
  float q_ref[G_N_ELEMENTS (x)];
  float q_vec[G_N_ELEMENTS (x)];

  g_test_summary ("Both quantize kernels round exact ties to the even integer");

  peftq_quantize_f32_ref (x, q_ref, G_N_ELEMENTS (x), 1.0f, 0.0f, -128.0f, 127.0f);
  peftq_quantize_f32 (x, q_vec, G_N_ELEMENTS (x), 1.0f, 0.0f, -128.0f, 127.0f);
  for (gsize i = 0; i < G_N_ELEMENTS (x); i++)
    {
      g_assert_cmpfloat (q_ref[i], ==, expected[i]);
      g_assert_cmpfloat (q_vec[i], ==, expected[i]);
    }
}

static void
test_nan_and_infinity (void)
{
  const float x[] = { NAN, INFINITY, -INFINITY };
  float q[3];
  float dq[3];

  g_test_summary ("NaN stays NaN and infinities clamp to the grid ends");

  peftq_quantize_f32 (x, q, 3, 0.5f, 0.0f, -128.0f, 127.0f);
  peftq_qdq_f32 (x, dq, 3, 0.5f, 0.0f, -128.0f, 127.0f);
  g_assert_true (isnan (q[0]));
  g_assert_cmpfloat (q[1], ==, 127.0f);
  g_assert_cmpfloat (q[2], ==, -128.0f);
  g_assert_true (isnan (dq[0]));
  g_assert_cmpfloat (dq[1], ==, 63.5f);
  g_assert_cmpfloat (dq[2], ==, -64.0f);
}

static void
test_layout_per_channel_axes (void)
{
  const gint64 input_shape[] = { 4, 6, 5 };
  const gint64 axis0[] = { 4, 1, 1 };
  const gint64 axis1[] = { 6, 1 };
  const gint64 axis2[] = { 5 };
  g_autoptr(GError) error = NULL;
  PeftqQdqLayout layout;

  g_test_summary ("Runs map to the encoding of their channel on any axis");

  g_assert_true (peftq_qdq_layout_init (&layout, input_shape, 3, axis0, 3, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (layout.run_length, ==, 30);
  g_assert_cmpuint (layout.n_runs, ==, 4);
  for (guint64 r = 0; r < 4; r++)
    g_assert_cmpuint (peftq_qdq_layout_get_encoding (&layout, r), ==, r);

  /* Shape (6, 1) aligns from the last axis, so it is axis 1 of the input. */
  g_assert_true (peftq_qdq_layout_init (&layout, input_shape, 3, axis1, 2, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (layout.run_length, ==, 5);
  g_assert_cmpuint (layout.n_runs, ==, 24);
  for (guint64 r = 0; r < 24; r++)
    g_assert_cmpuint (peftq_qdq_layout_get_encoding (&layout, r), ==, r % 6);

  g_assert_true (peftq_qdq_layout_init (&layout, input_shape, 3, axis2, 1, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (layout.run_length, ==, 1);
  g_assert_cmpuint (layout.n_runs, ==, 120);
  for (guint64 r = 0; r < 120; r++)
    g_assert_cmpuint (peftq_qdq_layout_get_encoding (&layout, r), ==, r % 5);
}

static void
test_layout_blockwise (void)
{
  const gint64 input_shape[] = { 4, 8 };
  const gint64 enc_shape[] = { 4, 2 };
  const gint64 block_size[] = { 1, 4 };
  const gint64 block_auto[] = { -1, -1 };
  const gint64 block_bad[] = { 1, 3 };
  g_autoptr(GError) error = NULL;
  PeftqQdqLayout layout;

  g_test_summary ("Blocks of 4 along the last axis give one run per block");

  g_assert_true (peftq_qdq_layout_init (&layout, input_shape, 2, enc_shape, 2, block_size,
                                        &error));
  g_assert_no_error (error);
  g_assert_cmpuint (layout.run_length, ==, 4);
  g_assert_cmpuint (layout.n_runs, ==, 8);
  for (guint64 r = 0; r < 8; r++)
    g_assert_cmpuint (peftq_qdq_layout_get_encoding (&layout, r), ==, r);

  g_assert_true (peftq_qdq_layout_init (&layout, input_shape, 2, enc_shape, 2, block_auto,
                                        &error));
  g_assert_no_error (error);
  g_assert_cmpuint (layout.run_length, ==, 4);

  g_assert_false (peftq_qdq_layout_init (&layout, input_shape, 2, enc_shape, 2, block_bad,
                                         &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
}

static void
test_layout_mismatch (void)
{
  const gint64 input_shape[] = { 4, 6 };
  const gint64 wrong[] = { 3, 1 };
  const gint64 too_many[] = { 1, 4, 6 };
  g_autoptr(GError) error = NULL;
  PeftqQdqLayout layout;

  g_test_summary ("Encoding shapes that do not broadcast are errors naming both shapes");

  g_assert_false (peftq_qdq_layout_init (&layout, input_shape, 2, wrong, 2, NULL, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "(3, 1)"));
  g_assert_nonnull (strstr (error->message, "(4, 6)"));
  g_clear_error (&error);

  g_assert_false (peftq_qdq_layout_init (&layout, input_shape, 2, too_many, 3, NULL, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
}

static void
check_run_threads (const gint64 *enc_shape,
                   guint         enc_rank,
                   guint         n_threads)
{
  const gint64 input_shape[] = { 48, 4096 };
  const gsize n = 48 * 4096;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(GError) error = NULL;
  g_autofree float *input = g_new (float, n);
  g_autofree float *expected = g_new (float, n);
  g_autofree float *actual = g_new (float, n);
  g_autofree float *scales = g_new (float, 48);
  g_autofree float *offsets = g_new (float, 48);
  PeftqQdqLayout layout;

  for (gsize i = 0; i < n; i++)
    input[i] = random_float (rand);
  for (gsize c = 0; c < 48; c++)
    {
      scales[c] = 0.01f * (float) (c + 1);
      offsets[c] = -(float) (c * 3);
    }

  g_assert_true (peftq_qdq_layout_init (&layout, input_shape, 2, enc_shape, enc_rank, NULL,
                                        &error));
  g_assert_no_error (error);

  /* The truth: each row through the scalar kernel with its own encoding. */
  for (gsize row = 0; row < 48; row++)
    {
      gsize c = layout.n_encodings == 1 ? 0 : row;

      peftq_qdq_f32_ref (input + row * 4096, expected + row * 4096, 4096, scales[c],
                         offsets[c], 0.0f, 255.0f);
    }

  peftq_set_num_threads (n_threads);
  peftq_qdq_run (&layout, PEFTQ_QDQ_OP_QDQ, input, actual, scales, offsets, 0.0f, 255.0f,
                 FALSE);
  assert_same_bits (expected, actual, n, input);
  peftq_qdq_run (&layout, PEFTQ_QDQ_OP_QDQ, input, actual, scales, offsets, 0.0f, 255.0f,
                 TRUE);
  assert_same_bits (expected, actual, n, input);
}

static void
test_run_threads (void)
{
  const gint64 per_channel[] = { 48, 1 };
  guint saved = peftq_get_num_threads ();

  g_test_summary ("Per-tensor and per-channel runs give the same bits with 1 and 2 threads");

  check_run_threads (NULL, 0, 1);
  check_run_threads (NULL, 0, 2);
  check_run_threads (per_channel, 2, 1);
  check_run_threads (per_channel, 2, 2);

  peftq_set_num_threads (saved);
}

#if defined(PEFTQ_QDQ_REQUIRED_CPU)
static void
skip_unsupported_processor (void)
{
  g_test_skip ("This processor lacks " PEFTQ_QDQ_REQUIRED_CPU ", so these kernels cannot run");
}
#endif

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#if defined(PEFTQ_QDQ_REQUIRED_CPU)
  __builtin_cpu_init ();
  if (!__builtin_cpu_supports (PEFTQ_QDQ_REQUIRED_CPU))
    {
      g_test_add_func ("/peftq/quant-kernels/unsupported-processor", skip_unsupported_processor);
      return g_test_run ();
    }
#endif

  g_test_add_func ("/peftq/quant-kernels/vectorized-matches-ref", test_vectorized_matches_ref);
  g_test_add_func ("/peftq/quant-kernels/ties-to-even", test_ref_rounds_half_to_even);
  g_test_add_func ("/peftq/quant-kernels/nan-and-infinity", test_nan_and_infinity);
  g_test_add_func ("/peftq/quant-kernels/layout-per-channel-axes", test_layout_per_channel_axes);
  g_test_add_func ("/peftq/quant-kernels/layout-blockwise", test_layout_blockwise);
  g_test_add_func ("/peftq/quant-kernels/layout-mismatch", test_layout_mismatch);
  g_test_add_func ("/peftq/quant-kernels/run-threads", test_run_threads);

  return g_test_run ();
}
