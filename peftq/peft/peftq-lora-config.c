/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-lora-config.h"
#include "peftq-json-private.h"
#include "peftq-error.h"
#include "peftq-file-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/**
 * PeftqLoraConfig:
 *
 * The configuration of one LoRA adapter, as HuggingFace PEFT stores it in
 * `adapter_config.json`.
 *
 * Reading follows PEFT v0.11.1: `r` (default 8), `lora_alpha` (default 8),
 * `lora_dropout` (ignored at inference), `use_rslora`, `target_modules` (a list, or a
 * string used as a full-match regular expression, or `"all-linear"`),
 * `exclude_modules` (from later PEFT releases, same forms), `layers_to_transform` with
 * `layers_pattern`, `rank_pattern`, `alpha_pattern`, `fan_in_fan_out`, `bias`,
 * `modules_to_save`, `use_dora`, `peft_type`, `task_type` and
 * `base_model_name_or_path`. Unknown keys are ignored.
 *
 * Fields that would change the forward pass in a way peftq does not implement are
 * rejected with %PEFTQ_ERROR_UNSUPPORTED and a message naming the field:
 * `use_dora: true`, `lora_bias: true`, a non-empty `layer_replication`, a `bias` other
 * than `"none"`, a non-empty `target_parameters`, `trainable_token_indices`,
 * `alora_invocation_tokens`, `use_qalora: true`, and a `peft_type` other than `"LORA"`.
 * The config is read before any weight, so such an adapter is rejected before its
 * tensors are opened.
 *
 * Target matching, as PEFT v0.11.1 does it, works on the module name relative to the
 * wrapped model (without `base_model.model.`):
 *
 * - a list target matches a name equal to an entry or ending in `.` + entry;
 * - a string target matches when the whole name matches it as a regular expression;
 * - with `layers_to_transform`, the layer index is the number captured by
 *   `.*\.<layers_pattern>\.(\d+)\.` (or `.*\.[^.]*\.(\d+)\.` without a pattern) at the
 *   start of the name, and names without an index or with another index are dropped.
 *
 * Since: 1.0
 */

struct _PeftqLoraConfig
{
  GObject parent_instance;

  guint r;
  double lora_alpha;
  double lora_dropout;
  gboolean use_rslora;
  gboolean use_dora;
  gboolean fan_in_fan_out;
  char *bias;
  char **target_modules;       /* list form, or NULL */
  char *target_modules_regex;  /* string form, or NULL */
  GRegex *target_regex;
  char **exclude_modules;
  char *exclude_modules_regex;
  GRegex *exclude_regex;
  GArray *layers_to_transform; /* gint, NULL when absent */
  char **layers_pattern;       /* NULL when absent */
  GPtrArray *layer_regexes;    /* GRegex, one per layers_pattern entry or one default */
  char **modules_to_save;
  GPtrArray *rank_keys;        /* char *, file order */
  GArray *rank_values;         /* guint */
  GPtrArray *alpha_keys;
  GArray *alpha_values;        /* double */
  GPtrArray *pattern_regexes;  /* GRegex for rank keys then alpha keys */
  char *peft_type;
  char *task_type;
  char *base_model_name_or_path;
};

