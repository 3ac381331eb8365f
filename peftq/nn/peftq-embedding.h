/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_EMBEDDING (peftq_embedding_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqEmbedding, peftq_embedding, PEFTQ, EMBEDDING, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_embedding_new                    (guint           num_embeddings,
                                                     guint           embedding_dim) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
guint        peftq_embedding_get_num_embeddings     (PeftqEmbedding *self);
PEFTQ_AVAILABLE_IN_ALL
guint        peftq_embedding_get_embedding_dim      (PeftqEmbedding *self);

G_END_DECLS
