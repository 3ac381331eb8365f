/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

/**
 * PeftqActivationKind:
 * @PEFTQ_ACTIVATION_KIND_SILU: SiLU, x · sigmoid(x) (PyTorch's `nn.SiLU`)
 * @PEFTQ_ACTIVATION_KIND_GELU: GELU with the exact erf (`nn.GELU()`)
 * @PEFTQ_ACTIVATION_KIND_GELU_TANH: GELU with the tanh approximation
 *   (`nn.GELU(approximate="tanh")`, GPT-2's `gelu_new`)
 * @PEFTQ_ACTIVATION_KIND_RELU: ReLU, max(x, 0)
 *
 * The elementwise function of a [class@Peftq.Activation].
 *
 * Since: 1.0
 */
typedef enum
{
  PEFTQ_ACTIVATION_KIND_SILU,
  PEFTQ_ACTIVATION_KIND_GELU,
  PEFTQ_ACTIVATION_KIND_GELU_TANH,
  PEFTQ_ACTIVATION_KIND_RELU,
} PeftqActivationKind;

#define PEFTQ_TYPE_ACTIVATION (peftq_activation_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqActivation, peftq_activation, PEFTQ, ACTIVATION, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule         *peftq_activation_new      (PeftqActivationKind  kind) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqModule         *peftq_activation_new_from_name (const char     *name,
                                                     GError        **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqActivationKind  peftq_activation_get_kind (PeftqActivation     *self);

G_END_DECLS
