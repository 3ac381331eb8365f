/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-module.h"
#include "peftq-forward-context.h"

G_BEGIN_DECLS

/* Copies columns [offset, offset + heads · head_dim) of @x, [batch, tokens, width], to a
 * new tensor of shape [batch, heads, tokens, head_dim]. */
PeftqTensor *peftq_attention_split_heads (PeftqTensor *x,
                                          gsize        offset,
                                          gsize        heads,
                                          gsize        head_dim);

/* The inverse of a split: [batch, heads, tokens, head_dim] to
 * [batch, tokens, heads · head_dim]. */
PeftqTensor *peftq_attention_merge_heads (PeftqTensor *x);

/* Builds the additive attention mask for @tokens tokens: 0 where a query may attend to a
 * key and -inf elsewhere. Keys after the query are masked, and so are keys whose entry in
 * the context's attention mask is 0. The shape is [tokens, tokens] without an attention
 * mask and [batch, 1, tokens, tokens] with one. */
PeftqTensor *peftq_attention_build_mask  (PeftqModule          *module,
                                          PeftqForwardContext  *context,
                                          gsize                 batch,
                                          gsize                 tokens,
                                          GError              **error);

G_END_DECLS
