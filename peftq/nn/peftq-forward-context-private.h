/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-forward-context.h"
#include "peftq-module.h"

G_BEGIN_DECLS

/* Called by peftq_module_forward() after the class forward of every module, containers
 * included, so a recorder receives children before their parent. @inputs are the tensors the
 * class forward received (after the input quantizers) and @output is its result before
 * the output quantizer. The ONNX exporter installs one to trace the forward pass. */
typedef void (*PeftqForwardRecorderFunc) (PeftqModule  *module,
                                          PeftqTensor **inputs,
                                          guint         n_inputs,
                                          PeftqTensor  *output,
                                          gpointer      user_data);

/* Exported, but not declared in a public header, for the C tests. */
void peftq_forward_context_set_recorder (PeftqForwardContext      *self,
                                         PeftqForwardRecorderFunc  func,
                                         gpointer                  user_data,
                                         GDestroyNotify            destroy);

/* While exporting, peftq_module_forward() applies no input or output quantizer, so
 * the recorder sees the float values that the exported graph computes. Parameter
 * quantizers still apply. */
void     peftq_forward_context_set_exporting (PeftqForwardContext *self,
                                              gboolean             exporting);
gboolean peftq_forward_context_get_exporting (PeftqForwardContext *self);

/* Calls the recorder, if one is installed. */
void peftq_forward_context_record       (PeftqForwardContext      *self,
                                         PeftqModule              *module,
                                         PeftqTensor             **inputs,
                                         guint                     n_inputs,
                                         PeftqTensor              *output);

G_END_DECLS
