/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-rope-private.h"
#include "peftq-parallel-private.h"

#include <math.h>

typedef struct
{
  const float *x;
  float *out;
  gsize heads;
  gsize tokens;
  gsize head_dim;
  const float *cos_table;  /* [batch or 1, tokens, head_dim / 2] */
  const float *sin_table;
  gboolean per_batch;
} RopeJob;

/* Each item is one (batch, head) pair. */
static void
rope_heads (gsize    begin,
            gsize    end,
            gpointer user_data)
{
  const RopeJob *job = user_data;
  gsize half = job->head_dim / 2;

  for (gsize item = begin; item < end; item++)
    {
      gsize b = item / job->heads;
      gsize table_offset = job->per_batch ? b * job->tokens * half : 0;

      for (gsize t = 0; t < job->tokens; t++)
        {
          const float *x = job->x + (item * job->tokens + t) * job->head_dim;
          float *out = job->out + (item * job->tokens + t) * job->head_dim;
          const float *c = job->cos_table + table_offset + t * half;
          const float *s = job->sin_table + table_offset + t * half;

          for (gsize i = 0; i < half; i++)
            {
              float x1 = x[i];
              float x2 = x[i + half];

              /* q · cos + rotate_half (q) · sin, where rotate_half (q) = [-x2, x1]. */
              out[i] = x1 * c[i] - x2 * s[i];
              out[i + half] = x2 * c[i] + x1 * s[i];
            }
        }
    }
}

void
peftq_rope (const float  *x,
            float        *out,
            gsize         batch,
            gsize         heads,
            gsize         tokens,
            gsize         head_dim,
            const gint64 *positions,
            gboolean      per_batch,
            float         theta)
{
  gsize half = head_dim / 2;
  gsize n_rows = (per_batch ? batch : 1) * tokens;
  g_autofree float *inv_freq = g_new (float, MAX (half, 1));
  g_autofree float *cos_table = g_new (float, MAX (n_rows * half, 1));
  g_autofree float *sin_table = g_new (float, MAX (n_rows * half, 1));
  RopeJob job;

  /* inv_freq = 1 / theta^(2i / d) in float32, then angle = float (position) · inv_freq
   * in float32, as Hugging Face's LlamaRotaryEmbedding computes them. */
  for (gsize i = 0; i < half; i++)
    inv_freq[i] = 1.0f / powf (theta, (float) (2 * i) / (float) head_dim);

  for (gsize row = 0; row < n_rows; row++)
    for (gsize i = 0; i < half; i++)
      {
        float angle = (float) positions[row] * inv_freq[i];

        cos_table[row * half + i] = (float) cos ((double) angle);
        sin_table[row * half + i] = (float) sin ((double) angle);
      }

  job.x = x;
  job.out = out;
  job.heads = heads;
  job.tokens = tokens;
  job.head_dim = head_dim;
  job.cos_table = cos_table;
  job.sin_table = sin_table;
  job.per_batch = per_batch;

  peftq_parallel_for (batch * heads, MAX (1, 8192 / MAX (tokens * head_dim, 1)), rope_heads, &job);
}
