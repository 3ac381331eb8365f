/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_LINEAR (peftq_linear_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqLinear, peftq_linear, PEFTQ, LINEAR, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_linear_new              (guint         in_features,
                                            guint         out_features,
                                            gboolean      bias) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_linear_new_with_weights (PeftqTensor  *weight,
                                            PeftqTensor  *bias,
                                            GError      **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
guint        peftq_linear_get_in_features  (PeftqLinear  *self);
PEFTQ_AVAILABLE_IN_ALL
guint        peftq_linear_get_out_features (PeftqLinear  *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean     peftq_linear_get_has_bias     (PeftqLinear  *self);

G_END_DECLS
