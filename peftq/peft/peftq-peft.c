/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-peft.h"
#include "peftq-adapter-meta-data-private.h"
#include "peftq-error.h"
#include "peftq-lora-layer-private.h"
#include "peftq-peft-lora-layer.h"
#include "peftq-safetensors.h"
#include "peftq-file-private.h"

#include <string.h>

static GPtrArray *
list_modules_of_type (PeftqModule *model,
                      GType        type)
{
  g_autoptr(GPtrArray) modules = peftq_module_list_modules (model);
  GPtrArray *result = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < modules->len; i++)
    {
      PeftqModule *module = g_ptr_array_index (modules, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (module, type))
        g_ptr_array_add (result, g_object_ref (module));
    }
  return result;
}

/**
 * peftq_list_lora_layers:
 * @model: a module tree
 *
 * Lists the quantizable LoRA layers of a model in module order, the layers that
 * [func@Peftq.replace_lora_layers_with_quantizable_layers] made. A simulation walks
 * these to find each adapter's lora_A, lora_B, `mul_scale` and `add_lora_to_res`
 * modules and scaling.
 *
 * Returns: (transfer container) (element-type PeftqLoraLayer): the layers
 *
 * Since: 1.0
 */
GPtrArray *
peftq_list_lora_layers (PeftqModule *model)
{
  g_return_val_if_fail (PEFTQ_IS_MODULE (model), NULL);
  return list_modules_of_type (model, PEFTQ_TYPE_LORA_LAYER);
}

/**
 * peftq_list_peft_lora_layers:
 * @model: a module tree
 *
 * Lists the PEFT-style LoRA layers of a model in module order.
 *
 * Returns: (transfer container) (element-type PeftqPeftLoraLayer): the layers
 *
 * Since: 1.0
 */
GPtrArray *
peftq_list_peft_lora_layers (PeftqModule *model)
{
  g_return_val_if_fail (PEFTQ_IS_MODULE (model), NULL);
  return list_modules_of_type (model, PEFTQ_TYPE_PEFT_LORA_LAYER);
}

/**
 * peftq_replace_lora_layers_with_quantizable_layers:
 * @model: a module tree, usually a [class@Peftq.PeftModel]
 * @n_replaced: (out) (optional): the number of layers replaced
 * @error: return location for a #GError
 *
 * Replaces every [class@Peftq.PeftLoraLayer] of @model by a [class@Peftq.LoraLayer]
 * in place, as AIMET's function of the same name does. The base layer and the LoRA
 * modules move over unchanged. `lora_A.<adapter name>` becomes `lora_A.<index>`, with
 * indices in the order the adapters were added, and each adapter gains its own
 * `mul_scale` and `add_lora_to_res` modules. The output of the model does not change,
 * apart from float rounding when the scaling is not a power of two (it now multiplies
 * the rank-r intermediate instead of the lora_B output).
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
peftq_replace_lora_layers_with_quantizable_layers (PeftqModule  *model,
                                                   guint        *n_replaced,
                                                   GError      **error)
{
  g_autoptr(GPtrArray) layers = NULL;

  g_return_val_if_fail (PEFTQ_IS_MODULE (model), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  layers = peftq_list_peft_lora_layers (model);
  for (guint i = 0; i < layers->len; i++)
    {
      PeftqPeftLoraLayer *peft_layer = g_ptr_array_index (layers, i);
      PeftqModule *parent = peftq_module_get_parent (PEFTQ_MODULE (peft_layer));
      g_autofree char *name = g_strdup (peftq_module_get_name (PEFTQ_MODULE (peft_layer)));
      g_autoptr(PeftqLoraLayer) layer = NULL;

      if (parent == NULL)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "The root of the model is a LoRA layer; wrap it in a PEFT model first");
          return FALSE;
        }

      layer = peftq_lora_layer_new_from_peft (peft_layer);
      /* The parent exists and has a child of that name, so this cannot fail. */
      if (!peftq_module_replace_child (parent, name, PEFTQ_MODULE (layer), error))
        return FALSE;
    }

  if (n_replaced != NULL)
    *n_replaced = layers->len;
  return TRUE;
}

/* Returns the module whose parameters stand for lora_A or lora_B in saved files and
 * metadata: the module itself, or its child `conv2d` when it is an instance of
 * @replaced_module_type, as AIMET's track_lora_meta_data does. */
