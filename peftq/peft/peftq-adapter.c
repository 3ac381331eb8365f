/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-adapter.h"
#include "peftq-adapter-private.h"

#include <string.h>

/**
 * PeftqAdapter:
 *
 * One LoRA adapter loaded onto a model: its name, its [class@Peftq.LoraConfig], the
 * tensors read from its file, and for each LoRA layer the rank, alpha and scaling in
 * use.
 *
 * Layer names are full module names in the PEFT model, such as
 * `base_model.model.model.layers.0.self_attn.q_proj`. The
 * [property@Peftq.Adapter:active] flag decides whether the adapter contributes to the
 * forward pass of the LoRA layers that contain it. Changing it makes each of those
 * layers emit its `active-adapters-changed` signal.
 *
 * Since: 1.0
 */

typedef struct
{
  guint rank;
  double alpha;
  double scaling;
  PeftqTensor *lora_a;
  PeftqTensor *lora_b;
} LayerEntry;

struct _PeftqAdapter
{
  GObject parent_instance;

  char *name;
  PeftqLoraConfig *config;
  char *path;
  gboolean active;
  GPtrArray *layer_names;    /* char *, model order */
  GHashTable *layers;        /* name → LayerEntry, names owned by layer_names */
  GPtrArray *tensor_names;   /* char *, file order */
  GHashTable *tensors;       /* name → PeftqTensor, names owned by tensor_names */
  GPtrArray *saved_modules;  /* char * */
};

