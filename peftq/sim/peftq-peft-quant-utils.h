/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-module.h"
#include "peftq-quant-sim.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_PEFT_QUANT_UTILS (peftq_peft_quant_utils_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqPeftQuantUtils, peftq_peft_quant_utils, PEFTQ, PEFT_QUANT_UTILS, GObject)

PEFTQ_AVAILABLE_IN_ALL
PeftqPeftQuantUtils *peftq_peft_quant_utils_new                 (GHashTable           *meta_data,
                                                                 GHashTable           *name_to_module) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqPeftQuantUtils *peftq_peft_quant_utils_new_from_files      (const char           *meta_data_path,
                                                                 const char           *name_map_path,
                                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
char               **peftq_peft_quant_utils_get_lora_names      (PeftqPeftQuantUtils  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_peft_quant_utils_is_lora_module      (PeftqPeftQuantUtils  *self,
                                                                 const char           *sim_name);

PEFTQ_AVAILABLE_IN_ALL
void                 peftq_peft_quant_utils_freeze_base_model_param_quantizers      (PeftqPeftQuantUtils *self,
                                                                                     PeftqQuantSim       *sim);
PEFTQ_AVAILABLE_IN_ALL
void                 peftq_peft_quant_utils_freeze_base_model_activation_quantizers (PeftqPeftQuantUtils *self,
                                                                                     PeftqQuantSim       *sim);
PEFTQ_AVAILABLE_IN_ALL
void                 peftq_peft_quant_utils_freeze_base_model                       (PeftqPeftQuantUtils *self,
                                                                                     PeftqQuantSim       *sim);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_peft_quant_utils_set_bitwidth_for_lora_adapters          (PeftqPeftQuantUtils *self,
                                                                                     PeftqQuantSim       *sim,
                                                                                     guint                output_bw,
                                                                                     guint                param_bw,
                                                                                     GError             **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_peft_quant_utils_quantize_lora_scale_with_fixed_range    (PeftqPeftQuantUtils *self,
                                                                                     PeftqQuantSim       *sim,
                                                                                     guint                bitwidth,
                                                                                     double               scale_min,
                                                                                     double               scale_max,
                                                                                     guint               *n_clamped,
                                                                                     GError             **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_peft_quant_utils_enable_adapter_and_load_weights         (PeftqPeftQuantUtils *self,
                                                                                     PeftqQuantSim       *sim,
                                                                                     const char          *adapter_weights_path,
                                                                                     GError             **error);
PEFTQ_AVAILABLE_IN_ALL
void                 peftq_peft_quant_utils_disable_lora_adapters                   (PeftqPeftQuantUtils *self,
                                                                                     PeftqQuantSim       *sim);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_peft_quant_utils_export_adapter_weights                  (PeftqPeftQuantUtils *self,
                                                                                     PeftqQuantSim       *sim,
                                                                                     const char          *path,
                                                                                     const char          *filename_prefix,
                                                                                     const char          *onnx_model_path,
                                                                                     GError             **error);
PEFTQ_AVAILABLE_IN_ALL
GPtrArray           *peftq_peft_quant_utils_get_quantized_lora_layer                (PeftqPeftQuantUtils *self,
                                                                                     PeftqQuantSim       *sim,
                                                                                     char              ***out_names);
PEFTQ_AVAILABLE_IN_ALL
GPtrArray           *peftq_peft_quant_utils_get_fp_lora_layer                       (PeftqPeftQuantUtils *self,
                                                                                     PeftqModule         *model,
                                                                                     char              ***out_names);

G_END_DECLS
