/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "peftq-version-macros.h"
#include "peftq-encoding.h"

G_BEGIN_DECLS

/**
 * PEFTQ_ENCODINGS_VERSION_0_6_1:
 *
 * The version string of AIMET's 0.6.1 encodings format.
 *
 * Since: 1.0
 */
#define PEFTQ_ENCODINGS_VERSION_0_6_1 "0.6.1"

/**
 * PEFTQ_ENCODINGS_VERSION_1_0_0:
 *
 * The version string of AIMET's 1.0.0 encodings format.
 *
 * Since: 1.0
 */
#define PEFTQ_ENCODINGS_VERSION_1_0_0 "1.0.0"

#define PEFTQ_TYPE_ENCODINGS_FILE (peftq_encodings_file_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqEncodingsFile, peftq_encodings_file, PEFTQ, ENCODINGS_FILE, GObject)

PEFTQ_AVAILABLE_IN_ALL
PeftqEncodingsFile  *peftq_encodings_file_new                         (const char          *version,
                                                                       gboolean             torch_layout,
                                                                       GError             **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqEncodingsFile  *peftq_encodings_file_new_from_file               (const char          *path,
                                                                       GError             **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqEncodingsFile  *peftq_encodings_file_new_from_data               (const char          *data,
                                                                       gssize               length,
                                                                       GError             **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
char                *peftq_encodings_file_to_data                     (PeftqEncodingsFile  *self,
                                                                       gsize               *length) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_encodings_file_save                        (PeftqEncodingsFile  *self,
                                                                       const char          *path,
                                                                       GError             **error);

PEFTQ_AVAILABLE_IN_ALL
const char          *peftq_encodings_file_get_version                 (PeftqEncodingsFile  *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_encodings_file_set_version                 (PeftqEncodingsFile  *self,
                                                                       const char          *version,
                                                                       GError             **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_encodings_file_get_torch_layout            (PeftqEncodingsFile  *self);

PEFTQ_AVAILABLE_IN_ALL
void                 peftq_encodings_file_set_param_encoding          (PeftqEncodingsFile  *self,
                                                                       const char          *name,
                                                                       PeftqEncoding       *encoding);
PEFTQ_AVAILABLE_IN_ALL
PeftqEncoding       *peftq_encodings_file_get_param_encoding          (PeftqEncodingsFile  *self,
                                                                       const char          *name);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_encodings_file_remove_param_encoding       (PeftqEncodingsFile  *self,
                                                                       const char          *name);
PEFTQ_AVAILABLE_IN_ALL
char               **peftq_encodings_file_get_param_names             (PeftqEncodingsFile  *self) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
void                 peftq_encodings_file_set_activation_encoding     (PeftqEncodingsFile  *self,
                                                                       const char          *name,
                                                                       PeftqEncoding       *encoding);
PEFTQ_AVAILABLE_IN_ALL
PeftqEncoding       *peftq_encodings_file_get_activation_encoding     (PeftqEncodingsFile  *self,
                                                                       const char          *name);
PEFTQ_AVAILABLE_IN_ALL
char               **peftq_encodings_file_get_activation_names        (PeftqEncodingsFile  *self) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_encodings_file_set_module_encoding         (PeftqEncodingsFile  *self,
                                                                       const char          *module,
                                                                       const char          *direction,
                                                                       guint                index,
                                                                       PeftqEncoding       *encoding,
                                                                       GError             **error);
PEFTQ_AVAILABLE_IN_ALL
PeftqEncoding       *peftq_encodings_file_get_module_encoding         (PeftqEncodingsFile  *self,
                                                                       const char          *module,
                                                                       const char          *direction,
                                                                       guint                index);
PEFTQ_AVAILABLE_IN_ALL
char               **peftq_encodings_file_get_module_names            (PeftqEncodingsFile  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
guint               *peftq_encodings_file_get_module_indices          (PeftqEncodingsFile  *self,
                                                                       const char          *module,
                                                                       const char          *direction,
                                                                       gsize               *n_indices) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
char               **peftq_encodings_file_get_excluded_layers         (PeftqEncodingsFile  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
void                 peftq_encodings_file_set_excluded_layers         (PeftqEncodingsFile  *self,
                                                                       const char * const  *layers);
PEFTQ_AVAILABLE_IN_ALL
JsonObject          *peftq_encodings_file_get_quantizer_args          (PeftqEncodingsFile  *self);
PEFTQ_AVAILABLE_IN_ALL
void                 peftq_encodings_file_set_quantizer_args          (PeftqEncodingsFile  *self,
                                                                       JsonObject          *args);

G_END_DECLS
