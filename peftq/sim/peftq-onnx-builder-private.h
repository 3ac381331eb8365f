/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "peftq-tensor.h"

G_BEGIN_DECLS

/* The model header that peftq writes: IR version 8 with the default operator set at
 * version 17, the versions that onnx 1.12 introduced. */
#define PEFTQ_ONNX_IR_VERSION    8
#define PEFTQ_ONNX_OPSET_VERSION 17

/* Protobuf messages cannot exceed 2 GiB, so larger initializers go to a data file. */
#define PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD (G_GUINT64_CONSTANT (2) << 30)

/* An ONNX graph under construction. Nothing is checked against the operator schemas:
 * the caller builds valid ops, and onnx.checker.check_model verifies them in the tests.
 * The builder checks names: each tensor has one producer (graph input, initializer or
 * node output), and node names are unique. */
typedef struct _PeftqOnnxBuilder PeftqOnnxBuilder;

/* A node of a builder, owned by it, valid until the builder is freed. */
typedef struct _PeftqOnnxNode PeftqOnnxNode;

PeftqOnnxBuilder *peftq_onnx_builder_new             (const char        *graph_name);
void              peftq_onnx_builder_free            (PeftqOnnxBuilder  *self);

/* Adds a graph input or output of element type @dtype. @shape has @rank dimensions; a
 * dimension whose @dim_names entry is not NULL is symbolic (`batch`, `tokens`) and its
 * @shape entry is ignored. @dim_names may be NULL when every dimension is fixed. */
void              peftq_onnx_builder_add_input       (PeftqOnnxBuilder  *self,
                                                      const char        *name,
                                                      PeftqDType         dtype,
                                                      const gint64      *shape,
                                                      const char *const *dim_names,
                                                      guint              rank);
void              peftq_onnx_builder_add_output      (PeftqOnnxBuilder  *self,
                                                      const char        *name,
                                                      PeftqDType         dtype,
                                                      const gint64      *shape,
                                                      const char *const *dim_names,
                                                      guint              rank);

/* Adds an initializer that holds a reference to @tensor; its bytes are written as they
 * are stored, little-endian. */
void              peftq_onnx_builder_add_initializer (PeftqOnnxBuilder  *self,
                                                      const char        *name,
                                                      PeftqTensor       *tensor);

/* Adds a node. @inputs and @outputs are NULL-terminated; an empty string is an omitted
 * optional input. */
PeftqOnnxNode    *peftq_onnx_builder_add_node        (PeftqOnnxBuilder  *self,
                                                      const char        *op_type,
                                                      const char        *name,
                                                      const char *const *inputs,
                                                      const char *const *outputs);

/* Adds a metadata_props entry to the model. */
void              peftq_onnx_builder_add_metadata    (PeftqOnnxBuilder  *self,
                                                      const char        *key,
                                                      const char        *value);

void              peftq_onnx_node_add_int            (PeftqOnnxNode     *node,
                                                      const char        *name,
                                                      gint64             value);
void              peftq_onnx_node_add_float          (PeftqOnnxNode     *node,
                                                      const char        *name,
                                                      float              value);
void              peftq_onnx_node_add_string         (PeftqOnnxNode     *node,
                                                      const char        *name,
                                                      const char        *value);
void              peftq_onnx_node_add_ints           (PeftqOnnxNode     *node,
                                                      const char        *name,
                                                      const gint64      *values,
                                                      gsize              n_values);
void              peftq_onnx_node_add_floats         (PeftqOnnxNode     *node,
                                                      const char        *name,
                                                      const float       *values,
                                                      gsize              n_values);
/* The tensor is always stored inside the model, whatever the size of the initializers. */
void              peftq_onnx_node_add_tensor         (PeftqOnnxNode     *node,
                                                      const char        *name,
                                                      PeftqTensor       *tensor);

/* Returns the total size in bytes of the initializer data. */
guint64           peftq_onnx_builder_get_initializer_size (PeftqOnnxBuilder *self);

/* Writes the model to @path. When the initializer data is larger than
 * @external_data_threshold bytes (PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD in production),
 * every initializer goes to `<basename of path>.data` beside it, following ONNX's
 * external data convention, and the model refers to it by that relative name. Both
 * files are written under temporary names and renamed over the old ones only when both
 * are complete, the data file first, so a failed write leaves an earlier model and its
 * data intact. Only a failure of the final rename of the model can leave new data
 * beside an old model. Fails with PEFTQ_ERROR_INVALID_DATA for a graph with a duplicate node
 * name or a tensor with two producers, PEFTQ_ERROR_IO when a file cannot be written,
 * and PEFTQ_ERROR_UNSUPPORTED when peftq was built without ONNX support. */
gboolean          peftq_onnx_builder_write           (PeftqOnnxBuilder  *self,
                                                      const char        *path,
                                                      guint64            external_data_threshold,
                                                      GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeftqOnnxBuilder, peftq_onnx_builder_free)

/* Maps a dtype to the TensorProto.DataType number of ONNX. */
int               peftq_onnx_data_type_from_dtype    (PeftqDType         dtype);
/* Maps a TensorProto.DataType number to a dtype, or fails for types that peftq tensors
 * cannot hold (strings, unsigned 16/32/64-bit, complex, 8-bit floats). */
gboolean          peftq_onnx_data_type_to_dtype      (int                data_type,
                                                      PeftqDType        *out_dtype);

G_END_DECLS