G_DEFINE_FINAL_TYPE (PeftqLoraConfig, peftq_lora_config, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_R,
  PROP_LORA_ALPHA,
  PROP_LORA_DROPOUT,
  PROP_USE_RSLORA,
  PROP_USE_DORA,
  PROP_FAN_IN_FAN_OUT,
  PROP_BIAS,
  PROP_TARGET_MODULES,
  PROP_TARGET_MODULES_REGEX,
  PROP_MODULES_TO_SAVE,
  PROP_PEFT_TYPE,
  PROP_TASK_TYPE,
  PROP_BASE_MODEL_NAME_OR_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
peftq_lora_config_finalize (GObject *object)
{
  PeftqLoraConfig *self = PEFTQ_LORA_CONFIG (object);

  g_free (self->bias);
  g_strfreev (self->target_modules);
  g_free (self->target_modules_regex);
  g_clear_pointer (&self->target_regex, g_regex_unref);
  g_strfreev (self->exclude_modules);
  g_free (self->exclude_modules_regex);
  g_clear_pointer (&self->exclude_regex, g_regex_unref);
  g_clear_pointer (&self->layers_to_transform, g_array_unref);
  g_strfreev (self->layers_pattern);
  g_clear_pointer (&self->layer_regexes, g_ptr_array_unref);
  g_strfreev (self->modules_to_save);
  g_clear_pointer (&self->rank_keys, g_ptr_array_unref);
  g_clear_pointer (&self->rank_values, g_array_unref);
  g_clear_pointer (&self->alpha_keys, g_ptr_array_unref);
  g_clear_pointer (&self->alpha_values, g_array_unref);
  g_clear_pointer (&self->pattern_regexes, g_ptr_array_unref);
  g_free (self->peft_type);
  g_free (self->task_type);
  g_free (self->base_model_name_or_path);

  G_OBJECT_CLASS (peftq_lora_config_parent_class)->finalize (object);
}

static void
peftq_lora_config_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  PeftqLoraConfig *self = PEFTQ_LORA_CONFIG (object);

  switch (prop_id)
    {
    case PROP_R:
      g_value_set_uint (value, self->r);
      break;
    case PROP_LORA_ALPHA:
      g_value_set_double (value, self->lora_alpha);
      break;
    case PROP_LORA_DROPOUT:
      g_value_set_double (value, self->lora_dropout);
      break;
    case PROP_USE_RSLORA:
      g_value_set_boolean (value, self->use_rslora);
      break;
    case PROP_USE_DORA:
      g_value_set_boolean (value, self->use_dora);
      break;
    case PROP_FAN_IN_FAN_OUT:
      g_value_set_boolean (value, self->fan_in_fan_out);
      break;
    case PROP_BIAS:
      g_value_set_string (value, self->bias);
      break;
    case PROP_TARGET_MODULES:
      g_value_set_boxed (value, self->target_modules);
      break;
    case PROP_TARGET_MODULES_REGEX:
      g_value_set_string (value, self->target_modules_regex);
      break;
    case PROP_MODULES_TO_SAVE:
      g_value_set_boxed (value, self->modules_to_save);
      break;
    case PROP_PEFT_TYPE:
      g_value_set_string (value, self->peft_type);
      break;
    case PROP_TASK_TYPE:
      g_value_set_string (value, self->task_type);
      break;
    case PROP_BASE_MODEL_NAME_OR_PATH:
      g_value_set_string (value, self->base_model_name_or_path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_lora_config_class_init (PeftqLoraConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = peftq_lora_config_finalize;
  object_class->get_property = peftq_lora_config_get_property;

  /**
   * PeftqLoraConfig:r:
   *
   * The default rank of the adapter's layers (`r`).
   *
   * Since: 1.0
   */
  properties[PROP_R] = g_param_spec_uint ("r", NULL, NULL, 1, G_MAXUINT, 8, flags);

  /**
   * PeftqLoraConfig:lora-alpha:
   *
   * The default numerator of the scaling (`lora_alpha`).
   *
   * Since: 1.0
   */
  properties[PROP_LORA_ALPHA] = g_param_spec_double ("lora-alpha", NULL, NULL,
                                                     -G_MAXDOUBLE, G_MAXDOUBLE, 8, flags);

  /**
   * PeftqLoraConfig:lora-dropout:
   *
   * The dropout probability used in training (`lora_dropout`); peftq ignores it,
   * because dropout is an identity at inference.
   *
   * Since: 1.0
   */
  properties[PROP_LORA_DROPOUT] = g_param_spec_double ("lora-dropout", NULL, NULL,
                                                       0, 1, 0, flags);

  /**
   * PeftqLoraConfig:use-rslora:
   *
   * Whether the scaling is `lora_alpha / sqrt(r)` (rank-stabilized LoRA) instead of
   * `lora_alpha / r`.
   *
   * Since: 1.0
   */
  properties[PROP_USE_RSLORA] = g_param_spec_boolean ("use-rslora", NULL, NULL, FALSE, flags);

  /**
   * PeftqLoraConfig:use-dora:
   *
   * The `use_dora` field; always `FALSE` in a config that loaded, because peftq rejects
   * DoRA adapters.
   *
   * Since: 1.0
   */
  properties[PROP_USE_DORA] = g_param_spec_boolean ("use-dora", NULL, NULL, FALSE, flags);

  /**
   * PeftqLoraConfig:fan-in-fan-out:
   *
   * Whether the base weights are stored as (in, out), as in GPT-2's `Conv1D`. It only
   * affects merged deltas, never the adapter forward.
   *
   * Since: 1.0
   */
  properties[PROP_FAN_IN_FAN_OUT] = g_param_spec_boolean ("fan-in-fan-out", NULL, NULL, FALSE, flags);

  /**
   * PeftqLoraConfig:bias:
   *
   * The `bias` field; always `"none"` in a config that loaded.
   *
   * Since: 1.0
   */
  properties[PROP_BIAS] = g_param_spec_string ("bias", NULL, NULL, "none", flags);

  /**
   * PeftqLoraConfig:target-modules:
   *
   * The target module names when `target_modules` is a list, or `NULL`.
   *
   * Since: 1.0
   */
  properties[PROP_TARGET_MODULES] = g_param_spec_boxed ("target-modules", NULL, NULL,
                                                        G_TYPE_STRV, flags);

  /**
   * PeftqLoraConfig:target-modules-regex:
   *
   * The regular expression when `target_modules` is a string, or `NULL`.
   *
   * Since: 1.0
   */
  properties[PROP_TARGET_MODULES_REGEX] = g_param_spec_string ("target-modules-regex", NULL, NULL,
                                                               NULL, flags);

  /**
   * PeftqLoraConfig:modules-to-save:
   *
   * Names of modules trained whole and saved with the adapter, or `NULL`.
   *
   * Since: 1.0
   */
  properties[PROP_MODULES_TO_SAVE] = g_param_spec_boxed ("modules-to-save", NULL, NULL,
                                                         G_TYPE_STRV, flags);

  /**
   * PeftqLoraConfig:peft-type:
   *
   * The method tag, `"LORA"`.
   *
   * Since: 1.0
   */
  properties[PROP_PEFT_TYPE] = g_param_spec_string ("peft-type", NULL, NULL, "LORA", flags);

  /**
   * PeftqLoraConfig:task-type:
   *
   * The informational `task_type` field, or `NULL`. peftq never uses it to find layers.
   *
   * Since: 1.0
   */
  properties[PROP_TASK_TYPE] = g_param_spec_string ("task-type", NULL, NULL, NULL, flags);

  /**
   * PeftqLoraConfig:base-model-name-or-path:
   *
   * The informational `base_model_name_or_path` field, or `NULL`.
   *
   * Since: 1.0
   */
  properties[PROP_BASE_MODEL_NAME_OR_PATH] = g_param_spec_string ("base-model-name-or-path",
                                                                  NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
peftq_lora_config_init (PeftqLoraConfig *self)
{
  self->r = 8;
  self->lora_alpha = 8;
  self->bias = g_strdup ("none");
  self->peft_type = g_strdup ("LORA");
  self->rank_keys = g_ptr_array_new_with_free_func (g_free);
  self->rank_values = g_array_new (FALSE, FALSE, sizeof (guint));
  self->alpha_keys = g_ptr_array_new_with_free_func (g_free);
  self->alpha_values = g_array_new (FALSE, FALSE, sizeof (double));
  self->pattern_regexes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_regex_unref);
  self->layer_regexes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_regex_unref);
}

/* Compiles @pattern so that it must match a whole name, as Python's re.fullmatch. */
static GRegex *
compile_full_match (const char  *pattern,
                    const char  *source,
                    const char  *field,
                    GError     **error)
{
  g_autofree char *anchored = g_strdup_printf ("\\A(?:%s)\\z", pattern);
  g_autoptr(GError) regex_error = NULL;
  GRegex *regex = g_regex_new (anchored, G_REGEX_OPTIMIZE, 0, &regex_error);

  if (regex == NULL)
    g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                 "%s: %s is not a valid regular expression (%s): %s",
                 source, field, pattern, regex_error->message);
  return regex;
}

static gboolean
finish_setup (PeftqLoraConfig  *self,
              const char       *source,
              GError          **error)
{
  if (self->target_modules_regex != NULL && g_strcmp0 (self->target_modules_regex, "all-linear") != 0)
    {
      self->target_regex = compile_full_match (self->target_modules_regex, source,
                                               "target_modules", error);
      if (self->target_regex == NULL)
        return FALSE;
    }

  if (self->exclude_modules_regex != NULL)
    {
      self->exclude_regex = compile_full_match (self->exclude_modules_regex, source,
                                                "exclude_modules", error);
      if (self->exclude_regex == NULL)
        return FALSE;
    }

  /* PEFT v0.11.1 builds these patterns without escaping layers_pattern, and applies
   * them with re.match, so they are anchored at the start only. */
  if (self->layers_pattern != NULL && self->layers_pattern[0] != NULL)
    {
      for (guint i = 0; self->layers_pattern[i] != NULL; i++)
        {
          g_autofree char *pattern = g_strdup_printf (".*\\.%s\\.(\\d+)\\.", self->layers_pattern[i]);
          g_autoptr(GError) regex_error = NULL;
          GRegex *regex = g_regex_new (pattern, G_REGEX_ANCHORED, 0, &regex_error);

          if (regex == NULL)
            {
              g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                           "%s: layers_pattern “%s” does not form a valid regular expression: %s",
                           source, self->layers_pattern[i], regex_error->message);
              return FALSE;
            }
          g_ptr_array_add (self->layer_regexes, regex);
        }
    }
  else
    {
      g_ptr_array_add (self->layer_regexes,
                       g_regex_new (".*\\.[^.]*\\.(\\d+)\\.", G_REGEX_ANCHORED, 0, NULL));
    }

  /* rank_pattern and alpha_pattern keys are used in `.*\.<key>$`, also unescaped. */
  for (guint pass = 0; pass < 2; pass++)
    {
      GPtrArray *keys = pass == 0 ? self->rank_keys : self->alpha_keys;

      for (guint i = 0; i < keys->len; i++)
        {
          const char *key = g_ptr_array_index (keys, i);
          g_autofree char *pattern = g_strdup_printf (".*\\.%s$", key);
          g_autoptr(GError) regex_error = NULL;
          GRegex *regex = g_regex_new (pattern, G_REGEX_ANCHORED | G_REGEX_DOLLAR_ENDONLY, 0,
                                       &regex_error);

          if (regex == NULL)
            {
              g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                           "%s: %s key “%s” does not form a valid regular expression: %s",
                           source, pass == 0 ? "rank_pattern" : "alpha_pattern", key,
                           regex_error->message);
              return FALSE;
            }
          g_ptr_array_add (self->pattern_regexes, regex);
        }
    }

  return TRUE;
}

