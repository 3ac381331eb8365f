/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-encoding-analyzer.h"

#include "peftq-encoding-analyzer-private.h"
#include "peftq-encoding-private.h"
#include "peftq-error.h"
#include "peftq-tensor-private.h"

#include <float.h>
#include <math.h>
#include <string.h>

/**
 * PeftqEncodingAnalyzer:
 *
 * The abstract base class of encoding analyzers, which turn observed tensors into
 * quantization ranges.
 *
 * An analyzer has an encoding shape, per tensor by default (see
 * [method@Peftq.EncodingAnalyzer.set_shape]). [method@Peftq.EncodingAnalyzer.observe]
 * reduces each observed tensor over the axes where the shape is 1 (or over the elements
 * of each block) and accumulates statistics for every encoding value.
 * [method@Peftq.EncodingAnalyzer.compute_encoding] turns the statistics into an encoding.
 *
 * NaN and infinite values are skipped, with one warning per observed tensor that
 * contains them; values within 5 % of the float32 limit also give a warning, as in
 * AIMET. Subclasses: [class@Peftq.MinMaxAnalyzer], [class@Peftq.PercentileAnalyzer] and
 * [class@Peftq.SqnrAnalyzer].
 *
 * Since: 1.0
 */

typedef struct
{
  guint rank;
  gint64 shape[PEFTQ_ENCODING_MAX_RANK];
  guint n_block_size;
  gint64 block_size[PEFTQ_ENCODING_MAX_RANK];
  gsize n_encodings;
  char *label;
} PeftqEncodingAnalyzerPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (PeftqEncodingAnalyzer, peftq_encoding_analyzer, G_TYPE_OBJECT)

static void
peftq_encoding_analyzer_finalize (GObject *object)
{
  PeftqEncodingAnalyzer *self = PEFTQ_ENCODING_ANALYZER (object);
  PeftqEncodingAnalyzerPrivate *priv = peftq_encoding_analyzer_get_instance_private (self);

  g_free (priv->label);

  G_OBJECT_CLASS (peftq_encoding_analyzer_parent_class)->finalize (object);
}

static void
peftq_encoding_analyzer_class_init (PeftqEncodingAnalyzerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = peftq_encoding_analyzer_finalize;
}

static void
peftq_encoding_analyzer_init (PeftqEncodingAnalyzer *self)
{
  PeftqEncodingAnalyzerPrivate *priv = peftq_encoding_analyzer_get_instance_private (self);

  priv->n_encodings = 1;
}

/**
 * peftq_encoding_analyzer_set_shape:
 * @self: an encoding analyzer
 * @shape: (array length=rank) (nullable): the encoding shape, aligned with observed
 *   tensors from the last axis; 0 dimensions for per tensor
 * @rank: the number of dimensions of @shape
 * @block_size: (array length=n_block_size) (nullable): the block size on each axis for
 *   blockwise encodings (-1 for "input size / encoding size"), or `NULL`
 * @n_block_size: the number of entries of @block_size: 0 or @rank
 * @error: return location for a #GError
 *
 * Sets the encoding shape and drops all statistics. A quantizer sets the shape of the
 * analyzer it uses to its own.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when the shape is invalid
 *
 * Since: 1.0
 */
