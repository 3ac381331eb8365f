/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_ROTARY_EMBEDDING (peftq_rotary_embedding_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqRotaryEmbedding, peftq_rotary_embedding, PEFTQ, ROTARY_EMBEDDING, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_rotary_embedding_new           (guint                 head_dim,
                                                   float                 theta) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
guint        peftq_rotary_embedding_get_head_dim  (PeftqRotaryEmbedding *self);
PEFTQ_AVAILABLE_IN_ALL
float        peftq_rotary_embedding_get_theta     (PeftqRotaryEmbedding *self);

G_END_DECLS
