/* SPDX-License-Identifier: MIT */
/* MAP_ANONYMOUS is not part of strict C11 or POSIX.1-2008. */
#define _DEFAULT_SOURCE
#include "config.h"

#include "peftq-shape-model.h"
#include "peftq-error.h"
#include "peftq-conv1d.h"
#include "peftq-embedding.h"
#include "peftq-layer-norm.h"
#include "peftq-linear.h"
#include "peftq-module-private.h"
#include "peftq-rms-norm.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/mman.h>

/**
 * PeftqShapeModel:
 *
 * A module tree built from weight names and shapes alone, for architectures that have
 * no forward pass in peftq (T5, BERT, DistilBERT, ViT, GPT-NeoX, diffusion UNets and
 * others). Adapters load onto it, and its weights can be quantized and exported, but
 * its forward pass, and that of its containers and shape-only leaves, fails with
 * %PEFTQ_ERROR_UNSUPPORTED naming the architecture. Leaves that peftq implements
 * (Linear, Conv1D, Embedding, norms) are the ordinary peftq modules.
 *
 * Each module path (a weight name without its last component) becomes one leaf module,
 * chosen from its parameters:
 *
 * - a 2-dimensional `weight` of a module whose name marks an embedding (`embed_tokens`,
 *   `word_embeddings`, `wte`, `shared`, `relative_attention_bias`, ...): `Embedding`;
 * - a 2-dimensional `weight` (out, in), alone or with a `bias` of size out: `Linear`,
 *   except for GPT-2's `c_attn`, `c_proj`, `c_fc` and `q_attn` when the architecture
 *   is `gpt2`;
 * - a 2-dimensional `weight` (in, out) with a `bias` of size out: GPT-2's `Conv1D`;
 * - a 1-dimensional `weight`: `LayerNorm` when a `bias` is present, `RMSNorm` otherwise;
 * - a 4-dimensional `weight`: a shape-only `Conv2d`, because stride and padding are not
 *   part of the weights;
 * - anything else: a generic shape-only module holding the parameters as they are.
 *
 * Children are registered in the order their names first appear. Modules in between
 * are plain containers.
 *
 * Since: 1.0
 */

struct _PeftqShapeModel
{
  PeftqModule parent_instance;

  char *architecture;
};

G_DEFINE_FINAL_TYPE (PeftqShapeModel, peftq_shape_model, PEFTQ_TYPE_MODULE)

/* The leaf and container modules of a shape tree. */
#define PEFTQ_TYPE_SHAPE_MODULE (peftq_shape_module_get_type ())
G_DECLARE_FINAL_TYPE (PeftqShapeModule, peftq_shape_module, PEFTQ, SHAPE_MODULE, PeftqModule)

struct _PeftqShapeModule
{
  PeftqModule parent_instance;

  char *type_name;
  const char *op_type;
  char *architecture;
};

G_DEFINE_FINAL_TYPE (PeftqShapeModule, peftq_shape_module, PEFTQ_TYPE_MODULE)

static GError *
new_unsupported_error (PeftqModule *module,
                       const char  *architecture)
{
  g_autofree char *name = peftq_module_dup_qualified_name (module);

  return g_error_new (PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                      "Module “%s” (%s) belongs to a %s model, which peftq builds from weight "
                      "shapes only and cannot run; adapters load onto it, but there is no "
                      "forward pass", name, peftq_module_get_type_name (module), architecture);
}

static PeftqTensor *
peftq_shape_module_forward (PeftqModule          *module,
                            PeftqForwardContext  *context,
                            PeftqTensor         **inputs,
                            guint                 n_inputs,
                            GError              **error)
{
  g_propagate_error (error, new_unsupported_error (module, PEFTQ_SHAPE_MODULE (module)->architecture));
  return NULL;
}

static const char *
peftq_shape_module_get_type_name (PeftqModule *module)
{
  return PEFTQ_SHAPE_MODULE (module)->type_name;
}

static const char *
peftq_shape_module_get_op_type (PeftqModule *module)
{
  return PEFTQ_SHAPE_MODULE (module)->op_type;
}

static void
peftq_shape_module_finalize (GObject *object)
{
  PeftqShapeModule *self = PEFTQ_SHAPE_MODULE (object);

  g_free (self->type_name);
  g_free (self->architecture);

  G_OBJECT_CLASS (peftq_shape_module_parent_class)->finalize (object);
}

