/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-encoding.h"

#include "peftq-encoding-private.h"
#include "peftq-error.h"

#include <math.h>
#include <string.h>

/**
 * PeftqEncoding:
 *
 * The quantization parameters of one quantizer: an immutable, reference-counted record.
 *
 * An encoding holds one value of scale and offset per element of its shape: one for a
 * per-tensor quantizer, one per channel or one per block otherwise, in row-major order.
 * It is built from a range (`min`, `max`) and a grid, as AIMET's affine quantizer does,
 * all in float32:
 *
 * - the grid is `[qmin, qmax]` = `[-2^(b-1), 2^(b-1) - 1]` when signed, `[0, 2^b - 1]`
 *   otherwise, and `num_steps = qmax - qmin`;
 * - `scale = (max - min) / num_steps`;
 * - `offset = 0` when symmetric, otherwise `round(min / scale) - qmin`, rounding half to
 *   even.
 *
 * The represented range, which files store as `min` and `max`, is
 * `scale * (offset + qmin)` to `scale * (offset + qmax)`
 * ([method@Peftq.Encoding.get_min] and [method@Peftq.Encoding.get_max]); the range that
 * built the encoding is kept as [method@Peftq.Encoding.get_range_min] and
 * [method@Peftq.Encoding.get_range_max]. Files store the legacy offset `offset + qmin`
 * ([method@Peftq.Encoding.get_legacy_offset]).
 *
 * Since: 1.0
 */

struct _PeftqEncoding
{
  gatomicrefcount ref_count;

  guint rank;
  gint64 shape[PEFTQ_ENCODING_MAX_RANK];
  guint n_block_size;
  gint64 block_size[PEFTQ_ENCODING_MAX_RANK];

  guint bitwidth;
  gboolean symmetric;
  gboolean is_signed;
  gint64 qmin;
  gint64 qmax;

  gsize n_values;
  float *range_min;
  float *range_max;
  float *scale;
  float *offset;
  gint32 *legacy_offset;
  float *min;
  float *max;
};

G_DEFINE_BOXED_TYPE (PeftqEncoding, peftq_encoding, peftq_encoding_ref, peftq_encoding_unref)

void
peftq_encoding_get_grid (guint     bitwidth,
                         gboolean  is_signed,
                         gint64   *qmin,
                         gint64   *qmax)
{
  if (is_signed)
    {
      *qmin = -((gint64) 1 << (bitwidth - 1));
      *qmax = ((gint64) 1 << (bitwidth - 1)) - 1;
    }
  else
    {
      *qmin = 0;
      *qmax = ((gint64) 1 << bitwidth) - 1;
    }
}

gboolean
peftq_encoding_check_bitwidth (guint    bitwidth,
                               GError **error)
{
  if (bitwidth < 1)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Invalid bitwidth %u: it must be at least 1", bitwidth);
      return FALSE;
    }
  if (bitwidth > PEFTQ_ENCODING_MAX_BITWIDTH)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "Unsupported bitwidth %u: float32 holds the integer grid exactly only up "
                   "to %u bits", bitwidth, PEFTQ_ENCODING_MAX_BITWIDTH);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_shape (const gint64  *shape,
             guint          rank,
             const gint64  *block_size,
             guint          n_block_size,
             gsize         *n_values,
             GError       **error)
{
  gsize count = 1;

  if (rank > PEFTQ_ENCODING_MAX_RANK)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "Encodings of %u dimensions are not supported, at most %u",
                   rank, PEFTQ_ENCODING_MAX_RANK);
      return FALSE;
    }
  if (n_block_size != 0 && n_block_size != rank)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "The block size has %u entries but the encoding shape has %u",
                   n_block_size, rank);
      return FALSE;
    }
  for (guint i = 0; i < rank; i++)
    {
      if (shape[i] < 1 || shape[i] > G_MAXINT32 || count > G_MAXINT32 / (gsize) shape[i])
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "Invalid encoding dimension %" G_GINT64_FORMAT " at axis %u",
                       shape[i], i);
          return FALSE;
        }
      count *= (gsize) shape[i];
    }
  for (guint i = 0; i < n_block_size; i++)
    {
      if (block_size[i] != -1 && block_size[i] < 1)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "Invalid block size %" G_GINT64_FORMAT " at axis %u: it must be "
                       "positive or -1", block_size[i], i);
          return FALSE;
        }
    }

  *n_values = count;
  return TRUE;
}

