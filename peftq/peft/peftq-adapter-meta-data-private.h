/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-adapter-meta-data.h"

G_BEGIN_DECLS

PeftqAdapterMetaData *peftq_adapter_meta_data_new              (const char           *adapter_name);
void                  peftq_adapter_meta_data_append_lora_a    (PeftqAdapterMetaData *self,
                                                                const char           *name);
void                  peftq_adapter_meta_data_append_lora_b    (PeftqAdapterMetaData *self,
                                                                const char           *name);
void                  peftq_adapter_meta_data_append_mul_scale (PeftqAdapterMetaData *self,
                                                                const char           *name);
void                  peftq_adapter_meta_data_set_alpha        (PeftqAdapterMetaData *self,
                                                                double                alpha);
/* Creates the map type returned by track_lora_meta_data and load_file. */
GHashTable           *peftq_adapter_meta_data_map_new          (void);

G_END_DECLS
