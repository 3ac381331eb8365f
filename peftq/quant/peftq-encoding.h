/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_ENCODING (peftq_encoding_get_type ())

/**
 * PEFTQ_ENCODING_MIN_SCALE:
 *
 * The smallest scale that the encoding analyzers produce: the float32 machine epsilon,
 * 2^-23.
 *
 * Since: 1.0
 */
#define PEFTQ_ENCODING_MIN_SCALE 1.1920928955078125e-07f

typedef struct _PeftqEncoding PeftqEncoding;

PEFTQ_AVAILABLE_IN_ALL
GType          peftq_encoding_get_type          (void) G_GNUC_CONST;

PEFTQ_AVAILABLE_IN_ALL
PeftqEncoding *peftq_encoding_new               (const gint64   *shape,
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
                                                 GError        **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqEncoding *peftq_encoding_new_per_tensor    (float           min,
                                                 float           max,
                                                 guint           bitwidth,
                                                 gboolean        symmetric,
                                                 GError        **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqEncoding *peftq_encoding_ref               (PeftqEncoding  *self);
PEFTQ_AVAILABLE_IN_ALL
void           peftq_encoding_unref             (PeftqEncoding  *self);

PEFTQ_AVAILABLE_IN_ALL
gsize          peftq_encoding_get_n_values      (PeftqEncoding  *self);
PEFTQ_AVAILABLE_IN_ALL
const gint64  *peftq_encoding_get_shape         (PeftqEncoding  *self,
                                                 guint          *rank);
PEFTQ_AVAILABLE_IN_ALL
const gint64  *peftq_encoding_get_block_size    (PeftqEncoding  *self,
                                                 guint          *n_block_size);
PEFTQ_AVAILABLE_IN_ALL
guint          peftq_encoding_get_bitwidth      (PeftqEncoding  *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean       peftq_encoding_get_symmetric     (PeftqEncoding  *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean       peftq_encoding_get_signed        (PeftqEncoding  *self);
PEFTQ_AVAILABLE_IN_ALL
gint64         peftq_encoding_get_qmin          (PeftqEncoding  *self);
PEFTQ_AVAILABLE_IN_ALL
gint64         peftq_encoding_get_qmax          (PeftqEncoding  *self);
PEFTQ_AVAILABLE_IN_ALL
const float   *peftq_encoding_get_scale         (PeftqEncoding  *self,
                                                 gsize          *n_values);
PEFTQ_AVAILABLE_IN_ALL
const float   *peftq_encoding_get_offset        (PeftqEncoding  *self,
                                                 gsize          *n_values);
PEFTQ_AVAILABLE_IN_ALL
const gint32  *peftq_encoding_get_legacy_offset (PeftqEncoding  *self,
                                                 gsize          *n_values);
PEFTQ_AVAILABLE_IN_ALL
const float   *peftq_encoding_get_min           (PeftqEncoding  *self,
                                                 gsize          *n_values);
PEFTQ_AVAILABLE_IN_ALL
const float   *peftq_encoding_get_max           (PeftqEncoding  *self,
                                                 gsize          *n_values);
PEFTQ_AVAILABLE_IN_ALL
const float   *peftq_encoding_get_range_min     (PeftqEncoding  *self,
                                                 gsize          *n_values);
PEFTQ_AVAILABLE_IN_ALL
const float   *peftq_encoding_get_range_max     (PeftqEncoding  *self,
                                                 gsize          *n_values);
PEFTQ_AVAILABLE_IN_ALL
gboolean       peftq_encoding_equal             (PeftqEncoding  *self,
                                                 PeftqEncoding  *other);
PEFTQ_AVAILABLE_IN_ALL
PeftqEncoding *peftq_encoding_reshape           (PeftqEncoding  *self,
                                                 const gint64   *shape,
                                                 guint           rank,
                                                 const gint64   *block_size,
                                                 guint           n_block_size,
                                                 GError        **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqEncoding *peftq_encoding_with_grid         (PeftqEncoding  *self,
                                                 guint           bitwidth,
                                                 gboolean        symmetric,
                                                 gboolean        is_signed,
                                                 GError        **error) G_GNUC_WARN_UNUSED_RESULT;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeftqEncoding, peftq_encoding_unref)

G_END_DECLS
