/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Softmax over each row of @cols values. A row whose values are all -inf (fully masked)
 * becomes zeros instead of NaN. @out may alias @x. */
void peftq_softmax (const float *x,
                    float       *out,
                    gsize        rows,
                    gsize        cols);

/* Softmax of x + mask over each row, where row r of @x uses row
 * (r / (repeat · period)) · period + r % period of @mask, [*, cols]. This covers a causal
 * mask [T, S] shared by every batch and head (period T, repeat batch · heads) and a
 * padding mask [B, 1, T, S] (period T, repeat heads). Masked (-inf) entries cost no exp. */
void peftq_softmax_masked (const float *x,
                           const float *mask,
                           float       *out,
                           gsize        rows,
                           gsize        cols,
                           gsize        period,
                           gsize        repeat);

G_END_DECLS
