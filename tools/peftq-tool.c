/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-tool.h"

#include <locale.h>
#include <peftq.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  const char *name;
  PeftqToolCommandFunc run;
  const char *summary;
} ToolCommand;

static const ToolCommand commands[] = {
  { "demo", peftq_tool_demo, "Run peftq on its embedded default input" },
  { "inspect", peftq_tool_inspect, "List the tensors and metadata of a safetensors file" },
  { "generate", peftq_tool_generate, "Decode greedily with a model and print the token ids" },
  { "forward", peftq_tool_forward, "Write a model's logits for token ids to a safetensors file" },
  { "quantize", peftq_tool_quantize, "Quantize a model and its LoRA adapters into a deployable bundle" },
};

void
peftq_tool_print_error (const GError *error)
{
  g_autofree char *one_line = g_strdup (error->message);

  /* Keep the message on one line, so that scripts can read it as one record. */
  g_strdelimit (one_line, "\r\n", ' ');
  g_printerr ("peftq: %s\n", one_line);
}

static void
print_usage (FILE *stream)
{
  fprintf (stream, "Usage: peftq COMMAND [OPTION…]\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (stream, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (stream, "\nRun “peftq COMMAND --help” for the options of a command.\n");
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }

  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return 0;
    }

  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("peftq %s\n", PEFTQ_VERSION_S);
      return 0;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (strcmp (argv[1], commands[i].name) == 0)
        {
          /* GOption prints argv[0] in its usage line, so make it the whole command. */
          g_autofree char *command_line_name = g_strconcat ("peftq ", commands[i].name, NULL);

          argv[1] = command_line_name;
          return commands[i].run (argc - 1, argv + 1);
        }
    }

  g_printerr ("peftq: unknown command “%s”; run “peftq --help” for the list\n", argv[1]);
  return 2;
}
