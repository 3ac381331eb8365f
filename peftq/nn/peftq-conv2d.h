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
PEFTQ_AVAILABLE_IN_ALL
void         peftq_conv2d_get_stride  (PeftqConv2d *self,
                                       guint       *height,
                                       guint       *width);
PEFTQ_AVAILABLE_IN_ALL
void         peftq_conv2d_get_padding (PeftqConv2d *self,
                                       guint       *height,
                                       guint       *width);
PEFTQ_AVAILABLE_IN_ALL
guint        peftq_conv2d_get_groups  (PeftqConv2d *self);

G_END_DECLS
