/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-adapter-meta-data.h"
#include "peftq-adapter-meta-data-private.h"
#include "peftq-error.h"
#include "peftq-file-private.h"

#include <json-glib/json-glib.h>
#include <math.h>

/**
 * PeftqAdapterMetaData:
 *
 * What [func@Peftq.track_lora_meta_data] records about one adapter, as AIMET's
 * `AdapterMetaData`: the full names of its lora_A modules, of its lora_B modules and of
 * its `mul_scale` modules, one per LoRA layer in model order, and its `lora_alpha`.
 *
 * AIMET pickles the map from adapter name to metadata. peftq writes it as JSON instead:
 *
 * ```json
 * {
 *   "default": {
 *     "lora_A": ["base_model.model.linear.lora_A.0"],
 *     "lora_B": ["base_model.model.linear.lora_B.0"],
 *     "alpha": 16,
 *     "mul_scale": ["base_model.model.linear.mul_scale"]
 *   }
 * }
 * ```
 *
 * `alpha` is an integer when it has no fractional part, and `null` when unknown.
 *
 * Since: 1.0
 */

struct _PeftqAdapterMetaData
{
  GObject parent_instance;

  char *adapter_name;
  GPtrArray *lora_a;      /* char *, NULL-terminated */
  GPtrArray *lora_b;
  GPtrArray *mul_scale;
  gboolean has_alpha;
  double alpha;
};

G_DEFINE_FINAL_TYPE (PeftqAdapterMetaData, peftq_adapter_meta_data, G_TYPE_OBJECT)

static GPtrArray *
new_name_list (void)
{
  GPtrArray *list = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (list, NULL);
  return list;
}

static void
append_name (GPtrArray  *list,
             const char *name)
{
  /* Keep the list NULL-terminated so that it can be returned as a strv. */
  g_ptr_array_insert (list, (gint) list->len - 1, g_strdup (name));
}

static void
peftq_adapter_meta_data_finalize (GObject *object)
{
  PeftqAdapterMetaData *self = PEFTQ_ADAPTER_META_DATA (object);

  g_free (self->adapter_name);
  g_ptr_array_unref (self->lora_a);
  g_ptr_array_unref (self->lora_b);
  g_ptr_array_unref (self->mul_scale);

  G_OBJECT_CLASS (peftq_adapter_meta_data_parent_class)->finalize (object);
}

static void
peftq_adapter_meta_data_class_init (PeftqAdapterMetaDataClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = peftq_adapter_meta_data_finalize;
}

static void
peftq_adapter_meta_data_init (PeftqAdapterMetaData *self)
{
  self->lora_a = new_name_list ();
  self->lora_b = new_name_list ();
  self->mul_scale = new_name_list ();
}

PeftqAdapterMetaData *
peftq_adapter_meta_data_new (const char *adapter_name)
{
  PeftqAdapterMetaData *self = g_object_new (PEFTQ_TYPE_ADAPTER_META_DATA, NULL);

  self->adapter_name = g_strdup (adapter_name);
  return self;
}

void
peftq_adapter_meta_data_append_lora_a (PeftqAdapterMetaData *self,
                                       const char           *name)
{
  append_name (self->lora_a, name);
}

void
peftq_adapter_meta_data_append_lora_b (PeftqAdapterMetaData *self,
                                       const char           *name)
{
  append_name (self->lora_b, name);
}

void
peftq_adapter_meta_data_append_mul_scale (PeftqAdapterMetaData *self,
                                          const char           *name)
{
  append_name (self->mul_scale, name);
}

void
peftq_adapter_meta_data_set_alpha (PeftqAdapterMetaData *self,
                                   double                alpha)
{
  self->has_alpha = TRUE;
  self->alpha = alpha;
}

GHashTable *
peftq_adapter_meta_data_map_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/**
 * peftq_adapter_meta_data_get_adapter_name:
 * @self: metadata
 *
 * Gets the name of the adapter described.
 *
 * Returns: the adapter name
 *
 * Since: 1.0
 */
