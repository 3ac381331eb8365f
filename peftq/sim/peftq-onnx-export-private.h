/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-module.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

/* The entry point of ONNX export by tracing, which peftq_quant_sim_export() calls when
 * export_model is TRUE. The tracer is not written yet: until it is, this fails with
 * PEFTQ_ERROR_UNSUPPORTED unless a test installed an override.
 *
 * NOTE: the tracer replaces the body of peftq_onnx_export_module() in
 * peftq-onnx-export.c. It must write @path (and its external data when needed) with
 * initializers named "<module>.<param>", the quantize-dequantized parameter values, and
 * nodes named after their modules (section 9.4 of the AIMET semantics). */
gboolean peftq_onnx_export_module (PeftqModule  *model,
                                   PeftqTensor  *dummy_input,
                                   const char   *path,
                                   GError      **error);

typedef gboolean (*PeftqOnnxExportFunc) (PeftqModule  *model,
                                         PeftqTensor  *dummy_input,
                                         const char   *path,
                                         gpointer      user_data,
                                         GError      **error);

/* For tests only: makes peftq_onnx_export_module() call @func, or restores the default
 * when @func is NULL. */
void     peftq_onnx_export_set_override (PeftqOnnxExportFunc  func,
                                         gpointer             user_data);

G_END_DECLS
