/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq/peftq.h>

#include "test-util.h"

#include <float.h>
#include <math.h>
#include <string.h>

static const struct
{
  PeftqDType dtype;
  const char *name;
  gsize size;
  gboolean is_float;
} dtype_table[] = {
  { PEFTQ_DTYPE_F64, "F64", 8, TRUE },
  { PEFTQ_DTYPE_F32, "F32", 4, TRUE },
  { PEFTQ_DTYPE_F16, "F16", 2, TRUE },
  { PEFTQ_DTYPE_BF16, "BF16", 2, TRUE },
  { PEFTQ_DTYPE_I64, "I64", 8, FALSE },
  { PEFTQ_DTYPE_I32, "I32", 4, FALSE },
  { PEFTQ_DTYPE_I16, "I16", 2, FALSE },
  { PEFTQ_DTYPE_I8, "I8", 1, FALSE },
  { PEFTQ_DTYPE_U8, "U8", 1, FALSE },
  { PEFTQ_DTYPE_BOOL, "BOOL", 1, FALSE },
};

static guint32
float_bits (float value)
{
  guint32 bits;

  memcpy (&bits, &value, sizeof bits);
  return bits;
}

static float
float_from_bits (guint32 bits)
{
  float value;

  memcpy (&value, &bits, sizeof value);
  return value;
}

static PeftqTensor *
tensor_from_data (PeftqDType     dtype,
                  gconstpointer  data,
                  gsize          n_elements)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, n_elements * peftq_dtype_get_size (dtype));
  g_autoptr(GError) error = NULL;
  gint64 shape[] = { (gint64) n_elements };
  PeftqTensor *tensor = peftq_tensor_new_from_bytes (dtype, shape, 1, bytes, &error);

  g_assert_no_error (error);
  g_assert_nonnull (tensor);

  return tensor;
}

static PeftqTensor *
convert_or_fail (PeftqTensor *tensor,
                 PeftqDType   dtype)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *converted = peftq_tensor_convert (tensor, dtype, &error);

  g_assert_no_error (error);
  g_assert_nonnull (converted);
  g_assert_cmpint (peftq_tensor_get_dtype (converted), ==, dtype);
  g_assert_cmpuint (peftq_tensor_get_n_elements (converted), ==, peftq_tensor_get_n_elements (tensor));

  return converted;
}

/* Converts float32 values to a 16-bit dtype through a tensor and returns the bits. */
static guint16 *
convert_floats_to_16 (const float *values,
                      gsize        n_values,
                      PeftqDType   dtype)
{
  g_autoptr(PeftqTensor) source = tensor_from_data (PEFTQ_DTYPE_F32, values, n_values);
  g_autoptr(PeftqTensor) converted = convert_or_fail (source, dtype);

  return g_memdup2 (peftq_tensor_peek_data (converted), n_values * 2);
}

static guint16
convert_one_float_to_16 (float      value,
                         PeftqDType dtype)
{
  g_autofree guint16 *bits = convert_floats_to_16 (&value, 1, dtype);

  return bits[0];
}

static guint16
convert_one_double_to_16 (double     value,
                          PeftqDType dtype)
{
  g_autoptr(PeftqTensor) source = tensor_from_data (PEFTQ_DTYPE_F64, &value, 1);
  g_autoptr(PeftqTensor) converted = convert_or_fail (source, dtype);
  guint16 bits;

  memcpy (&bits, peftq_tensor_peek_data (converted), 2);
  return bits;
}

/* Rounds a finite magnitude to nearest even in a binary format with @mantissa_bits stored
 * mantissa bits and smallest normal exponent @min_exponent. It uses plain double
 * arithmetic and shares no code with peftq's bit manipulation. The quantum
 * 2^(e - mantissa_bits) is a power of two, so the division is exact, and rint() rounds in
 * the default mode (to nearest, ties to even). Returns the magnitude bits. The caller
 * adds the sign and checks the overflow threshold first. */
static guint16
reference_round (double magnitude,
                 int    mantissa_bits,
                 int    min_exponent,
                 int    exponent_bias)
{
  int exponent;
  double quantum;
  double steps;

  if (magnitude == 0.0)
    return 0;

  frexp (magnitude, &exponent);
  exponent = MAX (exponent - 1, min_exponent);
  quantum = ldexp (1.0, exponent - mantissa_bits);
  steps = rint (magnitude / quantum);

  if (steps >= ldexp (1.0, mantissa_bits + 1))
    {
      /* Rounding carried into the next binade. */
      exponent++;
      steps /= 2;
    }

  if (steps < ldexp (1.0, mantissa_bits))
    return (guint16) steps;   /* subnormal: the exponent field is 0 */

  return (guint16) (((exponent + exponent_bias) << mantissa_bits) | ((guint32) steps - (1u << mantissa_bits)));
}

static guint16
reference_to_f16 (double value)
{
  guint16 sign = signbit (value) ? 0x8000 : 0;
  double magnitude = fabs (value);

  /* 65520 lies halfway between 65504, the largest F16, and 65536; ties go to the even
   * mantissa, which is 65536, so 65520 and up overflow to infinity. */
  if (magnitude >= 65520.0)
    return sign | 0x7c00;

  return sign | reference_round (magnitude, 10, -14, 15);
}

static guint16
reference_to_bf16 (double value)
{
  guint16 sign = signbit (value) ? 0x8000 : 0;
  double magnitude = fabs (value);

  /* Halfway between the largest BF16, (2 - 2^-7) * 2^127, and 2^128 is (2 - 2^-8) * 2^127;
   * the tie goes to 2^128, which overflows. */
  if (magnitude >= ldexp (2.0 - ldexp (1.0, -8), 127))
    return sign | 0x7f80;

  return sign | reference_round (magnitude, 7, -126, 127);
}

/* Decodes F16 bits with ldexp, independently of the library. */
static double
reference_f16_value (guint16 bits)
{
  int exponent = (bits >> 10) & 0x1f;
  int mantissa = bits & 0x3ff;
  double magnitude;

  if (exponent == 0)
    magnitude = ldexp (mantissa, -24);
  else if (exponent == 31)
    magnitude = mantissa == 0 ? INFINITY : NAN;
  else
    magnitude = ldexp (1024 + mantissa, exponent - 25);

  return (bits & 0x8000) ? -magnitude : magnitude;
}

static gboolean
f16_is_nan (guint16 bits)
{
  return (bits & 0x7c00) == 0x7c00 && (bits & 0x03ff) != 0;
}

static gboolean
bf16_is_nan (guint16 bits)
{
  return (bits & 0x7f80) == 0x7f80 && (bits & 0x007f) != 0;
}