static void
encoding_free (PeftqEncoding *self)
{
  g_free (self->range_min);
  g_free (self->range_max);
  g_free (self->scale);
  g_free (self->offset);
  g_free (self->legacy_offset);
  g_free (self->min);
  g_free (self->max);
  g_free (self);
}

/**
 * peftq_encoding_new:
 * @shape: (array length=rank) (nullable): the encoding shape; 0 dimensions for per
 *   tensor, the channel count on the channel axis and 1 elsewhere for per channel
 * @rank: the number of dimensions of @shape
 * @block_size: (array length=n_block_size) (nullable): the block size on each axis, -1
 *   for "input size / encoding size", or `NULL` when the encoding is not blockwise
 * @n_block_size: the number of entries of @block_size: 0 or @rank
 * @min: (array length=n_min): the range minimum, one value or one per element of @shape
 * @n_min: the number of values in @min
 * @max: (array length=n_max): the range maximum, one value or one per element of @shape
 * @n_max: the number of values in @max
 * @bitwidth: the bitwidth, 1 to 24
 * @symmetric: whether the offset is fixed at 0
 * @is_signed: whether the grid is `[-2^(b-1), 2^(b-1) - 1]` rather than `[0, 2^b - 1]`
 * @error: return location for a #GError
 *
 * Builds an encoding from a range, computing scale and offset in float32 as the type
 * description states. A single @min or @max value is broadcast to all elements.
 *
 * Unlike AIMET's `set_range`, this rejects ranges that would give a NaN, infinite or zero
 * scale: a non-finite bound, `min > max`, a range whose width overflows float32, or one
 * too narrow for a positive scale.
 *
 * Returns: (transfer full): the new encoding, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqEncoding *
peftq_encoding_new (const gint64   *shape,
                    guint           rank,
                    const gint64   *block_size,
                    guint           n_block_size,
                    const float    *min,
                    gsize           n_min,
                    const float    *max,
                    gsize           n_max,
                    guint           bitwidth,
                    gboolean        symmetric,
                    gboolean        is_signed,
                    GError        **error)
{
  g_autoptr(PeftqEncoding) self = NULL;
  gsize n_values = 0;
  float num_steps;
  float qmin_f;
  float qmax_f;

  g_return_val_if_fail (shape != NULL || rank == 0, NULL);
  g_return_val_if_fail (block_size != NULL || n_block_size == 0, NULL);
  g_return_val_if_fail (min != NULL && max != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_shape (shape, rank, block_size, n_block_size, &n_values, error))
    return NULL;
  if (!peftq_encoding_check_bitwidth (bitwidth, error))
    return NULL;
  if ((n_min != 1 && n_min != n_values) || (n_max != 1 && n_max != n_values))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "Got %" G_GSIZE_FORMAT " minimum and %" G_GSIZE_FORMAT " maximum values "
                   "for %" G_GSIZE_FORMAT " encodings; give 1 or %" G_GSIZE_FORMAT " of each",
                   n_min, n_max, n_values, n_values);
      return NULL;
    }

  self = g_new0 (PeftqEncoding, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->rank = rank;
  if (rank > 0)
    memcpy (self->shape, shape, rank * sizeof (gint64));
  self->n_block_size = n_block_size;
  if (n_block_size > 0)
    memcpy (self->block_size, block_size, n_block_size * sizeof (gint64));
  self->bitwidth = bitwidth;
  self->symmetric = symmetric;
  self->is_signed = is_signed;
  peftq_encoding_get_grid (bitwidth, is_signed, &self->qmin, &self->qmax);
  self->n_values = n_values;
  self->range_min = g_new (float, n_values);
  self->range_max = g_new (float, n_values);
  self->scale = g_new (float, n_values);
  self->offset = g_new (float, n_values);
  self->legacy_offset = g_new (gint32, n_values);
  self->min = g_new (float, n_values);
  self->max = g_new (float, n_values);

  qmin_f = (float) self->qmin;
  qmax_f = (float) self->qmax;
  num_steps = (float) (self->qmax - self->qmin);

  for (gsize i = 0; i < n_values; i++)
    {
      float lo = min[n_min == 1 ? 0 : i];
      float hi = max[n_max == 1 ? 0 : i];
      float scale;
      float offset;
      float legacy;

      if (!isfinite (lo) || !isfinite (hi))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "Invalid range [%g, %g] of encoding %" G_GSIZE_FORMAT ": the bounds "
                       "must be finite", lo, hi, i);
          return NULL;
        }
      if (lo > hi)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "Invalid range [%g, %g] of encoding %" G_GSIZE_FORMAT ": the minimum "
                       "is greater than the maximum", lo, hi, i);
          return NULL;
        }

      scale = (hi - lo) / num_steps;
      if (!isfinite (scale) || !(scale > 0.0f))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "Invalid range [%g, %g] of encoding %" G_GSIZE_FORMAT ": its width "
                       "gives the scale %g, which must be positive and finite",
                       lo, hi, i, scale);
          return NULL;
        }

      offset = symmetric ? 0.0f : nearbyintf (lo / scale) - qmin_f;
      legacy = offset + qmin_f;
      if (!(fabsf (legacy) <= (float) G_MAXINT32 / 2))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "Invalid range [%g, %g] of encoding %" G_GSIZE_FORMAT ": it lies too "
                       "far from zero for its width (offset %g)", lo, hi, i, legacy);
          return NULL;
        }

      self->range_min[i] = lo;
      self->range_max[i] = hi;
      self->scale[i] = scale;
      self->offset[i] = offset;
      self->legacy_offset[i] = (gint32) legacy;
      self->min[i] = scale * (offset + qmin_f);
      self->max[i] = scale * (offset + qmax_f);
    }

  return g_steal_pointer (&self);
}

/**
 * peftq_encoding_new_per_tensor:
 * @min: the range minimum
 * @max: the range maximum
 * @bitwidth: the bitwidth, 1 to 24
 * @symmetric: whether the offset is fixed at 0; a symmetric encoding uses the signed
 *   grid and an asymmetric one the unsigned grid, as AIMET's constructor does
 * @error: return location for a #GError
 *
 * Builds a per-tensor encoding from a range. See [ctor@Peftq.Encoding.new].
 *
 * Returns: (transfer full): the new encoding, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqEncoding *
peftq_encoding_new_per_tensor (float    min,
                               float    max,
                               guint    bitwidth,
                               gboolean symmetric,
                               GError **error)
{
  return peftq_encoding_new (NULL, 0, NULL, 0, &min, 1, &max, 1, bitwidth, symmetric,
                             symmetric, error);
}

/**
 * peftq_encoding_ref:
 * @self: an encoding
 *
 * Acquires a reference on @self.
 *
 * Returns: (transfer full): @self
 *
 * Since: 1.0
 */
