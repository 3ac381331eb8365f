/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-onnx-builder-private.h"
#include "peftq-error.h"
#include "peftq-file-private.h"

#ifdef HAVE_ONNX
#include "onnx.pb-c.h"
#endif

#include <string.h>

typedef enum
{
  ATTRIBUTE_INT,
  ATTRIBUTE_FLOAT,
  ATTRIBUTE_STRING,
  ATTRIBUTE_INTS,
  ATTRIBUTE_FLOATS,
  ATTRIBUTE_TENSOR,
} AttributeKind;

typedef struct
{
  char *name;
  AttributeKind kind;
  gint64 int_value;
  float float_value;
  char *string_value;
  GArray *values;                       /* gint64 for INTS, float for FLOATS */
  PeftqTensor *tensor;
} Attribute;

struct _PeftqOnnxNode
{
  char *op_type;
  char *name;
  char **inputs;
  char **outputs;
  GPtrArray *attributes;
};

typedef struct
{
  char *name;
  PeftqDType dtype;
  GArray *shape;                        /* gint64 */
  char **dim_names;                     /* rank entries, NULL for a fixed dimension */
  guint rank;
} ValueInfo;

typedef struct
{
  char *name;
  PeftqTensor *tensor;
} Initializer;

struct _PeftqOnnxBuilder
{
  char *graph_name;
  GPtrArray *inputs;                    /* ValueInfo */
  GPtrArray *outputs;                   /* ValueInfo */
  GPtrArray *initializers;              /* Initializer */
  GPtrArray *nodes;                     /* PeftqOnnxNode */
  GPtrArray *metadata;                  /* key, value, key, value, ... */
};

static void
attribute_free (gpointer data)
{
  Attribute *attribute = data;

  g_free (attribute->name);
  g_free (attribute->string_value);
  g_clear_pointer (&attribute->values, g_array_unref);
  g_clear_object (&attribute->tensor);
  g_free (attribute);
}

static void
node_free (gpointer data)
{
  PeftqOnnxNode *node = data;

  g_free (node->op_type);
  g_free (node->name);
  g_strfreev (node->inputs);
  g_strfreev (node->outputs);
  g_ptr_array_unref (node->attributes);
  g_free (node);
}

static void
value_info_free (gpointer data)
{
  ValueInfo *info = data;

  g_free (info->name);
  g_array_unref (info->shape);
  for (guint i = 0; i < info->rank; i++)
    g_free (info->dim_names[i]);
  g_free (info->dim_names);
  g_free (info);
}

static void
initializer_free (gpointer data)
{
  Initializer *initializer = data;

  g_free (initializer->name);
  g_object_unref (initializer->tensor);
  g_free (initializer);
}

PeftqOnnxBuilder *
peftq_onnx_builder_new (const char *graph_name)
{
  PeftqOnnxBuilder *self;

  g_return_val_if_fail (graph_name != NULL, NULL);

  self = g_new0 (PeftqOnnxBuilder, 1);
  self->graph_name = g_strdup (graph_name);
  self->inputs = g_ptr_array_new_with_free_func (value_info_free);
  self->outputs = g_ptr_array_new_with_free_func (value_info_free);
  self->initializers = g_ptr_array_new_with_free_func (initializer_free);
  self->nodes = g_ptr_array_new_with_free_func (node_free);
  self->metadata = g_ptr_array_new_with_free_func (g_free);

  return self;
}

void
peftq_onnx_builder_free (PeftqOnnxBuilder *self)
{
  if (self == NULL)
    return;

  g_free (self->graph_name);
  g_ptr_array_unref (self->inputs);
  g_ptr_array_unref (self->outputs);
  g_ptr_array_unref (self->initializers);
  g_ptr_array_unref (self->nodes);
  g_ptr_array_unref (self->metadata);
  g_free (self);
}

static ValueInfo *
value_info_new (const char        *name,
                PeftqDType         dtype,
                const gint64      *shape,
                const char *const *dim_names,
                guint              rank)
{
  ValueInfo *info = g_new0 (ValueInfo, 1);

  info->name = g_strdup (name);
  info->dtype = dtype;
  info->rank = rank;
  info->shape = g_array_sized_new (FALSE, TRUE, sizeof (gint64), rank);
  info->dim_names = g_new0 (char *, rank + 1);
  for (guint i = 0; i < rank; i++)
    {
      gint64 value = shape != NULL ? shape[i] : 0;

      g_array_append_val (info->shape, value);
      info->dim_names[i] = dim_names != NULL ? g_strdup (dim_names[i]) : NULL;
    }

  return info;
}