static void
test_dtype_table (void)
{
  g_test_summary ("Each dtype has its safetensors name, element size and float flag");

  for (gsize i = 0; i < G_N_ELEMENTS (dtype_table); i++)
    {
      PeftqDType parsed = PEFTQ_DTYPE_BOOL;

      g_assert_cmpstr (peftq_dtype_to_string (dtype_table[i].dtype), ==, dtype_table[i].name);
      g_assert_cmpuint (peftq_dtype_get_size (dtype_table[i].dtype), ==, dtype_table[i].size);
      g_assert_cmpint (peftq_dtype_is_float (dtype_table[i].dtype), ==, dtype_table[i].is_float);
      g_assert_true (peftq_dtype_from_string (dtype_table[i].name, &parsed));
      g_assert_cmpint (parsed, ==, dtype_table[i].dtype);
      g_assert_true (peftq_dtype_from_string (dtype_table[i].name, NULL));
    }
}

static void
test_dtype_unknown_names (void)
{
  static const char * const unknown[] = { "f32", "F8_E4M3", "U16", "float32", "", "F32 ", "BOOL\n" };

  g_test_summary ("Dtype names match exactly and case-sensitively");

  for (gsize i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      PeftqDType parsed = PEFTQ_DTYPE_I8;

      g_assert_false (peftq_dtype_from_string (unknown[i], &parsed));
      g_assert_cmpint (parsed, ==, PEFTQ_DTYPE_I8);
    }
}

static void
test_new_zero_filled (void)
{
  static const gint64 shape[] = { 2, 3, 4 };

  g_test_summary ("peftq_tensor_new gives zero bytes of the right size for each dtype");

  for (gsize i = 0; i < G_N_ELEMENTS (dtype_table); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PeftqTensor) tensor = peftq_tensor_new (dtype_table[i].dtype, shape, 3, &error);
      const guint8 *data;
      guint rank;
      const gint64 *actual_shape;

      g_assert_no_error (error);
      g_assert_cmpint (peftq_tensor_get_dtype (tensor), ==, dtype_table[i].dtype);
      g_assert_cmpuint (peftq_tensor_get_n_elements (tensor), ==, 24);
      g_assert_cmpuint (peftq_tensor_get_n_bytes (tensor), ==, 24 * dtype_table[i].size);
      g_assert_cmpuint (g_bytes_get_size (peftq_tensor_get_bytes (tensor)), ==, 24 * dtype_table[i].size);

      actual_shape = peftq_tensor_get_shape (tensor, &rank);
      g_assert_cmpuint (rank, ==, 3);
      g_assert_cmpuint (peftq_tensor_get_rank (tensor), ==, 3);
      g_assert_cmpint (actual_shape[0], ==, 2);
      g_assert_cmpint (actual_shape[1], ==, 3);
      g_assert_cmpint (actual_shape[2], ==, 4);

      data = peftq_tensor_peek_data (tensor);
      for (gsize b = 0; b < 24 * dtype_table[i].size; b++)
        g_assert_cmpuint (data[b], ==, 0);
    }
}

static void
test_new_scalar (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) scalar = peftq_tensor_new (PEFTQ_DTYPE_F64, NULL, 0, &error);
  g_autofree char *shape_text = NULL;
  const gint64 *shape;
  guint rank = 99;

  g_test_summary ("A rank-0 tensor is a scalar with one element and a non-NULL shape");

  g_assert_no_error (error);
  shape = peftq_tensor_get_shape (scalar, &rank);
  g_assert_cmpuint (rank, ==, 0);
  g_assert_nonnull (shape);
  g_assert_cmpuint (peftq_tensor_get_n_elements (scalar), ==, 1);
  g_assert_cmpuint (peftq_tensor_get_n_bytes (scalar), ==, 8);

  shape_text = peftq_tensor_format_shape (scalar);
  g_assert_cmpstr (shape_text, ==, "[]");
}

static void
test_new_zero_size (void)
{
  static const gint64 shapes[][3] = { { 0, 1, 1 }, { 5, 0, 1 }, { 7, 3, 0 } };

  g_test_summary ("A zero dimension anywhere gives a tensor with no elements and no bytes");

  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PeftqTensor) tensor = peftq_tensor_new (PEFTQ_DTYPE_F32, shapes[i], 3, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (peftq_tensor_get_n_elements (tensor), ==, 0);
      g_assert_cmpuint (peftq_tensor_get_n_bytes (tensor), ==, 0);
      g_assert_cmpuint (peftq_tensor_get_rank (tensor), ==, 3);
    }
}

static void
test_new_invalid_shapes (void)
{
  static const gint64 negative[] = { 4, -1 };
  static const gint64 huge_count[] = { G_GINT64_CONSTANT (1) << 32, G_GINT64_CONSTANT (1) << 32, 2 };
  static const gint64 huge_bytes[] = { G_GINT64_CONSTANT (1) << 62 };
  g_autoptr(GError) error = NULL;
  PeftqTensor *tensor;

  g_test_summary ("Negative dimensions and overflowing sizes are rejected with INVALID_ARGUMENT");

  tensor = peftq_tensor_new (PEFTQ_DTYPE_F32, negative, 2, &error);
  g_assert_null (tensor);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "negative");
  g_clear_error (&error);

  tensor = peftq_tensor_new (PEFTQ_DTYPE_U8, huge_count, 3, &error);
  g_assert_null (tensor);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "overflows");
  g_clear_error (&error);

  tensor = peftq_tensor_new (PEFTQ_DTYPE_F32, huge_bytes, 1, &error);
  g_assert_null (tensor);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "overflows");
}

static void
test_new_from_bytes (void)
{
  static const gint64 shape[] = { 2, 2 };
  static const gint16 values[] = { 1, -2, 300, -32768 };
  g_autoptr(GBytes) bytes = g_bytes_new (values, sizeof values);
  g_autoptr(GBytes) short_bytes = g_bytes_new (values, sizeof values - 2);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) tensor = NULL;
  PeftqTensor *mismatched;

  g_test_summary ("new_from_bytes shares the bytes and rejects a size that does not fit the shape");

  tensor = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I16, shape, 2, bytes, &error);
  g_assert_no_error (error);
  g_assert_true (peftq_tensor_get_bytes (tensor) == bytes);
  g_assert_true (peftq_tensor_peek_data (tensor) == g_bytes_get_data (bytes, NULL));
  g_assert_cmpuint (peftq_tensor_get_n_elements (tensor), ==, 4);

  mismatched = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I16, shape, 2, short_bytes, &error);
  g_assert_null (mismatched);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH, "Expected 8 bytes");
}

