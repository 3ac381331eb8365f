/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-softmax-private.h"
#include "peftq-parallel-private.h"
#include "peftq-vector-private.h"

#include <math.h>
#include <string.h>

#define MIN_CHUNK_ELEMENTS 16384

/* out[j] = x[j] + mask[j] for j < n; returns the maximum of out[0 … n). */
static float
add_and_max (const float *x,
             const float *mask,
             float       *out,
             gsize        n)
{
  PeftqVec4 vmax = peftq_vec4_splat (-INFINITY);
  float max = -INFINITY;
  gsize j = 0;

  for (; j + 4 <= n; j += 4)
    {
      PeftqVec4 v = peftq_vec4_load (x + j) + peftq_vec4_load (mask + j);

      peftq_vec4_store (out + j, v);
      vmax = peftq_vec4_max (v, vmax);
    }

  for (guint lane = 0; lane < 4; lane++)
    max = vmax[lane] > max ? vmax[lane] : max;

  for (; j < n; j++)
    {
      out[j] = x[j] + mask[j];
      max = out[j] > max ? out[j] : max;
    }

  return max;
}

static void
scale_in_place (float *out,
                float  factor,
                gsize  n)
{
  PeftqVec4 f = peftq_vec4_splat (factor);
  gsize j = 0;

  for (; j + 4 <= n; j += 4)
    peftq_vec4_store (out + j, peftq_vec4_load (out + j) * f);
  for (; j < n; j++)
    out[j] *= factor;
}

/* out[j] = e^(out[j] - max) for j < n; returns their sum. Every value goes through the
 * same vector exp, the tail too, and the lanes are summed in a fixed order. */
static float
exp_and_sum (float *out,
             float  max,
             gsize  n)
{
  PeftqVec4 shift = peftq_vec4_splat (max);
  PeftqVec4 sums = peftq_vec4_splat (0.0f);
  gsize j = 0;

  for (; j + 4 <= n; j += 4)
    {
      PeftqVec4 e = peftq_vec4_exp (peftq_vec4_load (out + j) - shift);

      peftq_vec4_store (out + j, e);
      sums += e;
    }

  if (j < n)
    {
      float tail[4] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY };
      PeftqVec4 e;

      memcpy (tail, out + j, (n - j) * sizeof (float));
      e = peftq_vec4_exp (peftq_vec4_load (tail) - shift);
      peftq_vec4_store (tail, e);
      memcpy (out + j, tail, (n - j) * sizeof (float));
      sums += e;
    }

  return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

typedef struct
{
  const float *x;
  const float *mask;
  float *out;
  gsize cols;
  gsize period;
  gsize repeat;
  const gsize *limits;  /* per mask row: 1 + the last column that is not -inf, or 0 */
} SoftmaxJob;

static void
softmax_rows (gsize    begin,
              gsize    end,
              gpointer user_data)
{
  const SoftmaxJob *job = user_data;
  gsize cols = job->cols;

  for (gsize row = begin; row < end; row++)
    {
      const float *x = job->x + row * cols;
      float *out = job->out + row * cols;
      float max = -INFINITY;
      float sum = 0.0f;
      float inverse;

      for (gsize j = 0; j < cols; j++)
        max = x[j] > max ? x[j] : max;

      if (max == -INFINITY)
        {
          for (gsize j = 0; j < cols; j++)
            out[j] = 0.0f;
          continue;
        }

      if (out != x)
        memcpy (out, x, cols * sizeof (float));
      sum = exp_and_sum (out, max, cols);

      inverse = 1.0f / sum;
      scale_in_place (out, inverse, cols);
    }
}

void
peftq_softmax (const float *x,
               float       *out,
               gsize        rows,
               gsize        cols)
{
  SoftmaxJob job = { x, NULL, out, cols, 1, 1, NULL };

  peftq_parallel_for (rows, MAX (1, MIN_CHUNK_ELEMENTS / MAX (cols, 1)), softmax_rows, &job);
}

static void
softmax_masked_rows (gsize    begin,
                     gsize    end,
                     gpointer user_data)
{
  const SoftmaxJob *job = user_data;
  gsize cols = job->cols;

  for (gsize row = begin; row < end; row++)
    {
      gsize mask_row = (row / (job->repeat * job->period)) * job->period + row % job->period;
      gsize limit = job->limits[mask_row];
      const float *x = job->x + row * cols;
      const float *mask = job->mask + mask_row * cols;
      float *out = job->out + row * cols;
      float max = -INFINITY;
      float sum = 0.0f;
      float inverse;

      /* Columns from the limit on are masked: their probability is 0 (as the NaN-free
       * result of exp (-inf)), so they are not computed. */
      for (gsize j = limit; j < cols; j++)
        out[j] = 0.0f;

      max = add_and_max (x, mask, out, limit);
      if (max == -INFINITY)
        {
          for (gsize j = 0; j < limit; j++)
            out[j] = 0.0f;
          continue;
        }

      sum = exp_and_sum (out, max, limit);

      inverse = 1.0f / sum;
      scale_in_place (out, inverse, limit);
    }
}

void
peftq_softmax_masked (const float *x,
                      const float *mask,
                      float       *out,
                      gsize        rows,
                      gsize        cols,
                      gsize        period,
                      gsize        repeat)
{
  gsize n_mask_rows;
  g_autofree gsize *limits = NULL;
  SoftmaxJob job = { x, mask, out, cols, MAX (period, 1), MAX (repeat, 1), NULL };

  /* The mask has at most ceil (rows / (period · repeat)) · period rows. */
  n_mask_rows = ((rows + job.period * job.repeat - 1) / (job.period * job.repeat)) * job.period;
  limits = g_new (gsize, MAX (n_mask_rows, 1));
  for (gsize r = 0; r < n_mask_rows; r++)
    {
      gsize limit = cols;

      while (limit > 0 && mask[r * cols + limit - 1] == -INFINITY)
        limit--;
      limits[r] = limit;
    }
  job.limits = limits;

  peftq_parallel_for (rows, MAX (1, MIN_CHUNK_ELEMENTS / MAX (cols, 1)), softmax_masked_rows, &job);
}
