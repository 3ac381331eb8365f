/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-module.h"
#include "peftq-adapter.h"
#include "peftq-lora-config.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_PEFT_MODEL (peftq_peft_model_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqPeftModel, peftq_peft_model, PEFTQ, PEFT_MODEL, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqPeftModel *peftq_peft_model_new                 (PeftqModule      *model) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqPeftModel *peftq_get_peft_model                 (PeftqModule      *model,
                                                      PeftqLoraConfig  *config,
                                                      const char       *adapter_name,
                                                      GError          **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqModule    *peftq_peft_model_get_model           (PeftqPeftModel   *self);
PEFTQ_AVAILABLE_IN_ALL
PeftqAdapter   *peftq_peft_model_load_adapter        (PeftqPeftModel   *self,
                                                      const char       *path,
                                                      const char       *adapter_name,
                                                      GError          **error);
PEFTQ_AVAILABLE_IN_ALL
PeftqAdapter   *peftq_peft_model_add_adapter         (PeftqPeftModel   *self,
                                                      const char       *adapter_name,
                                                      PeftqLoraConfig  *config,
                                                      guint32           seed,
                                                      GError          **error);
PEFTQ_AVAILABLE_IN_ALL
guint           peftq_peft_model_get_n_adapters      (PeftqPeftModel   *self);
PEFTQ_AVAILABLE_IN_ALL
PeftqAdapter   *peftq_peft_model_get_adapter         (PeftqPeftModel   *self,
                                                      const char       *adapter_name);
PEFTQ_AVAILABLE_IN_ALL
GPtrArray      *peftq_peft_model_list_adapters       (PeftqPeftModel   *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean        peftq_peft_model_set_active_adapters (PeftqPeftModel   *self,
                                                      const char *const *adapter_names,
                                                      GError          **error);

G_END_DECLS
