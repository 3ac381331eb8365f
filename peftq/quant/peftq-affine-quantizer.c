/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-affine-quantizer.h"

#include "peftq-encoding-analyzer-private.h"
#include "peftq-encoding-private.h"
#include "peftq-error.h"
#include "peftq-min-max-analyzer.h"
#include "peftq-qdq.h"
#include "peftq-tensor-private.h"

#include <string.h>

/**
 * PeftqAffineQuantizer:
 *
 * An affine quantize-dequantize quantizer, AIMET's v2 `QuantizeDequantize`.
 *
 * The quantizer has an encoding shape, fixed at construction: per tensor (no
 * dimensions), per channel (the channel count on the channel axis and 1 elsewhere, so
 * that a Linear weight of shape (out, in) uses (out, 1)), or blockwise with a block size
 * per axis. The shape is aligned with the input from the last axis.
 *
 * Its grid comes from [property@Peftq.AffineQuantizer:bitwidth] and
 * [property@Peftq.AffineQuantizer:signed]: `[-2^(b-1), 2^(b-1) - 1]` or `[0, 2^b - 1]`. A
 * quantizer built with a bitwidth and a symmetry uses the signed grid when symmetric and
 * the unsigned grid otherwise, as AIMET does.
 *
 * A quantizer without an encoding is uninitialized. It gets an encoding from a
 * calibration ([method@Peftq.AffineQuantizer.begin_calibration],
 * [method@Peftq.AffineQuantizer.observe] on each batch, then
 * [method@Peftq.AffineQuantizer.end_calibration]), from
 * [method@Peftq.AffineQuantizer.set_range] or from
 * [method@Peftq.AffineQuantizer.set_encoding]. Quantize-dequantize then computes, in
 * float32 with rounding half to even:
 *
 * ```
 * q   = clamp(round(x / scale) - offset, qmin, qmax)
 * out = (q + offset) * scale
 * ```
 *
 * Inputs of other dtypes are converted to float32, and results are float32 tensors.
 *
 * Changing the bitwidth, symmetry or signedness of an initialized quantizer keeps its
 * range and recomputes the encoding on the new grid. A quantizer whose
 * [property@Peftq.AffineQuantizer:allow-overwrite] is `FALSE` (frozen) keeps its
 * encoding through calibrations and keeps quantizing while the others observe.
 *
 * Since: 1.0
 */

struct _PeftqAffineQuantizer
{
  PeftqQuantizer parent_instance;

  guint rank;
  gint64 shape[PEFTQ_ENCODING_MAX_RANK];
  guint n_block_size;
  gint64 block_size[PEFTQ_ENCODING_MAX_RANK];
  gsize n_encodings;

  guint bitwidth;
  gboolean symmetric;
  gboolean is_signed;
  gboolean signed_set;
  gboolean enabled;
  gboolean allow_overwrite;

  PeftqEncoding *encoding;
  PeftqEncodingAnalyzer *analyzer;
  gboolean calibrating;
  gboolean observing;
};

G_DEFINE_FINAL_TYPE (PeftqAffineQuantizer, peftq_affine_quantizer, PEFTQ_TYPE_QUANTIZER)

enum
{
  PROP_0,
  PROP_SHAPE,
  PROP_BLOCK_SIZE,
  PROP_BITWIDTH,
  PROP_SYMMETRIC,
  PROP_SIGNED,
  PROP_ENABLED,
  PROP_ALLOW_OVERWRITE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_ENCODING_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *
quantizer_label (PeftqAffineQuantizer *self)
{
  const char *name = peftq_quantizer_get_name (PEFTQ_QUANTIZER (self));

  return name != NULL ? name : "(unnamed)";
}

/* Stores @encoding (or NULL) and emits encoding-changed when it differs from the current
 * one. Takes ownership of @encoding. */
static void
replace_encoding (PeftqAffineQuantizer *self,
                  PeftqEncoding        *encoding)
{
  gboolean changed;

  if (self->encoding == NULL || encoding == NULL)
    changed = self->encoding != encoding;
  else
    changed = !peftq_encoding_equal (self->encoding, encoding);

  if (!changed)
    {
      g_clear_pointer (&encoding, peftq_encoding_unref);
      return;
    }

  g_clear_pointer (&self->encoding, peftq_encoding_unref);
  self->encoding = encoding;
  g_signal_emit (self, signals[SIGNAL_ENCODING_CHANGED], 0);
}

/* Moves the encoding to the current grid after a property change. */
static void
regrid_encoding (PeftqAffineQuantizer *self)
{
  g_autoptr(GError) error = NULL;
  PeftqEncoding *encoding;

  if (self->encoding == NULL)
    return;

  encoding = peftq_encoding_with_grid (self->encoding, self->bitwidth, self->symmetric,
                                       self->is_signed, &error);
  if (encoding == NULL)
    {
      /* The range was valid on the old grid, so this needs a range near the float32
       * limit; the quantizer becomes uninitialized instead of keeping a stale grid. */
      g_warning ("Quantizer %s: clearing its encoding because the range does not fit the "
                 "new grid: %s", quantizer_label (self), error->message);
    }
  replace_encoding (self, encoding);
}

static void
peftq_affine_quantizer_dispose (GObject *object)
{
  PeftqAffineQuantizer *self = PEFTQ_AFFINE_QUANTIZER (object);

  g_clear_object (&self->analyzer);

  G_OBJECT_CLASS (peftq_affine_quantizer_parent_class)->dispose (object);
}

static void
peftq_affine_quantizer_finalize (GObject *object)
{
  PeftqAffineQuantizer *self = PEFTQ_AFFINE_QUANTIZER (object);

  g_clear_pointer (&self->encoding, peftq_encoding_unref);

  G_OBJECT_CLASS (peftq_affine_quantizer_parent_class)->finalize (object);
}

static GVariant *
shape_to_variant (const gint64 *values,
                  guint         n_values)
{
  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, values, n_values, sizeof (gint64));
}