const char *
peftq_adapter_meta_data_get_adapter_name (PeftqAdapterMetaData *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER_META_DATA (self), NULL);
  return self->adapter_name;
}

/**
 * peftq_adapter_meta_data_get_lora_a:
 * @self: metadata
 *
 * Gets the full names of the adapter's lora_A modules, in model order.
 *
 * Returns: (array zero-terminated=1) (transfer none): the module names
 *
 * Since: 1.0
 */
const char *const *
peftq_adapter_meta_data_get_lora_a (PeftqAdapterMetaData *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER_META_DATA (self), NULL);
  return (const char *const *) self->lora_a->pdata;
}

/**
 * peftq_adapter_meta_data_get_lora_b:
 * @self: metadata
 *
 * Gets the full names of the adapter's lora_B modules, in model order.
 *
 * Returns: (array zero-terminated=1) (transfer none): the module names
 *
 * Since: 1.0
 */
const char *const *
peftq_adapter_meta_data_get_lora_b (PeftqAdapterMetaData *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER_META_DATA (self), NULL);
  return (const char *const *) self->lora_b->pdata;
}

/**
 * peftq_adapter_meta_data_get_mul_scale:
 * @self: metadata
 *
 * Gets the full names of the adapter's `mul_scale` modules, in model order.
 *
 * Returns: (array zero-terminated=1) (transfer none): the module names
 *
 * Since: 1.0
 */
const char *const *
peftq_adapter_meta_data_get_mul_scale (PeftqAdapterMetaData *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER_META_DATA (self), NULL);
  return (const char *const *) self->mul_scale->pdata;
}

/**
 * peftq_adapter_meta_data_has_alpha:
 * @self: metadata
 *
 * Checks whether the alpha is known (AIMET's `alpha` is `None` until a layer sets it).
 *
 * Returns: `TRUE` when [method@Peftq.AdapterMetaData.get_alpha] is meaningful
 *
 * Since: 1.0
 */
gboolean
peftq_adapter_meta_data_has_alpha (PeftqAdapterMetaData *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER_META_DATA (self), FALSE);
  return self->has_alpha;
}

/**
 * peftq_adapter_meta_data_get_alpha:
 * @self: metadata
 *
 * Gets the adapter's `lora_alpha`, from the last LoRA layer visited.
 *
 * Returns: the alpha, or 0 when it is unknown
 *
 * Since: 1.0
 */
double
peftq_adapter_meta_data_get_alpha (PeftqAdapterMetaData *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER_META_DATA (self), 0);
  return self->alpha;
}