static void
test_new_from_floats (void)
{
  static const float values[] = { 1.5f, -2.0f, 0.0f, 1e-30f, 3e38f, -0.0f };
  static const gint64 shape[] = { 2, 3 };
  static const gint64 wrong_shape[] = { 7 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) tensor = NULL;
  g_autoptr(PeftqTensor) scalar = NULL;
  g_autofree float *copy = NULL;
  PeftqTensor *mismatched;
  gsize n_values = 0;
  float scalar_value = 42.0f;

  g_test_summary ("new_from_floats copies the values and checks their count against the shape");

  tensor = peftq_tensor_new_from_floats (values, G_N_ELEMENTS (values), shape, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (peftq_tensor_get_dtype (tensor), ==, PEFTQ_DTYPE_F32);
  g_assert_true (peftq_tensor_peek_data (tensor) != (gconstpointer) values);
  g_assert_cmpmem (peftq_tensor_peek_data (tensor), peftq_tensor_get_n_bytes (tensor), values, sizeof values);

  copy = peftq_tensor_to_floats (tensor, &n_values);
  g_assert_cmpmem (copy, n_values * sizeof (float), values, sizeof values);

  scalar = peftq_tensor_new_from_floats (&scalar_value, 1, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_tensor_get_rank (scalar), ==, 0);
  g_assert_cmpfloat (*(const float *) peftq_tensor_peek_data (scalar), ==, 42.0f);

  mismatched = peftq_tensor_new_from_floats (values, G_N_ELEMENTS (values), wrong_shape, 1, &error);
  g_assert_null (mismatched);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH, "[7]");
}

static void
test_dims_and_shape_text (void)
{
  static const gint64 shape[] = { 4, 64, 0, 3 };
  g_autoptr(PeftqTensor) tensor = peftq_tensor_new (PEFTQ_DTYPE_I8, shape, 4, NULL);
  g_autofree char *text = peftq_tensor_format_shape (tensor);

  g_test_summary ("get_dim counts negative axes from the end, and format_shape lists the dimensions");

  g_assert_cmpint (peftq_tensor_get_dim (tensor, 0), ==, 4);
  g_assert_cmpint (peftq_tensor_get_dim (tensor, 1), ==, 64);
  g_assert_cmpint (peftq_tensor_get_dim (tensor, 3), ==, 3);
  g_assert_cmpint (peftq_tensor_get_dim (tensor, -1), ==, 3);
  g_assert_cmpint (peftq_tensor_get_dim (tensor, -4), ==, 4);
  g_assert_cmpstr (text, ==, "[4, 64, 0, 3]");
}

static void
test_dim_out_of_range (void)
{
  static const gint64 shape[] = { 2, 5 };
  g_autoptr(PeftqTensor) tensor = peftq_tensor_new (PEFTQ_DTYPE_I8, shape, 2, NULL);

  g_test_summary ("An axis outside the rank is a programmer error that logs a critical");

  g_test_expect_message ("Peftq", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
  g_assert_cmpint (peftq_tensor_get_dim (tensor, 2), ==, 0);
  g_test_assert_expected_messages ();

  g_test_expect_message ("Peftq", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
  g_assert_cmpint (peftq_tensor_get_dim (tensor, -3), ==, 0);
  g_test_assert_expected_messages ();
}

static void
test_reshape (void)
{
  static const float values[] = { 1, 2, 3, 4, 5, 6 };
  static const gint64 shape[] = { 2, 3 };
  static const gint64 new_shape[] = { 3, 1, 2 };
  static const gint64 wrong_shape[] = { 4, 2 };
  static const gint64 negative_shape[] = { -2, -3 };
  g_autoptr(PeftqTensor) tensor = peftq_tensor_new_from_floats (values, 6, shape, 2, NULL);
  g_autoptr(PeftqTensor) reshaped = NULL;
  g_autoptr(GError) error = NULL;
  PeftqTensor *rejected;

  g_test_summary ("reshape shares the data for the same element count and rejects any other count");

  reshaped = peftq_tensor_reshape (tensor, new_shape, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_tensor_get_rank (reshaped), ==, 3);
  g_assert_cmpint (peftq_tensor_get_dim (reshaped, 0), ==, 3);
  g_assert_cmpint (peftq_tensor_get_dim (reshaped, 1), ==, 1);
  g_assert_cmpint (peftq_tensor_get_dim (reshaped, 2), ==, 2);
  g_assert_true (peftq_tensor_peek_data (reshaped) == peftq_tensor_peek_data (tensor));
  g_assert_cmpint (peftq_tensor_get_dim (tensor, 0), ==, 2);

  rejected = peftq_tensor_reshape (tensor, wrong_shape, 2, &error);
  g_assert_null (rejected);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH, "[2, 3]");
  g_clear_error (&error);

  /* The product of the negative dimensions is 6, so only the sign check catches them. */
  rejected = peftq_tensor_reshape (tensor, negative_shape, 2, &error);
  g_assert_null (rejected);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "negative");
}

static void
test_reshape_scalar (void)
{
  static const gint64 one[] = { 1, 1 };
  float value = 7.0f;
  g_autoptr(PeftqTensor) tensor = peftq_tensor_new_from_floats (&value, 1, one, 2, NULL);
  g_autoptr(PeftqTensor) scalar = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A one-element tensor reshapes to a scalar");

  scalar = peftq_tensor_reshape (tensor, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peftq_tensor_get_rank (scalar), ==, 0);
  g_assert_cmpuint (peftq_tensor_get_n_elements (scalar), ==, 1);
}

static void
test_f16_all_bit_patterns (void)
{
  g_autofree guint16 *patterns = g_new (guint16, 65536);
  g_autoptr(PeftqTensor) half = NULL;
  g_autoptr(PeftqTensor) widened = NULL;
  g_autoptr(PeftqTensor) narrowed = NULL;
  g_autoptr(GError) error = NULL;
  const float *values;
  const guint16 *back;

  g_test_summary ("All 65536 F16 bit patterns convert to float32 exactly and back unchanged");

  for (guint i = 0; i < 65536; i++)
    patterns[i] = (guint16) i;
  half = tensor_from_data (PEFTQ_DTYPE_F16, patterns, 65536);

  widened = peftq_tensor_to_float32 (half, &error);
  g_assert_no_error (error);
  values = peftq_tensor_peek_data (widened);
  for (guint i = 0; i < 65536; i++)
    {
      double expected = reference_f16_value ((guint16) i);

      if (isnan (expected))
        {
          g_assert_true (isnan (values[i]));
          g_assert_cmpint (signbit (values[i]) != 0, ==, (i & 0x8000) != 0);
        }
      else
        {
          g_assert_cmpfloat (values[i], ==, expected);
          g_assert_cmpint (signbit (values[i]) != 0, ==, signbit (expected) != 0);
        }
    }

  narrowed = convert_or_fail (widened, PEFTQ_DTYPE_F16);
  back = peftq_tensor_peek_data (narrowed);
  for (guint i = 0; i < 65536; i++)
    g_assert_cmphex (back[i], ==, i);
}