void
peftq_onnx_builder_add_input (PeftqOnnxBuilder  *self,
                              const char        *name,
                              PeftqDType         dtype,
                              const gint64      *shape,
                              const char *const *dim_names,
                              guint              rank)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL && *name != '\0');
  g_return_if_fail (rank == 0 || shape != NULL || dim_names != NULL);

  g_ptr_array_add (self->inputs, value_info_new (name, dtype, shape, dim_names, rank));
}

void
peftq_onnx_builder_add_output (PeftqOnnxBuilder  *self,
                               const char        *name,
                               PeftqDType         dtype,
                               const gint64      *shape,
                               const char *const *dim_names,
                               guint              rank)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL && *name != '\0');
  g_return_if_fail (rank == 0 || shape != NULL || dim_names != NULL);

  g_ptr_array_add (self->outputs, value_info_new (name, dtype, shape, dim_names, rank));
}

void
peftq_onnx_builder_add_initializer (PeftqOnnxBuilder *self,
                                    const char       *name,
                                    PeftqTensor      *tensor)
{
  Initializer *initializer;

  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL && *name != '\0');
  g_return_if_fail (PEFTQ_IS_TENSOR (tensor));

  initializer = g_new0 (Initializer, 1);
  initializer->name = g_strdup (name);
  initializer->tensor = g_object_ref (tensor);
  g_ptr_array_add (self->initializers, initializer);
}

PeftqOnnxNode *
peftq_onnx_builder_add_node (PeftqOnnxBuilder  *self,
                             const char        *op_type,
                             const char        *name,
                             const char *const *inputs,
                             const char *const *outputs)
{
  PeftqOnnxNode *node;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (op_type != NULL && *op_type != '\0', NULL);
  g_return_val_if_fail (name != NULL && *name != '\0', NULL);
  g_return_val_if_fail (outputs != NULL && outputs[0] != NULL, NULL);

  node = g_new0 (PeftqOnnxNode, 1);
  node->op_type = g_strdup (op_type);
  node->name = g_strdup (name);
  node->inputs = inputs != NULL ? g_strdupv ((char **) inputs) : g_new0 (char *, 1);
  node->outputs = g_strdupv ((char **) outputs);
  node->attributes = g_ptr_array_new_with_free_func (attribute_free);
  g_ptr_array_add (self->nodes, node);

  return node;
}

void
peftq_onnx_builder_add_metadata (PeftqOnnxBuilder *self,
                                 const char       *key,
                                 const char       *value)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (key != NULL);
  g_return_if_fail (value != NULL);

  g_ptr_array_add (self->metadata, g_strdup (key));
  g_ptr_array_add (self->metadata, g_strdup (value));
}

static Attribute *
node_add_attribute (PeftqOnnxNode *node,
                    const char    *name,
                    AttributeKind  kind)
{
  Attribute *attribute = g_new0 (Attribute, 1);

  attribute->name = g_strdup (name);
  attribute->kind = kind;
  g_ptr_array_add (node->attributes, attribute);

  return attribute;
}

void
peftq_onnx_node_add_int (PeftqOnnxNode *node,
                         const char    *name,
                         gint64         value)
{
  g_return_if_fail (node != NULL);
  g_return_if_fail (name != NULL);

  node_add_attribute (node, name, ATTRIBUTE_INT)->int_value = value;
}

void
peftq_onnx_node_add_float (PeftqOnnxNode *node,
                           const char    *name,
                           float          value)
{
  g_return_if_fail (node != NULL);
  g_return_if_fail (name != NULL);

  node_add_attribute (node, name, ATTRIBUTE_FLOAT)->float_value = value;
}

