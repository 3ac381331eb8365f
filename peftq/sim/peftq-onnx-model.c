/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-onnx-model.h"
#include "peftq-error.h"
#include "peftq-onnx-builder-private.h"
#include "peftq-tensor-private.h"
#include "peftq-file-private.h"

#ifdef HAVE_ONNX
#include "onnx.pb-c.h"
#endif

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

/**
 * PeftqOnnxModel:
 *
 * An ONNX model read from a file, for mapping module names to ONNX names.
 *
 * The model lists its graph inputs and outputs, initializers and nodes, and groups the
 * nodes by the module that produced them. Exporters name each node after its module.
 * A module that becomes one node gives it the bare module name
 * (`base_model.model.linear.lora_A.0`). A module that becomes several nodes names them
 * `name`, `name#1`, `name#2`, ..., with `.end` appended to nodes whose output leaves
 * the module. Removing the `.end` suffix and everything from the first `#` gives
 * the module name back, as [func@Peftq.onnx_node_name_to_module_name] does. Parameters
 * are initializers named `<module name>.<parameter name>`.
 *
 * Initializers stored as external data (in a file beside the model, as ONNX does for
 * models over 2 GB) are checked when the model is loaded: the data file must exist in
 * the folder of the model and hold every byte range that the model refers to.
 *
 * Since: 1.0
 */

typedef struct
{
  const char *name;
  const char *op_type;
  const char **inputs;
  const char **outputs;
} Node;

static void
node_clear (gpointer data)
{
  Node *node = data;

  g_free (node->inputs);
  g_free (node->outputs);
}

typedef struct
{
  const char *name;
  int data_type;
  gboolean has_dtype;
  PeftqDType dtype;
  gint64 *shape;
  guint rank;
  guint64 n_elements;
  gboolean external;
  char *data_path;
  guint64 offset;
  guint64 length;
  gconstpointer proto;                  /* the Onnx__TensorProto */
} Initializer;

struct _PeftqOnnxModel
{
  GObject parent_instance;

  char *path;
  gpointer proto;                       /* the Onnx__ModelProto */
  gint64 ir_version;
  gint64 opset_version;

  GArray *nodes;                        /* Node */
  GHashTable *node_indexes;             /* name -> index + 1 */
  GPtrArray *initializers;              /* Initializer */
  GHashTable *initializer_table;        /* name -> Initializer */
  char **input_names;
  char **output_names;
  GHashTable *graph_outputs;            /* set of names */
  GPtrArray *module_names;              /* in graph order of their first node */
  GHashTable *modules;                  /* module name -> GArray of node indexes */
  GHashTable *producers;                /* tensor name -> node index + 1 */
  GHashTable *consumers;                /* tensor name -> GArray of node indexes */
  GHashTable *mapped_files;             /* data file path -> GMappedFile */
};

G_DEFINE_FINAL_TYPE (PeftqOnnxModel, peftq_onnx_model, G_TYPE_OBJECT)

static void
initializer_free (gpointer data)
{
  Initializer *initializer = data;

  g_free (initializer->shape);
  g_free (initializer->data_path);
  g_free (initializer);
}

static void
peftq_onnx_model_finalize (GObject *object)
{
  PeftqOnnxModel *self = PEFTQ_ONNX_MODEL (object);

  g_clear_pointer (&self->mapped_files, g_hash_table_unref);
  g_clear_pointer (&self->consumers, g_hash_table_unref);
  g_clear_pointer (&self->producers, g_hash_table_unref);
  g_clear_pointer (&self->modules, g_hash_table_unref);
  g_clear_pointer (&self->module_names, g_ptr_array_unref);
  g_clear_pointer (&self->graph_outputs, g_hash_table_unref);
  g_clear_pointer (&self->input_names, g_strfreev);
  g_clear_pointer (&self->output_names, g_strfreev);
  g_clear_pointer (&self->initializer_table, g_hash_table_unref);
  g_clear_pointer (&self->initializers, g_ptr_array_unref);
  g_clear_pointer (&self->node_indexes, g_hash_table_unref);
  g_clear_pointer (&self->nodes, g_array_unref);
#ifdef HAVE_ONNX
  if (self->proto != NULL)
    onnx__model_proto__free_unpacked (self->proto, NULL);
#endif
  g_free (self->path);

  G_OBJECT_CLASS (peftq_onnx_model_parent_class)->finalize (object);
}

static void
peftq_onnx_model_class_init (PeftqOnnxModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = peftq_onnx_model_finalize;
}

static void
peftq_onnx_model_init (PeftqOnnxModel *self)
{
  self->nodes = g_array_new (FALSE, TRUE, sizeof (Node));
  g_array_set_clear_func (self->nodes, node_clear);
  self->node_indexes = g_hash_table_new (g_str_hash, g_str_equal);
  self->initializers = g_ptr_array_new_with_free_func (initializer_free);
  self->initializer_table = g_hash_table_new (g_str_hash, g_str_equal);
  self->graph_outputs = g_hash_table_new (g_str_hash, g_str_equal);
  self->module_names = g_ptr_array_new_with_free_func (g_free);
  self->modules = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_array_unref);
  self->producers = g_hash_table_new (g_str_hash, g_str_equal);
  self->consumers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_array_unref);
  self->mapped_files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) g_mapped_file_unref);
}

