/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-quantsim-config.h"
#include "peftq-json-private.h"
#include "peftq-error.h"
#include "peftq-file-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/**
 * PeftqQuantsimConfig:
 *
 * A quantization simulation configuration in AIMET's JSON format.
 *
 * The file decides where quantizers go and how they are set up. It turns output, input
 * and parameter quantizers on or off per ONNX op type, and chooses symmetric or
 * asymmetric grids, per-channel weights and fixed output ranges. It also lists
 * supergroups of ops that share one output quantizer, and the quantizers of model
 * inputs and outputs. The document is an object with six
 * required keys, `defaults`, `params`, `op_type`, `supergroups`, `model_input` and
 * `model_output`, and booleans are the strings `"True"` and `"False"`:
 *
 * ```json
 * {
 *   "defaults": {
 *     "ops": {"is_output_quantized": "True"},
 *     "params": {"is_quantized": "True", "is_symmetric": "True"},
 *     "strict_symmetric": "False",
 *     "per_channel_quantization": "False"
 *   },
 *   "params": {"bias": {"is_quantized": "False"}},
 *   "op_type": {"Dropout": {"is_output_quantized": "False"}},
 *   "supergroups": [{"op_list": ["Gemm", "Relu"]}],
 *   "model_input": {"is_input_quantized": "True"},
 *   "model_output": {}
 * }
 * ```
 *
 * Loading rejects unknown keys, other spellings of booleans, and the settings that
 * AIMET does not implement (turning input quantizers off, turning the default output
 * quantizers off, and strict or unsigned symmetric grids). Each error names the key
 * path, for example `op_type.Gemm.is_input_quantized`.
 *
 * The queries resolve the precedence of the file: `defaults`, then `params`, then the
 * entry of the op type. A setting that no level gives is off.
 *
 * Since: 1.0
 */

/* A boolean of the file that may be absent. */
typedef enum
{
  SETTING_UNSET = -1,
  SETTING_FALSE = 0,
  SETTING_TRUE = 1,
} Setting;

typedef struct
{
  Setting is_quantized;
  Setting is_symmetric;
} ParamSettings;

typedef struct
{
  Setting is_input_quantized;
  Setting is_output_quantized;
  Setting is_symmetric;
  Setting per_channel;
  GHashTable *params;                   /* param kind -> ParamSettings */
  gboolean has_encoding_constraints;
  double constraint_min;
  double constraint_max;
} OpSettings;

struct _PeftqQuantsimConfig
{
  GObject parent_instance;

  JsonNode *document;

  Setting default_output_quantized;
  Setting default_activation_symmetric;
  ParamSettings default_params;
  Setting default_per_channel;
  GHashTable *params;                   /* param kind -> ParamSettings */
  GHashTable *op_types;                 /* op type -> OpSettings */
  GPtrArray *op_type_names;             /* in file order */
  GPtrArray *supergroups;               /* of NULL-terminated string arrays */
  gboolean model_input_quantized;
  gboolean model_output_quantized;
};

G_DEFINE_FINAL_TYPE (PeftqQuantsimConfig, peftq_quantsim_config, G_TYPE_OBJECT)

/* AIMET's default_config.json. */
static const char default_config_json[] =
  "{\n"
  "    \"defaults\": {\n"
  "        \"ops\": {\"is_output_quantized\": \"True\"},\n"
  "        \"params\": {\"is_quantized\": \"True\", \"is_symmetric\": \"True\"},\n"
  "        \"strict_symmetric\": \"False\",\n"
  "        \"per_channel_quantization\": \"False\"\n"
  "    },\n"
  "    \"params\": {\"bias\": {\"is_quantized\": \"False\"}},\n"
  "    \"op_type\": {\n"
  "        \"Cast\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Dropout\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Expand\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Squeeze\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Pad\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Mean\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Gather\": {\"is_output_quantized\": \"False\"}\n"
  "    },\n"
  "    \"supergroups\": [\n"
  "        {\"op_list\": [\"Conv\", \"Relu\"]},\n"
  "        {\"op_list\": [\"ConvTranspose\", \"Relu\"]},\n"
  "        {\"op_list\": [\"Conv\", \"Clip\"]},\n"
  "        {\"op_list\": [\"Add\", \"Relu\"]},\n"
  "        {\"op_list\": [\"Gemm\", \"Relu\"]}\n"
  "    ],\n"
  "    \"model_input\": {\"is_input_quantized\": \"True\"},\n"
  "    \"model_output\": {}\n"
  "}\n";

