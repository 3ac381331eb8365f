/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <math.h>
#include <peftq.h>

#include "peftq-vector-private.h"

/* The vector exp against the double-precision exp: within 4 ulp (relative 5e-7) over the
 * range that softmax and SiLU use, 0 for -inf and +inf above the float range. */
static void
test_vector_exp_accuracy (void)
{
  double worst = 0.0;
  float special[4] = { -INFINITY, 0.0f, 100.0f, -100.0f };
  PeftqVec4 result;

  for (double x = -87.0; x <= 88.0; x += 0.0137)
    {
      float values[4] = { (float) x, (float) (x + 0.003), (float) (x + 0.005), (float) (x + 0.007) };
      PeftqVec4 e = peftq_vec4_exp (peftq_vec4_load (values));

      for (guint lane = 0; lane < 4; lane++)
        {
          double expected = exp ((double) values[lane]);
          double relative = fabs (e[lane] - expected) / expected;

          worst = MAX (worst, relative);
        }
    }
  g_assert_cmpfloat (worst, <, 5e-7);

  result = peftq_vec4_exp (peftq_vec4_load (special));
  g_assert_cmpfloat (result[0], ==, 0.0f);
  g_assert_cmpfloat (result[1], ==, 1.0f);
  g_assert_true (isinf (result[2]));
  g_assert_cmpfloat (result[3], <, 1.3e-38f);
  g_assert_cmpfloat (result[3], >=, 0.0f);
}

static void
test_vector_max_select (void)
{
  float a_values[4] = { 1, -2, 3, -INFINITY };
  float b_values[4] = { 0, 5, 3, -1 };
  PeftqVec4 max = peftq_vec4_max (peftq_vec4_load (a_values), peftq_vec4_load (b_values));

  g_assert_cmpfloat (max[0], ==, 1);
  g_assert_cmpfloat (max[1], ==, 5);
  g_assert_cmpfloat (max[2], ==, 3);
  g_assert_cmpfloat (max[3], ==, -1);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/kernels/vector-exp-accuracy", test_vector_exp_accuracy);
  g_test_add_func ("/kernels/vector-max-select", test_vector_max_select);

  return g_test_run ();
}
