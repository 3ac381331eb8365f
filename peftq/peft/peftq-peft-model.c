/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-peft-model.h"
#include "peftq-adapter-private.h"
#include "peftq-error.h"
#include "peftq-lora-layer.h"
#include "peftq-lora-private.h"
#include "peftq-module-private.h"
#include "peftq-peft-lora-layer-private.h"
#include "peftq-safetensors.h"
#include "peftq-tensor-private.h"

#include <math.h>
#include <string.h>

/**
 * PeftqPeftModel:
 *
 * The root of a model that carries PEFT LoRA adapters, laid out as PEFT's `PeftModel`.
 * The original model is the child `model` of the child `base_model`, so every module
 * name gains the prefix `base_model.model.`, as in PEFT's state dicts and AIMET's
 * encodings.
 *
 * [method@Peftq.PeftModel.load_adapter] reads an adapter folder as PEFT's
 * `get_peft_model` plus `load_adapter` would: every module selected by the config's
 * `target_modules` (Linear, Conv1D or Conv2d) becomes a [class@Peftq.PeftLoraLayer],
 * and the adapter's tensors are loaded into its `lora_A.<adapter>` and
 * `lora_B.<adapter>` modules. Several adapters can live on one model. The first one is
 * active, later ones are inactive until [method@Peftq.PeftModel.set_active_adapters]
 * or [method@Peftq.Adapter.set_active] enables them.
 *
 * The forward pass is the original model's forward pass.
 *
 * Since: 1.0
 */

struct _PeftqPeftModel
{
  PeftqModule parent_instance;

  PeftqModule *model;       /* base_model.model, owned as a descendant */
  GPtrArray *adapters;      /* PeftqAdapter, load order */
};

G_DEFINE_FINAL_TYPE (PeftqPeftModel, peftq_peft_model, PEFTQ_TYPE_MODULE)

/* PEFT's LoraModel: the child `base_model`, which runs its child `model`. */
#define PEFTQ_TYPE_LORA_MODEL (peftq_lora_model_get_type ())
G_DECLARE_FINAL_TYPE (PeftqLoraModel, peftq_lora_model, PEFTQ, LORA_MODEL, PeftqModule)

struct _PeftqLoraModel
{
  PeftqModule parent_instance;
};

G_DEFINE_FINAL_TYPE (PeftqLoraModel, peftq_lora_model, PEFTQ_TYPE_MODULE)

static PeftqTensor *
peftq_lora_model_forward (PeftqModule          *module,
                          PeftqForwardContext  *context,
                          PeftqTensor         **inputs,
                          guint                 n_inputs,
                          GError              **error)
{
  return peftq_module_forward (peftq_module_get_child (module, "model"), context, inputs,
                               n_inputs, error);
}

static const char *
peftq_lora_model_get_type_name (PeftqModule *module)
{
  return "LoraModel";
}

static void
peftq_lora_model_class_init (PeftqLoraModelClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_lora_model_forward;
  module_class->get_type_name = peftq_lora_model_get_type_name;
}

static void
peftq_lora_model_init (PeftqLoraModel *self)
{
}

static PeftqTensor *
peftq_peft_model_forward (PeftqModule          *module,
                          PeftqForwardContext  *context,
                          PeftqTensor         **inputs,
                          guint                 n_inputs,
                          GError              **error)
{
  return peftq_module_forward (peftq_module_get_child (module, "base_model"), context, inputs,
                               n_inputs, error);
}

static const char *
peftq_peft_model_get_type_name (PeftqModule *module)
{
  return "PeftModel";
}

static void
peftq_peft_model_finalize (GObject *object)
{
  PeftqPeftModel *self = PEFTQ_PEFT_MODEL (object);

  g_ptr_array_unref (self->adapters);

  G_OBJECT_CLASS (peftq_peft_model_parent_class)->finalize (object);
}

static void
peftq_peft_model_class_init (PeftqPeftModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  object_class->finalize = peftq_peft_model_finalize;
  module_class->forward = peftq_peft_model_forward;
  module_class->get_type_name = peftq_peft_model_get_type_name;
}

static void
peftq_peft_model_init (PeftqPeftModel *self)
{
  self->adapters = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * peftq_peft_model_new:
 * @model: the root of a model, without a parent
 *
 * Wraps a model as PEFT's `PeftModel` does, without adding any adapter. @model
 * becomes the module `base_model.model`.
 *
 * Returns: (transfer full): the wrapped model
 *
 * Since: 1.0
 */
PeftqPeftModel *
peftq_peft_model_new (PeftqModule *model)
{
  PeftqPeftModel *self;
  g_autoptr(PeftqModule) lora_model = NULL;

  g_return_val_if_fail (PEFTQ_IS_MODULE (model), NULL);
  g_return_val_if_fail (peftq_module_get_parent (model) == NULL, NULL);

  self = g_object_new (PEFTQ_TYPE_PEFT_MODEL, NULL);
  lora_model = g_object_new (PEFTQ_TYPE_LORA_MODEL, NULL);
  peftq_module_add_child (lora_model, "model", model);
  peftq_module_add_child (PEFTQ_MODULE (self), "base_model", lora_model);
  self->model = model;
  return self;
}

/**
 * peftq_peft_model_get_model:
 * @self: a PEFT model
 *
 * Gets the wrapped model, the module `base_model.model`.
 *
 * Returns: (transfer none): the model
 *
 * Since: 1.0
 */
PeftqModule *
peftq_peft_model_get_model (PeftqPeftModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_MODEL (self), NULL);
  return self->model;
}