static void
test_bf16_all_bit_patterns (void)
{
  g_autofree guint16 *patterns = g_new (guint16, 65536);
  g_autoptr(PeftqTensor) brain = NULL;
  g_autoptr(PeftqTensor) widened = NULL;
  g_autoptr(PeftqTensor) narrowed = NULL;
  g_autoptr(GError) error = NULL;
  const float *values;
  const guint16 *back;

  g_test_summary ("All 65536 BF16 bit patterns widen to the float32 with the same top half and back");

  for (guint i = 0; i < 65536; i++)
    patterns[i] = (guint16) i;
  brain = tensor_from_data (PEFTQ_DTYPE_BF16, patterns, 65536);

  widened = peftq_tensor_to_float32 (brain, &error);
  g_assert_no_error (error);
  values = peftq_tensor_peek_data (widened);
  for (guint i = 0; i < 65536; i++)
    g_assert_cmphex (float_bits (values[i]), ==, i << 16);

  narrowed = convert_or_fail (widened, PEFTQ_DTYPE_BF16);
  back = peftq_tensor_peek_data (narrowed);
  for (guint i = 0; i < 65536; i++)
    g_assert_cmphex (back[i], ==, i);
}

typedef struct
{
  guint32 input;   /* float32 bits */
  guint16 expected;
  const char *derivation;
} RoundingCase;

/* Each expected value is derived in its comment from the F16 layout of 1 sign bit, 5
 * exponent bits (bias 15) and 10 mantissa bits. Subnormals step by 2^-24. */
static const RoundingCase f16_cases[] = {
  { 0x3f800000, 0x3c00, "1.0 is exact" },
  { 0x3f801000, 0x3c00, "1 + 2^-11 is halfway between 1 (mantissa 0, even) and 1 + 2^-10: rounds down" },
  { 0x3f803000, 0x3c02, "1 + 3 * 2^-11 is halfway between mantissa 1 (odd) and 2 (even): rounds up to 2" },
  { 0x3f801001, 0x3c01, "one float ulp above the 1 + 2^-11 tie: rounds up to mantissa 1" },
  { 0x3f800fff, 0x3c00, "one float ulp below the 1 + 2^-11 tie: rounds down to 1" },
  { 0x477fe000, 0x7bff, "65504 is the largest finite F16" },
  { 0x477fefff, 0x7bff, "just below 65520, the midpoint to 65536: rounds down to 65504" },
  { 0x477ff000, 0x7c00, "65520 is a tie between 65504 (odd mantissa 0x3ff) and 65536: even wins, which overflows to infinity" },
  { 0x47800000, 0x7c00, "65536 overflows to infinity" },
  { 0x7f7fffff, 0x7c00, "the largest float32 overflows to infinity" },
  { 0xff7fffff, 0xfc00, "the most negative float32 overflows to negative infinity" },
  { 0x7f800000, 0x7c00, "infinity stays infinity" },
  { 0xff800000, 0xfc00, "negative infinity stays negative infinity" },
  { 0x00000000, 0x0000, "zero" },
  { 0x80000000, 0x8000, "negative zero keeps its sign" },
  { 0x38800000, 0x0400, "2^-14 is the smallest normal F16" },
  { 0x33800000, 0x0001, "2^-24 is the smallest subnormal F16" },
  { 0xb3800000, 0x8001, "-2^-24 is the smallest negative subnormal" },
  { 0x33000000, 0x0000, "2^-25 is halfway between 0 (even) and 2^-24: rounds to 0" },
  { 0xb3000000, 0x8000, "-2^-25 rounds to negative zero" },
  { 0x33000001, 0x0001, "one float ulp above 2^-25: rounds up to 2^-24" },
  { 0x32800000, 0x0000, "2^-26 is below the midpoint: rounds to 0" },
  { 0x33c00000, 0x0002, "3 * 2^-25 is 1.5 subnormal steps, halfway between 1 and 2 (even): rounds to 2" },
  { 0x34200000, 0x0002, "5 * 2^-25 is 2.5 subnormal steps, halfway between 2 (even) and 3: rounds to 2" },
  { 0x387fc000, 0x03ff, "1023 * 2^-24 is the largest subnormal F16" },
  { 0x387fe000, 0x0400, "1023.5 * 2^-24 is halfway between 0x3ff (odd) and 0x400: rounds up to the smallest normal" },
  { 0x00000001, 0x0000, "the smallest float32 subnormal rounds to 0" },
  { 0x40490fdb, 0x4248, "pi = 1.5708 * 2^1: the mantissa 0.5708 * 1024 = 584.50 - 0.005 rounds down to 584 (0x248)" },
  { 0xc2f6e979, 0xd7b7, "-123.456 = -1.9290 * 2^6: the mantissa 0.9290 * 1024 = 951.3 rounds down to 951 (0x3b7)" },
};

static void
test_f16_rounding_cases (void)
{
  g_test_summary ("float32 to F16 rounds to nearest even, with subnormals, overflow and signed zero");

  for (gsize i = 0; i < G_N_ELEMENTS (f16_cases); i++)
    {
      guint16 actual = convert_one_float_to_16 (float_from_bits (f16_cases[i].input), PEFTQ_DTYPE_F16);

      g_test_message ("0x%08x: %s", f16_cases[i].input, f16_cases[i].derivation);
      g_assert_cmphex (actual, ==, f16_cases[i].expected);
      g_assert_cmphex (actual, ==, reference_to_f16 (float_from_bits (f16_cases[i].input)));
    }
}

/* BF16 is the upper half of a float32: 8 exponent bits (bias 127) and 7 mantissa bits. */
static const RoundingCase bf16_cases[] = {
  { 0x3f800000, 0x3f80, "1.0 is exact" },
  { 0x3f808000, 0x3f80, "1 + 2^-8 is halfway between mantissa 0 (even) and 1: rounds down" },
  { 0x3f818000, 0x3f82, "1 + 3 * 2^-8 is halfway between mantissa 1 (odd) and 2: rounds up" },
  { 0x3f808001, 0x3f81, "one float ulp above the tie: rounds up" },
  { 0x3f807fff, 0x3f80, "one float ulp below the tie: rounds down" },
  { 0x7f7f0000, 0x7f7f, "the largest finite BF16 is exact" },
  { 0x7f7f7fff, 0x7f7f, "just below the midpoint to 2^128: rounds down" },
  { 0x7f7f8000, 0x7f80, "the midpoint between 0x7f7f (odd) and 2^128: rounds up, which overflows to infinity" },
  { 0x7f7fffff, 0x7f80, "the largest float32 overflows to infinity" },
  { 0xff7fffff, 0xff80, "the most negative float32 overflows to negative infinity" },
  { 0x7f800000, 0x7f80, "infinity stays infinity" },
  { 0x80000000, 0x8000, "negative zero keeps its sign" },
  { 0x00010000, 0x0001, "the float32 subnormal 2^-133 is the smallest BF16 subnormal" },
  { 0x00008000, 0x0000, "2^-134 is halfway between 0 (even) and 2^-133: rounds to 0" },
  { 0x00018000, 0x0002, "1.5 * 2^-133 is halfway between 1 (odd) and 2 steps: rounds to 2" },
  { 0x00008001, 0x0001, "just above 2^-134: rounds up to the smallest subnormal" },
  { 0x007fffff, 0x0080, "the largest float32 subnormal rounds up to the smallest normal 2^-126" },
  { 0x40490fdb, 0x4049, "pi: the dropped half 0x0fdb is below 0x8000, so it rounds down" },
};