/**
 * peftq_lora_config_new:
 * @r: the rank, greater than 0
 * @lora_alpha: the numerator of the scaling
 * @target_modules: (array zero-terminated=1): module names matched as a PEFT list
 *
 * Creates a LoRA configuration in code, with every other field at PEFT's default
 * (`bias` `"none"`, no rsLoRA, no patterns).
 *
 * Returns: (transfer full): a new configuration
 *
 * Since: 1.0
 */
PeftqLoraConfig *
peftq_lora_config_new (guint              r,
                       double             lora_alpha,
                       const char *const *target_modules)
{
  PeftqLoraConfig *self;

  g_return_val_if_fail (r > 0, NULL);
  g_return_val_if_fail (target_modules != NULL, NULL);

  self = g_object_new (PEFTQ_TYPE_LORA_CONFIG, NULL);
  self->r = r;
  self->lora_alpha = lora_alpha;
  self->target_modules = g_strdupv ((char **) target_modules);
  finish_setup (self, "LoRA config", NULL);
  return self;
}

static gboolean
fail_field (GError     **error,
            int          code,
            const char  *source,
            const char  *field,
            const char  *message)
{
  g_set_error (error, PEFTQ_ERROR, code, "%s: field “%s” %s", source, field, message);
  return FALSE;
}

