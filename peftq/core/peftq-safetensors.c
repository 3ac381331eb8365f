/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-safetensors.h"
#include "peftq-error.h"
#include "peftq-file-private.h"
#include "peftq-json-private.h"
#include "peftq-tensor-private.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

/**
 * PeftqSafetensorsFile:
 *
 * A safetensors file, memory-mapped and validated.
 *
 * The format is an 8-byte little-endian header length, a JSON header that maps each
 * tensor name to its dtype, shape and byte span, and the raw tensor data. Opening a file
 * validates the whole header before any tensor is used: every dtype is known, every
 * shape matches its byte span, and the spans cover the data area exactly, with no
 * overlap, gap or trailing bytes. Tensors returned by
 * [method@Peftq.SafetensorsFile.get_tensor] point into the mapping, so they cost no copy
 * and keep the mapping alive.
 *
 * NOTE: as with any memory-mapped file, another program that truncates the file while it
 * is mapped makes later reads of the lost pages fail with `SIGBUS`. Replacing the file
 * by renaming a new one over it, as [class@Peftq.SafetensorsWriter] does, is safe.
 *
 * Since: 1.0
 */

/**
 * PeftqSafetensorsWriter:
 *
 * Collects named tensors and string metadata, and writes them as one safetensors file.
 *
 * Tensors are written ordered by alignment (larger element size first) and then by name,
 * so that the same set of tensors always gives the same bytes, and every tensor starts
 * at an offset aligned for its dtype. The file is written under a temporary name and
 * renamed into place, so an error never leaves a partial file nor destroys the old one.
 *
 * Since: 1.0
 */

typedef struct
{
  char *name;
  PeftqDType dtype;
  gint64 *shape;
  guint rank;
  guint64 begin;
  guint64 end;
} TensorEntry;

struct _PeftqSafetensorsFile
{
  GObject parent_instance;

  char *path;
  GMappedFile *mapping;
  GBytes *data;              /* the data area after the header */
  GPtrArray *entries;        /* TensorEntry, ordered by offset */
  GHashTable *entry_by_name; /* name → TensorEntry, owned by entries */
  GHashTable *metadata;      /* string → string */
};

G_DEFINE_FINAL_TYPE (PeftqSafetensorsFile, peftq_safetensors_file, G_TYPE_OBJECT)

static const char git_lfs_prefix[] = "version https://git-lfs";

/* A valid header nests three levels: root, tensor entry and shape. The bound exists only
 * to keep the parsing of hostile headers within a small stack. */
#define HEADER_MAX_DEPTH 32

static void
tensor_entry_free (TensorEntry *entry)
{
  g_free (entry->name);
  g_free (entry->shape);
  g_free (entry);
}

static void
peftq_safetensors_file_finalize (GObject *object)
{
  PeftqSafetensorsFile *self = PEFTQ_SAFETENSORS_FILE (object);

  g_clear_pointer (&self->entry_by_name, g_hash_table_unref);
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_pointer (&self->metadata, g_hash_table_unref);
  g_clear_pointer (&self->data, g_bytes_unref);
  g_clear_pointer (&self->mapping, g_mapped_file_unref);
  g_clear_pointer (&self->path, g_free);

  G_OBJECT_CLASS (peftq_safetensors_file_parent_class)->finalize (object);
}

static void
peftq_safetensors_file_class_init (PeftqSafetensorsFileClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = peftq_safetensors_file_finalize;
}

static void
peftq_safetensors_file_init (PeftqSafetensorsFile *self)
{
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) tensor_entry_free);
  self->entry_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

G_GNUC_PRINTF (3, 4)
static void
set_invalid (GError     **error,
             const char  *path,
             const char  *format,
             ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA, "%s: %s", path, message);
}

/* Finds a name that occurs twice among the root members. json-glib keeps only the last
 * of duplicate members, so the names come from the strict pre-parse of the text. */
static const char *
find_duplicate_name (GPtrArray *names)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);

      if (!g_hash_table_add (seen, (gpointer) name))
        return name;
    }

  return NULL;
}

/* Reads a JSON number node as a non-negative integer, rejecting fractions, negatives and
 * values beyond 2^63 - 1. */
