/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-encodings-file.h"
#include "peftq-json-private.h"

#include "peftq-encoding-private.h"
#include "peftq-error.h"
#include "peftq-file-private.h"

#include <math.h>
#include <string.h>

/**
 * PeftqEncodingsFile:
 *
 * The encodings of a quantized model in AIMET's JSON formats, versions 0.6.1 and 1.0.0.
 *
 * A file contains parameter encodings keyed by parameter name
 * (`<module name>.<parameter name>`), activation encodings, the names of excluded
 * layers and the quantizer arguments. Activation encodings have one of two layouts:
 *
 * - the ONNX layout of `<prefix>.encodings`, keyed by tensor name
 *   ([method@Peftq.EncodingsFile.set_activation_encoding]);
 * - the layout of `<prefix>_torch.encodings`
 *   ([property@Peftq.EncodingsFile:torch-layout]), keyed by module name, direction
 *   (`"input"` or `"output"`) and index ([method@Peftq.EncodingsFile.set_module_encoding]).
 *   This file always uses the 0.6.1 entry format, whatever its version string.
 *
 * In version 0.6.1 an entry is a list of one dictionary per channel with `bitwidth`,
 * `dtype`, `is_symmetric` (the string `"True"` or `"False"`), `max`, `min`, `offset` (the
 * legacy offset `offset + qmin`) and `scale`. In version 1.0.0 the ONNX layout has lists of
 * objects with `name`, `bw`, `dtype`, `enc_type`, `is_sym`, `scale` and `offset` lists,
 * and no range.
 *
 * Files are written with the keys of every object sorted, an indent of 4 spaces and the
 * version always present, and are replaced atomically. Reading accepts both the string
 * (in any case) and the boolean spelling of `is_symmetric`. Encodings read from a file
 * are rebuilt from `min` and `max` as AIMET's `set_legacy_encodings` does (from
 * `offset * scale` and `(offset + 2^bw - 1) * scale` in 1.0.0), with the signed grid when
 * symmetric and the unsigned grid otherwise, so a scale can move by one float32 step on
 * each save and load, as it does in AIMET; offsets stay exact. Their shape is flat: one
 * dimension with the channel count, or none for a single value. Float-typed entries, `LPBQ` and `VECTOR`
 * encodings are rejected as unsupported.
 *
 * Since: 1.0
 */

typedef struct
{
  GHashTable *input;   /* guint index -> PeftqEncoding */
  GHashTable *output;
} ModuleEncodings;

struct _PeftqEncodingsFile
{
  GObject parent_instance;

  char *version;
  gboolean torch_layout;
  GHashTable *params;        /* name -> PeftqEncoding */
  GHashTable *activations;   /* tensor name -> PeftqEncoding */
  GHashTable *modules;       /* module name -> ModuleEncodings */
  GPtrArray *excluded_layers;
  JsonObject *quantizer_args;
};

G_DEFINE_FINAL_TYPE (PeftqEncodingsFile, peftq_encodings_file, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_VERSION,
  PROP_TORCH_LAYOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static ModuleEncodings *
module_encodings_new (void)
{
  ModuleEncodings *entry = g_new0 (ModuleEncodings, 1);

  entry->input = g_hash_table_new_full (NULL, NULL, NULL,
                                        (GDestroyNotify) peftq_encoding_unref);
  entry->output = g_hash_table_new_full (NULL, NULL, NULL,
                                         (GDestroyNotify) peftq_encoding_unref);
  return entry;
}

static void
module_encodings_free (ModuleEncodings *entry)
{
  g_hash_table_unref (entry->input);
  g_hash_table_unref (entry->output);
  g_free (entry);
}

static gboolean
version_is_supported (const char *version)
{
  return g_strcmp0 (version, PEFTQ_ENCODINGS_VERSION_0_6_1) == 0 ||
         g_strcmp0 (version, PEFTQ_ENCODINGS_VERSION_1_0_0) == 0;
}

static gboolean
check_version (const char  *version,
               const char  *source,
               GError     **error)
{
  if (version_is_supported (version))
    return TRUE;

  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
               "%s%sUnsupported encodings version \"%s\": peftq reads and writes "
               "versions 0.6.1 and 1.0.0",
               source != NULL ? source : "", source != NULL ? ": " : "", version);
  return FALSE;
}

static void
peftq_encodings_file_finalize (GObject *object)
{
  PeftqEncodingsFile *self = PEFTQ_ENCODINGS_FILE (object);

  g_free (self->version);
  g_hash_table_unref (self->params);
  g_hash_table_unref (self->activations);
  g_hash_table_unref (self->modules);
  g_ptr_array_unref (self->excluded_layers);
  g_clear_pointer (&self->quantizer_args, json_object_unref);

  G_OBJECT_CLASS (peftq_encodings_file_parent_class)->finalize (object);
}

static void
peftq_encodings_file_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  PeftqEncodingsFile *self = PEFTQ_ENCODINGS_FILE (object);

  switch (prop_id)
    {
    case PROP_VERSION:
      g_value_set_string (value, self->version);
      break;
    case PROP_TORCH_LAYOUT:
      g_value_set_boolean (value, self->torch_layout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_encodings_file_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  PeftqEncodingsFile *self = PEFTQ_ENCODINGS_FILE (object);
  g_autoptr(GError) error = NULL;

  switch (prop_id)
    {
    case PROP_VERSION:
      if (!peftq_encodings_file_set_version (self, g_value_get_string (value), &error))
        g_warning ("%s", error->message);
      break;
    case PROP_TORCH_LAYOUT:
      self->torch_layout = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_encodings_file_class_init (PeftqEncodingsFileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = peftq_encodings_file_finalize;
  object_class->get_property = peftq_encodings_file_get_property;
  object_class->set_property = peftq_encodings_file_set_property;

  /**
   * PeftqEncodingsFile:version:
   *
   * The format version, `"0.6.1"` or `"1.0.0"`.
   *
   * Since: 1.0
   */
  properties[PROP_VERSION] =
    g_param_spec_string ("version", NULL, NULL,
                         PEFTQ_ENCODINGS_VERSION_0_6_1,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * PeftqEncodingsFile:torch-layout:
   *
   * Whether activation encodings are keyed by module, direction and index, as in
   * AIMET's `_torch.encodings` files, rather than by tensor name.
   *
   * Since: 1.0
   */
  properties[PROP_TORCH_LAYOUT] =
    g_param_spec_boolean ("torch-layout", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
peftq_encodings_file_init (PeftqEncodingsFile *self)
{
  self->version = g_strdup (PEFTQ_ENCODINGS_VERSION_0_6_1);
  self->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) peftq_encoding_unref);
  self->activations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) peftq_encoding_unref);
  self->modules = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) module_encodings_free);
  self->excluded_layers = g_ptr_array_new_with_free_func (g_free);
}

