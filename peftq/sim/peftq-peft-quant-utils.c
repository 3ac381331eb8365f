/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-peft-quant-utils.h"
#include "peftq-json-private.h"

#include "peftq-adapter.h"
#include "peftq-adapter-meta-data.h"
#include "peftq-affine-quantizer.h"
#include "peftq-error.h"
#include "peftq-lora-layer.h"
#include "peftq-peft.h"
#include "peftq-quant-sim-private.h"
#include "peftq-safetensors.h"
#include "peftq-file-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

/**
 * PeftqPeftQuantUtils:
 *
 * The helper of the seed flow, AIMET's `aimet_torch.peft.PeftQuantUtils`: it knows
 * which modules of a simulated model are LoRA modules (the `lora_A` and `lora_B`
 * modules named in the adapter metadata) and freezes, re-bitwidths, zeroes, loads and
 * exports them or the rest of the model.
 *
 * It is built from the metadata of [func@Peftq.track_lora_meta_data] and, for a model
 * rewritten by a model preparer, a map from original module names to prepared names.
 * With the map, a LoRA name is matched to the longest original name that it contains
 * (AIMET takes the last match in the map's order, which depends on that order).
 *
 * Differences from AIMET, all deliberate:
 *
 * - [method@Peftq.PeftQuantUtils.freeze_base_model_activation_quantizers] freezes every
 *   input and output quantizer of a base module; AIMET pairs inputs with outputs and so
 *   leaves input 1 of two-input ops unfrozen.
 * - [method@Peftq.PeftQuantUtils.set_bitwidth_for_lora_adapters] skips empty slots.
 * - [method@Peftq.PeftQuantUtils.enable_adapter_and_load_weights] checks the whole file
 *   first (missing, unexpected and misshapen tensors in one error) and then clears the
 *   encodings of the LoRA weight quantizers, which describe the old weights; compute
 *   encodings again before using the simulation.
 *
 * Since: 1.0
 */

struct _PeftqPeftQuantUtils
{
  GObject parent_instance;

  GHashTable *meta_data;        /* adapter name -> PeftqAdapterMetaData */
  GPtrArray *lora_names;        /* all lora names, in metadata order */
  GHashTable *lora_set;         /* lora name -> itself */

  gboolean has_map;
  GHashTable *pt_to_prepared;
  GHashTable *prepared_to_pt;
  GHashTable *lora_to_pt;
  GHashTable *pt_to_lora;
  GHashTable *mul_names;        /* set */
};

G_DEFINE_FINAL_TYPE (PeftqPeftQuantUtils, peftq_peft_quant_utils, G_TYPE_OBJECT)

static void
peftq_peft_quant_utils_finalize (GObject *object)
{
  PeftqPeftQuantUtils *self = PEFTQ_PEFT_QUANT_UTILS (object);

  g_clear_pointer (&self->meta_data, g_hash_table_unref);
  g_clear_pointer (&self->lora_names, g_ptr_array_unref);
  g_clear_pointer (&self->lora_set, g_hash_table_unref);
  g_clear_pointer (&self->pt_to_prepared, g_hash_table_unref);
  g_clear_pointer (&self->prepared_to_pt, g_hash_table_unref);
  g_clear_pointer (&self->lora_to_pt, g_hash_table_unref);
  g_clear_pointer (&self->pt_to_lora, g_hash_table_unref);
  g_clear_pointer (&self->mul_names, g_hash_table_unref);

  G_OBJECT_CLASS (peftq_peft_quant_utils_parent_class)->finalize (object);
}

static void
peftq_peft_quant_utils_class_init (PeftqPeftQuantUtilsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = peftq_peft_quant_utils_finalize;
}

