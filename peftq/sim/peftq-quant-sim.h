/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <gio/gio.h>

#include "peftq-version-macros.h"
#include "peftq-module.h"
#include "peftq-onnx-model.h"
#include "peftq-quantizer.h"
#include "peftq-quantsim-config.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

/**
 * PeftqQuantScheme:
 * @PEFTQ_QUANT_SCHEME_TF: min-max calibration (AIMET's `post_training_tf`)
 * @PEFTQ_QUANT_SCHEME_TF_ENHANCED: SQNR calibration (AIMET's `post_training_tf_enhanced`,
 *   the default)
 * @PEFTQ_QUANT_SCHEME_PERCENTILE: percentile calibration (AIMET's
 *   `post_training_percentile`)
 *
 * How a quantization simulation computes encodings from the data it observes.
 *
 * Since: 1.0
 */
typedef enum
{
  PEFTQ_QUANT_SCHEME_TF,
  PEFTQ_QUANT_SCHEME_TF_ENHANCED,
  PEFTQ_QUANT_SCHEME_PERCENTILE,
} PeftqQuantScheme;

/**
 * PeftqForwardPassFunc:
 * @model: the simulated model
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * Runs the calibration data through @model, AIMET's `forward_pass_callback`.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set on failure
 *
 * Since: 1.0
 */
typedef gboolean (*PeftqForwardPassFunc) (PeftqModule  *model,
                                          gpointer      user_data,
                                          GError      **error);

#define PEFTQ_TYPE_QUANT_SIM (peftq_quant_sim_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqQuantSim, peftq_quant_sim, PEFTQ, QUANT_SIM, GObject)

PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_scheme_from_string          (const char           *name,
                                                              PeftqQuantScheme     *out_scheme,
                                                              GError              **error);
PEFTQ_AVAILABLE_IN_ALL
const char          *peftq_quant_scheme_to_string            (PeftqQuantScheme      scheme);

PEFTQ_AVAILABLE_IN_ALL
PeftqQuantSim       *peftq_quant_sim_new                     (PeftqModule          *model,
                                                              PeftqTensor          *dummy_input,
                                                              PeftqQuantsimConfig  *config,
                                                              PeftqQuantScheme      quant_scheme,
                                                              guint                 default_output_bw,
                                                              guint                 default_param_bw,
                                                              GError              **error) G_GNUC_WARN_UNUSED_RESULT;

PEFTQ_AVAILABLE_IN_ALL
PeftqModule         *peftq_quant_sim_get_model               (PeftqQuantSim        *self);
PEFTQ_AVAILABLE_IN_ALL
PeftqQuantsimConfig *peftq_quant_sim_get_config              (PeftqQuantSim        *self);
PEFTQ_AVAILABLE_IN_ALL
PeftqQuantScheme     peftq_quant_sim_get_quant_scheme        (PeftqQuantSim        *self);
PEFTQ_AVAILABLE_IN_ALL
guint                peftq_quant_sim_get_default_output_bw   (PeftqQuantSim        *self);
PEFTQ_AVAILABLE_IN_ALL
guint                peftq_quant_sim_get_default_param_bw    (PeftqQuantSim        *self);
PEFTQ_AVAILABLE_IN_ALL
double               peftq_quant_sim_get_percentile_value    (PeftqQuantSim        *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_set_percentile_value    (PeftqQuantSim        *self,
                                                              double                value,
                                                              GError              **error);
PEFTQ_AVAILABLE_IN_ALL
const char          *peftq_quant_sim_get_encodings_version   (PeftqQuantSim        *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_set_encodings_version   (PeftqQuantSim        *self,
                                                              const char           *version,
                                                              GError              **error);

/* Quantizers by name: "<module>.<param>", "<module>.input.<i>", "<module>.output" for
 * output 0 and "<module>.output.<i>" for the others. */
PEFTQ_AVAILABLE_IN_ALL
guint                peftq_quant_sim_get_n_quantizers        (PeftqQuantSim        *self);
PEFTQ_AVAILABLE_IN_ALL
char               **peftq_quant_sim_get_quantizer_names     (PeftqQuantSim        *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqQuantizer      *peftq_quant_sim_get_quantizer           (PeftqQuantSim        *self,
                                                              const char           *name);
PEFTQ_AVAILABLE_IN_ALL
PeftqModule         *peftq_quant_sim_get_quantizer_module    (PeftqQuantSim        *self,
                                                              const char           *name);
PEFTQ_AVAILABLE_IN_ALL
GListModel          *peftq_quant_sim_list_quantizers         (PeftqQuantSim        *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_set_quantizer           (PeftqQuantSim        *self,
                                                              const char           *name,
                                                              PeftqQuantizer       *quantizer,
                                                              GError              **error);

PEFTQ_AVAILABLE_IN_ALL
PeftqTensor         *peftq_quant_sim_forward                 (PeftqQuantSim        *self,
                                                              PeftqTensor          *input,
                                                              GCancellable         *cancellable,
                                                              GError              **error) G_GNUC_WARN_UNUSED_RESULT;

/* Calibration (AIMET's compute_encodings). */
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_compute_encodings       (PeftqQuantSim        *self,
                                                              PeftqForwardPassFunc  forward_pass,
                                                              gpointer              user_data,
                                                              GError              **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_compute_encodings_for_tensor (PeftqQuantSim   *self,
                                                                   PeftqTensor     *input_ids,
                                                                   guint            batch_size,
                                                                   GCancellable    *cancellable,
                                                                   GError         **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_compute_encodings_from_file (PeftqQuantSim    *self,
                                                                  const char       *path,
                                                                  guint             batch_size,
                                                                  GCancellable     *cancellable,
                                                                  GError          **error);
PEFTQ_AVAILABLE_IN_ALL
void                 peftq_quant_sim_compute_encodings_from_file_async  (PeftqQuantSim       *self,
                                                                         const char          *path,
                                                                         guint                batch_size,
                                                                         GCancellable        *cancellable,
                                                                         GAsyncReadyCallback  callback,
                                                                         gpointer             user_data);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_compute_encodings_from_file_finish (PeftqQuantSim       *self,
                                                                         GAsyncResult        *result,
                                                                         GError             **error);

/* Export and load (AIMET's export, load_encodings and load_and_freeze_encodings). */
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_export                  (PeftqQuantSim        *self,
                                                              const char           *path,
                                                              const char           *filename_prefix,
                                                              PeftqTensor          *dummy_input,
                                                              gboolean              export_model,
                                                              const char           *filename_prefix_encodings,
                                                              GError              **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_export_encodings        (PeftqQuantSim        *self,
                                                              const char           *path,
                                                              const char           *filename_prefix_encodings,
                                                              PeftqOnnxModel       *onnx_model,
                                                              GError              **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_load_encodings          (PeftqQuantSim        *self,
                                                              const char           *path,
                                                              gboolean              strict,
                                                              gboolean              partial,
                                                              GError              **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean             peftq_quant_sim_load_and_freeze_encodings (PeftqQuantSim      *self,
                                                                const char         *path,
                                                                GError            **error);

G_END_DECLS