/**
 * peftq_peft_model_get_n_adapters:
 * @self: a PEFT model
 *
 * Counts the adapters loaded onto the model.
 *
 * Returns: the number of adapters
 *
 * Since: 1.0
 */
guint
peftq_peft_model_get_n_adapters (PeftqPeftModel *self)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_MODEL (self), 0);
  return self->adapters->len;
}

/**
 * peftq_peft_model_get_adapter:
 * @self: a PEFT model
 * @adapter_name: an adapter name
 *
 * Looks up an adapter by name.
 *
 * Returns: (transfer none) (nullable): the adapter, or `NULL` if none has that name
 *
 * Since: 1.0
 */
PeftqAdapter *
peftq_peft_model_get_adapter (PeftqPeftModel *self,
                              const char     *adapter_name)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_MODEL (self), NULL);
  g_return_val_if_fail (adapter_name != NULL, NULL);

  for (guint i = 0; i < self->adapters->len; i++)
    {
      PeftqAdapter *adapter = g_ptr_array_index (self->adapters, i);

      if (g_strcmp0 (peftq_adapter_get_name (adapter), adapter_name) == 0)
        return adapter;
    }
  return NULL;
}

/**
 * peftq_peft_model_list_adapters:
 * @self: a PEFT model
 *
 * Lists the adapters in load order.
 *
 * Returns: (transfer container) (element-type PeftqAdapter): the adapters
 *
 * Since: 1.0
 */
GPtrArray *
peftq_peft_model_list_adapters (PeftqPeftModel *self)
{
  GPtrArray *list;

  g_return_val_if_fail (PEFTQ_IS_PEFT_MODEL (self), NULL);

  list = g_ptr_array_new_full (self->adapters->len, g_object_unref);
  for (guint i = 0; i < self->adapters->len; i++)
    g_ptr_array_add (list, g_object_ref (g_ptr_array_index (self->adapters, i)));
  return list;
}

/**
 * peftq_peft_model_set_active_adapters:
 * @self: a PEFT model
 * @adapter_names: (array zero-terminated=1): the adapters to activate
 * @error: return location for a #GError
 *
 * Makes exactly the named adapters active, as PEFT's `set_adapter` does for a list.
 * Nothing changes when a name is unknown.
 *
 * Returns: `TRUE` on success, `FALSE` with %PEFTQ_ERROR_NOT_FOUND if an adapter does not
 *   exist
 *
 * Since: 1.0
 */
gboolean
peftq_peft_model_set_active_adapters (PeftqPeftModel     *self,
                                      const char *const  *adapter_names,
                                      GError            **error)
{
  g_return_val_if_fail (PEFTQ_IS_PEFT_MODEL (self), FALSE);
  g_return_val_if_fail (adapter_names != NULL, FALSE);

  for (guint i = 0; adapter_names[i] != NULL; i++)
    if (peftq_peft_model_get_adapter (self, adapter_names[i]) == NULL)
      {
        g_autoptr(GString) known = g_string_new (NULL);

        for (guint j = 0; j < self->adapters->len; j++)
          g_string_append_printf (known, "%s“%s”", j > 0 ? ", " : "",
                                  peftq_adapter_get_name (g_ptr_array_index (self->adapters, j)));
        g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                     "No adapter named “%s” is loaded (loaded: %s)", adapter_names[i],
                     known->len > 0 ? known->str : "none");
        return FALSE;
      }

  for (guint i = 0; i < self->adapters->len; i++)
    {
      PeftqAdapter *adapter = g_ptr_array_index (self->adapters, i);

      peftq_adapter_set_active (adapter, g_strv_contains (adapter_names,
                                                          peftq_adapter_get_name (adapter)));
    }
  return TRUE;
}

/* Loading ---------------------------------------------------------------------- */

typedef struct
{
  char *path;                /* relative to the wrapped model */
  char *full_name;           /* with base_model.model. */
  PeftqModule *module;       /* the base module, or an existing PEFT LoRA layer */
  PeftqLoraBaseShape shape;
  guint expected_rank;
  double alpha;
  double scaling;
  PeftqTensor *lora_a;
  PeftqTensor *lora_b;
  const char *key_a;         /* owned by the key list */
  const char *key_b;
} Target;

typedef struct
{
  PeftqModule *module;
  char *parameter;
  PeftqTensor *tensor;
  char *module_name;
} SavedParameter;

typedef struct
{
  PeftqPeftModel *self;
  const char *source;        /* path for messages */
  const char *adapter_name;
  PeftqLoraConfig *config;
  GPtrArray *module_names;   /* char *, relative, named_modules() order */
  GPtrArray *modules;        /* PeftqModule */
  GHashTable *module_by_path;
  GPtrArray *targets;        /* Target, model order */
  GHashTable *target_by_path;
  GPtrArray *saved;          /* SavedParameter */
  GString *problems;
  guint n_problems;
  int first_code;
} LoadPlan;

static void
target_free (gpointer data)
{
  Target *target = data;

  g_free (target->path);
  g_free (target->full_name);
  g_clear_object (&target->lora_a);
  g_clear_object (&target->lora_b);
  g_free (target);
}

