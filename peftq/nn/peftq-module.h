/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-tensor.h"
#include "peftq-quantizer.h"
#include "peftq-forward-context.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_MODULE (peftq_module_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (PeftqModule, peftq_module, PEFTQ, MODULE, GObject)

/**
 * PeftqModuleClass:
 * @parent_class: the parent class
 * @forward: computes the output of the module from its inputs; called by
 *   [method@Peftq.Module.forward] after the input quantizers and before the output
 *   quantizer. Leaf modules read their parameters through
 *   [method@Peftq.Module.get_effective_parameter]. Container modules call
 *   [method@Peftq.Module.forward] on their children.
 * @get_op_type: returns the ONNX operator type that this module exports to (such as
 *   `Gemm`, `MatMul`, `Add`, `Mul`, `Softmax`, `Gather`), which quantsim configurations
 *   match on; `NULL` for container modules
 * @get_type_name: returns the PyTorch-style class name (such as `Linear` or `RMSNorm`)
 *   used in messages and listings
 *
 * The class structure of [class@Peftq.Module].
 *
 * Since: 1.0
 */
struct _PeftqModuleClass
{
  GObjectClass parent_class;

  PeftqTensor *(*forward)       (PeftqModule          *self,
                                 PeftqForwardContext  *context,
                                 PeftqTensor         **inputs,
                                 guint                 n_inputs,
                                 GError              **error);
  const char  *(*get_op_type)   (PeftqModule          *self);
  const char  *(*get_type_name) (PeftqModule          *self);

  /*< private >*/
  gpointer padding[16];
};

PEFTQ_AVAILABLE_IN_ALL
PeftqModule  *peftq_module_new                 (void) G_GNUC_WARN_UNUSED_RESULT;

/* Identity and tree. The qualified name joins the local names from the root down with
 * dots, as PyTorch's named_modules() does; the root's own name is empty. */
