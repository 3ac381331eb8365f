/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-tool.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <peftq.h>
#include <stdio.h>

/* Writes a sample safetensors file with one small tensor of every dtype and metadata. */
static gboolean
write_sample_file (const char  *path,
                   GError     **error)
{
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  const float values[] = { -1.5f, 0.0f, 0.25f, 3.0f, 65504.0f, 1e-7f };
  const gint64 shape[] = { 2, 3 };
  g_autoptr(PeftqTensor) weights = NULL;
  GEnumClass *dtype_class = g_type_class_ref (PEFTQ_TYPE_DTYPE);

  weights = peftq_tensor_new_from_floats (values, G_N_ELEMENTS (values), shape, G_N_ELEMENTS (shape), error);
  if (weights == NULL)
    return FALSE;

  for (guint i = 0; i < dtype_class->n_values; i++)
    {
      PeftqDType dtype = (PeftqDType) dtype_class->values[i].value;
      g_autoptr(PeftqTensor) tensor = NULL;
      g_autofree char *dtype_name = g_ascii_strdown (peftq_dtype_to_string (dtype), -1);
      g_autofree char *name = g_strdup_printf ("sample.%s", dtype_name);

      if (peftq_dtype_is_float (dtype))
        tensor = peftq_tensor_convert (weights, dtype, error);
      else
        tensor = peftq_tensor_new (dtype, shape, G_N_ELEMENTS (shape), error);

      if (tensor == NULL || !peftq_safetensors_writer_add_tensor (writer, name, tensor, error))
        {
          g_type_class_unref (dtype_class);
          return FALSE;
        }
    }
  g_type_class_unref (dtype_class);

  peftq_safetensors_writer_set_metadata (writer, "format", "pt");
  peftq_safetensors_writer_set_metadata (writer, "producer", "peftq demo");

  return peftq_safetensors_writer_write (writer, path, error);
}

int
peftq_tool_demo (int    argc,
                 char **argv)
{
  g_auto(GStrv) folders = NULL;
  const GOptionEntry entries[] = {
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &folders, NULL, "[DIR]" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *output_dir = NULL;
  g_autofree char *sample_path = NULL;
  char *inspect_argv[3];

  g_option_context_set_summary (context,
                                "Run peftq on its embedded default input and write the results to DIR "
                                "(default: a new temporary folder). The demo writes a safetensors file "
                                "with a tensor of every dtype and lists it.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      peftq_tool_print_error (error);
      return 2;
    }

  if (folders != NULL && g_strv_length (folders) > 1)
    {
      g_printerr ("peftq: demo takes at most one DIR; run “peftq demo --help”\n");
      return 2;
    }

  if (folders != NULL && folders[0] != NULL)
    {
      output_dir = g_strdup (folders[0]);
      if (g_mkdir_with_parents (output_dir, 0777) != 0)
        {
          g_printerr ("peftq: cannot create the folder %s: %s\n", output_dir, g_strerror (errno));
          return 1;
        }
    }
  else
    {
      output_dir = g_dir_make_tmp ("peftq-demo-XXXXXX", &error);
      if (output_dir == NULL)
        {
          peftq_tool_print_error (error);
          return 1;
        }
    }

  sample_path = g_build_filename (output_dir, "sample.safetensors", NULL);
  if (!write_sample_file (sample_path, &error))
    {
      peftq_tool_print_error (error);
      return 1;
    }

  printf ("Wrote %s\n\n", sample_path);
  fflush (stdout);

  inspect_argv[0] = (char *) "inspect";
  inspect_argv[1] = sample_path;
  inspect_argv[2] = NULL;
  return peftq_tool_inspect (2, inspect_argv);
}