static GHashTable *
new_string_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static void
peftq_peft_quant_utils_init (PeftqPeftQuantUtils *self)
{
  self->meta_data = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->lora_names = g_ptr_array_new_with_free_func (g_free);
  self->lora_set = g_hash_table_new (g_str_hash, g_str_equal);
  self->pt_to_prepared = new_string_table ();
  self->prepared_to_pt = new_string_table ();
  self->lora_to_pt = new_string_table ();
  self->pt_to_lora = new_string_table ();
  self->mul_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static void
add_lora_names (PeftqPeftQuantUtils *self,
                const char * const  *names)
{
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      char *copy;

      if (g_hash_table_contains (self->lora_set, names[i]))
        continue;
      copy = g_strdup (names[i]);
      g_ptr_array_add (self->lora_names, copy);
      g_hash_table_add (self->lora_set, copy);
    }
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/**
 * peftq_peft_quant_utils_new:
 * @meta_data: (element-type utf8 PeftqAdapterMetaData): adapter name to metadata, as
 *   [func@Peftq.track_lora_meta_data] returns it
 * @name_to_module: (element-type utf8 utf8) (nullable): original module names to the
 *   names in a prepared model, or `NULL` when the simulation was built from the
 *   original model
 *
 * Creates the helper, AIMET's `PeftQuantUtils (meta_data, name_to_module_dict)`.
 *
 * Returns: (transfer full): the helper
 *
 * Since: 1.0
 */
PeftqPeftQuantUtils *
peftq_peft_quant_utils_new (GHashTable *meta_data,
                            GHashTable *name_to_module)
{
  g_autoptr(PeftqPeftQuantUtils) self = NULL;
  g_autoptr(GPtrArray) adapters = NULL;
  g_autoptr(GPtrArray) pt_names = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (meta_data != NULL, NULL);

  self = g_object_new (PEFTQ_TYPE_PEFT_QUANT_UTILS, NULL);

  /* Adapter names in sorted order, so that lists do not depend on hashing. */
  adapters = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, meta_data);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_hash_table_insert (self->meta_data, g_strdup (key), g_object_ref (value));
      g_ptr_array_add (adapters, key);
    }
  g_ptr_array_sort (adapters, compare_strings);

  for (guint a = 0; a < adapters->len; a++)
    {
      PeftqAdapterMetaData *meta = g_hash_table_lookup (meta_data, g_ptr_array_index (adapters, a));

      add_lora_names (self, peftq_adapter_meta_data_get_lora_a (meta));
      add_lora_names (self, peftq_adapter_meta_data_get_lora_b (meta));
    }

  if (name_to_module == NULL || g_hash_table_size (name_to_module) == 0)
    return g_steal_pointer (&self);

  self->has_map = TRUE;
  pt_names = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, name_to_module);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_hash_table_insert (self->pt_to_prepared, g_strdup (key), g_strdup (value));
      g_hash_table_insert (self->prepared_to_pt, g_strdup (value), g_strdup (key));
      g_ptr_array_add (pt_names, key);
    }

  /* Each LoRA name maps to the longest original name that it contains. */
  for (guint l = 0; l < self->lora_names->len; l++)
    {
      const char *lora = g_ptr_array_index (self->lora_names, l);
      const char *best = NULL;

      for (guint p = 0; p < pt_names->len; p++)
        {
          const char *pt = g_ptr_array_index (pt_names, p);

          if (strstr (lora, pt) != NULL && (best == NULL || strlen (pt) > strlen (best)))
            best = pt;
        }
      if (best == NULL)
        continue;
      g_hash_table_insert (self->lora_to_pt, g_strdup (lora), g_strdup (best));
      g_hash_table_insert (self->pt_to_lora, g_strdup (best), g_strdup (lora));
    }

  /* The prepared Multiply of each mul_scale: "<prepared lora_A prefix>_mul_scale_Mul". */
  for (guint a = 0; a < adapters->len; a++)
    {
      PeftqAdapterMetaData *meta = g_hash_table_lookup (meta_data, g_ptr_array_index (adapters, a));
      const char * const *lora_a = peftq_adapter_meta_data_get_lora_a (meta);
      const char * const *mul = peftq_adapter_meta_data_get_mul_scale (meta);
      guint n_lora_a = lora_a != NULL ? g_strv_length ((char **) lora_a) : 0;

      for (guint k = 0; mul != NULL && mul[k] != NULL && k < n_lora_a; k++)
        {
          const char *pt = g_hash_table_lookup (self->lora_to_pt, lora_a[k]);
          const char *prepared = pt != NULL ? g_hash_table_lookup (self->pt_to_prepared, pt) : NULL;
          const char *cut = prepared != NULL ? strstr (prepared, "_lora_A") : NULL;

          if (cut != NULL)
            g_hash_table_add (self->mul_names,
                              g_strdup_printf ("%.*s_mul_scale_Mul", (int) (cut - prepared), prepared));
        }
    }

  return g_steal_pointer (&self);
}

static GHashTable *
load_name_map (const char  *path,
               GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GHashTable) map = new_string_table ();
  JsonNode *root;
  JsonObject *object;
  g_autoptr(GList) members = NULL;

  if (!peftq_json_parser_load_file (parser, path, error))
    {
      g_prefix_error (error, "Name map %s: ", path);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Name map %s: expected an object of module names", path);
      return NULL;
    }

  object = json_node_get_object (root);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (object, l->data);
      const char *prepared = NULL;

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        {
          prepared = json_node_get_string (node);
        }
      else if (JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) > 0)
        {
          JsonNode *first = json_array_get_element (json_node_get_array (node), 0);

          if (JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_STRING)
            prepared = json_node_get_string (first);
        }

      if (prepared == NULL)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "Name map %s: the entry “%s” is neither a name nor a list that "
                       "starts with a name", path, (const char *) l->data);
          return NULL;
        }
      g_hash_table_insert (map, g_strdup (l->data), g_strdup (prepared));
    }

  return g_steal_pointer (&map);
}

