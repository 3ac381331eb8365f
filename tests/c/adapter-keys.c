/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq.h>

#include "test-util.h"

typedef struct
{
  const char *key;
  PeftqAdapterKeyKind kind;
  const char *module_path;
  const char *parameter;
} KeyCase;

static void
test_parse_key_table (void)
{
  static const KeyCase cases[] = {
    { "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
      PEFTQ_ADAPTER_KEY_KIND_LORA_A, "model.layers.0.self_attn.q_proj", "lora_A.weight" },
    { "base_model.model.transformer.h.11.mlp.c_proj.lora_B.weight",
      PEFTQ_ADAPTER_KEY_KIND_LORA_B, "transformer.h.11.mlp.c_proj", "lora_B.weight" },
    { "base_model.model.linear.lora_A.weight",
      PEFTQ_ADAPTER_KEY_KIND_LORA_A, "linear", "lora_A.weight" },
    { "base_model.model.linear.lora_B.bias",
      PEFTQ_ADAPTER_KEY_KIND_LORA_BIAS, "linear", "lora_B.bias" },
    { "base_model.model.model.embed_tokens.lora_embedding_A",
      PEFTQ_ADAPTER_KEY_KIND_LORA_EMBEDDING, "model.embed_tokens", "lora_embedding_A" },
    { "base_model.model.model.embed_tokens.lora_embedding_B",
      PEFTQ_ADAPTER_KEY_KIND_LORA_EMBEDDING, "model.embed_tokens", "lora_embedding_B" },
    { "base_model.model.q_proj.lora_magnitude_vector",
      PEFTQ_ADAPTER_KEY_KIND_LORA_MAGNITUDE, "q_proj", "lora_magnitude_vector" },
    { "base_model.model.q_proj.lora_magnitude_vector.weight",
      PEFTQ_ADAPTER_KEY_KIND_LORA_MAGNITUDE, "q_proj", "lora_magnitude_vector.weight" },
    { "base_model.model.linear.lora_A.0.weight",
      PEFTQ_ADAPTER_KEY_KIND_INDEXED, "linear", "lora_A.0.weight" },
    { "base_model.model.linear.lora_B.default.weight",
      PEFTQ_ADAPTER_KEY_KIND_INDEXED, "linear", "lora_B.default.weight" },
    { "base_model.model.classifier.weight",
      PEFTQ_ADAPTER_KEY_KIND_MODULE_PARAMETER, "classifier", "weight" },
    { "base_model.model.pre_classifier.bias",
      PEFTQ_ADAPTER_KEY_KIND_MODULE_PARAMETER, "pre_classifier", "bias" },
    { "model.layers.0.self_attn.q_proj.lora_A.weight",
      PEFTQ_ADAPTER_KEY_KIND_NO_PREFIX, NULL, NULL },
    { "base_model.model.", PEFTQ_ADAPTER_KEY_KIND_NO_PREFIX, NULL, NULL },
    /* The suffix alone, without a module path, is not a LoRA key. */
    { "base_model.model.lora_A.weight",
      PEFTQ_ADAPTER_KEY_KIND_MODULE_PARAMETER, "lora_A", "weight" },
  };

  g_test_summary ("Adapter file keys are classified by prefix and suffix");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *module_path = NULL;
      g_autofree char *parameter = NULL;
      PeftqAdapterKeyKind kind;

      g_test_message ("key %s", cases[i].key);
      kind = peftq_adapter_parse_key (cases[i].key, &module_path, &parameter);
      g_assert_cmpint (kind, ==, cases[i].kind);
      g_assert_cmpstr (module_path, ==, cases[i].module_path);
      g_assert_cmpstr (parameter, ==, cases[i].parameter);
    }
}

static void
test_parse_key_optional_outputs (void)
{
  g_test_summary ("The output arguments of parse_key are optional");
  g_assert_cmpint (peftq_adapter_parse_key ("base_model.model.x.lora_B.weight", NULL, NULL),
                   ==, PEFTQ_ADAPTER_KEY_KIND_LORA_B);
}

static void
test_public_adapter_keys (void)
{
  static const char *const folders[] = {
    "bert-tiny-qv", "distilbert-emotion-seqcls", "flan-t5-base-qv", "gpt2-cattn-cproj-causal",
    "opencalm-1b-r1-fp16", "qwen2.5-0.5b-qv", "sd-unet-toq-tov", "vit-age-imgcls",
  };

  g_test_summary ("Every key of the public adapters is a LoRA pair or a module parameter");

  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autofree char *relative = g_build_filename ("adapters", folders[i], "adapter_model.safetensors", NULL);
      g_autofree char *path = peftq_test_get_data_path (relative);
      g_autoptr(PeftqSafetensorsFile) file = NULL;
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) names = NULL;
      guint n_a = 0, n_b = 0, n_other = 0;

      if (path == NULL)
        return;
      file = peftq_safetensors_file_open (path, &error);
      g_assert_no_error (error);
      names = peftq_safetensors_file_get_tensor_names (file);
      for (guint j = 0; names[j] != NULL; j++)
        {
          switch (peftq_adapter_parse_key (names[j], NULL, NULL))
            {
            case PEFTQ_ADAPTER_KEY_KIND_LORA_A:
              n_a++;
              break;
            case PEFTQ_ADAPTER_KEY_KIND_LORA_B:
              n_b++;
              break;
            case PEFTQ_ADAPTER_KEY_KIND_MODULE_PARAMETER:
              n_other++;
              break;
            default:
              g_error ("%s: unexpected kind of key %s", folders[i], names[j]);
            }
        }
      g_test_message ("%s: %u lora_A, %u lora_B, %u others", folders[i], n_a, n_b, n_other);
      g_assert_cmpuint (n_a, ==, n_b);
      g_assert_cmpuint (n_a, >, 0);
      if (g_str_has_prefix (folders[i], "distilbert"))
        g_assert_cmpuint (n_other, ==, 4);
      else if (g_str_has_prefix (folders[i], "vit"))
        g_assert_cmpuint (n_other, ==, 2);
      else
        g_assert_cmpuint (n_other, ==, 0);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/adapter-keys/parse-table", test_parse_key_table);
  g_test_add_func ("/peftq/adapter-keys/optional-outputs", test_parse_key_optional_outputs);
  g_test_add_func ("/peftq/adapter-keys/public-adapters", test_public_adapter_keys);

  return g_test_run ();
}