PEFTQ_AVAILABLE_IN_ALL
const char   *peftq_module_get_name            (PeftqModule  *self);
PEFTQ_AVAILABLE_IN_ALL
char         *peftq_module_dup_qualified_name  (PeftqModule  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqModule  *peftq_module_get_parent          (PeftqModule  *self);
PEFTQ_AVAILABLE_IN_ALL
const char   *peftq_module_get_op_type         (PeftqModule  *self);
PEFTQ_AVAILABLE_IN_ALL
const char   *peftq_module_get_type_name       (PeftqModule  *self);

PEFTQ_AVAILABLE_IN_ALL
void          peftq_module_add_child           (PeftqModule  *self,
                                                const char   *name,
                                                PeftqModule  *child);
PEFTQ_AVAILABLE_IN_ALL
PeftqModule  *peftq_module_get_child           (PeftqModule  *self,
                                                const char   *name);
PEFTQ_AVAILABLE_IN_ALL
gboolean      peftq_module_replace_child       (PeftqModule  *self,
                                                const char   *name,
                                                PeftqModule  *child,
                                                GError      **error);
PEFTQ_AVAILABLE_IN_ALL
GPtrArray    *peftq_module_get_children        (PeftqModule  *self);
PEFTQ_AVAILABLE_IN_ALL
PeftqModule  *peftq_module_find_module         (PeftqModule  *self,
                                                const char   *path);
/* Every module of the subtree, @self first, in PyTorch's named_modules() order
 * (pre-order, children in registration order, shared modules once). */
PEFTQ_AVAILABLE_IN_ALL
GPtrArray    *peftq_module_list_modules        (PeftqModule  *self);
/* The names of the modules of peftq_module_list_modules(), relative to @self ("" first). */
PEFTQ_AVAILABLE_IN_ALL
char        **peftq_module_list_module_names   (PeftqModule  *self) G_GNUC_WARN_UNUSED_RESULT;

/* Parameters, ordered by registration. A registered parameter may hold no tensor yet. */
PEFTQ_AVAILABLE_IN_ALL
void          peftq_module_register_parameter  (PeftqModule  *self,
                                                const char   *name,
                                                PeftqTensor  *tensor);
PEFTQ_AVAILABLE_IN_ALL
void          peftq_module_tie_parameter       (PeftqModule  *self,
                                                const char   *name,
                                                PeftqModule  *source,
                                                const char   *source_name);
PEFTQ_AVAILABLE_IN_ALL
gboolean      peftq_module_has_parameter       (PeftqModule  *self,
                                                const char   *name);
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor  *peftq_module_get_parameter       (PeftqModule  *self,
                                                const char   *name);
PEFTQ_AVAILABLE_IN_ALL
gboolean      peftq_module_set_parameter       (PeftqModule  *self,
                                                const char   *name,
                                                PeftqTensor  *tensor,
                                                GError      **error);
PEFTQ_AVAILABLE_IN_ALL
char        **peftq_module_list_parameter_names (PeftqModule *self) G_GNUC_WARN_UNUSED_RESULT;
/* Qualified parameter names (module path + "." + parameter) of the whole subtree, in
 * PyTorch's named_parameters() order, shared tensors once. */
PEFTQ_AVAILABLE_IN_ALL
char        **peftq_module_list_named_parameters (PeftqModule *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
GHashTable   *peftq_module_state_dict          (PeftqModule  *self) G_GNUC_WARN_UNUSED_RESULT;
/* The keys of peftq_module_state_dict() in PyTorch's state_dict() order. */
PEFTQ_AVAILABLE_IN_ALL
char        **peftq_module_list_state_dict_keys (PeftqModule *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean      peftq_module_load_state_dict     (PeftqModule  *self,
                                                GHashTable   *state_dict,
                                                gboolean      strict,
                                                GError      **error);

/* Parameter as the forward pass uses it: float32, and quantize-dequantized when the
 * parameter has an enabled quantizer. */
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor  *peftq_module_get_effective_parameter (PeftqModule  *self,
                                                    const char   *name,
                                                    GError      **error) G_GNUC_WARN_UNUSED_RESULT;

/* Quantizer slots, empty until a simulation fills them. */
PEFTQ_AVAILABLE_IN_ALL
void            peftq_module_set_input_quantizer  (PeftqModule    *self,
                                                   guint           index,
                                                   PeftqQuantizer *quantizer);
PEFTQ_AVAILABLE_IN_ALL
PeftqQuantizer *peftq_module_get_input_quantizer  (PeftqModule    *self,
                                                   guint           index);
PEFTQ_AVAILABLE_IN_ALL
guint           peftq_module_get_n_input_quantizers (PeftqModule  *self);
PEFTQ_AVAILABLE_IN_ALL
void            peftq_module_set_output_quantizer (PeftqModule    *self,
                                                   guint           index,
                                                   PeftqQuantizer *quantizer);
PEFTQ_AVAILABLE_IN_ALL
PeftqQuantizer *peftq_module_get_output_quantizer (PeftqModule    *self,
                                                   guint           index);
PEFTQ_AVAILABLE_IN_ALL
guint           peftq_module_get_n_output_quantizers (PeftqModule *self);
PEFTQ_AVAILABLE_IN_ALL
void            peftq_module_set_param_quantizer  (PeftqModule    *self,
                                                   const char     *param_name,
                                                   PeftqQuantizer *quantizer);
PEFTQ_AVAILABLE_IN_ALL
PeftqQuantizer *peftq_module_get_param_quantizer  (PeftqModule    *self,
                                                   const char     *param_name);
PEFTQ_AVAILABLE_IN_ALL
void            peftq_module_clear_quantizers     (PeftqModule    *self);

/* Runs the module: input quantizers, the class's forward, then output quantizer 0. */
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor  *peftq_module_forward             (PeftqModule          *self,
                                                PeftqForwardContext  *context,
                                                PeftqTensor         **inputs,
                                                guint                 n_inputs,
                                                GError              **error) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor  *peftq_module_forward_one         (PeftqModule          *self,
                                                PeftqForwardContext  *context,
                                                PeftqTensor          *input,
                                                GError              **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