/**
 * peftq_onnx_node_name_to_module_name:
 * @node_name: the name of an ONNX node
 *
 * Gets the name of the module that produced a node: the node name without a trailing
 * `.end` and without everything from its first `#`.
 *
 * `lora_A.0` gives `lora_A.0`, `mlp#1` gives `mlp`, and `mlp#2.end` and
 * `mlp#0.0.end` give `mlp`.
 *
 * Returns: (transfer full): the module name
 *
 * Since: 1.0
 */
char *
peftq_onnx_node_name_to_module_name (const char *node_name)
{
  g_autofree char *name = NULL;
  char *hash;

  g_return_val_if_fail (node_name != NULL, NULL);

  name = g_strdup (node_name);
  if (g_str_has_suffix (name, ".end"))
    name[strlen (name) - strlen (".end")] = '\0';

  hash = strchr (name, '#');
  if (hash != NULL)
    *hash = '\0';

  return g_steal_pointer (&name);
}

#ifdef HAVE_ONNX

static gboolean
set_invalid (GError      **error,
             const char   *path,
             const char   *format,
             ...) G_GNUC_PRINTF (3, 4);

static gboolean
set_invalid (GError      **error,
             const char   *path,
             const char   *format,
             ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA, "Invalid ONNX model “%s”: %s",
               path, detail);
  return FALSE;
}

/* Parses a decimal value of an external_data entry. */
static gboolean
parse_external_number (const char  *path,
                       const char  *tensor_name,
                       const char  *key,
                       const char  *text,
                       guint64     *out_value,
                       GError     **error)
{
  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, out_value, NULL))
    return set_invalid (error, path, "initializer “%s” has external data %s “%s”, "
                        "which is not a non-negative integer",
                        tensor_name, key, text != NULL ? text : "");
  return TRUE;
}

/* Only a file in the model's folder tree may be referenced, so that a model cannot make
 * peftq read arbitrary files. */
static gboolean
location_is_safe (const char *location)
{
  g_auto(GStrv) parts = NULL;

  if (*location == '\0' || g_path_is_absolute (location) || strchr (location, '\\') != NULL)
    return FALSE;

  parts = g_strsplit (location, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (strcmp (parts[i], "..") == 0)
        return FALSE;
    }

  return TRUE;
}

static gboolean
read_external_data (PeftqOnnxModel           *self,
                    const Onnx__TensorProto  *proto,
                    Initializer              *initializer,
                    GError                  **error)
{
  const char *location = NULL;
  const char *offset_text = NULL;
  const char *length_text = NULL;
  g_autofree char *folder = NULL;
  GStatBuf info;

  for (size_t i = 0; i < proto->n_external_data; i++)
    {
      const Onnx__StringStringEntryProto *entry = proto->external_data[i];

      if (g_strcmp0 (entry->key, "location") == 0)
        location = entry->value;
      else if (g_strcmp0 (entry->key, "offset") == 0)
        offset_text = entry->value;
      else if (g_strcmp0 (entry->key, "length") == 0)
        length_text = entry->value;
    }

  if (location == NULL)
    return set_invalid (error, self->path, "initializer “%s” is stored externally but has "
                        "no location", initializer->name);
  if (!location_is_safe (location))
    return set_invalid (error, self->path, "initializer “%s” refers to external data "
                        "“%s”, which is not a relative path inside the model's folder",
                        initializer->name, location);

  folder = g_path_get_dirname (self->path);
  initializer->data_path = g_build_filename (folder, location, NULL);
  if (g_stat (initializer->data_path, &info) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "Invalid ONNX model “%s”: external data file “%s” of initializer “%s”: %s",
                   self->path, initializer->data_path, initializer->name,
                   g_strerror (saved_errno));
      return FALSE;
    }
  if (!S_ISREG (info.st_mode))
    return set_invalid (error, self->path, "external data “%s” of initializer “%s” is "
                        "not a regular file", initializer->data_path, initializer->name);

  initializer->offset = 0;
  if (offset_text != NULL &&
      !parse_external_number (self->path, initializer->name, "offset", offset_text,
                              &initializer->offset, error))
    return FALSE;

  if (length_text != NULL)
    {
      if (!parse_external_number (self->path, initializer->name, "length", length_text,
                                  &initializer->length, error))
        return FALSE;
    }
  else if (initializer->offset <= (guint64) info.st_size)
    initializer->length = (guint64) info.st_size - initializer->offset;

  if (initializer->offset > (guint64) info.st_size ||
      initializer->length > (guint64) info.st_size - initializer->offset)
    return set_invalid (error, self->path, "initializer “%s” needs bytes %" G_GUINT64_FORMAT
                        " to %" G_GUINT64_FORMAT " of “%s”, which has only %" G_GUINT64_FORMAT
                        " bytes; the data file is truncated or belongs to another model",
                        initializer->name, initializer->offset,
                        initializer->offset + initializer->length, initializer->data_path,
                        (guint64) info.st_size);

  initializer->external = TRUE;
  return TRUE;
}

