/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-tool.h"

#include <peftq.h>
#include <stdio.h>
#include <string.h>

#define LORA_A_SUFFIX ".lora_A.0.weight"
#define PEFT_PREFIX "base_model.model."

/* Collects the modules that have LoRA in a bundle: from the keys `<layer>.lora_A.0.weight`
 * of @weights when given, else from the parameter names of @encodings. Names are
 * relative to the base model. *out_rank is the rank of the weights, or 1 without them. */
static GPtrArray *
collect_lora_targets (PeftqSafetensorsFile *weights,
                      PeftqEncodingsFile   *encodings,
                      guint                *out_rank)
{
  g_auto(GStrv) names = weights != NULL ? peftq_safetensors_file_get_tensor_names (weights)
                                        : peftq_encodings_file_get_param_names (encodings);
  GPtrArray *targets = g_ptr_array_new_with_free_func (g_free);

  *out_rank = 1;
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      const char *name = names[i];
      gsize length = strlen (name);

      if (!g_str_has_suffix (name, LORA_A_SUFFIX))
        continue;
      if (g_str_has_prefix (name, PEFT_PREFIX))
        {
          name += strlen (PEFT_PREFIX);
          length -= strlen (PEFT_PREFIX);
        }
      g_ptr_array_add (targets, g_strndup (name, length - strlen (LORA_A_SUFFIX)));
      if (weights != NULL)
        {
          g_autoptr(PeftqTensor) a = peftq_safetensors_file_get_tensor (weights, names[i], NULL);
          guint rank = 0;

          if (a != NULL && peftq_tensor_get_rank (a) == 2)
            *out_rank = MAX (*out_rank, (guint) peftq_tensor_get_shape (a, &rank)[0]);
        }
    }
  return targets;
}

/* Loads the LoRA weights and the scalings (`<layer>.mul_scale.scaling`) of a bundle's
 * NAME_weights.safetensor into the union graph. */
static gboolean
load_bundle_weights (GPtrArray             *layers,
                     PeftqSafetensorsFile  *weights,
                     GError               **error)
{
  const char *path = peftq_safetensors_file_get_path (weights);

  for (guint l = 0; l < layers->len; l++)
    {
      PeftqLoraLayer *layer = g_ptr_array_index (layers, l);
      g_autofree char *qualified = peftq_module_dup_qualified_name (PEFTQ_MODULE (layer));
      g_autofree char *a_key = g_strconcat (qualified, ".lora_A.0.weight", NULL);
      g_autofree char *b_key = g_strconcat (qualified, ".lora_B.0.weight", NULL);
      g_autofree char *scaling_key = peftq_tool_scaling_key (layer);
      g_autoptr(PeftqTensor) a = NULL;
      g_autoptr(PeftqTensor) b = NULL;
      g_autoptr(PeftqTensor) scaling = NULL;
      g_autofree float *value = NULL;
      gsize n = 0;

      if (!peftq_safetensors_file_has_tensor (weights, scaling_key))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                       "%s has no scaling %s: give the NAME_weights.safetensor file of a "
                       "bundle that peftq quantize wrote", path, scaling_key);
          return FALSE;
        }
      a = peftq_safetensors_file_get_tensor (weights, a_key, error);
      if (a == NULL)
        return FALSE;
      b = peftq_safetensors_file_get_tensor (weights, b_key, error);
      if (b == NULL)
        return FALSE;
      scaling = peftq_safetensors_file_get_tensor (weights, scaling_key, error);
      if (scaling == NULL)
        return FALSE;
      value = peftq_tensor_to_floats (scaling, &n);
      if (n != 1)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                       "The scaling %s in %s has %" G_GSIZE_FORMAT " values; expected one",
                       scaling_key, path, n);
          return FALSE;
        }
      if (!peftq_lora_layer_set_adapter_weights (layer, 0, a, b, error))
        {
          g_prefix_error (error, "%s: ", path);
          return FALSE;
        }
      peftq_lora_layer_set_scaling (layer, 0, value[0]);
    }
  return TRUE;
}

/* Builds the graph that a bundle's encodings describe (the base model, with LoRA layers
 * when the encodings have any), loads and freezes the encodings, and runs @ids. */