G_DEFINE_FINAL_TYPE (PeftqAdapter, peftq_adapter, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_NAME,
  PROP_CONFIG,
  PROP_PATH,
  PROP_ACTIVE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
layer_entry_free (gpointer data)
{
  LayerEntry *entry = data;

  g_clear_object (&entry->lora_a);
  g_clear_object (&entry->lora_b);
  g_free (entry);
}

static void
peftq_adapter_dispose (GObject *object)
{
  PeftqAdapter *self = PEFTQ_ADAPTER (object);

  g_clear_object (&self->config);
  g_clear_pointer (&self->layers, g_hash_table_unref);
  g_clear_pointer (&self->tensors, g_hash_table_unref);

  G_OBJECT_CLASS (peftq_adapter_parent_class)->dispose (object);
}

static void
peftq_adapter_finalize (GObject *object)
{
  PeftqAdapter *self = PEFTQ_ADAPTER (object);

  g_free (self->name);
  g_free (self->path);
  g_ptr_array_unref (self->layer_names);
  g_ptr_array_unref (self->tensor_names);
  g_ptr_array_unref (self->saved_modules);

  G_OBJECT_CLASS (peftq_adapter_parent_class)->finalize (object);
}

static void
peftq_adapter_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  PeftqAdapter *self = PEFTQ_ADAPTER (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_CONFIG:
      g_value_set_object (value, self->config);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_ACTIVE:
      g_value_set_boolean (value, self->active);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_adapter_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  PeftqAdapter *self = PEFTQ_ADAPTER (object);

  switch (prop_id)
    {
    case PROP_NAME:
      self->name = g_value_dup_string (value);
      break;
    case PROP_CONFIG:
      self->config = g_value_dup_object (value);
      break;
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    case PROP_ACTIVE:
      peftq_adapter_set_active (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_adapter_class_init (PeftqAdapterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = peftq_adapter_dispose;
  object_class->finalize = peftq_adapter_finalize;
  object_class->get_property = peftq_adapter_get_property;
  object_class->set_property = peftq_adapter_set_property;

  /**
   * PeftqAdapter:name:
   *
   * The adapter name, such as `default`.
   *
   * Since: 1.0
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqAdapter:config:
   *
   * The LoRA configuration of the adapter.
   *
   * Since: 1.0
   */
  properties[PROP_CONFIG] =
    g_param_spec_object ("config", NULL, NULL, PEFTQ_TYPE_LORA_CONFIG,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqAdapter:path:
   *
   * The folder or file the adapter was loaded from, or `NULL` for an adapter created in
   * code.
   *
   * Since: 1.0
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqAdapter:active:
   *
   * Whether the adapter contributes to the forward pass of its LoRA layers.
   *
   * Since: 1.0
   */
  properties[PROP_ACTIVE] =
    g_param_spec_boolean ("active", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
peftq_adapter_init (PeftqAdapter *self)
{
  self->layer_names = g_ptr_array_new_with_free_func (g_free);
  self->layers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, layer_entry_free);
  self->tensor_names = g_ptr_array_new_with_free_func (g_free);
  self->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->saved_modules = g_ptr_array_new_with_free_func (g_free);
}

PeftqAdapter *
peftq_adapter_new (const char      *name,
                   PeftqLoraConfig *config,
                   const char      *path)
{
  return g_object_new (PEFTQ_TYPE_ADAPTER, "name", name, "config", config, "path", path, NULL);
}

void
peftq_adapter_add_layer (PeftqAdapter *self,
                         const char   *layer_name,
                         guint         rank,
                         double        alpha,
                         double        scaling,
                         PeftqTensor  *lora_a,
                         PeftqTensor  *lora_b)
{
  LayerEntry *entry = g_new0 (LayerEntry, 1);
  char *key = g_strdup (layer_name);

  entry->rank = rank;
  entry->alpha = alpha;
  entry->scaling = scaling;
  entry->lora_a = lora_a != NULL ? g_object_ref (lora_a) : NULL;
  entry->lora_b = lora_b != NULL ? g_object_ref (lora_b) : NULL;
  g_ptr_array_add (self->layer_names, key);
  g_hash_table_replace (self->layers, key, entry);
}

void
peftq_adapter_add_tensor (PeftqAdapter *self,
                          const char   *name,
                          PeftqTensor  *tensor)
{
  char *key = g_strdup (name);

  g_ptr_array_add (self->tensor_names, key);
  g_hash_table_replace (self->tensors, key, g_object_ref (tensor));
}

void
peftq_adapter_add_saved_module (PeftqAdapter *self,
                                const char   *module_name)
{
  g_ptr_array_add (self->saved_modules, g_strdup (module_name));
}

/**
 * peftq_adapter_parse_key:
 * @key: a tensor name from a PEFT `adapter_model.safetensors` file
 * @module_path: (out) (optional) (transfer full) (nullable): the module name relative
 *   to the wrapped model (without `base_model.model.`), or `NULL` for
 *   %PEFTQ_ADAPTER_KEY_KIND_NO_PREFIX
 * @parameter: (out) (optional) (transfer full) (nullable): what follows the module
 *   name, such as `lora_A.weight` or `weight`
 *
 * Classifies a tensor name of a PEFT adapter file. PEFT saves
 * `base_model.model.<path>.lora_A.weight` and `...lora_B.weight`, with the adapter
 * name removed, so a key is a LoRA tensor only when it starts with
 * [const@Peftq.PEFT_MODEL_PREFIX] and ends in `.lora_A.weight` or `.lora_B.weight`.
 * Keys without the prefix are never matched against module names, because PEFT's own
 * loader would not match them either. The other LoRA kinds (`lora_embedding_A`,
 * `lora_magnitude_vector`, LoRA biases) are recognised so that the loader can name
 * them, and every other key is a module parameter, such as the weight of a module in
 * `modules_to_save`.
 *
 * Returns: the kind of the key
 *
 * Since: 1.0
 */
PeftqAdapterKeyKind
peftq_adapter_parse_key (const char  *key,
                         char       **module_path,
                         char       **parameter)
{
  static const struct
  {
    const char *suffix;
    PeftqAdapterKeyKind kind;
  } suffixes[] = {
    { ".lora_A.weight", PEFTQ_ADAPTER_KEY_KIND_LORA_A },
    { ".lora_B.weight", PEFTQ_ADAPTER_KEY_KIND_LORA_B },
    { ".lora_A.bias", PEFTQ_ADAPTER_KEY_KIND_LORA_BIAS },
    { ".lora_B.bias", PEFTQ_ADAPTER_KEY_KIND_LORA_BIAS },
    { ".lora_embedding_A", PEFTQ_ADAPTER_KEY_KIND_LORA_EMBEDDING },
    { ".lora_embedding_B", PEFTQ_ADAPTER_KEY_KIND_LORA_EMBEDDING },
    { ".lora_magnitude_vector", PEFTQ_ADAPTER_KEY_KIND_LORA_MAGNITUDE },
    { ".lora_magnitude_vector.weight", PEFTQ_ADAPTER_KEY_KIND_LORA_MAGNITUDE },
  };
  const gsize prefix_length = strlen (PEFTQ_PEFT_MODEL_PREFIX);
  const char *rest;
  const char *found;
  gsize rest_length;

  g_return_val_if_fail (key != NULL, PEFTQ_ADAPTER_KEY_KIND_NO_PREFIX);

  if (module_path != NULL)
    *module_path = NULL;
  if (parameter != NULL)
    *parameter = NULL;

  if (!g_str_has_prefix (key, PEFTQ_PEFT_MODEL_PREFIX) || key[prefix_length] == '\0')
    return PEFTQ_ADAPTER_KEY_KIND_NO_PREFIX;

  rest = key + prefix_length;
  rest_length = strlen (rest);

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      gsize suffix_length = strlen (suffixes[i].suffix);

      if (rest_length > suffix_length && g_str_has_suffix (rest, suffixes[i].suffix))
        {
          if (module_path != NULL)
            *module_path = g_strndup (rest, rest_length - suffix_length);
          if (parameter != NULL)
            *parameter = g_strdup (suffixes[i].suffix + 1);
          return suffixes[i].kind;
        }
    }

  /* lora_A or lora_B followed by an adapter name or index: an in-memory PEFT key
   * (lora_A.default.weight) or an AIMET key (lora_A.0.weight). */
  found = strstr (rest, ".lora_A.");
  if (found == NULL)
    found = strstr (rest, ".lora_B.");
  if (found != NULL)
    {
      if (module_path != NULL)
        *module_path = g_strndup (rest, found - rest);
      if (parameter != NULL)
        *parameter = g_strdup (found + 1);
      return PEFTQ_ADAPTER_KEY_KIND_INDEXED;
    }

  found = strrchr (rest, '.');
  if (module_path != NULL)
    *module_path = found != NULL ? g_strndup (rest, found - rest) : g_strdup ("");
  if (parameter != NULL)
    *parameter = g_strdup (found != NULL ? found + 1 : rest);
  return PEFTQ_ADAPTER_KEY_KIND_MODULE_PARAMETER;
}

/**
 * peftq_adapter_get_name:
 * @self: an adapter
 *
 * Gets [property@Peftq.Adapter:name].
 *
 * Returns: the adapter name
 *
 * Since: 1.0
 */
const char *
peftq_adapter_get_name (PeftqAdapter *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), NULL);
  return self->name;
}

/**
 * peftq_adapter_get_config:
 * @self: an adapter
 *
 * Gets [property@Peftq.Adapter:config].
 *
 * Returns: (transfer none): the configuration
 *
 * Since: 1.0
 */
PeftqLoraConfig *
peftq_adapter_get_config (PeftqAdapter *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), NULL);
  return self->config;
}

/**
 * peftq_adapter_get_path:
 * @self: an adapter
 *
 * Gets [property@Peftq.Adapter:path].
 *
 * Returns: (nullable) (type filename): the source folder or file
 *
 * Since: 1.0
 */
const char *
peftq_adapter_get_path (PeftqAdapter *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), NULL);
  return self->path;
}