static void
peftq_shape_module_class_init (PeftqShapeModuleClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = peftq_shape_module_finalize;
  module_class->forward = peftq_shape_module_forward;
  module_class->get_type_name = peftq_shape_module_get_type_name;
  module_class->get_op_type = peftq_shape_module_get_op_type;
}

static void
peftq_shape_module_init (PeftqShapeModule *self)
{
}

static PeftqModule *
shape_module_new (const char *type_name,
                  const char *op_type,
                  const char *architecture)
{
  PeftqShapeModule *self = g_object_new (PEFTQ_TYPE_SHAPE_MODULE, NULL);

  self->type_name = g_strdup (type_name);
  self->op_type = op_type;
  self->architecture = g_strdup (architecture);
  return PEFTQ_MODULE (self);
}

static PeftqTensor *
peftq_shape_model_forward (PeftqModule          *module,
                           PeftqForwardContext  *context,
                           PeftqTensor         **inputs,
                           guint                 n_inputs,
                           GError              **error)
{
  g_propagate_error (error, new_unsupported_error (module, PEFTQ_SHAPE_MODEL (module)->architecture));
  return NULL;
}

static const char *
peftq_shape_model_get_type_name (PeftqModule *module)
{
  return "ShapeModel";
}

static void
peftq_shape_model_finalize (GObject *object)
{
  g_free (PEFTQ_SHAPE_MODEL (object)->architecture);

  G_OBJECT_CLASS (peftq_shape_model_parent_class)->finalize (object);
}

static void
peftq_shape_model_class_init (PeftqShapeModelClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = peftq_shape_model_finalize;
  module_class->forward = peftq_shape_model_forward;
  module_class->get_type_name = peftq_shape_model_get_type_name;
}

static void
peftq_shape_model_init (PeftqShapeModel *self)
{
}

/* One parameter of the input, in input order. */
typedef struct
{
  char *module_path;
  char *parameter;
  PeftqTensor *tensor;
} Entry;

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->module_path);
  g_free (entry->parameter);
  g_clear_object (&entry->tensor);
  g_free (entry);
}

static gboolean
has_suffix_component (const char *path,
                      const char *component)
{
  const char *last = strrchr (path, '.');

  return g_strcmp0 (last != NULL ? last + 1 : path, component) == 0;
}

