/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-module-private.h"
#include "peftq-forward-context-private.h"
#include "peftq-buffer-pool-private.h"

#include <gio/gio.h>
#include <string.h>

/**
 * PeftqModule:
 *
 * A node of a model's module tree, like PyTorch's `torch.nn.Module`.
 *
 * A module has a local name, a parent, ordered named children and ordered named
 * parameters. Its qualified name joins the local names from the root down with dots
 * (`model.layers.0.self_attn.q_proj`), as PyTorch's `named_modules()` does, because
 * adapter files, encodings and metadata are keyed by those names. A module that is the
 * child of several parents (a shared module) takes its name and parent from the first
 * one.
 *
 * Each module has quantizer slots: input quantizers by input index, output quantizers
 * by output index, and parameter quantizers by parameter name. They stay empty until a
 * quantization simulation fills them. [method@Peftq.Module.forward] applies them around
 * the forward pass of the subclass.
 *
 * A plain `PeftqModule` made with [ctor@Peftq.Module.new] is a container, like
 * `torch.nn.ModuleList`: it contains children and parameters but has no forward pass.
 *
 * Since: 1.0
 */

/* Storage of one parameter, shared between modules when the parameter is tied. */
typedef struct
{
  gatomicrefcount ref_count;
  PeftqTensor *tensor;
  PeftqTensor *f32;      /* float32 copy of @tensor, made on first use */
  guint64 version;       /* incremented whenever @tensor changes */
} ParamSlot;

typedef struct
{
  char *name;
  ParamSlot *slot;
  PeftqQuantizer *quantizer;
  gulong notify_handler;
  gulong changed_handler;
  gboolean cacheable;        /* the quantizer signals every change of its encoding */
  PeftqTensor *effective;    /* cached quantize-dequantized parameter, or NULL */
  guint64 effective_version; /* slot version that @effective was computed from */
} ParamEntry;

typedef struct
{
  char *name;
  PeftqModule *module;
} ChildEntry;

typedef struct
{
  char *name;
  PeftqModule *parent;     /* not owned: the parent owns its children */
  GPtrArray *children;     /* of ChildEntry */
  GPtrArray *params;       /* of ParamEntry */
  GPtrArray *input_quantizers;  /* of PeftqQuantizer, NULL for an empty slot */
  GPtrArray *output_quantizers;
} PeftqModulePrivate;

G_DEFINE_TYPE_WITH_PRIVATE (PeftqModule, peftq_module, G_TYPE_OBJECT)

static ParamSlot *
param_slot_new (PeftqTensor *tensor)
{
  ParamSlot *slot = g_new0 (ParamSlot, 1);

  g_atomic_ref_count_init (&slot->ref_count);
  slot->tensor = tensor != NULL ? g_object_ref (tensor) : NULL;
  return slot;
}

static ParamSlot *
param_slot_ref (ParamSlot *slot)
{
  g_atomic_ref_count_inc (&slot->ref_count);
  return slot;
}

static void
param_slot_unref (ParamSlot *slot)
{
  if (!g_atomic_ref_count_dec (&slot->ref_count))
    return;

  g_clear_object (&slot->tensor);
  g_clear_object (&slot->f32);
  g_free (slot);
}

static void
param_slot_set_tensor (ParamSlot   *slot,
                       PeftqTensor *tensor)
{
  g_set_object (&slot->tensor, tensor);
  g_clear_object (&slot->f32);
  slot->version++;
}

static void
param_entry_disconnect (ParamEntry *entry)
{
  if (entry->quantizer != NULL)
    {
      g_clear_signal_handler (&entry->notify_handler, entry->quantizer);
      g_clear_signal_handler (&entry->changed_handler, entry->quantizer);
      g_clear_object (&entry->quantizer);
    }
  g_clear_object (&entry->effective);
}

static void
param_entry_free (gpointer data)
{
  ParamEntry *entry = data;

  param_entry_disconnect (entry);
  param_slot_unref (entry->slot);
  g_free (entry->name);
  g_free (entry);
}

static void
child_entry_free (gpointer data)
{
  ChildEntry *entry = data;

  g_free (entry->name);
  g_object_unref (entry->module);
  g_free (entry);
}

/* Free function of the quantizer slot arrays, whose empty slots are NULL. */
static void
quantizer_array_clear_func (gpointer data)
{
  if (data != NULL)
    g_object_unref (data);
}

static void
peftq_module_dispose (GObject *object)
{
  PeftqModule *self = PEFTQ_MODULE (object);
  PeftqModulePrivate *priv = peftq_module_get_instance_private (self);

  /* Children that outlive this module must not point back at it. */
  for (guint i = 0; i < priv->children->len; i++)
    {
      ChildEntry *entry = g_ptr_array_index (priv->children, i);
      PeftqModulePrivate *child_priv = peftq_module_get_instance_private (entry->module);

      if (child_priv->parent == self)
        child_priv->parent = NULL;
    }
  g_ptr_array_set_size (priv->children, 0);
  g_ptr_array_set_size (priv->params, 0);
  g_ptr_array_set_size (priv->input_quantizers, 0);
  g_ptr_array_set_size (priv->output_quantizers, 0);

  G_OBJECT_CLASS (peftq_module_parent_class)->dispose (object);
}

static void
peftq_module_finalize (GObject *object)
{
  PeftqModule *self = PEFTQ_MODULE (object);
  PeftqModulePrivate *priv = peftq_module_get_instance_private (self);

  g_free (priv->name);
  g_ptr_array_unref (priv->children);
  g_ptr_array_unref (priv->params);
  g_ptr_array_unref (priv->input_quantizers);
  g_ptr_array_unref (priv->output_quantizers);

  G_OBJECT_CLASS (peftq_module_parent_class)->finalize (object);
}

static const char *
peftq_module_real_get_type_name (PeftqModule *self)
{
  return "Module";
}

static void
peftq_module_class_init (PeftqModuleClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = peftq_module_dispose;
  object_class->finalize = peftq_module_finalize;

  klass->get_type_name = peftq_module_real_get_type_name;
}

static void
peftq_module_init (PeftqModule *self)
{
  PeftqModulePrivate *priv = peftq_module_get_instance_private (self);

  priv->name = g_strdup ("");
  priv->children = g_ptr_array_new_with_free_func (child_entry_free);
  priv->params = g_ptr_array_new_with_free_func (param_entry_free);
  priv->input_quantizers = g_ptr_array_new_with_free_func (quantizer_array_clear_func);
  priv->output_quantizers = g_ptr_array_new_with_free_func (quantizer_array_clear_func);
}