static void
saved_parameter_free (gpointer data)
{
  SavedParameter *saved = data;

  g_free (saved->parameter);
  g_free (saved->module_name);
  g_clear_object (&saved->tensor);
  g_free (saved);
}

static void
load_plan_clear (LoadPlan *plan)
{
  g_clear_pointer (&plan->module_names, g_ptr_array_unref);
  g_clear_pointer (&plan->modules, g_ptr_array_unref);
  g_clear_pointer (&plan->module_by_path, g_hash_table_unref);
  g_clear_pointer (&plan->targets, g_ptr_array_unref);
  g_clear_pointer (&plan->target_by_path, g_hash_table_unref);
  g_clear_pointer (&plan->saved, g_ptr_array_unref);
  if (plan->problems != NULL)
    g_string_free (plan->problems, TRUE);
  plan->problems = NULL;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LoadPlan, load_plan_clear)

/* The maximum number of problems listed in one error message; the rest are counted. */
#define MAX_LISTED_PROBLEMS 12

static void
add_problem (LoadPlan   *plan,
             int         code,
             const char *format,
             ...) G_GNUC_PRINTF (3, 4);

static void
add_problem (LoadPlan   *plan,
             int         code,
             const char *format,
             ...)
{
  va_list args;

  if (plan->n_problems == 0)
    plan->first_code = code;
  plan->n_problems++;
  if (plan->n_problems > MAX_LISTED_PROBLEMS)
    return;

  g_string_append (plan->problems, "\n  - ");
  va_start (args, format);
  g_string_append_vprintf (plan->problems, format, args);
  va_end (args);
}

/* Levenshtein distance, for suggesting the module a wrong key probably meant. */
static gsize
edit_distance (const char *a,
               const char *b)
{
  gsize la = strlen (a);
  gsize lb = strlen (b);
  g_autofree gsize *previous = g_new (gsize, lb + 1);
  g_autofree gsize *current = g_new (gsize, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    previous[j] = j;
  for (gsize i = 1; i <= la; i++)
    {
      gsize *swap;

      current[0] = i;
      for (gsize j = 1; j <= lb; j++)
        {
          gsize substitution = previous[j - 1] + (a[i - 1] != b[j - 1]);
          gsize deletion = previous[j] + 1;
          gsize insertion = current[j - 1] + 1;

          current[j] = MIN (substitution, MIN (deletion, insertion));
        }
      swap = previous;
      previous = current;
      current = swap;
    }
  return previous[lb];
}

/* Finds the full name of the module closest to @wanted, preferring modules that can
 * take LoRA when @lora_capable. */
static char *
find_nearest_module (LoadPlan   *plan,
                     const char *wanted,
                     gboolean    lora_capable)
{
  const char *best = NULL;
  gsize best_distance = G_MAXSIZE;

  for (guint i = 0; i < plan->module_names->len; i++)
    {
      const char *name = g_ptr_array_index (plan->module_names, i);
      PeftqModule *module = g_ptr_array_index (plan->modules, i);
      g_autofree char *full = NULL;
      gsize distance;

      if (*name == '\0')
        continue;
      if (lora_capable && peftq_lora_base_kind (module) == PEFTQ_LORA_BASE_NONE &&
          !PEFTQ_IS_PEFT_LORA_LAYER (module))
        continue;

      full = g_strconcat (PEFTQ_PEFT_MODEL_PREFIX, name, NULL);
      distance = edit_distance (wanted, full);
      if (distance < best_distance)
        {
          best_distance = distance;
          best = name;
        }
    }

  return best != NULL ? g_strconcat (PEFTQ_PEFT_MODEL_PREFIX, best, NULL) : g_strdup ("(none)");
}

static gboolean
is_inside (const char *name,
           const char *ancestor)
{
  gsize length = strlen (ancestor);

  return strncmp (name, ancestor, length) == 0 && name[length] == '.';
}

static gboolean
collect_modules (LoadPlan *plan)
{
  g_autoptr(GPtrArray) modules = peftq_module_list_modules (plan->self->model);
  g_auto(GStrv) names = peftq_module_list_module_names (plan->self->model);

  plan->module_names = g_ptr_array_new_with_free_func (g_free);
  plan->modules = g_ptr_array_new_with_free_func (g_object_unref);
  plan->module_by_path = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < modules->len && names[i] != NULL; i++)
    {
      char *name = g_strdup (names[i]);

      g_ptr_array_add (plan->module_names, name);
      g_ptr_array_add (plan->modules, g_object_ref (g_ptr_array_index (modules, i)));
      g_hash_table_insert (plan->module_by_path, name, g_ptr_array_index (modules, i));
    }
  return TRUE;
}