static void
test_bf16_rounding_cases (void)
{
  g_test_summary ("float32 to BF16 rounds to nearest even, with subnormals and overflow");

  for (gsize i = 0; i < G_N_ELEMENTS (bf16_cases); i++)
    {
      guint16 actual = convert_one_float_to_16 (float_from_bits (bf16_cases[i].input), PEFTQ_DTYPE_BF16);

      g_test_message ("0x%08x: %s", bf16_cases[i].input, bf16_cases[i].derivation);
      g_assert_cmphex (actual, ==, bf16_cases[i].expected);
      g_assert_cmphex (actual, ==, reference_to_bf16 (float_from_bits (bf16_cases[i].input)));
    }
}

static void
test_nan_stays_nan (void)
{
  static const guint32 nans[] = {
    0x7fc00000, /* the default quiet NaN */
    0xffc00000, /* negative quiet NaN */
    0x7f800001, /* signalling NaN with only the lowest payload bit, which both formats drop */
    0xff800001,
    0x7fbfffff, /* signalling NaN with every payload bit */
    0x7fc00001,
    0x7f802000, /* payload only in bit 13, the lowest bit that F16 keeps */
  };

  g_test_summary ("Every float32 NaN converts to a NaN of the same sign in F16 and BF16");

  for (gsize i = 0; i < G_N_ELEMENTS (nans); i++)
    {
      guint16 half = convert_one_float_to_16 (float_from_bits (nans[i]), PEFTQ_DTYPE_F16);
      guint16 brain = convert_one_float_to_16 (float_from_bits (nans[i]), PEFTQ_DTYPE_BF16);

      g_test_message ("NaN 0x%08x gives F16 0x%04x and BF16 0x%04x", nans[i], half, brain);
      g_assert_true (f16_is_nan (half));
      g_assert_cmpint ((half & 0x8000) != 0, ==, (nans[i] & 0x80000000u) != 0);
      g_assert_true (bf16_is_nan (brain));
      g_assert_cmpint ((brain & 0x8000) != 0, ==, (nans[i] & 0x80000000u) != 0);
    }
}

/* Float32 values at and around every F16 rounding boundary: each finite F16 value, the
 * exact midpoint to the next one and one float ulp on either side of that midpoint. */
static GArray *
f16_boundary_inputs (void)
{
  GArray *inputs = g_array_new (FALSE, FALSE, sizeof (float));

  for (guint32 bits = 0; bits < 0x7c00; bits++)
    {
      double low = reference_f16_value ((guint16) bits);
      double high = bits + 1 < 0x7c00 ? reference_f16_value ((guint16) (bits + 1)) : 65536.0;
      float midpoint = (float) ((low + high) / 2);   /* exact: 13 spare mantissa bits */
      float values[] = {
        (float) low,
        midpoint,
        nextafterf (midpoint, 0.0f),
        nextafterf (midpoint, INFINITY),
      };

      for (gsize k = 0; k < G_N_ELEMENTS (values); k++)
        {
          float negative = -values[k];

          g_array_append_val (inputs, values[k]);
          g_array_append_val (inputs, negative);
        }
    }

  return inputs;
}

static void
test_f16_matches_reference (void)
{
  g_autoptr(GArray) inputs = f16_boundary_inputs ();
  g_autoptr(GRand) rng = g_rand_new_with_seed (1729);
  g_autofree guint16 *actual = NULL;
  guint n_boundary = inputs->len;

  g_test_summary ("float32 to F16 matches a double-arithmetic reference at every tie and on random values");

  for (guint i = 0; i < 1000000; i++)
    {
      float value = float_from_bits (g_rand_int (rng));

      if (!isnan (value))
        g_array_append_val (inputs, value);
    }

  actual = convert_floats_to_16 ((const float *) inputs->data, inputs->len, PEFTQ_DTYPE_F16);
  for (guint i = 0; i < inputs->len; i++)
    {
      float value = g_array_index (inputs, float, i);
      guint16 expected = reference_to_f16 (value);

      if (actual[i] != expected)
        g_test_message ("input %.9g (0x%08x, %s): got 0x%04x, expected 0x%04x", value, float_bits (value),
                        i < n_boundary ? "boundary" : "random", actual[i], expected);
      g_assert_cmphex (actual[i], ==, expected);
    }
}

static void
test_bf16_matches_reference (void)
{
  g_autoptr(GArray) inputs = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr(GRand) rng = g_rand_new_with_seed (4242);
  g_autofree guint16 *actual = NULL;

  g_test_summary ("float32 to BF16 matches a double-arithmetic reference at every tie and on random values");

  /* The dropped half of each float: exactly the tie, and one ulp either side of it. */
  for (guint32 top = 0; top < 0x7f80; top++)
    {
      static const guint32 low_halves[] = { 0x0000, 0x7fff, 0x8000, 0x8001, 0xffff };

      for (gsize k = 0; k < G_N_ELEMENTS (low_halves); k++)
        {
          float positive = float_from_bits ((top << 16) | low_halves[k]);
          float negative = -positive;

          g_array_append_val (inputs, positive);
          g_array_append_val (inputs, negative);
        }
    }
  for (guint i = 0; i < 1000000; i++)
    {
      float value = float_from_bits (g_rand_int (rng));

      if (!isnan (value))
        g_array_append_val (inputs, value);
    }

  actual = convert_floats_to_16 ((const float *) inputs->data, inputs->len, PEFTQ_DTYPE_BF16);
  for (guint i = 0; i < inputs->len; i++)
    {
      float value = g_array_index (inputs, float, i);
      guint16 expected = reference_to_bf16 (value);

      if (actual[i] != expected)
        g_test_message ("input %.9g (0x%08x): got 0x%04x, expected 0x%04x", value, float_bits (value),
                        actual[i], expected);
      g_assert_cmphex (actual[i], ==, expected);
    }
}

