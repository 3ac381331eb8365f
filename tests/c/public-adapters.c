/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <peftq.h>
#include <string.h>

#include "test-util.h"

/* The public adapters under adapters/ in the shared test data, with the facts their
 * README states: tensor count, rank, alpha, and the modules_to_save they carry. */
typedef struct
{
  const char *folder;
  guint n_tensors;
  guint rank;
  double alpha;
  const char *saved_modules[3];
  gboolean transposed;   /* GPT-2 Conv1D stores the base weight as (in, out) */
} AdapterCase;

static const AdapterCase cases[] = {
  { "bert-tiny-qv", 8, 4, 16, { NULL }, FALSE },
  { "distilbert-emotion-seqcls", 28, 8, 16,
    { "base_model.model.pre_classifier", "base_model.model.classifier", NULL }, FALSE },
  { "flan-t5-base-qv", 144, 8, 32, { NULL }, FALSE },
  { "gpt2-cattn-cproj-causal", 72, 8, 32, { NULL }, TRUE },
  { "opencalm-1b-r1-fp16", 48, 1, 32, { NULL }, FALSE },
  { "qwen2.5-0.5b-qv", 96, 8, 16, { NULL }, FALSE },
  { "sd-unet-toq-tov", 128, 4, 16, { NULL }, FALSE },
  { "vit-age-imgcls", 50, 16, 16, { "base_model.model.classifier", NULL }, FALSE },
};

static PeftqShapeModel *
load_shape_fixture (const char  *folder,
                    char       **architecture)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "shapes", folder, NULL);
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  PeftqShapeModel *model;
  gsize length;
  JsonObject *metadata;

  g_assert_true (g_file_get_contents (path, &json, &length, &error));
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (parser, json, (gssize) length, &error));
  metadata = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                            "__metadata__");
  *architecture = g_strdup (json_object_get_string_member (metadata, "architecture"));

  model = peftq_shape_model_new_from_shapes (json, (gssize) length, *architecture, &error);
  g_assert_no_error (error);
  return model;
}

/* Checks the merged delta of one layer against (B @ A) * scaling computed in double
 * precision from the file's tensors. */
static void
check_delta (PeftqPeftLoraLayer *layer,
             PeftqTensor        *file_a,
             PeftqTensor        *file_b,
             double              scaling,
             gboolean            transposed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) delta = peftq_peft_lora_layer_compute_delta_weight (layer, 0, &error);
  gsize n_a, n_b, n_d;
  g_autofree float *a = peftq_tensor_to_floats (file_a, &n_a);
  g_autofree float *b = peftq_tensor_to_floats (file_b, &n_b);
  g_autofree float *d = NULL;
  gint64 r = peftq_tensor_get_dim (file_a, 0);
  gint64 in = peftq_tensor_get_dim (file_a, 1);
  gint64 out = peftq_tensor_get_dim (file_b, 0);

  g_assert_no_error (error);
  d = peftq_tensor_to_floats (delta, &n_d);
  g_assert_cmpuint (n_d, ==, (gsize) (in * out));
  g_assert_cmpint (peftq_tensor_get_dim (delta, 0), ==, transposed ? in : out);

  for (gint64 o = 0; o < out; o += 7)
    for (gint64 i = 0; i < in; i += 5)
      {
        double sum = 0;
        float actual = transposed ? d[i * out + o] : d[o * in + i];

        for (gint64 k = 0; k < r; k++)
          sum += (double) b[o * r + k] * a[k * in + i];
        sum *= scaling;
        /* float32 sums of r products: relative 1e-5 plus a small absolute floor. */
        if (fabs (actual - sum) > 1e-5 * fabs (sum) + 1e-7)
          g_error ("delta[%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] is %g, expected %g",
                   o, i, actual, sum);
      }
}

