/* SPDX-License-Identifier: MIT */
#include "config.h"

/* The kernels never read floating-point exception flags, so the compiler may evaluate both
 * sides of a float comparison. Without this, gcc does not if-convert the clamps and
 * selects below and leaves the loops scalar. The results do not change: this allows no
 * reassociation, contraction or change of rounding. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("no-trapping-math")
#endif

#include "peftq-qdq.h"

#include "peftq-error.h"
#include "peftq-parallel-private.h"

#include <float.h>
#include <math.h>

/* Elements per chunk below which splitting across threads costs more than it saves. */
#define QDQ_MIN_CHUNK ((gsize) 1 << 16)

/* The vectorizable kernels are also compiled for AVX2 and AVX-512, chosen at load time
 * through an ifunc where the toolchain supports it. Wider vectors change no result: the
 * kernels use only IEEE division, addition, multiplication and comparisons, and have no
 * multiply-add that could be contracted. */
#if defined(PEFTQ_QDQ_FORCE_TARGET)
/* Tests build each instruction set on its own to compare it with the _ref kernels. */
#define QDQ_TARGET_CLONES __attribute__ ((target (PEFTQ_QDQ_FORCE_TARGET)))
#elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define QDQ_TARGET_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define QDQ_TARGET_CLONES
#endif

/* Elements per inner block of the vectorizable kernels. The inner loop has a constant trip
 * count, so gcc vectorizes it even under the "very cheap" cost model of -O2. */
#define QDQ_BLOCK 16

char *
peftq_qdq_format_shape (const gint64 *shape,
                        guint         rank)
{
  GString *text = g_string_new ("(");

  for (guint i = 0; i < rank; i++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "", shape[i]);
  g_string_append_c (text, ')');

  return g_string_free (text, FALSE);
}

static gboolean
layout_error (GError       **error,
              const gint64  *input_shape,
              guint          input_rank,
              const gint64  *enc_shape,
              guint          enc_rank,
              const char    *reason)
{
  g_autofree char *input_text = peftq_qdq_format_shape (input_shape, input_rank);
  g_autofree char *enc_text = peftq_qdq_format_shape (enc_shape, enc_rank);

  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
               "Encodings of shape %s do not fit an input of shape %s: %s",
               enc_text, input_text, reason);
  return FALSE;
}

gboolean
peftq_qdq_layout_init (PeftqQdqLayout *layout,
                       const gint64   *input_shape,
                       guint           input_rank,
                       const gint64   *enc_shape,
                       guint           enc_rank,
                       const gint64   *block_size,
                       GError        **error)
{
  guint64 dims[PEFTQ_QDQ_MAX_RANK];
  guint64 enc_dims[PEFTQ_QDQ_MAX_RANK];
  guint64 blocks[PEFTQ_QDQ_MAX_RANK];
  guint64 enc_strides[PEFTQ_QDQ_MAX_RANK];
  int last_split = -1;
  guint64 inner = 1;

  memset (layout, 0, sizeof *layout);

  if (input_rank > PEFTQ_QDQ_MAX_RANK)
    return layout_error (error, input_shape, input_rank, enc_shape, enc_rank,
                         "inputs of more than 8 dimensions are not supported");
  if (enc_rank > input_rank)
    return layout_error (error, input_shape, input_rank, enc_shape, enc_rank,
                         "the encodings have more dimensions than the input");

  layout->n_elements = 1;
  for (guint d = 0; d < input_rank; d++)
    {
      guint e;

      if (input_shape[d] < 0)
        return layout_error (error, input_shape, input_rank, enc_shape, enc_rank,
                             "the input has a negative dimension");
      dims[d] = (guint64) input_shape[d];
      layout->n_elements *= dims[d];

      enc_dims[d] = 1;
      blocks[d] = dims[d];
      if (d + enc_rank < input_rank)
        continue;

      e = d + enc_rank - input_rank;
      if (enc_shape[e] < 1)
        return layout_error (error, input_shape, input_rank, enc_shape, enc_rank,
                             "encoding dimensions must be positive");
      enc_dims[d] = (guint64) enc_shape[e];

      if (block_size != NULL)
        {
          gint64 b = block_size[e];

          if (b == -1)
            {
              if (dims[d] % enc_dims[d] != 0)
                return layout_error (error, input_shape, input_rank, enc_shape, enc_rank,
                                     "an input size is not a multiple of the encoding size");
              blocks[d] = dims[d] / enc_dims[d];
            }
          else if (b < 1 || (guint64) b * enc_dims[d] != dims[d])
            {
              return layout_error (error, input_shape, input_rank, enc_shape, enc_rank,
                                   "the block size times the encoding size must equal the input size");
            }
          else
            {
              blocks[d] = (guint64) b;
            }
        }
      else if (enc_dims[d] == dims[d])
        {
          blocks[d] = 1;
        }
      else if (enc_dims[d] != 1)
        {
          return layout_error (error, input_shape, input_rank, enc_shape, enc_rank,
                               "each encoding dimension must be 1 or the input size");
        }
    }

  layout->n_encodings = 1;
  for (int d = (int) input_rank - 1; d >= 0; d--)
    {
      enc_strides[d] = layout->n_encodings;
      layout->n_encodings *= enc_dims[d];
    }

  for (int d = (int) input_rank - 1; d >= 0; d--)
    {
      if (enc_dims[d] > 1)
        {
          last_split = d;
          break;
        }
      inner *= dims[d];
    }

  if (last_split < 0)
    {
      layout->run_length = layout->n_elements;
      layout->n_runs = layout->n_elements > 0 ? 1 : 0;
      layout->n_run_axes = 0;
      return TRUE;
    }

  layout->run_length = inner * blocks[last_split];
  layout->n_runs = layout->run_length > 0 ? layout->n_elements / layout->run_length : 0;
  layout->n_run_axes = (guint) last_split + 1;
  for (int d = 0; d < last_split; d++)
    {
      layout->run_dims[d] = dims[d];
      layout->run_div[d] = blocks[d];
      layout->run_enc_stride[d] = enc_strides[d];
    }
  layout->run_dims[last_split] = enc_dims[last_split];
  layout->run_div[last_split] = 1;
  layout->run_enc_stride[last_split] = enc_strides[last_split];

  return TRUE;
}

