/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-elementwise-private.h"
#include "peftq-parallel-private.h"

/* Elements per task: smaller chunks cost more in thread handoffs than they save. */
#define MIN_CHUNK 16384

typedef struct
{
  PeftqBinaryOp op;
  const float *a;
  const float *b;
  float scalar;
  float *out;
} BinaryJob;

static void
binary_same_range (gsize    begin,
                   gsize    end,
                   gpointer user_data)
{
  const BinaryJob *job = user_data;
  const float *a = job->a;
  const float *b = job->b;
  float *out = job->out;

  if (job->op == PEFTQ_BINARY_ADD)
    for (gsize i = begin; i < end; i++)
      out[i] = a[i] + b[i];
  else
    for (gsize i = begin; i < end; i++)
      out[i] = a[i] * b[i];
}

void
peftq_binary_same (PeftqBinaryOp  op,
                   const float   *a,
                   const float   *b,
                   float         *out,
                   gsize          n)
{
  BinaryJob job = { op, a, b, 0.0f, out };

  peftq_parallel_for (n, MIN_CHUNK, binary_same_range, &job);
}

static void
binary_scalar_range (gsize    begin,
                     gsize    end,
                     gpointer user_data)
{
  const BinaryJob *job = user_data;
  const float *a = job->a;
  float s = job->scalar;
  float *out = job->out;

  if (job->op == PEFTQ_BINARY_ADD)
    for (gsize i = begin; i < end; i++)
      out[i] = a[i] + s;
  else
    for (gsize i = begin; i < end; i++)
      out[i] = a[i] * s;
}

void
peftq_binary_scalar (PeftqBinaryOp  op,
                     const float   *a,
                     float          scalar,
                     float         *out,
                     gsize          n)
{
  BinaryJob job = { op, a, NULL, scalar, out };

  peftq_parallel_for (n, MIN_CHUNK, binary_scalar_range, &job);
}

typedef struct
{
  PeftqBinaryOp op;
  const float *a;
  const float *b;
  float *out;
  guint rank;
  gint64 out_shape[PEFTQ_MAX_BROADCAST_RANK];
  gsize a_strides[PEFTQ_MAX_BROADCAST_RANK];
  gsize b_strides[PEFTQ_MAX_BROADCAST_RANK];
} BroadcastJob;

/* Each item is one row of the output's last dimension. */
static void
broadcast_rows (gsize    begin,
                gsize    end,
                gpointer user_data)
{
  const BroadcastJob *job = user_data;
  guint last = job->rank - 1;
  gsize width = (gsize) job->out_shape[last];
  gsize a_step = job->a_strides[last];
  gsize b_step = job->b_strides[last];

  for (gsize row = begin; row < end; row++)
    {
      gsize a_offset = 0;
      gsize b_offset = 0;
      gsize rest = row;
      float *out = job->out + row * width;

      for (guint axis = last; axis > 0; axis--)
        {
          gsize index = rest % (gsize) job->out_shape[axis - 1];

          rest /= (gsize) job->out_shape[axis - 1];
          a_offset += index * job->a_strides[axis - 1];
          b_offset += index * job->b_strides[axis - 1];
        }

      for (gsize j = 0; j < width; j++)
        {
          float x = job->a[a_offset + j * a_step];
          float y = job->b[b_offset + j * b_step];

          out[j] = job->op == PEFTQ_BINARY_ADD ? x + y : x * y;
        }
    }
}

static void
compute_strides (const gint64 *shape,
                 guint         rank,
                 gsize        *strides)
{
  gsize stride = 1;

  for (guint axis = rank; axis > 0; axis--)
    {
      strides[axis - 1] = shape[axis - 1] == 1 ? 0 : stride;
      stride *= (gsize) shape[axis - 1];
    }
}

void
peftq_binary_broadcast (PeftqBinaryOp  op,
                        const float   *a,
                        const gint64  *a_shape,
                        const float   *b,
                        const gint64  *b_shape,
                        float         *out,
                        const gint64  *out_shape,
                        guint          rank)
{
  BroadcastJob job = { 0 };
  gsize n_rows = 1;

  g_return_if_fail (rank >= 1 && rank <= PEFTQ_MAX_BROADCAST_RANK);

  job.op = op;
  job.a = a;
  job.b = b;
  job.out = out;
  job.rank = rank;
  for (guint axis = 0; axis < rank; axis++)
    job.out_shape[axis] = out_shape[axis];
  compute_strides (a_shape, rank, job.a_strides);
  compute_strides (b_shape, rank, job.b_strides);

  for (guint axis = 0; axis + 1 < rank; axis++)
    n_rows *= (gsize) out_shape[axis];
  if (out_shape[rank - 1] == 0)
    return;

  peftq_parallel_for (n_rows, MAX (1, MIN_CHUNK / (gsize) out_shape[rank - 1]), broadcast_rows, &job);
}