static void
test_public_adapter (gconstpointer data)
{
  const AdapterCase *c = data;
  g_autofree char *relative = g_build_filename ("adapters", c->folder, NULL);
  g_autofree char *dir = peftq_test_get_data_path (relative);
  g_autofree char *architecture = NULL;
  g_autofree char *weights_path = NULL;
  g_autofree char *fixture = NULL;
  g_autoptr(PeftqShapeModel) base = NULL;
  g_autoptr(PeftqPeftModel) model = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_auto(GStrv) keys = NULL;
  g_auto(GStrv) layer_names = NULL;
  g_auto(GStrv) saved = NULL;
  PeftqAdapter *adapter;
  PeftqLoraConfig *config;
  guint n_lora_a = 0;
  gboolean checked_square = FALSE;

  g_test_summary ("A public adapter loads onto a base of the right shapes and matches its file");
  if (dir == NULL)
    return;

  fixture = g_strconcat (c->folder, ".json", NULL);
  base = load_shape_fixture (fixture, &architecture);
  model = peftq_peft_model_new (PEFTQ_MODULE (base));
  adapter = peftq_peft_model_load_adapter (model, dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (adapter);
  config = peftq_adapter_get_config (adapter);

  weights_path = g_build_filename (dir, "adapter_model.safetensors", NULL);
  file = peftq_safetensors_file_open (weights_path, &error);
  g_assert_no_error (error);
  keys = peftq_safetensors_file_get_tensor_names (file);

  g_assert_cmpuint (peftq_adapter_get_n_tensors (adapter), ==, c->n_tensors);
  g_assert_cmpuint (g_strv_length (keys), ==, c->n_tensors);
  g_assert_cmpuint (peftq_lora_config_get_r (config), ==, c->rank);
  g_assert_cmpfloat (peftq_lora_config_get_lora_alpha (config), ==, c->alpha);

  layers = peftq_list_peft_lora_layers (PEFTQ_MODULE (model));
  layer_names = peftq_adapter_list_layer_names (adapter);
  g_assert_cmpuint (layers->len, ==, g_strv_length (layer_names));

  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autofree char *path = NULL;
      g_autofree char *full_name = NULL;
      g_autofree char *key_b = NULL;
      g_autoptr(PeftqTensor) file_a = NULL;
      g_autoptr(PeftqTensor) file_b = NULL;
      PeftqModule *module;
      PeftqPeftLoraLayer *layer;
      const char *const *targets;
      gboolean target_found = FALSE;

      if (peftq_adapter_parse_key (keys[i], &path, NULL) != PEFTQ_ADAPTER_KEY_KIND_LORA_A)
        continue;
      n_lora_a++;
      full_name = g_strconcat (PEFTQ_PEFT_MODEL_PREFIX, path, NULL);
      module = peftq_module_find_module (PEFTQ_MODULE (model), full_name);
      g_assert_true (PEFTQ_IS_PEFT_LORA_LAYER (module));
      layer = PEFTQ_PEFT_LORA_LAYER (module);
      g_assert_true (g_strv_contains ((const char *const *) layer_names, full_name));

      /* Every layer name ends in one of the config's targets at a dot boundary. */
      targets = peftq_lora_config_get_target_modules (config);
      for (guint t = 0; targets[t] != NULL; t++)
        {
          g_autofree char *suffix = g_strconcat (".", targets[t], NULL);

          target_found |= g_str_has_suffix (full_name, suffix);
        }
      g_assert_true (target_found);

      file_a = peftq_safetensors_file_get_tensor (file, keys[i], &error);
      key_b = g_strconcat (full_name, ".lora_B.weight", NULL);
      file_b = peftq_safetensors_file_get_tensor (file, key_b, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (peftq_peft_lora_layer_get_rank (layer, 0), ==, peftq_tensor_get_dim (file_a, 0));
      g_assert_cmpuint (peftq_peft_lora_layer_get_rank (layer, 0), ==, c->rank);
      g_assert_cmpfloat (peftq_peft_lora_layer_get_scaling (layer, 0), ==, c->alpha / c->rank);
      g_assert_cmpfloat (peftq_adapter_get_scaling (adapter, full_name), ==, c->alpha / c->rank);
      g_assert_true (peftq_tensor_equal (peftq_module_get_parameter (peftq_peft_lora_layer_get_lora_b (layer, 0),
                                                                     "weight"),
                                         file_b));

      /* Check the first layer, and the first square one, where a missing transpose
       * would pass every shape check. */
      if (n_lora_a == 1 ||
          (!checked_square && peftq_tensor_get_dim (file_a, 1) == peftq_tensor_get_dim (file_b, 0)))
        {
          g_test_message ("checking the delta of %s", full_name);
          check_delta (layer, file_a, file_b, c->alpha / c->rank, c->transposed);
          checked_square |= peftq_tensor_get_dim (file_a, 1) == peftq_tensor_get_dim (file_b, 0);
        }
    }
  g_assert_cmpuint (n_lora_a, ==, layers->len);

  saved = peftq_adapter_list_saved_modules (adapter);
  g_assert_cmpuint (g_strv_length (saved), ==, g_strv_length ((char **) c->saved_modules));
  for (guint i = 0; c->saved_modules[i] != NULL; i++)
    {
      g_autofree char *key = g_strconcat (c->saved_modules[i], ".weight", NULL);
      g_autoptr(PeftqTensor) expected = peftq_safetensors_file_get_tensor (file, key, &error);
      PeftqModule *module = peftq_module_find_module (PEFTQ_MODULE (model), c->saved_modules[i]);

      g_assert_true (g_strv_contains ((const char *const *) saved, c->saved_modules[i]));
      g_assert_true (peftq_tensor_equal (peftq_module_get_parameter (module, "weight"), expected));
    }

  /* The shape tree has no forward pass, and its error names the architecture. */
  {
    gint64 shape[2] = { 1, 4 };
    g_autoptr(PeftqTensor) input = peftq_tensor_new (PEFTQ_DTYPE_F32, shape, 2, NULL);
    g_autoptr(PeftqTensor) output = peftq_module_forward_one (PEFTQ_MODULE (model), NULL, input, &error);

    g_assert_null (output);
    g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, architecture));
    g_clear_error (&error);
  }

  g_clear_pointer (&layers, g_ptr_array_unref);
  g_clear_object (&base);
  g_assert_finalize_object (g_steal_pointer (&model));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *test_path = g_strdup_printf ("/peftq/public-adapters/%s", cases[i].folder);

      g_test_add_data_func (test_path, &cases[i], test_public_adapter);
    }

  return g_test_run ();
}