/**
 * peftq_encodings_file_new:
 * @version: the format version, `"0.6.1"` or `"1.0.0"`
 * @torch_layout: whether activation encodings are keyed by module, as in a
 *   `_torch.encodings` file
 * @error: return location for a #GError
 *
 * Creates an empty encodings file.
 *
 * Returns: (transfer full): the new file, or `NULL` with @error set when the version is
 *   not supported
 *
 * Since: 1.0
 */
PeftqEncodingsFile *
peftq_encodings_file_new (const char  *version,
                          gboolean     torch_layout,
                          GError     **error)
{
  g_return_val_if_fail (version != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_version (version, NULL, error))
    return NULL;

  return g_object_new (PEFTQ_TYPE_ENCODINGS_FILE,
                       "version", version,
                       "torch-layout", torch_layout,
                       NULL);
}

/* Reading */

typedef struct
{
  const char *source;
} ReadContext;

static gboolean
read_error (GError     **error,
            const char  *source,
            const char  *where,
            const char  *format,
            ...) G_GNUC_PRINTF (4, 5);

static gboolean
read_error (GError     **error,
            const char  *source,
            const char  *where,
            const char  *format,
            ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA, "%s: %s: %s",
               source, where, message);
  return FALSE;
}

static const char *
node_type_name (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return "null";
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "a list";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_BOOLEAN:
      return "a boolean";
    case G_TYPE_STRING:
      return "a string";
    default:
      return "a number";
    }
}

static gboolean
node_is_number (JsonNode *node)
{
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static gboolean
read_number (const ReadContext  *ctx,
             JsonObject         *object,
             const char         *member,
             const char         *where,
             double             *out,
             GError            **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL)
    return read_error (error, ctx->source, where, "missing \"%s\"", member);
  if (!node_is_number (node))
    return read_error (error, ctx->source, where, "\"%s\" must be a number, not %s",
                       member, node_type_name (node));

  *out = json_node_get_double (node);
  return TRUE;
}

static gboolean
node_get_integer (JsonNode *node,
                  gint64   *out)
{
  double value;

  if (!node_is_number (node))
    return FALSE;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    {
      *out = json_node_get_int (node);
      return TRUE;
    }
  value = json_node_get_double (node);
  if (!(value == floor (value) && fabs (value) < 9007199254740992.0))
    return FALSE;
  *out = (gint64) value;
  return TRUE;
}

static gboolean
read_integer (const ReadContext  *ctx,
              JsonObject         *object,
              const char         *member,
              const char         *where,
              gint64             *out,
              GError            **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL)
    return read_error (error, ctx->source, where, "missing \"%s\"", member);
  if (!node_get_integer (node, out))
    return read_error (error, ctx->source, where, "\"%s\" must be an integer, not %s",
                       member, node_type_name (node));
  return TRUE;
}

static gboolean
read_bitwidth (const ReadContext  *ctx,
               JsonObject         *object,
               const char         *member,
               const char         *where,
               guint              *out,
               GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 value = 0;

  if (!read_integer (ctx, object, member, where, &value, error))
    return FALSE;
  if (value < 1 || value > G_MAXINT32)
    return read_error (error, ctx->source, where,
                       "invalid \"%s\" %" G_GINT64_FORMAT ": it must be positive",
                       member, value);
  if (!peftq_encoding_check_bitwidth ((guint) value, &local_error))
    {
      g_set_error (error, PEFTQ_ERROR, local_error->code, "%s: %s: %s",
                   ctx->source, where, local_error->message);
      return FALSE;
    }

  *out = (guint) value;
  return TRUE;
}

static gboolean
read_string (const ReadContext  *ctx,
             JsonObject         *object,
             const char         *member,
             const char         *where,
             const char        **out,
             GError            **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL)
    return read_error (error, ctx->source, where, "missing \"%s\"", member);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return read_error (error, ctx->source, where, "\"%s\" must be a string, not %s",
                       member, node_type_name (node));

  *out = json_node_get_string (node);
  return TRUE;
}

/* Accepts a JSON boolean or the strings "true" and "false" in any case. */
static gboolean
read_symmetric (const ReadContext  *ctx,
                JsonObject         *object,
                const char         *member,
                const char         *where,
                gboolean           *out,
                GError            **error)
{
  JsonNode *node = json_object_get_member (object, member);
  const char *text;

  if (node == NULL)
    return read_error (error, ctx->source, where, "missing \"%s\"", member);
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    {
      *out = json_node_get_boolean (node);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return read_error (error, ctx->source, where,
                       "\"%s\" must be a boolean or \"True\"/\"False\", not %s",
                       member, node_type_name (node));

  text = json_node_get_string (node);
  if (g_ascii_strcasecmp (text, "true") == 0)
    *out = TRUE;
  else if (g_ascii_strcasecmp (text, "false") == 0)
    *out = FALSE;
  else
    return read_error (error, ctx->source, where,
                       "invalid \"%s\" \"%s\": expected \"True\" or \"False\"", member, text);
  return TRUE;
}

static PeftqEncoding *
build_flat_encoding (const ReadContext  *ctx,
                     const char         *where,
                     const float        *min,
                     const float        *max,
                     gsize               n_values,
                     guint               bitwidth,
                     gboolean            symmetric,
                     const gint64       *block_size,
                     GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 shape = (gint64) n_values;
  PeftqEncoding *encoding;

  encoding = peftq_encoding_new (&shape, n_values > 1 ? 1 : 0, block_size,
                                 block_size != NULL && n_values > 1 ? 1 : 0,
                                 min, n_values, max, n_values,
                                 bitwidth, symmetric, symmetric, &local_error);
  if (encoding == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA, "%s: %s: %s",
                   ctx->source, where, local_error->message);
      return NULL;
    }
  return encoding;
}

static gboolean
check_int_dtype (const ReadContext  *ctx,
                 JsonObject         *object,
                 const char         *member,
                 const char         *where,
                 GError            **error)
{
  const char *dtype;

  if (!json_object_has_member (object, member))
    return TRUE;
  if (!read_string (ctx, object, member, where, &dtype, error))
    return FALSE;
  if (g_ascii_strcasecmp (dtype, "int") == 0)
    return TRUE;
  if (g_ascii_strcasecmp (dtype, "float") == 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "%s: %s: float encodings are not supported", ctx->source, where);
      return FALSE;
    }
  return read_error (error, ctx->source, where, "invalid \"%s\" \"%s\": expected \"int\"",
                     member, dtype);
}