/* Decides the targets in model order, as PEFT's inject_adapter does. */
static void
find_targets (LoadPlan *plan)
{
  gboolean all_linear = g_strcmp0 (peftq_lora_config_get_target_modules_regex (plan->config),
                                   "all-linear") == 0;
  const char *lora_layer_name = NULL;

  plan->targets = g_ptr_array_new_with_free_func (target_free);
  plan->target_by_path = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < plan->module_names->len; i++)
    {
      const char *name = g_ptr_array_index (plan->module_names, i);
      PeftqModule *module = g_ptr_array_index (plan->modules, i);
      PeftqLoraBaseKind kind;
      Target *target;

      if (*name == '\0')
        continue;
      /* Modules inside a LoRA layer (its base_layer, lora_A, ...) are never targets. */
      if (lora_layer_name != NULL && is_inside (name, lora_layer_name))
        continue;
      lora_layer_name = NULL;
      if (PEFTQ_IS_PEFT_LORA_LAYER (module) || PEFTQ_IS_LORA_LAYER (module))
        lora_layer_name = name;

      if (!peftq_lora_config_is_target (plan->config, name))
        continue;

      if (PEFTQ_IS_LORA_LAYER (module))
        {
          add_problem (plan, PEFTQ_ERROR_UNSUPPORTED,
                       "module “%s%s” was already replaced by a quantizable LoRA layer; load "
                       "every adapter before replace_lora_layers_with_quantizable_layers",
                       PEFTQ_PEFT_MODEL_PREFIX, name);
          continue;
        }

      kind = PEFTQ_IS_PEFT_LORA_LAYER (module)
               ? peftq_peft_lora_layer_get_base_shape (PEFTQ_PEFT_LORA_LAYER (module))->kind
               : peftq_lora_base_kind (module);

      if (all_linear)
        {
          const char *last = strrchr (name, '.');

          /* PEFT's "all-linear" takes Linear and Conv1D layers except the output layer. */
          if (kind != PEFTQ_LORA_BASE_LINEAR && kind != PEFTQ_LORA_BASE_CONV1D)
            continue;
          if (g_strcmp0 (last != NULL ? last + 1 : name, "lm_head") == 0)
            continue;
        }

      if (kind == PEFTQ_LORA_BASE_NONE)
        {
          add_problem (plan, PEFTQ_ERROR_UNSUPPORTED,
                       "target module “%s%s” is a %s; LoRA layers wrap only Linear, Conv1D and "
                       "Conv2d modules", PEFTQ_PEFT_MODEL_PREFIX, name,
                       peftq_module_get_type_name (module));
          continue;
        }

      if (PEFTQ_IS_PEFT_LORA_LAYER (module) &&
          peftq_peft_lora_layer_find_adapter (PEFTQ_PEFT_LORA_LAYER (module), plan->adapter_name) >= 0)
        {
          add_problem (plan, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "module “%s%s” already has an adapter named “%s”",
                       PEFTQ_PEFT_MODEL_PREFIX, name, plan->adapter_name);
          continue;
        }

      target = g_new0 (Target, 1);
      target->path = g_strdup (name);
      target->full_name = g_strconcat (PEFTQ_PEFT_MODEL_PREFIX, name, NULL);
      target->module = module;
      if (PEFTQ_IS_PEFT_LORA_LAYER (module))
        target->shape = *peftq_peft_lora_layer_get_base_shape (PEFTQ_PEFT_LORA_LAYER (module));
      else
        {
          g_autoptr(GError) shape_error = NULL;

          if (!peftq_lora_base_get_shape (module, &target->shape, &shape_error))
            {
              add_problem (plan, shape_error->code, "%s", shape_error->message);
              target_free (target);
              continue;
            }
        }
      peftq_lora_config_get_rank_and_alpha (plan->config, name, &target->expected_rank,
                                            &target->alpha);
      target->scaling = peftq_lora_compute_scaling (target->alpha, target->expected_rank,
                                                    peftq_lora_config_get_use_rslora (plan->config));
      g_ptr_array_add (plan->targets, target);
      g_hash_table_insert (plan->target_by_path, target->path, target);
    }
}

static gboolean
is_under_module_to_save (LoadPlan   *plan,
                         const char *path)
{
  g_autofree char *prefix = g_strdup (path);

  /* The key may name a parameter of the saved module or of one of its descendants. */
  while (TRUE)
    {
      char *dot;

      if (peftq_lora_config_is_module_to_save (plan->config, prefix))
        return TRUE;
      dot = strrchr (prefix, '.');
      if (dot == NULL)
        return FALSE;
      *dot = '\0';
    }
}