/* Checks that the stored values of an embedded initializer match its shape. */
static gboolean
check_embedded_data (PeftqOnnxModel           *self,
                     const Onnx__TensorProto  *proto,
                     Initializer              *initializer,
                     GError                  **error)
{
  guint64 n_values;
  const char *field;

  if (proto->has_raw_data)
    {
      guint64 expected = initializer->n_elements * peftq_dtype_get_size (initializer->dtype);

      if (proto->raw_data.len != expected)
        return set_invalid (error, self->path, "initializer “%s” has %" G_GSIZE_FORMAT
                            " bytes of raw_data; its shape and type need %" G_GUINT64_FORMAT,
                            initializer->name, (gsize) proto->raw_data.len, expected);
      return TRUE;
    }

  switch (initializer->dtype)
    {
    case PEFTQ_DTYPE_F32:
      n_values = proto->n_float_data;
      field = "float_data";
      break;
    case PEFTQ_DTYPE_F64:
      n_values = proto->n_double_data;
      field = "double_data";
      break;
    case PEFTQ_DTYPE_I64:
      n_values = proto->n_int64_data;
      field = "int64_data";
      break;
    case PEFTQ_DTYPE_I32:
    case PEFTQ_DTYPE_I16:
    case PEFTQ_DTYPE_I8:
    case PEFTQ_DTYPE_U8:
    case PEFTQ_DTYPE_BOOL:
    case PEFTQ_DTYPE_F16:
    case PEFTQ_DTYPE_BF16:
    default:
      n_values = proto->n_int32_data;
      field = "int32_data";
      break;
    }

  if (n_values != initializer->n_elements)
    return set_invalid (error, self->path, "initializer “%s” has %" G_GUINT64_FORMAT
                        " values in %s; its shape needs %" G_GUINT64_FORMAT,
                        initializer->name, n_values, field, initializer->n_elements);
  return TRUE;
}

