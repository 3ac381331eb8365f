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

G_END_DECLS