/**
 * peftq_peft_quant_utils_new_from_files:
 * @meta_data_path: (type filename): a metadata JSON file written by
 *   [func@Peftq.track_lora_meta_data]
 * @name_map_path: (type filename) (nullable): a JSON object from original module names
 *   to prepared names (a name, or a list whose first element is the name, as AIMET's
 *   model preparer saves it), or `NULL`
 * @error: return location for a #GError
 *
 * Creates the helper from files.
 *
 * Returns: (transfer full): the helper, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqPeftQuantUtils *
peftq_peft_quant_utils_new_from_files (const char  *meta_data_path,
                                       const char  *name_map_path,
                                       GError     **error)
{
  g_autoptr(GHashTable) meta = NULL;
  g_autoptr(GHashTable) map = NULL;

  g_return_val_if_fail (meta_data_path != NULL, NULL);

  meta = peftq_adapter_meta_data_load_file (meta_data_path, error);
  if (meta == NULL)
    return NULL;
  if (name_map_path != NULL && (map = load_name_map (name_map_path, error)) == NULL)
    return NULL;

  return peftq_peft_quant_utils_new (meta, map);
}

/**
 * peftq_peft_quant_utils_get_lora_names:
 * @self: a helper
 *
 * Lists the LoRA module names of every adapter in the metadata.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names
 *
 * Since: 1.0
 */
char **
peftq_peft_quant_utils_get_lora_names (PeftqPeftQuantUtils *self)
{
  GStrvBuilder *builder;
  char **result;

  g_return_val_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self), NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < self->lora_names->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->lora_names, i));
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

static const char *
mapped_name (PeftqPeftQuantUtils *self,
             const char          *sim_name)
{
  const char *pt = self->has_map ? g_hash_table_lookup (self->prepared_to_pt, sim_name) : NULL;

  return pt != NULL ? pt : sim_name;
}

/**
 * peftq_peft_quant_utils_is_lora_module:
 * @self: a helper
 * @sim_name: a module name in the simulated model
 *
 * Returns whether a module is a LoRA module (a `lora_A` or `lora_B` of an adapter in
 * the metadata), mapping a prepared name back to the original name first.
 *
 * Returns: `TRUE` for a LoRA module
 *
 * Since: 1.0
 */
gboolean
peftq_peft_quant_utils_is_lora_module (PeftqPeftQuantUtils *self,
                                       const char          *sim_name)
{
  const char *name;

  g_return_val_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self), FALSE);
  g_return_val_if_fail (sim_name != NULL, FALSE);

  name = mapped_name (self, sim_name);
  if (self->has_map)
    return g_hash_table_contains (self->pt_to_lora, name);
  return g_hash_table_contains (self->lora_set, name);
}

static void
freeze (PeftqQuantizer *quantizer)
{
  if (quantizer != NULL && PEFTQ_IS_AFFINE_QUANTIZER (quantizer))
    peftq_affine_quantizer_set_allow_overwrite (PEFTQ_AFFINE_QUANTIZER (quantizer), FALSE);
}

/**
 * peftq_peft_quant_utils_freeze_base_model_param_quantizers:
 * @self: a helper
 * @sim: a simulation
 *
 * Freezes every parameter quantizer of the modules that are not LoRA modules, so that
 * later calibrations and loads keep their encodings.
 *
 * Since: 1.0
 */
void
peftq_peft_quant_utils_freeze_base_model_param_quantizers (PeftqPeftQuantUtils *self,
                                                           PeftqQuantSim       *sim)
{
  g_autoptr(GPtrArray) slots = NULL;

  g_return_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self));
  g_return_if_fail (PEFTQ_IS_QUANT_SIM (sim));

  slots = peftq_quant_sim_collect_slots (sim);
  for (guint i = 0; i < slots->len; i++)
    {
      PeftqSimSlot *slot = g_ptr_array_index (slots, i);

      if (slot->kind == PEFTQ_SIM_SLOT_PARAM &&
          !peftq_peft_quant_utils_is_lora_module (self, slot->module_name))
        freeze (slot->quantizer);
    }
}

/**
 * peftq_peft_quant_utils_freeze_base_model_activation_quantizers:
 * @self: a helper
 * @sim: a simulation
 *
 * Freezes every input and output quantizer of the modules that are not LoRA modules,
 * `mul_scale` and `add_lora_to_res` included. AIMET freezes only the inputs that pair
 * with an output, so input 1 of Add and Multiply modules stays unfrozen there; peftq
 * freezes them all.
 *
 * Since: 1.0
 */
