/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_ATTENTION (peftq_attention_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqAttention, peftq_attention, PEFTQ, ATTENTION, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_attention_new (guint    hidden_size,
                                  guint    num_heads,
                                  guint    num_kv_heads,
                                  guint    head_dim,
                                  float    rope_theta,
                                  gboolean qkv_bias,
                                  gboolean output_bias) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
guint        peftq_attention_get_num_heads    (PeftqAttention *self);
PEFTQ_AVAILABLE_IN_ALL
guint        peftq_attention_get_num_kv_heads (PeftqAttention *self);
PEFTQ_AVAILABLE_IN_ALL
guint        peftq_attention_get_head_dim     (PeftqAttention *self);

G_END_DECLS
