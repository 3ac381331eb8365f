/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib-object.h>

#include "peftq-version-macros.h"
#include "peftq-tensor.h"
#include "peftq-lora-config.h"

G_BEGIN_DECLS

/**
 * PeftqAdapterKeyKind:
 * @PEFTQ_ADAPTER_KEY_KIND_LORA_A: `<path>.lora_A.weight`, the down projection of a LoRA pair
 * @PEFTQ_ADAPTER_KEY_KIND_LORA_B: `<path>.lora_B.weight`, the up projection of a LoRA pair
 * @PEFTQ_ADAPTER_KEY_KIND_LORA_BIAS: `<path>.lora_A.bias` or `<path>.lora_B.bias`, a
 *   LoRA bias (`lora_bias`), which peftq does not implement
 * @PEFTQ_ADAPTER_KEY_KIND_LORA_EMBEDDING: `<path>.lora_embedding_A` or
 *   `<path>.lora_embedding_B`, LoRA on an embedding, which peftq does not implement
 * @PEFTQ_ADAPTER_KEY_KIND_LORA_MAGNITUDE: `<path>.lora_magnitude_vector`, a DoRA
 *   magnitude, which peftq does not implement
 * @PEFTQ_ADAPTER_KEY_KIND_INDEXED: `<path>.lora_A.<n>.weight` or
 *   `<path>.lora_B.<n>.weight` and other keys with an adapter name or index after
 *   `lora_A`/`lora_B`: an in-memory PEFT key or an AIMET key, not a PEFT file key
 * @PEFTQ_ADAPTER_KEY_KIND_MODULE_PARAMETER: any other `<path>.<parameter>` key, such as
 *   the whole weight of a module in `modules_to_save`
 * @PEFTQ_ADAPTER_KEY_KIND_NO_PREFIX: a key that does not start with `base_model.model.`
 *
 * Kinds of tensor names in a PEFT `adapter_model.safetensors` file, as
 * [func@Peftq.Adapter.parse_key] classifies them.
 *
 * Since: 1.0
 */
typedef enum
{
  PEFTQ_ADAPTER_KEY_KIND_LORA_A,
  PEFTQ_ADAPTER_KEY_KIND_LORA_B,
  PEFTQ_ADAPTER_KEY_KIND_LORA_BIAS,
  PEFTQ_ADAPTER_KEY_KIND_LORA_EMBEDDING,
  PEFTQ_ADAPTER_KEY_KIND_LORA_MAGNITUDE,
  PEFTQ_ADAPTER_KEY_KIND_INDEXED,
  PEFTQ_ADAPTER_KEY_KIND_MODULE_PARAMETER,
  PEFTQ_ADAPTER_KEY_KIND_NO_PREFIX,
} PeftqAdapterKeyKind;

/**
 * PEFTQ_PEFT_MODEL_PREFIX:
 *
 * The prefix of every module name in a PEFT model: the `base_model` child of the
 * `PeftModel` and the `model` child of the `LoraModel`.
 *
 * Since: 1.0
 */
#define PEFTQ_PEFT_MODEL_PREFIX "base_model.model."

/**
 * PEFTQ_DEFAULT_ADAPTER_NAME:
 *
 * The adapter name that PEFT uses when none is given.
 *
 * Since: 1.0
 */
#define PEFTQ_DEFAULT_ADAPTER_NAME "default"

PEFTQ_AVAILABLE_IN_ALL
PeftqAdapterKeyKind peftq_adapter_parse_key (const char  *key,
                                             char       **module_path,
                                             char       **parameter);

#define PEFTQ_TYPE_ADAPTER (peftq_adapter_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqAdapter, peftq_adapter, PEFTQ, ADAPTER, GObject)

PEFTQ_AVAILABLE_IN_ALL
const char       *peftq_adapter_get_name              (PeftqAdapter  *self);
PEFTQ_AVAILABLE_IN_ALL
PeftqLoraConfig  *peftq_adapter_get_config            (PeftqAdapter  *self);
PEFTQ_AVAILABLE_IN_ALL
const char       *peftq_adapter_get_path              (PeftqAdapter  *self);
PEFTQ_AVAILABLE_IN_ALL
gboolean          peftq_adapter_get_active            (PeftqAdapter  *self);
PEFTQ_AVAILABLE_IN_ALL
void              peftq_adapter_set_active            (PeftqAdapter  *self,
                                                       gboolean       active);
PEFTQ_AVAILABLE_IN_ALL
guint             peftq_adapter_get_n_layers          (PeftqAdapter  *self);
PEFTQ_AVAILABLE_IN_ALL
char            **peftq_adapter_list_layer_names      (PeftqAdapter  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
gboolean          peftq_adapter_has_layer             (PeftqAdapter  *self,
                                                       const char    *layer_name);
PEFTQ_AVAILABLE_IN_ALL
guint             peftq_adapter_get_rank              (PeftqAdapter  *self,
                                                       const char    *layer_name);
PEFTQ_AVAILABLE_IN_ALL
double            peftq_adapter_get_alpha             (PeftqAdapter  *self,
                                                       const char    *layer_name);
PEFTQ_AVAILABLE_IN_ALL
double            peftq_adapter_get_scaling           (PeftqAdapter  *self,
                                                       const char    *layer_name);
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor      *peftq_adapter_get_lora_a            (PeftqAdapter  *self,
                                                       const char    *layer_name);
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor      *peftq_adapter_get_lora_b            (PeftqAdapter  *self,
                                                       const char    *layer_name);
PEFTQ_AVAILABLE_IN_ALL
guint             peftq_adapter_get_n_tensors         (PeftqAdapter  *self);
PEFTQ_AVAILABLE_IN_ALL
char            **peftq_adapter_list_tensor_names     (PeftqAdapter  *self) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
PeftqTensor      *peftq_adapter_get_tensor            (PeftqAdapter  *self,
                                                       const char    *name);
PEFTQ_AVAILABLE_IN_ALL
char            **peftq_adapter_list_saved_modules    (PeftqAdapter  *self) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