static gboolean
read_initializer (PeftqOnnxModel           *self,
                  const Onnx__TensorProto  *proto,
                  guint                     index,
                  GError                  **error)
{
  g_autoptr(GError) shape_error = NULL;
  Initializer *initializer;

  if (proto->name == NULL || *proto->name == '\0')
    return set_invalid (error, self->path, "initializer %u has no name", index);
  if (g_hash_table_contains (self->initializer_table, proto->name))
    return set_invalid (error, self->path, "two initializers are named “%s”", proto->name);

  initializer = g_new0 (Initializer, 1);
  initializer->name = proto->name;
  initializer->proto = proto;
  initializer->data_type = proto->has_data_type ? proto->data_type : 0;
  initializer->rank = proto->n_dims;
  initializer->shape = g_new0 (gint64, MAX (proto->n_dims, 1));
  for (size_t i = 0; i < proto->n_dims; i++)
    initializer->shape[i] = proto->dims[i];
  g_ptr_array_add (self->initializers, initializer);
  g_hash_table_insert (self->initializer_table, (gpointer) initializer->name, initializer);

  /* Types that peftq tensors cannot hold are listed but never loaded, so their data is
   * not checked. */
  initializer->has_dtype = peftq_onnx_data_type_to_dtype (initializer->data_type, &initializer->dtype);
  if (!initializer->has_dtype)
    return TRUE;

  if (!peftq_shape_get_n_elements (initializer->shape, initializer->rank, initializer->dtype,
                                   &initializer->n_elements, &shape_error))
    return set_invalid (error, self->path, "initializer “%s” has an invalid shape: %s",
                        initializer->name, shape_error->message);

  if (proto->has_data_location && proto->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    {
      guint64 expected = initializer->n_elements * peftq_dtype_get_size (initializer->dtype);

      if (!read_external_data (self, proto, initializer, error))
        return FALSE;
      if (initializer->length != expected)
        return set_invalid (error, self->path, "initializer “%s” has %" G_GUINT64_FORMAT
                            " bytes of external data; its shape and type need %" G_GUINT64_FORMAT,
                            initializer->name, initializer->length, expected);
      return TRUE;
    }

  return check_embedded_data (self, proto, initializer, error);
}

static void
add_module_node (PeftqOnnxModel *self,
                 const char     *node_name,
                 guint           index)
{
  g_autofree char *module_name = NULL;
  GArray *indexes;

  if (*node_name == '\0')
    return;

  module_name = peftq_onnx_node_name_to_module_name (node_name);
  indexes = g_hash_table_lookup (self->modules, module_name);
  if (indexes == NULL)
    {
      indexes = g_array_new (FALSE, FALSE, sizeof (guint));
      g_ptr_array_add (self->module_names, g_strdup (module_name));
      g_hash_table_insert (self->modules,
                           g_ptr_array_index (self->module_names, self->module_names->len - 1),
                           indexes);
    }
  g_array_append_val (indexes, index);
}

/* protobuf-c stores repeated strings without a terminator, so node inputs and outputs
 * are copied into NULL-terminated arrays that point to the same strings. */
static const char **
terminated_copy (char   **strings,
                 size_t   n_strings)
{
  const char **copy = g_new0 (const char *, n_strings + 1);

  for (size_t i = 0; i < n_strings; i++)
    copy[i] = strings[i];
  return copy;
}

static gboolean
read_nodes (PeftqOnnxModel           *self,
            const Onnx__GraphProto   *graph,
            GError                  **error)
{
  for (size_t i = 0; i < graph->n_node; i++)
    {
      const Onnx__NodeProto *proto = graph->node[i];
      Node node;

      if (proto->op_type == NULL || *proto->op_type == '\0')
        return set_invalid (error, self->path, "node %" G_GSIZE_FORMAT " (“%s”) has no op_type",
                            (gsize) i, proto->name != NULL ? proto->name : "");

      node.name = proto->name != NULL ? proto->name : "";
      node.op_type = proto->op_type;
      node.inputs = terminated_copy (proto->input, proto->n_input);
      node.outputs = terminated_copy (proto->output, proto->n_output);
      g_array_append_val (self->nodes, node);
    }

  return TRUE;
}

static void
index_graph (PeftqOnnxModel *self)
{
  for (guint i = 0; i < self->nodes->len; i++)
    {
      Node *node = &g_array_index (self->nodes, Node, i);

      if (*node->name != '\0' && !g_hash_table_contains (self->node_indexes, node->name))
        g_hash_table_insert (self->node_indexes, (gpointer) node->name, GUINT_TO_POINTER (i + 1));

      for (guint j = 0; node->outputs[j] != NULL; j++)
        {
          if (*node->outputs[j] != '\0')
            g_hash_table_insert (self->producers, (gpointer) node->outputs[j], GUINT_TO_POINTER (i + 1));
        }

      for (guint j = 0; node->inputs[j] != NULL; j++)
        {
          GArray *consumers;

          if (*node->inputs[j] == '\0')
            continue;

          consumers = g_hash_table_lookup (self->consumers, node->inputs[j]);
          if (consumers == NULL)
            {
              consumers = g_array_new (FALSE, FALSE, sizeof (guint));
              g_hash_table_insert (self->consumers, (gpointer) node->inputs[j], consumers);
            }
          g_array_append_val (consumers, i);
        }
    }
}

#endif /* HAVE_ONNX */

#ifdef HAVE_ONNX

static gboolean
read_model (PeftqOnnxModel  *self,
            GError         **error)
{
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GError) local_error = NULL;
  const Onnx__ModelProto *model;
  const Onnx__GraphProto *graph;
  g_autoptr(GStrvBuilder) inputs = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) outputs = g_strv_builder_new ();
  gsize length;

  if (!peftq_check_regular_file (self->path, error))
    return FALSE;

  file = g_mapped_file_new (self->path, FALSE, &local_error);
  if (file == NULL)
    {
      g_set_error (error, PEFTQ_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? PEFTQ_ERROR_NOT_FOUND : PEFTQ_ERROR_IO,
                   "Failed to read ONNX model “%s”: %s", self->path, local_error->message);
      return FALSE;
    }

  length = g_mapped_file_get_length (file);
  if (length == 0)
    return set_invalid (error, self->path, "the file is empty");

  self->proto = onnx__model_proto__unpack (NULL, length,
                                           (const uint8_t *) g_mapped_file_get_contents (file));
  if (self->proto == NULL)
    return set_invalid (error, self->path, "the file is not a protobuf ModelProto, or it is "
                        "truncated");

  /* Protobuf has no magic number, and other bytes can decode as a message with only
   * unknown fields, so the fields that every model has are required. Writers order
   * fields by number, so opset_import (8) follows the graph (7) and a file cut before
   * it fails here.
   * NOTE: a file cut exactly between opset_import and a later field, such as
   * metadata_props, still parses; protobuf has no end marker to detect that. */
  model = self->proto;
  if (!model->has_ir_version || model->ir_version <= 0)
    return set_invalid (error, self->path, "ir_version is missing, so this is not an ONNX "
                        "model");
  if (model->graph == NULL)
    return set_invalid (error, self->path, "the graph is missing");
  if (model->n_opset_import == 0)
    return set_invalid (error, self->path, "opset_import is missing; the file may be "
                        "truncated");

  self->ir_version = model->ir_version;
  for (size_t i = 0; i < model->n_opset_import; i++)
    {
      const Onnx__OperatorSetIdProto *opset = model->opset_import[i];

      if (opset->domain == NULL || *opset->domain == '\0' || strcmp (opset->domain, "ai.onnx") == 0)
        self->opset_version = opset->version;
    }

  graph = model->graph;
  for (size_t i = 0; i < graph->n_initializer; i++)
    {
      if (!read_initializer (self, graph->initializer[i], (guint) i, error))
        return FALSE;
    }

  if (!read_nodes (self, graph, error))
    return FALSE;

  /* Before IR version 4, initializers were also listed as graph inputs. */
  for (size_t i = 0; i < graph->n_input; i++)
    {
      const char *name = graph->input[i]->name;

      if (name == NULL || *name == '\0')
        return set_invalid (error, self->path, "graph input %" G_GSIZE_FORMAT " has no name", (gsize) i);
      if (!g_hash_table_contains (self->initializer_table, name))
        g_strv_builder_add (inputs, name);
    }
  for (size_t i = 0; i < graph->n_output; i++)
    {
      const char *name = graph->output[i]->name;

      if (name == NULL || *name == '\0')
        return set_invalid (error, self->path, "graph output %" G_GSIZE_FORMAT " has no name", (gsize) i);
      g_strv_builder_add (outputs, name);
      g_hash_table_add (self->graph_outputs, (gpointer) name);
    }
  self->input_names = g_strv_builder_end (inputs);
  self->output_names = g_strv_builder_end (outputs);

  for (guint i = 0; i < self->nodes->len; i++)
    add_module_node (self, g_array_index (self->nodes, Node, i).name, i);
  index_graph (self);

  return TRUE;
}

#endif /* HAVE_ONNX */

/**
 * peftq_onnx_model_load:
 * @path: (type filename): the `.onnx` file
 * @error: return location for a #GError
 *
 * Reads an ONNX model and checks its external data references.
 *
 * The whole file is parsed; tensor data stored in the model stays in memory, and
 * external data is memory-mapped when [method@Peftq.OnnxModel.get_initializer] needs it.
 *
 * Returns: (transfer full) (nullable): the model, or `NULL` with @error set:
 *   %PEFTQ_ERROR_NOT_FOUND for a missing model or external data file,
 *   %PEFTQ_ERROR_IO when the file cannot be read, %PEFTQ_ERROR_INVALID_DATA for a file
 *   that is not a valid ONNX model or whose external data does not fit its data file,
 *   %PEFTQ_ERROR_UNSUPPORTED when peftq was built without ONNX support
 *
 * Since: 1.0
 */