/**
 * peftq_module_new:
 *
 * Creates a container module with no children, no parameters and no forward pass, like
 * `torch.nn.ModuleList`.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_module_new (void)
{
  return g_object_new (PEFTQ_TYPE_MODULE, NULL);
}

/**
 * peftq_module_get_name:
 * @self: a module
 *
 * Gets the local name of @self in its parent, such as `q_proj`. A root module's name is
 * empty.
 *
 * Returns: (transfer none): the local name
 *
 * Since: 1.0
 */
const char *
peftq_module_get_name (PeftqModule *self)
{
  PeftqModulePrivate *priv;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  priv = peftq_module_get_instance_private (self);
  return priv->name;
}

/**
 * peftq_module_dup_qualified_name:
 * @self: a module
 *
 * Joins the local names from the root down to @self with dots, such as
 * `model.layers.0.self_attn.q_proj`. The root's qualified name is empty.
 *
 * Returns: (transfer full): the qualified name
 *
 * Since: 1.0
 */
char *
peftq_module_dup_qualified_name (PeftqModule *self)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GString *result;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  for (PeftqModule *module = self; module != NULL; module = peftq_module_get_parent (module))
    {
      if (peftq_module_get_parent (module) != NULL)
        g_ptr_array_add (names, (gpointer) peftq_module_get_name (module));
    }

  result = g_string_new (NULL);
  for (guint i = names->len; i > 0; i--)
    {
      if (result->len > 0)
        g_string_append_c (result, '.');
      g_string_append (result, g_ptr_array_index (names, i - 1));
    }

  return g_string_free (result, FALSE);
}

/**
 * peftq_module_get_parent:
 * @self: a module
 *
 * Gets the module that @self was first added to as a child.
 *
 * Returns: (transfer none) (nullable): the parent, or `NULL` for a root module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_module_get_parent (PeftqModule *self)
{
  PeftqModulePrivate *priv;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  priv = peftq_module_get_instance_private (self);
  return priv->parent;
}

/**
 * peftq_module_get_op_type:
 * @self: a module
 *
 * Gets the ONNX operator type that @self exports to, such as `Gemm` or `MatMul`.
 * Quantsim configurations match their op-type rules on it.
 *
 * Returns: (transfer none) (nullable): the operator type, or `NULL` for a container
 *
 * Since: 1.0
 */
const char *
peftq_module_get_op_type (PeftqModule *self)
{
  PeftqModuleClass *klass;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  klass = PEFTQ_MODULE_GET_CLASS (self);
  return klass->get_op_type != NULL ? klass->get_op_type (self) : NULL;
}

/**
 * peftq_module_get_type_name:
 * @self: a module
 *
 * Gets the PyTorch-style class name of @self, such as `Linear` or `RMSNorm`.
 *
 * Returns: (transfer none): the class name
 *
 * Since: 1.0
 */
const char *
peftq_module_get_type_name (PeftqModule *self)
{
  PeftqModuleClass *klass;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  klass = PEFTQ_MODULE_GET_CLASS (self);
  return klass->get_type_name (self);
}

static ChildEntry *
find_child_entry (PeftqModule *self,
                  const char  *name,
                  guint       *out_index)
{
  PeftqModulePrivate *priv = peftq_module_get_instance_private (self);

  for (guint i = 0; i < priv->children->len; i++)
    {
      ChildEntry *entry = g_ptr_array_index (priv->children, i);

      if (strcmp (entry->name, name) == 0)
        {
          if (out_index != NULL)
            *out_index = i;
          return entry;
        }
    }

  return NULL;
}

static void
adopt_child (PeftqModule *self,
             const char  *name,
             PeftqModule *child)
{
  PeftqModulePrivate *child_priv = peftq_module_get_instance_private (child);

  if (child_priv->parent == NULL)
    {
      child_priv->parent = self;
      g_free (child_priv->name);
      child_priv->name = g_strdup (name);
    }
}

static void
release_child (PeftqModule *self,
              PeftqModule *child)
{
  PeftqModulePrivate *child_priv = peftq_module_get_instance_private (child);

  if (child_priv->parent == self)
    {
      child_priv->parent = NULL;
      g_free (child_priv->name);
      child_priv->name = g_strdup ("");
    }
}

static gboolean
is_valid_local_name (const char *name)
{
  return name != NULL && *name != '\0' && strchr (name, '.') == NULL;
}

/**
 * peftq_module_add_child:
 * @self: a module
 * @name: the local name of the child, not empty and without dots
 * @child: the child module
 *
 * Appends @child under @name, or replaces the child of that name in place, like
 * assigning a submodule attribute in PyTorch. A child without a parent takes @self as
 * its parent and @name as its name. A child that already has a parent keeps it, so it
 * becomes a shared module that [method@Peftq.Module.list_modules] lists once.
 *
 * Since: 1.0
 */
void
peftq_module_add_child (PeftqModule *self,
                        const char  *name,
                        PeftqModule *child)
{
  PeftqModulePrivate *priv;
  ChildEntry *entry;

  g_return_if_fail (PEFTQ_IS_MODULE (self));
  g_return_if_fail (is_valid_local_name (name));
  g_return_if_fail (PEFTQ_IS_MODULE (child));
  g_return_if_fail (child != self);

  priv = peftq_module_get_instance_private (self);
  entry = find_child_entry (self, name, NULL);
  if (entry != NULL)
    {
      PeftqModule *old = entry->module;

      entry->module = g_object_ref (child);
      release_child (self, old);
      adopt_child (self, name, child);
      g_object_unref (old);
      return;
    }

  entry = g_new0 (ChildEntry, 1);
  entry->name = g_strdup (name);
  entry->module = g_object_ref (child);
  g_ptr_array_add (priv->children, entry);
  adopt_child (self, name, child);
}

/**
 * peftq_module_get_child:
 * @self: a module
 * @name: the local name of a child
 *
 * Looks up a direct child by its local name.
 *
 * Returns: (transfer none) (nullable): the child, or `NULL` if @self has no child of
 *   that name
 *
 * Since: 1.0
 */
PeftqModule *
peftq_module_get_child (PeftqModule *self,
                        const char  *name)
{
  ChildEntry *entry;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  entry = find_child_entry (self, name, NULL);
  return entry != NULL ? entry->module : NULL;
}

/**
 * peftq_module_replace_child:
 * @self: a module
 * @name: the local name of an existing child
 * @child: the module to put in its place
 * @error: return location for a #GError
 *
 * Replaces the child @name with @child at the same position, as the LoRA layer
 * replacement needs. The old child loses its parent if it was @self.
 *
 * Returns: `TRUE` on success, `FALSE` if @self has no child called @name
 *
 * Since: 1.0
 */