/* AIMET's default_config_per_channel.json. */
static const char default_per_channel_config_json[] =
  "{\n"
  "    \"defaults\": {\n"
  "        \"ops\": {\"is_output_quantized\": \"True\"},\n"
  "        \"params\": {\"is_quantized\": \"True\", \"is_symmetric\": \"True\"},\n"
  "        \"strict_symmetric\": \"False\",\n"
  "        \"per_channel_quantization\": \"True\"\n"
  "    },\n"
  "    \"params\": {\"bias\": {\"is_quantized\": \"False\"}},\n"
  "    \"op_type\": {\n"
  "        \"Cast\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Dropout\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Expand\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Squeeze\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Pad\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Mean\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Gather\": {\"is_output_quantized\": \"False\"},\n"
  "        \"Gemm\": {\"per_channel_quantization\": \"False\"},\n"
  "        \"MatMul\": {\"per_channel_quantization\": \"False\"},\n"
  "        \"LayerNorm\": {\"per_channel_quantization\": \"False\"}\n"
  "    },\n"
  "    \"supergroups\": [\n"
  "        {\"op_list\": [\"Conv\", \"Relu\"]},\n"
  "        {\"op_list\": [\"Conv\", \"Clip\"]},\n"
  "        {\"op_list\": [\"ConvTranspose\", \"Relu\"]},\n"
  "        {\"op_list\": [\"Add\", \"Relu\"]},\n"
  "        {\"op_list\": [\"Gemm\", \"Relu\"]}\n"
  "    ],\n"
  "    \"model_input\": {\"is_input_quantized\": \"True\"},\n"
  "    \"model_output\": {}\n"
  "}\n";

static void
op_settings_free (gpointer data)
{
  OpSettings *op = data;

  g_clear_pointer (&op->params, g_hash_table_unref);
  g_free (op);
}

static void
peftq_quantsim_config_finalize (GObject *object)
{
  PeftqQuantsimConfig *self = PEFTQ_QUANTSIM_CONFIG (object);

  g_clear_pointer (&self->document, json_node_unref);
  g_clear_pointer (&self->params, g_hash_table_unref);
  g_clear_pointer (&self->op_types, g_hash_table_unref);
  g_clear_pointer (&self->op_type_names, g_ptr_array_unref);
  g_clear_pointer (&self->supergroups, g_ptr_array_unref);

  G_OBJECT_CLASS (peftq_quantsim_config_parent_class)->finalize (object);
}

static void
peftq_quantsim_config_class_init (PeftqQuantsimConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = peftq_quantsim_config_finalize;
}

static void
peftq_quantsim_config_init (PeftqQuantsimConfig *self)
{
  self->default_output_quantized = SETTING_UNSET;
  self->default_activation_symmetric = SETTING_UNSET;
  self->default_params.is_quantized = SETTING_UNSET;
  self->default_params.is_symmetric = SETTING_UNSET;
  self->default_per_channel = SETTING_UNSET;
  self->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->op_types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, op_settings_free);
  self->op_type_names = g_ptr_array_new_with_free_func (g_free);
  self->supergroups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
}

/* Parsing. Every error names the source and the key path. */

typedef struct
{
  const char *source;
} ParseContext;

static void
set_key_error (ParseContext  *ctx,
               GError       **error,
               PeftqError     code,
               const char    *key_path,
               const char    *format,
               ...) G_GNUC_PRINTF (5, 6);

static void
set_key_error (ParseContext  *ctx,
               GError       **error,
               PeftqError     code,
               const char    *key_path,
               const char    *format,
               ...)
{
  va_list args;
  g_autofree char *detail = NULL;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, PEFTQ_ERROR, code, "Invalid quantsim configuration %s: key “%s” %s",
               ctx->source, key_path, detail);
}

static char *
join_key (const char *parent,
          const char *key)
{
  if (parent == NULL || *parent == '\0')
    return g_strdup (key);
  return g_strconcat (parent, ".", key, NULL);
}

static const char *
node_type_name (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
    default:
      break;
    }

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "a string";
    case G_TYPE_BOOLEAN:
      return "a JSON boolean";
    case G_TYPE_INT64:
    case G_TYPE_DOUBLE:
      return "a number";
    default:
      return "a value";
    }
}

/* Rejects members of @object whose names are not in @allowed. */
static gboolean
check_keys (ParseContext        *ctx,
            JsonObject          *object,
            const char          *path,
            const char * const  *allowed,
            GError             **error)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;

      if (!g_strv_contains (allowed, name))
        {
          g_autofree char *key_path = join_key (path, name);
          g_autofree char *allowed_list = g_strjoinv (", ", (char **) allowed);

          set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, key_path,
                         "is unknown; allowed keys here are: %s",
                         *allowed_list != '\0' ? allowed_list : "none");
          return FALSE;
        }
    }

  return TRUE;
}

static JsonObject *
require_object (ParseContext  *ctx,
                JsonNode      *node,
                const char    *path,
                GError       **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, path,
                     "must be an object, not %s", node_type_name (node));
      return NULL;
    }
  return json_node_get_object (node);
}

/* Reads the optional member @key of @object as the string "True" or "False". */
static gboolean
parse_setting (ParseContext  *ctx,
               JsonObject    *object,
               const char    *path,
               const char    *key,
               Setting       *out_setting,
               GError       **error)
{
  JsonNode *node = json_object_get_member (object, key);
  g_autofree char *key_path = NULL;
  const char *text;

  *out_setting = SETTING_UNSET;
  if (node == NULL)
    return TRUE;

  key_path = join_key (path, key);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, key_path,
                     "must be the string \"True\" or \"False\", not %s",
                     node_type_name (node));
      return FALSE;
    }

  text = json_node_get_string (node);
  if (g_strcmp0 (text, "True") == 0)
    *out_setting = SETTING_TRUE;
  else if (g_strcmp0 (text, "False") == 0)
    *out_setting = SETTING_FALSE;
  else
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, key_path,
                     "must be the string \"True\" or \"False\", not \"%s\"", text);
      return FALSE;
    }

  return TRUE;
}