static gboolean
is_embedding_name (const char *path)
{
  static const char *const names[] = {
    "embed_tokens", "embed_in", "embed_positions", "word_embeddings", "position_embeddings",
    "token_type_embeddings", "wte", "wpe", "shared", "relative_attention_bias",
    "embeddings", "embedding",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (has_suffix_component (path, names[i]))
      return TRUE;
  return FALSE;
}

static gboolean
is_gpt2_conv1d_name (const char *path)
{
  return has_suffix_component (path, "c_attn") || has_suffix_component (path, "c_proj") ||
         has_suffix_component (path, "c_fc") || has_suffix_component (path, "q_attn");
}

/* Creates the leaf module for one module path from its parameters. */
static PeftqModule *
build_leaf (const char  *path,
            GPtrArray   *entries,
            const char  *architecture,
            GError     **error)
{
  PeftqTensor *weight = NULL;
  PeftqTensor *bias = NULL;
  PeftqModule *leaf;
  guint weight_rank = 0;

  for (guint i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);

      if (g_strcmp0 (entry->parameter, "weight") == 0)
        weight = entry->tensor;
      else if (g_strcmp0 (entry->parameter, "bias") == 0)
        bias = entry->tensor;
    }
  if (weight != NULL)
    weight_rank = peftq_tensor_get_rank (weight);

  if (weight_rank == 2 && entries->len <= 2 && !is_embedding_name (path) &&
      !(g_strcmp0 (architecture, "gpt2") == 0 && is_gpt2_conv1d_name (path)) &&
      (bias == NULL || (peftq_tensor_get_rank (bias) == 1 &&
                        peftq_tensor_get_dim (bias, 0) == peftq_tensor_get_dim (weight, 0))))
    {
      leaf = peftq_linear_new_with_weights (weight, bias, error);
      if (leaf == NULL)
        g_prefix_error (error, "Module “%s”: ", path);
      return leaf;
    }

  if (weight_rank == 2 && entries->len == 1 && is_embedding_name (path) &&
      peftq_tensor_get_dim (weight, 0) <= G_MAXUINT && peftq_tensor_get_dim (weight, 1) <= G_MAXUINT)
    leaf = peftq_embedding_new ((guint) peftq_tensor_get_dim (weight, 0),
                                (guint) peftq_tensor_get_dim (weight, 1));
  else if (weight_rank == 2 && !is_embedding_name (path) && bias != NULL && entries->len == 2 &&
           peftq_tensor_get_rank (bias) == 1 &&
           peftq_tensor_get_dim (bias, 0) == peftq_tensor_get_dim (weight, 1) &&
           peftq_tensor_get_dim (weight, 0) <= G_MAXUINT && peftq_tensor_get_dim (weight, 1) <= G_MAXUINT)
    leaf = peftq_conv1d_new ((guint) peftq_tensor_get_dim (weight, 0),
                             (guint) peftq_tensor_get_dim (weight, 1));
  else if (weight_rank == 1 && entries->len <= 2 && peftq_tensor_get_dim (weight, 0) <= G_MAXUINT &&
           (bias == NULL || peftq_tensor_get_n_elements (bias) == peftq_tensor_get_n_elements (weight)))
    /* The eps values are not in the weights; these are the PyTorch defaults, and the
     * forward pass of a shape tree does not run anyway. */
    leaf = bias != NULL ? peftq_layer_norm_new ((guint) peftq_tensor_get_dim (weight, 0), 1e-5f, TRUE)
                        : peftq_rms_norm_new ((guint) peftq_tensor_get_dim (weight, 0), 1e-6f);
  else if (weight_rank == 4)
    /* NOTE: stride and padding are not in the weights, so a Conv2d stays shape-only. */
    leaf = shape_module_new ("Conv2d", "Conv", architecture);
  else if (weight_rank == 2)
    leaf = shape_module_new (is_embedding_name (path) ? "Embedding" : "Conv1D",
                             is_embedding_name (path) ? "Gather" : "Gemm", architecture);
  else
    leaf = shape_module_new ("Module", NULL, architecture);

  for (guint i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);

      if (!PEFTQ_IS_SHAPE_MODULE (leaf))
        {
          if (!peftq_module_set_parameter (leaf, entry->parameter, entry->tensor, error))
            {
              g_prefix_error (error, "Module “%s”: ", path);
              g_object_unref (leaf);
              return NULL;
            }
        }
      else
        peftq_module_register_parameter (leaf, entry->parameter, entry->tensor);
    }
  return leaf;
}

/* Finds or creates the container for @path (relative to the root). */
static PeftqModule *
ensure_container (PeftqModule *root,
                  const char  *path,
                  const char  *architecture)
{
  g_auto(GStrv) parts = g_strsplit (path, ".", -1);
  PeftqModule *current = root;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      PeftqModule *child = peftq_module_get_child (current, parts[i]);

      if (child == NULL)
        {
          g_autoptr(PeftqModule) container = shape_module_new ("Module", NULL, architecture);

          peftq_module_add_child (current, parts[i], container);
          child = container;
        }
      current = child;
    }
  return current;
}

static PeftqShapeModel *
build_tree (GPtrArray   *entries,
            const char  *architecture,
            GError     **error)
{
  g_autoptr(PeftqShapeModel) self = g_object_new (PEFTQ_TYPE_SHAPE_MODEL, NULL);
  g_autoptr(GHashTable) groups = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();

  self->architecture = g_strdup (architecture);

  for (guint i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);
      GPtrArray *group = g_hash_table_lookup (groups, entry->module_path);

      if (group == NULL)
        {
          group = g_ptr_array_new ();
          g_hash_table_insert (groups, entry->module_path, group);
          g_ptr_array_add (order, entry->module_path);
        }
      g_ptr_array_add (group, entry);
    }

  for (guint i = 0; i < order->len; i++)
    {
      const char *path = g_ptr_array_index (order, i);
      GPtrArray *group = g_hash_table_lookup (groups, path);
      g_autoptr(PeftqModule) leaf = NULL;
      g_autofree char *parent_path = g_strdup (path);
      char *dot = strrchr (parent_path, '.');
      PeftqModule *parent;
      const char *local_name;

      if (*path == '\0')
        {
          /* Parameters of the root itself, such as a ViT's cls_token. */
          for (guint j = 0; j < group->len; j++)
            {
              Entry *entry = g_ptr_array_index (group, j);

              peftq_module_register_parameter (PEFTQ_MODULE (self), entry->parameter, entry->tensor);
            }
          continue;
        }

      leaf = build_leaf (path, group, architecture, error);
      if (leaf == NULL)
        return NULL;

      if (dot != NULL)
        {
          *dot = '\0';
          parent = ensure_container (PEFTQ_MODULE (self), parent_path, architecture);
          local_name = path + (dot - parent_path) + 1;
        }
      else
        {
          parent = PEFTQ_MODULE (self);
          local_name = path;
        }

      if (peftq_module_get_child (parent, local_name) != NULL)
        {
          PeftqModule *existing = peftq_module_get_child (parent, local_name);

          /* A container made for deeper names earlier (ViT's vit.embeddings holds
           * cls_token and the child patch_embeddings) takes the parameters itself. */
          if (!PEFTQ_IS_SHAPE_MODULE (existing) || PEFTQ_IS_LINEAR (leaf) ||
              g_strcmp0 (PEFTQ_SHAPE_MODULE (existing)->type_name, "Module") != 0 ||
              g_strcmp0 (PEFTQ_SHAPE_MODULE (leaf)->type_name, "Module") != 0)
            {
              g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                           "Weight names give module “%s” both a %s weight and child modules, "
                           "which a shape tree cannot represent", path,
                           peftq_module_get_type_name (leaf));
              return NULL;
            }
          for (guint j = 0; j < group->len; j++)
            {
              Entry *entry = g_ptr_array_index (group, j);

              peftq_module_register_parameter (existing, entry->parameter, entry->tensor);
            }
          continue;
        }
      peftq_module_add_child (parent, local_name, leaf);
    }

  return g_steal_pointer (&self);
}

