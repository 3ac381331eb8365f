/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-tool.h"

#include <peftq.h>
#include <stdio.h>

int
peftq_tool_forward (int    argc,
                    char **argv)
{
  g_autofree char *model_dir = NULL;
  g_autofree char *input_path = NULL;
  g_autofree char *output_path = NULL;
  int threads = 0;
  g_auto(GStrv) adapters = NULL;
  g_autofree char *active = NULL;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_dir, "Hugging Face model folder", "DIR" },
    { "input-ids", 'i', 0, G_OPTION_ARG_FILENAME, &input_path,
      "Token ids: JSON (a list of lists) or safetensors (tensor input_ids)", "FILE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output_path,
      "Safetensors file to write the float32 tensor logits [batch, tokens, vocabulary] to", "FILE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Number of threads (default: all processors)", "N" },
    { "adapter", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &adapters,
      "Load the PEFT adapter folder DIR under NAME (repeatable)", "NAME=DIR" },
    { "active", 0, 0, G_OPTION_ARG_STRING, &active,
      "Adapter to run (default: the first --adapter)", "NAME" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqCausalLM) model = NULL;
  g_autoptr(PeftqPeftModel) peft_model = NULL;
  g_autoptr(PeftqTensor) ids = NULL;
  g_autoptr(PeftqTensor) logits = NULL;
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;

  g_option_context_set_summary (context,
                                "Run a model on token ids and write its logits to a safetensors file.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      peftq_tool_print_error (error);
      return 2;
    }

  if (model_dir == NULL || input_path == NULL || output_path == NULL || argc > 1 || threads < 0)
    {
      g_printerr ("peftq: forward needs --model DIR, --input-ids FILE and --output FILE; "
                  "run “peftq forward --help”\n");
      return 2;
    }

  if (threads > 0)
    peftq_set_num_threads ((guint) threads);

  ids = peftq_load_token_ids (input_path, &error);
  if (ids == NULL)
    {
      peftq_tool_print_error (error);
      return 1;
    }

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

  logits = peftq_causal_lm_forward_ids (model, NULL, ids, &error);
  if (logits == NULL)
    {
      peftq_tool_print_error (error);
      return 1;
    }

  writer = peftq_safetensors_writer_new ();
  if (!peftq_safetensors_writer_add_tensor (writer, "logits", logits, &error) ||
      !peftq_safetensors_writer_write (writer, output_path, &error))
    {
      peftq_tool_print_error (error);
      return 1;
    }

  return 0;
}
