/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Maximum rank that the broadcasting kernels handle. */
#define PEFTQ_MAX_BROADCAST_RANK 8

typedef enum
{
  PEFTQ_BINARY_ADD,
  PEFTQ_BINARY_MUL,
} PeftqBinaryOp;

/* out[i] = a[i] op b[i] for @n elements. @out may alias @a or @b. */
void peftq_binary_same      (PeftqBinaryOp  op,
                             const float   *a,
                             const float   *b,
                             float         *out,
                             gsize          n);

/* out[i] = a[i] op @scalar. */
void peftq_binary_scalar    (PeftqBinaryOp  op,
                             const float   *a,
                             float          scalar,
                             float         *out,
                             gsize          n);

/* NumPy broadcasting: the shapes of @a and @b are given at the rank of @out_shape
 * (left-padded with 1), and each of their dimensions is 1 or the output's. */
void peftq_binary_broadcast (PeftqBinaryOp  op,
                             const float   *a,
                             const gint64  *a_shape,
                             const float   *b,
                             const gint64  *b_shape,
                             float         *out,
                             const gint64  *out_shape,
                             guint          rank);

G_END_DECLS