static gboolean
is_null_or_absent (JsonObject *object,
                   const char *field)
{
  JsonNode *node = json_object_get_member (object, field);

  return node == NULL || JSON_NODE_HOLDS_NULL (node);
}

static gboolean
read_bool (JsonObject  *object,
           const char  *field,
           gboolean    *out_value,
           const char  *source,
           GError     **error)
{
  JsonNode *node = json_object_get_member (object, field);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, field, "must be true or false");
  *out_value = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
node_get_number (JsonNode *node,
                 double   *out_value)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    *out_value = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    *out_value = json_node_get_double (node);
  else
    return FALSE;
  return isfinite (*out_value);
}

/* Reads a positive integer rank; JSON writers may store it as 4.0. */
static gboolean
node_get_rank (JsonNode *node,
               guint    *out_rank)
{
  double value;

  if (!node_get_number (node, &value))
    return FALSE;
  if (value < 1 || value > G_MAXINT32 || value != floor (value))
    return FALSE;
  *out_rank = (guint) value;
  return TRUE;
}

/* Reads a list of strings (or a single string, when @allow_string) into a strv. */
static gboolean
read_string_list (JsonObject   *object,
                  const char   *field,
                  gboolean      allow_string,
                  char       ***out_list,
                  char        **out_string,
                  const char   *source,
                  GError      **error)
{
  JsonNode *node = json_object_get_member (object, field);
  g_autoptr(GStrvBuilder) builder = NULL;
  JsonArray *array;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  if (allow_string && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      *out_string = g_strdup (json_node_get_string (node));
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, field,
                       allow_string ? "must be a list of strings or a string"
                                    : "must be a list of strings");

  builder = g_strv_builder_new ();
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, field,
                           "must contain only strings");
      g_strv_builder_add (builder, json_node_get_string (element));
    }
  *out_list = g_strv_builder_end (builder);
  return TRUE;
}

static gboolean
read_pattern (JsonObject  *object,
              const char  *field,
              gboolean     is_rank,
              GPtrArray   *keys,
              GArray      *values,
              const char  *source,
              GError     **error)
{
  JsonNode *node = json_object_get_member (object, field);
  JsonObject *pattern;
  g_autoptr(GList) members = NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, field,
                       "must be an object mapping name patterns to numbers");

  pattern = json_node_get_object (node);
  members = json_object_get_members (pattern);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      JsonNode *value_node = json_object_get_member (pattern, key);

      if (is_rank)
        {
          guint rank;

          if (!node_get_rank (value_node, &rank))
            {
              g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                           "%s: rank_pattern entry “%s” must be an integer greater than 0",
                           source, key);
              return FALSE;
            }
          g_array_append_val (values, rank);
        }
      else
        {
          double alpha;

          if (!node_get_number (value_node, &alpha))
            {
              g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                           "%s: alpha_pattern entry “%s” must be a number", source, key);
              return FALSE;
            }
          g_array_append_val (values, alpha);
        }
      g_ptr_array_add (keys, g_strdup (key));
    }
  return TRUE;
}

/* Rejects fields that change the forward computation in ways peftq does not
 * implement. */