PeftqEncoding *
peftq_encoding_ref (PeftqEncoding *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * peftq_encoding_unref:
 * @self: (transfer full): an encoding
 *
 * Releases a reference on @self, freeing it when the last reference goes.
 *
 * Since: 1.0
 */
void
peftq_encoding_unref (PeftqEncoding *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    encoding_free (self);
}

/**
 * peftq_encoding_get_n_values:
 * @self: an encoding
 *
 * Returns the number of encoding values: the element count of the shape.
 *
 * Returns: the number of values, 1 for a per-tensor encoding
 *
 * Since: 1.0
 */
gsize
peftq_encoding_get_n_values (PeftqEncoding *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_values;
}

/**
 * peftq_encoding_get_shape:
 * @self: an encoding
 * @rank: (out): return location for the number of dimensions
 *
 * Returns the shape of the encoding values.
 *
 * Returns: (array length=rank) (transfer none): the shape, valid as long as @self
 *
 * Since: 1.0
 */
const gint64 *
peftq_encoding_get_shape (PeftqEncoding *self,
                          guint         *rank)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (rank != NULL, NULL);

  *rank = self->rank;
  return self->shape;
}

/**
 * peftq_encoding_get_block_size:
 * @self: an encoding
 * @n_block_size: (out): return location for the number of entries, 0 when the encoding
 *   is not blockwise
 *
 * Returns the block size on each axis of a blockwise encoding.
 *
 * Returns: (array length=n_block_size) (transfer none): the block size
 *
 * Since: 1.0
 */
const gint64 *
peftq_encoding_get_block_size (PeftqEncoding *self,
                               guint         *n_block_size)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (n_block_size != NULL, NULL);

  *n_block_size = self->n_block_size;
  return self->block_size;
}