static Entry *
entry_new (const char  *name,
           PeftqTensor *tensor)
{
  Entry *entry = g_new0 (Entry, 1);
  const char *dot = strrchr (name, '.');

  entry->module_path = dot != NULL ? g_strndup (name, dot - name) : g_strdup ("");
  entry->parameter = g_strdup (dot != NULL ? dot + 1 : name);
  entry->tensor = g_object_ref (tensor);
  return entry;
}

static gboolean
check_name (const char  *name,
            GError     **error)
{
  if (*name == '\0' || name[strlen (name) - 1] == '.' || *name == '.' || strstr (name, "..") != NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Weight name “%s” is not a dotted module path ending in a parameter name", name);
      return FALSE;
    }
  return TRUE;
}

/**
 * peftq_shape_model_new_from_safetensors:
 * @file: a safetensors file of base model weights
 * @architecture: the architecture name for messages, such as `t5` or `bert`
 * @error: return location for a #GError
 *
 * Builds a module tree from the names and shapes of the tensors in @file, in file
 * order, with the file's tensors as parameters.
 *
 * Returns: (transfer full): the model, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqShapeModel *
peftq_shape_model_new_from_safetensors (PeftqSafetensorsFile  *file,
                                        const char            *architecture,
                                        GError               **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (entry_free);
  g_auto(GStrv) names = NULL;

  g_return_val_if_fail (PEFTQ_IS_SAFETENSORS_FILE (file), NULL);
  g_return_val_if_fail (architecture != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  names = peftq_safetensors_file_get_tensor_names (file);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(PeftqTensor) tensor = NULL;

      if (!check_name (names[i], error))
        return NULL;
      tensor = peftq_safetensors_file_get_tensor (file, names[i], error);
      if (tensor == NULL)
        return NULL;
      g_ptr_array_add (entries, entry_new (names[i], tensor));
    }
  return build_tree (entries, architecture, error);
}

typedef struct
{
  gpointer data;
  gsize size;
} ZeroBlock;

static void
zero_block_free (gpointer data)
{
  ZeroBlock *block = data;

  munmap (block->data, block->size);
  g_free (block);
}

/* Maps anonymous memory, which the kernel provides as zero pages on first read, so an
 * untouched block costs address space only (unlike calloc under MALLOC_PERTURB_). */
static GBytes *
new_zero_block (gsize size)
{
  ZeroBlock *block;
  gpointer data;

  if (size < 1024 * 1024)
    return g_bytes_new_take (g_malloc0 (MAX (size, 1)), size);

  data = mmap (NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED)
    return g_bytes_new_take (g_malloc0 (size), size);

  block = g_new (ZeroBlock, 1);
  block->data = data;
  block->size = size;
  return g_bytes_new_with_free_func (data, size, zero_block_free, block);
}