void
peftq_onnx_node_add_string (PeftqOnnxNode *node,
                            const char    *name,
                            const char    *value)
{
  g_return_if_fail (node != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (value != NULL);

  node_add_attribute (node, name, ATTRIBUTE_STRING)->string_value = g_strdup (value);
}

void
peftq_onnx_node_add_ints (PeftqOnnxNode *node,
                          const char    *name,
                          const gint64  *values,
                          gsize          n_values)
{
  Attribute *attribute;

  g_return_if_fail (node != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (values != NULL || n_values == 0);

  attribute = node_add_attribute (node, name, ATTRIBUTE_INTS);
  attribute->values = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n_values);
  g_array_append_vals (attribute->values, values, n_values);
}

void
peftq_onnx_node_add_floats (PeftqOnnxNode *node,
                            const char    *name,
                            const float   *values,
                            gsize          n_values)
{
  Attribute *attribute;

  g_return_if_fail (node != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (values != NULL || n_values == 0);

  attribute = node_add_attribute (node, name, ATTRIBUTE_FLOATS);
  attribute->values = g_array_sized_new (FALSE, FALSE, sizeof (float), n_values);
  g_array_append_vals (attribute->values, values, n_values);
}

void
peftq_onnx_node_add_tensor (PeftqOnnxNode *node,
                            const char    *name,
                            PeftqTensor   *tensor)
{
  g_return_if_fail (node != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (PEFTQ_IS_TENSOR (tensor));

  node_add_attribute (node, name, ATTRIBUTE_TENSOR)->tensor = g_object_ref (tensor);
}

guint64
peftq_onnx_builder_get_initializer_size (PeftqOnnxBuilder *self)
{
  guint64 total = 0;

  g_return_val_if_fail (self != NULL, 0);

  for (guint i = 0; i < self->initializers->len; i++)
    {
      Initializer *initializer = g_ptr_array_index (self->initializers, i);

      total += peftq_tensor_get_n_bytes (initializer->tensor);
    }

  return total;
}

/* TensorProto.DataType numbers of onnx.proto. */
int
peftq_onnx_data_type_from_dtype (PeftqDType dtype)
{
  switch (dtype)
    {
    case PEFTQ_DTYPE_F64:
      return 11;
    case PEFTQ_DTYPE_F32:
      return 1;
    case PEFTQ_DTYPE_F16:
      return 10;
    case PEFTQ_DTYPE_BF16:
      return 16;
    case PEFTQ_DTYPE_I64:
      return 7;
    case PEFTQ_DTYPE_I32:
      return 6;
    case PEFTQ_DTYPE_I16:
      return 5;
    case PEFTQ_DTYPE_I8:
      return 3;
    case PEFTQ_DTYPE_U8:
      return 2;
    case PEFTQ_DTYPE_BOOL:
      return 9;
    default:
      g_return_val_if_reached (0);
    }
}

gboolean
peftq_onnx_data_type_to_dtype (int         data_type,
                               PeftqDType *out_dtype)
{
  static const PeftqDType dtypes[] = {
    PEFTQ_DTYPE_F64, PEFTQ_DTYPE_F32, PEFTQ_DTYPE_F16, PEFTQ_DTYPE_BF16, PEFTQ_DTYPE_I64,
    PEFTQ_DTYPE_I32, PEFTQ_DTYPE_I16, PEFTQ_DTYPE_I8, PEFTQ_DTYPE_U8, PEFTQ_DTYPE_BOOL,
  };

  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++)
    {
      if (peftq_onnx_data_type_from_dtype (dtypes[i]) == data_type)
        {
          *out_dtype = dtypes[i];
          return TRUE;
        }
    }

  return FALSE;
}

/* Checks that node names are unique and that each tensor has one producer. */
static gboolean
check_names (PeftqOnnxBuilder  *self,
             GError           **error)
{
  g_autoptr(GHashTable) producers = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) node_names = g_hash_table_new (g_str_hash, g_str_equal);
  const char *what;

  for (guint i = 0; i < self->inputs->len; i++)
    {
      ValueInfo *info = g_ptr_array_index (self->inputs, i);

      if (g_hash_table_contains (producers, info->name))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "Cannot write ONNX graph “%s”: graph input “%s” is declared twice",
                       self->graph_name, info->name);
          return FALSE;
        }
      g_hash_table_insert (producers, info->name, (gpointer) "a graph input");
    }

  for (guint i = 0; i < self->initializers->len; i++)
    {
      Initializer *initializer = g_ptr_array_index (self->initializers, i);

      what = g_hash_table_lookup (producers, initializer->name);
      if (what != NULL)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "Cannot write ONNX graph “%s”: initializer “%s” is also %s",
                       self->graph_name, initializer->name, what);
          return FALSE;
        }
      g_hash_table_insert (producers, initializer->name, (gpointer) "an initializer");
    }

  for (guint i = 0; i < self->nodes->len; i++)
    {
      PeftqOnnxNode *node = g_ptr_array_index (self->nodes, i);

      if (!g_hash_table_add (node_names, node->name))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "Cannot write ONNX graph “%s”: two nodes are named “%s”",
                       self->graph_name, node->name);
          return FALSE;
        }

      for (guint j = 0; node->outputs[j] != NULL; j++)
        {
          if (*node->outputs[j] == '\0')
            continue;

          what = g_hash_table_lookup (producers, node->outputs[j]);
          if (what != NULL)
            {
              g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                           "Cannot write ONNX graph “%s”: output “%s” of node “%s” is also %s",
                           self->graph_name, node->outputs[j], node->name, what);
              return FALSE;
            }
          g_hash_table_insert (producers, node->outputs[j], (gpointer) "a node output");
        }
    }

  return TRUE;
}

