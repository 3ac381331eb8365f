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

#define PEFTQ_TYPE_PEFT_LORA_LAYER (peftq_peft_lora_layer_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqPeftLoraLayer, peftq_peft_lora_layer, PEFTQ, PEFT_LORA_LAYER, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule   *peftq_peft_lora_layer_get_base_layer      (PeftqPeftLoraLayer  *self);
PEFTQ_AVAILABLE_IN_ALL
guint          peftq_peft_lora_layer_get_n_adapters      (PeftqPeftLoraLayer  *self);
PEFTQ_AVAILABLE_IN_ALL
PeftqAdapter  *peftq_peft_lora_layer_get_adapter         (PeftqPeftLoraLayer  *self,
                                                          guint                index);
PEFTQ_AVAILABLE_IN_ALL
gint           peftq_peft_lora_layer_find_adapter        (PeftqPeftLoraLayer  *self,
                                                          const char          *adapter_name);
PEFTQ_AVAILABLE_IN_ALL
PeftqModule   *peftq_peft_lora_layer_get_lora_a          (PeftqPeftLoraLayer  *self,
                                                          guint                index);
PEFTQ_AVAILABLE_IN_ALL
PeftqModule   *peftq_peft_lora_layer_get_lora_b          (PeftqPeftLoraLayer  *self,
                                                          guint                index);
PEFTQ_AVAILABLE_IN_ALL
double         peftq_peft_lora_layer_get_scaling         (PeftqPeftLoraLayer  *self,
                                                          guint                index);
PEFTQ_AVAILABLE_IN_ALL
guint          peftq_peft_lora_layer_get_rank            (PeftqPeftLoraLayer  *self,
                                                          guint                index);
PEFTQ_AVAILABLE_IN_ALL
double         peftq_peft_lora_layer_get_alpha           (PeftqPeftLoraLayer  *self,
                                                          guint                index);
PEFTQ_AVAILABLE_IN_ALL
gboolean       peftq_peft_lora_layer_set_adapter_weights (PeftqPeftLoraLayer  *self,
                                                          guint                index,
                                                          PeftqTensor         *lora_a,
                                                          PeftqTensor         *lora_b,
                                                          GError             **error);
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor   *peftq_peft_lora_layer_compute_delta_weight (PeftqPeftLoraLayer *self,
                                                           guint               index,
                                                           GError            **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