static gboolean
check_unsupported_fields (JsonObject  *object,
                          const char  *source,
                          GError     **error)
{
  gboolean flag = FALSE;
  JsonNode *node;

  if (json_object_has_member (object, "peft_type") && !is_null_or_absent (object, "peft_type"))
    {
      node = json_object_get_member (object, "peft_type");
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, "peft_type", "must be a string");
      if (g_strcmp0 (json_node_get_string (node), "LORA") != 0)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                       "%s: field “peft_type” is “%s”, but peftq only loads LoRA adapters (“LORA”)",
                       source, json_node_get_string (node));
          return FALSE;
        }
    }

  if (!read_bool (object, "use_dora", &flag, source, error))
    return FALSE;
  if (flag)
    return fail_field (error, PEFTQ_ERROR_UNSUPPORTED, source, "use_dora",
                       "is true, but peftq does not implement DoRA (weight-decomposed LoRA) adapters");

  flag = FALSE;
  if (!read_bool (object, "lora_bias", &flag, source, error))
    return FALSE;
  if (flag)
    return fail_field (error, PEFTQ_ERROR_UNSUPPORTED, source, "lora_bias",
                       "is true, but peftq does not implement a bias on lora_B");

  flag = FALSE;
  if (!read_bool (object, "use_qalora", &flag, source, error))
    return FALSE;
  if (flag)
    return fail_field (error, PEFTQ_ERROR_UNSUPPORTED, source, "use_qalora",
                       "is true, but peftq does not implement QA-LoRA adapters");

  node = json_object_get_member (object, "layer_replication");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) &&
      !(JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) == 0))
    return fail_field (error, PEFTQ_ERROR_UNSUPPORTED, source, "layer_replication",
                       "is not empty, but peftq does not implement layer replication");

  node = json_object_get_member (object, "target_parameters");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) &&
      !(JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) == 0))
    return fail_field (error, PEFTQ_ERROR_UNSUPPORTED, source, "target_parameters",
                       "is not empty, but peftq only targets modules, not parameters");

  if (!is_null_or_absent (object, "trainable_token_indices"))
    return fail_field (error, PEFTQ_ERROR_UNSUPPORTED, source, "trainable_token_indices",
                       "is set, but peftq does not implement trainable tokens");

  if (!is_null_or_absent (object, "alora_invocation_tokens"))
    return fail_field (error, PEFTQ_ERROR_UNSUPPORTED, source, "alora_invocation_tokens",
                       "is set, but peftq does not implement activated LoRA");

  node = json_object_get_member (object, "bias");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, "bias",
                           "must be “none”, “all” or “lora_only”");
      if (g_strcmp0 (json_node_get_string (node), "none") != 0)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                       "%s: field “bias” is “%s”, but peftq only loads adapters with bias “none” "
                       "(trained biases would replace the base model's biases)",
                       source, json_node_get_string (node));
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
read_layers_to_transform (PeftqLoraConfig  *self,
                          JsonObject       *object,
                          const char       *source,
                          GError          **error)
{
  JsonNode *node = json_object_get_member (object, "layers_to_transform");
  double value;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  self->layers_to_transform = g_array_new (FALSE, FALSE, sizeof (gint));
  if (node_get_number (node, &value))
    {
      gint index = (gint) value;

      if (value != floor (value) || value < 0 || value > G_MAXINT32)
        return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, "layers_to_transform",
                           "must be a layer index or a list of layer indices");
      g_array_append_val (self->layers_to_transform, index);
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, "layers_to_transform",
                       "must be a layer index or a list of layer indices");

  for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
    {
      JsonNode *element = json_array_get_element (json_node_get_array (node), i);
      gint index;

      if (!node_get_number (element, &value) || value != floor (value) || value < 0 ||
          value > G_MAXINT32)
        return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, "layers_to_transform",
                           "must contain only non-negative integers");
      index = (gint) value;
      g_array_append_val (self->layers_to_transform, index);
    }
  return TRUE;
}

static gboolean
read_optional_string (JsonObject  *object,
                      const char  *field,
                      char       **out_value,
                      const char  *source,
                      GError     **error)
{
  JsonNode *node = json_object_get_member (object, field);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, field, "must be a string");
  g_free (*out_value);
  *out_value = g_strdup (json_node_get_string (node));
  return TRUE;
}

static gboolean
read_config (PeftqLoraConfig  *self,
             JsonObject       *object,
             const char       *source,
             GError          **error)
{
  JsonNode *node;

  if (!check_unsupported_fields (object, source, error))
    return FALSE;

  node = json_object_get_member (object, "r");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) && !node_get_rank (node, &self->r))
    return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, "r",
                       "must be an integer greater than 0");

  node = json_object_get_member (object, "lora_alpha");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) && !node_get_number (node, &self->lora_alpha))
    return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, "lora_alpha", "must be a number");

  node = json_object_get_member (object, "lora_dropout");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) &&
      (!node_get_number (node, &self->lora_dropout) || self->lora_dropout < 0 ||
       self->lora_dropout > 1))
    return fail_field (error, PEFTQ_ERROR_INVALID_DATA, source, "lora_dropout",
                       "must be a probability between 0 and 1");

  if (!read_bool (object, "use_rslora", &self->use_rslora, source, error) ||
      !read_bool (object, "fan_in_fan_out", &self->fan_in_fan_out, source, error))
    return FALSE;

  if (!read_string_list (object, "target_modules", TRUE, &self->target_modules,
                         &self->target_modules_regex, source, error))
    return FALSE;
  if (self->target_modules == NULL && self->target_modules_regex == NULL)
    return fail_field (error, PEFTQ_ERROR_UNSUPPORTED, source, "target_modules",
                       "is missing; PEFT would pick defaults by model type, which peftq does "
                       "not know, so name the target modules in the config");

  if (!read_string_list (object, "exclude_modules", TRUE, &self->exclude_modules,
                         &self->exclude_modules_regex, source, error))
    return FALSE;

  if (!read_layers_to_transform (self, object, source, error))
    return FALSE;

  {
    char *single = NULL;

    if (!read_string_list (object, "layers_pattern", TRUE, &self->layers_pattern, &single,
                           source, error))
      return FALSE;
    if (single != NULL)
      {
        self->layers_pattern = g_new0 (char *, 2);
        self->layers_pattern[0] = single;
      }
  }

  if (!read_string_list (object, "modules_to_save", FALSE, &self->modules_to_save, NULL,
                         source, error))
    return FALSE;

  if (!read_pattern (object, "rank_pattern", TRUE, self->rank_keys, self->rank_values,
                     source, error) ||
      !read_pattern (object, "alpha_pattern", FALSE, self->alpha_keys, self->alpha_values,
                     source, error))
    return FALSE;

  if (!read_optional_string (object, "task_type", &self->task_type, source, error) ||
      !read_optional_string (object, "base_model_name_or_path", &self->base_model_name_or_path,
                             source, error))
    return FALSE;

  return finish_setup (self, source, error);
}