/* Reads one 0.6.1 dictionary. */
static gboolean
read_legacy_dict (const ReadContext  *ctx,
                  JsonNode           *node,
                  const char         *where,
                  guint              *bitwidth,
                  gboolean           *symmetric,
                  float              *min,
                  float              *max,
                  GError            **error)
{
  JsonObject *object;
  double value;
  double scale;
  gint64 offset;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return read_error (error, ctx->source, where, "an encoding must be an object, not %s",
                       node_type_name (node));
  object = json_node_get_object (node);

  if (!check_int_dtype (ctx, object, "dtype", where, error))
    return FALSE;
  if (!read_bitwidth (ctx, object, "bitwidth", where, bitwidth, error))
    return FALSE;
  if (!read_symmetric (ctx, object, "is_symmetric", where, symmetric, error))
    return FALSE;
  if (!read_number (ctx, object, "scale", where, &scale, error))
    return FALSE;
  if (!(scale > 0.0 && isfinite (scale)))
    return read_error (error, ctx->source, where, "invalid \"scale\" %g: it must be positive",
                       scale);
  if (!read_integer (ctx, object, "offset", where, &offset, error))
    return FALSE;
  if (!read_number (ctx, object, "min", where, &value, error))
    return FALSE;
  *min = (float) value;
  if (!read_number (ctx, object, "max", where, &value, error))
    return FALSE;
  *max = (float) value;

  return TRUE;
}

/* Reads a 0.6.1 entry: one dictionary, or a list of one per channel. */
static PeftqEncoding *
read_legacy_entry (const ReadContext  *ctx,
                   JsonNode           *node,
                   const char         *where,
                   GError            **error)
{
  g_autofree float *min = NULL;
  g_autofree float *max = NULL;
  JsonArray *array;
  guint n_values;
  guint bitwidth = 0;
  gboolean symmetric = FALSE;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      float lo;
      float hi;

      if (!read_legacy_dict (ctx, node, where, &bitwidth, &symmetric, &lo, &hi, error))
        return NULL;
      return build_flat_encoding (ctx, where, &lo, &hi, 1, bitwidth, symmetric, NULL, error);
    }

  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      read_error (error, ctx->source, where, "expected a list of encodings, not %s",
                  node_type_name (node));
      return NULL;
    }

  array = json_node_get_array (node);
  n_values = json_array_get_length (array);
  if (n_values == 0)
    {
      read_error (error, ctx->source, where, "the list of encodings is empty");
      return NULL;
    }

  min = g_new (float, n_values);
  max = g_new (float, n_values);
  for (guint i = 0; i < n_values; i++)
    {
      g_autofree char *item_where = g_strdup_printf ("%s[%u]", where, i);
      guint item_bitwidth = 0;
      gboolean item_symmetric = FALSE;

      if (!read_legacy_dict (ctx, json_array_get_element (array, i), item_where,
                             &item_bitwidth, &item_symmetric, &min[i], &max[i], error))
        return NULL;
      if (i == 0)
        {
          bitwidth = item_bitwidth;
          symmetric = item_symmetric;
        }
      else if (item_bitwidth != bitwidth || item_symmetric != symmetric)
        {
          read_error (error, ctx->source, item_where,
                      "all channels must have the same bitwidth and symmetry as the first");
          return NULL;
        }
    }

  return build_flat_encoding (ctx, where, min, max, n_values, bitwidth, symmetric, NULL, error);
}

static gboolean
read_number_list (const ReadContext  *ctx,
                  JsonObject         *object,
                  const char         *member,
                  const char         *where,
                  gboolean            integers,
                  GArray            **out,
                  GError            **error)
{
  JsonNode *node = json_object_get_member (object, member);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  JsonArray *array;

  if (node == NULL)
    return read_error (error, ctx->source, where, "missing \"%s\"", member);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return read_error (error, ctx->source, where, "\"%s\" must be a list, not %s",
                       member, node_type_name (node));

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      double value;
      gint64 integer;

      if (integers)
        {
          if (!node_get_integer (element, &integer))
            return read_error (error, ctx->source, where,
                               "\"%s\"[%u] must be an integer, not %s",
                               member, i, node_type_name (element));
          value = (double) integer;
        }
      else
        {
          if (!node_is_number (element))
            return read_error (error, ctx->source, where,
                               "\"%s\"[%u] must be a number, not %s",
                               member, i, node_type_name (element));
          value = json_node_get_double (element);
        }
      g_array_append_val (values, value);
    }

  if (values->len == 0)
    return read_error (error, ctx->source, where, "\"%s\" is empty", member);

  *out = g_steal_pointer (&values);
  return TRUE;
}

/* Reads a 1.0.0 object and returns its name in *name. */
static PeftqEncoding *
read_v1_entry (const ReadContext  *ctx,
               JsonNode           *node,
               const char         *list_name,
               guint               position,
               const char        **name,
               GError            **error)
{
  g_autofree char *where = g_strdup_printf ("%s[%u]", list_name, position);
  g_autofree char *named_where = NULL;
  g_autoptr(GArray) scales = NULL;
  g_autoptr(GArray) offsets = NULL;
  g_autofree float *min = NULL;
  g_autofree float *max = NULL;
  JsonObject *object;
  const char *enc_type;
  guint bitwidth = 0;
  gboolean symmetric = FALSE;
  gint64 block = 0;
  gboolean blockwise = FALSE;
  float num_steps;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      read_error (error, ctx->source, where, "an encoding must be an object, not %s",
                  node_type_name (node));
      return NULL;
    }
  object = json_node_get_object (node);

  if (!read_string (ctx, object, "name", where, name, error))
    return NULL;
  named_where = g_strdup_printf ("%s \"%s\"", list_name, *name);

  if (!check_int_dtype (ctx, object, "dtype", named_where, error))
    return NULL;
  if (!read_string (ctx, object, "enc_type", named_where, &enc_type, error))
    return NULL;
  if (g_strcmp0 (enc_type, "PER_BLOCK") == 0)
    {
      blockwise = TRUE;
      if (!read_integer (ctx, object, "block_size", named_where, &block, error))
        return NULL;
      if (block < 1)
        {
          read_error (error, ctx->source, named_where,
                      "invalid \"block_size\" %" G_GINT64_FORMAT ": it must be positive",
                      block);
          return NULL;
        }
    }
  else if (g_strcmp0 (enc_type, "LPBQ") == 0 || g_strcmp0 (enc_type, "VECTOR") == 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "%s: %s: %s encodings are not supported", ctx->source, named_where,
                   enc_type);
      return NULL;
    }
  else if (g_strcmp0 (enc_type, "PER_TENSOR") != 0 && g_strcmp0 (enc_type, "PER_CHANNEL") != 0)
    {
      read_error (error, ctx->source, named_where, "unknown \"enc_type\" \"%s\"", enc_type);
      return NULL;
    }

  if (!read_bitwidth (ctx, object, "bw", named_where, &bitwidth, error))
    return NULL;
  if (!read_symmetric (ctx, object, "is_sym", named_where, &symmetric, error))
    return NULL;
  if (!read_number_list (ctx, object, "scale", named_where, FALSE, &scales, error))
    return NULL;
  if (!read_number_list (ctx, object, "offset", named_where, TRUE, &offsets, error))
    return NULL;
  if (scales->len != offsets->len)
    {
      read_error (error, ctx->source, named_where,
                  "%u scales but %u offsets; give one offset per scale",
                  scales->len, offsets->len);
      return NULL;
    }
  if (g_strcmp0 (enc_type, "PER_TENSOR") == 0 && scales->len != 1)
    {
      read_error (error, ctx->source, named_where,
                  "a PER_TENSOR encoding needs 1 scale, not %u", scales->len);
      return NULL;
    }

  num_steps = (float) (((guint64) 1 << bitwidth) - 1);
  min = g_new (float, scales->len);
  max = g_new (float, scales->len);
  for (guint i = 0; i < scales->len; i++)
    {
      float scale = (float) g_array_index (scales, double, i);
      float offset = (float) g_array_index (offsets, double, i);

      if (!(scale > 0.0f && isfinite (scale)))
        {
          read_error (error, ctx->source, named_where,
                      "invalid scale %g at index %u: it must be positive", scale, i);
          return NULL;
        }
      min[i] = offset * scale;
      max[i] = (offset + num_steps) * scale;
    }

  return build_flat_encoding (ctx, named_where, min, max, scales->len, bitwidth, symmetric,
                              blockwise ? &block : NULL, error);
}

