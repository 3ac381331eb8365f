/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_QUANTSIM_CONFIG (peftq_quantsim_config_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqQuantsimConfig, peftq_quantsim_config, PEFTQ, QUANTSIM_CONFIG, GObject)

PEFTQ_AVAILABLE_IN_ALL
PeftqQuantsimConfig  *peftq_quantsim_config_new_default             (void) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqQuantsimConfig  *peftq_quantsim_config_new_default_per_channel (void) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqQuantsimConfig  *peftq_quantsim_config_new_from_file           (const char           *path,
                                                                     GError              **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqQuantsimConfig  *peftq_quantsim_config_new_from_data           (const char           *data,
                                                                     gssize                length,
                                                                     GError              **error) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
char                 *peftq_quantsim_config_to_data                 (PeftqQuantsimConfig  *self,
                                                                     gsize                *length) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_is_output_quantized     (PeftqQuantsimConfig  *self,
                                                                     const char           *op_type);
PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_is_input_quantized      (PeftqQuantsimConfig  *self,
                                                                     const char           *op_type);
PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_is_activation_symmetric (PeftqQuantsimConfig  *self,
                                                                     const char           *op_type);
PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_is_param_quantized      (PeftqQuantsimConfig  *self,
                                                                     const char           *op_type,
                                                                     const char           *param_kind);
PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_is_param_symmetric      (PeftqQuantsimConfig  *self,
                                                                     const char           *op_type,
                                                                     const char           *param_kind);
PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_is_per_channel          (PeftqQuantsimConfig  *self,
                                                                     const char           *op_type);
PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_get_encoding_constraints (PeftqQuantsimConfig *self,
                                                                      const char          *op_type,
                                                                      double              *out_min,
                                                                      double              *out_max);
PEFTQ_AVAILABLE_IN_ALL
char                **peftq_quantsim_config_get_op_types            (PeftqQuantsimConfig  *self) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
guint                 peftq_quantsim_config_get_n_supergroups       (PeftqQuantsimConfig  *self);
PEFTQ_AVAILABLE_IN_ALL
char                **peftq_quantsim_config_get_supergroup          (PeftqQuantsimConfig  *self,
                                                                     guint                 index) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_is_model_input_quantized  (PeftqQuantsimConfig *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_is_model_output_quantized (PeftqQuantsimConfig *self);

PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_get_quantizer_args_symmetric   (PeftqQuantsimConfig *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean              peftq_quantsim_config_get_quantizer_args_per_channel (PeftqQuantsimConfig *self);

G_END_DECLS
