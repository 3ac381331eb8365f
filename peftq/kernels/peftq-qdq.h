/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The largest tensor rank that the quantization kernels accept. */
#define PEFTQ_QDQ_MAX_RANK 8

/* How the elements of an input tensor map to the encodings of a quantizer.
 *
 * The encoding shape is aligned with the input shape from the last axis. Along an axis of
 * input size N with S encodings, element j uses encoding j / B, where the block size B is
 * N / S. The input then splits into runs: contiguous stretches of run_length elements that
 * share one encoding. Run r has the row-major coordinates of r in run_dims, and
 * coordinate c on axis d belongs to encoding coordinate c / run_div[d], whose weight in the
 * flat encoding index is run_enc_stride[d]. */
typedef struct
{
  guint64 n_elements;
  guint64 run_length;
  guint64 n_runs;
  guint64 n_encodings;
  guint   n_run_axes;
  guint64 run_dims[PEFTQ_QDQ_MAX_RANK];
  guint64 run_div[PEFTQ_QDQ_MAX_RANK];
  guint64 run_enc_stride[PEFTQ_QDQ_MAX_RANK];
} PeftqQdqLayout;

/* Fills @layout for an input of @input_shape quantized with encodings of @enc_shape.
 * @block_size is NULL for broadcasting (each encoding axis is 1 or the input size), or has
 * @enc_rank entries, where -1 means input size / encoding size. Fails with
 * PEFTQ_ERROR_SHAPE_MISMATCH when the shapes do not fit; the message names both shapes. */
gboolean peftq_qdq_layout_init (PeftqQdqLayout *layout,
                                const gint64   *input_shape,
                                guint           input_rank,
                                const gint64   *enc_shape,
                                guint           enc_rank,
                                const gint64   *block_size,
                                GError        **error);

/* Returns the flat index of the encoding that run @run uses. */
guint64 peftq_qdq_layout_get_encoding (const PeftqQdqLayout *layout,
                                       guint64               run);

/* Formats a shape as "(2, 3)" for messages. */
char *peftq_qdq_format_shape (const gint64 *shape,
                              guint         rank);

/* Element kernels over @n values with one encoding. All arithmetic is float32:
 *   q   = clamp (round_half_even (x / scale) - offset, qmin, qmax)
 *   out = (q + offset) * scale
 * NaN inputs give NaN, and infinities clamp to the grid ends. The `_ref` versions use
 * nearbyintf and are the truth; the others are written for auto-vectorization and return
 * the same bits for every input. */
void peftq_qdq_f32_ref        (const float *input,
                               float       *output,
                               gsize        n,
                               float        scale,
                               float        offset,
                               float        qmin,
                               float        qmax);
void peftq_qdq_f32            (const float *input,
                               float       *output,
                               gsize        n,
                               float        scale,
                               float        offset,
                               float        qmin,
                               float        qmax);
void peftq_quantize_f32_ref   (const float *input,
                               float       *output,
                               gsize        n,
                               float        scale,
                               float        offset,
                               float        qmin,
                               float        qmax);
void peftq_quantize_f32       (const float *input,
                               float       *output,
                               gsize        n,
                               float        scale,
                               float        offset,
                               float        qmin,
                               float        qmax);
void peftq_dequantize_f32     (const float *input,
                               float       *output,
                               gsize        n,
                               float        scale,
                               float        offset);

/* The operation that peftq_qdq_run applies. */
typedef enum
{
  PEFTQ_QDQ_OP_QDQ,
  PEFTQ_QDQ_OP_QUANTIZE,
  PEFTQ_QDQ_OP_DEQUANTIZE,
} PeftqQdqOp;

/* Applies @op to every element of @input laid out as @layout, with the per-encoding
 * @scales and @offsets, splitting large inputs across threads with peftq_parallel_for.
 * @use_ref selects the `_ref` element kernels (for tests and benchmarks). */
void peftq_qdq_run (const PeftqQdqLayout *layout,
                    PeftqQdqOp            op,
                    const float          *input,
                    float                *output,
                    const float          *scales,
                    const float          *offsets,
                    float                 qmin,
                    float                 qmax,
                    gboolean              use_ref);

/* Reduces the finite values of @input to per-encoding minimum and maximum. @mins and
 * @maxs (n_encodings each) are updated in place, so that several calls accumulate; an
 * encoding with no finite value keeps its entries. @seen (n_encodings) is set to TRUE
 * where a finite value was found. Returns the number of NaN or infinite values skipped
 * in *n_nonfinite, and the number of finite values whose magnitude is within 5 % of
 * FLT_MAX in *n_near_limit. */
void peftq_qdq_reduce_min_max (const PeftqQdqLayout *layout,
                               const float          *input,
                               float                *mins,
                               float                *maxs,
                               gboolean             *seen,
                               guint64              *n_nonfinite,
                               guint64              *n_near_limit);

G_END_DECLS