/**
 * peftq_adapter_get_active:
 * @self: an adapter
 *
 * Gets [property@Peftq.Adapter:active].
 *
 * Returns: whether the adapter contributes to the forward pass
 *
 * Since: 1.0
 */
gboolean
peftq_adapter_get_active (PeftqAdapter *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), FALSE);
  return self->active;
}

/**
 * peftq_adapter_set_active:
 * @self: an adapter
 * @active: whether the adapter contributes to the forward pass
 *
 * Sets [property@Peftq.Adapter:active]. Every LoRA layer that contains the adapter then
 * emits `active-adapters-changed`.
 *
 * Since: 1.0
 */
void
peftq_adapter_set_active (PeftqAdapter *self,
                          gboolean      active)
{
  g_return_if_fail (PEFTQ_IS_ADAPTER (self));

  active = !!active;
  if (self->active == active)
    return;
  self->active = active;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVE]);
}

/**
 * peftq_adapter_get_n_layers:
 * @self: an adapter
 *
 * Counts the LoRA layers of the adapter.
 *
 * Returns: the number of layers
 *
 * Since: 1.0
 */
guint
peftq_adapter_get_n_layers (PeftqAdapter *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), 0);
  return self->layer_names->len;
}

/**
 * peftq_adapter_list_layer_names:
 * @self: an adapter
 *
 * Lists the full module names of the adapter's LoRA layers in model order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the layer names
 *
 * Since: 1.0
 */