gboolean
peftq_module_replace_child (PeftqModule  *self,
                            const char   *name,
                            PeftqModule  *child,
                            GError      **error)
{
  g_return_val_if_fail (PEFTQ_IS_MODULE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (PEFTQ_IS_MODULE (child), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (find_child_entry (self, name, NULL) == NULL)
    {
      g_autofree char *qualified = peftq_module_dup_qualified_name (self);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "Module “%s” has no child “%s” to replace",
                   qualified, name);
      return FALSE;
    }

  peftq_module_add_child (self, name, child);
  return TRUE;
}

/**
 * peftq_module_get_children:
 * @self: a module
 *
 * Lists the direct children of @self in registration order.
 *
 * Returns: (transfer container) (element-type PeftqModule): the children
 *
 * Since: 1.0
 */
GPtrArray *
peftq_module_get_children (PeftqModule *self)
{
  PeftqModulePrivate *priv;
  GPtrArray *result;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  priv = peftq_module_get_instance_private (self);
  result = g_ptr_array_sized_new (priv->children->len);
  for (guint i = 0; i < priv->children->len; i++)
    {
      ChildEntry *entry = g_ptr_array_index (priv->children, i);
      g_ptr_array_add (result, entry->module);
    }

  return result;
}

/**
 * peftq_module_find_module:
 * @self: a module
 * @path: a dotted path relative to @self, such as `layers.0.mlp`; empty for @self
 *
 * Looks up a descendant by its dotted path.
 *
 * Returns: (transfer none) (nullable): the module, or `NULL` if the path does not exist
 *
 * Since: 1.0
 */
PeftqModule *
peftq_module_find_module (PeftqModule *self,
                          const char  *path)
{
  g_auto(GStrv) parts = NULL;
  PeftqModule *module = self;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  if (*path == '\0')
    return self;

  parts = g_strsplit (path, ".", -1);
  for (guint i = 0; parts[i] != NULL && module != NULL; i++)
    module = peftq_module_get_child (module, parts[i]);

  return module;
}

/* Walks the subtree in PyTorch's named_modules() order: pre-order, children in
 * registration order, each module once. */
static void
collect_modules (PeftqModule *module,
                 const char  *prefix,
                 GHashTable  *seen,
                 GPtrArray   *modules,
                 GPtrArray   *names)
{
  PeftqModulePrivate *priv = peftq_module_get_instance_private (module);

  if (!g_hash_table_add (seen, module))
    return;

  g_ptr_array_add (modules, module);
  if (names != NULL)
    g_ptr_array_add (names, g_strdup (prefix));

  for (guint i = 0; i < priv->children->len; i++)
    {
      ChildEntry *entry = g_ptr_array_index (priv->children, i);
      g_autofree char *child_prefix = *prefix != '\0'
        ? g_strconcat (prefix, ".", entry->name, NULL)
        : g_strdup (entry->name);

      collect_modules (entry->module, child_prefix, seen, modules, names);
    }
}

/**
 * peftq_module_list_modules:
 * @self: a module
 *
 * Lists every module of the subtree of @self, @self first, in PyTorch's
 * `named_modules()` order: pre-order, children in registration order, and a shared
 * module only where it is first reached.
 *
 * Returns: (transfer container) (element-type PeftqModule): the modules
 *
 * Since: 1.0
 */
GPtrArray *
peftq_module_list_modules (PeftqModule *self)
{
  g_autoptr(GHashTable) seen = NULL;
  GPtrArray *modules;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  seen = g_hash_table_new (NULL, NULL);
  modules = g_ptr_array_new ();
  collect_modules (self, "", seen, modules, NULL);
  return modules;
}

/**
 * peftq_module_list_module_names:
 * @self: a module
 *
 * Lists the names of the modules that [method@Peftq.Module.list_modules] returns, in
 * the same order, relative to @self: the first name is the empty string, for @self.
 *
 * Returns: (transfer full) (array zero-terminated=1): the module names
 *
 * Since: 1.0
 */
char **
peftq_module_list_module_names (PeftqModule *self)
{
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GPtrArray) modules = NULL;
  GPtrArray *names;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  seen = g_hash_table_new (NULL, NULL);
  modules = g_ptr_array_new ();
  names = g_ptr_array_new ();
  collect_modules (self, "", seen, modules, names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

static ParamEntry *
find_param_entry (PeftqModule *self,
                  const char  *name)
{
  PeftqModulePrivate *priv = peftq_module_get_instance_private (self);

  for (guint i = 0; i < priv->params->len; i++)
    {
      ParamEntry *entry = g_ptr_array_index (priv->params, i);

      if (strcmp (entry->name, name) == 0)
        return entry;
    }

  return NULL;
}

static void
add_param_entry (PeftqModule *self,
                 const char  *name,
                 ParamSlot   *slot)
{
  PeftqModulePrivate *priv = peftq_module_get_instance_private (self);
  ParamEntry *entry = g_new0 (ParamEntry, 1);

  entry->name = g_strdup (name);
  entry->slot = slot;
  g_ptr_array_add (priv->params, entry);
}

/**
 * peftq_module_register_parameter:
 * @self: a module
 * @name: the parameter name, not empty and without dots, such as `weight`
 * @tensor: (nullable): the initial value, or `NULL` for a parameter without a value yet
 *
 * Appends a parameter, like PyTorch's `register_parameter`. Registering a name twice is
 * a programmer error.
 *
 * Since: 1.0
 */
void
peftq_module_register_parameter (PeftqModule *self,
                                 const char  *name,
                                 PeftqTensor *tensor)
{
  g_return_if_fail (PEFTQ_IS_MODULE (self));
  g_return_if_fail (is_valid_local_name (name));
  g_return_if_fail (tensor == NULL || PEFTQ_IS_TENSOR (tensor));
  g_return_if_fail (find_param_entry (self, name) == NULL);

  add_param_entry (self, name, param_slot_new (tensor));
}

/**
 * peftq_module_tie_parameter:
 * @self: a module
 * @name: a parameter name of @self; registered here if it does not exist yet
 * @source: the module whose parameter @self shares
 * @source_name: a registered parameter of @source
 *
 * Makes the parameter @name of @self share the storage of the parameter @source_name
 * of @source, as PyTorch's weight tying (`lm_head.weight = embed_tokens.weight`) does.
 * Setting either one sets both. [method@Peftq.Module.list_named_parameters] lists the
 * shared tensor once, under the name reached first, and
 * [method@Peftq.Module.state_dict] lists it under both names. Each side keeps its own
 * parameter quantizer.
 *
 * Since: 1.0
 */
void
peftq_module_tie_parameter (PeftqModule *self,
                            const char  *name,
                            PeftqModule *source,
                            const char  *source_name)
{
  ParamEntry *source_entry;
  ParamEntry *entry;

  g_return_if_fail (PEFTQ_IS_MODULE (self));
  g_return_if_fail (is_valid_local_name (name));
  g_return_if_fail (PEFTQ_IS_MODULE (source));
  g_return_if_fail (source_name != NULL);

  source_entry = find_param_entry (source, source_name);
  g_return_if_fail (source_entry != NULL);

  entry = find_param_entry (self, name);
  if (entry == NULL)
    {
      add_param_entry (self, name, param_slot_ref (source_entry->slot));
      return;
    }

  if (entry->slot == source_entry->slot)
    return;

  param_slot_unref (entry->slot);
  entry->slot = param_slot_ref (source_entry->slot);
  g_clear_object (&entry->effective);
}

/**
 * peftq_module_has_parameter:
 * @self: a module
 * @name: a parameter name
 *
 * Checks whether @self registered a parameter called @name, with or without a value.
 *
 * Returns: `TRUE` if the parameter is registered
 *
 * Since: 1.0
 */
gboolean
peftq_module_has_parameter (PeftqModule *self,
                            const char  *name)
{
  g_return_val_if_fail (PEFTQ_IS_MODULE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return find_param_entry (self, name) != NULL;
}

/**
 * peftq_module_get_parameter:
 * @self: a module
 * @name: a parameter name
 *
 * Gets the stored value of a parameter, in the dtype it was set with.
 *
 * Returns: (transfer none) (nullable): the tensor, or `NULL` if the parameter is not
 *   registered or has no value
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_module_get_parameter (PeftqModule *self,
                            const char  *name)
{
  ParamEntry *entry;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  entry = find_param_entry (self, name);
  return entry != NULL ? entry->slot->tensor : NULL;
}

static gboolean
shapes_equal (PeftqTensor *a,
              PeftqTensor *b)
{
  guint rank_a;
  guint rank_b;
  const gint64 *shape_a = peftq_tensor_get_shape (a, &rank_a);
  const gint64 *shape_b = peftq_tensor_get_shape (b, &rank_b);

  return rank_a == rank_b && memcmp (shape_a, shape_b, rank_a * sizeof (gint64)) == 0;
}

/* Checks that @tensor may replace the value of @entry: a float dtype and, when the
 * parameter already has a value, the same shape. @key names the parameter in messages. */
static gboolean
check_parameter_value (ParamEntry   *entry,
                       const char   *key,
                       PeftqTensor  *tensor,
                       GError      **error)
{
  if (!peftq_dtype_is_float (peftq_tensor_get_dtype (tensor)))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_DTYPE_MISMATCH,
                   "Parameter “%s” must have a floating-point dtype, not %s",
                   key, peftq_dtype_to_string (peftq_tensor_get_dtype (tensor)));
      return FALSE;
    }

  if (entry->slot->tensor != NULL && !shapes_equal (entry->slot->tensor, tensor))
    {
      g_autofree char *expected = peftq_tensor_format_shape (entry->slot->tensor);
      g_autofree char *actual = peftq_tensor_format_shape (tensor);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "Parameter “%s” has shape %s, so a tensor of shape %s cannot replace it",
                   key, expected, actual);
      return FALSE;
    }

  return TRUE;
}