static void
peftq_affine_quantizer_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  PeftqAffineQuantizer *self = PEFTQ_AFFINE_QUANTIZER (object);

  switch (prop_id)
    {
    case PROP_SHAPE:
      g_value_set_variant (value, shape_to_variant (self->shape, self->rank));
      break;
    case PROP_BLOCK_SIZE:
      g_value_set_variant (value, self->n_block_size > 0
                                  ? shape_to_variant (self->block_size, self->n_block_size)
                                  : NULL);
      break;
    case PROP_BITWIDTH:
      g_value_set_uint (value, self->bitwidth);
      break;
    case PROP_SYMMETRIC:
      g_value_set_boolean (value, self->symmetric);
      break;
    case PROP_SIGNED:
      g_value_set_boolean (value, self->is_signed);
      break;
    case PROP_ENABLED:
      g_value_set_boolean (value, self->enabled);
      break;
    case PROP_ALLOW_OVERWRITE:
      g_value_set_boolean (value, self->allow_overwrite);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
copy_shape_variant (GVariant *variant,
                    gint64   *values,
                    guint    *n_values)
{
  gsize n = 0;
  const gint64 *data;

  *n_values = 0;
  if (variant == NULL)
    return;

  data = g_variant_get_fixed_array (variant, &n, sizeof (gint64));
  if (n > PEFTQ_ENCODING_MAX_RANK)
    {
      g_critical ("An encoding shape of %" G_GSIZE_FORMAT " dimensions is not supported, "
                  "at most %u", n, PEFTQ_ENCODING_MAX_RANK);
      return;
    }
  if (n > 0)
    memcpy (values, data, n * sizeof (gint64));
  *n_values = (guint) n;
}

static void
peftq_affine_quantizer_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  PeftqAffineQuantizer *self = PEFTQ_AFFINE_QUANTIZER (object);
  g_autoptr(GError) error = NULL;

  switch (prop_id)
    {
    case PROP_SHAPE:
      copy_shape_variant (g_value_get_variant (value), self->shape, &self->rank);
      break;
    case PROP_BLOCK_SIZE:
      copy_shape_variant (g_value_get_variant (value), self->block_size, &self->n_block_size);
      break;
    case PROP_BITWIDTH:
      if (!peftq_affine_quantizer_set_bitwidth (self, g_value_get_uint (value), &error))
        g_warning ("Quantizer %s: %s", quantizer_label (self), error->message);
      break;
    case PROP_SYMMETRIC:
      peftq_affine_quantizer_set_symmetric (self, g_value_get_boolean (value));
      break;
    case PROP_SIGNED:
      peftq_affine_quantizer_set_signed (self, g_value_get_boolean (value));
      break;
    case PROP_ENABLED:
      peftq_affine_quantizer_set_enabled (self, g_value_get_boolean (value));
      break;
    case PROP_ALLOW_OVERWRITE:
      peftq_affine_quantizer_set_allow_overwrite (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
validate_shape (const gint64  *shape,
                guint          rank,
                const gint64  *block_size,
                guint          n_block_size,
                gsize         *n_encodings,
                GError       **error)
{
  g_autoptr(PeftqEncoding) probe = NULL;
  float zero = 0.0f;
  float one = 1.0f;

  probe = peftq_encoding_new (shape, rank, block_size, n_block_size, &zero, 1, &one, 1, 8,
                              FALSE, FALSE, error);
  if (probe == NULL)
    return FALSE;

  *n_encodings = peftq_encoding_get_n_values (probe);
  return TRUE;
}

static void
peftq_affine_quantizer_constructed (GObject *object)
{
  PeftqAffineQuantizer *self = PEFTQ_AFFINE_QUANTIZER (object);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqEncodingAnalyzer) analyzer = NULL;

  G_OBJECT_CLASS (peftq_affine_quantizer_parent_class)->constructed (object);

  if (!validate_shape (self->shape, self->rank, self->block_size, self->n_block_size,
                       &self->n_encodings, &error))
    {
      g_critical ("Quantizer %s: %s; using a per-tensor shape", quantizer_label (self),
                  error->message);
      g_clear_error (&error);
      self->rank = 0;
      self->n_block_size = 0;
      self->n_encodings = 1;
    }

  if (!self->signed_set)
    self->is_signed = self->symmetric;

  analyzer = peftq_min_max_analyzer_new ();
  if (!peftq_affine_quantizer_set_encoding_analyzer (self, analyzer, &error))
    g_critical ("Quantizer %s: %s", quantizer_label (self), error->message);
}

static PeftqTensor *
peftq_affine_quantizer_forward (PeftqQuantizer  *quantizer,
                                PeftqTensor     *input,
                                GError         **error)
{
  PeftqAffineQuantizer *self = PEFTQ_AFFINE_QUANTIZER (quantizer);

  /* A disabled quantizer behaves as an absent one does in AIMET: it neither observes nor
   * quantizes. */
  if (!self->enabled)
    return g_object_ref (input);

  if (self->observing)
    {
      if (!peftq_affine_quantizer_observe (self, input, error))
        return NULL;
      return g_object_ref (input);
    }

  return peftq_affine_quantizer_quantize_dequantize (self, input, error);
}

static void
peftq_affine_quantizer_class_init (PeftqAffineQuantizerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PeftqQuantizerClass *quantizer_class = PEFTQ_QUANTIZER_CLASS (klass);

  object_class->dispose = peftq_affine_quantizer_dispose;
  object_class->finalize = peftq_affine_quantizer_finalize;
  object_class->get_property = peftq_affine_quantizer_get_property;
  object_class->set_property = peftq_affine_quantizer_set_property;
  object_class->constructed = peftq_affine_quantizer_constructed;
  quantizer_class->forward = peftq_affine_quantizer_forward;

  /**
   * PeftqAffineQuantizer:shape:
   *
   * The encoding shape as a `GVariant` of type `ax`: empty for per tensor, the channel
   * count on the channel axis and 1 elsewhere for per channel.
   *
   * Since: 1.0
   */
  properties[PROP_SHAPE] =
    g_param_spec_variant ("shape", NULL, NULL,
                          G_VARIANT_TYPE ("ax"), NULL,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqAffineQuantizer:block-size:
   *
   * The block size of a blockwise quantizer as a `GVariant` of type `ax`, one entry per
   * axis of the shape (-1 for "input size / encoding size"), or `NULL`.
   *
   * Since: 1.0
   */
  properties[PROP_BLOCK_SIZE] =
    g_param_spec_variant ("block-size", NULL, NULL,
                          G_VARIANT_TYPE ("ax"), NULL,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqAffineQuantizer:bitwidth:
   *
   * The bitwidth of the integer grid, 1 to 24.
   *
   * Since: 1.0
   */
  properties[PROP_BITWIDTH] =
    g_param_spec_uint ("bitwidth", NULL, NULL,
                       1, PEFTQ_ENCODING_MAX_BITWIDTH, 8,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * PeftqAffineQuantizer:symmetric:
   *
   * Whether the offset is fixed at 0. Changing it does not change the grid.
   *
   * Since: 1.0
   */
  properties[PROP_SYMMETRIC] =
    g_param_spec_boolean ("symmetric", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  /**
   * PeftqAffineQuantizer:signed:
   *
   * Whether the grid is `[-2^(b-1), 2^(b-1) - 1]` rather than `[0, 2^b - 1]`. When not
   * given at construction it equals [property@Peftq.AffineQuantizer:symmetric].
   *
   * Since: 1.0
   */
  properties[PROP_SIGNED] =
    g_param_spec_boolean ("signed", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqAffineQuantizer:enabled:
   *
   * Whether [method@Peftq.Quantizer.forward] quantizes or, during a calibration,
   * observes. A disabled quantizer passes its input through in both cases, like a
   * quantizer slot that AIMET leaves empty.
   *
   * Since: 1.0
   */
  properties[PROP_ENABLED] =
    g_param_spec_boolean ("enabled", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqAffineQuantizer:allow-overwrite:
   *
   * Whether a calibration may replace an existing encoding. `FALSE` freezes the
   * quantizer: it keeps its encoding, and keeps quantizing, through calibrations.
   * [method@Peftq.AffineQuantizer.set_range] and
   * [method@Peftq.AffineQuantizer.set_encoding] still apply.
   *
   * Since: 1.0
   */
  properties[PROP_ALLOW_OVERWRITE] =
    g_param_spec_boolean ("allow-overwrite", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PeftqAffineQuantizer::encoding-changed:
   * @self: the quantizer
   *
   * Emitted once whenever the encoding changes: computed by a calibration, set by
   * [method@Peftq.AffineQuantizer.set_range] or
   * [method@Peftq.AffineQuantizer.set_encoding], moved to a new grid by a bitwidth,
   * symmetry or signedness change, or cleared. It is not emitted when the new encoding
   * equals the old one.
   *
   * Since: 1.0
   */
  signals[SIGNAL_ENCODING_CHANGED] =
    g_signal_new ("encoding-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
peftq_affine_quantizer_init (PeftqAffineQuantizer *self)
{
  self->bitwidth = 8;
  self->enabled = TRUE;
  self->allow_overwrite = TRUE;
  self->n_encodings = 1;
}

/**
 * peftq_affine_quantizer_new:
 * @bitwidth: the bitwidth, 1 to 24
 * @symmetric: whether the quantizer is symmetric (with a signed grid) or asymmetric
 *   (with an unsigned grid)
 *
 * Creates a per-tensor quantizer with a min-max analyzer.
 *
 * Returns: (transfer full): the new quantizer
 *
 * Since: 1.0
 */
PeftqAffineQuantizer *
peftq_affine_quantizer_new (guint    bitwidth,
                            gboolean symmetric)
{
  g_return_val_if_fail (bitwidth >= 1 && bitwidth <= PEFTQ_ENCODING_MAX_BITWIDTH, NULL);

  return g_object_new (PEFTQ_TYPE_AFFINE_QUANTIZER,
                       "bitwidth", bitwidth,
                       "symmetric", symmetric,
                       NULL);
}

/**
 * peftq_affine_quantizer_new_per_channel:
 * @bitwidth: the bitwidth, 1 to 24
 * @symmetric: whether the quantizer is symmetric (with a signed grid)
 * @n_channels: the number of channels
 * @axis: the channel axis of the inputs
 * @rank: the number of dimensions of the inputs
 * @error: return location for a #GError
 *
 * Creates a per-channel quantizer for inputs of @rank dimensions, with one encoding per
 * index of @axis. For a Linear weight (out, in) use axis 0 and rank 2, which gives the
 * shape (out, 1).
 *
 * Returns: (transfer full): the new quantizer, or `NULL` with @error set when @axis is
 *   not below @rank or the arguments are out of range
 *
 * Since: 1.0
 */
PeftqAffineQuantizer *
peftq_affine_quantizer_new_per_channel (guint     bitwidth,
                                        gboolean  symmetric,
                                        gint64    n_channels,
                                        guint     axis,
                                        guint     rank,
                                        GError  **error)
{
  gint64 shape[PEFTQ_ENCODING_MAX_RANK];

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (rank == 0 || rank > PEFTQ_ENCODING_MAX_RANK || axis >= rank)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Invalid channel axis %u for inputs of %u dimensions", axis, rank);
      return NULL;
    }

  for (guint i = 0; i < rank; i++)
    shape[i] = i == axis ? n_channels : 1;

  return peftq_affine_quantizer_new_full (shape, rank, NULL, 0, bitwidth, symmetric, error);
}

/**
 * peftq_affine_quantizer_new_full:
 * @shape: (array length=rank) (nullable): the encoding shape
 * @rank: the number of dimensions of @shape
 * @block_size: (array length=n_block_size) (nullable): the block size on each axis
 *   (-1 for "input size / encoding size"), or `NULL` when not blockwise
 * @n_block_size: the number of entries of @block_size: 0 or @rank
 * @bitwidth: the bitwidth, 1 to 24
 * @symmetric: whether the quantizer is symmetric (with a signed grid)
 * @error: return location for a #GError
 *
 * Creates a quantizer of any encoding shape, as AIMET's
 * `QuantizeDequantize(shape, bitwidth, symmetric, block_size=...)`.
 *
 * Returns: (transfer full): the new quantizer, or `NULL` with @error set when the shape,
 *   block size or bitwidth is invalid
 *
 * Since: 1.0
 */
PeftqAffineQuantizer *
peftq_affine_quantizer_new_full (const gint64  *shape,
                                 guint          rank,
                                 const gint64  *block_size,
                                 guint          n_block_size,
                                 guint          bitwidth,
                                 gboolean       symmetric,
                                 GError       **error)
{
  gsize n_encodings = 0;

  g_return_val_if_fail (shape != NULL || rank == 0, NULL);
  g_return_val_if_fail (block_size != NULL || n_block_size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_encoding_check_bitwidth (bitwidth, error))
    return NULL;
  if (!validate_shape (shape, rank, block_size, n_block_size, &n_encodings, error))
    return NULL;

  return g_object_new (PEFTQ_TYPE_AFFINE_QUANTIZER,
                       "shape", shape_to_variant (shape, rank),
                       "block-size", n_block_size > 0
                                     ? shape_to_variant (block_size, n_block_size)
                                     : NULL,
                       "bitwidth", bitwidth,
                       "symmetric", symmetric,
                       NULL);
}

/**
 * peftq_affine_quantizer_get_shape:
 * @self: an affine quantizer
 * @rank: (out): return location for the number of dimensions
 *
 * Returns the encoding shape.
 *
 * Returns: (array length=rank) (transfer none): the shape
 *
 * Since: 1.0
 */
const gint64 *
peftq_affine_quantizer_get_shape (PeftqAffineQuantizer *self,
                                  guint                *rank)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), NULL);
  g_return_val_if_fail (rank != NULL, NULL);

  *rank = self->rank;
  return self->shape;
}

/**
 * peftq_affine_quantizer_get_block_size:
 * @self: an affine quantizer
 * @n_block_size: (out): return location for the number of entries, 0 when not blockwise
 *
 * Returns the block size of a blockwise quantizer.
 *
 * Returns: (array length=n_block_size) (transfer none): the block size
 *
 * Since: 1.0
 */
const gint64 *
peftq_affine_quantizer_get_block_size (PeftqAffineQuantizer *self,
                                       guint                *n_block_size)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), NULL);
  g_return_val_if_fail (n_block_size != NULL, NULL);

  *n_block_size = self->n_block_size;
  return self->block_size;
}

/**
 * peftq_affine_quantizer_get_n_encodings:
 * @self: an affine quantizer
 *
 * Returns the number of encoding values: 1 per tensor, else the element count of the
 * shape.
 *
 * Returns: the number of encoding values
 *
 * Since: 1.0
 */
gsize
peftq_affine_quantizer_get_n_encodings (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), 0);

  return self->n_encodings;
}

/**
 * peftq_affine_quantizer_get_bitwidth:
 * @self: an affine quantizer
 *
 * Returns the bitwidth of the grid.
 *
 * Returns: the bitwidth
 *
 * Since: 1.0
 */
guint
peftq_affine_quantizer_get_bitwidth (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), 0);

  return self->bitwidth;
}