static gboolean
read_v1_list (PeftqEncodingsFile  *self,
              const ReadContext   *ctx,
              JsonNode            *node,
              const char          *list_name,
              GHashTable          *table,
              GError             **error)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return read_error (error, ctx->source, list_name, "expected a list, not %s",
                       node_type_name (node));

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *name = NULL;
      PeftqEncoding *encoding;

      encoding = read_v1_entry (ctx, json_array_get_element (array, i), list_name, i, &name,
                                error);
      if (encoding == NULL)
        return FALSE;
      if (g_hash_table_contains (table, name))
        {
          peftq_encoding_unref (encoding);
          return read_error (error, ctx->source, list_name, "\"%s\" appears twice", name);
        }
      g_hash_table_insert (table, g_strdup (name), encoding);
    }

  return TRUE;
}

static gboolean
read_legacy_table (const ReadContext  *ctx,
                   JsonNode           *node,
                   const char         *table_name,
                   GHashTable         *table,
                   GError            **error)
{
  JsonObject *object;
  g_autoptr(GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return read_error (error, ctx->source, table_name, "expected an object, not %s",
                       node_type_name (node));

  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      g_autofree char *where = g_strdup_printf ("%s \"%s\"", table_name, name);
      PeftqEncoding *encoding;

      encoding = read_legacy_entry (ctx, json_object_get_member (object, name), where, error);
      if (encoding == NULL)
        return FALSE;
      g_hash_table_insert (table, g_strdup (name), encoding);
    }

  return TRUE;
}

static gboolean
read_module_direction (PeftqEncodingsFile  *self,
                       const ReadContext   *ctx,
                       const char          *module,
                       JsonObject          *module_object,
                       const char          *direction,
                       GError             **error)
{
  JsonNode *node = json_object_get_member (module_object, direction);
  g_autofree char *where = g_strdup_printf ("activation_encodings \"%s\" %s", module, direction);
  g_autoptr(GList) members = NULL;
  JsonObject *object;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return read_error (error, ctx->source, where,
                       "expected an object keyed by index, not %s", node_type_name (node));

  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      g_autofree char *item_where = g_strdup_printf ("%s \"%s\"", where, key);
      guint64 index = 0;
      PeftqEncoding *encoding;
      gboolean ok;

      if (!g_ascii_string_to_unsigned (key, 10, 0, G_MAXUINT, &index, NULL))
        return read_error (error, ctx->source, where,
                           "invalid index \"%s\": expected a non-negative integer", key);

      encoding = read_legacy_entry (ctx, json_object_get_member (object, key), item_where,
                                    error);
      if (encoding == NULL)
        return FALSE;
      ok = peftq_encodings_file_set_module_encoding (self, module, direction, (guint) index,
                                                     encoding, error);
      peftq_encoding_unref (encoding);
      if (!ok)
        return FALSE;
    }

  return TRUE;
}

static gboolean
read_module_table (PeftqEncodingsFile  *self,
                   const ReadContext   *ctx,
                   JsonNode            *node,
                   GError             **error)
{
  JsonObject *object;
  g_autoptr(GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return read_error (error, ctx->source, "activation_encodings",
                       "expected an object, not %s", node_type_name (node));

  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *module = l->data;
      JsonNode *module_node = json_object_get_member (object, module);
      g_autofree char *where = g_strdup_printf ("activation_encodings \"%s\"", module);
      JsonObject *module_object;

      if (!JSON_NODE_HOLDS_OBJECT (module_node))
        return read_error (error, ctx->source, where,
                           "expected an object with \"input\" and \"output\", not %s",
                           node_type_name (module_node));
      module_object = json_node_get_object (module_node);
      if (!read_module_direction (self, ctx, module, module_object, "input", error) ||
          !read_module_direction (self, ctx, module, module_object, "output", error))
        return FALSE;
    }

  return TRUE;
}

/* Decides whether a parsed file uses the torch layout: module objects in
 * activation_encodings, or in version 1.0.0 objects rather than lists. */
static gboolean
detect_torch_layout (JsonObject *root,
                     const char *version)
{
  JsonNode *activations = json_object_get_member (root, "activation_encodings");
  JsonNode *params = json_object_get_member (root, "param_encodings");
  g_autoptr(GList) members = NULL;

  if (g_strcmp0 (version, PEFTQ_ENCODINGS_VERSION_1_0_0) == 0)
    {
      if ((activations != NULL && JSON_NODE_HOLDS_ARRAY (activations)) ||
          (params != NULL && JSON_NODE_HOLDS_ARRAY (params)))
        return FALSE;
      return (activations != NULL && JSON_NODE_HOLDS_OBJECT (activations)) ||
             (params != NULL && JSON_NODE_HOLDS_OBJECT (params));
    }

  if (activations == NULL || !JSON_NODE_HOLDS_OBJECT (activations))
    return FALSE;
  members = json_object_get_members (json_node_get_object (activations));
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *entry = json_object_get_member (json_node_get_object (activations), l->data);

      if (JSON_NODE_HOLDS_OBJECT (entry))
        {
          JsonObject *object = json_node_get_object (entry);

          if (json_object_has_member (object, "input") || json_object_has_member (object, "output"))
            return TRUE;
        }
    }
  return FALSE;
}