static PeftqLoraConfig *
new_from_data (const char  *data,
               gssize       length,
               const char  *source,
               GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(PeftqLoraConfig) self = NULL;
  g_autoptr(GError) parse_error = NULL;
  JsonNode *root;

  if (!peftq_json_parser_load_data (parser, data, length, &parse_error))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA, "%s: invalid JSON: %s",
                   source, parse_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: a LoRA config must be a JSON object", source);
      return NULL;
    }

  self = g_object_new (PEFTQ_TYPE_LORA_CONFIG, NULL);
  if (!read_config (self, json_node_get_object (root), source, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * peftq_lora_config_new_from_data:
 * @data: the JSON text of an `adapter_config.json` file
 * @length: the length of @data in bytes, or -1 when it is NUL-terminated
 * @error: return location for a #GError
 *
 * Parses a PEFT LoRA configuration and validates it.
 *
 * Returns: (transfer full): the configuration, or `NULL` with @error set when the JSON
 *   is invalid, a field has the wrong type, or a field requests a feature that peftq
 *   does not implement (%PEFTQ_ERROR_UNSUPPORTED, naming the field)
 *
 * Since: 1.0
 */
PeftqLoraConfig *
peftq_lora_config_new_from_data (const char  *data,
                                 gssize       length,
                                 GError     **error)
{
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return new_from_data (data, length, "LoRA config", error);
}

/**
 * peftq_lora_config_new_from_file:
 * @path: (type filename): the path of an `adapter_config.json` file
 * @error: return location for a #GError
 *
 * Reads a PEFT LoRA configuration file and validates it, as
 * [ctor@Peftq.LoraConfig.new_from_data] does. Error messages start with @path.
 *
 * Returns: (transfer full): the configuration, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqLoraConfig *
peftq_lora_config_new_from_file (const char  *path,
                                 GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) read_error = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_check_regular_file (path, error))
    return NULL;

  if (!g_file_get_contents (path, &contents, &length, &read_error))
    {
      g_set_error (error, PEFTQ_ERROR,
                   g_error_matches (read_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? PEFTQ_ERROR_NOT_FOUND : PEFTQ_ERROR_IO,
                   "%s", read_error->message);
      return NULL;
    }

  return new_from_data (contents, (gssize) length, path, error);
}

/**
 * peftq_lora_config_get_r:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:r].
 *
 * Returns: the default rank
 *
 * Since: 1.0
 */
guint
peftq_lora_config_get_r (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), 0);
  return self->r;
}

/**
 * peftq_lora_config_get_lora_alpha:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:lora-alpha].
 *
 * Returns: the default alpha
 *
 * Since: 1.0
 */
double
peftq_lora_config_get_lora_alpha (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), 0);
  return self->lora_alpha;
}

/**
 * peftq_lora_config_get_lora_dropout:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:lora-dropout].
 *
 * Returns: the dropout probability of training
 *
 * Since: 1.0
 */
double
peftq_lora_config_get_lora_dropout (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), 0);
  return self->lora_dropout;
}

/**
 * peftq_lora_config_get_use_rslora:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:use-rslora].
 *
 * Returns: whether the scaling divides by the square root of the rank
 *
 * Since: 1.0
 */
gboolean
peftq_lora_config_get_use_rslora (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), FALSE);
  return self->use_rslora;
}

/**
 * peftq_lora_config_get_use_dora:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:use-dora].
 *
 * Returns: `FALSE`, because DoRA configurations do not load
 *
 * Since: 1.0
 */
gboolean
peftq_lora_config_get_use_dora (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), FALSE);
  return self->use_dora;
}

/**
 * peftq_lora_config_get_fan_in_fan_out:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:fan-in-fan-out].
 *
 * Returns: whether base weights are stored as (in, out)
 *
 * Since: 1.0
 */
gboolean
peftq_lora_config_get_fan_in_fan_out (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), FALSE);
  return self->fan_in_fan_out;
}

/**
 * peftq_lora_config_get_bias:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:bias].
 *
 * Returns: the bias mode, `"none"`
 *
 * Since: 1.0
 */
const char *
peftq_lora_config_get_bias (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return self->bias;
}

/**
 * peftq_lora_config_get_target_modules:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:target-modules].
 *
 * Returns: (nullable) (array zero-terminated=1) (transfer none): the target list, or
 *   `NULL` when `target_modules` is a regular expression
 *
 * Since: 1.0
 */
const char *const *
peftq_lora_config_get_target_modules (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return (const char *const *) self->target_modules;
}

/**
 * peftq_lora_config_get_target_modules_regex:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:target-modules-regex].
 *
 * Returns: (nullable): the target regular expression (or `"all-linear"`), or `NULL`
 *   when `target_modules` is a list
 *
 * Since: 1.0
 */
const char *
peftq_lora_config_get_target_modules_regex (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return self->target_modules_regex;
}

/**
 * peftq_lora_config_get_exclude_modules:
 * @self: a configuration
 *
 * Gets the `exclude_modules` list of later PEFT releases.
 *
 * Returns: (nullable) (array zero-terminated=1) (transfer none): the excluded names, or
 *   `NULL`
 *
 * Since: 1.0
 */
const char *const *
peftq_lora_config_get_exclude_modules (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return (const char *const *) self->exclude_modules;
}

/**
 * peftq_lora_config_get_exclude_modules_regex:
 * @self: a configuration
 *
 * Gets `exclude_modules` when it is a regular expression.
 *
 * Returns: (nullable): the regular expression, or `NULL`
 *
 * Since: 1.0
 */
