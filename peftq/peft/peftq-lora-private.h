/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-module.h"
#include "peftq-adapter.h"

G_BEGIN_DECLS

/* The kinds of base layer that take LoRA, decided by the module's type name so that
 * every module tree (loaded models and trees built from weight shapes) is covered. */
typedef enum
{
  PEFTQ_LORA_BASE_NONE,
  PEFTQ_LORA_BASE_LINEAR,
  PEFTQ_LORA_BASE_CONV1D,
  PEFTQ_LORA_BASE_CONV2D,
} PeftqLoraBaseKind;

typedef struct
{
  PeftqLoraBaseKind kind;
  gint64 in_features;   /* in_channels / groups for Conv2d */
  gint64 out_features;
  gint64 kernel[2];     /* Conv2d kernel size, 1 x 1 otherwise */
  guint stride[2];      /* Conv2d stride, which lora_A copies */
  guint padding[2];     /* Conv2d zero padding, which lora_A copies */
} PeftqLoraBaseShape;

PeftqLoraBaseKind peftq_lora_base_kind       (PeftqModule        *module);
/* Reads the feature sizes of a base layer from its weight shape: Linear (out, in),
 * Conv1D (in, out), Conv2d (out, in, kh, kw). */
gboolean          peftq_lora_base_get_shape  (PeftqModule        *module,
                                              PeftqLoraBaseShape *shape,
                                              GError            **error);
/* Checks that lora_A and lora_B weights fit the base layer and returns the rank. */
gboolean          peftq_lora_check_weights   (const PeftqLoraBaseShape *shape,
                                              const char         *layer_name,
                                              PeftqTensor        *lora_a,
                                              PeftqTensor        *lora_b,
                                              guint              *out_rank,
                                              GError            **error);
/* Creates the lora_A or lora_B module of a base layer holding @weight. */
PeftqModule      *peftq_lora_new_projection  (const PeftqLoraBaseShape *shape,
                                              gboolean            is_b,
                                              PeftqTensor        *weight,
                                              GError            **error);
/* Computes (B @ A) * scaling in float32, in the layout of the base layer's weight
 * (transposed for Conv1D). */
PeftqTensor      *peftq_lora_compute_delta   (const PeftqLoraBaseShape *shape,
                                              PeftqTensor        *lora_a,
                                              PeftqTensor        *lora_b,
                                              double              scaling,
                                              GError            **error);
/* Returns base + addend * scaling as a new float32 tensor of the shape of @base. */
PeftqTensor      *peftq_lora_add_scaled      (PeftqTensor        *base,
                                              PeftqTensor        *addend,
                                              float               scaling,
                                              GError            **error);
/* Creates the 0-d float32 tensor of a scaling. */
PeftqTensor      *peftq_lora_new_scalar      (double              value);

/* Signals shared by both LoRA layer types. */
enum
{
  PEFTQ_LORA_SIGNAL_ACTIVE_ADAPTERS_CHANGED,
  PEFTQ_LORA_SIGNAL_ADAPTER_WEIGHTS_CHANGED,
  PEFTQ_LORA_N_SIGNALS
};

G_END_DECLS
