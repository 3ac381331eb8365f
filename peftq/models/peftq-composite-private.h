/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-module.h"

G_BEGIN_DECLS

/* Computes the output of a composite module, usually by running its children. */
typedef PeftqTensor *(*PeftqCompositeForwardFunc) (PeftqModule          *self,
                                                   PeftqForwardContext  *context,
                                                   PeftqTensor         **inputs,
                                                   guint                 n_inputs,
                                                   gpointer              user_data,
                                                   GError              **error);

#define PEFTQ_TYPE_COMPOSITE (peftq_composite_get_type ())
G_DECLARE_FINAL_TYPE (PeftqComposite, peftq_composite, PEFTQ, COMPOSITE, PeftqModule)

/* Creates a module whose forward pass is @forward and whose type name is @type_name (a
 * static string, such as "LlamaDecoderLayer"). The architecture files build their
 * blocks from it, so that each block needs a function instead of a GObject type.
 * @user_data is freed with @destroy when the module is finalized. */
PeftqModule *peftq_composite_new (const char                *type_name,
                                  PeftqCompositeForwardFunc  forward,
                                  gpointer                   user_data,
                                  GDestroyNotify             destroy);

/* Runs the child @name of @self on one or two inputs (@second may be NULL). */
PeftqTensor *peftq_composite_run_child (PeftqModule          *self,
                                        const char           *name,
                                        PeftqForwardContext  *context,
                                        PeftqTensor          *first,
                                        PeftqTensor          *second,
                                        GError              **error);

/* Runs a pre-norm transformer block on @input: the attention child on the first norm's
 * output, added to @input by the child `attn_residual_add`, then the MLP child on the
 * second norm's output, added by `mlp_residual_add`. Llama and GPT-2 blocks differ only
 * in the names of these children. */
PeftqTensor *peftq_composite_run_pre_norm_block (PeftqModule          *self,
                                                 PeftqForwardContext  *context,
                                                 PeftqTensor          *input,
                                                 const char           *attention_norm,
                                                 const char           *attention,
                                                 const char           *mlp_norm,
                                                 const char           *mlp,
                                                 GError              **error);

G_END_DECLS