gboolean
peftq_encoding_analyzer_set_shape (PeftqEncodingAnalyzer  *self,
                                   const gint64           *shape,
                                   guint                   rank,
                                   const gint64           *block_size,
                                   guint                   n_block_size,
                                   GError                **error)
{
  PeftqEncodingAnalyzerPrivate *priv = peftq_encoding_analyzer_get_instance_private (self);
  g_autoptr(PeftqEncoding) probe = NULL;
  float zero = 0.0f;
  float one = 1.0f;

  g_return_val_if_fail (PEFTQ_IS_ENCODING_ANALYZER (self), FALSE);
  g_return_val_if_fail (shape != NULL || rank == 0, FALSE);
  g_return_val_if_fail (block_size != NULL || n_block_size == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* An encoding of this shape validates the shape and counts its elements. */
  probe = peftq_encoding_new (shape, rank, block_size, n_block_size, &zero, 1, &one, 1, 8,
                              FALSE, FALSE, error);
  if (probe == NULL)
    return FALSE;

  priv->rank = rank;
  if (rank > 0)
    memcpy (priv->shape, shape, rank * sizeof (gint64));
  priv->n_block_size = n_block_size;
  if (n_block_size > 0)
    memcpy (priv->block_size, block_size, n_block_size * sizeof (gint64));
  priv->n_encodings = peftq_encoding_get_n_values (probe);

  peftq_encoding_analyzer_reset (self);
  return TRUE;
}

/**
 * peftq_encoding_analyzer_get_shape:
 * @self: an encoding analyzer
 * @rank: (out): return location for the number of dimensions
 *
 * Returns the encoding shape.
 *
 * Returns: (array length=rank) (transfer none): the shape
 *
 * Since: 1.0
 */
const gint64 *
peftq_encoding_analyzer_get_shape (PeftqEncodingAnalyzer *self,
                                   guint                 *rank)
{
  PeftqEncodingAnalyzerPrivate *priv = peftq_encoding_analyzer_get_instance_private (self);

  g_return_val_if_fail (PEFTQ_IS_ENCODING_ANALYZER (self), NULL);
  g_return_val_if_fail (rank != NULL, NULL);

  *rank = priv->rank;
  return priv->shape;
}

/**
 * peftq_encoding_analyzer_get_block_size:
 * @self: an encoding analyzer
 * @n_block_size: (out): return location for the number of entries, 0 when not blockwise
 *
 * Returns the block size of blockwise encodings.
 *
 * Returns: (array length=n_block_size) (transfer none): the block size
 *
 * Since: 1.0
 */
const gint64 *
peftq_encoding_analyzer_get_block_size (PeftqEncodingAnalyzer *self,
                                        guint                 *n_block_size)
{
  PeftqEncodingAnalyzerPrivate *priv = peftq_encoding_analyzer_get_instance_private (self);

  g_return_val_if_fail (PEFTQ_IS_ENCODING_ANALYZER (self), NULL);
  g_return_val_if_fail (n_block_size != NULL, NULL);

  *n_block_size = priv->n_block_size;
  return priv->block_size;
}

/**
 * peftq_encoding_analyzer_get_n_encodings:
 * @self: an encoding analyzer
 *
 * Returns the number of encoding values, the element count of the shape.
 *
 * Returns: the number of encoding values
 *
 * Since: 1.0
 */
gsize
peftq_encoding_analyzer_get_n_encodings (PeftqEncodingAnalyzer *self)
{
  PeftqEncodingAnalyzerPrivate *priv = peftq_encoding_analyzer_get_instance_private (self);

  g_return_val_if_fail (PEFTQ_IS_ENCODING_ANALYZER (self), 0);

  return priv->n_encodings;
}

/**
 * peftq_encoding_analyzer_reset:
 * @self: an encoding analyzer
 *
 * Drops all statistics, as at the start of a calibration.
 *
 * Since: 1.0
 */
void
peftq_encoding_analyzer_reset (PeftqEncodingAnalyzer *self)
{
  g_return_if_fail (PEFTQ_IS_ENCODING_ANALYZER (self));

  PEFTQ_ENCODING_ANALYZER_GET_CLASS (self)->reset (self);
}

/**
 * peftq_encoding_analyzer_observe:
 * @self: an encoding analyzer
 * @input: a tensor; other dtypes than float32 are converted to float32
 * @error: return location for a #GError
 *
 * Adds the finite values of @input to the statistics.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when @input does not fit the
 *   encoding shape
 *
 * Since: 1.0
 */
gboolean
peftq_encoding_analyzer_observe (PeftqEncodingAnalyzer  *self,
                                 PeftqTensor            *input,
                                 GError                **error)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODING_ANALYZER (self), FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (input), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return PEFTQ_ENCODING_ANALYZER_GET_CLASS (self)->observe (self, input, error);
}

/**
 * peftq_encoding_analyzer_has_statistics:
 * @self: an encoding analyzer
 *
 * Returns whether a finite value was observed since the last reset.
 *
 * Returns: `TRUE` when [method@Peftq.EncodingAnalyzer.compute_encoding] has data
 *
 * Since: 1.0
 */
gboolean
peftq_encoding_analyzer_has_statistics (PeftqEncodingAnalyzer *self)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODING_ANALYZER (self), FALSE);

  return PEFTQ_ENCODING_ANALYZER_GET_CLASS (self)->has_statistics (self);
}

/**
 * peftq_encoding_analyzer_compute_encoding:
 * @self: an encoding analyzer
 * @bitwidth: the bitwidth of the grid
 * @symmetric: whether the encoding is symmetric
 * @is_signed: whether the grid is signed
 * @error: return location for a #GError
 *
 * Computes an encoding of the analyzer's shape from the statistics. Without statistics
 * there is no encoding: the result is `NULL` and @error stays unset, and a quantizer
 * then keeps its previous state. Encoding values that saw no finite value use the range
 * [0, 0], which the analyzers widen to the minimum range.
 *
 * Returns: (transfer full) (nullable): the encoding, or `NULL` without statistics or
 *   with @error set on an invalid bitwidth
 *
 * Since: 1.0
 */
PeftqEncoding *
peftq_encoding_analyzer_compute_encoding (PeftqEncodingAnalyzer  *self,
                                          guint                   bitwidth,
                                          gboolean                symmetric,
                                          gboolean                is_signed,
                                          GError                **error)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODING_ANALYZER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_encoding_check_bitwidth (bitwidth, error))
    return NULL;
  if (!peftq_encoding_analyzer_has_statistics (self))
    return NULL;

  return PEFTQ_ENCODING_ANALYZER_GET_CLASS (self)->compute_encoding (self, bitwidth,
                                                                      symmetric, is_signed,
                                                                      error);
}

