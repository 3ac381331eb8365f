/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-module.h"
#include "peftq-error.h"
#include "peftq-tensor-private.h"

G_BEGIN_DECLS

/* Returns @tensor itself (a new reference) when it is F32 with float-aligned storage,
 * and otherwise a float32 copy, so kernels can read it as a float array. Fails for
 * integer and boolean dtypes, naming @what in the message. */
PeftqTensor *peftq_tensor_ensure_f32 (PeftqTensor  *tensor,
                                      const char   *what,
                                      GError      **error);

/* Describes the module for messages: "module “model.norm” (RMSNorm)", or
 * "root module (Sequential)" for a root. */
char *peftq_module_dup_description (PeftqModule *self);

/* Fails unless the module received exactly @expected inputs. */
gboolean peftq_module_check_n_inputs (PeftqModule  *self,
                                      guint         n_inputs,
                                      guint         expected,
                                      GError      **error);

/* Sets a PEFTQ_ERROR_SHAPE_MISMATCH error that names the module, its type, what was
 * wrong (@what, for example "input"), the shape of @actual and the @expected shape. */
void peftq_module_set_shape_error (PeftqModule  *self,
                                   GError      **error,
                                   const char   *what,
                                   PeftqTensor  *actual,
                                   const char   *expected);

/* Creates a float32 tensor for a module's output over a buffer of the buffer pool, and
 * returns the buffer in @data. The contents are undefined, so the caller must write
 * every element before anyone else reads the tensor. */
PeftqTensor *peftq_tensor_new_output (const gint64  *shape,
                                      guint          rank,
                                      float        **data);

/* Formats a shape such as "[4, 64]" for messages. */
char *peftq_format_shape (const gint64 *shape,
                          guint         rank);

G_END_DECLS