static void
test_f64_rounds_once (void)
{
  static const struct
  {
    double input;
    PeftqDType dtype;
    guint16 expected;
    const char *derivation;
  } cases[] = {
    { 1.0 + 0x1p-11 + 0x1p-40, PEFTQ_DTYPE_F16, 0x3c01,
      "just above the F16 tie 1 + 2^-11, so it rounds up; rounding to float32 first lands on the tie, which then goes down to 1.0" },
    { 1.0 + 0x1p-11 - 0x1p-40, PEFTQ_DTYPE_F16, 0x3c00, "just below the tie: rounds down" },
    { 1.0 + 0x1p-11, PEFTQ_DTYPE_F16, 0x3c00, "the exact tie goes to the even mantissa 0" },
    { 1.0 + 0x1p-8 + 0x1p-40, PEFTQ_DTYPE_BF16, 0x3f81, "just above the BF16 tie 1 + 2^-8: rounds up" },
    { 1.0 + 0x1p-8 - 0x1p-40, PEFTQ_DTYPE_BF16, 0x3f80, "just below the BF16 tie: rounds down" },
    { 65520.0 - 0x1p-30, PEFTQ_DTYPE_F16, 0x7bff, "just below 65520: stays finite at 65504" },
    { 1e300, PEFTQ_DTYPE_F16, 0x7c00, "beyond the float32 range: infinity" },
    { -1e300, PEFTQ_DTYPE_BF16, 0xff80, "beyond the float32 range: negative infinity" },
    { 0x1p-25 + 0x1p-60, PEFTQ_DTYPE_F16, 0x0001, "just above half the smallest F16 subnormal: rounds up" },
    { 0x1p-134 + 0x1p-170, PEFTQ_DTYPE_BF16, 0x0001, "just above half the smallest BF16 subnormal: rounds up" },
    { 0x1p-160, PEFTQ_DTYPE_BF16, 0x0000, "far below the float32 range: zero" },
  };
  g_autoptr(GRand) rng = g_rand_new_with_seed (99);

  g_test_summary ("F64 converts to F16 and BF16 with a single rounding, not through float32 ties");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint16 actual = convert_one_double_to_16 (cases[i].input, cases[i].dtype);

      g_test_message ("%.17g to %s: %s", cases[i].input, peftq_dtype_to_string (cases[i].dtype), cases[i].derivation);
      g_assert_cmphex (actual, ==, cases[i].expected);
    }

  /* Random doubles near F16 and BF16 values, where double rounding would show. */
  for (guint i = 0; i < 20000; i++)
    {
      double value = ldexp (g_rand_double_range (rng, 1.0, 2.0), g_rand_int_range (rng, -30, 17));

      if (g_rand_boolean (rng))
        value = -value;
      g_assert_cmphex (convert_one_double_to_16 (value, PEFTQ_DTYPE_F16), ==, reference_to_f16 (value));
      g_assert_cmphex (convert_one_double_to_16 (value, PEFTQ_DTYPE_BF16), ==, reference_to_bf16 (value));
    }
}

static void
test_convert_integers (void)
{
  static const gint8 i8[] = { -128, -1, 0, 127 };
  static const guint8 u8[] = { 0, 1, 200, 255 };
  static const guint8 booleans[] = { 0, 1, 1, 0 };
  static const gint16 i16[] = { -32768, -300, 300, 32767 };
  static const gint32 i32[] = { G_MININT32, -16777216, 16777216, G_MAXINT32 };
  static const gint64 i64[] = { -(G_GINT64_CONSTANT (1) << 40), -1, 1, G_GINT64_CONSTANT (1) << 52 };
  static const struct
  {
    PeftqDType dtype;
    gconstpointer data;
    double values[4];
  } cases[] = {
    { PEFTQ_DTYPE_I8, i8, { -128, -1, 0, 127 } },
    { PEFTQ_DTYPE_U8, u8, { 0, 1, 200, 255 } },
    { PEFTQ_DTYPE_BOOL, booleans, { 0, 1, 1, 0 } },
    { PEFTQ_DTYPE_I16, i16, { -32768, -300, 300, 32767 } },
    { PEFTQ_DTYPE_I32, i32, { -2147483648.0, -16777216, 16777216, 2147483647.0 } },
    { PEFTQ_DTYPE_I64, i64, { -1099511627776.0, -1, 1, 4503599627370496.0 } },
  };

  g_test_summary ("Integer and boolean tensors convert to F32 and F64 by value");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PeftqTensor) source = tensor_from_data (cases[i].dtype, cases[i].data, 4);
      g_autoptr(PeftqTensor) as_f32 = convert_or_fail (source, PEFTQ_DTYPE_F32);
      g_autoptr(PeftqTensor) as_f64 = convert_or_fail (source, PEFTQ_DTYPE_F64);
      const float *floats = peftq_tensor_peek_data (as_f32);
      const double *doubles = peftq_tensor_peek_data (as_f64);

      g_test_message ("from %s", peftq_dtype_to_string (cases[i].dtype));
      for (guint k = 0; k < 4; k++)
        {
          g_assert_cmpfloat (floats[k], ==, (float) cases[i].values[k]);
          g_assert_cmpfloat (doubles[k], ==, cases[i].values[k]);
        }
    }
}

static void
test_convert_i64_rounds_once (void)
{
  /* The float32 quantum at 2^60 is 2^37, so 2^60 + 2^36 is a tie between 2^60 (even
   * mantissa) and 2^60 + 2^37. Going through double first drops a +1 there (the double
   * quantum is 2^8) and lands on the tie. */
  static const struct
  {
    gint64 input;
    float expected;
    const char *derivation;
  } to_f32[] = {
    { (G_GINT64_CONSTANT (1) << 60) + (G_GINT64_CONSTANT (1) << 36) + 1, 0x1p60f + 0x1p37f, "just above the tie: rounds up" },
    { (G_GINT64_CONSTANT (1) << 60) + (G_GINT64_CONSTANT (1) << 36), 0x1p60f, "the tie goes to the even 2^60" },
    { (G_GINT64_CONSTANT (1) << 60) + 3 * (G_GINT64_CONSTANT (1) << 36), 0x1p60f + 0x1p38f, "the tie between odd 2^60 + 2^37 and even 2^60 + 2^38: rounds up" },
    { -((G_GINT64_CONSTANT (1) << 60) + (G_GINT64_CONSTANT (1) << 36) + 1), -(0x1p60f + 0x1p37f), "negative values round by magnitude" },
    { G_MININT64, -0x1p63f, "-2^63 is exact" },
    { G_MAXINT64, 0x1p63f, "2^63 - 1 rounds up to 2^63, carrying into the exponent" },
    { 16777217, 16777216.0f, "2^24 + 1 is a tie between 2^24 (even) and 2^24 + 2" },
    { 16777219, 16777220.0f, "2^24 + 3 is a tie between 2^24 + 2 (odd mantissa) and 2^24 + 4" },
  };
  /* The BF16 quantum at 2^60 is 2^53, so 2^60 + 2^52 is a tie between 0x5d80 (2^60, even)
   * and 0x5d81. */
  static const struct
  {
    gint64 input;
    guint16 expected;
  } to_bf16[] = {
    { (G_GINT64_CONSTANT (1) << 60) + (G_GINT64_CONSTANT (1) << 52) + 1, 0x5d81 },
    { (G_GINT64_CONSTANT (1) << 60) + (G_GINT64_CONSTANT (1) << 52), 0x5d80 },
    { (G_GINT64_CONSTANT (1) << 60) + (G_GINT64_CONSTANT (1) << 52) - 1, 0x5d80 },
  };

  g_test_summary ("I64 converts to F32 and BF16 with a single rounding");

  for (gsize i = 0; i < G_N_ELEMENTS (to_f32); i++)
    {
      g_autoptr(PeftqTensor) source = tensor_from_data (PEFTQ_DTYPE_I64, &to_f32[i].input, 1);
      g_autoptr(PeftqTensor) converted = convert_or_fail (source, PEFTQ_DTYPE_F32);

      g_test_message ("%" G_GINT64_FORMAT ": %s", to_f32[i].input, to_f32[i].derivation);
      g_assert_cmpfloat (*(const float *) peftq_tensor_peek_data (converted), ==, to_f32[i].expected);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (to_bf16); i++)
    {
      g_autoptr(PeftqTensor) source = tensor_from_data (PEFTQ_DTYPE_I64, &to_bf16[i].input, 1);
      g_autoptr(PeftqTensor) converted = convert_or_fail (source, PEFTQ_DTYPE_BF16);

      g_assert_cmphex (*(const guint16 *) peftq_tensor_peek_data (converted), ==, to_bf16[i].expected);
    }
}