static void
plan_module_parameter (LoadPlan    *plan,
                       const char  *key,
                       const char  *path,
                       const char  *parameter,
                       PeftqTensor *tensor)
{
  PeftqModule *module = g_hash_table_lookup (plan->module_by_path, path);
  PeftqTensor *current;
  SavedParameter *saved;

  if (module == NULL || !is_under_module_to_save (plan, path))
    {
      g_autofree char *nearest = find_nearest_module (plan, key, FALSE);

      if (module == NULL)
        add_problem (plan, PEFTQ_ERROR_NOT_FOUND,
                     "tensor “%s” names module “%s%s”, which the model does not have "
                     "(nearest module: %s)", key, PEFTQ_PEFT_MODEL_PREFIX, path, nearest);
      else
        add_problem (plan, PEFTQ_ERROR_INVALID_DATA,
                     "tensor “%s” is neither a LoRA weight (.lora_A.weight, .lora_B.weight) "
                     "nor a parameter of a module listed in modules_to_save", key);
      return;
    }

  if (!peftq_module_has_parameter (module, parameter))
    {
      add_problem (plan, PEFTQ_ERROR_NOT_FOUND,
                   "tensor “%s” names parameter “%s” of module “%s%s” (%s), which has no such "
                   "parameter", key, parameter, PEFTQ_PEFT_MODEL_PREFIX, path,
                   peftq_module_get_type_name (module));
      return;
    }

  current = peftq_module_get_parameter (module, parameter);
  if (current != NULL)
    {
      guint rank_a, rank_b;
      const gint64 *shape_a = peftq_tensor_get_shape (current, &rank_a);
      const gint64 *shape_b = peftq_tensor_get_shape (tensor, &rank_b);

      if (rank_a != rank_b || memcmp (shape_a, shape_b, rank_a * sizeof (gint64)) != 0)
        {
          g_autofree char *expected = peftq_tensor_format_shape (current);
          g_autofree char *actual = peftq_tensor_format_shape (tensor);

          add_problem (plan, PEFTQ_ERROR_SHAPE_MISMATCH,
                       "tensor “%s” has shape %s, but the model's parameter has shape %s",
                       key, actual, expected);
          return;
        }
    }

  if (!peftq_dtype_is_float (peftq_tensor_get_dtype (tensor)))
    {
      add_problem (plan, PEFTQ_ERROR_DTYPE_MISMATCH, "tensor “%s” has dtype %s, not a float type",
                   key, peftq_dtype_to_string (peftq_tensor_get_dtype (tensor)));
      return;
    }

  saved = g_new0 (SavedParameter, 1);
  saved->module = module;
  saved->parameter = g_strdup (parameter);
  saved->tensor = g_object_ref (tensor);
  saved->module_name = g_strconcat (PEFTQ_PEFT_MODEL_PREFIX, path, NULL);
  g_ptr_array_add (plan->saved, saved);
}

static void
plan_key (LoadPlan    *plan,
          const char  *key,
          PeftqTensor *tensor)
{
  g_autofree char *path = NULL;
  g_autofree char *parameter = NULL;
  PeftqAdapterKeyKind kind = peftq_adapter_parse_key (key, &path, &parameter);
  Target *target;

  switch (kind)
    {
    case PEFTQ_ADAPTER_KEY_KIND_NO_PREFIX:
      {
        g_autofree char *nearest = find_nearest_module (plan, key, TRUE);

        add_problem (plan, PEFTQ_ERROR_NOT_FOUND,
                     "tensor “%s” does not start with “%s”, so it matches no module "
                     "(nearest module: %s)", key, PEFTQ_PEFT_MODEL_PREFIX, nearest);
      }
      return;

    case PEFTQ_ADAPTER_KEY_KIND_LORA_BIAS:
      add_problem (plan, PEFTQ_ERROR_UNSUPPORTED,
                   "tensor “%s” is a LoRA bias (lora_bias), which peftq does not implement", key);
      return;

    case PEFTQ_ADAPTER_KEY_KIND_LORA_EMBEDDING:
      add_problem (plan, PEFTQ_ERROR_UNSUPPORTED,
                   "tensor “%s” is a LoRA embedding weight, which peftq does not implement", key);
      return;

    case PEFTQ_ADAPTER_KEY_KIND_LORA_MAGNITUDE:
      add_problem (plan, PEFTQ_ERROR_UNSUPPORTED,
                   "tensor “%s” is a DoRA magnitude vector, which peftq does not implement", key);
      return;

    case PEFTQ_ADAPTER_KEY_KIND_INDEXED:
      add_problem (plan, PEFTQ_ERROR_INVALID_DATA,
                   "tensor “%s” carries an adapter name or index after lora_A/lora_B, as in a "
                   "model's own parameter names; PEFT adapter files store “<module>.lora_A.weight”, "
                   "and AIMET-style files load with peftq_load_lora_weights()", key);
      return;

    case PEFTQ_ADAPTER_KEY_KIND_MODULE_PARAMETER:
      plan_module_parameter (plan, key, path, parameter, tensor);
      return;

    case PEFTQ_ADAPTER_KEY_KIND_LORA_A:
    case PEFTQ_ADAPTER_KEY_KIND_LORA_B:
    default:
      break;
    }

  target = g_hash_table_lookup (plan->target_by_path, path);
  if (target == NULL)
    {
      PeftqModule *module = g_hash_table_lookup (plan->module_by_path, path);
      g_autofree char *full_path = g_strconcat (PEFTQ_PEFT_MODEL_PREFIX, path, NULL);
      g_autofree char *nearest = find_nearest_module (plan, full_path, TRUE);

      if (module == NULL)
        add_problem (plan, PEFTQ_ERROR_NOT_FOUND,
                     "tensor “%s” is for module “%s”, which the model does not have "
                     "(nearest module: %s)", key, full_path, nearest);
      else
        add_problem (plan, PEFTQ_ERROR_INVALID_DATA,
                     "tensor “%s” is for module “%s” (%s), which target_modules does not select",
                     key, full_path, peftq_module_get_type_name (module));
      return;
    }

  if (kind == PEFTQ_ADAPTER_KEY_KIND_LORA_A)
    {
      g_set_object (&target->lora_a, tensor);
      target->key_a = key;
    }
  else
    {
      g_set_object (&target->lora_b, tensor);
      target->key_b = key;
    }
}