/* Parses an object of parameter kinds, as in `params` and `op_type.<op>.params`. */
static GHashTable *
parse_params (ParseContext  *ctx,
              JsonNode      *node,
              const char    *path,
              GError       **error)
{
  static const char * const kinds[] = { "weight", "bias", NULL };
  static const char * const keys[] = { "is_quantized", "is_symmetric", NULL };
  g_autoptr(GHashTable) params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GList) members = NULL;
  JsonObject *object;

  object = require_object (ctx, node, path, error);
  if (object == NULL || !check_keys (ctx, object, path, kinds, error))
    return NULL;

  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *kind = l->data;
      g_autofree char *kind_path = join_key (path, kind);
      g_autofree ParamSettings *settings = g_new0 (ParamSettings, 1);
      JsonObject *kind_object;

      kind_object = require_object (ctx, json_object_get_member (object, kind), kind_path, error);
      if (kind_object == NULL ||
          !check_keys (ctx, kind_object, kind_path, keys, error) ||
          !parse_setting (ctx, kind_object, kind_path, "is_quantized", &settings->is_quantized, error) ||
          !parse_setting (ctx, kind_object, kind_path, "is_symmetric", &settings->is_symmetric, error))
        return NULL;

      g_hash_table_replace (params, g_strdup (kind), g_steal_pointer (&settings));
    }

  return g_steal_pointer (&params);
}

/* supported_kernels lists kernels of the target hardware. Placement does not use it, so
 * only its outer shape, an array of objects, is checked. */
static gboolean
check_supported_kernels (ParseContext  *ctx,
                         JsonObject    *object,
                         const char    *path,
                         GError       **error)
{
  JsonNode *node = json_object_get_member (object, "supported_kernels");
  g_autofree char *key_path = NULL;
  JsonArray *array;

  if (node == NULL)
    return TRUE;

  key_path = join_key (path, "supported_kernels");
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, key_path,
                     "must be an array of objects, not %s", node_type_name (node));
      return FALSE;
    }

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      if (!JSON_NODE_HOLDS_OBJECT (json_array_get_element (array, i)))
        {
          g_autofree char *item_path = g_strdup_printf ("%s[%u]", key_path, i);

          set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, item_path,
                         "must be an object");
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
parse_defaults (PeftqQuantsimConfig  *self,
                ParseContext         *ctx,
                JsonNode             *node,
                GError              **error)
{
  static const char * const keys[] = {
    "ops", "params", "strict_symmetric", "unsigned_symmetric", "per_channel_quantization",
    "supported_kernels", "hw_version", NULL
  };
  static const char * const ops_keys[] = {
    "is_input_quantized", "is_output_quantized", "is_symmetric", NULL
  };
  static const char * const params_keys[] = { "is_quantized", "is_symmetric", NULL };
  JsonObject *object, *ops, *params;
  JsonNode *hw_version;
  Setting setting;

  object = require_object (ctx, node, "defaults", error);
  if (object == NULL || !check_keys (ctx, object, "defaults", keys, error))
    return FALSE;

  if (!json_object_has_member (object, "ops"))
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, "defaults.ops", "is missing");
      return FALSE;
    }
  if (!json_object_has_member (object, "params"))
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, "defaults.params", "is missing");
      return FALSE;
    }

  ops = require_object (ctx, json_object_get_member (object, "ops"), "defaults.ops", error);
  if (ops == NULL || !check_keys (ctx, ops, "defaults.ops", ops_keys, error))
    return FALSE;

  /* AIMET raises NotImplementedError for a default input quantizer setting, whatever its
   * value, and for turning the default output quantizers off. */
  if (json_object_has_member (ops, "is_input_quantized"))
    {
      set_key_error (ctx, error, PEFTQ_ERROR_UNSUPPORTED, "defaults.ops.is_input_quantized",
                     "is not supported: input quantizers can only be set per op type or "
                     "for model inputs");
      return FALSE;
    }
  if (!parse_setting (ctx, ops, "defaults.ops", "is_output_quantized",
                      &self->default_output_quantized, error))
    return FALSE;
  if (self->default_output_quantized == SETTING_FALSE)
    {
      set_key_error (ctx, error, PEFTQ_ERROR_UNSUPPORTED, "defaults.ops.is_output_quantized",
                     "is \"False\", which is not supported; remove the key or set it to \"True\"");
      return FALSE;
    }
  if (!parse_setting (ctx, ops, "defaults.ops", "is_symmetric",
                      &self->default_activation_symmetric, error))
    return FALSE;

  params = require_object (ctx, json_object_get_member (object, "params"), "defaults.params", error);
  if (params == NULL ||
      !check_keys (ctx, params, "defaults.params", params_keys, error) ||
      !parse_setting (ctx, params, "defaults.params", "is_quantized",
                      &self->default_params.is_quantized, error) ||
      !parse_setting (ctx, params, "defaults.params", "is_symmetric",
                      &self->default_params.is_symmetric, error))
    return FALSE;

  /* The quantizers of AIMET v2 have no strict or unsigned symmetric grid. */
  if (!parse_setting (ctx, object, "defaults", "strict_symmetric", &setting, error))
    return FALSE;
  if (setting == SETTING_TRUE)
    {
      set_key_error (ctx, error, PEFTQ_ERROR_UNSUPPORTED, "defaults.strict_symmetric",
                     "is \"True\", which is not supported; set it to \"False\"");
      return FALSE;
    }
  if (!parse_setting (ctx, object, "defaults", "unsigned_symmetric", &setting, error))
    return FALSE;
  if (setting == SETTING_TRUE)
    {
      set_key_error (ctx, error, PEFTQ_ERROR_UNSUPPORTED, "defaults.unsigned_symmetric",
                     "is \"True\", which is not supported; set it to \"False\"");
      return FALSE;
    }

  if (!parse_setting (ctx, object, "defaults", "per_channel_quantization",
                      &self->default_per_channel, error))
    return FALSE;
  if (!check_supported_kernels (ctx, object, "defaults", error))
    return FALSE;

  hw_version = json_object_get_member (object, "hw_version");
  if (hw_version != NULL &&
      (!JSON_NODE_HOLDS_VALUE (hw_version) || json_node_get_value_type (hw_version) != G_TYPE_STRING))
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, "defaults.hw_version",
                     "must be a string, not %s", node_type_name (hw_version));
      return FALSE;
    }

  return TRUE;
}

