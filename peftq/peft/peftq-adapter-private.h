/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-adapter.h"

G_BEGIN_DECLS

PeftqAdapter *peftq_adapter_new              (const char      *name,
                                              PeftqLoraConfig *config,
                                              const char      *path);
/* Records one LoRA layer of the adapter under its full module name. The tensors are
 * referenced, not copied. */
void          peftq_adapter_add_layer        (PeftqAdapter    *self,
                                              const char      *layer_name,
                                              guint            rank,
                                              double           alpha,
                                              double           scaling,
                                              PeftqTensor     *lora_a,
                                              PeftqTensor     *lora_b);
/* Records a tensor of the adapter file under its key. */
void          peftq_adapter_add_tensor       (PeftqAdapter    *self,
                                              const char      *name,
                                              PeftqTensor     *tensor);
void          peftq_adapter_add_saved_module (PeftqAdapter    *self,
                                              const char      *module_name);

G_END_DECLS