static gboolean
read_non_negative_integer (JsonNode *node,
                           gint64   *out_value)
{
  GType value_type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  value_type = json_node_get_value_type (node);
  if (value_type != G_TYPE_INT64)
    return FALSE;

  *out_value = json_node_get_int (node);
  return *out_value >= 0;
}

static gboolean
parse_metadata (PeftqSafetensorsFile  *self,
                JsonNode              *node,
                GError               **error)
{
  JsonObject *object;
  g_autoptr(GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      set_invalid (error, self->path, "“__metadata__” must be an object of strings");
      return FALSE;
    }

  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      JsonNode *value = json_object_get_member (object, key);

      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          set_invalid (error, self->path, "metadata key “%s” must map to a string", key);
          return FALSE;
        }

      g_hash_table_replace (self->metadata, g_strdup (key), g_strdup (json_node_get_string (value)));
    }

  return TRUE;
}

static TensorEntry *
parse_entry (PeftqSafetensorsFile  *self,
             const char            *name,
             JsonNode              *node,
             guint64                data_size,
             GError               **error)
{
  g_autoptr(GError) shape_error = NULL;
  TensorEntry *entry;
  JsonObject *object;
  JsonNode *dtype_node;
  JsonNode *shape_node;
  JsonNode *offsets_node;
  JsonArray *shape_array;
  JsonArray *offsets_array;
  const char *dtype_name;
  guint64 n_elements;
  gint64 begin;
  gint64 end;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      set_invalid (error, self->path, "tensor “%s”: the entry must be an object", name);
      return NULL;
    }
  object = json_node_get_object (node);

  dtype_node = json_object_get_member (object, "dtype");
  shape_node = json_object_get_member (object, "shape");
  offsets_node = json_object_get_member (object, "data_offsets");
  if (dtype_node == NULL || shape_node == NULL || offsets_node == NULL)
    {
      const char *missing = "data_offsets";

      if (dtype_node == NULL)
        missing = "dtype";
      else if (shape_node == NULL)
        missing = "shape";

      set_invalid (error, self->path, "tensor “%s”: missing field “%s”", name, missing);
      return NULL;
    }

  if (!JSON_NODE_HOLDS_VALUE (dtype_node) || json_node_get_value_type (dtype_node) != G_TYPE_STRING)
    {
      set_invalid (error, self->path, "tensor “%s”: “dtype” must be a string", name);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_ARRAY (shape_node))
    {
      set_invalid (error, self->path, "tensor “%s”: “shape” must be an array of integers", name);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_ARRAY (offsets_node) || json_array_get_length (json_node_get_array (offsets_node)) != 2)
    {
      set_invalid (error, self->path, "tensor “%s”: “data_offsets” must be an array of two integers", name);
      return NULL;
    }

  entry = g_new0 (TensorEntry, 1);
  entry->name = g_strdup (name);

  dtype_name = json_node_get_string (dtype_node);
  if (!peftq_dtype_from_string (dtype_name, &entry->dtype))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "%s: tensor “%s”: unsupported dtype “%s” (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)",
                   self->path, name, dtype_name);
      tensor_entry_free (entry);
      return NULL;
    }

  shape_array = json_node_get_array (shape_node);
  entry->rank = json_array_get_length (shape_array);
  entry->shape = g_new0 (gint64, entry->rank + 1);
  for (guint axis = 0; axis < entry->rank; axis++)
    {
      if (!read_non_negative_integer (json_array_get_element (shape_array, axis), &entry->shape[axis]))
        {
          set_invalid (error, self->path, "tensor “%s”: dimension %u must be a non-negative integer", name, axis);
          tensor_entry_free (entry);
          return NULL;
        }
    }

  if (!peftq_shape_get_n_elements (entry->shape, entry->rank, entry->dtype, &n_elements, &shape_error))
    {
      set_invalid (error, self->path, "tensor “%s”: %s", name, shape_error->message);
      tensor_entry_free (entry);
      return NULL;
    }

  offsets_array = json_node_get_array (offsets_node);
  if (!read_non_negative_integer (json_array_get_element (offsets_array, 0), &begin) ||
      !read_non_negative_integer (json_array_get_element (offsets_array, 1), &end))
    {
      set_invalid (error, self->path, "tensor “%s”: data offsets must be non-negative integers", name);
      tensor_entry_free (entry);
      return NULL;
    }

  if (begin > end)
    {
      set_invalid (error, self->path, "tensor “%s”: data offsets are reversed (%" G_GINT64_FORMAT " > %" G_GINT64_FORMAT ")",
                   name, begin, end);
      tensor_entry_free (entry);
      return NULL;
    }

  if ((guint64) end > data_size)
    {
      set_invalid (error, self->path, "tensor “%s”: data offsets end at %" G_GINT64_FORMAT ", past the data area of %" G_GUINT64_FORMAT " bytes",
                   name, end, data_size);
      tensor_entry_free (entry);
      return NULL;
    }

  if ((guint64) (end - begin) != n_elements * peftq_dtype_get_size (entry->dtype))
    {
      set_invalid (error, self->path, "tensor “%s”: %" G_GINT64_FORMAT " bytes of data, but %" G_GUINT64_FORMAT " elements of %s need %" G_GUINT64_FORMAT,
                   name, end - begin, n_elements, dtype_name, n_elements * peftq_dtype_get_size (entry->dtype));
      tensor_entry_free (entry);
      return NULL;
    }

  entry->begin = (guint64) begin;
  entry->end = (guint64) end;

  return entry;
}

