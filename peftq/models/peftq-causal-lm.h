/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_CAUSAL_LM (peftq_causal_lm_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqCausalLM, peftq_causal_lm, PEFTQ, CAUSAL_LM, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqCausalLM *peftq_causal_lm_load                 (const char           *folder,
                                                     GError              **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor   *peftq_causal_lm_forward_ids          (PeftqCausalLM        *self,
                                                     PeftqForwardContext  *context,
                                                     PeftqTensor          *input_ids,
                                                     GError              **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gint64        *peftq_causal_lm_generate_greedy      (PeftqCausalLM        *self,
                                                     const gint64         *prompt,
                                                     gsize                 n_prompt,
                                                     guint                 n_steps,
                                                     gsize                *n_tokens,
                                                     GError              **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqModule   *peftq_causal_lm_get_base_model       (PeftqCausalLM        *self);
PEFTQ_AVAILABLE_IN_ALL
const char    *peftq_causal_lm_get_model_type       (PeftqCausalLM        *self);
PEFTQ_AVAILABLE_IN_ALL
const char    *peftq_causal_lm_get_architecture     (PeftqCausalLM        *self);
PEFTQ_AVAILABLE_IN_ALL
guint          peftq_causal_lm_get_vocab_size       (PeftqCausalLM        *self);
PEFTQ_AVAILABLE_IN_ALL
guint          peftq_causal_lm_get_hidden_size      (PeftqCausalLM        *self);
PEFTQ_AVAILABLE_IN_ALL
guint          peftq_causal_lm_get_num_layers       (PeftqCausalLM        *self);
PEFTQ_AVAILABLE_IN_ALL
gint64         peftq_causal_lm_get_bos_token_id     (PeftqCausalLM        *self);

G_END_DECLS
