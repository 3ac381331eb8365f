/* SPDX-License-Identifier: MIT */
/* The kernel tests against the avx2 build of the vectorizable kernels alone. The default
 * build picks the widest instruction set of the processor at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PEFTQ_QDQ_FORCE_TARGET "avx2"
#define PEFTQ_QDQ_REQUIRED_CPU "avx2"
#endif
#include "../../peftq/kernels/peftq-qdq.c"
#include "quant-kernels.c"
