/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-tool.h"

#include <json-glib/json-glib.h>
#include <peftq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

static char *
format_size (gsize n_bytes)
{
  /* Exact byte counts matter when comparing files, so the unit form is only a suffix. */
  if (n_bytes < 1024)
    return g_strdup_printf ("%" G_GSIZE_FORMAT " B", n_bytes);

  {
    g_autofree char *human = g_format_size_full (n_bytes, G_FORMAT_SIZE_IEC_UNITS);
    return g_strdup_printf ("%" G_GSIZE_FORMAT " B (%s)", n_bytes, human);
  }
}

/* Escapes ASCII control characters such as newlines, which names and metadata values
 * read from a file may contain, so that each tensor and key stays on one line. */
static char *
escape_controls (const char *text)
{
  GString *escaped = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c == '\n')
        g_string_append (escaped, "\\n");
      else if (c == '\t')
        g_string_append (escaped, "\\t");
      else if (c == '\r')
        g_string_append (escaped, "\\r");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (escaped, "\\x%02x", c);
      else
        g_string_append_c (escaped, (char) c);
    }

  return g_string_free (escaped, FALSE);
}

static char **
sorted_metadata_keys (GHashTable *metadata,
                      guint      *n_keys)
{
  char **keys = (char **) g_hash_table_get_keys_as_array (metadata, n_keys);

  qsort (keys, *n_keys, sizeof (char *), compare_strings);
  return keys;
}

static void
print_table (PeftqSafetensorsFile *file)
{
  g_auto(GStrv) names = peftq_safetensors_file_get_tensor_names (file);
  GHashTable *metadata = peftq_safetensors_file_get_metadata (file);
  g_autoptr(GPtrArray) shapes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) sizes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) shown_names = g_ptr_array_new_with_free_func (g_free);
  int name_width = (int) strlen ("NAME");
  int shape_width = (int) strlen ("SHAPE");
  gsize total_bytes = 0;

  for (guint i = 0; names[i] != NULL; i++)
    {
      PeftqTensor *tensor = peftq_safetensors_file_get_tensor (file, names[i], NULL);
      char *shape = peftq_tensor_format_shape (tensor);
      char *shown_name = escape_controls (names[i]);

      g_ptr_array_add (tensors, tensor);
      g_ptr_array_add (shapes, shape);
      g_ptr_array_add (sizes, format_size (peftq_tensor_get_n_bytes (tensor)));
      g_ptr_array_add (shown_names, shown_name);
      name_width = MAX (name_width, (int) g_utf8_strlen (shown_name, -1));
      shape_width = MAX (shape_width, (int) strlen (shape));
      total_bytes += peftq_tensor_get_n_bytes (tensor);
    }

  printf ("%-*s  %-5s  %-*s  %s\n", name_width, "NAME", "DTYPE", shape_width, "SHAPE", "SIZE");
  for (guint i = 0; names[i] != NULL; i++)
    {
      PeftqTensor *tensor = g_ptr_array_index (tensors, i);
      const char *shown_name = g_ptr_array_index (shown_names, i);
      /* printf pads by bytes; add the difference so that non-ASCII names line up. */
      int padding = name_width + (int) (strlen (shown_name) - g_utf8_strlen (shown_name, -1));

      printf ("%-*s  %-5s  %-*s  %s\n", padding, shown_name,
              peftq_dtype_to_string (peftq_tensor_get_dtype (tensor)),
              shape_width, (const char *) g_ptr_array_index (shapes, i),
              (const char *) g_ptr_array_index (sizes, i));
    }

  {
    g_autofree char *total = format_size (total_bytes);
    guint n_tensors = g_strv_length (names);

    printf ("\n%u %s, %s of data\n", n_tensors, n_tensors == 1 ? "tensor" : "tensors", total);
  }

  if (g_hash_table_size (metadata) > 0)
    {
      guint n_keys;
      g_autofree char **keys = sorted_metadata_keys (metadata, &n_keys);

      printf ("\nMetadata:\n");
      for (guint i = 0; i < n_keys; i++)
        {
          g_autofree char *shown_key = escape_controls (keys[i]);
          g_autofree char *shown_value = escape_controls (g_hash_table_lookup (metadata, keys[i]));

          printf ("  %s: %s\n", shown_key, shown_value);
        }
    }
}

static void
print_json (PeftqSafetensorsFile *file)
{
  g_auto(GStrv) names = peftq_safetensors_file_get_tensor_names (file);
  GHashTable *metadata = peftq_safetensors_file_get_metadata (file);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  guint n_keys;
  g_autofree char **keys = sorted_metadata_keys (metadata, &n_keys);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, peftq_safetensors_file_get_path (file));

  json_builder_set_member_name (builder, "tensors");
  json_builder_begin_array (builder);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(PeftqTensor) tensor = peftq_safetensors_file_get_tensor (file, names[i], NULL);
      guint rank;
      const gint64 *shape = peftq_tensor_get_shape (tensor, &rank);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, names[i]);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, peftq_dtype_to_string (peftq_tensor_get_dtype (tensor)));
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (guint axis = 0; axis < rank; axis++)
        json_builder_add_int_value (builder, shape[axis]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "bytes");
      json_builder_add_int_value (builder, (gint64) peftq_tensor_get_n_bytes (tensor));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "metadata");
  json_builder_begin_object (builder);
  for (guint i = 0; i < n_keys; i++)
    {
      json_builder_set_member_name (builder, keys[i]);
      json_builder_add_string_value (builder, g_hash_table_lookup (metadata, keys[i]));
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
}

int
peftq_tool_inspect (int    argc,
                    char **argv)
{
  gboolean as_json = FALSE;
  g_auto(GStrv) files = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the listing as JSON", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;

  g_option_context_set_summary (context, "List the tensors (name, dtype, shape, size) and the metadata of a safetensors file.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      peftq_tool_print_error (error);
      return 2;
    }

  if (files == NULL || g_strv_length (files) != 1)
    {
      g_printerr ("peftq: inspect takes exactly one FILE; run “peftq inspect --help”\n");
      return 2;
    }

  file = peftq_safetensors_file_open (files[0], &error);
  if (file == NULL)
    {
      peftq_tool_print_error (error);
      return 1;
    }

  if (as_json)
    print_json (file);
  else
    print_table (file);

  return 0;
}
