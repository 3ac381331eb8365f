/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  PEFTQ_UNARY_SILU,       /* x · sigmoid(x) */
  PEFTQ_UNARY_GELU,       /* x · Φ(x), with the exact erf */
  PEFTQ_UNARY_GELU_TANH,  /* the tanh approximation of GELU (GPT-2's gelu_new) */
  PEFTQ_UNARY_RELU,       /* max(x, 0) */
} PeftqUnaryOp;

/* out[i] = op (x[i]) for @n elements, split across threads. @out may alias @x. */
void peftq_unary (PeftqUnaryOp  op,
                  const float  *x,
                  float        *out,
                  gsize         n);

G_END_DECLS