/**
 * peftq_affine_quantizer_set_bitwidth:
 * @self: an affine quantizer
 * @bitwidth: the new bitwidth, 1 to 24
 * @error: return location for a #GError
 *
 * Sets the bitwidth and keeps the signedness. An existing encoding keeps its range, so
 * its scale becomes `(max - min) / (2^bitwidth - 1)`, and
 * [signal@Peftq.AffineQuantizer::encoding-changed] is emitted.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when @bitwidth is out of range
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_set_bitwidth (PeftqAffineQuantizer  *self,
                                     guint                  bitwidth,
                                     GError               **error)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!peftq_encoding_check_bitwidth (bitwidth, error))
    {
      g_prefix_error (error, "Quantizer %s: ", quantizer_label (self));
      return FALSE;
    }
  if (self->bitwidth == bitwidth)
    return TRUE;

  self->bitwidth = bitwidth;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BITWIDTH]);
  regrid_encoding (self);
  return TRUE;
}

/**
 * peftq_affine_quantizer_get_symmetric:
 * @self: an affine quantizer
 *
 * Returns whether the offset is fixed at 0.
 *
 * Returns: `TRUE` when symmetric
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_get_symmetric (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);

  return self->symmetric;
}

/**
 * peftq_affine_quantizer_set_symmetric:
 * @self: an affine quantizer
 * @symmetric: whether the offset is fixed at 0
 *
 * Sets the symmetry flag without changing the grid, as AIMET does. An existing encoding
 * keeps its range and gets the new offset.
 *
 * Since: 1.0
 */
