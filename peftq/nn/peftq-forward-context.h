/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <gio/gio.h>

#include "peftq-version-macros.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_FORWARD_CONTEXT (peftq_forward_context_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqForwardContext, peftq_forward_context, PEFTQ, FORWARD_CONTEXT, GObject)

/* Carries what one forward pass needs besides the input tensors: token positions, an
 * optional attention mask, an optional GCancellable, and an optional trace recorder that
 * the ONNX exporter installs. The implementation belongs to the nn layer. */

PEFTQ_AVAILABLE_IN_ALL
PeftqForwardContext *peftq_forward_context_new                (void) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
void                 peftq_forward_context_set_positions      (PeftqForwardContext *self,
                                                               PeftqTensor         *positions);
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor         *peftq_forward_context_get_positions      (PeftqForwardContext *self);
PEFTQ_AVAILABLE_IN_ALL
void                 peftq_forward_context_set_attention_mask (PeftqForwardContext *self,
                                                               PeftqTensor         *mask);
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor         *peftq_forward_context_get_attention_mask (PeftqForwardContext *self);
PEFTQ_AVAILABLE_IN_ALL
void                 peftq_forward_context_set_cancellable    (PeftqForwardContext *self,
                                                               GCancellable        *cancellable);
PEFTQ_AVAILABLE_IN_ALL
GCancellable        *peftq_forward_context_get_cancellable    (PeftqForwardContext *self);

G_END_DECLS