static gboolean
parse_number (ParseContext  *ctx,
              JsonObject    *object,
              const char    *path,
              const char    *key,
              double        *out_value,
              GError       **error)
{
  JsonNode *node = json_object_get_member (object, key);
  g_autofree char *key_path = join_key (path, key);
  GType type;

  if (node == NULL)
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, key_path, "is missing");
      return FALSE;
    }

  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, key_path,
                     "must be a number, not %s", node_type_name (node));
      return FALSE;
    }

  *out_value = json_node_get_double (node);
  if (!isfinite (*out_value))
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, key_path, "must be finite");
      return FALSE;
    }

  return TRUE;
}

static gboolean
parse_encoding_constraints (ParseContext  *ctx,
                            JsonNode      *node,
                            const char    *path,
                            OpSettings    *op,
                            GError       **error)
{
  static const char * const keys[] = { "min", "max", NULL };
  JsonObject *object;

  object = require_object (ctx, node, path, error);
  if (object == NULL ||
      !check_keys (ctx, object, path, keys, error) ||
      !parse_number (ctx, object, path, "min", &op->constraint_min, error) ||
      !parse_number (ctx, object, path, "max", &op->constraint_max, error))
    return FALSE;

  if (!(op->constraint_min < op->constraint_max))
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, path,
                     "has min %g not below max %g; a fixed range needs min < max",
                     op->constraint_min, op->constraint_max);
      return FALSE;
    }

  op->has_encoding_constraints = TRUE;
  return TRUE;
}

static OpSettings *
parse_op (ParseContext  *ctx,
          JsonNode      *node,
          const char    *path,
          GError       **error)
{
  static const char * const keys[] = {
    "is_input_quantized", "is_output_quantized", "is_symmetric", "params",
    "supported_kernels", "per_channel_quantization", "encoding_constraints", NULL
  };
  g_autoptr(GHashTable) params = NULL;
  OpSettings *op;
  JsonObject *object;
  JsonNode *member;

  object = require_object (ctx, node, path, error);
  if (object == NULL || !check_keys (ctx, object, path, keys, error))
    return NULL;

  op = g_new0 (OpSettings, 1);
  if (!parse_setting (ctx, object, path, "is_input_quantized", &op->is_input_quantized, error) ||
      !parse_setting (ctx, object, path, "is_output_quantized", &op->is_output_quantized, error) ||
      !parse_setting (ctx, object, path, "is_symmetric", &op->is_symmetric, error) ||
      !parse_setting (ctx, object, path, "per_channel_quantization", &op->per_channel, error) ||
      !check_supported_kernels (ctx, object, path, error))
    goto fail;

  /* AIMET raises NotImplementedError: an op type can only turn its inputs on. */
  if (op->is_input_quantized == SETTING_FALSE)
    {
      g_autofree char *key_path = join_key (path, "is_input_quantized");

      set_key_error (ctx, error, PEFTQ_ERROR_UNSUPPORTED, key_path,
                     "is \"False\", which is not supported; input quantizers are off unless "
                     "turned on, so remove the key");
      goto fail;
    }

  member = json_object_get_member (object, "params");
  if (member != NULL)
    {
      g_autofree char *params_path = join_key (path, "params");

      op->params = parse_params (ctx, member, params_path, error);
      if (op->params == NULL)
        goto fail;
    }

  member = json_object_get_member (object, "encoding_constraints");
  if (member != NULL)
    {
      g_autofree char *constraints_path = join_key (path, "encoding_constraints");

      if (!parse_encoding_constraints (ctx, member, constraints_path, op, error))
        goto fail;
    }

  return op;

fail:
  op_settings_free (op);
  return NULL;
}

static gboolean
parse_op_types (PeftqQuantsimConfig  *self,
                ParseContext         *ctx,
                JsonNode             *node,
                GError              **error)
{
  g_autoptr(GList) members = NULL;
  JsonObject *object;

  object = require_object (ctx, node, "op_type", error);
  if (object == NULL)
    return FALSE;

  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      g_autofree char *path = join_key ("op_type", name);
      OpSettings *op;

      op = parse_op (ctx, json_object_get_member (object, name), path, error);
      if (op == NULL)
        return FALSE;

      g_hash_table_replace (self->op_types, g_strdup (name), op);
      g_ptr_array_add (self->op_type_names, g_strdup (name));
    }

  return TRUE;
}

