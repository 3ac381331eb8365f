/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "peftq-module.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

/* Exports @root as an ONNX model (opset 17) to @path by running its forward pass once on
 * @dummy_input_ids ([batch, tokens], I64 or I32) and recording what every module
 * computes. The graph has the input `input_ids` (int64, [batch, sequence]) and the
 * output `logits` (float32, [batch, sequence, vocab]), and computes the float forward
 * pass for any batch size and sequence length:
 *
 * - activation quantizers are left out of the graph and do not alter the traced values;
 * - each parameter is one initializer `<module path>.<parameter>` (a tied parameter once,
 *   under the name of its first module), quantize-dequantized when its module has a
 *   parameter quantizer for it (peftq_module_get_effective_parameter);
 * - nodes are named after their module as section 9.4 of the semantics page describes
 *   (peftq_onnx_node_name_for_module).
 *
 * Initializer data larger than @external_data_threshold bytes goes to `<file>.data`
 * beside @path (PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD in production). On failure, an
 * existing file at @path is left as it was. Fails with PEFTQ_ERROR_UNSUPPORTED for a
 * module type that has no ONNX mapping, or a tensor computed outside of any module that
 * the exporter does not know how to rebuild, naming the module. */
gboolean peftq_onnx_export_module (PeftqModule  *root,
                                   PeftqTensor  *dummy_input_ids,
                                   const char   *path,
                                   guint64       external_data_threshold,
                                   GError      **error);

typedef gboolean (*PeftqOnnxExportFunc) (PeftqModule  *model,
                                         PeftqTensor  *dummy_input,
                                         const char   *path,
                                         gpointer      user_data,
                                         GError      **error);

/* For tests only: makes peftq_onnx_export_module() call @func instead of tracing, or
 * restores the tracer when @func is NULL. */
void     peftq_onnx_export_set_override (PeftqOnnxExportFunc  func,
                                         gpointer             user_data);

G_END_DECLS