static char *
dup_qualified_parameter_name (PeftqModule *self,
                              const char  *name)
{
  g_autofree char *module_name = peftq_module_dup_qualified_name (self);

  return *module_name != '\0' ? g_strconcat (module_name, ".", name, NULL) : g_strdup (name);
}

/**
 * peftq_module_set_parameter:
 * @self: a module
 * @name: a registered parameter name
 * @tensor: the new value, of a floating-point dtype
 * @error: return location for a #GError
 *
 * Replaces the value of a parameter. When the parameter already has a value, @tensor
 * must have the same shape. The value is stored as given (an F16 or BF16 tensor stays
 * 16-bit and is converted to float32 once, on first use). Tied parameters change
 * together.
 *
 * Returns: `TRUE` on success, `FALSE` if the parameter is not registered or @tensor has
 *   a different shape or an integer dtype
 *
 * Since: 1.0
 */
gboolean
peftq_module_set_parameter (PeftqModule  *self,
                            const char   *name,
                            PeftqTensor  *tensor,
                            GError      **error)
{
  g_autofree char *key = NULL;
  ParamEntry *entry;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (tensor), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  key = dup_qualified_parameter_name (self, name);
  entry = find_param_entry (self, name);
  if (entry == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "Module “%s” (%s) has no parameter “%s”",
                   key, peftq_module_get_type_name (self), name);
      return FALSE;
    }

  if (!check_parameter_value (entry, key, tensor, error))
    return FALSE;

  param_slot_set_tensor (entry->slot, tensor);
  return TRUE;
}

/**
 * peftq_module_list_parameter_names:
 * @self: a module
 *
 * Lists the parameters that @self registered itself, in registration order, whether or
 * not they have a value.
 *
 * Returns: (transfer full) (array zero-terminated=1): the parameter names
 *
 * Since: 1.0
 */