void
peftq_peft_quant_utils_freeze_base_model_activation_quantizers (PeftqPeftQuantUtils *self,
                                                                PeftqQuantSim       *sim)
{
  g_autoptr(GPtrArray) slots = NULL;

  g_return_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self));
  g_return_if_fail (PEFTQ_IS_QUANT_SIM (sim));

  slots = peftq_quant_sim_collect_slots (sim);
  for (guint i = 0; i < slots->len; i++)
    {
      PeftqSimSlot *slot = g_ptr_array_index (slots, i);

      if (slot->kind != PEFTQ_SIM_SLOT_PARAM &&
          !peftq_peft_quant_utils_is_lora_module (self, slot->module_name))
        freeze (slot->quantizer);
    }
}

/**
 * peftq_peft_quant_utils_freeze_base_model:
 * @self: a helper
 * @sim: a simulation
 *
 * Freezes the activation quantizers and then the parameter quantizers of the base
 * model.
 *
 * Since: 1.0
 */
void
peftq_peft_quant_utils_freeze_base_model (PeftqPeftQuantUtils *self,
                                          PeftqQuantSim       *sim)
{
  peftq_peft_quant_utils_freeze_base_model_activation_quantizers (self, sim);
  peftq_peft_quant_utils_freeze_base_model_param_quantizers (self, sim);
}

/**
 * peftq_peft_quant_utils_set_bitwidth_for_lora_adapters:
 * @self: a helper
 * @sim: a simulation
 * @output_bw: the bitwidth of the output quantizers of LoRA modules
 * @param_bw: the bitwidth of the parameter quantizers of LoRA modules
 * @error: return location for a #GError
 *
 * Sets the bitwidths of the quantizers of the `lora_A` and `lora_B` modules. Input
 * quantizers, `mul_scale` and `add_lora_to_res` keep theirs. A calibrated quantizer
 * keeps its range on the new grid. Empty slots are skipped.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set for an invalid bitwidth (then
 *   nothing changed)
 *
 * Since: 1.0
 */