void
peftq_affine_quantizer_set_symmetric (PeftqAffineQuantizer *self,
                                      gboolean              symmetric)
{
  g_return_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self));

  symmetric = !!symmetric;
  if (self->symmetric == symmetric)
    return;

  self->symmetric = symmetric;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SYMMETRIC]);
  regrid_encoding (self);
}

/**
 * peftq_affine_quantizer_get_signed:
 * @self: an affine quantizer
 *
 * Returns whether the grid is signed.
 *
 * Returns: `TRUE` for the grid `[-2^(b-1), 2^(b-1) - 1]`
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_get_signed (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);

  return self->is_signed;
}

/**
 * peftq_affine_quantizer_set_signed:
 * @self: an affine quantizer
 * @is_signed: whether the grid is signed
 *
 * Shifts the grid between `[0, 2^b - 1]` and `[-2^(b-1), 2^(b-1) - 1]`. An existing
 * encoding keeps its range.
 *
 * Since: 1.0
 */
void
peftq_affine_quantizer_set_signed (PeftqAffineQuantizer *self,
                                   gboolean              is_signed)
{
  g_return_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self));

  self->signed_set = TRUE;
  is_signed = !!is_signed;
  if (self->is_signed == is_signed)
    return;

  self->is_signed = is_signed;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIGNED]);
  regrid_encoding (self);
}

