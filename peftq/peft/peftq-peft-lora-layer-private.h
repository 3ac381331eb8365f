/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-peft-lora-layer.h"
#include "peftq-lora-private.h"

G_BEGIN_DECLS

/* Creates a layer without children; the loader attaches the base layer after taking it
 * out of its parent, so that the base keeps a single parent. */
PeftqPeftLoraLayer *peftq_peft_lora_layer_new         (const PeftqLoraBaseShape *shape);
void                peftq_peft_lora_layer_attach_base (PeftqPeftLoraLayer *self,
                                                       PeftqModule        *base_layer);
/* Adds the modules lora_A.<adapter name> and lora_B.<adapter name>. */
void                peftq_peft_lora_layer_add_adapter (PeftqPeftLoraLayer *self,
                                                       PeftqAdapter       *adapter,
                                                       guint               rank,
                                                       double              alpha,
                                                       double              scaling,
                                                       PeftqModule        *lora_a,
                                                       PeftqModule        *lora_b);
const PeftqLoraBaseShape *peftq_peft_lora_layer_get_base_shape (PeftqPeftLoraLayer *self);

G_END_DECLS
