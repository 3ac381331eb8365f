/* SPDX-License-Identifier: MIT */
/* Quantize a base model and one LoRA adapter with peftq, in eleven steps.
 *
 * Usage: flow [OUTPUT_DIR]
 * Build: cc flow.c $(pkg-config --cflags --libs peftq-1.0) -o flow
 *
 * The input is peftq's embedded demo: a small Llama-style model, an adapter on q_proj and
 * v_proj (rank 4) and calibration token ids, written to OUTPUT_DIR/input. The bundle goes
 * to OUTPUT_DIR, or to a new temporary folder. */

#include <peftq/peftq.h>
#include <stdio.h>

static gboolean
run_flow (const char  *out,
          GError     **error)
{
  g_autofree char *demo = g_build_filename (out, "input", NULL);
  g_autofree char *model_dir = g_build_filename (demo, "model", NULL);
  g_autofree char *adapter_dir = g_build_filename (demo, "adapters", "attention_r4", NULL);
  g_autofree char *calibration = g_build_filename (demo, "calibration.safetensors", NULL);
  g_autofree char *weights_path = NULL;
  g_autofree char *onnx_path = g_build_filename (out, "model.onnx", NULL);
  const char *weights = "lora_weights_after_adaptation_for_attention_r4";
  g_autoptr(PeftqCausalLM) base = NULL;
  g_autoptr(PeftqPeftModel) model = NULL;
  g_autoptr(GHashTable) meta = NULL;
  g_autoptr(PeftqPeftQuantUtils) utils = NULL;
  g_autoptr(PeftqSafetensorsFile) calibration_file = NULL;
  g_autoptr(PeftqTensor) dummy_input = NULL;
  g_autoptr(PeftqQuantSim) sim = NULL;
  g_autoptr(GPtrArray) modules = NULL;
  g_auto(GStrv) names = NULL;
  guint n_replaced = 0;

  if (!peftq_demo_write_all (demo, error))
    return FALSE;
  printf ("Demo input in %s\n", demo);

  /* 1. Load the base model and put the LoRA adapter on it. */
  base = peftq_causal_lm_load (model_dir, error);
  if (base == NULL)
    return FALSE;
  model = peftq_peft_model_new (PEFTQ_MODULE (base));
  if (peftq_peft_model_load_adapter (model, adapter_dir, NULL, error) == NULL)
    return FALSE;
  /* 2. Make the LoRA layers quantizable. */
  if (!peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (model), &n_replaced, error))
    return FALSE;
  printf ("1-2. Loaded the model with %u LoRA layers\n", n_replaced);
  /* 3. Save the adapter weights under the names of this model. */
  if (!peftq_save_lora_weights_after_adaptation (PEFTQ_MODULE (model), out, weights, error))
    return FALSE;
  /* 4. Record the LoRA layers' metadata (meta_data.json). */
  meta = peftq_track_lora_meta_data (PEFTQ_MODULE (model), out, "meta_data", G_TYPE_NONE, error);
  if (meta == NULL)
    return FALSE;
  /* 5. The helper for the LoRA-specific steps, and the simulation with 8-bit activations
   *    and weights. */
  utils = peftq_peft_quant_utils_new (meta, NULL);
  calibration_file = peftq_safetensors_file_open (calibration, error);
  if (calibration_file == NULL)
    return FALSE;
  dummy_input = peftq_safetensors_file_get_tensor (calibration_file, "input_ids", error);
  if (dummy_input == NULL)
    return FALSE;
  sim = peftq_quant_sim_new (PEFTQ_MODULE (model), dummy_input, NULL, PEFTQ_QUANT_SCHEME_TF,
                             8, 8, error);
  if (sim == NULL)
    return FALSE;
  printf ("3-5. Saved the adapter weights and metadata; the simulation has %u quantizers\n",
          peftq_quant_sim_get_n_quantizers (sim));

  /* 6. Zero the adapters, 7. calibrate the base model alone and freeze its weights. */
  peftq_peft_quant_utils_disable_lora_adapters (utils, sim);
  if (!peftq_quant_sim_compute_encodings_from_file (sim, calibration, 0, NULL, error))
    return FALSE;
  peftq_peft_quant_utils_freeze_base_model_param_quantizers (utils, sim);
  /* 8. Export the ONNX model and the base encodings. */
  if (!peftq_quant_sim_export (sim, out, "model", dummy_input, TRUE, "base_encodings", error))
    return FALSE;
  printf ("6-8. Calibrated the base model; wrote model.onnx and base_encodings.encodings\n");

  /* 9. Load the adapter weights back into the simulation. */
  weights_path = g_strdup_printf ("%s/%s.safetensor", out, weights);
  if (!peftq_peft_quant_utils_enable_adapter_and_load_weights (utils, sim, weights_path, error))
    return FALSE;
  /* 10. Quantize the LoRA weights with 16 bits. */
  modules = peftq_peft_quant_utils_get_quantized_lora_layer (utils, sim, &names);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *name = g_strconcat (names[i], ".weight", NULL);
      PeftqQuantizer *quantizer = peftq_quant_sim_get_quantizer (sim, name);

      if (!peftq_affine_quantizer_set_bitwidth (PEFTQ_AFFINE_QUANTIZER (quantizer), 16, error))
        return FALSE;
    }
  /* 11. Calibrate again, export the adapter's encodings and weights. */
  if (!peftq_quant_sim_compute_encodings_from_file (sim, calibration, 0, NULL, error) ||
      !peftq_quant_sim_export (sim, out, "model", NULL, FALSE, "attention_r4", error) ||
      !peftq_peft_quant_utils_export_adapter_weights (utils, sim, out, "attention_r4_weights",
                                                      onnx_path, error))
    return FALSE;
  printf ("9-11. Wrote attention_r4.encodings and attention_r4_weights.safetensor\n");

  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  out = argc > 1 ? g_strdup (argv[1]) : g_dir_make_tmp ("peftq-flow-XXXXXX", &error);
  if (out == NULL || !run_flow (out, &error))
    {
      fprintf (stderr, "flow: %s\n", error->message);
      return 1;
    }
  printf ("Bundle in %s\n", out);
  return 0;
}