/**
 * peftq_affine_quantizer_get_qmin:
 * @self: an affine quantizer
 *
 * Returns the lowest integer of the grid.
 *
 * Returns: `qmin`
 *
 * Since: 1.0
 */
gint64
peftq_affine_quantizer_get_qmin (PeftqAffineQuantizer *self)
{
  gint64 qmin;
  gint64 qmax;

  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), 0);

  peftq_encoding_get_grid (self->bitwidth, self->is_signed, &qmin, &qmax);
  return qmin;
}

/**
 * peftq_affine_quantizer_get_qmax:
 * @self: an affine quantizer
 *
 * Returns the highest integer of the grid.
 *
 * Returns: `qmax`
 *
 * Since: 1.0
 */
gint64
peftq_affine_quantizer_get_qmax (PeftqAffineQuantizer *self)
{
  gint64 qmin;
  gint64 qmax;

  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), 0);

  peftq_encoding_get_grid (self->bitwidth, self->is_signed, &qmin, &qmax);
  return qmax;
}

/**
 * peftq_affine_quantizer_get_enabled:
 * @self: an affine quantizer
 *
 * Returns whether [method@Peftq.Quantizer.forward] quantizes.
 *
 * Returns: `TRUE` when enabled
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_get_enabled (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);

  return self->enabled;
}

/**
 * peftq_affine_quantizer_set_enabled:
 * @self: an affine quantizer
 * @enabled: whether [method@Peftq.Quantizer.forward] quantizes
 *
 * Enables or disables the quantizer; a disabled one passes its input through.
 *
 * Since: 1.0
 */
void
peftq_affine_quantizer_set_enabled (PeftqAffineQuantizer *self,
                                    gboolean              enabled)
{
  g_return_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self));

  enabled = !!enabled;
  if (self->enabled == enabled)
    return;

  self->enabled = enabled;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENABLED]);
}

