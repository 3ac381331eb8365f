/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Rotary position embedding in Hugging Face's rotate_half convention, on @x of shape
 * [batch, heads, tokens, head_dim]. Element i of a head rotates together with element
 * i + head_dim/2 by the angle position · theta^(-2i/head_dim), computed in float32 as
 * Hugging Face does. @positions contains batch × tokens values, or only tokens values (shared
 * by every sequence) when @per_batch is FALSE. @out may alias @x. */
void peftq_rope (const float  *x,
                 float        *out,
                 gsize         batch,
                 gsize         heads,
                 gsize         tokens,
                 gsize         head_dim,
                 const gint64 *positions,
                 gboolean      per_batch,
                 float         theta);

G_END_DECLS