static PeftqEncodingsFile *
read_root (JsonNode    *root_node,
           const char  *source,
           GError     **error)
{
  g_autoptr(PeftqEncodingsFile) self = NULL;
  ReadContext ctx = { source };
  JsonObject *root;
  JsonNode *node;
  const char *version;
  gboolean torch_layout;
  gboolean v1_lists;

  if (root_node == NULL || !JSON_NODE_HOLDS_OBJECT (root_node))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: the top level must be a JSON object", source);
      return NULL;
    }
  root = json_node_get_object (root_node);

  node = json_object_get_member (root, "version");
  if (node == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s: missing \"version\"; AIMET encodings files give \"0.6.1\" or \"1.0.0\"",
                   source);
      return NULL;
    }
  if (!read_string (&ctx, root, "version", "top level", &version, error))
    return NULL;
  if (!check_version (version, source, error))
    return NULL;

  torch_layout = detect_torch_layout (root, version);
  v1_lists = !torch_layout && g_strcmp0 (version, PEFTQ_ENCODINGS_VERSION_1_0_0) == 0;
  self = g_object_new (PEFTQ_TYPE_ENCODINGS_FILE,
                       "version", version,
                       "torch-layout", torch_layout,
                       NULL);

  node = json_object_get_member (root, "param_encodings");
  if (node != NULL)
    {
      if (v1_lists && !read_v1_list (self, &ctx, node, "param_encodings", self->params, error))
        return NULL;
      if (!v1_lists && !read_legacy_table (&ctx, node, "param_encodings", self->params, error))
        return NULL;
    }

  node = json_object_get_member (root, "activation_encodings");
  if (node != NULL)
    {
      if (torch_layout)
        {
          if (!read_module_table (self, &ctx, node, error))
            return NULL;
        }
      else if (v1_lists)
        {
          if (!read_v1_list (self, &ctx, node, "activation_encodings", self->activations, error))
            return NULL;
        }
      else if (!read_legacy_table (&ctx, node, "activation_encodings", self->activations, error))
        {
          return NULL;
        }
    }

  node = json_object_get_member (root, "excluded_layers");
  if (node != NULL)
    {
      JsonArray *array;

      if (!JSON_NODE_HOLDS_ARRAY (node))
        {
          read_error (error, source, "excluded_layers", "expected a list, not %s",
                      node_type_name (node));
          return NULL;
        }
      array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (!JSON_NODE_HOLDS_VALUE (element) ||
              json_node_get_value_type (element) != G_TYPE_STRING)
            {
              read_error (error, source, "excluded_layers", "entry %u must be a string, not %s",
                          i, node_type_name (element));
              return NULL;
            }
          g_ptr_array_add (self->excluded_layers, g_strdup (json_node_get_string (element)));
        }
    }

  node = json_object_get_member (root, "quantizer_args");
  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          read_error (error, source, "quantizer_args", "expected an object, not %s",
                      node_type_name (node));
          return NULL;
        }
      self->quantizer_args = json_node_dup_object (node);
    }

  return g_steal_pointer (&self);
}

/**
 * peftq_encodings_file_new_from_data:
 * @data: the JSON text
 * @length: the length of @data in bytes, or -1 when it is NUL-terminated
 * @error: return location for a #GError
 *
 * Parses an encodings file from memory. See [ctor@Peftq.EncodingsFile.new_from_file].
 *
 * Returns: (transfer full): the file, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqEncodingsFile *
peftq_encodings_file_new_from_data (const char  *data,
                                    gssize       length,
                                    GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_json_parser_load_data (parser, data, length, &local_error))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "Encodings data is not valid JSON: %s", local_error->message);
      return NULL;
    }

  return read_root (json_parser_get_root (parser), "encodings data", error);
}

/**
 * peftq_encodings_file_new_from_file:
 * @path: (type filename): the path of a `.encodings` file
 * @error: return location for a #GError
 *
 * Reads an encodings file of version 0.6.1 or 1.0.0, detecting its layout. Errors name
 * the file and the entry: an unknown version, a missing or malformed field, a
 * non-positive bitwidth or scale, or lists of different lengths.
 *
 * Returns: (transfer full): the file, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqEncodingsFile *
peftq_encodings_file_new_from_file (const char  *path,
                                    GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_check_regular_file (path, error))
    return NULL;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, PEFTQ_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                   ? PEFTQ_ERROR_NOT_FOUND : PEFTQ_ERROR_IO,
                   "Cannot read the encodings file %s: %s", path, local_error->message);
      return NULL;
    }

  if (!peftq_json_parser_load_data (parser, contents, (gssize) length, &local_error))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s is not valid JSON: %s", path, local_error->message);
      return NULL;
    }

  return read_root (json_parser_get_root (parser), path, error);
}

/* Writing */

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static GPtrArray *
sorted_keys (GHashTable *table)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_strings);

  return keys;
}

static JsonNode *
legacy_dict_node (PeftqEncoding *encoding,
                  gsize          i)
{
  JsonObject *object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  gsize n = 0;

  /* Members in sorted order. */
  json_object_set_int_member (object, "bitwidth", peftq_encoding_get_bitwidth (encoding));
  json_object_set_string_member (object, "dtype", "int");
  json_object_set_string_member (object, "is_symmetric",
                                 peftq_encoding_get_symmetric (encoding) ? "True" : "False");
  json_object_set_double_member (object, "max", peftq_encoding_get_max (encoding, &n)[i]);
  json_object_set_double_member (object, "min", peftq_encoding_get_min (encoding, &n)[i]);
  json_object_set_int_member (object, "offset",
                              peftq_encoding_get_legacy_offset (encoding, &n)[i]);
  json_object_set_double_member (object, "scale", peftq_encoding_get_scale (encoding, &n)[i]);

  json_node_take_object (node, object);
  return node;
}

static JsonNode *
legacy_list_node (PeftqEncoding *encoding)
{
  JsonArray *array = json_array_new ();
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (gsize i = 0; i < peftq_encoding_get_n_values (encoding); i++)
    json_array_add_element (array, legacy_dict_node (encoding, i));

  json_node_take_array (node, array);
  return node;
}

static JsonNode *
legacy_table_node (GHashTable *table)
{
  g_autoptr(GPtrArray) keys = sorted_keys (table);
  JsonObject *object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  for (guint i = 0; i < keys->len; i++)
    json_object_set_member (object, keys->pdata[i],
                            legacy_list_node (g_hash_table_lookup (table, keys->pdata[i])));

  json_node_take_object (node, object);
  return node;
}

/* The block size that 1.0.0 files give: the first entry that is not 1, else the second
 * entry (or the only one). */
static gint64
v1_block_size (PeftqEncoding *encoding)
{
  guint n_block_size = 0;
  const gint64 *block_size = peftq_encoding_get_block_size (encoding, &n_block_size);

  for (guint i = 0; i < n_block_size; i++)
    if (block_size[i] != 1)
      return block_size[i];
  return n_block_size > 1 ? block_size[1] : block_size[0];
}

