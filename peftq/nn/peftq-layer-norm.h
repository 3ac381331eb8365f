/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_LAYER_NORM (peftq_layer_norm_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqLayerNorm, peftq_layer_norm, PEFTQ, LAYER_NORM, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_layer_norm_new      (guint           dim,
                                        float           eps,
                                        gboolean        bias) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
float        peftq_layer_norm_get_eps  (PeftqLayerNorm *self);

G_END_DECLS