/**
 * peftq_encoding_get_bitwidth:
 * @self: an encoding
 *
 * Returns the bitwidth of the integer grid.
 *
 * Returns: the bitwidth
 *
 * Since: 1.0
 */
guint
peftq_encoding_get_bitwidth (PeftqEncoding *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->bitwidth;
}

/**
 * peftq_encoding_get_symmetric:
 * @self: an encoding
 *
 * Returns whether the offset is fixed at 0.
 *
 * Returns: `TRUE` for a symmetric encoding
 *
 * Since: 1.0
 */
gboolean
peftq_encoding_get_symmetric (PeftqEncoding *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->symmetric;
}

/**
 * peftq_encoding_get_signed:
 * @self: an encoding
 *
 * Returns whether the grid is signed, `[-2^(b-1), 2^(b-1) - 1]`.
 *
 * Returns: `TRUE` for a signed grid
 *
 * Since: 1.0
 */
gboolean
peftq_encoding_get_signed (PeftqEncoding *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->is_signed;
}

/**
 * peftq_encoding_get_qmin:
 * @self: an encoding
 *
 * Returns the lowest integer of the grid.
 *
 * Returns: `qmin`
 *
 * Since: 1.0
 */
gint64
peftq_encoding_get_qmin (PeftqEncoding *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->qmin;
}

/**
 * peftq_encoding_get_qmax:
 * @self: an encoding
 *
 * Returns the highest integer of the grid.
 *
 * Returns: `qmax`
 *
 * Since: 1.0
 */
gint64
peftq_encoding_get_qmax (PeftqEncoding *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->qmax;
}

#define DEFINE_ARRAY_GETTER(name, type, field)                     \
  const type *                                                     \
  peftq_encoding_get_##name (PeftqEncoding *self,                  \
                             gsize         *n_values)              \
  {                                                                \
    g_return_val_if_fail (self != NULL, NULL);                     \
    g_return_val_if_fail (n_values != NULL, NULL);                 \
                                                                   \
    *n_values = self->n_values;                                    \
    return self->field;                                            \
  }

/**
 * peftq_encoding_get_scale:
 * @self: an encoding
 * @n_values: (out): return location for the number of values
 *
 * Returns the scale of each encoding value.
 *
 * Returns: (array length=n_values) (transfer none): the scales
 *
 * Since: 1.0
 */
DEFINE_ARRAY_GETTER (scale, float, scale)

/**
 * peftq_encoding_get_offset:
 * @self: an encoding
 * @n_values: (out): return location for the number of values
 *
 * Returns the offset of each encoding value as the quantizer applies it:
 * `q = clamp(round(x / scale) - offset, qmin, qmax)`. It is 0 for symmetric encodings
 * and `round(min / scale) - qmin` otherwise.
 *
 * Returns: (array length=n_values) (transfer none): the offsets
 *
 * Since: 1.0
 */
DEFINE_ARRAY_GETTER (offset, float, offset)

/**
 * peftq_encoding_get_legacy_offset:
 * @self: an encoding
 * @n_values: (out): return location for the number of values
 *
 * Returns the offsets that encodings files store: `offset + qmin`, for example -128 for
 * a signed symmetric 8-bit encoding.
 *
 * Returns: (array length=n_values) (transfer none): the legacy offsets
 *
 * Since: 1.0
 */
DEFINE_ARRAY_GETTER (legacy_offset, gint32, legacy_offset)

/**
 * peftq_encoding_get_min:
 * @self: an encoding
 * @n_values: (out): return location for the number of values
 *
 * Returns the lowest value that each encoding represents, `scale * (offset + qmin)`, as
 * files store it. It can differ slightly from the range minimum.
 *
 * Returns: (array length=n_values) (transfer none): the represented minimums
 *
 * Since: 1.0
 */
DEFINE_ARRAY_GETTER (min, float, min)

/**
 * peftq_encoding_get_max:
 * @self: an encoding
 * @n_values: (out): return location for the number of values
 *
 * Returns the highest value that each encoding represents, `scale * (offset + qmax)`.
 *
 * Returns: (array length=n_values) (transfer none): the represented maximums
 *
 * Since: 1.0
 */
