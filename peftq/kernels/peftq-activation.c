/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-activation-private.h"
#include "peftq-parallel-private.h"
#include "peftq-vector-private.h"

#include <math.h>

#define MIN_CHUNK 16384

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
      {
        /* Every value, the tail too, goes through the same vector exp, so a value's
         * result does not depend on where a thread's chunk starts. */
        const PeftqVec4 one = peftq_vec4_splat (1.0f);
        gsize i = begin;

        for (; i + 4 <= end; i += 4)
          {
            PeftqVec4 v = peftq_vec4_load (x + i);

            peftq_vec4_store (out + i, v / (one + peftq_vec4_exp (-v)));
          }

        if (i < end)
          {
            float tail[4] = { 0, 0, 0, 0 };
            PeftqVec4 v;

            memcpy (tail, x + i, (end - i) * sizeof (float));
            v = peftq_vec4_load (tail);
            peftq_vec4_store (tail, v / (one + peftq_vec4_exp (-v)));
            memcpy (out + i, tail, (end - i) * sizeof (float));
          }
      }
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
