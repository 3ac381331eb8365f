/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_MATMUL (peftq_matmul_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqMatMul, peftq_matmul, PEFTQ, MATMUL, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_matmul_new             (gboolean  transpose_b,
                                          float     scale) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean     peftq_matmul_get_transpose_b (PeftqMatMul *self);
PEFTQ_AVAILABLE_IN_ALL
float        peftq_matmul_get_scale       (PeftqMatMul *self);

G_END_DECLS