static int
compare_entries_by_offset (gconstpointer a,
                           gconstpointer b)
{
  const TensorEntry *first = *(const TensorEntry **) a;
  const TensorEntry *second = *(const TensorEntry **) b;

  if (first->begin != second->begin)
    return first->begin < second->begin ? -1 : 1;
  if (first->end != second->end)
    return first->end < second->end ? -1 : 1;
  return strcmp (first->name, second->name);
}

/* Checks that the byte spans, in offset order, tile the data area exactly. */
static gboolean
check_coverage (PeftqSafetensorsFile  *self,
                guint64                data_size,
                GError               **error)
{
  guint64 position = 0;
  const char *previous_name = NULL;

  g_ptr_array_sort (self->entries, compare_entries_by_offset);

  for (guint i = 0; i < self->entries->len; i++)
    {
      TensorEntry *entry = g_ptr_array_index (self->entries, i);

      if (entry->begin < position)
        {
          set_invalid (error, self->path, "tensor “%s” overlaps tensor “%s” at byte %" G_GUINT64_FORMAT,
                       entry->name, previous_name, entry->begin);
          return FALSE;
        }
      if (entry->begin > position)
        {
          set_invalid (error, self->path, "%" G_GUINT64_FORMAT " unused bytes before tensor “%s” (a gap at byte %" G_GUINT64_FORMAT ")",
                       entry->begin - position, entry->name, position);
          return FALSE;
        }

      position = entry->end;
      previous_name = entry->name;
    }

  if (position != data_size)
    {
      set_invalid (error, self->path, "%" G_GUINT64_FORMAT " trailing bytes after the last tensor",
                   data_size - position);
      return FALSE;
    }

  return TRUE;
}

static gboolean
parse_header (PeftqSafetensorsFile  *self,
              const char            *header,
              gsize                  header_size,
              guint64                data_size,
              GError               **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) json_error = NULL;
  g_autoptr(GList) members = NULL;
  g_autoptr(GPtrArray) root_names = NULL;
  JsonNode *root;
  JsonObject *object;
  const char *end_of_valid;
  const char *duplicate;

  if (!g_utf8_validate (header, (gssize) header_size, &end_of_valid))
    {
      set_invalid (error, self->path, "the header is not valid UTF-8 (byte %" G_GSIZE_FORMAT " of the header)",
                   (gsize) (end_of_valid - header));
      return FALSE;
    }

  if (header_size == 0 || header[0] != '{')
    {
      set_invalid (error, self->path, "the header must be a JSON object starting with “{”");
      return FALSE;
    }

  /* json-glib alone accepts non-JSON input and can overflow the stack on deep nesting,
   * so the text passes a strict check first. */
  if (!peftq_json_validate (header, header_size, HEADER_MAX_DEPTH, &root_names, &json_error))
    {
      set_invalid (error, self->path, "invalid JSON in the header: %s", json_error->message);
      return FALSE;
    }

  duplicate = find_duplicate_name (root_names);
  if (duplicate != NULL)
    {
      set_invalid (error, self->path, "the header has “%s” more than once, but names must be unique", duplicate);
      return FALSE;
    }

  if (!json_parser_load_from_data (parser, header, (gssize) header_size, &json_error))
    {
      set_invalid (error, self->path, "the header is not valid JSON: %s", json_error->message);
      return FALSE;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      set_invalid (error, self->path, "the header must be a JSON object");
      return FALSE;
    }

  object = json_node_get_object (root);

  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (object, name);
      TensorEntry *entry;

      if (strcmp (name, "__metadata__") == 0)
        {
          if (!parse_metadata (self, node, error))
            return FALSE;
          continue;
        }

      entry = parse_entry (self, name, node, data_size, error);
      if (entry == NULL)
        return FALSE;

      g_ptr_array_add (self->entries, entry);
      g_hash_table_insert (self->entry_by_name, entry->name, entry);
    }

  return check_coverage (self, data_size, error);
}