#ifdef HAVE_ONNX

/* The protobuf messages of one write. They point into the builder's own strings and
 * tensor bytes, so they live no longer than the builder, and every allocation made for
 * them is freed together. */
typedef struct
{
  GPtrArray *allocations;
} Arena;

static gpointer
arena_alloc (Arena *arena,
             gsize  size)
{
  gpointer memory = g_malloc0 (size);

  g_ptr_array_add (arena->allocations, memory);
  return memory;
}

/* Allocates a message of @descriptor's type, set to its default values. */
static gpointer
arena_new_message (Arena                             *arena,
                   const ProtobufCMessageDescriptor  *descriptor)
{
  gpointer message = arena_alloc (arena, descriptor->sizeof_message);

  protobuf_c_message_init (descriptor, message);
  return message;
}

static Onnx__TensorProto *
make_tensor_proto (Arena       *arena,
                   const char  *name,
                   PeftqTensor *tensor)
{
  Onnx__TensorProto *proto = arena_new_message (arena, &onnx__tensor_proto__descriptor);
  const gint64 *shape;
  guint rank;

  shape = peftq_tensor_get_shape (tensor, &rank);
  proto->name = (char *) name;
  proto->has_data_type = TRUE;
  proto->data_type = peftq_onnx_data_type_from_dtype (peftq_tensor_get_dtype (tensor));
  proto->n_dims = rank;
  proto->dims = arena_alloc (arena, MAX (rank, 1) * sizeof (int64_t));
  for (guint i = 0; i < rank; i++)
    proto->dims[i] = shape[i];

  /* raw_data is little-endian in ONNX, as peftq tensor storage is. */
  proto->has_raw_data = TRUE;
  proto->raw_data.len = peftq_tensor_get_n_bytes (tensor);
  proto->raw_data.data = (uint8_t *) peftq_tensor_peek_data (tensor);

  return proto;
}

static Onnx__ValueInfoProto *
make_value_info (Arena     *arena,
                 ValueInfo *info)
{
  Onnx__ValueInfoProto *proto = arena_new_message (arena, &onnx__value_info_proto__descriptor);
  Onnx__TypeProto *type = arena_new_message (arena, &onnx__type_proto__descriptor);
  Onnx__TypeProto__Tensor *tensor_type = arena_new_message (arena, &onnx__type_proto__tensor__descriptor);
  Onnx__TensorShapeProto *shape = arena_new_message (arena, &onnx__tensor_shape_proto__descriptor);

  proto->name = info->name;
  proto->type = type;
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tensor_type;
  tensor_type->has_elem_type = TRUE;
  tensor_type->elem_type = peftq_onnx_data_type_from_dtype (info->dtype);
  tensor_type->shape = shape;

  shape->n_dim = info->rank;
  shape->dim = arena_alloc (arena, MAX (info->rank, 1) * sizeof (Onnx__TensorShapeProto__Dimension *));
  for (guint i = 0; i < info->rank; i++)
    {
      Onnx__TensorShapeProto__Dimension *dim = arena_new_message (arena, &onnx__tensor_shape_proto__dimension__descriptor);

      if (info->dim_names[i] != NULL)
        {
          dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
          dim->dim_param = info->dim_names[i];
        }
      else
        {
          dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
          dim->dim_value = g_array_index (info->shape, gint64, i);
        }
      shape->dim[i] = dim;
    }

  return proto;
}