static JsonNode *
v1_entry_node (const char    *name,
               PeftqEncoding *encoding)
{
  JsonObject *object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  JsonArray *scales = json_array_new ();
  JsonArray *offsets = json_array_new ();
  guint n_block_size = 0;
  gsize n = peftq_encoding_get_n_values (encoding);
  const float *scale = peftq_encoding_get_scale (encoding, &n);
  const gint32 *offset = peftq_encoding_get_legacy_offset (encoding, &n);
  const char *enc_type;

  peftq_encoding_get_block_size (encoding, &n_block_size);
  if (n_block_size > 0)
    enc_type = "PER_BLOCK";
  else if (n > 1)
    enc_type = "PER_CHANNEL";
  else
    enc_type = "PER_TENSOR";

  for (gsize i = 0; i < n; i++)
    {
      json_array_add_double_element (scales, scale[i]);
      json_array_add_int_element (offsets, offset[i]);
    }

  /* Members in sorted order. */
  if (n_block_size > 0)
    json_object_set_int_member (object, "block_size", v1_block_size (encoding));
  json_object_set_int_member (object, "bw", peftq_encoding_get_bitwidth (encoding));
  json_object_set_string_member (object, "dtype", "INT");
  json_object_set_string_member (object, "enc_type", enc_type);
  json_object_set_boolean_member (object, "is_sym", peftq_encoding_get_symmetric (encoding));
  json_object_set_string_member (object, "name", name);
  json_object_set_array_member (object, "offset", offsets);
  json_object_set_array_member (object, "scale", scales);

  json_node_take_object (node, object);
  return node;
}

static JsonNode *
v1_list_node (GHashTable *table)
{
  g_autoptr(GPtrArray) keys = sorted_keys (table);
  JsonArray *array = json_array_new ();
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; i < keys->len; i++)
    json_array_add_element (array, v1_entry_node (keys->pdata[i],
                                                  g_hash_table_lookup (table, keys->pdata[i])));

  json_node_take_array (node, array);
  return node;
}

static int
compare_index_keys (gconstpointer a,
                    gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static JsonNode *
direction_node (GHashTable *indices)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  JsonObject *object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, indices);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, g_strdup_printf ("%u", GPOINTER_TO_UINT (key)));
  /* JSON keys sort as strings, as Python's json.dump (sort_keys=True) sorts them. */
  g_ptr_array_sort (keys, compare_index_keys);

  for (guint i = 0; i < keys->len; i++)
    {
      guint index = (guint) g_ascii_strtoull (keys->pdata[i], NULL, 10);
      PeftqEncoding *encoding = g_hash_table_lookup (indices, GUINT_TO_POINTER (index));

      json_object_set_member (object, keys->pdata[i], legacy_dict_node (encoding, 0));
    }

  json_node_take_object (node, object);
  return node;
}

static JsonNode *
module_table_node (GHashTable *modules)
{
  g_autoptr(GPtrArray) keys = sorted_keys (modules);
  JsonObject *object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  for (guint i = 0; i < keys->len; i++)
    {
      ModuleEncodings *entry = g_hash_table_lookup (modules, keys->pdata[i]);
      JsonObject *module_object = json_object_new ();

      if (g_hash_table_size (entry->input) > 0)
        json_object_set_member (module_object, "input", direction_node (entry->input));
      if (g_hash_table_size (entry->output) > 0)
        json_object_set_member (module_object, "output", direction_node (entry->output));
      json_object_set_object_member (object, keys->pdata[i], module_object);
    }

  json_node_take_object (node, object);
  return node;
}

static JsonNode *
sorted_copy (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *source = json_node_get_object (node);
      g_autoptr(GList) members = json_object_get_members (source);
      JsonObject *object = json_object_new ();
      JsonNode *copy = json_node_new (JSON_NODE_OBJECT);

      members = g_list_sort (members, (GCompareFunc) strcmp);
      for (GList *l = members; l != NULL; l = l->next)
        json_object_set_member (object, l->data,
                                sorted_copy (json_object_get_member (source, l->data)));
      json_node_take_object (copy, object);
      return copy;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *source = json_node_get_array (node);
      JsonArray *array = json_array_new ();
      JsonNode *copy = json_node_new (JSON_NODE_ARRAY);

      for (guint i = 0; i < json_array_get_length (source); i++)
        json_array_add_element (array, sorted_copy (json_array_get_element (source, i)));
      json_node_take_array (copy, array);
      return copy;
    }
  return json_node_copy (node);
}

static JsonNode *
build_root (PeftqEncodingsFile *self)
{
  gboolean v1_lists = !self->torch_layout &&
                      g_strcmp0 (self->version, PEFTQ_ENCODINGS_VERSION_1_0_0) == 0;
  JsonObject *root = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  JsonArray *excluded = json_array_new ();

  for (guint i = 0; i < self->excluded_layers->len; i++)
    json_array_add_string_element (excluded, self->excluded_layers->pdata[i]);

  /* Members in sorted order. */
  if (self->torch_layout)
    json_object_set_member (root, "activation_encodings", module_table_node (self->modules));
  else if (v1_lists)
    json_object_set_member (root, "activation_encodings", v1_list_node (self->activations));
  else
    json_object_set_member (root, "activation_encodings", legacy_table_node (self->activations));

  json_object_set_array_member (root, "excluded_layers", excluded);

  if (v1_lists)
    json_object_set_member (root, "param_encodings", v1_list_node (self->params));
  else
    json_object_set_member (root, "param_encodings", legacy_table_node (self->params));

  if (self->quantizer_args != NULL && json_object_get_size (self->quantizer_args) > 0)
    {
      JsonNode *args = json_node_new (JSON_NODE_OBJECT);

      json_node_set_object (args, self->quantizer_args);
      json_object_set_member (root, "quantizer_args", sorted_copy (args));
      json_node_unref (args);
    }
  else if (!v1_lists)
    {
      json_object_set_object_member (root, "quantizer_args", json_object_new ());
    }

  json_object_set_string_member (root, "version", self->version);

  json_node_take_object (node, root);
  return node;
}

/**
 * peftq_encodings_file_to_data:
 * @self: an encodings file
 * @length: (out) (optional): return location for the length in bytes
 *
 * Formats the file as JSON, with sorted keys and an indent of 4 spaces.
 *
 * Returns: (transfer full): the JSON text
 *
 * Since: 1.0
 */
char *
peftq_encodings_file_to_data (PeftqEncodingsFile *self,
                              gsize              *length)
{
  g_autoptr(JsonGenerator) generator = NULL;
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);

  root = build_root (self);
  generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 4);
  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, length);
}

