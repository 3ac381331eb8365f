/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-tensor.h"

G_BEGIN_DECLS

/* The weights of a Hugging Face model folder: model.safetensors, or the shards that
 * model.safetensors.index.json lists. Every shard is opened (memory-mapped) up front, so
 * a missing shard fails at once. */
typedef struct _PeftqWeightSource PeftqWeightSource;

PeftqWeightSource *peftq_weight_source_open  (const char         *folder,
                                              GError            **error);
void               peftq_weight_source_free  (PeftqWeightSource  *source);
gboolean           peftq_weight_source_has   (PeftqWeightSource  *source,
                                              const char         *name);
/* Returns the memory-mapped tensor @name, or fails naming it and the folder. */
PeftqTensor       *peftq_weight_source_get   (PeftqWeightSource  *source,
                                              const char         *name,
                                              GError            **error);

/* Lists, sorted, the checkpoint tensors that no peftq_weight_source_get() call read,
 * leaving out buffers that PyTorch checkpoints carry but models recompute (rotary
 * `inv_freq` tables and GPT-2's attention `bias` and `masked_bias` masks). */
GPtrArray         *peftq_weight_source_list_unused (PeftqWeightSource *source);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeftqWeightSource, peftq_weight_source_free)

G_END_DECLS