const char *
peftq_lora_config_get_exclude_modules_regex (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return self->exclude_modules_regex;
}

/**
 * peftq_lora_config_get_layers_to_transform:
 * @self: a configuration
 * @n_layers: (out): the number of indices
 *
 * Gets the `layers_to_transform` indices.
 *
 * Returns: (nullable) (array length=n_layers) (transfer none): the layer indices, or
 *   `NULL` when every layer is transformed
 *
 * Since: 1.0
 */
const gint *
peftq_lora_config_get_layers_to_transform (PeftqLoraConfig *self,
                                           gsize           *n_layers)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  g_return_val_if_fail (n_layers != NULL, NULL);

  if (self->layers_to_transform == NULL)
    {
      *n_layers = 0;
      return NULL;
    }
  *n_layers = self->layers_to_transform->len;
  return (const gint *) (gconstpointer) self->layers_to_transform->data;
}

/**
 * peftq_lora_config_get_layers_pattern:
 * @self: a configuration
 *
 * Gets `layers_pattern`, as a list even when the file stores one string.
 *
 * Returns: (nullable) (array zero-terminated=1) (transfer none): the layer container
 *   names, or `NULL`
 *
 * Since: 1.0
 */
const char *const *
peftq_lora_config_get_layers_pattern (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return (const char *const *) self->layers_pattern;
}

/**
 * peftq_lora_config_get_modules_to_save:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:modules-to-save].
 *
 * Returns: (nullable) (array zero-terminated=1) (transfer none): the names, or `NULL`
 *
 * Since: 1.0
 */
const char *const *
peftq_lora_config_get_modules_to_save (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return (const char *const *) self->modules_to_save;
}

static char **
keys_to_strv (GPtrArray *keys)
{
  char **result = g_new0 (char *, keys->len + 1);

  for (guint i = 0; i < keys->len; i++)
    result[i] = g_strdup (g_ptr_array_index (keys, i));
  return result;
}

/**
 * peftq_lora_config_list_rank_pattern_keys:
 * @self: a configuration
 *
 * Lists the keys of `rank_pattern` in file order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the keys
 *
 * Since: 1.0
 */
char **
peftq_lora_config_list_rank_pattern_keys (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return keys_to_strv (self->rank_keys);
}

/**
 * peftq_lora_config_list_alpha_pattern_keys:
 * @self: a configuration
 *
 * Lists the keys of `alpha_pattern` in file order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the keys
 *
 * Since: 1.0
 */
char **
peftq_lora_config_list_alpha_pattern_keys (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return keys_to_strv (self->alpha_keys);
}

/**
 * peftq_lora_config_get_peft_type:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:peft-type].
 *
 * Returns: `"LORA"`
 *
 * Since: 1.0
 */
const char *
peftq_lora_config_get_peft_type (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return self->peft_type;
}

/**
 * peftq_lora_config_get_task_type:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:task-type].
 *
 * Returns: (nullable): the task type
 *
 * Since: 1.0
 */
const char *
peftq_lora_config_get_task_type (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return self->task_type;
}

/**
 * peftq_lora_config_get_base_model_name_or_path:
 * @self: a configuration
 *
 * Gets [property@Peftq.LoraConfig:base-model-name-or-path].
 *
 * Returns: (nullable): the base model's name
 *
 * Since: 1.0
 */
const char *
peftq_lora_config_get_base_model_name_or_path (PeftqLoraConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), NULL);
  return self->base_model_name_or_path;
}

