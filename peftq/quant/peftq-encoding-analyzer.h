/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-encoding.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_ENCODING_ANALYZER (peftq_encoding_analyzer_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (PeftqEncodingAnalyzer, peftq_encoding_analyzer, PEFTQ, ENCODING_ANALYZER, GObject)

/**
 * PeftqEncodingAnalyzerClass:
 * @parent_class: the parent class
 * @reset: drops all statistics
 * @observe: adds the values of a tensor to the statistics
 * @has_statistics: returns whether any finite value was observed since the last reset
 * @compute_encoding: computes an encoding from the statistics
 *
 * The class structure of [class@Peftq.EncodingAnalyzer].
 *
 * Since: 1.0
 */
struct _PeftqEncodingAnalyzerClass
{
  GObjectClass parent_class;

  void            (*reset)            (PeftqEncodingAnalyzer  *self);
  gboolean        (*observe)          (PeftqEncodingAnalyzer  *self,
                                       PeftqTensor            *input,
                                       GError                **error);
  gboolean        (*has_statistics)   (PeftqEncodingAnalyzer  *self);
  PeftqEncoding  *(*compute_encoding) (PeftqEncodingAnalyzer  *self,
                                       guint                   bitwidth,
                                       gboolean                symmetric,
                                       gboolean                is_signed,
                                       GError                **error);

  /*< private >*/
  gpointer padding[12];
};

PEFTQ_AVAILABLE_IN_ALL
gboolean       peftq_encoding_analyzer_set_shape        (PeftqEncodingAnalyzer  *self,
                                                         const gint64           *shape,
                                                         guint                   rank,
                                                         const gint64           *block_size,
                                                         guint                   n_block_size,
                                                         GError                **error);
PEFTQ_AVAILABLE_IN_ALL
const gint64  *peftq_encoding_analyzer_get_shape        (PeftqEncodingAnalyzer  *self,
                                                         guint                  *rank);
PEFTQ_AVAILABLE_IN_ALL
const gint64  *peftq_encoding_analyzer_get_block_size   (PeftqEncodingAnalyzer  *self,
                                                         guint                  *n_block_size);
PEFTQ_AVAILABLE_IN_ALL
gsize          peftq_encoding_analyzer_get_n_encodings  (PeftqEncodingAnalyzer  *self);
PEFTQ_AVAILABLE_IN_ALL
void           peftq_encoding_analyzer_reset            (PeftqEncodingAnalyzer  *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean       peftq_encoding_analyzer_observe          (PeftqEncodingAnalyzer  *self,
                                                         PeftqTensor            *input,
                                                         GError                **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean       peftq_encoding_analyzer_has_statistics   (PeftqEncodingAnalyzer  *self);
PEFTQ_AVAILABLE_IN_ALL
PeftqEncoding *peftq_encoding_analyzer_compute_encoding (PeftqEncodingAnalyzer  *self,
                                                         guint                   bitwidth,
                                                         gboolean                symmetric,
                                                         gboolean                is_signed,
                                                         GError                **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