/* Checks that every target got both weights of the right shapes and rank. */
static void
check_targets (LoadPlan *plan)
{
  guint n_without_weights = 0;
  g_autoptr(GString) without_weights = g_string_new (NULL);

  for (guint i = 0; i < plan->targets->len; i++)
    {
      Target *target = g_ptr_array_index (plan->targets, i);
      g_autoptr(GError) shape_error = NULL;
      guint rank;

      if (target->lora_a == NULL && target->lora_b == NULL)
        {
          if (n_without_weights < 5)
            g_string_append_printf (without_weights, "%s“%s”", n_without_weights > 0 ? ", " : "",
                                    target->full_name);
          n_without_weights++;
          continue;
        }
      if (target->lora_b == NULL)
        {
          add_problem (plan, PEFTQ_ERROR_NOT_FOUND,
                       "tensor “%s” has no matching “%s.lora_B.weight”", target->key_a,
                       target->full_name);
          continue;
        }
      if (target->lora_a == NULL)
        {
          add_problem (plan, PEFTQ_ERROR_NOT_FOUND,
                       "tensor “%s” has no matching “%s.lora_A.weight”", target->key_b,
                       target->full_name);
          continue;
        }

      if (!peftq_lora_check_weights (&target->shape, target->full_name, target->lora_a,
                                     target->lora_b, &rank, &shape_error))
        {
          add_problem (plan, shape_error->code, "%s", shape_error->message);
          continue;
        }
      if (rank != target->expected_rank)
        add_problem (plan, PEFTQ_ERROR_SHAPE_MISMATCH,
                     "LoRA weights of “%s” have rank %u, but the config gives rank %u for this "
                     "module (r and rank_pattern)", target->full_name, rank, target->expected_rank);
    }

  if (n_without_weights > 0)
    add_problem (plan, PEFTQ_ERROR_NOT_FOUND,
                 "%u of %u modules selected by target_modules have no weights in the file, "
                 "among them %s", n_without_weights, plan->targets->len, without_weights->str);
}

static gboolean
finish_plan (LoadPlan  *plan,
             GError   **error)
{
  if (plan->n_problems == 0)
    return TRUE;

  if (plan->n_problems > MAX_LISTED_PROBLEMS)
    g_string_append_printf (plan->problems, "\n  - and %u more problems",
                            plan->n_problems - MAX_LISTED_PROBLEMS);
  g_set_error (error, PEFTQ_ERROR, plan->first_code,
               "%s: cannot load adapter “%s”, nothing was changed:%s", plan->source,
               plan->adapter_name, plan->problems->str);
  return FALSE;
}

/* Applies a validated plan. None of these steps can fail on a valid plan, because
 * every shape, name and parameter was checked before. */
static PeftqAdapter *
apply_plan (LoadPlan *plan,
            GError  **error)
{
  g_autoptr(PeftqAdapter) adapter = peftq_adapter_new (plan->adapter_name, plan->config,
                                                       plan->source);

  for (guint i = 0; i < plan->targets->len; i++)
    {
      Target *target = g_ptr_array_index (plan->targets, i);
      g_autoptr(PeftqModule) lora_a = NULL;
      g_autoptr(PeftqModule) lora_b = NULL;
      PeftqPeftLoraLayer *layer;

      lora_a = peftq_lora_new_projection (&target->shape, FALSE, target->lora_a, error);
      if (lora_a == NULL)
        return NULL;
      lora_b = peftq_lora_new_projection (&target->shape, TRUE, target->lora_b, error);
      if (lora_b == NULL)
        return NULL;

      if (PEFTQ_IS_PEFT_LORA_LAYER (target->module))
        layer = PEFTQ_PEFT_LORA_LAYER (target->module);
      else
        {
          g_autoptr(PeftqModule) base = g_object_ref (target->module);
          g_autoptr(PeftqPeftLoraLayer) new_layer = peftq_peft_lora_layer_new (&target->shape);
          PeftqModule *parent = peftq_module_get_parent (base);
          const char *dot = strrchr (target->path, '.');
          const char *local_name = dot != NULL ? dot + 1 : target->path;

          if (!peftq_module_replace_child (parent, local_name, PEFTQ_MODULE (new_layer), error))
            return NULL;
          peftq_peft_lora_layer_attach_base (new_layer, base);
          layer = new_layer;
        }

      peftq_peft_lora_layer_add_adapter (layer, adapter, target->expected_rank, target->alpha,
                                         target->scaling, lora_a, lora_b);
      peftq_adapter_add_layer (adapter, target->full_name, target->expected_rank, target->alpha,
                               target->scaling, target->lora_a, target->lora_b);
    }

  for (guint i = 0; i < plan->saved->len; i++)
    {
      SavedParameter *saved = g_ptr_array_index (plan->saved, i);
      gboolean seen = FALSE;

      if (!peftq_module_set_parameter (saved->module, saved->parameter, saved->tensor, error))
        return NULL;
      for (guint j = 0; j < i; j++)
        if (g_strcmp0 (((SavedParameter *) g_ptr_array_index (plan->saved, j))->module_name,
                       saved->module_name) == 0)
          seen = TRUE;
      if (!seen)
        peftq_adapter_add_saved_module (adapter, saved->module_name);
    }

  return g_steal_pointer (&adapter);
}

static gboolean
check_adapter_name (PeftqPeftModel  *self,
                    const char      *adapter_name,
                    GError         **error)
{
  if (*adapter_name == '\0' || strchr (adapter_name, '.') != NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Adapter name “%s” is invalid: it becomes a module name, so it must be "
                   "non-empty and contain no dot", adapter_name);
      return FALSE;
    }
  if (peftq_peft_model_get_adapter (self, adapter_name) != NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "An adapter named “%s” is already loaded", adapter_name);
      return FALSE;
    }
  return TRUE;
}