static PeftqTensor *
forward_quantized (PeftqCausalLM          *lm,
                   PeftqTensor            *ids,
                   const char             *encodings_path,
                   const char             *weights_path,
                   PeftqToolQuantOptions  *options,
                   GError                **error)
{
  g_autoptr(PeftqEncodingsFile) encodings = NULL;
  g_autoptr(PeftqSafetensorsFile) weights = NULL;
  g_autoptr(GPtrArray) targets = NULL;
  g_autoptr(PeftqPeftModel) model = NULL;
  g_autoptr(PeftqQuantSim) sim = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  guint rank = 1;

  encodings = peftq_encodings_file_new_from_file (encodings_path, error);
  if (encodings == NULL)
    return NULL;
  if (weights_path != NULL)
    {
      weights = peftq_safetensors_file_open (weights_path, error);
      if (weights == NULL)
        return NULL;
    }

  targets = collect_lora_targets (weights, encodings, &rank);
  if (targets->len == 0)
    {
      if (weights != NULL)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                       "%s has no LoRA weights (keys ending in %s)", weights_path, LORA_A_SUFFIX);
          return NULL;
        }
      model = peftq_peft_model_new (PEFTQ_MODULE (lm));
    }
  else
    {
      g_autoptr(PeftqLoraConfig) config = NULL;
      guint n_replaced = 0;

      g_ptr_array_add (targets, NULL);
      config = peftq_lora_config_new (rank, rank, (const char *const *) targets->pdata);
      model = peftq_get_peft_model (PEFTQ_MODULE (lm), config, NULL, error);
      if (model == NULL ||
          !peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (model), &n_replaced, error))
        return NULL;
      layers = peftq_list_lora_layers (PEFTQ_MODULE (model));
      if (weights != NULL)
        {
          if (!load_bundle_weights (layers, weights, error))
            return NULL;
        }
      else
        {
          /* The base model alone: every adapter adds zero. */
          for (guint l = 0; l < layers->len; l++)
            {
              peftq_lora_layer_zero_adapter_weights (g_ptr_array_index (layers, l), 0);
              peftq_lora_layer_set_scaling (g_ptr_array_index (layers, l), 0, 0.0);
            }
        }
    }

  sim = peftq_tool_new_quant_sim (PEFTQ_MODULE (model), ids, options, error);
  if (sim == NULL || !peftq_quant_sim_load_and_freeze_encodings (sim, encodings_path, error))
    return NULL;
  return peftq_quant_sim_forward (sim, ids, NULL, error);
}

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
  g_autofree char *encodings_path = NULL;
  g_autofree char *weights_path = NULL;
  g_auto(PeftqToolQuantOptions) options = { 0 };
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
    { "encodings", 'e', 0, G_OPTION_ARG_FILENAME, &encodings_path,
      "Run the quantized simulation with these frozen encodings: a _torch.encodings file "
      "of a peftq quantize bundle (base_encodings_torch.encodings or NAME_torch.encodings)", "FILE" },
    { "lora-weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights_path,
      "With --encodings: the bundle's NAME_weights.safetensor of the adapter to run "
      "(default: LoRA layers that add zero, for the base model)", "FILE" },
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
  peftq_tool_add_quant_options (context, &options, FALSE);
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

  if (model_dir == NULL || input_path == NULL || output_path == NULL || threads < 0)
    {
      g_printerr ("peftq: forward needs --model DIR, --input-ids FILE and --output FILE; "
                  "run “peftq forward --help”\n");
      return 2;
    }

  if (encodings_path == NULL && weights_path != NULL)
    {
      g_printerr ("peftq: --lora-weights needs --encodings; run “peftq forward --help”\n");
      return 2;
    }
  if (encodings_path != NULL && (adapters != NULL || active != NULL))
    {
      g_printerr ("peftq: --encodings runs the graph of a peftq quantize bundle, so give the "
                  "adapter as --lora-weights NAME_weights.safetensor, not as --adapter\n");
      return 2;
    }
  if (!peftq_tool_quant_options_check (&options, &error))
    {
      peftq_tool_print_error (error);
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

  if (encodings_path != NULL)
    {
      logits = forward_quantized (model, ids, encodings_path, weights_path, &options, &error);
    }
  else
    {
      if (!peftq_tool_load_adapters (PEFTQ_MODULE (model), adapters, active, &peft_model, &error))
        {
          peftq_tool_print_error (error);
          return 1;
        }
      logits = peftq_causal_lm_forward_ids (model, NULL, ids, &error);
    }
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