/**
 * peftq_affine_quantizer_get_allow_overwrite:
 * @self: an affine quantizer
 *
 * Returns whether a calibration may replace the encoding.
 *
 * Returns: `FALSE` when the quantizer is frozen
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_get_allow_overwrite (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);

  return self->allow_overwrite;
}

/**
 * peftq_affine_quantizer_set_allow_overwrite:
 * @self: an affine quantizer
 * @allow_overwrite: `FALSE` to freeze the encoding
 *
 * Sets whether a calibration may replace the encoding. It takes effect at the next
 * [method@Peftq.AffineQuantizer.begin_calibration].
 *
 * Since: 1.0
 */
void
peftq_affine_quantizer_set_allow_overwrite (PeftqAffineQuantizer *self,
                                            gboolean              allow_overwrite)
{
  g_return_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self));

  allow_overwrite = !!allow_overwrite;
  if (self->allow_overwrite == allow_overwrite)
    return;

  self->allow_overwrite = allow_overwrite;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOW_OVERWRITE]);
}

/**
 * peftq_affine_quantizer_get_encoding_analyzer:
 * @self: an affine quantizer
 *
 * Returns the analyzer that calibration uses, a [class@Peftq.MinMaxAnalyzer] unless
 * another was set.
 *
 * Returns: (transfer none): the encoding analyzer
 *
 * Since: 1.0
 */
PeftqEncodingAnalyzer *
peftq_affine_quantizer_get_encoding_analyzer (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), NULL);

  return self->analyzer;
}

/**
 * peftq_affine_quantizer_set_encoding_analyzer:
 * @self: an affine quantizer
 * @analyzer: the new encoding analyzer
 * @error: return location for a #GError
 *
 * Sets the analyzer that calibration uses. The analyzer gets the quantizer's encoding
 * shape and loses its statistics, so one analyzer should not be shared between
 * quantizers.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set while the quantizer is
 *   calibrating
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_set_encoding_analyzer (PeftqAffineQuantizer   *self,
                                              PeftqEncodingAnalyzer  *analyzer,
                                              GError                **error)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);
  g_return_val_if_fail (PEFTQ_IS_ENCODING_ANALYZER (analyzer), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->calibrating)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_FAILED,
                   "Quantizer %s: cannot replace the encoding analyzer during calibration",
                   quantizer_label (self));
      return FALSE;
    }

  if (!peftq_encoding_analyzer_set_shape (analyzer, self->shape, self->rank,
                                          self->n_block_size > 0 ? self->block_size : NULL,
                                          self->n_block_size, error))
    return FALSE;

  g_set_object (&self->analyzer, analyzer);
  return TRUE;
}

/**
 * peftq_affine_quantizer_is_initialized:
 * @self: an affine quantizer
 *
 * Returns whether the quantizer has an encoding.
 *
 * Returns: `TRUE` when initialized
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_is_initialized (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);

  return self->encoding != NULL;
}

/**
 * peftq_affine_quantizer_get_encoding:
 * @self: an affine quantizer
 *
 * Returns the current encoding. It has the quantizer's shape and grid, and stays valid
 * until the encoding changes; take a reference to keep it longer.
 *
 * Returns: (transfer none) (nullable): the encoding, or `NULL` when uninitialized
 *
 * Since: 1.0
 */
PeftqEncoding *
peftq_affine_quantizer_get_encoding (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), NULL);

  return self->encoding;
}

/**
 * peftq_affine_quantizer_set_encoding:
 * @self: an affine quantizer
 * @encoding: the new encoding, with one value per encoding of the quantizer
 * @error: return location for a #GError
 *
 * Sets the encoding, as AIMET's `set_legacy_encodings` does when encodings are loaded:
 * the quantizer takes the bitwidth, symmetry and signedness of @encoding (notifying the
 * properties that change) and its range, in the quantizer's own shape. An encoding
 * read from a file has a flat shape; only its element count must match.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when the value counts differ
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_set_encoding (PeftqAffineQuantizer  *self,
                                     PeftqEncoding         *encoding,
                                     GError               **error)
{
  g_autoptr(PeftqEncoding) reshaped = NULL;
  guint bitwidth;
  gboolean symmetric;
  gboolean is_signed;

  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);
  g_return_val_if_fail (encoding != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (peftq_encoding_get_n_values (encoding) != self->n_encodings)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "Quantizer %s has %" G_GSIZE_FORMAT " encodings but the encoding "
                   "to set has %" G_GSIZE_FORMAT " values",
                   quantizer_label (self), self->n_encodings,
                   peftq_encoding_get_n_values (encoding));
      return FALSE;
    }

  reshaped = peftq_encoding_reshape (encoding, self->shape, self->rank,
                                     self->n_block_size > 0 ? self->block_size : NULL,
                                     self->n_block_size, error);
  if (reshaped == NULL)
    {
      g_prefix_error (error, "Quantizer %s: ", quantizer_label (self));
      return FALSE;
    }

  bitwidth = peftq_encoding_get_bitwidth (encoding);
  symmetric = peftq_encoding_get_symmetric (encoding);
  is_signed = peftq_encoding_get_signed (encoding);

  /* Update the grid first without regridding, then install the encoding once, so that
   * encoding-changed fires at most once. */
  g_object_freeze_notify (G_OBJECT (self));
  if (self->bitwidth != bitwidth)
    {
      self->bitwidth = bitwidth;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BITWIDTH]);
    }
  if (self->symmetric != symmetric)
    {
      self->symmetric = symmetric;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SYMMETRIC]);
    }
  if (self->is_signed != is_signed)
    {
      self->is_signed = is_signed;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIGNED]);
    }
  replace_encoding (self, g_steal_pointer (&reshaped));
  g_object_thaw_notify (G_OBJECT (self));

  return TRUE;
}

