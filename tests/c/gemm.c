/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <math.h>
#include <peftq.h>

#include "peftq-gemm-private.h"

typedef void (*GemmFunc) (gboolean, gsize, gsize, gsize, const float *, gsize,
                          const float *, gsize, float, float *, gsize);

static void
fill_random (GRand *rand,
             float *values,
             gsize  n)
{
  for (gsize i = 0; i < n; i++)
    values[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
}

/* Double-precision reference of C = A · op(B) + beta · C. */
static void
gemm_naive (gboolean     trans_b,
            gsize        m,
            gsize        n,
            gsize        k,
            const float *a,
            const float *b,
            float        beta,
            float       *c)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      {
        double sum = beta * c[i * n + j];

        for (gsize kk = 0; kk < k; kk++)
          sum += (double) a[i * k + kk] * (trans_b ? b[j * k + kk] : b[kk * n + j]);
        c[i * n + j] = (float) sum;
      }
}

static void
check_gemm (GemmFunc func)
{
  static const gsize sizes[][3] = {
    { 1, 1, 1 }, { 3, 5, 7 }, { 4, 16, 8 }, { 17, 33, 65 }, { 64, 48, 300 }, { 5, 0, 3 }, { 6, 4, 0 },
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (int trans_b = 0; trans_b <= 1; trans_b++)
      for (int accumulate = 0; accumulate <= 1; accumulate++)
        {
          gsize m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
          g_autofree float *a = g_new (float, m * k + 1);
          g_autofree float *b = g_new (float, n * k + 1);
          g_autofree float *c = g_new (float, m * n + 1);
          g_autofree float *expected = g_new (float, m * n + 1);
          float beta = accumulate ? 1.0f : 0.0f;

          fill_random (rand, a, m * k);
          fill_random (rand, b, n * k);
          fill_random (rand, c, m * n);
          for (gsize i = 0; i < m * n; i++)
            expected[i] = c[i];
          /* With beta 0, C may hold anything, even NaN. */
          if (!accumulate && m * n > 0)
            c[0] = NAN;

          gemm_naive (trans_b, m, n, k, a, b, beta, expected);
          func (trans_b, m, n, k, a, k, b, trans_b ? k : n, beta, c, n);

          for (gsize i = 0; i < m * n; i++)
            g_assert_cmpfloat_with_epsilon (c[i], expected[i], 1e-4);
        }
}

static void
test_gemm_default (void)
{
  check_gemm (peftq_gemm);
}

static void
test_gemm_portable (void)
{
  check_gemm (peftq_gemm_portable);
}

static void
test_gemm_serial (void)
{
  check_gemm (peftq_gemm_serial);
}

/* Strided operands: A and C are column blocks of wider matrices. */
static void
test_gemm_strides (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  gsize m = 9, n = 20, k = 13, lda = 31, ldc = 27;
  g_autofree float *a = g_new (float, m * lda);
  g_autofree float *a_packed = g_new (float, m * k);
  g_autofree float *b = g_new (float, n * k);
  g_autofree float *c = g_new0 (float, m * ldc);
  g_autofree float *expected = g_new0 (float, m * n);
  GemmFunc funcs[] = { peftq_gemm, peftq_gemm_portable };

  fill_random (rand, a, m * lda);
  fill_random (rand, b, n * k);
  for (gsize i = 0; i < m; i++)
    for (gsize kk = 0; kk < k; kk++)
      a_packed[i * k + kk] = a[i * lda + kk];
  gemm_naive (TRUE, m, n, k, a_packed, b, 0.0f, expected);

  for (guint f = 0; f < G_N_ELEMENTS (funcs); f++)
    {
      funcs[f] (TRUE, m, n, k, a, lda, b, k, 0.0f, c, ldc);
      for (gsize i = 0; i < m; i++)
        for (gsize j = 0; j < n; j++)
          g_assert_cmpfloat_with_epsilon (c[i * ldc + j], expected[i * n + j], 1e-4);
    }
}

/* The same product with 1 and 2 threads gives the same bits. */
static void
test_gemm_thread_independent (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  gsize m = 70, n = 50, k = 600;
  g_autofree float *a = g_new (float, m * k);
  g_autofree float *b = g_new (float, n * k);
  g_autofree float *one = g_new (float, m * n);
  g_autofree float *two = g_new (float, m * n);
  GemmFunc funcs[] = { peftq_gemm, peftq_gemm_portable };
  guint saved = peftq_get_num_threads ();

  fill_random (rand, a, m * k);
  fill_random (rand, b, n * k);
  for (guint f = 0; f < G_N_ELEMENTS (funcs); f++)
    {
      peftq_set_num_threads (1);
      funcs[f] (TRUE, m, n, k, a, k, b, k, 0.0f, one, n);
      peftq_set_num_threads (2);
      funcs[f] (TRUE, m, n, k, a, k, b, k, 0.0f, two, n);
      for (gsize i = 0; i < m * n; i++)
        g_assert_cmpfloat (one[i], ==, two[i]);
    }
  peftq_set_num_threads (saved);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/gemm/default", test_gemm_default);
  g_test_add_func ("/gemm/portable", test_gemm_portable);
  g_test_add_func ("/gemm/serial", test_gemm_serial);
  g_test_add_func ("/gemm/strides", test_gemm_strides);
  g_test_add_func ("/gemm/thread-independent", test_gemm_thread_independent);

  return g_test_run ();
}
