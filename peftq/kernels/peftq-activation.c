/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-activation-private.h"
#include "peftq-parallel-private.h"

#include <math.h>

#define MIN_CHUNK 8192

typedef struct
{
  PeftqUnaryOp op;
  const float *x;
  float *out;
} UnaryJob;

static void
unary_range (gsize    begin,
             gsize    end,
             gpointer user_data)
{
  const UnaryJob *job = user_data;
  const float *x = job->x;
  float *out = job->out;

  switch (job->op)
    {
    case PEFTQ_UNARY_SILU:
      for (gsize i = begin; i < end; i++)
        out[i] = x[i] / (1.0f + expf (-x[i]));
      break;

    case PEFTQ_UNARY_GELU:
      for (gsize i = begin; i < end; i++)
        out[i] = 0.5f * x[i] * (1.0f + erff (x[i] * 0.70710678118654752f));
      break;

    case PEFTQ_UNARY_GELU_TANH:
      /* 0.5 x (1 + tanh (sqrt (2/π) (x + 0.044715 x³))), as PyTorch's approximate="tanh". */
      for (gsize i = begin; i < end; i++)
        {
          float v = x[i];
          float inner = 0.7978845608028654f * (v + 0.044715f * v * v * v);

          out[i] = 0.5f * v * (1.0f + tanhf (inner));
        }
      break;

    case PEFTQ_UNARY_RELU:
      for (gsize i = begin; i < end; i++)
        out[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;

    default:
      g_assert_not_reached ();
    }
}

void
peftq_unary (PeftqUnaryOp  op,
             const float  *x,
             float        *out,
             gsize         n)
{
  UnaryJob job = { op, x, out };

  peftq_parallel_for (n, MIN_CHUNK, unary_range, &job);
}