PeftqOnnxModel *
peftq_onnx_model_load (const char  *path,
                       GError     **error)
{
  g_autoptr(PeftqOnnxModel) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (PEFTQ_TYPE_ONNX_MODEL, NULL);
  self->path = g_strdup (path);

#ifdef HAVE_ONNX
  if (!read_model (self, error))
    return NULL;
  return g_steal_pointer (&self);
#else
  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
               "Cannot read ONNX model “%s”: peftq was built without ONNX support "
               "(configure with -Donnx=enabled)", path);
  return NULL;
#endif
}

/**
 * peftq_onnx_model_get_path:
 * @self: a #PeftqOnnxModel
 *
 * Gets the path that the model was loaded from.
 *
 * Returns: (type filename): the path of the `.onnx` file
 *
 * Since: 1.0
 */
const char *
peftq_onnx_model_get_path (PeftqOnnxModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);

  return self->path;
}

/**
 * peftq_onnx_model_get_ir_version:
 * @self: a #PeftqOnnxModel
 *
 * Gets the ONNX IR version of the file format.
 *
 * Returns: the IR version, such as 8
 *
 * Since: 1.0
 */
gint64
peftq_onnx_model_get_ir_version (PeftqOnnxModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), 0);

  return self->ir_version;
}

/**
 * peftq_onnx_model_get_opset_version:
 * @self: a #PeftqOnnxModel
 *
 * Gets the version of the default ONNX operator set that the model imports.
 *
 * Returns: the operator set version, such as 17, or 0 if the model imports only other
 *   domains
 *
 * Since: 1.0
 */
gint64
peftq_onnx_model_get_opset_version (PeftqOnnxModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), 0);

  return self->opset_version;
}

#ifdef HAVE_ONNX
#define MODEL_PROTO(self) ((const Onnx__ModelProto *) (self)->proto)
#endif

/**
 * peftq_onnx_model_get_producer_name:
 * @self: a #PeftqOnnxModel
 *
 * Gets the name of the program that wrote the model, such as `peftq` or `pytorch`.
 *
 * Returns: (nullable): the producer name, or `NULL` if the model does not say
 *
 * Since: 1.0
 */
const char *
peftq_onnx_model_get_producer_name (PeftqOnnxModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);

#ifdef HAVE_ONNX
  return MODEL_PROTO (self)->producer_name;
#else
  return NULL;
#endif
}

/**
 * peftq_onnx_model_get_producer_version:
 * @self: a #PeftqOnnxModel
 *
 * Gets the version of the program that wrote the model.
 *
 * Returns: (nullable): the producer version, or `NULL` if the model does not say
 *
 * Since: 1.0
 */
const char *
peftq_onnx_model_get_producer_version (PeftqOnnxModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);

#ifdef HAVE_ONNX
  return MODEL_PROTO (self)->producer_version;
#else
  return NULL;
#endif
}

/**
 * peftq_onnx_model_get_input_names:
 * @self: a #PeftqOnnxModel
 *
 * Lists the graph inputs that the caller feeds, in graph order. Initializers that old
 * models also list as graph inputs are left out.
 *
 * Returns: (transfer full) (array zero-terminated=1): the input names
 *
 * Since: 1.0
 */
char **
peftq_onnx_model_get_input_names (PeftqOnnxModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);

  return g_strdupv (self->input_names);
}

/**
 * peftq_onnx_model_get_output_names:
 * @self: a #PeftqOnnxModel
 *
 * Lists the graph outputs in graph order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the output names
 *
 * Since: 1.0
 */
char **
peftq_onnx_model_get_output_names (PeftqOnnxModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);

  return g_strdupv (self->output_names);
}

/**
 * peftq_onnx_model_get_initializer_names:
 * @self: a #PeftqOnnxModel
 *
 * Lists the initializers (weights and constants) in graph order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the initializer names
 *
 * Since: 1.0
 */
char **
peftq_onnx_model_get_initializer_names (PeftqOnnxModel *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);

  for (guint i = 0; i < self->initializers->len; i++)
    g_strv_builder_add (builder, ((Initializer *) g_ptr_array_index (self->initializers, i))->name);

  return g_strv_builder_end (builder);
}

/**
 * peftq_onnx_model_has_initializer:
 * @self: a #PeftqOnnxModel
 * @name: an initializer name
 *
 * Checks whether the graph has an initializer called @name.
 *
 * Returns: `TRUE` if the initializer exists
 *
 * Since: 1.0
 */
gboolean
peftq_onnx_model_has_initializer (PeftqOnnxModel *self,
                                  const char     *name)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return g_hash_table_contains (self->initializer_table, name);
}

/**
 * peftq_onnx_model_is_initializer_external:
 * @self: a #PeftqOnnxModel
 * @name: an initializer name
 *
 * Checks whether the data of an initializer is stored in an external data file.
 *
 * Returns: `TRUE` if the initializer exists and its data is external
 *
 * Since: 1.0
 */
gboolean
peftq_onnx_model_is_initializer_external (PeftqOnnxModel *self,
                                          const char     *name)
{
  Initializer *initializer;

  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  initializer = g_hash_table_lookup (self->initializer_table, name);
  return initializer != NULL && initializer->external;
}