gboolean
peftq_peft_quant_utils_set_bitwidth_for_lora_adapters (PeftqPeftQuantUtils  *self,
                                                       PeftqQuantSim        *sim,
                                                       guint                 output_bw,
                                                       guint                 param_bw,
                                                       GError              **error)
{
  g_autoptr(GPtrArray) slots = NULL;

  g_return_val_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self), FALSE);
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (sim), FALSE);

  if (output_bw < 1 || output_bw > 32 || param_bw < 1 || param_bw > 32)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "LoRA bitwidths must be 1 to 32, not %u (outputs) and %u (parameters)",
                   output_bw, param_bw);
      return FALSE;
    }

  slots = peftq_quant_sim_collect_slots (sim);
  for (guint i = 0; i < slots->len; i++)
    {
      PeftqSimSlot *slot = g_ptr_array_index (slots, i);
      guint bitwidth;

      if (slot->kind == PEFTQ_SIM_SLOT_INPUT ||
          !PEFTQ_IS_AFFINE_QUANTIZER (slot->quantizer) ||
          !peftq_peft_quant_utils_is_lora_module (self, slot->module_name))
        continue;

      bitwidth = slot->kind == PEFTQ_SIM_SLOT_PARAM ? param_bw : output_bw;
      if (!peftq_affine_quantizer_set_bitwidth (PEFTQ_AFFINE_QUANTIZER (slot->quantizer), bitwidth, error))
        {
          g_prefix_error (error, "Quantizer %s: ", slot->name);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
install_scale_quantizer (PeftqQuantSim  *sim,
                         PeftqModule    *mul,
                         guint           bitwidth,
                         float           lo,
                         float           hi,
                         PeftqEncoding **out_encoding,
                         GError        **error)
{
  g_autoptr(PeftqAffineQuantizer) q = peftq_affine_quantizer_new (bitwidth, FALSE);
  g_autofree char *module_name = peftq_module_dup_qualified_name (mul);
  g_autofree char *name = g_strconcat (module_name, ".input.1", NULL);

  if (!peftq_affine_quantizer_set_range (q, &lo, 1, &hi, 1, error))
    return FALSE;
  peftq_affine_quantizer_set_allow_overwrite (q, FALSE);
  if (!peftq_quant_sim_set_quantizer (sim, name, PEFTQ_QUANTIZER (q), error))
    return FALSE;

  *out_encoding = peftq_affine_quantizer_get_encoding (q);
  return TRUE;
}

/**
 * peftq_peft_quant_utils_quantize_lora_scale_with_fixed_range:
 * @self: a helper
 * @sim: a simulation
 * @bitwidth: the bitwidth of the scale quantizers
 * @scale_min: the low end of the range (AIMET's default is 0)
 * @scale_max: the high end of the range (AIMET's default is 1e-5)
 * @n_clamped: (out) (optional): return location for the number of LoRA scalings that
 *   fall outside the range
 * @error: return location for a #GError
 *
 * Quantizes the scaling of every LoRA layer with a frozen, unsigned, per-tensor
 * quantizer of range [@scale_min, @scale_max], installed as input quantizer 1 of each
 * `mul_scale` module (of the modules named by the name map when there is one). A
 * scaling outside the range is clamped to it, which changes the adapter's output; a
 * warning names each such layer, because AIMET's default range of [0, 1e-5] clamps
 * every realistic scaling.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set for an invalid bitwidth or range
 *
 * Since: 1.0
 */
gboolean
peftq_peft_quant_utils_quantize_lora_scale_with_fixed_range (PeftqPeftQuantUtils  *self,
                                                             PeftqQuantSim        *sim,
                                                             guint                 bitwidth,
                                                             double                scale_min,
                                                             double                scale_max,
                                                             guint                *n_clamped,
                                                             GError              **error)
{
  PeftqModule *model;
  guint clamped = 0;

  g_return_val_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self), FALSE);
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (sim), FALSE);

  if (bitwidth < 1 || bitwidth > 32)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "The scale bitwidth is %u: it must be 1 to 32", bitwidth);
      return FALSE;
    }
  if (!(scale_min < scale_max))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "The scale range [%g, %g] is empty", scale_min, scale_max);
      return FALSE;
    }

  model = peftq_quant_sim_get_model (sim);
  if (!self->has_map)
    {
      g_autoptr(GPtrArray) layers = peftq_list_lora_layers (model);

      for (guint l = 0; l < layers->len; l++)
        {
          PeftqLoraLayer *layer = g_ptr_array_index (layers, l);

          for (guint i = 0; i < peftq_lora_layer_get_n_adapters (layer); i++)
            {
              PeftqModule *mul = peftq_lora_layer_get_mul_scale (layer, i);
              PeftqEncoding *encoding = NULL;
              double scaling = peftq_lora_layer_get_scaling (layer, i);
              gsize n;

              if (mul == NULL)
                continue;
              if (!install_scale_quantizer (sim, mul, bitwidth, (float) scale_min,
                                            (float) scale_max, &encoding, error))
                return FALSE;

              if (scaling < peftq_encoding_get_min (encoding, &n)[0] ||
                  scaling > peftq_encoding_get_max (encoding, &n)[0])
                {
                  g_autofree char *name = peftq_module_dup_qualified_name (mul);

                  clamped++;
                  g_warning ("The LoRA scaling %g of %s (adapter %s) is outside the fixed "
                             "range [%g, %g] and will be clamped, which changes the "
                             "adapter's output", scaling, name,
                             peftq_lora_layer_get_adapter_name (layer, i),
                             (double) peftq_encoding_get_min (encoding, &n)[0],
                             (double) peftq_encoding_get_max (encoding, &n)[0]);
                }
            }
        }
    }
  else
    {
      g_autoptr(GPtrArray) modules = peftq_module_list_modules (model);
      g_auto(GStrv) names = peftq_module_list_module_names (model);

      for (guint m = 0; m < modules->len; m++)
        {
          PeftqEncoding *encoding = NULL;

          if (!g_hash_table_contains (self->mul_names, names[m]))
            continue;
          if (!install_scale_quantizer (sim, g_ptr_array_index (modules, m), bitwidth,
                                        (float) scale_min, (float) scale_max, &encoding, error))
            return FALSE;
        }
    }

  if (n_clamped != NULL)
    *n_clamped = clamped;
  return TRUE;
}

static void
append_item (GString    *list,
             const char *item)
{
  g_string_append_printf (list, "%s%s", list->len > 0 ? ", " : "", item);
}

