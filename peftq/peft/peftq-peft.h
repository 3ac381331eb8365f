/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

PEFTQ_AVAILABLE_IN_ALL
GPtrArray  *peftq_list_lora_layers                            (PeftqModule  *model);
PEFTQ_AVAILABLE_IN_ALL
GPtrArray  *peftq_list_peft_lora_layers                       (PeftqModule  *model);
PEFTQ_AVAILABLE_IN_ALL
gboolean    peftq_replace_lora_layers_with_quantizable_layers (PeftqModule  *model,
                                                               guint        *n_replaced,
                                                               GError      **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean    peftq_save_lora_weights_after_adaptation          (PeftqModule  *model,
                                                               const char   *path,
                                                               const char   *filename_prefix,
                                                               GError      **error);
PEFTQ_AVAILABLE_IN_ALL
GHashTable *peftq_track_lora_meta_data                        (PeftqModule  *model,
                                                               const char   *path,
                                                               const char   *filename_prefix,
                                                               GType         replaced_module_type,
                                                               GError      **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean    peftq_load_lora_weights                           (PeftqModule  *model,
                                                               const char   *path,
                                                               GError      **error);

G_END_DECLS