static void
load_plan_init (LoadPlan        *plan,
                PeftqPeftModel  *self,
                const char      *source,
                const char      *adapter_name,
                PeftqLoraConfig *config)
{
  memset (plan, 0, sizeof *plan);
  plan->self = self;
  plan->source = source;
  plan->adapter_name = adapter_name;
  plan->config = config;
  plan->saved = g_ptr_array_new_with_free_func (saved_parameter_free);
  plan->problems = g_string_new (NULL);
  collect_modules (plan);
  find_targets (plan);
}

static PeftqAdapter *
register_adapter (PeftqPeftModel *self,
                  PeftqAdapter   *adapter)
{
  /* PEFT keeps the first adapter active and does not activate later ones. */
  g_ptr_array_add (self->adapters, g_object_ref (adapter));
  peftq_adapter_set_active (adapter, self->adapters->len == 1);
  return adapter;
}

/**
 * peftq_peft_model_load_adapter:
 * @self: a PEFT model
 * @path: (type filename): a PEFT adapter folder, holding `adapter_config.json` and
 *   `adapter_model.safetensors`
 * @adapter_name: (nullable): the adapter name, or `NULL` for `default`
 * @error: return location for a #GError
 *
 * Loads a PEFT LoRA adapter onto the model, as PEFT's `get_peft_model` plus
 * `load_adapter` would.
 *
 * The config is read and validated first, so an adapter with an unsupported feature is
 * rejected before its weights are opened. Then every module selected by the config
 * (see [method@Peftq.LoraConfig.is_target]) becomes a [class@Peftq.PeftLoraLayer], or
 * gains the adapter if it already is one.
 *
 * File keys are matched exactly: `base_model.model.<module>.lora_A.weight` and
 * `...lora_B.weight` go to the LoRA layer `<module>`, and other keys must name a
 * parameter of a module in `modules_to_save`, whose value they replace. The rank is
 * read from the tensor shapes and must equal the config's rank for that module.
 *
 * Loading is all or nothing. The load fails when any key matches no module, a target
 * has no weights, a lora_A has no lora_B, a shape or rank does not fit, or a key is
 * another kind of PEFT tensor (DoRA, embedding LoRA, LoRA bias). The error then lists
 * the problems with the nearest module names, and the model is left unchanged.
 *
 * The first adapter of a model is active; later adapters start inactive.
 *
 * Returns: (transfer none): the loaded adapter, owned by the model, or `NULL` with
 *   @error set
 *
 * Since: 1.0
 */
PeftqAdapter *
peftq_peft_model_load_adapter (PeftqPeftModel  *self,
                               const char      *path,
                               const char      *adapter_name,
                               GError         **error)
{
  g_autofree char *config_path = NULL;
  g_autofree char *weights_path = NULL;
  g_autoptr(PeftqLoraConfig) config = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_auto(GStrv) keys = NULL;
  g_auto(LoadPlan) plan = { 0 };
  g_autoptr(PeftqAdapter) adapter = NULL;

  g_return_val_if_fail (PEFTQ_IS_PEFT_MODEL (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (adapter_name == NULL)
    adapter_name = PEFTQ_DEFAULT_ADAPTER_NAME;
  if (!check_adapter_name (self, adapter_name, error))
    return NULL;

  config_path = g_build_filename (path, "adapter_config.json", NULL);
  config = peftq_lora_config_new_from_file (config_path, error);
  if (config == NULL)
    return NULL;

  weights_path = g_build_filename (path, "adapter_model.safetensors", NULL);
  if (!g_file_test (weights_path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *bin_path = g_build_filename (path, "adapter_model.bin", NULL);

      if (g_file_test (bin_path, G_FILE_TEST_EXISTS))
        g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                     "%s: only adapter_model.bin (a Python pickle) is present; peftq reads "
                     "adapter_model.safetensors, so save the adapter with safe_serialization",
                     path);
      else
        g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                     "%s: adapter_model.safetensors is missing", path);
      return NULL;
    }

  file = peftq_safetensors_file_open (weights_path, error);
  if (file == NULL)
    return NULL;

  load_plan_init (&plan, self, weights_path, adapter_name, config);
  keys = peftq_safetensors_file_get_tensor_names (file);
  if (keys[0] == NULL)
    add_problem (&plan, PEFTQ_ERROR_INVALID_DATA, "the file holds no tensors");
  if (plan.targets->len == 0)
    {
      g_autofree char *targets = NULL;

      if (peftq_lora_config_get_target_modules (config) != NULL)
        targets = g_strjoinv (", ", (char **) peftq_lora_config_get_target_modules (config));
      add_problem (&plan, PEFTQ_ERROR_NOT_FOUND,
                   "no module of the model matches target_modules (%s)",
                   targets != NULL ? targets : peftq_lora_config_get_target_modules_regex (config));
    }

  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autoptr(GError) tensor_error = NULL;
      g_autoptr(PeftqTensor) tensor = peftq_safetensors_file_get_tensor (file, keys[i], &tensor_error);

      if (tensor == NULL)
        {
          add_problem (&plan, tensor_error->code, "%s", tensor_error->message);
          continue;
        }
      plan_key (&plan, keys[i], tensor);
    }
  check_targets (&plan);

  if (!finish_plan (&plan, error))
    return NULL;

  adapter = apply_plan (&plan, error);
  if (adapter == NULL)
    return NULL;
  for (guint i = 0; keys[i] != NULL; i++)
    peftq_adapter_add_tensor (adapter, keys[i], peftq_safetensors_file_get_tensor (file, keys[i], NULL));

  g_debug ("Loaded adapter “%s” from %s: %u LoRA layers, %u tensors", adapter_name, path,
           peftq_adapter_get_n_layers (adapter), peftq_adapter_get_n_tensors (adapter));
  return register_adapter (self, adapter);
}