char **
peftq_adapter_list_layer_names (PeftqAdapter *self)
{
  char **names;

  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), NULL);

  names = g_new0 (char *, self->layer_names->len + 1);
  for (guint i = 0; i < self->layer_names->len; i++)
    names[i] = g_strdup (g_ptr_array_index (self->layer_names, i));
  return names;
}

/**
 * peftq_adapter_has_layer:
 * @self: an adapter
 * @layer_name: a full module name
 *
 * Checks whether the adapter has a LoRA layer of that name.
 *
 * Returns: `TRUE` if it has
 *
 * Since: 1.0
 */
gboolean
peftq_adapter_has_layer (PeftqAdapter *self,
                         const char   *layer_name)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), FALSE);
  g_return_val_if_fail (layer_name != NULL, FALSE);
  return g_hash_table_contains (self->layers, layer_name);
}

static LayerEntry *
lookup_layer (PeftqAdapter *self,
              const char   *layer_name)
{
  LayerEntry *entry = g_hash_table_lookup (self->layers, layer_name);

  if (entry == NULL)
    g_critical ("Adapter “%s” has no LoRA layer “%s”", self->name, layer_name);
  return entry;
}

/**
 * peftq_adapter_get_rank:
 * @self: an adapter
 * @layer_name: the full module name of one of its layers
 *
 * Gets the rank of one layer, as read from its tensor shapes.
 *
 * Returns: the rank, or 0 if the adapter has no such layer
 *
 * Since: 1.0
 */
guint
peftq_adapter_get_rank (PeftqAdapter *self,
                        const char   *layer_name)
{
  LayerEntry *entry;

  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), 0);
  g_return_val_if_fail (layer_name != NULL, 0);

  entry = lookup_layer (self, layer_name);
  return entry != NULL ? entry->rank : 0;
}

/**
 * peftq_adapter_get_alpha:
 * @self: an adapter
 * @layer_name: the full module name of one of its layers
 *
 * Gets the alpha of one layer, after `alpha_pattern`.
 *
 * Returns: the alpha, or 0 if the adapter has no such layer
 *
 * Since: 1.0
 */
double
peftq_adapter_get_alpha (PeftqAdapter *self,
                         const char   *layer_name)
{
  LayerEntry *entry;

  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), 0);
  g_return_val_if_fail (layer_name != NULL, 0);

  entry = lookup_layer (self, layer_name);
  return entry != NULL ? entry->alpha : 0;
}

/**
 * peftq_adapter_get_scaling:
 * @self: an adapter
 * @layer_name: the full module name of one of its layers
 *
 * Gets the scaling of one layer: alpha / rank, or alpha / sqrt(rank) with rsLoRA.
 *
 * Returns: the scaling, or 0 if the adapter has no such layer
 *
 * Since: 1.0
 */
