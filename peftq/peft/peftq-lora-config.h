/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_LORA_CONFIG (peftq_lora_config_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqLoraConfig, peftq_lora_config, PEFTQ, LORA_CONFIG, GObject)

PEFTQ_AVAILABLE_IN_ALL
PeftqLoraConfig     *peftq_lora_config_new                     (guint             r,
                                                                double            lora_alpha,
                                                                const char *const *target_modules) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqLoraConfig     *peftq_lora_config_new_from_data           (const char       *data,
                                                                gssize            length,
                                                                GError          **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqLoraConfig     *peftq_lora_config_new_from_file           (const char       *path,
                                                                GError          **error) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
guint                peftq_lora_config_get_r                   (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
double               peftq_lora_config_get_lora_alpha          (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
double               peftq_lora_config_get_lora_dropout        (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_lora_config_get_use_rslora          (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_lora_config_get_use_dora            (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_lora_config_get_fan_in_fan_out      (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
const char          *peftq_lora_config_get_bias                (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
const char *const   *peftq_lora_config_get_target_modules      (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
const char          *peftq_lora_config_get_target_modules_regex (PeftqLoraConfig *self);
PEFTQ_AVAILABLE_IN_ALL
const char *const   *peftq_lora_config_get_exclude_modules     (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
const char          *peftq_lora_config_get_exclude_modules_regex (PeftqLoraConfig *self);
PEFTQ_AVAILABLE_IN_ALL
const gint          *peftq_lora_config_get_layers_to_transform (PeftqLoraConfig  *self,
                                                                gsize            *n_layers);
PEFTQ_AVAILABLE_IN_ALL
const char *const   *peftq_lora_config_get_layers_pattern      (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
const char *const   *peftq_lora_config_get_modules_to_save     (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
char               **peftq_lora_config_list_rank_pattern_keys  (PeftqLoraConfig  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
char               **peftq_lora_config_list_alpha_pattern_keys (PeftqLoraConfig  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
const char          *peftq_lora_config_get_peft_type           (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
const char          *peftq_lora_config_get_task_type           (PeftqLoraConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
const char          *peftq_lora_config_get_base_model_name_or_path (PeftqLoraConfig *self);

PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_lora_config_is_target               (PeftqLoraConfig  *self,
                                                                const char       *key);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_lora_config_is_module_to_save       (PeftqLoraConfig  *self,
                                                                const char       *key);
PEFTQ_AVAILABLE_IN_ALL
void                 peftq_lora_config_get_rank_and_alpha      (PeftqLoraConfig  *self,
                                                                const char       *key,
                                                                guint            *out_rank,
                                                                double           *out_alpha);
PEFTQ_AVAILABLE_IN_ALL
double               peftq_lora_config_get_scaling             (PeftqLoraConfig  *self,
                                                                const char       *key);
PEFTQ_AVAILABLE_IN_ALL
double               peftq_lora_compute_scaling                (double            lora_alpha,
                                                                guint             r,
                                                                gboolean          use_rslora);

G_END_DECLS
