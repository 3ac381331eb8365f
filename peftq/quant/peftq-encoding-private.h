/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-encoding.h"

G_BEGIN_DECLS

/* The largest encoding rank; equal to the largest rank of the quantization kernels. */
#define PEFTQ_ENCODING_MAX_RANK 8

/* The largest bitwidth: float32 holds every integer of the grid exactly up to 2^24. */
#define PEFTQ_ENCODING_MAX_BITWIDTH 24

/* Returns the grid [qmin, qmax] of a bitwidth (1 to 24). */
void     peftq_encoding_get_grid       (guint     bitwidth,
                                        gboolean  is_signed,
                                        gint64   *qmin,
                                        gint64   *qmax);

/* Fails with PEFTQ_ERROR_INVALID_ARGUMENT below 1 and PEFTQ_ERROR_UNSUPPORTED above 24. */
gboolean peftq_encoding_check_bitwidth (guint     bitwidth,
                                        GError  **error);

G_END_DECLS