/* Fills a tensor with PyTorch's default Linear initialization, Kaiming-uniform with
 * a = sqrt(5), which is uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)]. */
static PeftqTensor *
new_kaiming_uniform (const gint64 *shape,
                     guint         rank,
                     GRand        *rand)
{
  PeftqTensor *tensor = peftq_tensor_new_f32 (shape, rank);
  float *data = peftq_tensor_get_mutable_data (tensor);
  guint64 n = peftq_tensor_get_n_elements (tensor);
  double fan_in = (double) (n / (guint64) shape[0]);
  double bound = 1.0 / sqrt (fan_in);

  for (guint64 i = 0; i < n; i++)
    data[i] = (float) g_rand_double_range (rand, -bound, bound);
  return tensor;
}

/**
 * peftq_peft_model_add_adapter:
 * @self: a PEFT model
 * @adapter_name: (nullable): the adapter name, or `NULL` for `default`
 * @config: the adapter's configuration
 * @seed: the seed of the random lora_A initialization
 * @error: return location for a #GError
 *
 * Adds a new, untrained adapter, as PEFT's `get_peft_model` and `add_adapter` do with
 * `init_lora_weights=True`: lora_A is uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] (the
 * default initialization of a torch Linear, drawn from GLib's generator seeded with
 * @seed, so the values differ from PyTorch's) and lora_B is zero, so the adapter adds
 * exactly zero until its weights are replaced.
 *
 * Returns: (transfer none): the adapter, owned by the model, or `NULL` with @error set
 *   when no module matches or a target cannot take LoRA
 *
 * Since: 1.0
 */
PeftqAdapter *
peftq_peft_model_add_adapter (PeftqPeftModel   *self,
                              const char       *adapter_name,
                              PeftqLoraConfig  *config,
                              guint32           seed,
                              GError          **error)
{
  g_auto(LoadPlan) plan = { 0 };
  g_autoptr(PeftqAdapter) adapter = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  g_return_val_if_fail (PEFTQ_IS_PEFT_MODEL (self), NULL);
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (adapter_name == NULL)
    adapter_name = PEFTQ_DEFAULT_ADAPTER_NAME;
  if (!check_adapter_name (self, adapter_name, error))
    return NULL;

  load_plan_init (&plan, self, "new adapter", adapter_name, config);
  if (plan.targets->len == 0)
    add_problem (&plan, PEFTQ_ERROR_NOT_FOUND, "no module of the model matches target_modules");

  for (guint i = 0; i < plan.targets->len; i++)
    {
      Target *target = g_ptr_array_index (plan.targets, i);
      gint64 r = target->expected_rank;
      gboolean conv = target->shape.kind == PEFTQ_LORA_BASE_CONV2D;
      gint64 a_shape[4] = { r, target->shape.in_features, target->shape.kernel[0], target->shape.kernel[1] };
      gint64 b_shape[4] = { target->shape.out_features, r, 1, 1 };

      target->lora_a = new_kaiming_uniform (a_shape, conv ? 4 : 2, rand);
      target->lora_b = peftq_tensor_new_f32 (b_shape, conv ? 4 : 2);
    }

  if (!finish_plan (&plan, error))
    return NULL;
  adapter = apply_plan (&plan, error);
  if (adapter == NULL)
    return NULL;
  return register_adapter (self, adapter);
}

/**
 * peftq_get_peft_model:
 * @model: the root of a model, without a parent
 * @config: the configuration of the first adapter
 * @adapter_name: (nullable): the adapter name, or `NULL` for `default`
 * @error: return location for a #GError
 *
 * Wraps a model and adds one untrained adapter, as PEFT's `get_peft_model` does. See
 * [method@Peftq.PeftModel.add_adapter] for the initialization (seed 0).
 *
 * Returns: (transfer full): the PEFT model, or `NULL` with @error set; @model is left
 *   without a parent on error
 *
 * Since: 1.0
 */
PeftqPeftModel *
peftq_get_peft_model (PeftqModule      *model,
                      PeftqLoraConfig  *config,
                      const char       *adapter_name,
                      GError          **error)
{
  g_autoptr(PeftqPeftModel) peft_model = NULL;

  g_return_val_if_fail (PEFTQ_IS_MODULE (model), NULL);
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (config), NULL);

  peft_model = peftq_peft_model_new (model);
  if (peftq_peft_model_add_adapter (peft_model, adapter_name, config, 0, error) == NULL)
    {
      /* Give the caller back a model without a parent. */
      PeftqModule *lora_model = peftq_module_get_child (PEFTQ_MODULE (peft_model), "base_model");
      g_autoptr(PeftqModule) placeholder = peftq_module_new ();

      peftq_module_add_child (lora_model, "model", placeholder);
      return NULL;
    }
  return g_steal_pointer (&peft_model);
}