static gboolean
parse_supergroups (PeftqQuantsimConfig  *self,
                   ParseContext         *ctx,
                   JsonNode             *node,
                   GError              **error)
{
  static const char * const keys[] = { "op_list", NULL };
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, "supergroups",
                     "must be an array, not %s", node_type_name (node));
      return FALSE;
    }

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *path = g_strdup_printf ("supergroups[%u]", i);
      g_autofree char *list_path = g_strdup_printf ("supergroups[%u].op_list", i);
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      JsonObject *object;
      JsonNode *list_node;
      JsonArray *list;

      object = require_object (ctx, json_array_get_element (array, i), path, error);
      if (object == NULL || !check_keys (ctx, object, path, keys, error))
        return FALSE;

      list_node = json_object_get_member (object, "op_list");
      if (list_node == NULL)
        {
          set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, list_path, "is missing");
          return FALSE;
        }
      if (!JSON_NODE_HOLDS_ARRAY (list_node))
        {
          set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, list_path,
                         "must be an array of op types, not %s", node_type_name (list_node));
          return FALSE;
        }

      list = json_node_get_array (list_node);
      if (json_array_get_length (list) < 2)
        {
          set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, list_path,
                         "has %u op types; a supergroup needs at least 2",
                         json_array_get_length (list));
          return FALSE;
        }

      for (guint j = 0; j < json_array_get_length (list); j++)
        {
          JsonNode *item = json_array_get_element (list, j);

          if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
            {
              g_autofree char *item_path = g_strdup_printf ("%s[%u]", list_path, j);

              set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, item_path,
                             "must be an op type string, not %s", node_type_name (item));
              return FALSE;
            }
          g_strv_builder_add (builder, json_node_get_string (item));
        }

      g_ptr_array_add (self->supergroups, g_strv_builder_end (builder));
    }

  return TRUE;
}

/* model_input and model_output: one optional key that AIMET only implements as "True". */
static gboolean
parse_model_io (ParseContext  *ctx,
                JsonNode      *node,
                const char    *path,
                const char    *key,
                gboolean      *out_quantized,
                GError       **error)
{
  const char * const keys[] = { key, NULL };
  JsonObject *object;
  Setting setting;

  object = require_object (ctx, node, path, error);
  if (object == NULL ||
      !check_keys (ctx, object, path, keys, error) ||
      !parse_setting (ctx, object, path, key, &setting, error))
    return FALSE;

  if (setting == SETTING_FALSE)
    {
      g_autofree char *key_path = join_key (path, key);

      set_key_error (ctx, error, PEFTQ_ERROR_UNSUPPORTED, key_path,
                     "is \"False\", which is not supported; remove the key or set it to \"True\"");
      return FALSE;
    }

  *out_quantized = setting == SETTING_TRUE;
  return TRUE;
}

static gboolean
parse_document (PeftqQuantsimConfig  *self,
                ParseContext         *ctx,
                JsonNode             *root,
                GError              **error)
{
  static const char * const keys[] = {
    "defaults", "params", "op_type", "supergroups", "model_input", "model_output", NULL
  };
  JsonObject *object;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Invalid quantsim configuration %s: the document must be an object, not %s",
                   ctx->source, node_type_name (root));
      return FALSE;
    }

  object = json_node_get_object (root);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      if (!json_object_has_member (object, keys[i]))
        {
          set_key_error (ctx, error, PEFTQ_ERROR_INVALID_DATA, keys[i],
                         "is missing; a configuration needs all of defaults, params, "
                         "op_type, supergroups, model_input and model_output");
          return FALSE;
        }
    }
  if (!check_keys (ctx, object, "", keys, error))
    return FALSE;

  if (!parse_defaults (self, ctx, json_object_get_member (object, "defaults"), error))
    return FALSE;

  g_clear_pointer (&self->params, g_hash_table_unref);
  self->params = parse_params (ctx, json_object_get_member (object, "params"), "params", error);
  if (self->params == NULL)
    return FALSE;

  if (!parse_op_types (self, ctx, json_object_get_member (object, "op_type"), error) ||
      !parse_supergroups (self, ctx, json_object_get_member (object, "supergroups"), error) ||
      !parse_model_io (ctx, json_object_get_member (object, "model_input"), "model_input",
                       "is_input_quantized", &self->model_input_quantized, error) ||
      !parse_model_io (ctx, json_object_get_member (object, "model_output"), "model_output",
                       "is_output_quantized", &self->model_output_quantized, error))
    return FALSE;

  self->document = json_node_ref (root);
  return TRUE;
}

static PeftqQuantsimConfig *
new_from_data_with_source (const char  *data,
                           gssize       length,
                           const char  *source,
                           GError     **error)
{
  g_autoptr(PeftqQuantsimConfig) self = NULL;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  ParseContext ctx = { source };

  if (!peftq_json_parser_load_data (parser, data, length, &local_error))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Invalid quantsim configuration %s: not valid JSON: %s",
                   source, local_error->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Invalid quantsim configuration %s: the document is empty", source);
      return NULL;
    }

  self = g_object_new (PEFTQ_TYPE_QUANTSIM_CONFIG, NULL);
  if (!parse_document (self, &ctx, json_parser_get_root (parser), error))
    return NULL;

  return g_steal_pointer (&self);
}

