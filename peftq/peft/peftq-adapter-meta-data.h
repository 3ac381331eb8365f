/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_ADAPTER_META_DATA (peftq_adapter_meta_data_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqAdapterMetaData, peftq_adapter_meta_data, PEFTQ, ADAPTER_META_DATA, GObject)

PEFTQ_AVAILABLE_IN_ALL
const char         *peftq_adapter_meta_data_get_adapter_name (PeftqAdapterMetaData *self);
PEFTQ_AVAILABLE_IN_ALL
const char *const  *peftq_adapter_meta_data_get_lora_a       (PeftqAdapterMetaData *self);
PEFTQ_AVAILABLE_IN_ALL
const char *const  *peftq_adapter_meta_data_get_lora_b       (PeftqAdapterMetaData *self);
PEFTQ_AVAILABLE_IN_ALL
const char *const  *peftq_adapter_meta_data_get_mul_scale    (PeftqAdapterMetaData *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean            peftq_adapter_meta_data_has_alpha        (PeftqAdapterMetaData *self);
PEFTQ_AVAILABLE_IN_ALL
double              peftq_adapter_meta_data_get_alpha        (PeftqAdapterMetaData *self);

PEFTQ_AVAILABLE_IN_ALL
GHashTable         *peftq_adapter_meta_data_load_file        (const char           *path,
                                                              GError              **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean            peftq_adapter_meta_data_save_file        (GHashTable           *meta_data,
                                                              const char           *path,
                                                              GError              **error);

G_END_DECLS