char **
peftq_module_list_parameter_names (PeftqModule *self)
{
  PeftqModulePrivate *priv;
  GStrvBuilder *builder;
  char **result;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  priv = peftq_module_get_instance_private (self);
  builder = g_strv_builder_new ();
  for (guint i = 0; i < priv->params->len; i++)
    {
      ParamEntry *entry = g_ptr_array_index (priv->params, i);
      g_strv_builder_add (builder, entry->name);
    }

  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

/**
 * peftq_module_list_named_parameters:
 * @self: a module
 *
 * Lists the qualified names (relative to @self) of the parameters of the subtree, in
 * PyTorch's `named_parameters()` order: modules in [method@Peftq.Module.list_modules]
 * order and parameters in registration order. Parameters without a value are left out,
 * and a tied parameter appears only under the name reached first (a tied
 * `lm_head.weight` is listed as `model.embed_tokens.weight`).
 *
 * Returns: (transfer full) (array zero-terminated=1): the parameter names
 *
 * Since: 1.0
 */
char **
peftq_module_list_named_parameters (PeftqModule *self)
{
  g_autoptr(GHashTable) seen_modules = NULL;
  g_autoptr(GHashTable) seen_slots = NULL;
  g_autoptr(GPtrArray) modules = NULL;
  g_autoptr(GPtrArray) names = NULL;
  GStrvBuilder *builder;
  char **result;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  seen_modules = g_hash_table_new (NULL, NULL);
  seen_slots = g_hash_table_new (NULL, NULL);
  modules = g_ptr_array_new ();
  names = g_ptr_array_new_with_free_func (g_free);
  collect_modules (self, "", seen_modules, modules, names);

  builder = g_strv_builder_new ();
  for (guint m = 0; m < modules->len; m++)
    {
      PeftqModulePrivate *priv = peftq_module_get_instance_private (g_ptr_array_index (modules, m));
      const char *prefix = g_ptr_array_index (names, m);

      for (guint i = 0; i < priv->params->len; i++)
        {
          ParamEntry *entry = g_ptr_array_index (priv->params, i);
          g_autofree char *key = NULL;

          if (entry->slot->tensor == NULL || !g_hash_table_add (seen_slots, entry->slot))
            continue;

          key = *prefix != '\0' ? g_strconcat (prefix, ".", entry->name, NULL) : g_strdup (entry->name);
          g_strv_builder_add (builder, key);
        }
    }

  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

/* Visits every parameter of the subtree under every path, as PyTorch's state_dict()
 * does: shared modules and tied parameters appear under each of their names. */
typedef void (*ParamVisitFunc) (const char *key,
                                PeftqModule *module,
                                ParamEntry  *entry,
                                gpointer     user_data);

static void
visit_state_dict (PeftqModule    *module,
                  const char     *prefix,
                  GHashTable     *path,
                  ParamVisitFunc  func,
                  gpointer        user_data)
{
  PeftqModulePrivate *priv = peftq_module_get_instance_private (module);

  /* A module that contains itself would recurse forever: stop at a cycle. */
  if (!g_hash_table_add (path, module))
    return;

  for (guint i = 0; i < priv->params->len; i++)
    {
      ParamEntry *entry = g_ptr_array_index (priv->params, i);
      g_autofree char *key = *prefix != '\0'
        ? g_strconcat (prefix, ".", entry->name, NULL)
        : g_strdup (entry->name);

      func (key, module, entry, user_data);
    }

  for (guint i = 0; i < priv->children->len; i++)
    {
      ChildEntry *child = g_ptr_array_index (priv->children, i);
      g_autofree char *child_prefix = *prefix != '\0'
        ? g_strconcat (prefix, ".", child->name, NULL)
        : g_strdup (child->name);

      visit_state_dict (child->module, child_prefix, path, func, user_data);
    }

  g_hash_table_remove (path, module);
}

static void
add_to_state_dict (const char  *key,
                   PeftqModule *module,
                   ParamEntry  *entry,
                   gpointer     user_data)
{
  GHashTable *table = user_data;

  if (entry->slot->tensor != NULL)
    g_hash_table_insert (table, g_strdup (key), g_object_ref (entry->slot->tensor));
}

/**
 * peftq_module_state_dict:
 * @self: a module
 *
 * Collects the parameters of the subtree by qualified name (relative to @self), like
 * PyTorch's `state_dict()`: every key, so a tied tensor appears under each of its names.
 * Parameters without a value are left out. The tensors are the stored values, not
 * copies. [method@Peftq.Module.list_state_dict_keys] gives the keys in order.
 *
 * Returns: (transfer container) (element-type utf8 PeftqTensor): a table from names to
 *   tensors; it frees its keys and values when unreferenced
 *
 * Since: 1.0
 */
GHashTable *
peftq_module_state_dict (PeftqModule *self)
{
  g_autoptr(GHashTable) path = NULL;
  GHashTable *table;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  path = g_hash_table_new (NULL, NULL);
  table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  visit_state_dict (self, "", path, add_to_state_dict, table);
  return table;
}

static void
add_state_dict_key (const char  *key,
                    PeftqModule *module,
                    ParamEntry  *entry,
                    gpointer     user_data)
{
  if (entry->slot->tensor != NULL)
    g_strv_builder_add (user_data, key);
}

/**
 * peftq_module_list_state_dict_keys:
 * @self: a module
 *
 * Lists the keys of [method@Peftq.Module.state_dict] in PyTorch's order: a module's
 * own parameters first, then each child's keys in registration order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the keys
 *
 * Since: 1.0
 */
char **
peftq_module_list_state_dict_keys (PeftqModule *self)
{
  g_autoptr(GHashTable) path = NULL;
  GStrvBuilder *builder;
  char **result;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  path = g_hash_table_new (NULL, NULL);
  builder = g_strv_builder_new ();
  visit_state_dict (self, "", path, add_state_dict_key, builder);
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

typedef struct
{
  GHashTable *state_dict;   /* the caller's table */
  GHashTable *known;        /* keys of the module tree */
  GString *missing;
  guint n_missing;
  GError *error;            /* first shape or dtype error */
  GPtrArray *updates;       /* pairs of (ParamEntry, PeftqTensor) to apply */
} LoadState;

static void
check_state_dict_entry (const char  *key,
                        PeftqModule *module,
                        ParamEntry  *entry,
                        gpointer     user_data)
{
  LoadState *state = user_data;
  PeftqTensor *tensor;

  g_hash_table_add (state->known, g_strdup (key));
  tensor = g_hash_table_lookup (state->state_dict, key);
  if (tensor == NULL)
    {
      if (entry->slot->tensor != NULL)
        {
          g_string_append_printf (state->missing, "%s“%s”", state->n_missing > 0 ? ", " : "", key);
          state->n_missing++;
        }
      return;
    }

  if (!PEFTQ_IS_TENSOR (tensor))
    {
      if (state->error == NULL)
        g_set_error (&state->error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                     "State dict entry “%s” is not a tensor", key);
      return;
    }

  if (state->error == NULL && check_parameter_value (entry, key, tensor, &state->error))
    {
      g_ptr_array_add (state->updates, entry);
      g_ptr_array_add (state->updates, tensor);
    }
}

/**
 * peftq_module_load_state_dict:
 * @self: a module
 * @state_dict: (element-type utf8 PeftqTensor): tensors by qualified name, relative to
 *   @self
 * @strict: whether missing and unexpected keys are errors
 * @error: return location for a #GError
 *
 * Sets the parameters of the subtree from @state_dict, like PyTorch's
 * `load_state_dict()`. A tensor of the wrong shape or of an integer dtype is always an
 * error. With @strict, a parameter that has a value but no key in @state_dict, or a key
 * that names no parameter, is an error that lists those keys. Without @strict, they are
 * skipped. On error nothing is changed.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
peftq_module_load_state_dict (PeftqModule  *self,
                              GHashTable   *state_dict,
                              gboolean      strict,
                              GError      **error)
{
  g_autoptr(GHashTable) path = NULL;
  g_autoptr(GHashTable) known = NULL;
  g_autoptr(GPtrArray) updates = NULL;
  g_autoptr(GString) missing = NULL;
  LoadState state = { 0 };

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), FALSE);
  g_return_val_if_fail (state_dict != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  path = g_hash_table_new (NULL, NULL);
  known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  updates = g_ptr_array_new ();
  missing = g_string_new (NULL);

  state.state_dict = state_dict;
  state.known = known;
  state.missing = missing;
  state.updates = updates;
  visit_state_dict (self, "", path, check_state_dict_entry, &state);

  if (state.error != NULL)
    {
      g_propagate_error (error, state.error);
      return FALSE;
    }

  if (strict)
    {
      g_autoptr(GPtrArray) unexpected = g_ptr_array_new ();
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, state_dict);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          if (!g_hash_table_contains (known, key))
            g_ptr_array_add (unexpected, key);
        }

      if (state.n_missing > 0 || unexpected->len > 0)
        {
          g_autoptr(GString) message = g_string_new ("Error loading a state dict:");

          if (state.n_missing > 0)
            g_string_append_printf (message, " missing keys %s.", missing->str);
          if (unexpected->len > 0)
            {
              g_ptr_array_sort (unexpected, (GCompareFunc) g_strcmp0);
              g_string_append (message, " unexpected keys ");
              for (guint i = 0; i < unexpected->len; i++)
                {
                  /* g_ptr_array_sort passes pointers to the elements. */
                  g_string_append_printf (message, "%s“%s”", i > 0 ? ", " : "",
                                          (const char *) g_ptr_array_index (unexpected, i));
                }
              g_string_append_c (message, '.');
            }
          g_set_error_literal (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND, message->str);
          return FALSE;
        }
    }

  for (guint i = 0; i + 1 < updates->len; i += 2)
    {
      ParamEntry *entry = g_ptr_array_index (updates, i);
      param_slot_set_tensor (entry->slot, g_ptr_array_index (updates, i + 1));
    }

  return TRUE;
}

