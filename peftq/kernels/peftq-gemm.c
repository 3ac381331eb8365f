/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-gemm-private.h"
#include "peftq-parallel-private.h"
#include "peftq-threads.h"

#include <string.h>

#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif

/* Four floats in one GCC/Clang vector, an SSE or NEON register. */
typedef float PeftqVec4 __attribute__ ((vector_size (16)));

#define TILE_ROWS 4
#define TILE_COLS 16
#define BLOCK_K 256

typedef struct
{
  gsize m, n, k;
  const float *a;
  gsize lda;
  const float *packed_b;  /* op(B) as [k, n], row stride n */
  float beta;
  float *c;
  gsize ldc;
} GemmJob;

static inline PeftqVec4
load4 (const float *p)
{
  PeftqVec4 v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
store4 (float     *p,
        PeftqVec4  v)
{
  memcpy (p, &v, sizeof v);
}

/* C rows [row, row + rows) and columns [col, col + TILE_COLS), one k block. */
static void
tile_full (const GemmJob *job,
           gsize          row,
           gsize          rows,
           gsize          col,
           gsize          k0,
           gsize          k1)
{
  PeftqVec4 acc[TILE_ROWS][4];

  for (gsize r = 0; r < rows; r++)
    for (gsize v = 0; v < 4; v++)
      acc[r][v] = load4 (job->c + (row + r) * job->ldc + col + 4 * v);

  for (gsize kk = k0; kk < k1; kk++)
    {
      const float *bp = job->packed_b + kk * job->n + col;
      PeftqVec4 b0 = load4 (bp);
      PeftqVec4 b1 = load4 (bp + 4);
      PeftqVec4 b2 = load4 (bp + 8);
      PeftqVec4 b3 = load4 (bp + 12);

      for (gsize r = 0; r < rows; r++)
        {
          float av = job->a[(row + r) * job->lda + kk];
          PeftqVec4 a = { av, av, av, av };

          acc[r][0] += a * b0;
          acc[r][1] += a * b1;
          acc[r][2] += a * b2;
          acc[r][3] += a * b3;
        }
    }

  for (gsize r = 0; r < rows; r++)
    for (gsize v = 0; v < 4; v++)
      store4 (job->c + (row + r) * job->ldc + col + 4 * v, acc[r][v]);
}

static void
tile_edge (const GemmJob *job,
           gsize          row,
           gsize          rows,
           gsize          col,
           gsize          cols,
           gsize          k0,
           gsize          k1)
{
  for (gsize r = 0; r < rows; r++)
    {
      float *c_row = job->c + (row + r) * job->ldc;
      const float *a_row = job->a + (row + r) * job->lda;

      for (gsize j = col; j < col + cols; j++)
        {
          float sum = c_row[j];

          for (gsize kk = k0; kk < k1; kk++)
            sum += a_row[kk] * job->packed_b[kk * job->n + j];
          c_row[j] = sum;
        }
    }
}

static void
gemm_rows (gsize    begin,
           gsize    end,
           gpointer user_data)
{
  const GemmJob *job = user_data;

  for (gsize i = begin; i < end; i++)
    {
      float *c_row = job->c + i * job->ldc;

      if (job->beta == 0.0f)
        memset (c_row, 0, job->n * sizeof (float));
      else if (job->beta != 1.0f)
        for (gsize j = 0; j < job->n; j++)
          c_row[j] *= job->beta;
    }

  /* Blocks of k keep a panel of B in cache; each C element still sums k in order. */
  for (gsize k0 = 0; k0 < job->k; k0 += BLOCK_K)
    {
      gsize k1 = MIN (job->k, k0 + BLOCK_K);

      for (gsize row = begin; row < end; row += TILE_ROWS)
        {
          gsize rows = MIN (TILE_ROWS, end - row);
          gsize col = 0;

          for (; col + TILE_COLS <= job->n; col += TILE_COLS)
            tile_full (job, row, rows, col, k0, k1);
          if (col < job->n)
            tile_edge (job, row, rows, col, job->n - col, k0, k1);
        }
    }
}

/* Returns op(B) as a [k, n] matrix with row stride n: B itself when it already is one,
 * otherwise a copy that the caller frees (*owned). */
static const float *
pack_b (gboolean     trans_b,
        gsize        n,
        gsize        k,
        const float *b,
        gsize        ldb,
        float      **owned)
{
  float *packed;

  *owned = NULL;
  if (!trans_b && ldb == n)
    return b;

  packed = g_new (float, n * k);
  if (trans_b)
    {
      for (gsize j = 0; j < n; j++)
        for (gsize kk = 0; kk < k; kk++)
          packed[kk * n + j] = b[j * ldb + kk];
    }
  else
    {
      for (gsize kk = 0; kk < k; kk++)
        memcpy (packed + kk * n, b + kk * ldb, n * sizeof (float));
    }

  *owned = packed;
  return packed;
}

static void
gemm_portable (gboolean     parallel,
               gboolean     trans_b,
               gsize        m,
               gsize        n,
               gsize        k,
               const float *a,
               gsize        lda,
               const float *b,
               gsize        ldb,
               float        beta,
               float       *c,
               gsize        ldc)
{
  g_autofree float *owned = NULL;
  GemmJob job;

  if (m == 0 || n == 0)
    return;

  job.m = m;
  job.n = n;
  job.k = k;
  job.a = a;
  job.lda = lda;
  job.packed_b = pack_b (trans_b, n, k, b, ldb, &owned);
  job.beta = beta;
  job.c = c;
  job.ldc = ldc;

  if (parallel)
    peftq_parallel_for (m, MAX (TILE_ROWS, 16384 / MAX (n * k / 64, 1)), gemm_rows, &job);
  else
    gemm_rows (0, m, &job);
}

void
peftq_gemm_portable (gboolean     trans_b,
                     gsize        m,
                     gsize        n,
                     gsize        k,
                     const float *a,
                     gsize        lda,
                     const float *b,
                     gsize        ldb,
                     float        beta,
                     float       *c,
                     gsize        ldc)
{
  gemm_portable (TRUE, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

void
peftq_gemm_serial (gboolean     trans_b,
                   gsize        m,
                   gsize        n,
                   gsize        k,
                   const float *a,
                   gsize        lda,
                   const float *b,
                   gsize        ldb,
                   float        beta,
                   float       *c,
                   gsize        ldc)
{
  gemm_portable (FALSE, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

#ifdef HAVE_OPENBLAS
/* OpenBLAS splits a product differently for different thread counts, and the sums then
 * differ in the last bits. So OpenBLAS runs on one thread per call, and peftq splits C
 * into blocks of a fixed size, independent of the thread count, across its own threads. */
#define BLAS_BLOCK_ROWS 128
#define BLAS_BLOCK_COLS 256

typedef struct
{
  gboolean trans_b;
  gboolean split_rows;
  gsize m, n, k;
  const float *a;
  gsize lda;
  const float *b;
  gsize ldb;
  float beta;
  float *c;
  gsize ldc;
} BlasJob;

static void
blas_blocks (gsize    begin,
             gsize    end,
             gpointer user_data)
{
  const BlasJob *job = user_data;

  for (gsize block = begin; block < end; block++)
    {
      if (job->split_rows)
        {
          gsize row = block * BLAS_BLOCK_ROWS;
          gsize rows = MIN (BLAS_BLOCK_ROWS, job->m - row);

          cblas_sgemm (CblasRowMajor, CblasNoTrans, job->trans_b ? CblasTrans : CblasNoTrans,
                       (blasint) rows, (blasint) job->n, (blasint) job->k, 1.0f,
                       job->a + row * job->lda, (blasint) job->lda, job->b, (blasint) job->ldb,
                       job->beta, job->c + row * job->ldc, (blasint) job->ldc);
        }
      else
        {
          gsize col = block * BLAS_BLOCK_COLS;
          gsize cols = MIN (BLAS_BLOCK_COLS, job->n - col);
          const float *b = job->trans_b ? job->b + col * job->ldb : job->b + col;

          cblas_sgemm (CblasRowMajor, CblasNoTrans, job->trans_b ? CblasTrans : CblasNoTrans,
                       (blasint) job->m, (blasint) cols, (blasint) job->k, 1.0f,
                       job->a, (blasint) job->lda, b, (blasint) job->ldb,
                       job->beta, job->c + col, (blasint) job->ldc);
        }
    }
}

static gpointer
init_openblas (gpointer data)
{
  openblas_set_num_threads (1);
  return NULL;
}
#endif

void
peftq_gemm (gboolean     trans_b,
            gsize        m,
            gsize        n,
            gsize        k,
            const float *a,
            gsize        lda,
            const float *b,
            gsize        ldb,
            float        beta,
            float       *c,
            gsize        ldc)
{
#ifdef HAVE_OPENBLAS
  if (m == 0 || n == 0)
    return;

  if (k == 0)
    {
      /* C = beta · C, where beta 0 also clears NaN garbage. */
      for (gsize i = 0; i < m; i++)
        for (gsize j = 0; j < n; j++)
          c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
      return;
    }

  {
    static GOnce once = G_ONCE_INIT;
    BlasJob job = { trans_b, m >= 2 * BLAS_BLOCK_ROWS || n < 2 * BLAS_BLOCK_COLS,
                    m, n, k, a, lda, b, ldb, beta, c, ldc };
    gsize n_blocks = job.split_rows
      ? (m + BLAS_BLOCK_ROWS - 1) / BLAS_BLOCK_ROWS
      : (n + BLAS_BLOCK_COLS - 1) / BLAS_BLOCK_COLS;

    g_once (&once, init_openblas, NULL);
    peftq_parallel_for (n_blocks, 1, blas_blocks, &job);
  }
#else
  peftq_gemm_portable (trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
#endif
}