DEFINE_ARRAY_GETTER (max, float, max)

/**
 * peftq_encoding_get_range_min:
 * @self: an encoding
 * @n_values: (out): return location for the number of values
 *
 * Returns the range minimum that built the encoding.
 *
 * Returns: (array length=n_values) (transfer none): the range minimums
 *
 * Since: 1.0
 */
DEFINE_ARRAY_GETTER (range_min, float, range_min)

/**
 * peftq_encoding_get_range_max:
 * @self: an encoding
 * @n_values: (out): return location for the number of values
 *
 * Returns the range maximum that built the encoding.
 *
 * Returns: (array length=n_values) (transfer none): the range maximums
 *
 * Since: 1.0
 */
DEFINE_ARRAY_GETTER (range_max, float, range_max)

/**
 * peftq_encoding_equal:
 * @self: an encoding
 * @other: another encoding
 *
 * Compares two encodings: the shape, block size, grid, symmetry and the bits of every
 * range value must be equal. Everything else derives from those.
 *
 * Returns: `TRUE` when the encodings are equal
 *
 * Since: 1.0
 */
gboolean
peftq_encoding_equal (PeftqEncoding *self,
                      PeftqEncoding *other)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (other != NULL, FALSE);

  if (self == other)
    return TRUE;

  return self->rank == other->rank &&
         memcmp (self->shape, other->shape, self->rank * sizeof (gint64)) == 0 &&
         self->n_block_size == other->n_block_size &&
         memcmp (self->block_size, other->block_size, self->n_block_size * sizeof (gint64)) == 0 &&
         self->bitwidth == other->bitwidth &&
         !self->symmetric == !other->symmetric &&
         !self->is_signed == !other->is_signed &&
         self->n_values == other->n_values &&
         memcmp (self->range_min, other->range_min, self->n_values * sizeof (float)) == 0 &&
         memcmp (self->range_max, other->range_max, self->n_values * sizeof (float)) == 0;
}

/**
 * peftq_encoding_reshape:
 * @self: an encoding
 * @shape: (array length=rank) (nullable): the new shape, with the same element count
 * @rank: the number of dimensions of @shape
 * @block_size: (array length=n_block_size) (nullable): the new block size, or `NULL`
 * @n_block_size: the number of entries of @block_size: 0 or @rank
 * @error: return location for a #GError
 *
 * Builds an encoding with the same values and grid under another shape, for example to
 * give the flat per-channel list of a file the shape of a quantizer.
 *
 * Returns: (transfer full): the new encoding, or `NULL` with @error set when the
 *   element counts differ
 *
 * Since: 1.0
 */
PeftqEncoding *
peftq_encoding_reshape (PeftqEncoding  *self,
                        const gint64   *shape,
                        guint           rank,
                        const gint64   *block_size,
                        guint           n_block_size,
                        GError        **error)
{
  gsize n_values = 0;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (shape != NULL || rank == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_shape (shape, rank, block_size, n_block_size, &n_values, error))
    return NULL;
  if (n_values != self->n_values)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "The encoding has %" G_GSIZE_FORMAT " values but the shape needs %"
                   G_GSIZE_FORMAT, self->n_values, n_values);
      return NULL;
    }

  return peftq_encoding_new (shape, rank, block_size, n_block_size,
                             self->range_min, self->n_values,
                             self->range_max, self->n_values,
                             self->bitwidth, self->symmetric, self->is_signed, error);
}

/**
 * peftq_encoding_with_grid:
 * @self: an encoding
 * @bitwidth: the new bitwidth
 * @symmetric: the new symmetry
 * @is_signed: the new signedness
 * @error: return location for a #GError
 *
 * Builds an encoding with the same shape and range on another grid, as AIMET does when
 * a quantizer's bitwidth, symmetry or signedness changes: the scale becomes
 * `(max - min) / num_steps` of the new grid.
 *
 * Returns: (transfer full): the new encoding, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqEncoding *
peftq_encoding_with_grid (PeftqEncoding  *self,
                          guint           bitwidth,
                          gboolean        symmetric,
                          gboolean        is_signed,
                          GError        **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return peftq_encoding_new (self->shape, self->rank, self->block_size, self->n_block_size,
                             self->range_min, self->n_values,
                             self->range_max, self->n_values,
                             bitwidth, symmetric, is_signed, error);
}