static PeftqTensor *
get_slot_f32 (ParamSlot    *slot,
              const char   *key,
              GError      **error)
{
  if (slot->f32 == NULL)
    {
      slot->f32 = peftq_tensor_ensure_f32 (slot->tensor, key, error);
      if (slot->f32 == NULL)
        return NULL;
    }

  return g_object_ref (slot->f32);
}

static void
on_quantizer_changed (ParamEntry *entry)
{
  g_clear_object (&entry->effective);
}

/**
 * peftq_module_get_effective_parameter:
 * @self: a module
 * @name: a parameter name
 * @error: return location for a #GError
 *
 * Gets a parameter as the forward pass uses it: converted to float32 and, when @self has
 * a quantizer for this parameter, passed through [method@Peftq.Quantizer.forward]. The
 * float32 conversion of a 16-bit parameter is made once. A quantize-dequantized value is
 * cached only for quantizers with an `encoding-changed` signal, and dropped whenever
 * the quantizer emits it or any property notification, or the parameter is set.
 *
 * Returns: (transfer full): the float32 parameter, or `NULL` if the parameter is missing
 *   or has no value, or its quantizer fails
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_module_get_effective_parameter (PeftqModule  *self,
                                      const char   *name,
                                      GError      **error)
{
  g_autofree char *key = NULL;
  g_autoptr(PeftqTensor) value = NULL;
  PeftqTensor *result;
  ParamEntry *entry;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entry = find_param_entry (self, name);
  if (entry != NULL && entry->effective != NULL && entry->effective_version == entry->slot->version)
    return g_object_ref (entry->effective);

  key = dup_qualified_parameter_name (self, name);
  if (entry == NULL || entry->slot->tensor == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, entry == NULL ? PEFTQ_ERROR_NOT_FOUND : PEFTQ_ERROR_NOT_INITIALIZED,
                   entry == NULL ? "Module parameter “%s” does not exist" : "Module parameter “%s” has no value",
                   key);
      return NULL;
    }

  value = get_slot_f32 (entry->slot, key, error);
  if (value == NULL)
    return NULL;

  if (entry->quantizer == NULL)
    return g_steal_pointer (&value);

  result = peftq_quantizer_forward (entry->quantizer, value, error);
  if (result == NULL)
    {
      g_prefix_error (error, "Quantizer of parameter “%s”: ", key);
      return NULL;
    }

  if (entry->cacheable)
    {
      g_set_object (&entry->effective, result);
      entry->effective_version = entry->slot->version;
    }

  return result;
}

static void
set_quantizer_slot (GPtrArray      *slots,
                    guint           index,
                    PeftqQuantizer *quantizer)
{
  if (index >= slots->len)
    {
      if (quantizer == NULL)
        return;
      g_ptr_array_set_size (slots, index + 1);
    }

  if (quantizer != NULL)
    g_object_ref (quantizer);
  quantizer_array_clear_func (slots->pdata[index]);
  slots->pdata[index] = quantizer;

  /* Trailing empty slots do not count. */
  while (slots->len > 0 && slots->pdata[slots->len - 1] == NULL)
    g_ptr_array_set_size (slots, slots->len - 1);
}

/**
 * peftq_module_set_input_quantizer:
 * @self: a module
 * @index: the input index
 * @quantizer: (nullable): the quantizer, or `NULL` to empty the slot
 *
 * Sets the quantizer that [method@Peftq.Module.forward] applies to input @index.
 *
 * Since: 1.0
 */
void
peftq_module_set_input_quantizer (PeftqModule    *self,
                                  guint           index,
                                  PeftqQuantizer *quantizer)
{
  PeftqModulePrivate *priv;

  g_return_if_fail (PEFTQ_IS_MODULE (self));
  g_return_if_fail (quantizer == NULL || PEFTQ_IS_QUANTIZER (quantizer));

  priv = peftq_module_get_instance_private (self);
  set_quantizer_slot (priv->input_quantizers, index, quantizer);
}

/**
 * peftq_module_get_input_quantizer:
 * @self: a module
 * @index: the input index
 *
 * Gets the quantizer of input @index.
 *
 * Returns: (transfer none) (nullable): the quantizer, or `NULL` for an empty slot
 *
 * Since: 1.0
 */
PeftqQuantizer *
peftq_module_get_input_quantizer (PeftqModule *self,
                                  guint        index)
{
  PeftqModulePrivate *priv;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  priv = peftq_module_get_instance_private (self);
  return index < priv->input_quantizers->len ? g_ptr_array_index (priv->input_quantizers, index) : NULL;
}