/* Returns a zero tensor; tensors of the same byte size share one zero-filled block. */
static PeftqTensor *
new_shared_zero_tensor (GHashTable    *zero_blocks,
                        PeftqDType     dtype,
                        const gint64  *shape,
                        guint          rank,
                        GError       **error)
{
  guint64 n = 1;
  guint64 size;
  GBytes *block;

  for (guint i = 0; i < rank; i++)
    {
      if (shape[i] < 0 || (shape[i] > 0 && n > G_MAXUINT64 / (guint64) shape[i]))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA, "A shape is invalid");
          return NULL;
        }
      n *= (guint64) shape[i];
    }
  if (n > G_MAXSIZE / peftq_dtype_get_size (dtype))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA, "A shape is too large");
      return NULL;
    }
  size = n * peftq_dtype_get_size (dtype);

  block = g_hash_table_lookup (zero_blocks, &size);
  if (block == NULL)
    {
      guint64 *key = g_new (guint64, 1);

      *key = size;
      block = new_zero_block (size);
      g_hash_table_insert (zero_blocks, key, block);
    }
  return peftq_tensor_new_from_bytes (dtype, shape, rank, block, error);
}

/**
 * peftq_shape_model_new_from_shapes:
 * @data: a JSON object mapping each weight name to its shape, either as a list of
 *   dimensions or as a safetensors header entry (`{"dtype": "F32", "shape": [...]}`)
 * @length: the length of @data in bytes, or -1 when it is NUL-terminated
 * @architecture: the architecture name for messages, such as `t5` or `bert`
 * @error: return location for a #GError
 *
 * Builds a module tree from weight names and shapes alone, in the order of @data. The
 * parameters are zeros (float32 unless a dtype is given).
 *
 * Returns: (transfer full): the model, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqShapeModel *
peftq_shape_model_new_from_shapes (const char  *data,
                                   gssize       length,
                                   const char  *architecture,
                                   GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (entry_free);
  g_autoptr(GHashTable) zero_blocks = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                             (GDestroyNotify) g_bytes_unref);
  g_autoptr(GList) members = NULL;
  g_autoptr(GError) parse_error = NULL;
  JsonObject *object;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (architecture != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!json_parser_load_from_data (parser, data, length, &parse_error))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA, "Invalid JSON of weight shapes: %s",
                   parse_error->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Weight shapes must be a JSON object of weight names");
      return NULL;
    }

  object = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (object, name);
      PeftqDType dtype = PEFTQ_DTYPE_F32;
      JsonArray *dims;
      gint64 shape[8];
      guint rank;
      g_autoptr(PeftqTensor) tensor = NULL;

      if (g_strcmp0 (name, "__metadata__") == 0)
        continue;
      if (!check_name (name, error))
        return NULL;

      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonObject *entry = json_node_get_object (node);
          const char *dtype_name = json_object_get_string_member_with_default (entry, "dtype", "F32");

          if (!peftq_dtype_from_string (dtype_name, &dtype))
            {
              g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                           "Weight “%s” has unknown dtype “%s”", name, dtype_name);
              return NULL;
            }
          node = json_object_get_member (entry, "shape");
        }
      if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) ||
          json_array_get_length (json_node_get_array (node)) > G_N_ELEMENTS (shape))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "Weight “%s” needs a shape: a list of at most %u dimensions", name,
                       (guint) G_N_ELEMENTS (shape));
          return NULL;
        }

      dims = json_node_get_array (node);
      rank = json_array_get_length (dims);
      for (guint i = 0; i < rank; i++)
        {
          JsonNode *dim = json_array_get_element (dims, i);

          if (!JSON_NODE_HOLDS_VALUE (dim) || json_node_get_value_type (dim) != G_TYPE_INT64 ||
              json_node_get_int (dim) < 0)
            {
              g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                           "Weight “%s” has an invalid dimension %u", name, i);
              return NULL;
            }
          shape[i] = json_node_get_int (dim);
        }

      tensor = new_shared_zero_tensor (zero_blocks, dtype, shape, rank, error);
      if (tensor == NULL)
        {
          g_prefix_error (error, "Weight “%s”: ", name);
          return NULL;
        }
      g_ptr_array_add (entries, entry_new (name, tensor));
    }

  return build_tree (entries, architecture, error);
}

/**
 * peftq_shape_model_get_architecture:
 * @self: a shape model
 *
 * Gets the architecture name given at construction.
 *
 * Returns: the architecture name
 *
 * Since: 1.0
 */
const char *
peftq_shape_model_get_architecture (PeftqShapeModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_SHAPE_MODEL (self), NULL);
  return self->architecture;
}