/**
 * peftq_peft_quant_utils_enable_adapter_and_load_weights:
 * @self: a helper
 * @sim: a simulation
 * @adapter_weights_path: (type filename): a safetensors file keyed by
 *   `<lora name>.weight`, as [func@Peftq.save_lora_weights_after_adaptation] writes
 * @error: return location for a #GError
 *
 * Loads LoRA weights into the simulated model, AIMET's
 * `enable_adapter_and_load_weights`. The file must hold exactly one weight for every
 * LoRA module of every adapter in the metadata, in the shape of the module's weight.
 * Otherwise one error lists every missing, unexpected and misshapen tensor, and
 * nothing is loaded. The adapters named in the metadata become active.
 *
 * The encodings of the LoRA weight quantizers described the previous weights, so they
 * are cleared (each emits `encoding-changed`); frozen ones are kept. Compute encodings
 * again before running the simulation.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
peftq_peft_quant_utils_enable_adapter_and_load_weights (PeftqPeftQuantUtils  *self,
                                                        PeftqQuantSim        *sim,
                                                        const char           *adapter_weights_path,
                                                        GError              **error)
{
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(GHashTable) remaining = NULL;
  g_autoptr(GPtrArray) modules = g_ptr_array_new ();
  g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GString) unexpected = g_string_new (NULL);
  g_autoptr(GString) misshapen = g_string_new (NULL);
  g_autoptr(GString) missing = g_string_new (NULL);
  g_auto(GStrv) keys = NULL;
  PeftqModule *model;

  g_return_val_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self), FALSE);
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (sim), FALSE);
  g_return_val_if_fail (adapter_weights_path != NULL, FALSE);

  if (!peftq_quant_sim_check_idle (sim, error))
    return FALSE;

  file = peftq_safetensors_file_open (adapter_weights_path, error);
  if (file == NULL)
    return FALSE;

  model = peftq_quant_sim_get_model (sim);
  remaining = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < self->lora_names->len; i++)
    g_hash_table_add (remaining, g_ptr_array_index (self->lora_names, i));

  keys = peftq_safetensors_file_get_tensor_names (file);
  for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
    {
      const char *key = keys[k];
      const char *suffix = g_str_has_suffix (key, ".weight") ? key + strlen (key) - strlen (".weight") : NULL;
      g_autofree char *lora = suffix != NULL ? g_strndup (key, (gsize) (suffix - key)) : NULL;
      g_autoptr(PeftqTensor) tensor = NULL;
      g_autoptr(GError) local_error = NULL;
      const char *target_name;
      PeftqModule *module;
      PeftqTensor *current;

      if (lora == NULL || !g_hash_table_remove (remaining, lora))
        {
          append_item (unexpected, key);
          continue;
        }

      target_name = lora;
      if (self->has_map)
        {
          const char *pt = g_hash_table_lookup (self->lora_to_pt, lora);

          target_name = pt != NULL ? g_hash_table_lookup (self->pt_to_prepared, pt) : NULL;
        }
      module = target_name != NULL ? peftq_module_find_module (model, target_name) : NULL;
      current = module != NULL ? peftq_module_get_parameter (module, "weight") : NULL;
      if (current == NULL)
        {
          g_autofree char *item = g_strdup_printf ("%s (no such module weight in the model)", key);

          append_item (unexpected, item);
          continue;
        }

      tensor = peftq_safetensors_file_get_tensor (file, key, &local_error);
      if (tensor == NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", adapter_weights_path);
          return FALSE;
        }
      if (!peftq_dtype_is_float (peftq_tensor_get_dtype (tensor)))
        {
          g_autofree char *item = g_strdup_printf ("%s (dtype %s, not a float type)", key,
                                                   peftq_dtype_to_string (peftq_tensor_get_dtype (tensor)));

          append_item (misshapen, item);
          continue;
        }
      {
        guint rank_a = 0, rank_b = 0;
        const gint64 *shape_a = peftq_tensor_get_shape (tensor, &rank_a);
        const gint64 *shape_b = peftq_tensor_get_shape (current, &rank_b);

        if (rank_a != rank_b || memcmp (shape_a, shape_b, rank_a * sizeof (gint64)) != 0)
          {
            g_autofree char *got = peftq_tensor_format_shape (tensor);
            g_autofree char *want = peftq_tensor_format_shape (current);
            g_autofree char *item = g_strdup_printf ("%s (shape %s, the model has %s)", key, got, want);

            append_item (misshapen, item);
            continue;
          }
      }

      g_ptr_array_add (modules, module);
      g_ptr_array_add (tensors, g_steal_pointer (&tensor));
    }

  for (guint i = 0; i < self->lora_names->len; i++)
    {
      const char *name = g_ptr_array_index (self->lora_names, i);

      if (g_hash_table_contains (remaining, name))
        append_item (missing, name);
    }

  if (unexpected->len > 0 || misshapen->len > 0 || missing->len > 0)
    {
      g_autoptr(GString) message = g_string_new (NULL);

      g_string_printf (message, "Cannot load the LoRA weights of %s, nothing was loaded:",
                       adapter_weights_path);
      if (missing->len > 0)
        g_string_append_printf (message, " missing weights for %s;", missing->str);
      if (unexpected->len > 0)
        g_string_append_printf (message, " unexpected tensors %s;", unexpected->str);
      if (misshapen->len > 0)
        g_string_append_printf (message, " wrong tensors %s;", misshapen->str);
      g_string_truncate (message, message->len - 1);
      g_set_error_literal (error, PEFTQ_ERROR,
                           missing->len > 0 || unexpected->len > 0 ? PEFTQ_ERROR_NOT_FOUND
                                                                   : PEFTQ_ERROR_SHAPE_MISMATCH,
                           message->str);
      return FALSE;
    }

  for (guint i = 0; i < modules->len; i++)
    {
      PeftqModule *module = g_ptr_array_index (modules, i);
      PeftqQuantizer *q;

      if (!peftq_module_set_parameter (module, "weight", g_ptr_array_index (tensors, i), error))
        return FALSE;

      q = peftq_module_get_param_quantizer (module, "weight");
      if (q != NULL && PEFTQ_IS_AFFINE_QUANTIZER (q) &&
          peftq_affine_quantizer_get_allow_overwrite (PEFTQ_AFFINE_QUANTIZER (q)))
        peftq_affine_quantizer_clear_encoding (PEFTQ_AFFINE_QUANTIZER (q));
    }

  /* Activate the adapters of the metadata, which peftq's LoRA layers honour. */
  {
    g_autoptr(GPtrArray) layers = peftq_list_lora_layers (model);

    for (guint l = 0; l < layers->len; l++)
      {
        PeftqLoraLayer *layer = g_ptr_array_index (layers, l);

        for (guint i = 0; i < peftq_lora_layer_get_n_adapters (layer); i++)
          {
            PeftqAdapter *adapter = peftq_lora_layer_get_adapter (layer, i);

            if (adapter != NULL &&
                g_hash_table_contains (self->meta_data, peftq_lora_layer_get_adapter_name (layer, i)))
              peftq_adapter_set_active (adapter, TRUE);
          }
      }
  }

  return TRUE;
}

