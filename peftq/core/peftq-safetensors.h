/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

/**
 * PEFTQ_SAFETENSORS_MAX_HEADER_SIZE:
 *
 * The largest JSON header, in bytes, that [func@Peftq.SafetensorsFile.open] accepts:
 * 100 MiB, the same limit as the reference safetensors implementation. A header of that
 * size describes millions of tensors, so a larger length field means a corrupt file.
 */
#define PEFTQ_SAFETENSORS_MAX_HEADER_SIZE (100 * 1024 * 1024)

#define PEFTQ_TYPE_SAFETENSORS_FILE (peftq_safetensors_file_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqSafetensorsFile, peftq_safetensors_file, PEFTQ, SAFETENSORS_FILE, GObject)

PEFTQ_AVAILABLE_IN_ALL
PeftqSafetensorsFile *peftq_safetensors_file_open               (const char            *path,
                                                                 GError               **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
const char           *peftq_safetensors_file_get_path           (PeftqSafetensorsFile  *self);
PEFTQ_AVAILABLE_IN_ALL
guint                 peftq_safetensors_file_get_n_tensors      (PeftqSafetensorsFile  *self);
PEFTQ_AVAILABLE_IN_ALL
char                **peftq_safetensors_file_get_tensor_names   (PeftqSafetensorsFile  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_safetensors_file_has_tensor         (PeftqSafetensorsFile  *self,
                                                                 const char            *name);
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor          *peftq_safetensors_file_get_tensor         (PeftqSafetensorsFile  *self,
                                                                 const char            *name,
                                                                 GError               **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
GHashTable           *peftq_safetensors_file_get_metadata       (PeftqSafetensorsFile  *self);
PEFTQ_AVAILABLE_IN_ALL
const char           *peftq_safetensors_file_get_metadata_value (PeftqSafetensorsFile  *self,
                                                                 const char            *key);

#define PEFTQ_TYPE_SAFETENSORS_WRITER (peftq_safetensors_writer_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqSafetensorsWriter, peftq_safetensors_writer, PEFTQ, SAFETENSORS_WRITER, GObject)

PEFTQ_AVAILABLE_IN_ALL
PeftqSafetensorsWriter *peftq_safetensors_writer_new          (void) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean                peftq_safetensors_writer_add_tensor   (PeftqSafetensorsWriter  *self,
                                                               const char              *name,
                                                               PeftqTensor             *tensor,
                                                               GError                 **error);
PEFTQ_AVAILABLE_IN_ALL
void                    peftq_safetensors_writer_set_metadata (PeftqSafetensorsWriter  *self,
                                                               const char              *key,
                                                               const char              *value);
PEFTQ_AVAILABLE_IN_ALL
gboolean                peftq_safetensors_writer_write        (PeftqSafetensorsWriter  *self,
                                                               const char              *path,
                                                               GError                 **error);

G_END_DECLS