/**
 * peftq_encodings_file_save:
 * @self: an encodings file
 * @path: (type filename): the destination path
 * @error: return location for a #GError
 *
 * Writes the file atomically: readers see the old file or the complete new one.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
peftq_encodings_file_save (PeftqEncodingsFile  *self,
                           const char          *path,
                           GError             **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;

  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  data = peftq_encodings_file_to_data (self, &length);
  return peftq_file_set_contents_atomic (path, data, (gssize) length, error);
}

/* Accessors */

/**
 * peftq_encodings_file_get_version:
 * @self: an encodings file
 *
 * Returns the format version.
 *
 * Returns: `"0.6.1"` or `"1.0.0"`
 *
 * Since: 1.0
 */
const char *
peftq_encodings_file_get_version (PeftqEncodingsFile *self)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);

  return self->version;
}

/**
 * peftq_encodings_file_set_version:
 * @self: an encodings file
 * @version: `"0.6.1"` or `"1.0.0"`
 * @error: return location for a #GError
 *
 * Sets the format version used when writing.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set for other versions
 *
 * Since: 1.0
 */
gboolean
peftq_encodings_file_set_version (PeftqEncodingsFile  *self,
                                  const char          *version,
                                  GError             **error)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (version == NULL)
    version = PEFTQ_ENCODINGS_VERSION_0_6_1;
  if (!check_version (version, NULL, error))
    return FALSE;
  if (g_strcmp0 (self->version, version) == 0)
    return TRUE;

  g_free (self->version);
  self->version = g_strdup (version);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERSION]);
  return TRUE;
}

/**
 * peftq_encodings_file_get_torch_layout:
 * @self: an encodings file
 *
 * Returns whether activation encodings are keyed by module, as in a `_torch.encodings`
 * file.
 *
 * Returns: `TRUE` for the torch layout
 *
 * Since: 1.0
 */
gboolean
peftq_encodings_file_get_torch_layout (PeftqEncodingsFile *self)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), FALSE);

  return self->torch_layout;
}

static char **
table_names (GHashTable *table)
{
  g_autoptr(GPtrArray) keys = sorted_keys (table);
  char **names = g_new0 (char *, keys->len + 1);

  for (guint i = 0; i < keys->len; i++)
    names[i] = g_strdup (keys->pdata[i]);

  return names;
}

/**
 * peftq_encodings_file_set_param_encoding:
 * @self: an encodings file
 * @name: the parameter name, `<module name>.<parameter name>`
 * @encoding: the encoding, for example from [method@Peftq.AffineQuantizer.get_encoding]
 *
 * Adds or replaces the encoding of a parameter.
 *
 * Since: 1.0
 */
void
peftq_encodings_file_set_param_encoding (PeftqEncodingsFile *self,
                                         const char         *name,
                                         PeftqEncoding      *encoding)
{
  g_return_if_fail (PEFTQ_IS_ENCODINGS_FILE (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (encoding != NULL);

  g_hash_table_replace (self->params, g_strdup (name), peftq_encoding_ref (encoding));
}

/**
 * peftq_encodings_file_get_param_encoding:
 * @self: an encodings file
 * @name: the parameter name
 *
 * Looks up the encoding of a parameter. Pass it to
 * [method@Peftq.AffineQuantizer.set_encoding] to load it into a quantizer.
 *
 * Returns: (transfer none) (nullable): the encoding, or `NULL` when the file has none
 *   for @name
 *
 * Since: 1.0
 */
PeftqEncoding *
peftq_encodings_file_get_param_encoding (PeftqEncodingsFile *self,
                                         const char         *name)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->params, name);
}

/**
 * peftq_encodings_file_remove_param_encoding:
 * @self: an encodings file
 * @name: the parameter name
 *
 * Removes the encoding of a parameter.
 *
 * Returns: `TRUE` when an encoding was removed
 *
 * Since: 1.0
 */
gboolean
peftq_encodings_file_remove_param_encoding (PeftqEncodingsFile *self,
                                            const char         *name)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return g_hash_table_remove (self->params, name);
}

/**
 * peftq_encodings_file_get_param_names:
 * @self: an encodings file
 *
 * Returns the names of all parameters with an encoding.
 *
 * Returns: (transfer full) (array zero-terminated=1): the sorted names
 *
 * Since: 1.0
 */
char **
peftq_encodings_file_get_param_names (PeftqEncodingsFile *self)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);

  return table_names (self->params);
}

/**
 * peftq_encodings_file_set_activation_encoding:
 * @self: an encodings file in the ONNX layout
 * @name: the tensor name
 * @encoding: a per-tensor encoding
 *
 * Adds or replaces the encoding of an activation tensor.
 *
 * Since: 1.0
 */
void
peftq_encodings_file_set_activation_encoding (PeftqEncodingsFile *self,
                                              const char         *name,
                                              PeftqEncoding      *encoding)
{
  g_return_if_fail (PEFTQ_IS_ENCODINGS_FILE (self));
  g_return_if_fail (!self->torch_layout);
  g_return_if_fail (name != NULL);
  g_return_if_fail (encoding != NULL);

  g_hash_table_replace (self->activations, g_strdup (name), peftq_encoding_ref (encoding));
}

/**
 * peftq_encodings_file_get_activation_encoding:
 * @self: an encodings file in the ONNX layout
 * @name: the tensor name
 *
 * Looks up the encoding of an activation tensor.
 *
 * Returns: (transfer none) (nullable): the encoding, or `NULL` when there is none
 *
 * Since: 1.0
 */
PeftqEncoding *
peftq_encodings_file_get_activation_encoding (PeftqEncodingsFile *self,
                                              const char         *name)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->activations, name);
}

/**
 * peftq_encodings_file_get_activation_names:
 * @self: an encodings file
 *
 * Returns the names of all activation tensors with an encoding (empty in the torch
 * layout).
 *
 * Returns: (transfer full) (array zero-terminated=1): the sorted names
 *
 * Since: 1.0
 */
char **
peftq_encodings_file_get_activation_names (PeftqEncodingsFile *self)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);

  return table_names (self->activations);
}

static GHashTable *
module_direction_table (PeftqEncodingsFile *self,
                        const char         *module,
                        const char         *direction,
                        gboolean            create)
{
  ModuleEncodings *entry = g_hash_table_lookup (self->modules, module);

  if (entry == NULL)
    {
      if (!create)
        return NULL;
      entry = module_encodings_new ();
      g_hash_table_insert (self->modules, g_strdup (module), entry);
    }

  return g_strcmp0 (direction, "input") == 0 ? entry->input : entry->output;
}

static gboolean
direction_is_valid (const char *direction)
{
  return g_strcmp0 (direction, "input") == 0 || g_strcmp0 (direction, "output") == 0;
}

