/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib.h>

#include "peftq-version-macros.h"
#include "peftq-module.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

PEFTQ_AVAILABLE_IN_ALL
gboolean peftq_module_export_onnx (PeftqModule  *self,
                                   PeftqTensor  *dummy_input_ids,
                                   const char   *path,
                                   GError      **error);

G_END_DECLS
