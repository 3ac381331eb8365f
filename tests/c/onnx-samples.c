/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "onnx-samples.h"

static float
sample_weight (guint row,
               guint column)
{
  return 0.1f * (float) (row * ONNX_SAMPLE_IN + column) - 0.5f;
}

static const float sample_bias[ONNX_SAMPLE_OUT] = { 0.1f, -0.2f, 0.3f };
static const float sample_offset[ONNX_SAMPLE_OUT] = { 1.0f, 2.0f, 3.0f };
static const float sample_scale = 0.5f;

void
onnx_sample_gemm_reference (const float *input,
                            float       *output)
{
  for (guint i = 0; i < ONNX_SAMPLE_OUT; i++)
    {
      float sum = sample_bias[i];

      for (guint j = 0; j < ONNX_SAMPLE_IN; j++)
        sum += input[j] * sample_weight (i, j);
      output[i] = sum * sample_scale + sample_offset[i];
    }
}

static PeftqTensor *
new_floats (const float  *values,
            gsize         n_values,
            const gint64 *shape,
            guint         rank)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *tensor = peftq_tensor_new_from_floats (values, n_values, shape, rank, &error);

  g_assert_no_error (error);
  return tensor;
}

PeftqOnnxBuilder *
onnx_sample_gemm_new (void)
{
  PeftqOnnxBuilder *builder = peftq_onnx_builder_new ("sample_gemm");
  const char *const input_dims[] = { "batch", NULL };
  const char *const output_dims[] = { "batch", NULL };
  const gint64 input_shape[] = { 0, ONNX_SAMPLE_IN };
  const gint64 output_shape[] = { 0, ONNX_SAMPLE_OUT };
  const gint64 weight_shape[] = { ONNX_SAMPLE_OUT, ONNX_SAMPLE_IN };
  const gint64 bias_shape[] = { ONNX_SAMPLE_OUT };
  float weight_values[ONNX_SAMPLE_OUT * ONNX_SAMPLE_IN];
  g_autoptr(PeftqTensor) weight = NULL;
  g_autoptr(PeftqTensor) bias = NULL;
  g_autoptr(PeftqTensor) scale = NULL;
  g_autoptr(PeftqTensor) offset = NULL;
  PeftqOnnxNode *node;

  for (guint i = 0; i < ONNX_SAMPLE_OUT; i++)
    for (guint j = 0; j < ONNX_SAMPLE_IN; j++)
      weight_values[i * ONNX_SAMPLE_IN + j] = sample_weight (i, j);

  weight = new_floats (weight_values, G_N_ELEMENTS (weight_values), weight_shape, 2);
  bias = new_floats (sample_bias, ONNX_SAMPLE_OUT, bias_shape, 1);
  scale = new_floats (&sample_scale, 1, NULL, 0);
  offset = new_floats (sample_offset, ONNX_SAMPLE_OUT, bias_shape, 1);

  peftq_onnx_builder_add_input (builder, "input", PEFTQ_DTYPE_F32, input_shape, input_dims, 2);
  peftq_onnx_builder_add_output (builder, "output", PEFTQ_DTYPE_F32, output_shape, output_dims, 2);
  peftq_onnx_builder_add_initializer (builder, "linear.weight", weight);
  peftq_onnx_builder_add_initializer (builder, "linear.bias", bias);
  peftq_onnx_builder_add_initializer (builder, "scale_add.scale", scale);
  peftq_onnx_builder_add_metadata (builder, "peftq.sample", "gemm");

  node = peftq_onnx_builder_add_node (builder, "Gemm", "linear",
                                      (const char *const[]) { "input", "linear.weight", "linear.bias", NULL },
                                      (const char *const[]) { "linear_output", NULL });
  peftq_onnx_node_add_int (node, "transB", 1);
  peftq_onnx_node_add_float (node, "alpha", 1.0f);

  node = peftq_onnx_builder_add_node (builder, "Constant", "scale_add", NULL,
                                      (const char *const[]) { "scale_add_offset", NULL });
  peftq_onnx_node_add_tensor (node, "value", offset);
  peftq_onnx_builder_add_node (builder, "Mul", "scale_add#1",
                               (const char *const[]) { "linear_output", "scale_add.scale", NULL },
                               (const char *const[]) { "scale_add_scaled", NULL });
  peftq_onnx_builder_add_node (builder, "Add", "scale_add#2.end",
                               (const char *const[]) { "scale_add_scaled", "scale_add_offset", NULL },
                               (const char *const[]) { "output", NULL });

  return builder;
}