/* A list entry matches a name equal to it or ending in "." + entry. */
static gboolean
matches_list (const char *const *list,
              const char        *key)
{
  gsize key_length = strlen (key);

  for (guint i = 0; list[i] != NULL; i++)
    {
      gsize entry_length = strlen (list[i]);

      if (strcmp (key, list[i]) == 0)
        return TRUE;
      if (key_length > entry_length && key[key_length - entry_length - 1] == '.' &&
          strcmp (key + key_length - entry_length, list[i]) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
layer_index_allowed (PeftqLoraConfig *self,
                     const char      *key)
{
  for (guint i = 0; i < self->layer_regexes->len; i++)
    {
      g_autoptr(GMatchInfo) match = NULL;
      g_autofree char *digits = NULL;
      gint64 index;

      if (!g_regex_match (g_ptr_array_index (self->layer_regexes, i), key, 0, &match))
        continue;

      digits = g_match_info_fetch (match, 1);
      index = g_ascii_strtoll (digits, NULL, 10);
      for (guint j = 0; j < self->layers_to_transform->len; j++)
        if (g_array_index (self->layers_to_transform, gint, j) == index)
          return TRUE;
      /* PEFT stops at the first pattern that finds an index. */
      return FALSE;
    }
  return FALSE;
}

/**
 * peftq_lora_config_is_target:
 * @self: a configuration
 * @key: a module name relative to the wrapped model, such as
 *   `model.layers.0.self_attn.q_proj`
 *
 * Decides whether the module named @key gets a LoRA layer, by `target_modules`,
 * `exclude_modules` and `layers_to_transform` as PEFT matches them. With
 * `target_modules` `"all-linear"` every name matches here; the loader then keeps only
 * Linear and Conv1D modules and leaves out the output layer `lm_head`.
 *
 * Returns: `TRUE` when the module is targeted
 *
 * Since: 1.0
 */
gboolean
peftq_lora_config_is_target (PeftqLoraConfig *self,
                             const char      *key)
{
  gboolean found;

  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  if (self->exclude_modules != NULL && matches_list ((const char *const *) self->exclude_modules, key))
    return FALSE;
  if (self->exclude_regex != NULL && g_regex_match (self->exclude_regex, key, 0, NULL))
    return FALSE;

  /* As in PEFT v0.11.1, a name equal to a list entry is targeted without the
   * layers_to_transform filter, which only applies to suffix matches. */
  if (self->target_modules != NULL && g_strv_contains ((const char *const *) self->target_modules, key))
    return TRUE;
  if (self->target_modules != NULL)
    found = matches_list ((const char *const *) self->target_modules, key);
  else if (self->target_regex != NULL)
    /* PEFT applies layers_to_transform only to list targets. */
    return g_regex_match (self->target_regex, key, 0, NULL);
  else
    return g_strcmp0 (self->target_modules_regex, "all-linear") == 0;

  if (found && self->layers_to_transform != NULL && self->layers_to_transform->len > 0)
    found = layer_index_allowed (self, key);
  return found;
}

/**
 * peftq_lora_config_is_module_to_save:
 * @self: a configuration
 * @key: a module name relative to the wrapped model
 *
 * Decides whether the module named @key is listed in `modules_to_save`, by the list
 * rule of [method@Peftq.LoraConfig.is_target].
 *
 * Returns: `TRUE` when the module is saved whole with the adapter
 *
 * Since: 1.0
 */
gboolean
peftq_lora_config_is_module_to_save (PeftqLoraConfig *self,
                                     const char      *key)
{
  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  return self->modules_to_save != NULL &&
         matches_list ((const char *const *) self->modules_to_save, key);
}

/**
 * peftq_lora_config_get_rank_and_alpha:
 * @self: a configuration
 * @key: a module name relative to the wrapped model
 * @out_rank: (out) (optional): the rank for that module
 * @out_alpha: (out) (optional): the alpha for that module
 *
 * Applies `rank_pattern` and `alpha_pattern` as PEFT v0.11.1 does: the first key of
 * the two (rank keys first, then alpha keys) for which @key matches `.*\.<key>$`
 * selects the override. The rank is then the rank pattern's value for that key, or
 * `r`, and the alpha the alpha pattern's value for that key, or `lora_alpha`. A rank
 * key that matches therefore hides a matching alpha key.
 *
 * Since: 1.0
 */
void
peftq_lora_config_get_rank_and_alpha (PeftqLoraConfig *self,
                                      const char      *key,
                                      guint           *out_rank,
                                      double          *out_alpha)
{
  guint rank;
  double alpha;

  g_return_if_fail (PEFTQ_IS_LORA_CONFIG (self));
  g_return_if_fail (key != NULL);

  rank = self->r;
  alpha = self->lora_alpha;

  for (guint i = 0; i < self->pattern_regexes->len; i++)
    {
      const char *selected;

      if (!g_regex_match (g_ptr_array_index (self->pattern_regexes, i), key, 0, NULL))
        continue;

      selected = i < self->rank_keys->len
                   ? g_ptr_array_index (self->rank_keys, i)
                   : g_ptr_array_index (self->alpha_keys, i - self->rank_keys->len);

      for (guint j = 0; j < self->rank_keys->len; j++)
        if (strcmp (g_ptr_array_index (self->rank_keys, j), selected) == 0)
          rank = g_array_index (self->rank_values, guint, j);
      for (guint j = 0; j < self->alpha_keys->len; j++)
        if (strcmp (g_ptr_array_index (self->alpha_keys, j), selected) == 0)
          alpha = g_array_index (self->alpha_values, double, j);
      break;
    }

  if (out_rank != NULL)
    *out_rank = rank;
  if (out_alpha != NULL)
    *out_alpha = alpha;
}

/**
 * peftq_lora_compute_scaling:
 * @lora_alpha: the alpha
 * @r: the rank, greater than 0
 * @use_rslora: whether to use rank-stabilized scaling
 *
 * Computes a LoRA scaling: `lora_alpha / r`, or `lora_alpha / sqrt(r)` with
 * @use_rslora.
 *
 * Returns: the scaling
 *
 * Since: 1.0
 */
double
peftq_lora_compute_scaling (double   lora_alpha,
                            guint    r,
                            gboolean use_rslora)
{
  g_return_val_if_fail (r > 0, 0);

  return use_rslora ? lora_alpha / sqrt ((double) r) : lora_alpha / (double) r;
}

/**
 * peftq_lora_config_get_scaling:
 * @self: a configuration
 * @key: a module name relative to the wrapped model
 *
 * Computes the scaling of the module named @key, from its rank and alpha
 * ([method@Peftq.LoraConfig.get_rank_and_alpha]) and `use_rslora`.
 *
 * Returns: the scaling
 *
 * Since: 1.0
 */
double
peftq_lora_config_get_scaling (PeftqLoraConfig *self,
                               const char      *key)
{
  guint rank;
  double alpha;

  g_return_val_if_fail (PEFTQ_IS_LORA_CONFIG (self), 0);
  g_return_val_if_fail (key != NULL, 0);

  peftq_lora_config_get_rank_and_alpha (self, key, &rank, &alpha);
  return peftq_lora_compute_scaling (alpha, rank, self->use_rslora);
}