/**
 * peftq_safetensors_file_open:
 * @path: (type filename): the file to open
 * @error: return location for a #GError
 *
 * Maps a safetensors file into memory and validates its header. The header may be at
 * most [const@Peftq.SAFETENSORS_MAX_HEADER_SIZE] bytes. A Git LFS pointer file, which a
 * clone without `git lfs` leaves in place of the data, is reported as such.
 *
 * Returns: (transfer full): the opened file, or `NULL` with @error set to
 *   %PEFTQ_ERROR_NOT_FOUND if the file does not exist, %PEFTQ_ERROR_IO if it cannot be
 *   read, %PEFTQ_ERROR_UNSUPPORTED for a dtype that peftq does not support, or
 *   %PEFTQ_ERROR_INVALID_DATA for any other problem
 *
 * Since: 1.0
 */
PeftqSafetensorsFile *
peftq_safetensors_file_open (const char  *path,
                             GError     **error)
{
  g_autoptr(PeftqSafetensorsFile) self = NULL;
  g_autoptr(GError) map_error = NULL;
  const char *contents;
  gsize file_size;
  guint64 header_size;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (PEFTQ_TYPE_SAFETENSORS_FILE, NULL);
  self->path = g_strdup (path);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, "%s: is a folder, not a safetensors file", path);
      return NULL;
    }

  if (!peftq_check_regular_file (path, error))
    return NULL;

  self->mapping = g_mapped_file_new (path, FALSE, &map_error);
  if (self->mapping == NULL)
    {
      /* GLib's message already names the file and the system error. */
      g_set_error (error, PEFTQ_ERROR,
                   g_error_matches (map_error, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? PEFTQ_ERROR_NOT_FOUND : PEFTQ_ERROR_IO,
                   "%s", map_error->message);
      return NULL;
    }

  contents = g_mapped_file_get_contents (self->mapping);
  file_size = g_mapped_file_get_length (self->mapping);

  if (file_size >= sizeof git_lfs_prefix - 1 &&
      memcmp (contents, git_lfs_prefix, sizeof git_lfs_prefix - 1) == 0)
    {
      set_invalid (error, path, "this is a Git LFS pointer, not the tensor data; fetch the real file with “git lfs pull”");
      return NULL;
    }

  if (file_size < 8)
    {
      set_invalid (error, path, "truncated file of %" G_GSIZE_FORMAT " bytes: a safetensors file starts with an 8-byte header length",
                   file_size);
      return NULL;
    }

  memcpy (&header_size, contents, sizeof header_size);
  header_size = GUINT64_FROM_LE (header_size);

  if (header_size > PEFTQ_SAFETENSORS_MAX_HEADER_SIZE)
    {
      set_invalid (error, path, "the header length %" G_GUINT64_FORMAT " exceeds the limit of %d bytes",
                   header_size, PEFTQ_SAFETENSORS_MAX_HEADER_SIZE);
      return NULL;
    }

  if (header_size > file_size - 8)
    {
      set_invalid (error, path, "the header length %" G_GUINT64_FORMAT " runs past the end of the file (%" G_GSIZE_FORMAT " bytes); the file is truncated",
                   header_size, file_size);
      return NULL;
    }

  if (!parse_header (self, contents + 8, (gsize) header_size, file_size - 8 - header_size, error))
    return NULL;

  {
    g_autoptr(GBytes) whole = g_mapped_file_get_bytes (self->mapping);
    self->data = g_bytes_new_from_bytes (whole, 8 + (gsize) header_size, file_size - 8 - (gsize) header_size);
  }

  return g_steal_pointer (&self);
}