static void
test_convert_float_chain (void)
{
  static const double values[] = { 0.0, -0.0, 1.0, -2.5, 65504.0, 1e-5, 3.0e38, -1e-40 };
  g_autoptr(PeftqTensor) source = tensor_from_data (PEFTQ_DTYPE_F64, values, G_N_ELEMENTS (values));
  g_autoptr(PeftqTensor) as_f32 = convert_or_fail (source, PEFTQ_DTYPE_F32);
  g_autoptr(PeftqTensor) as_f64 = convert_or_fail (as_f32, PEFTQ_DTYPE_F64);
  g_autoptr(PeftqTensor) as_f16 = convert_or_fail (source, PEFTQ_DTYPE_F16);
  g_autoptr(PeftqTensor) as_bf16 = convert_or_fail (source, PEFTQ_DTYPE_BF16);
  g_autoptr(PeftqTensor) f16_to_bf16 = convert_or_fail (as_f16, PEFTQ_DTYPE_BF16);
  const float *floats = peftq_tensor_peek_data (as_f32);
  const double *doubles = peftq_tensor_peek_data (as_f64);
  const guint16 *halves = peftq_tensor_peek_data (as_f16);
  const guint16 *brains = peftq_tensor_peek_data (as_bf16);
  const guint16 *brains_from_halves = peftq_tensor_peek_data (f16_to_bf16);

  g_test_summary ("F64 converts to every float dtype, and F16 to BF16 through float32");

  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_assert_cmpfloat (floats[i], ==, (float) values[i]);
      g_assert_cmpfloat (doubles[i], ==, (double) (float) values[i]);
      g_assert_cmphex (halves[i], ==, reference_to_f16 (values[i]));
      g_assert_cmphex (brains[i], ==, reference_to_bf16 (values[i]));
      g_assert_cmphex (brains_from_halves[i], ==, reference_to_bf16 (reference_f16_value (halves[i])));
    }
}

static void
test_convert_rejects_integer_target (void)
{
  static const float values[] = { 1.0f, 2.0f };
  g_autoptr(PeftqTensor) source = tensor_from_data (PEFTQ_DTYPE_F32, values, 2);
  g_autoptr(GError) error = NULL;
  PeftqTensor *converted;

  g_test_summary ("Conversion to an integer dtype is reported as unsupported");

  converted = peftq_tensor_convert (source, PEFTQ_DTYPE_I32, &error);

  g_assert_null (converted);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED, "F32 to I32");
}

static void
test_convert_same_dtype (void)
{
  static const guint16 values[] = { 0x3c00, 0x7e00 };
  g_autoptr(PeftqTensor) source = tensor_from_data (PEFTQ_DTYPE_F16, values, 2);
  g_autoptr(PeftqTensor) converted = convert_or_fail (source, PEFTQ_DTYPE_F16);

  g_test_summary ("Converting to the dtype a tensor already has returns that tensor");

  g_assert_true (converted == source);
}

static void
test_convert_scalar_and_empty (void)
{
  static const gint64 empty_shape[] = { 4, 0 };
  g_autoptr(PeftqTensor) scalar = peftq_tensor_new (PEFTQ_DTYPE_BF16, NULL, 0, NULL);
  g_autoptr(PeftqTensor) empty = peftq_tensor_new (PEFTQ_DTYPE_F16, empty_shape, 2, NULL);
  g_autoptr(PeftqTensor) scalar_f32 = convert_or_fail (scalar, PEFTQ_DTYPE_F32);
  g_autoptr(PeftqTensor) empty_f64 = convert_or_fail (empty, PEFTQ_DTYPE_F64);

  g_test_summary ("Conversion keeps the rank of scalars and the shape of empty tensors");

  g_assert_cmpuint (peftq_tensor_get_rank (scalar_f32), ==, 0);
  g_assert_cmpfloat (*(const float *) peftq_tensor_peek_data (scalar_f32), ==, 0.0f);
  g_assert_cmpuint (peftq_tensor_get_rank (empty_f64), ==, 2);
  g_assert_cmpint (peftq_tensor_get_dim (empty_f64, 0), ==, 4);
  g_assert_cmpuint (peftq_tensor_get_n_bytes (empty_f64), ==, 0);
}

static void
test_to_float32_alignment (void)
{
  static const float values[] = { 1.0f, -2.0f, 3.5f };
  g_autofree guint8 *buffer = g_malloc (sizeof values + 1);
  g_autoptr(GBytes) whole = NULL;
  g_autoptr(GBytes) unaligned = NULL;
  g_autoptr(PeftqTensor) aligned_tensor = tensor_from_data (PEFTQ_DTYPE_F32, values, 3);
  g_autoptr(PeftqTensor) unaligned_tensor = NULL;
  g_autoptr(PeftqTensor) aligned_result = NULL;
  g_autoptr(PeftqTensor) unaligned_result = NULL;
  g_autoptr(GError) error = NULL;
  static const gint64 shape[] = { 3 };

  g_test_summary ("to_float32 returns an aligned F32 tensor itself and copies an unaligned one");

  memcpy (buffer + 1, values, sizeof values);
  whole = g_bytes_new (buffer, sizeof values + 1);
  unaligned = g_bytes_new_from_bytes (whole, 1, sizeof values);
  unaligned_tensor = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_F32, shape, 1, unaligned, &error);
  g_assert_no_error (error);
  g_assert_cmpuint ((guintptr) peftq_tensor_peek_data (unaligned_tensor) % G_ALIGNOF (float), !=, 0);

  aligned_result = peftq_tensor_to_float32 (aligned_tensor, &error);
  g_assert_no_error (error);
  g_assert_true (aligned_result == aligned_tensor);

  unaligned_result = peftq_tensor_to_float32 (unaligned_tensor, &error);
  g_assert_no_error (error);
  g_assert_true (unaligned_result != unaligned_tensor);
  g_assert_cmpuint ((guintptr) peftq_tensor_peek_data (unaligned_result) % G_ALIGNOF (float), ==, 0);
  g_assert_cmpmem (peftq_tensor_peek_data (unaligned_result), peftq_tensor_get_n_bytes (unaligned_result),
                   values, sizeof values);
}

