/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_QUANTIZER (peftq_quantizer_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (PeftqQuantizer, peftq_quantizer, PEFTQ, QUANTIZER, GObject)

/**
 * PeftqQuantizerClass:
 * @parent_class: the parent class
 * @forward: applies the quantizer to a tensor; see [method@Peftq.Quantizer.forward]
 *
 * The class structure of [class@Peftq.Quantizer].
 *
 * Since: 1.0
 */
struct _PeftqQuantizerClass
{
  GObjectClass parent_class;

  PeftqTensor *(*forward) (PeftqQuantizer  *self,
                           PeftqTensor     *input,
                           GError         **error);

  /*< private >*/
  gpointer padding[16];
};

PEFTQ_AVAILABLE_IN_ALL
PeftqTensor *peftq_quantizer_forward  (PeftqQuantizer  *self,
                                       PeftqTensor     *input,
                                       GError         **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
const char  *peftq_quantizer_get_name (PeftqQuantizer  *self);
PEFTQ_AVAILABLE_IN_ALL
void         peftq_quantizer_set_name (PeftqQuantizer  *self,
                                       const char      *name);

G_END_DECLS