/**
 * peftq_affine_quantizer_set_range:
 * @self: an affine quantizer
 * @min: (array length=n_min): the range minimum, one value or one per encoding
 * @n_min: the number of values in @min
 * @max: (array length=n_max): the range maximum, one value or one per encoding
 * @n_max: the number of values in @max
 * @error: return location for a #GError
 *
 * Sets the range on the current grid and computes the encoding, as AIMET's `set_range`
 * does, without including zero or enforcing a minimum width; that is the analyzers'
 * job. It applies to frozen quantizers too.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when the counts do not match or a
 *   range gives no finite positive scale (see [ctor@Peftq.Encoding.new])
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_set_range (PeftqAffineQuantizer  *self,
                                  const float           *min,
                                  gsize                  n_min,
                                  const float           *max,
                                  gsize                  n_max,
                                  GError               **error)
{
  PeftqEncoding *encoding;

  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);
  g_return_val_if_fail (min != NULL && max != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  encoding = peftq_encoding_new (self->shape, self->rank,
                                 self->n_block_size > 0 ? self->block_size : NULL,
                                 self->n_block_size, min, n_min, max, n_max,
                                 self->bitwidth, self->symmetric, self->is_signed, error);
  if (encoding == NULL)
    {
      g_prefix_error (error, "Quantizer %s: ", quantizer_label (self));
      return FALSE;
    }

  replace_encoding (self, encoding);
  return TRUE;
}

/**
 * peftq_affine_quantizer_clear_encoding:
 * @self: an affine quantizer
 *
 * Drops the encoding, so that the quantizer is uninitialized again.
 *
 * Since: 1.0
 */
void
peftq_affine_quantizer_clear_encoding (PeftqAffineQuantizer *self)
{
  g_return_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self));

  replace_encoding (self, NULL);
}

static PeftqTensor *
run_kernel (PeftqAffineQuantizer  *self,
            PeftqTensor           *input,
            PeftqQdqOp             op,
            GError               **error)
{
  g_autoptr(PeftqTensor) converted = NULL;
  g_autoptr(PeftqTensor) output = NULL;
  const gint64 *input_shape;
  guint input_rank = 0;
  PeftqQdqLayout layout;
  const float *data;
  gsize n_values = 0;

  if (self->encoding == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_INITIALIZED,
                   "Quantizer %s is not initialized: compute its encodings by calibration, "
                   "or set a range or an encoding, before using it",
                   quantizer_label (self));
      return NULL;
    }

  input_shape = peftq_tensor_get_shape (input, &input_rank);
  if (!peftq_qdq_layout_init (&layout, input_shape, input_rank, self->shape, self->rank,
                              self->n_block_size > 0 ? self->block_size : NULL, error))
    {
      g_prefix_error (error, "Quantizer %s: ", quantizer_label (self));
      return NULL;
    }

  data = peftq_tensor_get_dtype (input) == PEFTQ_DTYPE_F32 ? peftq_tensor_peek_f32 (input) : NULL;
  if (data == NULL)
    {
      converted = peftq_tensor_to_float32 (input, error);
      if (converted == NULL)
        return NULL;
      data = peftq_tensor_peek_f32 (converted);
    }

  output = peftq_tensor_new_f32 (input_shape, input_rank);
  peftq_qdq_run (&layout, op, data, peftq_tensor_get_mutable_data (output),
                 peftq_encoding_get_scale (self->encoding, &n_values),
                 peftq_encoding_get_offset (self->encoding, &n_values),
                 (float) peftq_encoding_get_qmin (self->encoding),
                 (float) peftq_encoding_get_qmax (self->encoding),
                 FALSE);

  return g_steal_pointer (&output);
}

