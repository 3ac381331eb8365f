/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-module.h"
#include "peftq-safetensors.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_SHAPE_MODEL (peftq_shape_model_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqShapeModel, peftq_shape_model, PEFTQ, SHAPE_MODEL, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqShapeModel *peftq_shape_model_new_from_safetensors (PeftqSafetensorsFile  *file,
                                                         const char            *architecture,
                                                         GError               **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqShapeModel *peftq_shape_model_new_from_shapes      (const char            *data,
                                                         gssize                 length,
                                                         const char            *architecture,
                                                         GError               **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
const char      *peftq_shape_model_get_architecture     (PeftqShapeModel       *self);

G_END_DECLS
