/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-softmax-private.h"
#include "peftq-parallel-private.h"

#include <math.h>

#define MIN_CHUNK_ELEMENTS 8192

typedef struct
{
  const float *x;
  float *out;
  gsize cols;
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

      for (gsize j = 0; j < cols; j++)
        {
          out[j] = expf (x[j] - max);
          sum += out[j];
        }

      inverse = 1.0f / sum;
      for (gsize j = 0; j < cols; j++)
        out[j] *= inverse;
    }
}

void
peftq_softmax (const float *x,
               float       *out,
               gsize        rows,
               gsize        cols)
{
  SoftmaxJob job = { x, out, cols };

  peftq_parallel_for (rows, MAX (1, MIN_CHUNK_ELEMENTS / MAX (cols, 1)), softmax_rows, &job);
}
