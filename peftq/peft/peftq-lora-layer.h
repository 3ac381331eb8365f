/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-module.h"
#include "peftq-adapter.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_LORA_LAYER (peftq_lora_layer_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqLoraLayer, peftq_lora_layer, PEFTQ, LORA_LAYER, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule   *peftq_lora_layer_get_base_layer        (PeftqLoraLayer  *self);
PEFTQ_AVAILABLE_IN_ALL
guint          peftq_lora_layer_get_n_adapters        (PeftqLoraLayer  *self);
PEFTQ_AVAILABLE_IN_ALL
PeftqAdapter  *peftq_lora_layer_get_adapter           (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
const char    *peftq_lora_layer_get_adapter_name      (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
gint           peftq_lora_layer_find_adapter          (PeftqLoraLayer  *self,
                                                       const char      *adapter_name);
PEFTQ_AVAILABLE_IN_ALL
gboolean       peftq_lora_layer_get_adapter_active    (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
PeftqModule   *peftq_lora_layer_get_lora_a            (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
PeftqModule   *peftq_lora_layer_get_lora_b            (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
PeftqModule   *peftq_lora_layer_get_mul_scale         (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
PeftqModule   *peftq_lora_layer_get_add_lora_to_res   (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
double         peftq_lora_layer_get_scaling           (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor   *peftq_lora_layer_get_scaling_tensor    (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
void           peftq_lora_layer_set_scaling           (PeftqLoraLayer  *self,
                                                       guint            index,
                                                       double           scaling);
PEFTQ_AVAILABLE_IN_ALL
guint          peftq_lora_layer_get_rank              (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
double         peftq_lora_layer_get_alpha             (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
gboolean       peftq_lora_layer_set_adapter_weights   (PeftqLoraLayer  *self,
                                                       guint            index,
                                                       PeftqTensor     *lora_a,
                                                       PeftqTensor     *lora_b,
                                                       GError         **error);
PEFTQ_AVAILABLE_IN_ALL
void           peftq_lora_layer_zero_adapter_weights  (PeftqLoraLayer  *self,
                                                       guint            index);
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor   *peftq_lora_layer_compute_delta_weight  (PeftqLoraLayer  *self,
                                                       guint            index,
                                                       GError         **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
