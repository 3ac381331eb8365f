/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-tool.h"

#include <peftq.h>
#include <stdio.h>
#include <stdlib.h>

/* Parses "1", "1,2,3" or "1 2 3" into token ids. */
static gboolean
parse_ids (const char  *text,
           GArray      *ids,
           GError     **error)
{
  g_auto(GStrv) parts = g_strsplit_set (text, ", ", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      gint64 value;

      if (*parts[i] == '\0')
        continue;
      if (!g_ascii_string_to_signed (parts[i], 10, 0, G_MAXINT64, &value, NULL))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "--prompt-ids: “%s” is not a token id (a non-negative integer)", parts[i]);
          return FALSE;
        }
      g_array_append_val (ids, value);
    }

  if (ids->len == 0)
    {
      g_set_error_literal (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                           "--prompt-ids is empty; give at least one token id, such as the BOS id");
      return FALSE;
    }

  return TRUE;
}

int
peftq_tool_generate (int    argc,
                     char **argv)
{
  g_autofree char *model_dir = NULL;
  g_autofree char *prompt_text = NULL;
  int steps = 20;
  int threads = 0;
  g_auto(GStrv) adapters = NULL;
  g_autofree char *active = NULL;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_dir, "Hugging Face model folder", "DIR" },
    { "prompt-ids", 'p', 0, G_OPTION_ARG_STRING, &prompt_text, "Prompt token ids, separated by commas or spaces", "IDS" },
    { "steps", 'n', 0, G_OPTION_ARG_INT, &steps, "Number of tokens to generate (default 20)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Number of threads (default: all processors)", "N" },
    { "adapter", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &adapters,
      "Load the PEFT adapter folder DIR under NAME (repeatable)", "NAME=DIR" },
    { "active", 0, 0, G_OPTION_ARG_STRING, &active,
      "Adapter to run (default: the first --adapter)", "NAME" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) prompt = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(PeftqCausalLM) model = NULL;
  g_autoptr(PeftqPeftModel) peft_model = NULL;
  g_autofree gint64 *tokens = NULL;
  gsize n_tokens = 0;

  g_option_context_set_summary (context,
                                "Decode greedily from a prompt and print the generated token ids on one line.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      peftq_tool_print_error (error);
      return 2;
    }

  if (!peftq_tool_check_no_arguments (argc, argv, &error) ||
      !peftq_tool_check_adapter_specs (adapters, active, &error))
    {
      peftq_tool_print_error (error);
      return 2;
    }

  if (model_dir == NULL || prompt_text == NULL || steps < 0 || threads < 0)
    {
      g_printerr ("peftq: generate needs --model DIR and --prompt-ids IDS, and --steps must not be negative; "
                  "run “peftq generate --help”\n");
      return 2;
    }

  if (!parse_ids (prompt_text, prompt, &error))
    {
      peftq_tool_print_error (error);
      return 2;
    }

  if (threads > 0)
    peftq_set_num_threads ((guint) threads);

  model = peftq_causal_lm_load (model_dir, &error);
  if (model == NULL)
    {
      peftq_tool_print_error (error);
      return 1;
    }

  if (!peftq_tool_load_adapters (PEFTQ_MODULE (model), adapters, active, &peft_model, &error))
    {
      peftq_tool_print_error (error);
      return 1;
    }

  tokens = peftq_causal_lm_generate_greedy (model, (const gint64 *) prompt->data, prompt->len,
                                            (guint) steps, &n_tokens, &error);
  if (tokens == NULL)
    {
      peftq_tool_print_error (error);
      return 1;
    }

  for (gsize i = 0; i < n_tokens; i++)
    printf ("%s%" G_GINT64_FORMAT, i > 0 ? " " : "", tokens[i]);
  printf ("\n");
  return 0;
}
