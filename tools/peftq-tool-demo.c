/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-tool.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <peftq.h>
#include <stdio.h>

int
peftq_tool_demo (int    argc,
                 char **argv)
{
  g_auto(GStrv) folders = NULL;
  g_auto(PeftqToolQuantOptions) options = { 0 };
  const GOptionEntry entries[] = {
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &folders, NULL, "[DIR]" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *input_dir = NULL;
  g_autofree char *attention = NULL;
  g_autofree char *all_linear = NULL;

  g_option_context_set_summary (context,
                                "Run “peftq quantize” on peftq's embedded demo input: a small Llama-style "
                                "model, two LoRA adapters of different rank and targets, and calibration "
                                "token ids, all generated deterministically. The input goes to DIR/input "
                                "and the bundle to DIR/output (default DIR: a new temporary folder).");
  g_option_context_add_main_entries (context, entries, NULL);
  peftq_tool_add_quant_options (context, &options, TRUE);
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
      dir = g_strdup (folders[0]);
      if (g_mkdir_with_parents (dir, 0777) != 0)
        {
          int saved_errno = errno;

          g_printerr ("peftq: cannot create the folder %s: %s\n", dir, g_strerror (saved_errno));
          return 1;
        }
    }
  else
    {
      dir = g_dir_make_tmp ("peftq-demo-XXXXXX", &error);
      if (dir == NULL)
        {
          peftq_tool_print_error (error);
          return 1;
        }
    }

  input_dir = g_build_filename (dir, "input", NULL);
  if (!peftq_demo_write_all (input_dir, &error))
    {
      peftq_tool_print_error (error);
      return 1;
    }
  printf ("Wrote the demo input to %s\n", input_dir);
  fflush (stdout);

  attention = g_strconcat ("attention_r4=", input_dir, G_DIR_SEPARATOR_S, "adapters", G_DIR_SEPARATOR_S,
                           "attention_r4", NULL);
  all_linear = g_strconcat ("all_linear_r8=", input_dir, G_DIR_SEPARATOR_S, "adapters", G_DIR_SEPARATOR_S,
                            "all_linear_r8", NULL);
  options.model_dir = g_build_filename (input_dir, "model", NULL);
  options.adapters = g_new0 (char *, 3);
  options.adapters[0] = g_steal_pointer (&attention);
  options.adapters[1] = g_steal_pointer (&all_linear);
  options.calibration = g_build_filename (input_dir, "calibration.safetensors", NULL);
  options.output_dir = g_build_filename (dir, "output", NULL);

  if (!peftq_tool_run_quantize (&options, &error))
    {
      peftq_tool_print_error (error);
      return 1;
    }
  return 0;
}