#ifdef HAVE_ONNX

static GBytes *
map_external_data (PeftqOnnxModel  *self,
                   Initializer     *initializer,
                   GError         **error)
{
  g_autoptr(GBytes) whole = NULL;
  GMappedFile *file;

  file = g_hash_table_lookup (self->mapped_files, initializer->data_path);
  if (file == NULL)
    {
      g_autoptr(GError) local_error = NULL;

      if (!peftq_check_regular_file (initializer->data_path, error))
        return NULL;

      file = g_mapped_file_new (initializer->data_path, FALSE, &local_error);
      if (file == NULL)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO,
                       "Failed to read external data of initializer “%s” of ONNX model “%s”: %s",
                       initializer->name, self->path, local_error->message);
          return NULL;
        }
      g_hash_table_insert (self->mapped_files, g_strdup (initializer->data_path), file);
    }

  /* The file was checked at load, but it may have shrunk since. */
  if (initializer->offset > g_mapped_file_get_length (file) ||
      initializer->length > g_mapped_file_get_length (file) - initializer->offset)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "External data file “%s” of ONNX model “%s” is too short for initializer “%s”",
                   initializer->data_path, self->path, initializer->name);
      return NULL;
    }

  whole = g_mapped_file_get_bytes (file);
  return g_bytes_new_from_bytes (whole, initializer->offset, initializer->length);
}

/* Converts the typed value fields of a TensorProto to little-endian storage. */
static GBytes *
convert_typed_values (Initializer *initializer)
{
  const Onnx__TensorProto *proto = initializer->proto;
  gsize element_size = peftq_dtype_get_size (initializer->dtype);
  guint8 *data = g_malloc0 (MAX (initializer->n_elements * element_size, 1));

  for (guint64 i = 0; i < initializer->n_elements; i++)
    {
      guint8 *target = data + i * element_size;

      switch (initializer->dtype)
        {
        case PEFTQ_DTYPE_F32:
          {
            guint32 bits;
            memcpy (&bits, &proto->float_data[i], 4);
            bits = GUINT32_TO_LE (bits);
            memcpy (target, &bits, 4);
          }
          break;
        case PEFTQ_DTYPE_F64:
          {
            guint64 bits;
            memcpy (&bits, &proto->double_data[i], 8);
            bits = GUINT64_TO_LE (bits);
            memcpy (target, &bits, 8);
          }
          break;
        case PEFTQ_DTYPE_I64:
          {
            guint64 bits = GUINT64_TO_LE ((guint64) proto->int64_data[i]);
            memcpy (target, &bits, 8);
          }
          break;
        case PEFTQ_DTYPE_I32:
          {
            guint32 bits = GUINT32_TO_LE ((guint32) proto->int32_data[i]);
            memcpy (target, &bits, 4);
          }
          break;
        case PEFTQ_DTYPE_I16:
        case PEFTQ_DTYPE_F16:
        case PEFTQ_DTYPE_BF16:
          {
            /* 16-bit values, including the bits of 16-bit floats, sit in the low bits. */
            guint16 bits = GUINT16_TO_LE ((guint16) proto->int32_data[i]);
            memcpy (target, &bits, 2);
          }
          break;
        case PEFTQ_DTYPE_I8:
        case PEFTQ_DTYPE_U8:
        case PEFTQ_DTYPE_BOOL:
        default:
          *target = (guint8) proto->int32_data[i];
          break;
        }
    }

  return g_bytes_new_take (data, initializer->n_elements * element_size);
}

#endif /* HAVE_ONNX */

/**
 * peftq_onnx_model_get_initializer:
 * @self: a #PeftqOnnxModel
 * @name: an initializer name
 * @error: return location for a #GError
 *
 * Loads the value of an initializer as a tensor. The tensor shares data stored inside
 * the model, and maps external data from its file.
 *
 * Returns: (transfer full) (nullable): the tensor, or `NULL` with @error set:
 *   %PEFTQ_ERROR_NOT_FOUND when there is no such initializer,
 *   %PEFTQ_ERROR_UNSUPPORTED for an element type that peftq tensors cannot hold,
 *   %PEFTQ_ERROR_IO or %PEFTQ_ERROR_INVALID_DATA when external data cannot be read
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_onnx_model_get_initializer (PeftqOnnxModel  *self,
                                  const char      *name,
                                  GError         **error)
{
  Initializer *initializer;
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  initializer = g_hash_table_lookup (self->initializer_table, name);
  if (initializer == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "ONNX model “%s” has no initializer “%s”", self->path, name);
      return NULL;
    }
  if (!initializer->has_dtype)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "Initializer “%s” of ONNX model “%s” has ONNX element type %d, which "
                   "peftq tensors cannot hold", name, self->path, initializer->data_type);
      return NULL;
    }

#ifdef HAVE_ONNX
  {
    const Onnx__TensorProto *proto = initializer->proto;

    if (initializer->external)
      bytes = map_external_data (self, initializer, error);
    else if (proto->has_raw_data && proto->raw_data.len > 0)
      bytes = g_bytes_new_with_free_func (proto->raw_data.data, proto->raw_data.len,
                                          g_object_unref, g_object_ref (self));
    else
      bytes = convert_typed_values (initializer);
  }
#endif

  if (bytes == NULL)
    return NULL;

  return peftq_tensor_new_from_bytes (initializer->dtype, initializer->shape, initializer->rank,
                                      bytes, error);
}

/**
 * peftq_onnx_model_get_n_nodes:
 * @self: a #PeftqOnnxModel
 *
 * Counts the nodes of the graph.
 *
 * Returns: the number of nodes
 *
 * Since: 1.0
 */