static PeftqQuantsimConfig *
new_builtin (const char *json,
             const char *name)
{
  g_autoptr(GError) error = NULL;
  PeftqQuantsimConfig *self;

  self = new_from_data_with_source (json, -1, name, &error);
  if (self == NULL)
    g_error ("%s", error->message);

  return self;
}

/**
 * peftq_quantsim_config_new_default:
 *
 * Creates the default configuration, the content of AIMET's `default_config.json`.
 *
 * Outputs of every op are quantized except those of Cast, Dropout, Expand, Squeeze, Pad,
 * Mean and Gather. Weights are quantized with a symmetric per-tensor grid, biases are
 * not quantized, model inputs are quantized, and the supergroups are Conv+Relu,
 * ConvTranspose+Relu, Conv+Clip, Add+Relu and Gemm+Relu.
 *
 * Returns: (transfer full): a new configuration
 *
 * Since: 1.0
 */
PeftqQuantsimConfig *
peftq_quantsim_config_new_default (void)
{
  return new_builtin (default_config_json, "(built-in default)");
}

/**
 * peftq_quantsim_config_new_default_per_channel:
 *
 * Creates the per-channel default configuration, the content of AIMET's
 * `default_config_per_channel.json`.
 *
 * It is the default configuration with per-channel weight quantization turned on,
 * except for Gemm, MatMul and LayerNorm.
 *
 * Returns: (transfer full): a new configuration
 *
 * Since: 1.0
 */
PeftqQuantsimConfig *
peftq_quantsim_config_new_default_per_channel (void)
{
  return new_builtin (default_per_channel_config_json, "(built-in per-channel default)");
}

/**
 * peftq_quantsim_config_new_from_data:
 * @data: the JSON document
 * @length: the length of @data in bytes, or -1 if it is NUL-terminated
 * @error: return location for a #GError
 *
 * Parses and validates a configuration in AIMET's JSON format.
 *
 * Returns: (transfer full) (nullable): a new configuration, or `NULL` with @error set
 *   to %PEFTQ_ERROR_INVALID_DATA for a malformed document or
 *   %PEFTQ_ERROR_UNSUPPORTED for a setting that AIMET does not implement
 *
 * Since: 1.0
 */
PeftqQuantsimConfig *
peftq_quantsim_config_new_from_data (const char  *data,
                                     gssize       length,
                                     GError     **error)
{
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return new_from_data_with_source (data, length, "(data)", error);
}

/**
 * peftq_quantsim_config_new_from_file:
 * @path: (type filename): the configuration file
 * @error: return location for a #GError
 *
 * Reads, parses and validates a configuration file in AIMET's JSON format.
 *
 * Returns: (transfer full) (nullable): a new configuration, or `NULL` with @error set:
 *   %PEFTQ_ERROR_IO when the file cannot be read, %PEFTQ_ERROR_INVALID_DATA for a
 *   malformed document, %PEFTQ_ERROR_UNSUPPORTED for a setting that AIMET does not
 *   implement
 *
 * Since: 1.0
 */
PeftqQuantsimConfig *
peftq_quantsim_config_new_from_file (const char  *path,
                                     GError     **error)
{
  g_autofree char *contents = NULL;
  g_autofree char *source = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_check_regular_file (path, error))
    return NULL;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO,
                   "Failed to read quantsim configuration “%s”: %s", path, local_error->message);
      return NULL;
    }

  source = g_strdup_printf ("“%s”", path);
  return new_from_data_with_source (contents, length, source, error);
}

/**
 * peftq_quantsim_config_to_data:
 * @self: a #PeftqQuantsimConfig
 * @length: (out) (optional): return location for the length of the result in bytes
 *
 * Serializes the configuration as AIMET's JSON format, indented by 4 spaces.
 *
 * Parsing the result gives a configuration with the same settings.
 *
 * Returns: (transfer full): the JSON document
 *
 * Since: 1.0
 */
char *
peftq_quantsim_config_to_data (PeftqQuantsimConfig *self,
                               gsize               *length)
{
  g_autoptr(JsonGenerator) generator = NULL;

  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), NULL);

  generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 4);
  json_generator_set_root (generator, self->document);

  return json_generator_to_data (generator, length);
}

/* Queries. */

static OpSettings *
lookup_op (PeftqQuantsimConfig *self,
           const char          *op_type)
{
  if (op_type == NULL)
    return NULL;
  return g_hash_table_lookup (self->op_types, op_type);
}

/* Returns the last set value of the levels, or FALSE when none is set. */
static gboolean
resolve (Setting first,
         Setting second,
         Setting third)
{
  if (third != SETTING_UNSET)
    return third == SETTING_TRUE;
  if (second != SETTING_UNSET)
    return second == SETTING_TRUE;
  return first == SETTING_TRUE;
}

