/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-onnx-export-private.h"

#include "peftq-error.h"

static PeftqOnnxExportFunc override_func;
static gpointer override_data;

void
peftq_onnx_export_set_override (PeftqOnnxExportFunc func,
                                gpointer            user_data)
{
  override_func = func;
  override_data = user_data;
}

gboolean
peftq_onnx_export_module (PeftqModule  *model,
                          PeftqTensor  *dummy_input,
                          const char   *path,
                          GError      **error)
{
  g_return_val_if_fail (PEFTQ_IS_MODULE (model), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (override_func != NULL)
    return override_func (model, dummy_input, path, override_data, error);

  /* NOTE: the ONNX tracer goes here. */
  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
               "Cannot write %s: ONNX export by tracing is not implemented yet; export "
               "with export_model FALSE next to an existing ONNX file, or write the "
               "encodings alone with peftq_quant_sim_export_encodings()",
               path);
  return FALSE;
}