static PeftqModule *
resolve_replaced (PeftqModule *module,
                  GType        replaced_module_type)
{
  if (replaced_module_type != G_TYPE_INVALID && replaced_module_type != G_TYPE_NONE &&
      G_TYPE_CHECK_INSTANCE_TYPE (module, replaced_module_type))
    {
      PeftqModule *conv2d = peftq_module_get_child (module, "conv2d");

      if (conv2d != NULL)
        return conv2d;
    }
  return module;
}

static gboolean
add_module_parameters (PeftqSafetensorsWriter  *writer,
                       PeftqModule             *module,
                       GError                 **error)
{
  g_autofree char *prefix = peftq_module_dup_qualified_name (module);
  g_auto(GStrv) names = peftq_module_list_named_parameters (module);
  g_autoptr(GHashTable) state = peftq_module_state_dict (module);

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *key = g_strconcat (prefix, ".", names[i], NULL);
      PeftqTensor *tensor = g_hash_table_lookup (state, names[i]);

      if (tensor == NULL)
        continue;
      if (!peftq_safetensors_writer_add_tensor (writer, key, tensor, error))
        return FALSE;
    }
  return TRUE;
}

/**
 * peftq_save_lora_weights_after_adaptation:
 * @model: a module tree after [func@Peftq.replace_lora_layers_with_quantizable_layers]
 *   (and after any module swaps)
 * @path: (type filename): an existing folder
 * @filename_prefix: the file name without extension
 * @error: return location for a #GError
 *
 * Writes `<path>/<filename_prefix>.safetensor` (AIMET's singular extension) holding
 * every parameter of every lora_A and lora_B module of every adapter, keyed by its full
 * name in @model, such as `base_model.model.linear.lora_A.0.weight`. The model is not
 * changed.
 *
 * Returns: `TRUE` on success, `FALSE` when the model has no LoRA layer or the file
 *   cannot be written
 *
 * Since: 1.0
 */
gboolean
peftq_save_lora_weights_after_adaptation (PeftqModule  *model,
                                          const char   *path,
                                          const char   *filename_prefix,
                                          GError      **error)
{
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autofree char *file_name = NULL;
  g_autofree char *file_path = NULL;

  g_return_val_if_fail (PEFTQ_IS_MODULE (model), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (filename_prefix != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!peftq_check_file_prefix (filename_prefix, error))
    return FALSE;

  layers = peftq_list_lora_layers (model);
  if (layers->len == 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "The model has no quantizable LoRA layer; call "
                   "replace_lora_layers_with_quantizable_layers first");
      return FALSE;
    }

  writer = peftq_safetensors_writer_new ();
  for (guint i = 0; i < layers->len; i++)
    {
      PeftqLoraLayer *layer = g_ptr_array_index (layers, i);

      for (guint j = 0; j < peftq_lora_layer_get_n_adapters (layer); j++)
        if (!add_module_parameters (writer, peftq_lora_layer_get_lora_a (layer, j), error) ||
            !add_module_parameters (writer, peftq_lora_layer_get_lora_b (layer, j), error))
          return FALSE;
    }

  file_name = g_strconcat (filename_prefix, ".safetensor", NULL);
  file_path = g_build_filename (path, file_name, NULL);
  return peftq_safetensors_writer_write (writer, file_path, error);
}

static PeftqAdapterMetaData *
lookup_meta (GHashTable *map,
             const char *adapter_name)
{
  PeftqAdapterMetaData *entry = g_hash_table_lookup (map, adapter_name);

  if (entry == NULL)
    {
      entry = peftq_adapter_meta_data_new (adapter_name);
      g_hash_table_insert (map, g_strdup (adapter_name), entry);
    }
  return entry;
}

/**
 * peftq_track_lora_meta_data:
 * @model: a module tree after [func@Peftq.replace_lora_layers_with_quantizable_layers]
 * @path: (type filename): an existing folder
 * @filename_prefix: the file name without extension
 * @replaced_module_type: a module type whose instances stand in for lora_A or lora_B
 *   modules and hold the real module as their child `conv2d`, or %G_TYPE_NONE
 * @error: return location for a #GError
 *
 * Records, for every adapter, the full names of its lora_A, lora_B and `mul_scale`
 * modules (one per LoRA layer, in model order) and its alpha, as AIMET's function of
 * the same name does, and writes them as JSON to `<path>/<filename_prefix>.json` (see
 * [class@Peftq.AdapterMetaData] for the layout; AIMET writes a pickle instead).
 *
 * AIMET appends each layer's single `mul_scale` to the adapter with the last index
 * only. peftq has one `mul_scale` per adapter, so each adapter lists its own.
 *
 * Returns: (transfer container) (element-type utf8 PeftqAdapterMetaData): adapter name
 *   to metadata, or `NULL` with @error set. Free it with g_hash_table_unref(), which
 *   also frees the keys and values.
 *
 * Since: 1.0
 */