/**
 * peftq_quantsim_config_is_output_quantized:
 * @self: a #PeftqQuantsimConfig
 * @op_type: (nullable): an ONNX op type such as `Gemm`, or `NULL` for the default
 *
 * Checks whether the output quantizers of ops of @op_type are turned on, by the entry of
 * the op type or else by `defaults.ops`.
 *
 * Supergroups can turn the output quantizer of an op off again; see
 * [method@Peftq.QuantsimConfig.get_supergroup].
 *
 * Returns: whether the outputs of @op_type are quantized
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_is_output_quantized (PeftqQuantsimConfig *self,
                                           const char          *op_type)
{
  OpSettings *op;

  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);

  op = lookup_op (self, op_type);
  return resolve (self->default_output_quantized, SETTING_UNSET,
                  op != NULL ? op->is_output_quantized : SETTING_UNSET);
}

/**
 * peftq_quantsim_config_is_input_quantized:
 * @self: a #PeftqQuantsimConfig
 * @op_type: (nullable): an ONNX op type such as `Gemm`, or `NULL` for the default
 *
 * Checks whether the entry of @op_type turns its input quantizers on.
 *
 * Inputs fed by a model input or a constant are also quantized when
 * [method@Peftq.QuantsimConfig.is_model_input_quantized] is `TRUE`.
 *
 * Returns: whether the inputs of @op_type are quantized
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_is_input_quantized (PeftqQuantsimConfig *self,
                                          const char          *op_type)
{
  OpSettings *op;

  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);

  op = lookup_op (self, op_type);
  return op != NULL && op->is_input_quantized == SETTING_TRUE;
}

/**
 * peftq_quantsim_config_is_activation_symmetric:
 * @self: a #PeftqQuantsimConfig
 * @op_type: (nullable): an ONNX op type such as `Gemm`, or `NULL` for the default
 *
 * Checks whether the input and output quantizers of @op_type use a symmetric grid, by
 * the entry of the op type or else by `defaults.ops.is_symmetric`.
 *
 * Returns: whether the activation quantizers of @op_type are symmetric
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_is_activation_symmetric (PeftqQuantsimConfig *self,
                                               const char          *op_type)
{
  OpSettings *op;

  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);

  op = lookup_op (self, op_type);
  return resolve (self->default_activation_symmetric, SETTING_UNSET,
                  op != NULL ? op->is_symmetric : SETTING_UNSET);
}

static void
lookup_param_levels (PeftqQuantsimConfig  *self,
                     const char           *op_type,
                     const char           *param_kind,
                     ParamSettings       **out_kind,
                     ParamSettings       **out_op_kind)
{
  OpSettings *op = lookup_op (self, op_type);

  *out_kind = g_hash_table_lookup (self->params, param_kind);
  *out_op_kind = NULL;
  if (op != NULL && op->params != NULL)
    *out_op_kind = g_hash_table_lookup (op->params, param_kind);
}

/**
 * peftq_quantsim_config_is_param_quantized:
 * @self: a #PeftqQuantsimConfig
 * @op_type: (nullable): an ONNX op type such as `Gemm`, or `NULL` for no op type entry
 * @param_kind: a parameter kind, `weight` or `bias`
 *
 * Checks whether parameters of @param_kind of @op_type are quantized, by
 * `op_type.<op>.params`, else by `params`, else by `defaults.params`.
 *
 * Returns: whether the parameter quantizers are turned on
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_is_param_quantized (PeftqQuantsimConfig *self,
                                          const char          *op_type,
                                          const char          *param_kind)
{
  ParamSettings *kind, *op_kind;

  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);
  g_return_val_if_fail (param_kind != NULL, FALSE);

  lookup_param_levels (self, op_type, param_kind, &kind, &op_kind);
  return resolve (self->default_params.is_quantized,
                  kind != NULL ? kind->is_quantized : SETTING_UNSET,
                  op_kind != NULL ? op_kind->is_quantized : SETTING_UNSET);
}

/**
 * peftq_quantsim_config_is_param_symmetric:
 * @self: a #PeftqQuantsimConfig
 * @op_type: (nullable): an ONNX op type such as `Gemm`, or `NULL` for no op type entry
 * @param_kind: a parameter kind, `weight` or `bias`
 *
 * Checks whether parameters of @param_kind of @op_type use a symmetric grid, with the
 * same precedence as [method@Peftq.QuantsimConfig.is_param_quantized].
 *
 * Returns: whether the parameter quantizers are symmetric
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_is_param_symmetric (PeftqQuantsimConfig *self,
                                          const char          *op_type,
                                          const char          *param_kind)
{
  ParamSettings *kind, *op_kind;

  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);
  g_return_val_if_fail (param_kind != NULL, FALSE);

  lookup_param_levels (self, op_type, param_kind, &kind, &op_kind);
  return resolve (self->default_params.is_symmetric,
                  kind != NULL ? kind->is_symmetric : SETTING_UNSET,
                  op_kind != NULL ? op_kind->is_symmetric : SETTING_UNSET);
}

/**
 * peftq_quantsim_config_is_per_channel:
 * @self: a #PeftqQuantsimConfig
 * @op_type: (nullable): an ONNX op type such as `Gemm`, or `NULL` for the default
 *
 * Checks whether the parameter quantizers of @op_type are per channel, by the entry of
 * the op type or else by `defaults.per_channel_quantization`.
 *
 * Returns: whether parameters of @op_type are quantized per channel
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_is_per_channel (PeftqQuantsimConfig *self,
                                      const char          *op_type)
{
  OpSettings *op;

  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);

  op = lookup_op (self, op_type);
  return resolve (self->default_per_channel, SETTING_UNSET,
                  op != NULL ? op->per_channel : SETTING_UNSET);
}

/**
 * peftq_quantsim_config_get_encoding_constraints:
 * @self: a #PeftqQuantsimConfig
 * @op_type: an ONNX op type such as `Softmax`
 * @out_min: (out) (optional): return location for the fixed minimum
 * @out_max: (out) (optional): return location for the fixed maximum
 *
 * Looks up the fixed output range (`encoding_constraints`) of @op_type. The output
 * quantizers of such ops get this range and keep it frozen through calibration.
 *
 * Returns: `TRUE` if @op_type has a fixed output range
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_get_encoding_constraints (PeftqQuantsimConfig *self,
                                                const char          *op_type,
                                                double              *out_min,
                                                double              *out_max)
{
  OpSettings *op;

  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);
  g_return_val_if_fail (op_type != NULL, FALSE);

  op = lookup_op (self, op_type);
  if (op == NULL || !op->has_encoding_constraints)
    return FALSE;

  if (out_min != NULL)
    *out_min = op->constraint_min;
  if (out_max != NULL)
    *out_max = op->constraint_max;
  return TRUE;
}

/**
 * peftq_quantsim_config_get_op_types:
 * @self: a #PeftqQuantsimConfig
 *
 * Lists the op types that have an entry under `op_type`, in file order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the op type names
 *
 * Since: 1.0
 */