/**
 * peftq_safetensors_file_get_path:
 * @self: a safetensors file
 *
 * Returns the path that @self was opened from.
 *
 * Returns: (type filename): the path
 *
 * Since: 1.0
 */
const char *
peftq_safetensors_file_get_path (PeftqSafetensorsFile *self)
{
  g_return_val_if_fail (PEFTQ_IS_SAFETENSORS_FILE (self), NULL);

  return self->path;
}

/**
 * peftq_safetensors_file_get_n_tensors:
 * @self: a safetensors file
 *
 * Returns the number of tensors in @self.
 *
 * Returns: the tensor count
 *
 * Since: 1.0
 */
guint
peftq_safetensors_file_get_n_tensors (PeftqSafetensorsFile *self)
{
  g_return_val_if_fail (PEFTQ_IS_SAFETENSORS_FILE (self), 0);

  return self->entries->len;
}

/**
 * peftq_safetensors_file_get_tensor_names:
 * @self: a safetensors file
 *
 * Lists the tensor names of @self in the order of their data in the file.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names
 *
 * Since: 1.0
 */
char **
peftq_safetensors_file_get_tensor_names (PeftqSafetensorsFile *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (PEFTQ_IS_SAFETENSORS_FILE (self), NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      TensorEntry *entry = g_ptr_array_index (self->entries, i);
      g_strv_builder_add (builder, entry->name);
    }

  return g_strv_builder_end (builder);
}

/**
 * peftq_safetensors_file_has_tensor:
 * @self: a safetensors file
 * @name: a tensor name
 *
 * Checks whether @self contains a tensor called @name.
 *
 * Returns: `TRUE` if the tensor exists
 *
 * Since: 1.0
 */