/**
 * peftq_module_get_n_input_quantizers:
 * @self: a module
 *
 * Counts the input quantizer slots up to the last filled one.
 *
 * Returns: one more than the highest input index with a quantizer, or 0
 *
 * Since: 1.0
 */
guint
peftq_module_get_n_input_quantizers (PeftqModule *self)
{
  PeftqModulePrivate *priv;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), 0);

  priv = peftq_module_get_instance_private (self);
  return priv->input_quantizers->len;
}

/**
 * peftq_module_set_output_quantizer:
 * @self: a module
 * @index: the output index; modules have one output, so only index 0 is applied
 * @quantizer: (nullable): the quantizer, or `NULL` to empty the slot
 *
 * Sets the quantizer of output @index.
 *
 * Since: 1.0
 */
void
peftq_module_set_output_quantizer (PeftqModule    *self,
                                   guint           index,
                                   PeftqQuantizer *quantizer)
{
  PeftqModulePrivate *priv;

  g_return_if_fail (PEFTQ_IS_MODULE (self));
  g_return_if_fail (quantizer == NULL || PEFTQ_IS_QUANTIZER (quantizer));

  priv = peftq_module_get_instance_private (self);
  set_quantizer_slot (priv->output_quantizers, index, quantizer);
}

/**
 * peftq_module_get_output_quantizer:
 * @self: a module
 * @index: the output index
 *
 * Gets the quantizer of output @index.
 *
 * Returns: (transfer none) (nullable): the quantizer, or `NULL` for an empty slot
 *
 * Since: 1.0
 */
PeftqQuantizer *
peftq_module_get_output_quantizer (PeftqModule *self,
                                   guint        index)
{
  PeftqModulePrivate *priv;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);

  priv = peftq_module_get_instance_private (self);
  return index < priv->output_quantizers->len ? g_ptr_array_index (priv->output_quantizers, index) : NULL;
}

/**
 * peftq_module_get_n_output_quantizers:
 * @self: a module
 *
 * Counts the output quantizer slots up to the last filled one.
 *
 * Returns: one more than the highest output index with a quantizer, or 0
 *
 * Since: 1.0
 */
guint
peftq_module_get_n_output_quantizers (PeftqModule *self)
{
  PeftqModulePrivate *priv;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), 0);

  priv = peftq_module_get_instance_private (self);
  return priv->output_quantizers->len;
}

/**
 * peftq_module_set_param_quantizer:
 * @self: a module
 * @param_name: a registered parameter name
 * @quantizer: (nullable): the quantizer, or `NULL` to remove it
 *
 * Sets the quantizer that [method@Peftq.Module.get_effective_parameter] applies to the
 * parameter @param_name. Setting it for a name that is not registered is a programmer
 * error.
 *
 * Since: 1.0
 */
void
peftq_module_set_param_quantizer (PeftqModule    *self,
                                  const char     *param_name,
                                  PeftqQuantizer *quantizer)
{
  ParamEntry *entry;

  g_return_if_fail (PEFTQ_IS_MODULE (self));
  g_return_if_fail (param_name != NULL);
  g_return_if_fail (quantizer == NULL || PEFTQ_IS_QUANTIZER (quantizer));

  entry = find_param_entry (self, param_name);
  g_return_if_fail (entry != NULL);

  if (entry->quantizer == quantizer)
    return;

  param_entry_disconnect (entry);
  if (quantizer == NULL)
    return;

  entry->quantizer = g_object_ref (quantizer);
  entry->notify_handler = g_signal_connect_swapped (quantizer, "notify",
                                                    G_CALLBACK (on_quantizer_changed), entry);
  entry->cacheable = g_signal_lookup ("encoding-changed", G_OBJECT_TYPE (quantizer)) != 0;
  if (entry->cacheable)
    entry->changed_handler = g_signal_connect_swapped (quantizer, "encoding-changed",
                                                       G_CALLBACK (on_quantizer_changed), entry);
}

/**
 * peftq_module_get_param_quantizer:
 * @self: a module
 * @param_name: a parameter name
 *
 * Gets the quantizer of the parameter @param_name.
 *
 * Returns: (transfer none) (nullable): the quantizer, or `NULL` if there is none
 *
 * Since: 1.0
 */
PeftqQuantizer *
peftq_module_get_param_quantizer (PeftqModule *self,
                                  const char  *param_name)
{
  ParamEntry *entry;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);
  g_return_val_if_fail (param_name != NULL, NULL);

  entry = find_param_entry (self, param_name);
  return entry != NULL ? entry->quantizer : NULL;
}

/**
 * peftq_module_clear_quantizers:
 * @self: a module
 *
 * Empties every quantizer slot of @self (inputs, outputs and parameters). The children
 * keep theirs.
 *
 * Since: 1.0
 */
void
peftq_module_clear_quantizers (PeftqModule *self)
{
  PeftqModulePrivate *priv;

  g_return_if_fail (PEFTQ_IS_MODULE (self));

  priv = peftq_module_get_instance_private (self);
  g_ptr_array_set_size (priv->input_quantizers, 0);
  g_ptr_array_set_size (priv->output_quantizers, 0);
  for (guint i = 0; i < priv->params->len; i++)
    param_entry_disconnect (g_ptr_array_index (priv->params, i));
}

static PeftqTensor *
apply_quantizer (PeftqModule     *self,
                 PeftqQuantizer  *quantizer,
                 PeftqTensor     *input,
                 const char      *slot,
                 guint            index,
                 GError         **error)
{
  PeftqTensor *result = peftq_quantizer_forward (quantizer, input, error);

  if (result == NULL)
    {
      g_autofree char *description = peftq_module_dup_description (self);
      g_prefix_error (error, "%s quantizer %u of the %s: ", slot, index, description);
    }

  return result;
}

