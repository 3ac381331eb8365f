/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "peftq-version-macros.h"

G_BEGIN_DECLS

/* These functions are exported from the shared library, but not declared in a public
 * header, so that the C tests can call them. */

/* Row-major matrix product C = A · op(B) + beta · C, where A is [m, k] with row stride
 * @lda, op(B) is B [k, n] or, with @trans_b, the transpose of B [n, k], with row stride
 * @ldb, and C is [m, n] with row stride @ldc. @beta is 0 (C is overwritten, and may hold
 * garbage) or 1 (accumulate). Uses cblas_sgemm when peftq is built with OpenBLAS and the
 * blocked portable kernel otherwise. Every element of C sums over k in one fixed order
 * per build, so the result does not depend on the thread count. */
_PEFTQ_EXTERN void peftq_gemm (gboolean     trans_b,
                 gsize        m,
                 gsize        n,
                 gsize        k,
                 const float *a,
                 gsize        lda,
                 const float *b,
                 gsize        ldb,
                 float        beta,
                 float       *c,
                 gsize        ldc);

/* The portable blocked kernel, split across peftq's threads. Exposed for tests. */
_PEFTQ_EXTERN void peftq_gemm_portable (gboolean     trans_b,
                          gsize        m,
                          gsize        n,
                          gsize        k,
                          const float *a,
                          gsize        lda,
                          const float *b,
                          gsize        ldb,
                          float        beta,
                          float       *c,
                          gsize        ldc);

/* The portable kernel on the calling thread only, for callers that already run inside
 * peftq_parallel_for (such as attention, one head per task). */
_PEFTQ_EXTERN void peftq_gemm_serial (gboolean     trans_b,
                        gsize        m,
                        gsize        n,
                        gsize        k,
                        const float *a,
                        gsize        lda,
                        const float *b,
                        gsize        ldb,
                        float        beta,
                        float       *c,
                        gsize        ldc);

G_END_DECLS
