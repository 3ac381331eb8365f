/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-module.h"
#include "peftq-model-config-private.h"

G_BEGIN_DECLS

/* Builds the base model of a Llama-family causal LM (the child `model`: `embed_tokens`,
 * `layers.N`, `norm`) with zero-filled weights. */
PeftqModule *peftq_llama_build (const PeftqModelConfig  *config,
                                GError                 **error);

/* Builds the base model of GPT-2 (the child `transformer`: `wte`, `wpe`, `embed_add`,
 * `h.N`, `ln_f`) with zero-filled weights. */
PeftqModule *peftq_gpt2_build  (const PeftqModelConfig  *config,
                                GError                 **error);

G_END_DECLS