guint64
peftq_qdq_layout_get_encoding (const PeftqQdqLayout *layout,
                               guint64               run)
{
  guint64 index = 0;

  for (int d = (int) layout->n_run_axes - 1; d >= 0; d--)
    {
      guint64 coordinate = run % layout->run_dims[d];

      run /= layout->run_dims[d];
      index += (coordinate / layout->run_div[d]) * layout->run_enc_stride[d];
    }

  return index;
}

/* Element kernels */

static inline float
clamp_grid (float q,
            float qmin,
            float qmax)
{
  /* Comparisons, not fmaxf/fminf, so that NaN passes through as in torch.clamp. */
  q = q < qmin ? qmin : q;
  return q > qmax ? qmax : q;
}

/* Round half to even without nearbyintf, which SSE2 cannot vectorize. For |t| < 2^23,
 * adding 2^23 leaves a float32 with unit spacing, so the addition itself rounds to the
 * nearest integer, ties to even (2^23 is even), in the default rounding mode; subtracting
 * 2^23 is exact. Values of magnitude 2^23 or more, infinities and NaN are returned as
 * they are, as nearbyintf does. Requires strict IEEE arithmetic (no -ffast-math). */
static inline float
round_half_even (float t)
{
  float magnitude = fabsf (t);
  float rounded = copysignf ((magnitude + 0x1p23f) - 0x1p23f, t);

  return magnitude < 0x1p23f ? rounded : t;
}

void
peftq_qdq_f32_ref (const float *input,
                   float       *output,
                   gsize        n,
                   float        scale,
                   float        offset,
                   float        qmin,
                   float        qmax)
{
  for (gsize i = 0; i < n; i++)
    {
      float q = clamp_grid (nearbyintf (input[i] / scale) - offset, qmin, qmax);

      output[i] = (q + offset) * scale;
    }
}

static inline float
qdq_one (float x,
         float scale,
         float offset,
         float qmin,
         float qmax)
{
  float q = clamp_grid (round_half_even (x / scale) - offset, qmin, qmax);

  return (q + offset) * scale;
}

QDQ_TARGET_CLONES void
peftq_qdq_f32 (const float *restrict input,
               float       *restrict output,
               gsize                 n,
               float                 scale,
               float                 offset,
               float                 qmin,
               float                 qmax)
{
  gsize i = 0;

  for (; i + QDQ_BLOCK <= n; i += QDQ_BLOCK)
    for (gsize j = 0; j < QDQ_BLOCK; j++)
      output[i + j] = qdq_one (input[i + j], scale, offset, qmin, qmax);

  for (; i < n; i++)
    output[i] = qdq_one (input[i], scale, offset, qmin, qmax);
}

void
peftq_quantize_f32_ref (const float *input,
                        float       *output,
                        gsize        n,
                        float        scale,
                        float        offset,
                        float        qmin,
                        float        qmax)
{
  for (gsize i = 0; i < n; i++)
    output[i] = clamp_grid (nearbyintf (input[i] / scale) - offset, qmin, qmax);
}