static JsonNode *
names_to_json (GPtrArray *list)
{
  JsonArray *array = json_array_new ();
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; i + 1 < list->len; i++)
    json_array_add_string_element (array, g_ptr_array_index (list, i));
  json_node_take_array (node, array);
  return node;
}

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/**
 * peftq_adapter_meta_data_save_file:
 * @meta_data: (element-type utf8 PeftqAdapterMetaData): adapter name to metadata
 * @path: (type filename): the JSON file to write
 * @error: return location for a #GError
 *
 * Writes a metadata map as JSON, adapters sorted by name, each with the keys `lora_A`,
 * `lora_B`, `alpha` and `mul_scale`. The file is replaced atomically.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
peftq_adapter_meta_data_save_file (GHashTable  *meta_data,
                                   const char  *path,
                                   GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree gpointer *names = NULL;
  guint n_names;

  g_return_val_if_fail (meta_data != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  names = g_hash_table_get_keys_as_array (meta_data, &n_names);
  qsort (names, n_names, sizeof (gpointer), compare_strings);

  json_builder_begin_object (builder);
  for (guint i = 0; i < n_names; i++)
    {
      PeftqAdapterMetaData *entry = g_hash_table_lookup (meta_data, names[i]);

      json_builder_set_member_name (builder, names[i]);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "lora_A");
      json_builder_add_value (builder, names_to_json (entry->lora_a));
      json_builder_set_member_name (builder, "lora_B");
      json_builder_add_value (builder, names_to_json (entry->lora_b));
      json_builder_set_member_name (builder, "alpha");
      if (!entry->has_alpha)
        json_builder_add_null_value (builder);
      else if (entry->alpha == floor (entry->alpha) && fabs (entry->alpha) < 1e15)
        json_builder_add_int_value (builder, (gint64) entry->alpha);
      else
        json_builder_add_double_value (builder, entry->alpha);
      json_builder_set_member_name (builder, "mul_scale");
      json_builder_add_value (builder, names_to_json (entry->mul_scale));
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 1);
  text = json_generator_to_data (generator, NULL);
  return peftq_file_set_contents_atomic (path, text, -1, error);
}

static gboolean
read_names (JsonObject   *object,
            const char   *member,
            GPtrArray    *list,
            const char   *path,
            const char   *adapter_name,
            GError      **error)
{
  JsonNode *node = json_object_get_member (object, member);
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: adapter “%s” has no list “%s”", path, adapter_name, member);
      return FALSE;
    }

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "%s: entry %u of “%s” of adapter “%s” is not a string", path, i, member,
                       adapter_name);
          return FALSE;
        }
      append_name (list, json_node_get_string (element));
    }
  return TRUE;
}

/**
 * peftq_adapter_meta_data_load_file:
 * @path: (type filename): a JSON file written by [func@Peftq.track_lora_meta_data]
 * @error: return location for a #GError
 *
 * Reads a metadata map back.
 *
 * Returns: (transfer container) (element-type utf8 PeftqAdapterMetaData): adapter name
 *   to metadata, or `NULL` with @error set when the file is missing or malformed.
 *   Free it with g_hash_table_unref(), which also frees the keys and values.
 *
 * Since: 1.0
 */
GHashTable *
peftq_adapter_meta_data_load_file (const char  *path,
                                   GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GHashTable) map = NULL;
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(GList) members = NULL;
  JsonNode *root;
  JsonObject *object;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!json_parser_load_from_mapped_file (parser, path, &parse_error))
    {
      g_set_error (error, PEFTQ_ERROR,
                   g_error_matches (parse_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? PEFTQ_ERROR_NOT_FOUND : PEFTQ_ERROR_INVALID_DATA,
                   "%s: %s", path, parse_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: adapter metadata must be a JSON object of adapter names", path);
      return NULL;
    }

  map = peftq_adapter_meta_data_map_new ();
  object = json_node_get_object (root);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (object, name);
      g_autoptr(PeftqAdapterMetaData) entry = NULL;
      JsonObject *entry_object;
      JsonNode *alpha;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "%s: the metadata of adapter “%s” is not an object", path, name);
          return NULL;
        }
      entry_object = json_node_get_object (node);
      entry = peftq_adapter_meta_data_new (name);
      if (!read_names (entry_object, "lora_A", entry->lora_a, path, name, error) ||
          !read_names (entry_object, "lora_B", entry->lora_b, path, name, error) ||
          !read_names (entry_object, "mul_scale", entry->mul_scale, path, name, error))
        return NULL;

      alpha = json_object_get_member (entry_object, "alpha");
      if (alpha != NULL && JSON_NODE_HOLDS_VALUE (alpha) &&
          (json_node_get_value_type (alpha) == G_TYPE_INT64 ||
           json_node_get_value_type (alpha) == G_TYPE_DOUBLE))
        peftq_adapter_meta_data_set_alpha (entry, json_node_get_double (alpha));
      else if (alpha != NULL && !JSON_NODE_HOLDS_NULL (alpha))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "%s: “alpha” of adapter “%s” must be a number or null", path, name);
          return NULL;
        }

      g_hash_table_replace (map, g_strdup (name), g_steal_pointer (&entry));
    }

  return g_steal_pointer (&map);
}