guint
peftq_onnx_model_get_n_nodes (PeftqOnnxModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), 0);

  return self->nodes->len;
}

/**
 * peftq_onnx_model_find_node:
 * @self: a #PeftqOnnxModel
 * @name: a node name
 *
 * Looks up the first node called @name.
 *
 * Returns: the index of the node in graph order, or -1 if no node has that name
 *
 * Since: 1.0
 */
int
peftq_onnx_model_find_node (PeftqOnnxModel *self,
                            const char     *name)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), -1);
  g_return_val_if_fail (name != NULL, -1);

  return (int) GPOINTER_TO_UINT (g_hash_table_lookup (self->node_indexes, name)) - 1;
}

static Node *
get_node (PeftqOnnxModel *self,
          guint           index)
{
  return &g_array_index (self->nodes, Node, index);
}

/**
 * peftq_onnx_model_get_node_name:
 * @self: a #PeftqOnnxModel
 * @index: a node index, below [method@Peftq.OnnxModel.get_n_nodes]
 *
 * Gets the name of a node.
 *
 * Returns: the node name, empty for an unnamed node
 *
 * Since: 1.0
 */
const char *
peftq_onnx_model_get_node_name (PeftqOnnxModel *self,
                                guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);
  g_return_val_if_fail (index < self->nodes->len, NULL);

  return get_node (self, index)->name;
}

/**
 * peftq_onnx_model_get_node_op_type:
 * @self: a #PeftqOnnxModel
 * @index: a node index, below [method@Peftq.OnnxModel.get_n_nodes]
 *
 * Gets the operator of a node, such as `Gemm` or `Add`.
 *
 * Returns: the op type
 *
 * Since: 1.0
 */
const char *
peftq_onnx_model_get_node_op_type (PeftqOnnxModel *self,
                                   guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);
  g_return_val_if_fail (index < self->nodes->len, NULL);

  return get_node (self, index)->op_type;
}

/**
 * peftq_onnx_model_get_node_inputs:
 * @self: a #PeftqOnnxModel
 * @index: a node index, below [method@Peftq.OnnxModel.get_n_nodes]
 *
 * Gets the names of the tensors that a node reads, in operand order. An empty name is
 * an omitted optional input.
 *
 * Returns: (transfer none) (array zero-terminated=1): the input tensor names
 *
 * Since: 1.0
 */
const char * const *
peftq_onnx_model_get_node_inputs (PeftqOnnxModel *self,
                                  guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);
  g_return_val_if_fail (index < self->nodes->len, NULL);

  return get_node (self, index)->inputs;
}

/**
 * peftq_onnx_model_get_node_outputs:
 * @self: a #PeftqOnnxModel
 * @index: a node index, below [method@Peftq.OnnxModel.get_n_nodes]
 *
 * Gets the names of the tensors that a node writes.
 *
 * Returns: (transfer none) (array zero-terminated=1): the output tensor names
 *
 * Since: 1.0
 */
const char * const *
peftq_onnx_model_get_node_outputs (PeftqOnnxModel *self,
                                   guint           index)
{
  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);
  g_return_val_if_fail (index < self->nodes->len, NULL);

  return get_node (self, index)->outputs;
}

/**
 * peftq_onnx_model_get_module_names:
 * @self: a #PeftqOnnxModel
 *
 * Lists the modules that named nodes come from, in the graph order of each module's
 * first node. Unnamed nodes belong to no module.
 *
 * Returns: (transfer full) (array zero-terminated=1): the module names
 *
 * Since: 1.0
 */
char **
peftq_onnx_model_get_module_names (PeftqOnnxModel *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);

  for (guint i = 0; i < self->module_names->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->module_names, i));

  return g_strv_builder_end (builder);
}

/**
 * peftq_onnx_model_get_module_node_names:
 * @self: a #PeftqOnnxModel
 * @module_name: a module name, such as `base_model.model.linear.lora_A.0`
 *
 * Lists the nodes that a module became, in graph order.
 *
 * Returns: (transfer full) (array zero-terminated=1) (nullable): the node names, or
 *   `NULL` if no node comes from @module_name
 *
 * Since: 1.0
 */
char **
peftq_onnx_model_get_module_node_names (PeftqOnnxModel *self,
                                        const char     *module_name)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  GArray *indexes;

  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);
  g_return_val_if_fail (module_name != NULL, NULL);

  indexes = g_hash_table_lookup (self->modules, module_name);
  if (indexes == NULL)
    return NULL;

  builder = g_strv_builder_new ();
  for (guint i = 0; i < indexes->len; i++)
    g_strv_builder_add (builder, get_node (self, g_array_index (indexes, guint, i))->name);

  return g_strv_builder_end (builder);
}

/**
 * peftq_onnx_model_get_module_first_node_name:
 * @self: a #PeftqOnnxModel
 * @module_name: a module name
 *
 * Gets the name of the first node of a module in graph order. Exporters of adapter
 * weights that follow the ONNX graph store the parameters of @module_name under this
 * name followed by `.` and the parameter name.
 *
 * Returns: (nullable): the node name, or `NULL` if no node comes from @module_name
 *
 * Since: 1.0
 */
