/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-module.h"
#include "peftq-elementwise-private.h"

G_BEGIN_DECLS

/* Forward pass shared by the Add and Multiply modules: two float inputs with NumPy
 * broadcasting, such as [B, T, H] with [B, T, H], [H] or a 0-d scalar. */
PeftqTensor *peftq_binary_module_forward (PeftqModule    *self,
                                          PeftqBinaryOp   op,
                                          PeftqTensor   **inputs,
                                          guint           n_inputs,
                                          GError        **error);

G_END_DECLS