static Onnx__AttributeProto *
make_attribute (Arena     *arena,
                Attribute *attribute)
{
  Onnx__AttributeProto *proto = arena_new_message (arena, &onnx__attribute_proto__descriptor);

  proto->name = attribute->name;
  proto->has_type = TRUE;

  switch (attribute->kind)
    {
    case ATTRIBUTE_INT:
      proto->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
      proto->has_i = TRUE;
      proto->i = attribute->int_value;
      break;
    case ATTRIBUTE_FLOAT:
      proto->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
      proto->has_f = TRUE;
      proto->f = attribute->float_value;
      break;
    case ATTRIBUTE_STRING:
      proto->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
      proto->has_s = TRUE;
      proto->s.len = strlen (attribute->string_value);
      proto->s.data = (uint8_t *) attribute->string_value;
      break;
    case ATTRIBUTE_INTS:
      proto->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
      proto->n_ints = attribute->values->len;
      proto->ints = (int64_t *) (gpointer) attribute->values->data;
      break;
    case ATTRIBUTE_FLOATS:
      proto->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
      proto->n_floats = attribute->values->len;
      proto->floats = (float *) (gpointer) attribute->values->data;
      break;
    case ATTRIBUTE_TENSOR:
      proto->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
      proto->t = make_tensor_proto (arena, NULL, attribute->tensor);
      break;
    default:
      g_assert_not_reached ();
    }

  return proto;
}

static Onnx__NodeProto *
make_node (Arena         *arena,
           PeftqOnnxNode *node)
{
  Onnx__NodeProto *proto = arena_new_message (arena, &onnx__node_proto__descriptor);

  proto->name = node->name;
  proto->op_type = node->op_type;
  proto->n_input = g_strv_length (node->inputs);
  proto->input = node->inputs;
  proto->n_output = g_strv_length (node->outputs);
  proto->output = node->outputs;
  proto->n_attribute = node->attributes->len;
  proto->attribute = arena_alloc (arena, MAX (node->attributes->len, 1) * sizeof (Onnx__AttributeProto *));
  for (guint i = 0; i < node->attributes->len; i++)
    proto->attribute[i] = make_attribute (arena, g_ptr_array_index (node->attributes, i));

  return proto;
}

static Onnx__StringStringEntryProto *
make_entry (Arena      *arena,
            const char *key,
            const char *value)
{
  Onnx__StringStringEntryProto *entry = arena_new_message (arena, &onnx__string_string_entry_proto__descriptor);

  entry->key = (char *) key;
  entry->value = arena_alloc (arena, strlen (value) + 1);
  strcpy (entry->value, value);
  return entry;
}

/* Offsets in the data file are aligned so that a reader can map each tensor: to 64
 * bytes, and to 64 KiB (the mmap granularity of Windows) for tensors over 1 MiB, the
 * rule of onnx_ir's external_data module. */
static guint64
external_data_alignment (guint64 n_bytes)
{
  return n_bytes > 1024 * 1024 ? 65536 : 64;
}

static gboolean
write_padding (PeftqAtomicFile  *file,
               guint64           n_bytes,
               GError          **error)
{
  static const guint8 zeros[4096];

  while (n_bytes > 0)
    {
      gsize chunk = (gsize) MIN (n_bytes, sizeof zeros);

      if (!peftq_atomic_file_write (file, zeros, chunk, error))
        return FALSE;
      n_bytes -= chunk;
    }

  return TRUE;
}

/* Writes every initializer to a new data file and points its TensorProto there. The
 * file is returned uncommitted, so that it replaces an older one only once the model is
 * written too. */