GHashTable *
peftq_track_lora_meta_data (PeftqModule  *model,
                            const char   *path,
                            const char   *filename_prefix,
                            GType         replaced_module_type,
                            GError      **error)
{
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GHashTable) map = NULL;
  g_autofree char *file_name = NULL;
  g_autofree char *file_path = NULL;

  g_return_val_if_fail (PEFTQ_IS_MODULE (model), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (filename_prefix != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_check_file_prefix (filename_prefix, error))
    return NULL;

  map = peftq_adapter_meta_data_map_new ();
  layers = peftq_list_lora_layers (model);
  for (guint i = 0; i < layers->len; i++)
    {
      PeftqLoraLayer *layer = g_ptr_array_index (layers, i);

      for (guint j = 0; j < peftq_lora_layer_get_n_adapters (layer); j++)
        {
          PeftqAdapterMetaData *entry = lookup_meta (map, peftq_lora_layer_get_adapter_name (layer, j));
          PeftqModule *lora_a = resolve_replaced (peftq_lora_layer_get_lora_a (layer, j),
                                                  replaced_module_type);
          PeftqModule *lora_b = resolve_replaced (peftq_lora_layer_get_lora_b (layer, j),
                                                  replaced_module_type);
          g_autofree char *lora_a_name = peftq_module_dup_qualified_name (lora_a);
          g_autofree char *lora_b_name = peftq_module_dup_qualified_name (lora_b);
          g_autofree char *mul_name = peftq_module_dup_qualified_name (peftq_lora_layer_get_mul_scale (layer, j));

          peftq_adapter_meta_data_append_lora_a (entry, lora_a_name);
          peftq_adapter_meta_data_append_lora_b (entry, lora_b_name);
          peftq_adapter_meta_data_set_alpha (entry, peftq_lora_layer_get_alpha (layer, j));
          peftq_adapter_meta_data_append_mul_scale (entry, mul_name);
        }
    }

  file_name = g_strconcat (filename_prefix, ".json", NULL);
  file_path = g_build_filename (path, file_name, NULL);
  if (!peftq_adapter_meta_data_save_file (map, file_path, error))
    return NULL;
  return g_steal_pointer (&map);
}

typedef struct
{
  PeftqLoraLayer *layer;
  guint index;
  gboolean is_b;
  PeftqModule *module;
  char *name;
  PeftqTensor *tensor;
} LoraSlotWeight;

static void
lora_slot_weight_free (gpointer data)
{
  LoraSlotWeight *slot = data;

  g_free (slot->name);
  g_clear_object (&slot->tensor);
  g_free (slot);
}