const char *
peftq_onnx_model_get_module_first_node_name (PeftqOnnxModel *self,
                                             const char     *module_name)
{
  GArray *indexes;

  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);
  g_return_val_if_fail (module_name != NULL, NULL);

  indexes = g_hash_table_lookup (self->modules, module_name);
  if (indexes == NULL)
    return NULL;

  return get_node (self, g_array_index (indexes, guint, 0))->name;
}

static gboolean
index_in (GArray *indexes,
          guint   index)
{
  for (guint i = 0; i < indexes->len; i++)
    {
      if (g_array_index (indexes, guint, i) == index)
        return TRUE;
    }
  return FALSE;
}

static void
add_unique (GPtrArray  *names,
            const char *name)
{
  if (!g_ptr_array_find_with_equal_func (names, name, g_str_equal, NULL))
    g_ptr_array_add (names, (gpointer) name);
}

static char **
names_to_strv (GPtrArray *names)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < names->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (names, i));
  return g_strv_builder_end (builder);
}

/**
 * peftq_onnx_model_get_module_input_names:
 * @self: a #PeftqOnnxModel
 * @module_name: a module name
 *
 * Lists the tensors that flow into a module: the inputs of its nodes that no node of
 * the module produces and that are not initializers. An input quantizer of the module
 * quantizes these tensors.
 *
 * Returns: (transfer full) (array zero-terminated=1) (nullable): the tensor names in
 *   graph order, or `NULL` if no node comes from @module_name
 *
 * Since: 1.0
 */
char **
peftq_onnx_model_get_module_input_names (PeftqOnnxModel *self,
                                         const char     *module_name)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GArray *indexes;

  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);
  g_return_val_if_fail (module_name != NULL, NULL);

  indexes = g_hash_table_lookup (self->modules, module_name);
  if (indexes == NULL)
    return NULL;

  for (guint i = 0; i < indexes->len; i++)
    {
      Node *node = get_node (self, g_array_index (indexes, guint, i));

      for (guint j = 0; node->inputs[j] != NULL; j++)
        {
          const char *input = node->inputs[j];
          guint producer = GPOINTER_TO_UINT (g_hash_table_lookup (self->producers, input));

          if (*input == '\0' || g_hash_table_contains (self->initializer_table, input))
            continue;
          if (producer != 0 && index_in (indexes, producer - 1))
            continue;
          add_unique (names, input);
        }
    }

  return names_to_strv (names);
}

/**
 * peftq_onnx_model_get_module_output_names:
 * @self: a #PeftqOnnxModel
 * @module_name: a module name
 *
 * Lists the tensors that leave a module: outputs of its nodes that are graph outputs,
 * that a node of another module reads, or that nothing reads. An output quantizer of
 * the module quantizes these tensors, and encodings files key its encoding by them.
 *
 * Returns: (transfer full) (array zero-terminated=1) (nullable): the tensor names in
 *   graph order, or `NULL` if no node comes from @module_name
 *
 * Since: 1.0
 */
char **
peftq_onnx_model_get_module_output_names (PeftqOnnxModel *self,
                                          const char     *module_name)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GArray *indexes;

  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);
  g_return_val_if_fail (module_name != NULL, NULL);

  indexes = g_hash_table_lookup (self->modules, module_name);
  if (indexes == NULL)
    return NULL;

  for (guint i = 0; i < indexes->len; i++)
    {
      Node *node = get_node (self, g_array_index (indexes, guint, i));

      for (guint j = 0; node->outputs[j] != NULL; j++)
        {
          const char *output = node->outputs[j];
          GArray *consumers = g_hash_table_lookup (self->consumers, output);
          gboolean leaves = FALSE;

          if (*output == '\0')
            continue;

          if (consumers == NULL || g_hash_table_contains (self->graph_outputs, output))
            leaves = TRUE;
          for (guint k = 0; !leaves && k < consumers->len; k++)
            leaves = !index_in (indexes, g_array_index (consumers, guint, k));

          if (leaves)
            add_unique (names, output);
        }
    }

  return names_to_strv (names);
}

/**
 * peftq_onnx_model_find_parameter:
 * @self: a #PeftqOnnxModel
 * @module_name: a module name, such as `base_model.model.linear.lora_A.0`
 * @param_name: a parameter name, such as `weight`
 *
 * Finds the initializer of a module's parameter: `<module name>.<param name>`, or else
 * `<first node name>.<param name>`, the name that AIMET's adapter exporter uses.
 *
 * Returns: (nullable): the initializer name, or `NULL` if neither exists
 *
 * Since: 1.0
 */
const char *
peftq_onnx_model_find_parameter (PeftqOnnxModel *self,
                                 const char     *module_name,
                                 const char     *param_name)
{
  g_autofree char *name = NULL;
  Initializer *initializer;
  const char *first_node;

  g_return_val_if_fail (PEFTQ_IS_ONNX_MODEL (self), NULL);
  g_return_val_if_fail (module_name != NULL, NULL);
  g_return_val_if_fail (param_name != NULL, NULL);

  name = g_strconcat (module_name, ".", param_name, NULL);
  initializer = g_hash_table_lookup (self->initializer_table, name);
  if (initializer != NULL)
    return initializer->name;

  first_node = peftq_onnx_model_get_module_first_node_name (self, module_name);
  if (first_node == NULL)
    return NULL;

  g_free (name);
  name = g_strconcat (first_node, ".", param_name, NULL);
  initializer = g_hash_table_lookup (self->initializer_table, name);

  return initializer != NULL ? initializer->name : NULL;
}