static PeftqAtomicFile *
write_external_data (Arena               *arena,
                     PeftqOnnxBuilder    *self,
                     Onnx__TensorProto  **initializers,
                     const char          *data_path,
                     const char          *location,
                     GError             **error)
{
  g_autoptr(PeftqAtomicFile) file = NULL;
  guint64 offset = 0;

  file = peftq_atomic_file_begin (data_path, error);
  if (file == NULL)
    return NULL;

  for (guint i = 0; i < self->initializers->len; i++)
    {
      Initializer *initializer = g_ptr_array_index (self->initializers, i);
      Onnx__TensorProto *proto = initializers[i];
      guint64 n_bytes = peftq_tensor_get_n_bytes (initializer->tensor);
      guint64 alignment = external_data_alignment (n_bytes);
      guint64 padding = (alignment - offset % alignment) % alignment;
      g_autofree char *offset_text = NULL;
      g_autofree char *length_text = NULL;

      if (!write_padding (file, padding, error))
        return NULL;
      offset += padding;

      if (!peftq_atomic_file_write (file, peftq_tensor_peek_data (initializer->tensor), n_bytes, error))
        return NULL;

      offset_text = g_strdup_printf ("%" G_GUINT64_FORMAT, offset);
      length_text = g_strdup_printf ("%" G_GUINT64_FORMAT, n_bytes);
      proto->has_raw_data = FALSE;
      proto->raw_data.len = 0;
      proto->raw_data.data = NULL;
      proto->has_data_location = TRUE;
      proto->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
      proto->n_external_data = 3;
      proto->external_data = arena_alloc (arena, 3 * sizeof (Onnx__StringStringEntryProto *));
      proto->external_data[0] = make_entry (arena, "location", location);
      proto->external_data[1] = make_entry (arena, "offset", offset_text);
      proto->external_data[2] = make_entry (arena, "length", length_text);

      offset += n_bytes;
    }

  return g_steal_pointer (&file);
}

/* A ProtobufCBuffer that streams the packed model into an atomic file through a
 * buffer, so that packing needs no copy of the whole model in memory. */
typedef struct
{
  ProtobufCBuffer base;
  PeftqAtomicFile *file;
  GByteArray *pending;
  GError *error;
} FileBuffer;

#define FILE_BUFFER_FLUSH_SIZE (1024 * 1024)

static gboolean
file_buffer_flush (FileBuffer *buffer)
{
  if (buffer->error == NULL && buffer->pending->len > 0)
    peftq_atomic_file_write (buffer->file, buffer->pending->data, buffer->pending->len,
                             &buffer->error);
  g_byte_array_set_size (buffer->pending, 0);
  return buffer->error == NULL;
}

static void
file_buffer_append (ProtobufCBuffer *base,
                    size_t           len,
                    const uint8_t   *data)
{
  FileBuffer *buffer = (FileBuffer *) base;

  if (buffer->error != NULL)
    return;

  if (len >= FILE_BUFFER_FLUSH_SIZE)
    {
      if (file_buffer_flush (buffer))
        peftq_atomic_file_write (buffer->file, data, len, &buffer->error);
      return;
    }

  g_byte_array_append (buffer->pending, data, len);
  if (buffer->pending->len >= FILE_BUFFER_FLUSH_SIZE)
    file_buffer_flush (buffer);
}

/* Packs @model into @path. When @data_file is not NULL, it is committed just before the
 * model, after everything else has succeeded, so a failure leaves both older files as
 * they were. Frees @data_file. */
static gboolean
write_model (Onnx__ModelProto  *model,
             const char        *path,
             PeftqAtomicFile   *data_file,
             GError           **error)
{
  g_autoptr(PeftqAtomicFile) owned_data_file = data_file;
  g_autoptr(PeftqAtomicFile) file = NULL;
  g_autoptr(GByteArray) pending = g_byte_array_sized_new (FILE_BUFFER_FLUSH_SIZE);
  FileBuffer buffer = { { file_buffer_append }, NULL, pending, NULL };

  file = peftq_atomic_file_begin (path, error);
  if (file == NULL)
    return FALSE;

  buffer.file = file;
  protobuf_c_message_pack_to_buffer (&model->base, &buffer.base);
  if (!file_buffer_flush (&buffer))
    {
      g_propagate_error (error, buffer.error);
      return FALSE;
    }

  if (owned_data_file != NULL &&
      !peftq_atomic_file_commit (g_steal_pointer (&owned_data_file), error))
    return FALSE;

  return peftq_atomic_file_commit (g_steal_pointer (&file), error);
}