/**
 * peftq_peft_quant_utils_disable_lora_adapters:
 * @self: a helper
 * @sim: a simulation
 *
 * Sets the `weight` and `bias` of every LoRA module to zeros, so that the adapters add
 * exactly zero, as AIMET's `disable_lora_adapters`. Quantizers and active flags are
 * not touched.
 *
 * Since: 1.0
 */
void
peftq_peft_quant_utils_disable_lora_adapters (PeftqPeftQuantUtils *self,
                                              PeftqQuantSim       *sim)
{
  g_autoptr(GPtrArray) modules = NULL;
  g_auto(GStrv) names = NULL;
  static const char *const params[] = { "weight", "bias" };
  PeftqModule *model;

  g_return_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self));
  g_return_if_fail (PEFTQ_IS_QUANT_SIM (sim));

  model = peftq_quant_sim_get_model (sim);
  modules = peftq_module_list_modules (model);
  names = peftq_module_list_module_names (model);
  for (guint m = 0; m < modules->len; m++)
    {
      PeftqModule *module = g_ptr_array_index (modules, m);

      if (!peftq_peft_quant_utils_is_lora_module (self, names[m]))
        continue;

      for (guint p = 0; p < G_N_ELEMENTS (params); p++)
        {
          PeftqTensor *current = peftq_module_get_parameter (module, params[p]);
          g_autoptr(PeftqTensor) zeros = NULL;
          g_autoptr(GError) error = NULL;
          guint rank = 0;
          const gint64 *shape;

          if (current == NULL)
            continue;
          shape = peftq_tensor_get_shape (current, &rank);
          zeros = peftq_tensor_new (peftq_tensor_get_dtype (current), shape, rank, &error);
          if (zeros == NULL || !peftq_module_set_parameter (module, params[p], zeros, &error))
            g_critical ("Cannot zero %s.%s: %s", names[m], params[p], error->message);
        }
    }
}

/**
 * peftq_peft_quant_utils_export_adapter_weights:
 * @self: a helper
 * @sim: a simulation
 * @path: (type filename): an existing folder
 * @filename_prefix: the file name without extension
 * @onnx_model_path: (type filename) (nullable): the exported ONNX model, whose node names
 *   key the tensors (the seed's four-argument form), or `NULL` to key them by module
 *   names (AIMET's later form)
 * @error: return location for a #GError
 *
 * Writes `<path>/<filename_prefix>.safetensor` (AIMET's singular extension) with the
 * float `weight` and `bias` of every LoRA module, keyed `<name>.<param>`, where name is
 * the first ONNX node of the module or the module name.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when the ONNX file is missing or
 *   invalid, no LoRA weight is found, or the file cannot be written
 *
 * Since: 1.0
 */