QDQ_TARGET_CLONES void
peftq_quantize_f32 (const float *restrict input,
                    float       *restrict output,
                    gsize                 n,
                    float                 scale,
                    float                 offset,
                    float                 qmin,
                    float                 qmax)
{
  gsize i = 0;

  for (; i + QDQ_BLOCK <= n; i += QDQ_BLOCK)
    for (gsize j = 0; j < QDQ_BLOCK; j++)
      output[i + j] = clamp_grid (round_half_even (input[i + j] / scale) - offset, qmin, qmax);

  for (; i < n; i++)
    output[i] = clamp_grid (round_half_even (input[i] / scale) - offset, qmin, qmax);
}

void
peftq_dequantize_f32 (const float *restrict input,
                      float       *restrict output,
                      gsize                 n,
                      float                 scale,
                      float                 offset)
{
  for (gsize i = 0; i < n; i++)
    output[i] = (input[i] + offset) * scale;
}

/* Layout-aware driver */

typedef struct
{
  const PeftqQdqLayout *layout;
  PeftqQdqOp op;
  const float *input;
  float *output;
  const float *scales;
  const float *offsets;
  float qmin;
  float qmax;
  gboolean use_ref;
} QdqJob;

static void
qdq_range (gsize    begin,
           gsize    end,
           gpointer user_data)
{
  const QdqJob *job = user_data;
  const PeftqQdqLayout *layout = job->layout;
  gsize position = begin;

  while (position < end)
    {
      guint64 run = position / layout->run_length;
      gsize run_end = MIN (end, (gsize) ((run + 1) * layout->run_length));
      guint64 index = peftq_qdq_layout_get_encoding (layout, run);
      float scale = job->scales[index];
      float offset = job->offsets[index];
      const float *in = job->input + position;
      float *out = job->output + position;
      gsize n = run_end - position;

      switch (job->op)
        {
        case PEFTQ_QDQ_OP_QDQ:
          if (job->use_ref)
            peftq_qdq_f32_ref (in, out, n, scale, offset, job->qmin, job->qmax);
          else
            peftq_qdq_f32 (in, out, n, scale, offset, job->qmin, job->qmax);
          break;
        case PEFTQ_QDQ_OP_QUANTIZE:
          if (job->use_ref)
            peftq_quantize_f32_ref (in, out, n, scale, offset, job->qmin, job->qmax);
          else
            peftq_quantize_f32 (in, out, n, scale, offset, job->qmin, job->qmax);
          break;
        case PEFTQ_QDQ_OP_DEQUANTIZE:
        default:
          peftq_dequantize_f32 (in, out, n, scale, offset);
          break;
        }

      position = run_end;
    }
}

void
peftq_qdq_run (const PeftqQdqLayout *layout,
               PeftqQdqOp            op,
               const float          *input,
               float                *output,
               const float          *scales,
               const float          *offsets,
               float                 qmin,
               float                 qmax,
               gboolean              use_ref)
{
  QdqJob job = {
    .layout = layout,
    .op = op,
    .input = input,
    .output = output,
    .scales = scales,
    .offsets = offsets,
    .qmin = qmin,
    .qmax = qmax,
    .use_ref = use_ref,
  };

  if (layout->n_elements == 0)
    return;

  peftq_parallel_for ((gsize) layout->n_elements, QDQ_MIN_CHUNK, qdq_range, &job);
}

void
peftq_qdq_reduce_min_max (const PeftqQdqLayout *layout,
                          const float          *input,
                          float                *mins,
                          float                *maxs,
                          gboolean             *seen,
                          guint64              *n_nonfinite,
                          guint64              *n_near_limit)
{
  const float near_limit = 0.95f * FLT_MAX;
  guint64 nonfinite = 0;
  guint64 near = 0;

  for (guint64 run = 0; run < layout->n_runs; run++)
    {
      guint64 index = peftq_qdq_layout_get_encoding (layout, run);
      const float *data = input + run * layout->run_length;
      float mn = mins[index];
      float mx = maxs[index];
      gboolean found = seen[index];

      for (guint64 i = 0; i < layout->run_length; i++)
        {
          float x = data[i];

          if (!isfinite (x))
            {
              nonfinite++;
              continue;
            }
          if (fabsf (x) >= near_limit)
            near++;
          if (!found)
            {
              mn = x;
              mx = x;
              found = TRUE;
              continue;
            }
          mn = x < mn ? x : mn;
          mx = x > mx ? x : mx;
        }

      mins[index] = mn;
      maxs[index] = mx;
      seen[index] = found;
    }

  *n_nonfinite = nonfinite;
  *n_near_limit = near;
}
