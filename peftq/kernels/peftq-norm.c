/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-norm-private.h"
#include "peftq-parallel-private.h"

#include <math.h>

#define MIN_CHUNK_ELEMENTS 8192

typedef struct
{
  const float *x;
  const float *weight;
  const float *bias;
  float eps;
  float *out;
  gsize cols;
} NormJob;

static void
rms_norm_rows (gsize    begin,
               gsize    end,
               gpointer user_data)
{
  const NormJob *job = user_data;
  gsize cols = job->cols;

  for (gsize row = begin; row < end; row++)
    {
      const float *x = job->x + row * cols;
      float *out = job->out + row * cols;
      double sum = 0.0;
      float scale;

      /* The sum runs in double, so its order does not matter at float32 precision. */
      for (gsize j = 0; j < cols; j++)
        sum += (double) x[j] * x[j];
      scale = 1.0f / sqrtf ((float) (sum / (double) cols) + job->eps);

      for (gsize j = 0; j < cols; j++)
        out[j] = job->weight[j] * (x[j] * scale);
    }
}

void
peftq_rms_norm (const float *x,
                const float *weight,
                float        eps,
                float       *out,
                gsize        rows,
                gsize        cols)
{
  NormJob job = { x, weight, NULL, eps, out, cols };

  peftq_parallel_for (rows, MAX (1, MIN_CHUNK_ELEMENTS / MAX (cols, 1)), rms_norm_rows, &job);
}

static void
layer_norm_rows (gsize    begin,
                 gsize    end,
                 gpointer user_data)
{
  const NormJob *job = user_data;
  gsize cols = job->cols;

  for (gsize row = begin; row < end; row++)
    {
      const float *x = job->x + row * cols;
      float *out = job->out + row * cols;
      double sum = 0.0;
      double squares = 0.0;
      float mean;
      float scale;

      for (gsize j = 0; j < cols; j++)
        sum += x[j];
      mean = (float) (sum / (double) cols);
      for (gsize j = 0; j < cols; j++)
        {
          double d = (double) x[j] - mean;
          squares += d * d;
        }
      scale = 1.0f / sqrtf ((float) (squares / (double) cols) + job->eps);

      for (gsize j = 0; j < cols; j++)
        {
          float y = (x[j] - mean) * scale;

          if (job->weight != NULL)
            y *= job->weight[j];
          if (job->bias != NULL)
            y += job->bias[j];
          out[j] = y;
        }
    }
}

void
peftq_layer_norm (const float *x,
                  const float *weight,
                  const float *bias,
                  float        eps,
                  float       *out,
                  gsize        rows,
                  gsize        cols)
{
  NormJob job = { x, weight, bias, eps, out, cols };

  peftq_parallel_for (rows, MAX (1, MIN_CHUNK_ELEMENTS / MAX (cols, 1)), layer_norm_rows, &job);
}