static void
test_to_floats_from_each_dtype (void)
{
  static const guint16 halves[] = { 0x3c00, 0xc000, 0x0001 };
  static const guint16 brains[] = { 0x3f80, 0xc000, 0x4049 };
  static const double doubles[] = { 1.0, -2.0, 0.1 };
  g_autoptr(PeftqTensor) half = tensor_from_data (PEFTQ_DTYPE_F16, halves, 3);
  g_autoptr(PeftqTensor) brain = tensor_from_data (PEFTQ_DTYPE_BF16, brains, 3);
  g_autoptr(PeftqTensor) wide = tensor_from_data (PEFTQ_DTYPE_F64, doubles, 3);
  g_autofree float *from_half = NULL;
  g_autofree float *from_brain = NULL;
  g_autofree float *from_wide = NULL;
  gsize n = 0;

  g_test_summary ("to_floats decodes F16, BF16 and F64 into float32 values");

  from_half = peftq_tensor_to_floats (half, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpfloat (from_half[0], ==, 1.0f);
  g_assert_cmpfloat (from_half[1], ==, -2.0f);
  g_assert_cmpfloat (from_half[2], ==, 0x1p-24f);

  from_brain = peftq_tensor_to_floats (brain, &n);
  g_assert_cmpfloat (from_brain[0], ==, 1.0f);
  g_assert_cmpfloat (from_brain[1], ==, -2.0f);
  g_assert_cmpfloat (from_brain[2], ==, 3.140625f);

  from_wide = peftq_tensor_to_floats (wide, &n);
  g_assert_cmpfloat (from_wide[2], ==, 0.1f);
}

static void
test_equal (void)
{
  static const float values[] = { 1.0f, NAN };
  static const float negative_zero[] = { -0.0f, NAN };
  static const float positive_zero[] = { 0.0f, NAN };
  static const gint64 column[] = { 2, 1 };
  g_autoptr(PeftqTensor) a = tensor_from_data (PEFTQ_DTYPE_F32, values, 2);
  g_autoptr(PeftqTensor) b = tensor_from_data (PEFTQ_DTYPE_F32, values, 2);
  g_autoptr(PeftqTensor) as_int = tensor_from_data (PEFTQ_DTYPE_I32, values, 2);
  g_autoptr(PeftqTensor) reshaped = peftq_tensor_reshape (a, column, 2, NULL);
  g_autoptr(PeftqTensor) minus = tensor_from_data (PEFTQ_DTYPE_F32, negative_zero, 2);
  g_autoptr(PeftqTensor) plus = tensor_from_data (PEFTQ_DTYPE_F32, positive_zero, 2);

  g_test_summary ("equal compares dtype, shape and bits, so a NaN equals itself and -0 differs from 0");

  g_assert_true (peftq_tensor_equal (a, b));
  g_assert_false (peftq_tensor_equal (a, as_int));
  g_assert_false (peftq_tensor_equal (a, reshaped));
  g_assert_false (peftq_tensor_equal (minus, plus));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/tensor/dtype/table", test_dtype_table);
  g_test_add_func ("/peftq/tensor/dtype/unknown-names", test_dtype_unknown_names);
  g_test_add_func ("/peftq/tensor/new/zero-filled", test_new_zero_filled);
  g_test_add_func ("/peftq/tensor/new/scalar", test_new_scalar);
  g_test_add_func ("/peftq/tensor/new/zero-size", test_new_zero_size);
  g_test_add_func ("/peftq/tensor/new/invalid-shapes", test_new_invalid_shapes);
  g_test_add_func ("/peftq/tensor/new/from-bytes", test_new_from_bytes);
  g_test_add_func ("/peftq/tensor/new/from-floats", test_new_from_floats);
  g_test_add_func ("/peftq/tensor/shape/dims-and-text", test_dims_and_shape_text);
  g_test_add_func ("/peftq/tensor/shape/dim-out-of-range", test_dim_out_of_range);
  g_test_add_func ("/peftq/tensor/reshape/element-count", test_reshape);
  g_test_add_func ("/peftq/tensor/reshape/scalar", test_reshape_scalar);
  g_test_add_func ("/peftq/tensor/convert/f16-all-bit-patterns", test_f16_all_bit_patterns);
  g_test_add_func ("/peftq/tensor/convert/bf16-all-bit-patterns", test_bf16_all_bit_patterns);
  g_test_add_func ("/peftq/tensor/convert/f16-rounding-cases", test_f16_rounding_cases);
  g_test_add_func ("/peftq/tensor/convert/bf16-rounding-cases", test_bf16_rounding_cases);
  g_test_add_func ("/peftq/tensor/convert/nan-stays-nan", test_nan_stays_nan);
  g_test_add_func ("/peftq/tensor/convert/f16-matches-reference", test_f16_matches_reference);
  g_test_add_func ("/peftq/tensor/convert/bf16-matches-reference", test_bf16_matches_reference);
  g_test_add_func ("/peftq/tensor/convert/f64-rounds-once", test_f64_rounds_once);
  g_test_add_func ("/peftq/tensor/convert/integers", test_convert_integers);
  g_test_add_func ("/peftq/tensor/convert/i64-rounds-once", test_convert_i64_rounds_once);
  g_test_add_func ("/peftq/tensor/convert/float-chain", test_convert_float_chain);
  g_test_add_func ("/peftq/tensor/convert/integer-target", test_convert_rejects_integer_target);
  g_test_add_func ("/peftq/tensor/convert/same-dtype", test_convert_same_dtype);
  g_test_add_func ("/peftq/tensor/convert/scalar-and-empty", test_convert_scalar_and_empty);
  g_test_add_func ("/peftq/tensor/convert/to-float32-alignment", test_to_float32_alignment);
  g_test_add_func ("/peftq/tensor/convert/to-floats", test_to_floats_from_each_dtype);
  g_test_add_func ("/peftq/tensor/equal", test_equal);

  return g_test_run ();
}
