/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_CONV1D (peftq_conv1d_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqConv1D, peftq_conv1d, PEFTQ, CONV1D, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_conv1d_new (guint in_features,
                               guint out_features) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