/**
 * peftq_encodings_file_set_module_encoding:
 * @self: an encodings file in the torch layout
 * @module: the module name
 * @direction: `"input"` or `"output"`
 * @index: the index of the input or output
 * @encoding: a per-tensor encoding
 * @error: return location for a #GError
 *
 * Adds or replaces the encoding of a module's input or output quantizer.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when @encoding has more than one
 *   value or @direction is invalid
 *
 * Since: 1.0
 */
gboolean
peftq_encodings_file_set_module_encoding (PeftqEncodingsFile  *self,
                                          const char          *module,
                                          const char          *direction,
                                          guint                index,
                                          PeftqEncoding       *encoding,
                                          GError             **error)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), FALSE);
  g_return_val_if_fail (self->torch_layout, FALSE);
  g_return_val_if_fail (module != NULL, FALSE);
  g_return_val_if_fail (encoding != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!direction_is_valid (direction))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Invalid direction \"%s\" for module %s: expected \"input\" or \"output\"",
                   direction != NULL ? direction : "(null)", module);
      return FALSE;
    }
  if (peftq_encoding_get_n_values (encoding) != 1)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "The %s %u encoding of module %s has %" G_GSIZE_FORMAT " values, but "
                   "activation encodings have exactly 1",
                   direction, index, module, peftq_encoding_get_n_values (encoding));
      return FALSE;
    }

  g_hash_table_replace (module_direction_table (self, module, direction, TRUE),
                        GUINT_TO_POINTER (index), peftq_encoding_ref (encoding));
  return TRUE;
}

/**
 * peftq_encodings_file_get_module_encoding:
 * @self: an encodings file in the torch layout
 * @module: the module name
 * @direction: `"input"` or `"output"`
 * @index: the index of the input or output
 *
 * Looks up the encoding of a module's input or output quantizer.
 *
 * Returns: (transfer none) (nullable): the encoding, or `NULL` when there is none
 *
 * Since: 1.0
 */
PeftqEncoding *
peftq_encodings_file_get_module_encoding (PeftqEncodingsFile *self,
                                          const char         *module,
                                          const char         *direction,
                                          guint               index)
{
  GHashTable *table;

  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);
  g_return_val_if_fail (module != NULL, NULL);
  g_return_val_if_fail (direction_is_valid (direction), NULL);

  table = module_direction_table (self, module, direction, FALSE);
  return table != NULL ? g_hash_table_lookup (table, GUINT_TO_POINTER (index)) : NULL;
}

/**
 * peftq_encodings_file_get_module_names:
 * @self: an encodings file
 *
 * Returns the names of all modules with input or output encodings (empty in the ONNX
 * layout).
 *
 * Returns: (transfer full) (array zero-terminated=1): the sorted module names
 *
 * Since: 1.0
 */
char **
peftq_encodings_file_get_module_names (PeftqEncodingsFile *self)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);

  return table_names (self->modules);
}

static int
compare_uints (gconstpointer a,
               gconstpointer b)
{
  guint x = *(const guint *) a;
  guint y = *(const guint *) b;

  return x < y ? -1 : (x > y ? 1 : 0);
}

/**
 * peftq_encodings_file_get_module_indices:
 * @self: an encodings file
 * @module: the module name
 * @direction: `"input"` or `"output"`
 * @n_indices: (out): return location for the number of indices
 *
 * Returns the indices of a module's inputs or outputs that have an encoding.
 *
 * Returns: (transfer full) (array length=n_indices): the indices in increasing order
 *
 * Since: 1.0
 */
guint *
peftq_encodings_file_get_module_indices (PeftqEncodingsFile *self,
                                         const char         *module,
                                         const char         *direction,
                                         gsize              *n_indices)
{
  GHashTable *table;
  GArray *indices = g_array_new (FALSE, FALSE, sizeof (guint));
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);
  g_return_val_if_fail (module != NULL, NULL);
  g_return_val_if_fail (direction_is_valid (direction), NULL);
  g_return_val_if_fail (n_indices != NULL, NULL);

  table = module_direction_table (self, module, direction, FALSE);
  if (table != NULL)
    {
      g_hash_table_iter_init (&iter, table);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          guint index = GPOINTER_TO_UINT (key);

          g_array_append_val (indices, index);
        }
      g_array_sort (indices, compare_uints);
    }

  *n_indices = indices->len;
  return (guint *) g_array_free (indices, FALSE);
}

/**
 * peftq_encodings_file_get_excluded_layers:
 * @self: an encodings file
 *
 * Returns the names of the layers excluded from quantization.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names, in file order
 *
 * Since: 1.0
 */
char **
peftq_encodings_file_get_excluded_layers (PeftqEncodingsFile *self)
{
  char **names;

  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);

  names = g_new0 (char *, self->excluded_layers->len + 1);
  for (guint i = 0; i < self->excluded_layers->len; i++)
    names[i] = g_strdup (self->excluded_layers->pdata[i]);
  return names;
}

/**
 * peftq_encodings_file_set_excluded_layers:
 * @self: an encodings file
 * @layers: (array zero-terminated=1) (nullable): the names of excluded layers
 *
 * Sets the names of the layers excluded from quantization.
 *
 * Since: 1.0
 */
void
peftq_encodings_file_set_excluded_layers (PeftqEncodingsFile *self,
                                          const char * const *layers)
{
  g_return_if_fail (PEFTQ_IS_ENCODINGS_FILE (self));

  g_ptr_array_set_size (self->excluded_layers, 0);
  for (guint i = 0; layers != NULL && layers[i] != NULL; i++)
    g_ptr_array_add (self->excluded_layers, g_strdup (layers[i]));
}

/**
 * peftq_encodings_file_get_quantizer_args:
 * @self: an encodings file
 *
 * Returns the `quantizer_args` object: `activation_bitwidth`, `dtype`, `is_symmetric`,
 * `param_bitwidth`, `per_channel_quantization` and `quant_scheme` in AIMET's files.
 *
 * Returns: (transfer none) (nullable): the object, or `NULL` when the file has none
 *
 * Since: 1.0
 */
JsonObject *
peftq_encodings_file_get_quantizer_args (PeftqEncodingsFile *self)
{
  g_return_val_if_fail (PEFTQ_IS_ENCODINGS_FILE (self), NULL);

  return self->quantizer_args;
}

/**
 * peftq_encodings_file_set_quantizer_args:
 * @self: an encodings file
 * @args: (nullable): the `quantizer_args` object, written with sorted keys
 *
 * Sets the `quantizer_args` object. AIMET writes `is_symmetric` there as a JSON boolean.
 *
 * Since: 1.0
 */
void
peftq_encodings_file_set_quantizer_args (PeftqEncodingsFile *self,
                                         JsonObject         *args)
{
  g_return_if_fail (PEFTQ_IS_ENCODINGS_FILE (self));

  if (args != NULL)
    json_object_ref (args);
  g_clear_pointer (&self->quantizer_args, json_object_unref);
  self->quantizer_args = args;
}