static gboolean
builder_write (PeftqOnnxBuilder  *self,
               const char        *path,
               guint64            external_data_threshold,
               GError           **error)
{
  g_autoptr(GPtrArray) allocations = g_ptr_array_new_with_free_func (g_free);
  Arena arena = { allocations };
  Onnx__ModelProto *model = arena_new_message (&arena, &onnx__model_proto__descriptor);
  Onnx__GraphProto *graph = arena_new_message (&arena, &onnx__graph_proto__descriptor);
  Onnx__OperatorSetIdProto *opset = arena_new_message (&arena, &onnx__operator_set_id_proto__descriptor);
  guint n_metadata = self->metadata->len / 2;
  g_autoptr(PeftqAtomicFile) data_file = NULL;

  model->has_ir_version = TRUE;
  model->ir_version = PEFTQ_ONNX_IR_VERSION;
  model->producer_name = (char *) "peftq";
  model->producer_version = (char *) PACKAGE_VERSION;
  model->graph = graph;

  opset->domain = (char *) "";
  opset->has_version = TRUE;
  opset->version = PEFTQ_ONNX_OPSET_VERSION;
  model->n_opset_import = 1;
  model->opset_import = arena_alloc (&arena, sizeof (Onnx__OperatorSetIdProto *));
  model->opset_import[0] = opset;

  model->n_metadata_props = n_metadata;
  model->metadata_props = arena_alloc (&arena, MAX (n_metadata, 1) * sizeof (Onnx__StringStringEntryProto *));
  for (guint i = 0; i < n_metadata; i++)
    model->metadata_props[i] = make_entry (&arena, g_ptr_array_index (self->metadata, 2 * i),
                                           g_ptr_array_index (self->metadata, 2 * i + 1));

  graph->name = self->graph_name;

  graph->n_input = self->inputs->len;
  graph->input = arena_alloc (&arena, MAX (self->inputs->len, 1) * sizeof (Onnx__ValueInfoProto *));
  for (guint i = 0; i < self->inputs->len; i++)
    graph->input[i] = make_value_info (&arena, g_ptr_array_index (self->inputs, i));

  graph->n_output = self->outputs->len;
  graph->output = arena_alloc (&arena, MAX (self->outputs->len, 1) * sizeof (Onnx__ValueInfoProto *));
  for (guint i = 0; i < self->outputs->len; i++)
    graph->output[i] = make_value_info (&arena, g_ptr_array_index (self->outputs, i));

  graph->n_initializer = self->initializers->len;
  graph->initializer = arena_alloc (&arena, MAX (self->initializers->len, 1) * sizeof (Onnx__TensorProto *));
  for (guint i = 0; i < self->initializers->len; i++)
    {
      Initializer *initializer = g_ptr_array_index (self->initializers, i);

      graph->initializer[i] = make_tensor_proto (&arena, initializer->name, initializer->tensor);
    }

  graph->n_node = self->nodes->len;
  graph->node = arena_alloc (&arena, MAX (self->nodes->len, 1) * sizeof (Onnx__NodeProto *));
  for (guint i = 0; i < self->nodes->len; i++)
    graph->node[i] = make_node (&arena, g_ptr_array_index (self->nodes, i));

  if (peftq_onnx_builder_get_initializer_size (self) > external_data_threshold)
    {
      g_autofree char *data_path = g_strconcat (path, ".data", NULL);
      g_autofree char *location = g_path_get_basename (data_path);

      data_file = write_external_data (&arena, self, graph->initializer, data_path, location, error);
      if (data_file == NULL)
        return FALSE;
    }

  return write_model (model, path, g_steal_pointer (&data_file), error);
}

#endif /* HAVE_ONNX */

gboolean
peftq_onnx_builder_write (PeftqOnnxBuilder  *self,
                          const char        *path,
                          guint64            external_data_threshold,
                          GError           **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_names (self, error))
    return FALSE;

#ifdef HAVE_ONNX
  return builder_write (self, path, external_data_threshold, error);
#else
  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
               "Cannot write ONNX model “%s”: peftq was built without ONNX support "
               "(configure with -Donnx=enabled)", path);
  return FALSE;
#endif
}
