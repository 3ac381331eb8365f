/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-weight-source-private.h"
#include "peftq-json-private.h"
#include "peftq-error.h"
#include "peftq-safetensors.h"

#include <json-glib/json-glib.h>
#include <string.h>

struct _PeftqWeightSource
{
  char *folder;
  GHashTable *shards;   /* file name -> PeftqSafetensorsFile */
  GHashTable *tensors;  /* tensor name -> PeftqSafetensorsFile (not owned) */
  GHashTable *used;     /* names of the tensors read so far (keys owned by tensors) */
};

void
peftq_weight_source_free (PeftqWeightSource *source)
{
  if (source == NULL)
    return;

  g_free (source->folder);
  g_hash_table_unref (source->shards);
  g_hash_table_unref (source->tensors);
  g_clear_pointer (&source->used, g_hash_table_unref);
  g_free (source);
}

static PeftqSafetensorsFile *
open_shard (PeftqWeightSource  *source,
            const char         *file_name,
            const char         *index_path,
            GError            **error)
{
  PeftqSafetensorsFile *file = g_hash_table_lookup (source->shards, file_name);
  g_autofree char *path = NULL;

  if (file != NULL)
    return file;

  /* A shard name is a plain file name in the model folder. */
  if (*file_name == '\0' || strchr (file_name, '/') != NULL || strcmp (file_name, "..") == 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: shard name “%s” is not a file name in the model folder", index_path, file_name);
      return NULL;
    }

  path = g_build_filename (source->folder, file_name, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "%s lists the shard %s, which is missing", index_path, path);
      return NULL;
    }

  file = peftq_safetensors_file_open (path, error);
  if (file == NULL)
    return NULL;

  g_hash_table_insert (source->shards, g_strdup (file_name), file);
  return file;
}

static gboolean
read_index (PeftqWeightSource  *source,
            const char         *index_path,
            GError            **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonNode *map_node;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (!peftq_json_parser_load_file (parser, index_path, &local_error))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Shard index %s could not be read: %s", index_path, local_error->message);
      return FALSE;
    }

  root = json_parser_get_root (parser);
  map_node = root != NULL && JSON_NODE_HOLDS_OBJECT (root)
    ? json_object_get_member (json_node_get_object (root), "weight_map")
    : NULL;
  if (map_node == NULL || !JSON_NODE_HOLDS_OBJECT (map_node))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Shard index %s has no “weight_map” object", index_path);
      return FALSE;
    }

  json_object_iter_init (&iter, json_node_get_object (map_node));
  while (json_object_iter_next (&iter, &name, &value))
    {
      PeftqSafetensorsFile *file;

      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "Shard index %s: the entry of tensor “%s” is not a file name", index_path, name);
          return FALSE;
        }

      file = open_shard (source, json_node_get_string (value), index_path, error);
      if (file == NULL)
        return FALSE;

      if (!peftq_safetensors_file_has_tensor (file, name))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                       "Shard index %s places tensor “%s” in %s, which does not contain it",
                       index_path, name, peftq_safetensors_file_get_path (file));
          return FALSE;
        }

      g_hash_table_insert (source->tensors, g_strdup (name), file);
    }

  return TRUE;
}

PeftqWeightSource *
peftq_weight_source_open (const char  *folder,
                          GError     **error)
{
  g_autoptr(PeftqWeightSource) source = g_new0 (PeftqWeightSource, 1);
  g_autofree char *index_path = g_build_filename (folder, "model.safetensors.index.json", NULL);
  g_autofree char *single_path = g_build_filename (folder, "model.safetensors", NULL);

  source->folder = g_strdup (folder);
  source->shards = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  source->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (g_file_test (index_path, G_FILE_TEST_EXISTS))
    {
      if (!read_index (source, index_path, error))
        return NULL;
      return g_steal_pointer (&source);
    }

  if (!g_file_test (single_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "Model folder %s has neither model.safetensors nor model.safetensors.index.json",
                   folder);
      return NULL;
    }

  {
    PeftqSafetensorsFile *file = open_shard (source, "model.safetensors", single_path, error);
    g_auto(GStrv) names = NULL;

    if (file == NULL)
      return NULL;

    names = peftq_safetensors_file_get_tensor_names (file);
    for (guint i = 0; names[i] != NULL; i++)
      g_hash_table_insert (source->tensors, g_strdup (names[i]), file);
  }

  return g_steal_pointer (&source);
}

gboolean
peftq_weight_source_has (PeftqWeightSource *source,
                         const char        *name)
{
  return g_hash_table_contains (source->tensors, name);
}

PeftqTensor *
peftq_weight_source_get (PeftqWeightSource  *source,
                         const char         *name,
                         GError            **error)
{
  PeftqSafetensorsFile *file = g_hash_table_lookup (source->tensors, name);

  if (file == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "Model folder %s has no tensor “%s”", source->folder, name);
      return NULL;
    }

  {
    gpointer stored_name = NULL;

    if (source->used == NULL)
      source->used = g_hash_table_new (g_str_hash, g_str_equal);
    if (g_hash_table_lookup_extended (source->tensors, name, &stored_name, NULL))
      g_hash_table_add (source->used, stored_name);
  }

  return peftq_safetensors_file_get_tensor (file, name, error);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

GPtrArray *
peftq_weight_source_list_unused (PeftqWeightSource *source)
{
  GPtrArray *unused = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer name;

  g_hash_table_iter_init (&iter, source->tensors);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      if (source->used != NULL && g_hash_table_contains (source->used, name))
        continue;
      if (g_str_has_suffix (name, ".rotary_emb.inv_freq") ||
          g_str_has_suffix (name, ".attn.bias") ||
          g_str_has_suffix (name, ".attn.masked_bias"))
        continue;
      g_ptr_array_add (unused, g_strdup (name));
    }

  g_ptr_array_sort (unused, compare_names);
  return unused;
}