char **
peftq_quantsim_config_get_op_types (PeftqQuantsimConfig *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), NULL);

  for (guint i = 0; i < self->op_type_names->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->op_type_names, i));

  return g_strv_builder_end (builder);
}

/**
 * peftq_quantsim_config_get_n_supergroups:
 * @self: a #PeftqQuantsimConfig
 *
 * Counts the supergroups of the configuration.
 *
 * Returns: the number of supergroups
 *
 * Since: 1.0
 */
guint
peftq_quantsim_config_get_n_supergroups (PeftqQuantsimConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), 0);

  return self->supergroups->len;
}

/**
 * peftq_quantsim_config_get_supergroup:
 * @self: a #PeftqQuantsimConfig
 * @index: the index of the supergroup, below
 *   [method@Peftq.QuantsimConfig.get_n_supergroups]
 *
 * Gets the op types of one supergroup, a sequence of at least two ops of the graph that
 * is quantized as one. The output quantizers of every op but the last are turned off,
 * and so are the input quantizers of every op but the first.
 *
 * Returns: (transfer full) (array zero-terminated=1): the op types in graph order
 *
 * Since: 1.0
 */
char **
peftq_quantsim_config_get_supergroup (PeftqQuantsimConfig *self,
                                      guint                index)
{
  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), NULL);
  g_return_val_if_fail (index < self->supergroups->len, NULL);

  return g_strdupv (g_ptr_array_index (self->supergroups, index));
}

/**
 * peftq_quantsim_config_is_model_input_quantized:
 * @self: a #PeftqQuantsimConfig
 *
 * Checks `model_input.is_input_quantized`: whether the inputs of ops that are fed by a
 * model input or by a constant are quantized. Constants of one element are left out.
 *
 * Returns: whether model inputs are quantized
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_is_model_input_quantized (PeftqQuantsimConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);

  return self->model_input_quantized;
}

/**
 * peftq_quantsim_config_is_model_output_quantized:
 * @self: a #PeftqQuantsimConfig
 *
 * Checks `model_output.is_output_quantized`: whether the ops that produce model outputs
 * keep their output quantizers on, even where a supergroup or an op type turned them off.
 *
 * Returns: whether model outputs are quantized
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_is_model_output_quantized (PeftqQuantsimConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);

  return self->model_output_quantized;
}

/**
 * peftq_quantsim_config_get_quantizer_args_symmetric:
 * @self: a #PeftqQuantsimConfig
 *
 * Gets the `is_symmetric` value of the `quantizer_args` object in encodings files:
 * `defaults.params.is_symmetric` if the file sets it, else the value of
 * `defaults.per_channel_quantization`.
 *
 * Returns: the `is_symmetric` entry of `quantizer_args`
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_get_quantizer_args_symmetric (PeftqQuantsimConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);

  if (self->default_params.is_symmetric != SETTING_UNSET)
    return self->default_params.is_symmetric == SETTING_TRUE;
  return self->default_per_channel == SETTING_TRUE;
}

/**
 * peftq_quantsim_config_get_quantizer_args_per_channel:
 * @self: a #PeftqQuantsimConfig
 *
 * Gets the `per_channel_quantization` value of the `quantizer_args` object in encodings
 * files: `defaults.per_channel_quantization`, or `FALSE` when the file does not set it.
 *
 * Returns: the `per_channel_quantization` entry of `quantizer_args`
 *
 * Since: 1.0
 */
gboolean
peftq_quantsim_config_get_quantizer_args_per_channel (PeftqQuantsimConfig *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANTSIM_CONFIG (self), FALSE);

  return self->default_per_channel == SETTING_TRUE;
}
