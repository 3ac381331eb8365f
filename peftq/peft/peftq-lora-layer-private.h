/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-lora-layer.h"
#include "peftq-peft-lora-layer.h"

G_BEGIN_DECLS

/* Builds the quantizable layer from a PEFT-style layer, moving its base layer and LoRA
 * modules over. The PEFT layer is left with empty placeholders and must be dropped. */
PeftqLoraLayer *peftq_lora_layer_new_from_peft (PeftqPeftLoraLayer *peft_layer);

G_END_DECLS
