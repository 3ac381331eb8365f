/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>
#include <math.h>
#include <string.h>

G_BEGIN_DECLS

/* Four floats (and four int32 lanes) in one GCC/Clang vector, an SSE or NEON register. */
typedef float  PeftqVec4  __attribute__ ((vector_size (16)));
typedef gint32 PeftqMask4 __attribute__ ((vector_size (16)));

static inline PeftqVec4
peftq_vec4_load (const float *p)
{
  PeftqVec4 v;

  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
peftq_vec4_store (float     *p,
                  PeftqVec4  v)
{
  memcpy (p, &v, sizeof v);
}

static inline PeftqVec4
peftq_vec4_splat (float value)
{
  PeftqVec4 v = { value, value, value, value };

  return v;
}

static inline PeftqVec4
peftq_vec4_select (PeftqMask4 mask,
                   PeftqVec4  if_true,
                   PeftqVec4  if_false)
{
  return (PeftqVec4) (((PeftqMask4) if_true & mask) | ((PeftqMask4) if_false & ~mask));
}

static inline PeftqVec4
peftq_vec4_max (PeftqVec4 a,
                PeftqVec4 b)
{
  return peftq_vec4_select (a > b, a, b);
}

/* e^x for four lanes, with the polynomial of the Cephes library's expf: a relative
 * error of about 2 ulp for x from -87.3 to 88.7, +inf above, 0 for x = -inf, and
 * e^-87.3 (about 1.2e-38) for other x below -87.3. */
static inline PeftqVec4
peftq_vec4_exp (PeftqVec4 x)
{
  const PeftqVec4 one = peftq_vec4_splat (1.0f);
  PeftqMask4 is_minus_inf = x == peftq_vec4_splat (-INFINITY);
  PeftqMask4 overflows = x > peftq_vec4_splat (88.72283905206835f);
  PeftqVec4 clamped = peftq_vec4_select (x < peftq_vec4_splat (-87.33654475f), peftq_vec4_splat (-87.33654475f), x);
  PeftqVec4 fx;
  PeftqVec4 truncated;
  PeftqVec4 r;
  PeftqVec4 z;
  PeftqVec4 y;
  PeftqMask4 n;
  PeftqVec4 scale;

  clamped = peftq_vec4_select (overflows, peftq_vec4_splat (88.0f), clamped);

  /* n = floor (x / ln 2 + 0.5), then r = x - n · ln 2 with ln 2 split in two parts. */
  fx = clamped * peftq_vec4_splat (1.44269504088896341f) + peftq_vec4_splat (0.5f);
  truncated = __builtin_convertvector (__builtin_convertvector (fx, PeftqMask4), PeftqVec4);
  fx = truncated - peftq_vec4_select (truncated > fx, one, peftq_vec4_splat (0.0f));
  r = clamped - fx * peftq_vec4_splat (0.693359375f) - fx * peftq_vec4_splat (-2.12194440e-4f);

  z = r * r;
  y = peftq_vec4_splat (1.9875691500e-4f);
  y = y * r + peftq_vec4_splat (1.3981999507e-3f);
  y = y * r + peftq_vec4_splat (8.3334519073e-3f);
  y = y * r + peftq_vec4_splat (4.1665795894e-2f);
  y = y * r + peftq_vec4_splat (1.6666665459e-1f);
  y = y * r + peftq_vec4_splat (5.0000001201e-1f);
  y = y * z + r + one;

  /* Multiply by 2^n through the exponent bits. */
  n = __builtin_convertvector (fx, PeftqMask4);
  scale = (PeftqVec4) ((n + 127) << 23);
  y = y * scale;

  y = peftq_vec4_select (overflows, peftq_vec4_splat (INFINITY), y);
  return peftq_vec4_select (is_minus_inf, peftq_vec4_splat (0.0f), y);
}

G_END_DECLS