/**
 * peftq_module_forward:
 * @self: a module
 * @context: (nullable): the forward context, or `NULL` for default positions and no
 *   mask
 * @inputs: (array length=n_inputs): the input tensors
 * @n_inputs: the number of inputs
 * @error: return location for a #GError
 *
 * Runs @self: applies input quantizer i to input i, calls the forward pass of the
 * class, then applies output quantizer 0 to its result. Fails with
 * `G_IO_ERROR_CANCELLED` when the context's cancellable is cancelled.
 *
 * Returns: (transfer full): the output tensor, or `NULL` on error
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_module_forward (PeftqModule          *self,
                      PeftqForwardContext  *context,
                      PeftqTensor         **inputs,
                      guint                 n_inputs,
                      GError              **error)
{
  PeftqModulePrivate *priv;
  PeftqModuleClass *klass;
  g_autoptr(PeftqForwardContext) default_context = NULL;
  g_autoptr(GPtrArray) quantized = NULL;
  g_autoptr(PeftqTensor) output = NULL;
  PeftqQuantizer *output_quantizer;
  gboolean exporting;

  g_return_val_if_fail (PEFTQ_IS_MODULE (self), NULL);
  g_return_val_if_fail (context == NULL || PEFTQ_IS_FORWARD_CONTEXT (context), NULL);
  g_return_val_if_fail (inputs != NULL || n_inputs == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (guint i = 0; i < n_inputs; i++)
    g_return_val_if_fail (PEFTQ_IS_TENSOR (inputs[i]), NULL);

  if (context == NULL)
    {
      default_context = peftq_forward_context_new ();
      context = default_context;
    }

  if (g_cancellable_set_error_if_cancelled (peftq_forward_context_get_cancellable (context), error))
    return NULL;

  priv = peftq_module_get_instance_private (self);
  klass = PEFTQ_MODULE_GET_CLASS (self);
  if (klass->forward == NULL)
    {
      g_autofree char *description = peftq_module_dup_description (self);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "The %s is a container without a forward pass, so run its children instead",
                   description);
      return NULL;
    }

  /* An export traces the float graph: activation quantizers are left out. */
  exporting = peftq_forward_context_get_exporting (context);

  quantized = g_ptr_array_new_full (n_inputs, g_object_unref);
  for (guint i = 0; i < n_inputs; i++)
    {
      PeftqQuantizer *quantizer = exporting ? NULL : peftq_module_get_input_quantizer (self, i);
      PeftqTensor *input;

      if (quantizer != NULL)
        {
          input = apply_quantizer (self, quantizer, inputs[i], "Input", i, error);
          if (input == NULL)
            return NULL;
        }
      else
        {
          input = g_object_ref (inputs[i]);
        }
      g_ptr_array_add (quantized, input);
    }

  output = klass->forward (self, context, (PeftqTensor **) quantized->pdata, n_inputs, error);
  if (output == NULL)
    return NULL;

  peftq_forward_context_record (context, self, (PeftqTensor **) quantized->pdata, n_inputs, output);

  output_quantizer = (!exporting && priv->output_quantizers->len > 0) ? g_ptr_array_index (priv->output_quantizers, 0) : NULL;
  if (output_quantizer != NULL)
    return apply_quantizer (self, output_quantizer, output, "Output", 0, error);

  return g_steal_pointer (&output);
}

/**
 * peftq_module_forward_one:
 * @self: a module
 * @context: (nullable): the forward context, or `NULL` for default positions and no
 *   mask
 * @input: the input tensor
 * @error: return location for a #GError
 *
 * Runs @self on one input, as [method@Peftq.Module.forward] does.
 *
 * Returns: (transfer full): the output tensor, or `NULL` on error
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_module_forward_one (PeftqModule          *self,
                          PeftqForwardContext  *context,
                          PeftqTensor          *input,
                          GError              **error)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (input), NULL);

  return peftq_module_forward (self, context, &input, 1, error);
}

/* Helpers of the leaf modules. */

char *
peftq_module_dup_description (PeftqModule *self)
{
  g_autofree char *qualified = peftq_module_dup_qualified_name (self);

  if (*qualified == '\0')
    return g_strdup_printf ("root module (%s)", peftq_module_get_type_name (self));

  return g_strdup_printf ("module “%s” (%s)", qualified, peftq_module_get_type_name (self));
}

PeftqTensor *
peftq_tensor_ensure_f32 (PeftqTensor  *tensor,
                         const char   *what,
                         GError      **error)
{
  PeftqDType dtype = peftq_tensor_get_dtype (tensor);
  gconstpointer data = peftq_tensor_peek_data (tensor);
  PeftqTensor *copy;
  guint rank;
  const gint64 *shape;

  if (!peftq_dtype_is_float (dtype))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_DTYPE_MISMATCH,
                   "%s must have a floating-point dtype, not %s",
                   what, peftq_dtype_to_string (dtype));
      return NULL;
    }

  if (dtype != PEFTQ_DTYPE_F32)
    return peftq_tensor_to_float32 (tensor, error);

  if (((guintptr) data % G_ALIGNOF (float)) == 0)
    return g_object_ref (tensor);

  /* Safetensors data can start at any byte offset: copy it to aligned storage. */
  shape = peftq_tensor_get_shape (tensor, &rank);
  copy = peftq_tensor_new_f32 (shape, rank);
  memcpy (peftq_tensor_get_mutable_data (copy), data, peftq_tensor_get_n_bytes (tensor));
  return copy;
}

gboolean
peftq_module_check_n_inputs (PeftqModule  *self,
                             guint         n_inputs,
                             guint         expected,
                             GError      **error)
{
  g_autofree char *description = NULL;

  if (n_inputs == expected)
    return TRUE;

  description = peftq_module_dup_description (self);
  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
               "The %s takes %u input%s, but %u were given",
               description, expected, expected == 1 ? "" : "s", n_inputs);
  return FALSE;
}

void
peftq_module_set_shape_error (PeftqModule  *self,
                              GError      **error,
                              const char   *what,
                              PeftqTensor  *actual,
                              const char   *expected)
{
  g_autofree char *description = peftq_module_dup_description (self);
  g_autofree char *actual_shape = peftq_tensor_format_shape (actual);

  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
               "The %s got %s of shape %s, expected %s",
               description, what, actual_shape, expected);
}

PeftqTensor *
peftq_tensor_new_output (const gint64  *shape,
                         guint          rank,
                         float        **data)
{
  g_autoptr(GBytes) bytes = NULL;
  gsize n = 1;
  float *buffer;
  PeftqTensor *tensor;

  for (guint axis = 0; axis < rank; axis++)
    n *= (gsize) shape[axis];

  buffer = peftq_buffer_pool_alloc (n * sizeof (float));
  bytes = g_bytes_new_with_free_func (buffer, n * sizeof (float), peftq_buffer_pool_free, buffer);
  tensor = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_F32, shape, rank, bytes, NULL);
  g_assert (tensor != NULL);

  *data = buffer;
  return tensor;
}

char *
peftq_format_shape (const gint64 *shape,
                    guint         rank)
{
  GString *text = g_string_new ("[");

  for (guint axis = 0; axis < rank; axis++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, axis > 0 ? ", " : "", shape[axis]);
  g_string_append_c (text, ']');

  return g_string_free (text, FALSE);
}