PeftqOnnxBuilder *
onnx_sample_attributes_new (void)
{
  PeftqOnnxBuilder *builder = peftq_onnx_builder_new ("sample_attributes");
  const gint64 x_shape[] = { 2, 3 };
  const gint64 y_shape[] = { 3, 2 };
  const gint64 pair_shape[] = { 2 };
  const gint64 triple_shape[] = { 3 };
  const gint64 permutation[] = { 1, 0 };
  const float floats[] = { 1.5f, 2.5f };
  const gint64 ints[] = { 7, 8, 9 };
  PeftqOnnxNode *node;

  peftq_onnx_builder_add_input (builder, "x", PEFTQ_DTYPE_F32, x_shape, NULL, 2);
  peftq_onnx_builder_add_output (builder, "y", PEFTQ_DTYPE_F32, y_shape, NULL, 2);
  peftq_onnx_builder_add_output (builder, "z", PEFTQ_DTYPE_F32, x_shape, NULL, 2);
  peftq_onnx_builder_add_output (builder, "c_floats", PEFTQ_DTYPE_F32, pair_shape, NULL, 1);
  peftq_onnx_builder_add_output (builder, "c_ints", PEFTQ_DTYPE_I64, triple_shape, NULL, 1);
  peftq_onnx_builder_add_output (builder, "c_float", PEFTQ_DTYPE_F32, NULL, NULL, 0);
  peftq_onnx_builder_add_output (builder, "c_int", PEFTQ_DTYPE_I64, NULL, NULL, 0);

  node = peftq_onnx_builder_add_node (builder, "Transpose", "transpose",
                                      (const char *const[]) { "x", NULL },
                                      (const char *const[]) { "y", NULL });
  peftq_onnx_node_add_ints (node, "perm", permutation, G_N_ELEMENTS (permutation));

  node = peftq_onnx_builder_add_node (builder, "LeakyRelu", "leaky_relu",
                                      (const char *const[]) { "x", NULL },
                                      (const char *const[]) { "z", NULL });
  peftq_onnx_node_add_float (node, "alpha", 0.25f);

  node = peftq_onnx_builder_add_node (builder, "Constant", "constants",
                                      NULL, (const char *const[]) { "c_floats", NULL });
  peftq_onnx_node_add_floats (node, "value_floats", floats, G_N_ELEMENTS (floats));
  node = peftq_onnx_builder_add_node (builder, "Constant", "constants#1",
                                      NULL, (const char *const[]) { "c_ints", NULL });
  peftq_onnx_node_add_ints (node, "value_ints", ints, G_N_ELEMENTS (ints));
  node = peftq_onnx_builder_add_node (builder, "Constant", "constants#2",
                                      NULL, (const char *const[]) { "c_float", NULL });
  peftq_onnx_node_add_float (node, "value_float", 4.5f);
  node = peftq_onnx_builder_add_node (builder, "Constant", "constants#3",
                                      NULL, (const char *const[]) { "c_int", NULL });
  peftq_onnx_node_add_int (node, "value_int", 42);
  node = peftq_onnx_builder_add_node (builder, "Constant", "constants#4.end",
                                      NULL, (const char *const[]) { "c_string", NULL });
  peftq_onnx_node_add_string (node, "value_string", "peftq");

  return builder;
}