/* Private helpers for the subclasses */

void
peftq_encoding_analyzer_set_label (PeftqEncodingAnalyzer *self,
                                   const char            *label)
{
  PeftqEncodingAnalyzerPrivate *priv = peftq_encoding_analyzer_get_instance_private (self);

  g_free (priv->label);
  priv->label = g_strdup (label);
}

gboolean
peftq_encoding_analyzer_prepare_input (PeftqEncodingAnalyzer  *self,
                                       PeftqTensor            *input,
                                       PeftqQdqLayout         *layout,
                                       const float           **data,
                                       PeftqTensor           **converted,
                                       GError                **error)
{
  PeftqEncodingAnalyzerPrivate *priv = peftq_encoding_analyzer_get_instance_private (self);
  const gint64 *input_shape;
  guint input_rank = 0;
  PeftqTensor *source = input;

  *converted = NULL;
  *data = NULL;

  input_shape = peftq_tensor_get_shape (input, &input_rank);
  if (!peftq_qdq_layout_init (layout, input_shape, input_rank, priv->shape, priv->rank,
                              priv->n_block_size > 0 ? priv->block_size : NULL, error))
    {
      if (priv->label != NULL)
        g_prefix_error (error, "Quantizer %s: ", priv->label);
      return FALSE;
    }

  if (peftq_tensor_get_dtype (input) != PEFTQ_DTYPE_F32 || peftq_tensor_peek_f32 (input) == NULL)
    {
      *converted = peftq_tensor_to_float32 (input, error);
      if (*converted == NULL)
        return FALSE;
      source = *converted;
    }

  *data = peftq_tensor_peek_f32 (source);
  return TRUE;
}

void
peftq_encoding_analyzer_warn_values (PeftqEncodingAnalyzer *self,
                                     guint64                n_nonfinite,
                                     guint64                n_near_limit)
{
  PeftqEncodingAnalyzerPrivate *priv = peftq_encoding_analyzer_get_instance_private (self);
  const char *label = priv->label != NULL ? priv->label : G_OBJECT_TYPE_NAME (self);

  if (n_nonfinite > 0)
    g_warning ("%s: skipped %" G_GUINT64_FORMAT " NaN or infinite values while observing "
               "statistics; %" G_GUINT64_FORMAT " values were within 5%% of the float32 limit",
               label, n_nonfinite, n_near_limit);
  else if (n_near_limit > 0)
    g_warning ("%s: %" G_GUINT64_FORMAT " observed values are within 5%% of the float32 "
               "limit, so the range may be clamped", label, n_near_limit);
}

void
peftq_encoding_analyzer_adjust_range (float     mn,
                                      float     mx,
                                      guint     bitwidth,
                                      gboolean  symmetric,
                                      float    *out_min,
                                      float    *out_max)
{
  const float eps = PEFTQ_ENCODING_MIN_SCALE;
  const float limit = FLT_MAX / 2;
  float num_steps = (float) (((guint64) 1 << bitwidth) - 1);
  float steps_below = ceilf (num_steps / 2);
  float steps_above = floorf (num_steps / 2);
  float adj;
  float lo;
  float hi;

  mn = mn < 0.0f ? mn : 0.0f;
  mx = mx > 0.0f ? mx : 0.0f;
  adj = (mx - mn) / num_steps < eps ? eps : 0.0f;

  if (!symmetric)
    {
      lo = mn;
      hi = mx + num_steps * adj;
    }
  else
    {
      float delta;

      hi = mx + steps_above * adj;
      lo = mn - steps_below * adj;
      /* With 1 bit there is no step above zero, and only the lower side sets delta. */
      delta = -lo / steps_below;
      if (steps_above > 0.0f)
        delta = MAX (hi / steps_above, delta);
      lo = -steps_below * delta;
      hi = steps_above * delta;
    }

  /* AIMET clamps to FLT_MAX, where max - min overflows to an infinite scale; half the
   * limit keeps the width finite. */
  *out_min = lo < -limit ? -limit : lo;
  *out_max = hi > limit ? limit : hi;
}

PeftqEncoding *
peftq_encoding_analyzer_build_encoding (PeftqEncodingAnalyzer  *self,
                                        const float            *min,
                                        const float            *max,
                                        guint                   bitwidth,
                                        gboolean                symmetric,
                                        gboolean                is_signed,
                                        GError                **error)
{
  PeftqEncodingAnalyzerPrivate *priv = peftq_encoding_analyzer_get_instance_private (self);
  PeftqEncoding *encoding;

  encoding = peftq_encoding_new (priv->shape, priv->rank,
                                 priv->n_block_size > 0 ? priv->block_size : NULL,
                                 priv->n_block_size,
                                 min, priv->n_encodings, max, priv->n_encodings,
                                 bitwidth, symmetric, is_signed, error);
  if (encoding == NULL && priv->label != NULL)
    g_prefix_error (error, "Quantizer %s: ", priv->label);

  return encoding;
}
