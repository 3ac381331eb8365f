/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-token-ids.h"
#include "peftq-json-private.h"
#include "peftq-error.h"
#include "peftq-safetensors.h"
#include "peftq-file-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

static PeftqTensor *
make_ids_tensor (gint64  *values,
                 gsize    rows,
                 gsize    cols)
{
  gint64 shape[2] = { (gint64) rows, (gint64) cols };
  g_autoptr(GBytes) bytes = g_bytes_new_take (values, rows * cols * sizeof (gint64));

  return peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, shape, 2, bytes, NULL);
}

static gboolean
read_id (JsonNode     *node,
         const char   *path,
         gsize         row,
         gsize         col,
         gint64       *value,
         GError      **error)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: entry [%zu][%zu] is not an integer token id", path, row, col);
      return FALSE;
    }

  *value = json_node_get_int (node);
  return TRUE;
}

static PeftqTensor *
load_json (const char  *path,
           GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree gint64 *values = NULL;
  JsonNode *root;
  JsonArray *rows;
  gsize n_rows;
  gsize n_cols;
  gboolean flat;

  if (!peftq_json_parser_load_file (parser, path, &local_error))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Token ids file %s could not be read as JSON: %s", path, local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      const char *found = "nothing";

      if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
        found = "an object";
      else if (root != NULL && JSON_NODE_HOLDS_VALUE (root))
        found = "a single value";
      else if (root != NULL)
        found = "null";

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Token ids file %s must be a JSON list of lists of token ids; its top level is %s",
                   path, found);
      return NULL;
    }
  if (json_array_get_length (json_node_get_array (root)) == 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Token ids file %s must be a JSON list of lists of token ids, but the list is empty", path);
      return NULL;
    }

  rows = json_node_get_array (root);
  flat = !JSON_NODE_HOLDS_ARRAY (json_array_get_element (rows, 0));
  n_rows = flat ? 1 : json_array_get_length (rows);
  n_cols = flat ? json_array_get_length (rows) : json_array_get_length (json_node_get_array (json_array_get_element (rows, 0)));
  if (n_cols == 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Token ids file %s: the first sequence is empty", path);
      return NULL;
    }

  values = g_new (gint64, n_rows * n_cols);
  for (gsize r = 0; r < n_rows; r++)
    {
      JsonNode *row_node = flat ? root : json_array_get_element (rows, (guint) r);
      JsonArray *row;

      if (!JSON_NODE_HOLDS_ARRAY (row_node) || json_array_get_length (json_node_get_array (row_node)) != n_cols)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "Token ids file %s: sequence %zu is not a list of %zu ids like the first one",
                       path, r, n_cols);
          return NULL;
        }

      row = json_node_get_array (row_node);
      for (gsize c = 0; c < n_cols; c++)
        if (!read_id (json_array_get_element (row, (guint) c), path, r, c, &values[r * n_cols + c], error))
          return NULL;
    }

  return make_ids_tensor (g_steal_pointer (&values), n_rows, n_cols);
}

static PeftqTensor *
load_safetensors (const char  *path,
                  GError     **error)
{
  g_autoptr(PeftqSafetensorsFile) file = peftq_safetensors_file_open (path, error);
  g_autoptr(PeftqTensor) tensor = NULL;
  g_autofree gint64 *values = NULL;
  PeftqDType dtype;
  guint rank;
  const gint64 *shape;
  const guint8 *data;
  gsize n;

  if (file == NULL)
    return NULL;

  tensor = peftq_safetensors_file_get_tensor (file, "input_ids", error);
  if (tensor == NULL)
    return NULL;

  dtype = peftq_tensor_get_dtype (tensor);
  shape = peftq_tensor_get_shape (tensor, &rank);
  if ((dtype != PEFTQ_DTYPE_I64 && dtype != PEFTQ_DTYPE_I32) || rank < 1 || rank > 2)
    {
      g_autofree char *text = peftq_tensor_format_shape (tensor);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: tensor “input_ids” must be I64 or I32 of shape [batch, tokens], not %s %s",
                   path, peftq_dtype_to_string (dtype), text);
      return NULL;
    }

  n = (gsize) peftq_tensor_get_n_elements (tensor);
  values = g_new (gint64, MAX (n, 1));
  data = peftq_tensor_peek_data (tensor);
  for (gsize i = 0; i < n; i++)
    {
      if (dtype == PEFTQ_DTYPE_I64)
        memcpy (&values[i], data + 8 * i, 8);
      else
        {
          gint32 v;

          memcpy (&v, data + 4 * i, 4);
          values[i] = v;
        }
    }

  return make_ids_tensor (g_steal_pointer (&values), rank == 2 ? (gsize) shape[0] : 1,
                          (gsize) shape[rank - 1]);
}

/**
 * peftq_load_token_ids:
 * @path: a JSON file with a list of lists of token ids (or one flat list), or a
 *   safetensors file with an I64 or I32 tensor `input_ids` of shape [batch, tokens] or
 *   [tokens]
 * @error: return location for a #GError
 *
 * Reads token ids, such as a calibration dataset or a model input. A file whose first
 * non-blank byte is `[` or `{` is read as JSON, any other as safetensors. Every JSON
 * sequence must have the same length.
 *
 * Returns: (transfer full): an I64 tensor of shape [batch, tokens], or `NULL` if the
 *   file is missing or malformed
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_load_token_ids (const char  *path,
                      GError     **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *contents;
  gsize length;
  gsize i = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_check_regular_file (path, error))
    return NULL;

  mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (mapped == NULL)
    {
      g_set_error (error, PEFTQ_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? PEFTQ_ERROR_NOT_FOUND : PEFTQ_ERROR_IO,
                   "Token ids file %s could not be opened: %s", path, local_error->message);
      return NULL;
    }

  contents = g_mapped_file_get_contents (mapped);
  length = g_mapped_file_get_length (mapped);
  while (i < length && g_ascii_isspace (contents[i]))
    i++;

  /* A safetensors file starts with its header length as a little-endian 64-bit integer,
   * whose first byte may happen to be '[' or '{'. Any real header length has a zero in
   * its top byte, and JSON text contains no NUL byte, so a NUL decides for safetensors. */
  if (i < length && (contents[i] == '[' || contents[i] == '{') &&
      memchr (contents, '\0', MIN (length, 8)) == NULL)
    return load_json (path, error);

  return load_safetensors (path, error);
}