gboolean
peftq_safetensors_file_has_tensor (PeftqSafetensorsFile *self,
                                   const char           *name)
{
  g_return_val_if_fail (PEFTQ_IS_SAFETENSORS_FILE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return g_hash_table_contains (self->entry_by_name, name);
}

/**
 * peftq_safetensors_file_get_tensor:
 * @self: a safetensors file
 * @name: a tensor name
 * @error: return location for a #GError
 *
 * Returns the tensor called @name. Its data points into the mapped file, which stays
 * mapped while the tensor lives.
 *
 * Returns: (transfer full): the tensor, or `NULL` with %PEFTQ_ERROR_NOT_FOUND if @self
 *   has no such tensor
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_safetensors_file_get_tensor (PeftqSafetensorsFile  *self,
                                   const char            *name,
                                   GError               **error)
{
  TensorEntry *entry;
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (PEFTQ_IS_SAFETENSORS_FILE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entry = g_hash_table_lookup (self->entry_by_name, name);
  if (entry == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "%s: no tensor named “%s”", self->path, name);
      return NULL;
    }

  bytes = g_bytes_new_from_bytes (self->data, (gsize) entry->begin, (gsize) (entry->end - entry->begin));

  return peftq_tensor_new_from_bytes (entry->dtype, entry->shape, entry->rank, bytes, error);
}

/**
 * peftq_safetensors_file_get_metadata:
 * @self: a safetensors file
 *
 * Returns the string metadata of the file's `__metadata__` entry, which is empty when
 * the file has none.
 *
 * Returns: (transfer none) (element-type utf8 utf8): the metadata, owned by @self
 *
 * Since: 1.0
 */
GHashTable *
peftq_safetensors_file_get_metadata (PeftqSafetensorsFile *self)
{
  g_return_val_if_fail (PEFTQ_IS_SAFETENSORS_FILE (self), NULL);

  return self->metadata;
}

/**
 * peftq_safetensors_file_get_metadata_value:
 * @self: a safetensors file
 * @key: a metadata key
 *
 * Looks up one metadata value of @self.
 *
 * Returns: (nullable): the value, or `NULL` if @key is not set
 *
 * Since: 1.0
 */
const char *
peftq_safetensors_file_get_metadata_value (PeftqSafetensorsFile *self,
                                           const char           *key)
{
  g_return_val_if_fail (PEFTQ_IS_SAFETENSORS_FILE (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  return g_hash_table_lookup (self->metadata, key);
}

/* Writer */

struct _PeftqSafetensorsWriter
{
  GObject parent_instance;

  GHashTable *tensors;  /* name → PeftqTensor */
  GHashTable *metadata; /* string → string */
};

G_DEFINE_FINAL_TYPE (PeftqSafetensorsWriter, peftq_safetensors_writer, G_TYPE_OBJECT)

static void
peftq_safetensors_writer_finalize (GObject *object)
{
  PeftqSafetensorsWriter *self = PEFTQ_SAFETENSORS_WRITER (object);

  g_clear_pointer (&self->tensors, g_hash_table_unref);
  g_clear_pointer (&self->metadata, g_hash_table_unref);

  G_OBJECT_CLASS (peftq_safetensors_writer_parent_class)->finalize (object);
}

static void
peftq_safetensors_writer_class_init (PeftqSafetensorsWriterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = peftq_safetensors_writer_finalize;
}

static void
peftq_safetensors_writer_init (PeftqSafetensorsWriter *self)
{
  self->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/**
 * peftq_safetensors_writer_new:
 *
 * Creates an empty writer.
 *
 * Returns: (transfer full): a new writer
 *
 * Since: 1.0
 */
PeftqSafetensorsWriter *
peftq_safetensors_writer_new (void)
{
  return g_object_new (PEFTQ_TYPE_SAFETENSORS_WRITER, NULL);
}

/**
 * peftq_safetensors_writer_add_tensor:
 * @self: a writer
 * @name: the tensor name
 * @tensor: the tensor, which the writer keeps a reference to
 * @error: return location for a #GError
 *
 * Adds a tensor to be written.
 *
 * Returns: `TRUE` on success, `FALSE` with %PEFTQ_ERROR_INVALID_ARGUMENT if the name is
 *   empty, is `__metadata__` or was already added
 *
 * Since: 1.0
 */
gboolean
peftq_safetensors_writer_add_tensor (PeftqSafetensorsWriter  *self,
                                     const char              *name,
                                     PeftqTensor             *tensor,
                                     GError                 **error)
{
  g_return_val_if_fail (PEFTQ_IS_SAFETENSORS_WRITER (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (tensor), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (*name == '\0' || strcmp (name, "__metadata__") == 0 || !g_utf8_validate (name, -1, NULL))
    {
      /* The message itself must be UTF-8, so invalid bytes show as U+FFFD. */
      g_autofree char *printable = g_utf8_make_valid (name, -1);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Invalid tensor name “%s”: it must be non-empty UTF-8 and not “__metadata__”", printable);
      return FALSE;
    }

  if (g_hash_table_contains (self->tensors, name))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "A tensor named “%s” was already added", name);
      return FALSE;
    }

  g_hash_table_insert (self->tensors, g_strdup (name), g_object_ref (tensor));
  return TRUE;
}

/**
 * peftq_safetensors_writer_set_metadata:
 * @self: a writer
 * @key: a metadata key
 * @value: the value
 *
 * Sets a string in the file's `__metadata__`, replacing an earlier value of @key.
 *
 * Since: 1.0
 */
void
peftq_safetensors_writer_set_metadata (PeftqSafetensorsWriter *self,
                                       const char             *key,
                                       const char             *value)
{
  g_return_if_fail (PEFTQ_IS_SAFETENSORS_WRITER (self));
  g_return_if_fail (key != NULL && g_utf8_validate (key, -1, NULL));
  g_return_if_fail (value != NULL && g_utf8_validate (value, -1, NULL));

  g_hash_table_replace (self->metadata, g_strdup (key), g_strdup (value));
}

typedef struct
{
  const char *name;
  PeftqTensor *tensor;
} NamedTensor;

static int
compare_for_layout (gconstpointer a,
                    gconstpointer b)
{
  const NamedTensor *first = a;
  const NamedTensor *second = b;
  gsize first_size = peftq_dtype_get_size (peftq_tensor_get_dtype (first->tensor));
  gsize second_size = peftq_dtype_get_size (peftq_tensor_get_dtype (second->tensor));

  if (first_size != second_size)
    return first_size > second_size ? -1 : 1;

  return strcmp (first->name, second->name);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

static char *
build_header (PeftqSafetensorsWriter *self,
              GArray                 *layout)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  guint64 offset = 0;

  json_builder_begin_object (builder);

  if (g_hash_table_size (self->metadata) > 0)
    {
      g_autofree gpointer *keys = g_hash_table_get_keys_as_array (self->metadata, NULL);
      guint n_keys = g_hash_table_size (self->metadata);

      qsort (keys, n_keys, sizeof (gpointer), compare_strings);
      json_builder_set_member_name (builder, "__metadata__");
      json_builder_begin_object (builder);
      for (guint i = 0; i < n_keys; i++)
        {
          json_builder_set_member_name (builder, keys[i]);
          json_builder_add_string_value (builder, g_hash_table_lookup (self->metadata, keys[i]));
        }
      json_builder_end_object (builder);
    }

  for (guint i = 0; i < layout->len; i++)
    {
      NamedTensor *item = &g_array_index (layout, NamedTensor, i);
      guint rank;
      const gint64 *shape = peftq_tensor_get_shape (item->tensor, &rank);
      gsize n_bytes = peftq_tensor_get_n_bytes (item->tensor);

      json_builder_set_member_name (builder, item->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, peftq_dtype_to_string (peftq_tensor_get_dtype (item->tensor)));
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (guint axis = 0; axis < rank; axis++)
        json_builder_add_int_value (builder, shape[axis]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_add_int_value (builder, (gint64) (offset + n_bytes));
      json_builder_end_array (builder);
      json_builder_end_object (builder);

      offset += n_bytes;
    }

  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, NULL);
}

/**
 * peftq_safetensors_writer_write:
 * @self: a writer
 * @path: (type filename): the file to write
 * @error: return location for a #GError
 *
 * Writes the added tensors and metadata to @path. The header is padded with spaces so
 * that the data starts at a multiple of 8 bytes. The file appears at @path only when it
 * is complete.
 *
 * Returns: `TRUE` on success, `FALSE` with %PEFTQ_ERROR_IO if writing fails or
 *   %PEFTQ_ERROR_INVALID_ARGUMENT if the header would exceed
 *   [const@Peftq.SAFETENSORS_MAX_HEADER_SIZE]
 *
 * Since: 1.0
 */
gboolean
peftq_safetensors_writer_write (PeftqSafetensorsWriter  *self,
                                const char              *path,
                                GError                 **error)
{
  g_autoptr(GArray) layout = g_array_new (FALSE, FALSE, sizeof (NamedTensor));
  g_autoptr(PeftqAtomicFile) file = NULL;
  g_autoptr(GString) header = NULL;
  g_autofree char *header_json = NULL;
  GHashTableIter iter;
  gpointer key;
  gpointer value;
  guint64 header_length;

  g_return_val_if_fail (PEFTQ_IS_SAFETENSORS_WRITER (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_hash_table_iter_init (&iter, self->tensors);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      NamedTensor item = { key, value };
      g_array_append_val (layout, item);
    }
  g_array_sort (layout, compare_for_layout);

  header_json = build_header (self, layout);
  header = g_string_new (header_json);
  while ((8 + header->len) % 8 != 0)
    g_string_append_c (header, ' ');

  if (header->len > PEFTQ_SAFETENSORS_MAX_HEADER_SIZE)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Cannot write “%s”: its header would be %" G_GSIZE_FORMAT " bytes, more than the %d bytes "
                   "that safetensors readers accept; store fewer tensors or less metadata in one file",
                   path, header->len, PEFTQ_SAFETENSORS_MAX_HEADER_SIZE);
      return FALSE;
    }

  file = peftq_atomic_file_begin (path, error);
  if (file == NULL)
    return FALSE;

  header_length = GUINT64_TO_LE ((guint64) header->len);
  if (!peftq_atomic_file_write (file, &header_length, sizeof header_length, error) ||
      !peftq_atomic_file_write (file, header->str, header->len, error))
    return FALSE;

  for (guint i = 0; i < layout->len; i++)
    {
      NamedTensor *item = &g_array_index (layout, NamedTensor, i);
      GBytes *bytes = peftq_tensor_get_bytes (item->tensor);
      gsize n_bytes;
      gconstpointer data = g_bytes_get_data (bytes, &n_bytes);

      if (!peftq_atomic_file_write (file, data, n_bytes, error))
        return FALSE;
    }

  return peftq_atomic_file_commit (g_steal_pointer (&file), error);
}