double
peftq_adapter_get_scaling (PeftqAdapter *self,
                           const char   *layer_name)
{
  LayerEntry *entry;

  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), 0);
  g_return_val_if_fail (layer_name != NULL, 0);

  entry = lookup_layer (self, layer_name);
  return entry != NULL ? entry->scaling : 0;
}

/**
 * peftq_adapter_get_lora_a:
 * @self: an adapter
 * @layer_name: the full module name of one of its layers
 *
 * Gets the lora_A weight the adapter was loaded with for one layer. The module's
 * parameter may have been replaced since.
 *
 * Returns: (transfer none) (nullable): the weight, of shape (r, in) or
 *   (r, in, kh, kw), or `NULL` if the adapter has no such layer
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_adapter_get_lora_a (PeftqAdapter *self,
                          const char   *layer_name)
{
  LayerEntry *entry;

  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), NULL);
  g_return_val_if_fail (layer_name != NULL, NULL);

  entry = lookup_layer (self, layer_name);
  return entry != NULL ? entry->lora_a : NULL;
}

/**
 * peftq_adapter_get_lora_b:
 * @self: an adapter
 * @layer_name: the full module name of one of its layers
 *
 * Gets the lora_B weight the adapter was loaded with for one layer.
 *
 * Returns: (transfer none) (nullable): the weight, of shape (out, r) or
 *   (out, r, 1, 1), or `NULL` if the adapter has no such layer
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_adapter_get_lora_b (PeftqAdapter *self,
                          const char   *layer_name)
{
  LayerEntry *entry;

  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), NULL);
  g_return_val_if_fail (layer_name != NULL, NULL);

  entry = lookup_layer (self, layer_name);
  return entry != NULL ? entry->lora_b : NULL;
}

/**
 * peftq_adapter_get_n_tensors:
 * @self: an adapter
 *
 * Counts the tensors read from the adapter file, LoRA pairs and whole modules alike.
 *
 * Returns: the number of tensors
 *
 * Since: 1.0
 */
guint
peftq_adapter_get_n_tensors (PeftqAdapter *self)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), 0);
  return self->tensor_names->len;
}

/**
 * peftq_adapter_list_tensor_names:
 * @self: an adapter
 *
 * Lists the keys of the tensors read from the adapter file, in file order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the keys
 *
 * Since: 1.0
 */
char **
peftq_adapter_list_tensor_names (PeftqAdapter *self)
{
  char **names;

  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), NULL);

  names = g_new0 (char *, self->tensor_names->len + 1);
  for (guint i = 0; i < self->tensor_names->len; i++)
    names[i] = g_strdup (g_ptr_array_index (self->tensor_names, i));
  return names;
}

/**
 * peftq_adapter_get_tensor:
 * @self: an adapter
 * @name: a key of the adapter file
 *
 * Looks up a tensor read from the adapter file.
 *
 * Returns: (transfer none) (nullable): the tensor, or `NULL` if the file had no such key
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_adapter_get_tensor (PeftqAdapter *self,
                          const char   *name)
{
  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  return g_hash_table_lookup (self->tensors, name);
}

/**
 * peftq_adapter_list_saved_modules:
 * @self: an adapter
 *
 * Lists the full names of the modules whose parameters the adapter file replaced
 * (`modules_to_save`).
 *
 * Returns: (transfer full) (array zero-terminated=1): the module names
 *
 * Since: 1.0
 */
char **
peftq_adapter_list_saved_modules (PeftqAdapter *self)
{
  char **names;

  g_return_val_if_fail (PEFTQ_IS_ADAPTER (self), NULL);

  names = g_new0 (char *, self->saved_modules->len + 1);
  for (guint i = 0; i < self->saved_modules->len; i++)
    names[i] = g_strdup (g_ptr_array_index (self->saved_modules, i));
  return names;
}