/**
 * peftq_load_lora_weights:
 * @model: a module tree after [func@Peftq.replace_lora_layers_with_quantizable_layers]
 * @path: (type filename): a safetensors file keyed by in-model names, such as the file
 *   of [func@Peftq.save_lora_weights_after_adaptation]
 *   (`base_model.model.linear.lora_A.0.weight`)
 * @error: return location for a #GError
 *
 * Loads AIMET-style adapter weights into the lora_A and lora_B modules of the model's
 * [class@Peftq.LoraLayer]s, as AIMET's `enable_adapter_and_load_weights` does. Every
 * key must be `<lora module name>.weight` of a lora_A or lora_B module, and the file
 * must hold a weight for every such module. Loading is all or nothing: on any missing,
 * unknown or misshapen tensor the error lists them and no weight changes.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
peftq_load_lora_weights (PeftqModule  *model,
                         const char   *path,
                         GError      **error)
{
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GPtrArray) slots = g_ptr_array_new_with_free_func (lora_slot_weight_free);
  g_autoptr(GHashTable) slot_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GString) problems = g_string_new (NULL);
  g_auto(GStrv) keys = NULL;
  guint n_problems = 0;
  int code = PEFTQ_ERROR_INVALID_DATA;

  g_return_val_if_fail (PEFTQ_IS_MODULE (model), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  file = peftq_safetensors_file_open (path, error);
  if (file == NULL)
    return FALSE;

  layers = peftq_list_lora_layers (model);
  for (guint i = 0; i < layers->len; i++)
    {
      PeftqLoraLayer *layer = g_ptr_array_index (layers, i);

      for (guint j = 0; j < peftq_lora_layer_get_n_adapters (layer); j++)
        for (guint b = 0; b < 2; b++)
          {
            LoraSlotWeight *slot = g_new0 (LoraSlotWeight, 1);
            g_autofree char *module_name = NULL;

            slot->layer = layer;
            slot->index = j;
            slot->is_b = b;
            slot->module = b ? peftq_lora_layer_get_lora_b (layer, j) : peftq_lora_layer_get_lora_a (layer, j);
            module_name = peftq_module_dup_qualified_name (slot->module);
            slot->name = g_strconcat (module_name, ".weight", NULL);
            g_ptr_array_add (slots, slot);
            g_hash_table_insert (slot_by_name, slot->name, slot);
          }
    }

  if (slots->len == 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "%s: the model has no quantizable LoRA layer to load weights into", path);
      return FALSE;
    }

  keys = peftq_safetensors_file_get_tensor_names (file);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      LoraSlotWeight *slot = g_hash_table_lookup (slot_by_name, keys[i]);
      g_autoptr(GError) tensor_error = NULL;

      if (slot == NULL)
        {
          if (n_problems++ < 12)
            g_string_append_printf (problems, "\n  - tensor “%s” is not the weight of a lora_A "
                                    "or lora_B module of the model", keys[i]);
          continue;
        }
      slot->tensor = peftq_safetensors_file_get_tensor (file, keys[i], &tensor_error);
      if (slot->tensor == NULL && n_problems++ < 12)
        g_string_append_printf (problems, "\n  - %s", tensor_error->message);
    }

  for (guint i = 0; i < slots->len; i++)
    {
      LoraSlotWeight *slot = g_ptr_array_index (slots, i);

      if (slot->tensor == NULL && !g_strv_contains ((const char *const *) keys, slot->name))
        {
          code = PEFTQ_ERROR_NOT_FOUND;
          if (n_problems++ < 12)
            g_string_append_printf (problems, "\n  - LoRA weight “%s” is missing", slot->name);
        }
    }

  /* Check each adapter's pair against its layer before changing anything. */
  for (guint i = 0; n_problems == 0 && i < slots->len; i += 2)
    {
      LoraSlotWeight *a = g_ptr_array_index (slots, i);
      LoraSlotWeight *b = g_ptr_array_index (slots, i + 1);
      PeftqTensor *current_a = peftq_module_get_parameter (a->module, "weight");
      PeftqTensor *current_b = peftq_module_get_parameter (b->module, "weight");

      if (peftq_tensor_get_rank (a->tensor) != peftq_tensor_get_rank (current_a) ||
          peftq_tensor_get_rank (b->tensor) != peftq_tensor_get_rank (current_b) ||
          peftq_tensor_get_n_elements (a->tensor) != peftq_tensor_get_n_elements (current_a) ||
          peftq_tensor_get_n_elements (b->tensor) != peftq_tensor_get_n_elements (current_b) ||
          peftq_tensor_get_dim (a->tensor, 0) != peftq_tensor_get_dim (current_a, 0) ||
          peftq_tensor_get_dim (b->tensor, 0) != peftq_tensor_get_dim (current_b, 0))
        {
          g_autofree char *file_a = peftq_tensor_format_shape (a->tensor);
          g_autofree char *file_b = peftq_tensor_format_shape (b->tensor);
          g_autofree char *model_a = peftq_tensor_format_shape (current_a);
          g_autofree char *model_b = peftq_tensor_format_shape (current_b);

          code = PEFTQ_ERROR_SHAPE_MISMATCH;
          n_problems++;
          g_string_append_printf (problems, "\n  - “%s” %s and “%s” %s do not match the model's %s "
                                  "and %s", a->name, file_a, b->name, file_b, model_a, model_b);
        }
    }

  if (n_problems > 0)
    {
      if (n_problems > 12)
        g_string_append_printf (problems, "\n  - and %u more problems", n_problems - 12);
      g_set_error (error, PEFTQ_ERROR, code, "%s: cannot load LoRA weights, nothing was changed:%s",
                   path, problems->str);
      return FALSE;
    }

  for (guint i = 0; i < slots->len; i += 2)
    {
      LoraSlotWeight *a = g_ptr_array_index (slots, i);
      LoraSlotWeight *b = g_ptr_array_index (slots, i + 1);

      if (!peftq_lora_layer_set_adapter_weights (a->layer, a->index, a->tensor, b->tensor, error))
        return FALSE;
    }
  return TRUE;
}
