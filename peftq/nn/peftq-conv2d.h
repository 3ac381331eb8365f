/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_CONV2D (peftq_conv2d_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqConv2d, peftq_conv2d, PEFTQ, CONV2D, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_conv2d_new (guint    in_channels,
                               guint    out_channels,
                               guint    kernel_size,
                               guint    stride,
                               guint    padding,
                               guint    groups,
                               gboolean bias) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_conv2d_new_full (guint    in_channels,
                                    guint    out_channels,
                                    guint    kernel_height,
                                    guint    kernel_width,
                                    guint    stride_height,
                                    guint    stride_width,
                                    guint    padding_height,
                                    guint    padding_width,
                                    guint    groups,
                                    gboolean bias) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
