/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_ONNX_MODEL (peftq_onnx_model_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqOnnxModel, peftq_onnx_model, PEFTQ, ONNX_MODEL, GObject)

PEFTQ_AVAILABLE_IN_ALL
PeftqOnnxModel     *peftq_onnx_model_load                      (const char      *path,
                                                                GError         **error) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
const char         *peftq_onnx_model_get_path                  (PeftqOnnxModel  *self);
PEFTQ_AVAILABLE_IN_ALL
gint64              peftq_onnx_model_get_ir_version            (PeftqOnnxModel  *self);
PEFTQ_AVAILABLE_IN_ALL
gint64              peftq_onnx_model_get_opset_version         (PeftqOnnxModel  *self);
PEFTQ_AVAILABLE_IN_ALL
const char         *peftq_onnx_model_get_producer_name         (PeftqOnnxModel  *self);
PEFTQ_AVAILABLE_IN_ALL
const char         *peftq_onnx_model_get_producer_version      (PeftqOnnxModel  *self);

PEFTQ_AVAILABLE_IN_ALL
char              **peftq_onnx_model_get_input_names           (PeftqOnnxModel  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
char              **peftq_onnx_model_get_output_names          (PeftqOnnxModel  *self) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
char              **peftq_onnx_model_get_initializer_names     (PeftqOnnxModel  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean            peftq_onnx_model_has_initializer           (PeftqOnnxModel  *self,
                                                                const char      *name);
PEFTQ_AVAILABLE_IN_ALL
gboolean            peftq_onnx_model_is_initializer_external   (PeftqOnnxModel  *self,
                                                                const char      *name);
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor        *peftq_onnx_model_get_initializer           (PeftqOnnxModel  *self,
                                                                const char      *name,
                                                                GError         **error) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
guint               peftq_onnx_model_get_n_nodes               (PeftqOnnxModel  *self);
PEFTQ_AVAILABLE_IN_ALL
int                 peftq_onnx_model_find_node                 (PeftqOnnxModel  *self,
                                                                const char      *name);
PEFTQ_AVAILABLE_IN_ALL
const char         *peftq_onnx_model_get_node_name             (PeftqOnnxModel  *self,
                                                                guint            index);
PEFTQ_AVAILABLE_IN_ALL
const char         *peftq_onnx_model_get_node_op_type          (PeftqOnnxModel  *self,
                                                                guint            index);
PEFTQ_AVAILABLE_IN_ALL
const char * const *peftq_onnx_model_get_node_inputs           (PeftqOnnxModel  *self,
                                                                guint            index);
PEFTQ_AVAILABLE_IN_ALL
const char * const *peftq_onnx_model_get_node_outputs          (PeftqOnnxModel  *self,
                                                                guint            index);

PEFTQ_AVAILABLE_IN_ALL
char              **peftq_onnx_model_get_module_names          (PeftqOnnxModel  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
char              **peftq_onnx_model_get_module_node_names     (PeftqOnnxModel  *self,
                                                                const char      *module_name) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
const char         *peftq_onnx_model_get_module_first_node_name (PeftqOnnxModel *self,
                                                                 const char     *module_name);
PEFTQ_AVAILABLE_IN_ALL
char              **peftq_onnx_model_get_module_input_names    (PeftqOnnxModel  *self,
                                                                const char      *module_name) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
char              **peftq_onnx_model_get_module_output_names   (PeftqOnnxModel  *self,
                                                                const char      *module_name) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
const char         *peftq_onnx_model_find_parameter            (PeftqOnnxModel  *self,
                                                                const char      *module_name,
                                                                const char      *param_name);

PEFTQ_AVAILABLE_IN_ALL
char               *peftq_onnx_node_name_to_module_name        (const char      *node_name) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
