/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-onnx-builder-private.h"

G_BEGIN_DECLS

/* The sample graph computes output = (input · linear.weightᵀ + linear.bias) * 0.5 +
 * [1, 2, 3] for input of shape [batch, 4], with a Gemm node for module "linear" and the
 * three nodes "scale_add", "scale_add#1" and "scale_add#2.end" for module "scale_add". */
#define ONNX_SAMPLE_IN  4
#define ONNX_SAMPLE_OUT 3

PeftqOnnxBuilder *onnx_sample_gemm_new       (void);
/* One Transpose, one LeakyRelu and Constant nodes with every attribute kind. */
PeftqOnnxBuilder *onnx_sample_attributes_new (void);

/* Computes the sample graph's output for one input row. */
void              onnx_sample_gemm_reference (const float *input,
                                              float       *output);

G_END_DECLS