/**
 * peftq_affine_quantizer_quantize:
 * @self: an affine quantizer
 * @input: the tensor to quantize
 * @error: return location for a #GError
 *
 * Quantizes @input to the integer grid: `clamp(round(x / scale) - offset, qmin, qmax)`.
 * The integers are returned as a float32 tensor, as AIMET returns them; every value
 * is exact because the grid has at most 24 bits. NaN inputs give NaN. This ignores
 * [property@Peftq.AffineQuantizer:enabled].
 *
 * Returns: (transfer full): a float32 tensor of the input's shape, or `NULL` with @error
 *   set when the quantizer is uninitialized or the shapes do not fit
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_affine_quantizer_quantize (PeftqAffineQuantizer  *self,
                                 PeftqTensor           *input,
                                 GError               **error)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), NULL);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (input), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return run_kernel (self, input, PEFTQ_QDQ_OP_QUANTIZE, error);
}

/**
 * peftq_affine_quantizer_dequantize:
 * @self: an affine quantizer
 * @input: integer grid values, as float32 or any other dtype
 * @error: return location for a #GError
 *
 * Maps grid values back to real values: `(q + offset) * scale`.
 *
 * Returns: (transfer full): a float32 tensor of the input's shape, or `NULL` with @error
 *   set when the quantizer is uninitialized or the shapes do not fit
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_affine_quantizer_dequantize (PeftqAffineQuantizer  *self,
                                   PeftqTensor           *input,
                                   GError               **error)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), NULL);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (input), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return run_kernel (self, input, PEFTQ_QDQ_OP_DEQUANTIZE, error);
}

/**
 * peftq_affine_quantizer_quantize_dequantize:
 * @self: an affine quantizer
 * @input: the tensor to quantize and dequantize
 * @error: return location for a #GError
 *
 * Quantizes and dequantizes @input in float32, bit for bit as AIMET and the PyTorch
 * evaluation of the formula in the type description. This ignores
 * [property@Peftq.AffineQuantizer:enabled] and calibration.
 *
 * Returns: (transfer full): a float32 tensor of the input's shape, or `NULL` with @error
 *   set when the quantizer is uninitialized or the shapes do not fit
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_affine_quantizer_quantize_dequantize (PeftqAffineQuantizer  *self,
                                            PeftqTensor           *input,
                                            GError               **error)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), NULL);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (input), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return run_kernel (self, input, PEFTQ_QDQ_OP_QDQ, error);
}

/**
 * peftq_affine_quantizer_begin_calibration:
 * @self: an affine quantizer
 *
 * Starts a calibration. A quantizer that may overwrite its encoding, or has none yet,
 * drops its analyzer's statistics and observes: [method@Peftq.Quantizer.forward]
 * then records its inputs and returns them unchanged. A frozen, initialized quantizer
 * keeps its encoding and keeps quantizing.
 *
 * Since: 1.0
 */
void
peftq_affine_quantizer_begin_calibration (PeftqAffineQuantizer *self)
{
  g_return_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self));
  g_return_if_fail (!self->calibrating);

  self->calibrating = TRUE;
  self->observing = self->allow_overwrite || self->encoding == NULL;
  if (self->observing)
    {
      peftq_encoding_analyzer_set_label (self->analyzer,
                                         peftq_quantizer_get_name (PEFTQ_QUANTIZER (self)));
      peftq_encoding_analyzer_reset (self->analyzer);
    }
}

/**
 * peftq_affine_quantizer_observe:
 * @self: an affine quantizer
 * @input: a batch of data
 * @error: return location for a #GError
 *
 * Adds @input to the statistics of the running calibration. A frozen quantizer ignores
 * it.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when @input does not fit the
 *   encoding shape
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_observe (PeftqAffineQuantizer  *self,
                                PeftqTensor           *input,
                                GError               **error)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (input), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (self->calibrating, FALSE);

  if (!self->observing)
    return TRUE;

  return peftq_encoding_analyzer_observe (self->analyzer, input, error);
}

/**
 * peftq_affine_quantizer_end_calibration:
 * @self: an affine quantizer
 * @error: return location for a #GError
 *
 * Ends the calibration. An observing quantizer computes its encoding from all the data
 * it saw and emits [signal@Peftq.AffineQuantizer::encoding-changed] when the encoding
 * changes. A quantizer that saw no finite data keeps its previous state.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when the statistics give no valid
 *   encoding; the quantizer then keeps its previous state as well
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_end_calibration (PeftqAffineQuantizer  *self,
                                        GError               **error)
{
  g_autoptr(GError) local_error = NULL;
  PeftqEncoding *encoding = NULL;
  gboolean observing;

  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (self->calibrating, FALSE);

  observing = self->observing;
  self->calibrating = FALSE;
  self->observing = FALSE;

  if (!observing)
    return TRUE;

  encoding = peftq_encoding_analyzer_compute_encoding (self->analyzer, self->bitwidth,
                                                       self->symmetric, self->is_signed,
                                                       &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (encoding != NULL)
    replace_encoding (self, encoding);

  return TRUE;
}

/**
 * peftq_affine_quantizer_abort_calibration:
 * @self: an affine quantizer
 *
 * Ends the calibration without computing an encoding, for example when the calibration
 * data could not be processed. The quantizer keeps its previous state.
 *
 * Since: 1.0
 */
void
peftq_affine_quantizer_abort_calibration (PeftqAffineQuantizer *self)
{
  g_return_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self));

  self->calibrating = FALSE;
  self->observing = FALSE;
}

/**
 * peftq_affine_quantizer_is_calibrating:
 * @self: an affine quantizer
 *
 * Returns whether a calibration is running.
 *
 * Returns: `TRUE` between begin and end of a calibration
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_is_calibrating (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);

  return self->calibrating;
}

/**
 * peftq_affine_quantizer_is_observing:
 * @self: an affine quantizer
 *
 * Returns whether the running calibration records this quantizer's inputs, that is,
 * whether [method@Peftq.Quantizer.forward] passes inputs through unchanged.
 *
 * Returns: `TRUE` while observing
 *
 * Since: 1.0
 */
gboolean
peftq_affine_quantizer_is_observing (PeftqAffineQuantizer *self)
{
  g_return_val_if_fail (PEFTQ_IS_AFFINE_QUANTIZER (self), FALSE);

  return self->observing;
}