gboolean
peftq_peft_quant_utils_export_adapter_weights (PeftqPeftQuantUtils  *self,
                                               PeftqQuantSim        *sim,
                                               const char           *path,
                                               const char           *filename_prefix,
                                               const char           *onnx_model_path,
                                               GError              **error)
{
  g_autoptr(PeftqOnnxModel) onnx = NULL;
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autoptr(GPtrArray) modules = NULL;
  g_auto(GStrv) names = NULL;
  g_autofree char *file_name = NULL;
  g_autofree char *file_path = NULL;
  static const char *const params[] = { "weight", "bias" };
  guint n_written = 0;

  g_return_val_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self), FALSE);
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (sim), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (filename_prefix != NULL, FALSE);

  if (!peftq_check_file_prefix (filename_prefix, error))
    return FALSE;
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "Cannot export adapter weights to %s: the folder does not exist", path);
      return FALSE;
    }
  if (onnx_model_path != NULL)
    {
      if (!g_file_test (onnx_model_path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                       "The ONNX model %s does not exist: export the model first, or pass "
                       "no ONNX path to key the weights by module names", onnx_model_path);
          return FALSE;
        }
      onnx = peftq_onnx_model_load (onnx_model_path, error);
      if (onnx == NULL)
        return FALSE;
    }

  writer = peftq_safetensors_writer_new ();
  modules = peftq_quant_sim_list_quantized_modules (sim, &names);
  for (guint m = 0; m < modules->len; m++)
    {
      PeftqModule *module = g_ptr_array_index (modules, m);
      const char *prefix = names[m];

      if (!peftq_peft_quant_utils_is_lora_module (self, names[m]))
        continue;
      if (onnx != NULL)
        {
          prefix = peftq_onnx_model_get_module_first_node_name (onnx, names[m]);
          if (prefix == NULL)
            continue;
        }

      for (guint p = 0; p < G_N_ELEMENTS (params); p++)
        {
          PeftqTensor *value = peftq_module_get_parameter (module, params[p]);
          g_autofree char *key = NULL;

          if (value == NULL)
            continue;
          key = g_strconcat (prefix, ".", params[p], NULL);
          if (!peftq_safetensors_writer_add_tensor (writer, key, value, error))
            return FALSE;
          n_written++;
        }
    }

  if (n_written == 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "No LoRA weight to export: no module of the simulation%s matches the "
                   "LoRA names of the metadata",
                   onnx != NULL ? " found in the ONNX model" : "");
      return FALSE;
    }

  file_name = g_strconcat (filename_prefix, ".safetensor", NULL);
  file_path = g_build_filename (path, file_name, NULL);
  return peftq_safetensors_writer_write (writer, file_path, error);
}

static GPtrArray *
collect_lora_modules (PeftqPeftQuantUtils   *self,
                      GPtrArray             *modules,
                      char                 **names,
                      char                ***out_names)
{
  GPtrArray *result = g_ptr_array_new ();
  GStrvBuilder *builder = g_strv_builder_new ();

  for (guint m = 0; m < modules->len; m++)
    {
      if (!peftq_peft_quant_utils_is_lora_module (self, names[m]))
        continue;
      g_ptr_array_add (result, g_ptr_array_index (modules, m));
      g_strv_builder_add (builder, mapped_name (self, names[m]));
    }

  if (out_names != NULL)
    *out_names = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

/**
 * peftq_peft_quant_utils_get_quantized_lora_layer:
 * @self: a helper
 * @sim: a simulation
 * @out_names: (out) (optional) (array zero-terminated=1) (transfer full): return
 *   location for the module names, mapped to original names
 *
 * Lists the quantized LoRA modules of the simulation in module order, as AIMET's
 * `get_quantized_lora_layer` generator yields them. A caller may change their
 * quantizers, for example with [method@Peftq.QuantSim.set_quantizer].
 *
 * Returns: (transfer container) (element-type PeftqModule): the modules
 *
 * Since: 1.0
 */
GPtrArray *
peftq_peft_quant_utils_get_quantized_lora_layer (PeftqPeftQuantUtils   *self,
                                                 PeftqQuantSim         *sim,
                                                 char                ***out_names)
{
  g_autoptr(GPtrArray) modules = NULL;
  g_auto(GStrv) names = NULL;

  g_return_val_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self), NULL);
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (sim), NULL);

  modules = peftq_quant_sim_list_quantized_modules (sim, &names);
  return collect_lora_modules (self, modules, names, out_names);
}

/**
 * peftq_peft_quant_utils_get_fp_lora_layer:
 * @self: a helper
 * @model: a float model
 * @out_names: (out) (optional) (array zero-terminated=1) (transfer full): return
 *   location for the module names, mapped to original names
 *
 * Lists the LoRA modules of a model without quantizers, as AIMET's
 * `get_fp_lora_layer`.
 *
 * Returns: (transfer container) (element-type PeftqModule): the modules
 *
 * Since: 1.0
 */
GPtrArray *
peftq_peft_quant_utils_get_fp_lora_layer (PeftqPeftQuantUtils   *self,
                                          PeftqModule           *model,
                                          char                ***out_names)
{
  g_autoptr(GPtrArray) modules = NULL;
  g_auto(GStrv) names = NULL;

  g_return_val_if_fail (PEFTQ_IS_PEFT_QUANT_UTILS (self), NULL);
  g_return_val_if_fail (PEFTQ_IS_MODULE (model), NULL);

  modules = peftq_module_list_modules (model);
  names = peftq_module_list_module_names (model);
  return collect_lora_modules (self, modules, names, out_names);
}
