/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq.h>

#include "test-util.h"

#include <string.h>

static const char *const default_silent_ops[] = {
  "Cast", "Dropout", "Expand", "Squeeze", "Pad", "Mean", "Gather", NULL
};

static void
test_default_queries (void)
{
  g_autoptr(PeftqQuantsimConfig) config = peftq_quantsim_config_new_default ();
  g_auto(GStrv) op_types = NULL;
  g_auto(GStrv) first = NULL;
  g_auto(GStrv) last = NULL;

  g_test_summary ("The built-in default gives AIMET's default placement settings");

  for (guint i = 0; default_silent_ops[i] != NULL; i++)
    g_assert_false (peftq_quantsim_config_is_output_quantized (config, default_silent_ops[i]));
  g_assert_true (peftq_quantsim_config_is_output_quantized (config, "Gemm"));
  g_assert_true (peftq_quantsim_config_is_output_quantized (config, "Add"));
  g_assert_true (peftq_quantsim_config_is_output_quantized (config, NULL));

  g_assert_false (peftq_quantsim_config_is_input_quantized (config, "Gemm"));
  g_assert_false (peftq_quantsim_config_is_input_quantized (config, NULL));
  g_assert_false (peftq_quantsim_config_is_activation_symmetric (config, "Gemm"));

  g_assert_true (peftq_quantsim_config_is_param_quantized (config, "Gemm", "weight"));
  g_assert_true (peftq_quantsim_config_is_param_symmetric (config, "Gemm", "weight"));
  g_assert_false (peftq_quantsim_config_is_param_quantized (config, "Gemm", "bias"));
  g_assert_false (peftq_quantsim_config_is_param_quantized (config, NULL, "bias"));
  g_assert_false (peftq_quantsim_config_is_per_channel (config, "Conv"));
  g_assert_false (peftq_quantsim_config_get_encoding_constraints (config, "Softmax", NULL, NULL));

  g_assert_true (peftq_quantsim_config_is_model_input_quantized (config));
  g_assert_false (peftq_quantsim_config_is_model_output_quantized (config));
  g_assert_true (peftq_quantsim_config_get_quantizer_args_symmetric (config));
  g_assert_false (peftq_quantsim_config_get_quantizer_args_per_channel (config));

  op_types = peftq_quantsim_config_get_op_types (config);
  g_assert_cmpstrv (op_types, default_silent_ops);

  g_assert_cmpuint (peftq_quantsim_config_get_n_supergroups (config), ==, 5);
  first = peftq_quantsim_config_get_supergroup (config, 0);
  last = peftq_quantsim_config_get_supergroup (config, 4);
  g_assert_cmpstrv (first, ((const char *const[]) { "Conv", "Relu", NULL }));
  g_assert_cmpstrv (last, ((const char *const[]) { "Gemm", "Relu", NULL }));

  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
test_default_per_channel (void)
{
  g_autoptr(PeftqQuantsimConfig) config = peftq_quantsim_config_new_default_per_channel ();
  g_auto(GStrv) second = NULL;
  g_auto(GStrv) third = NULL;

  g_test_summary ("The per-channel default turns per-channel weights on except for Gemm, "
                  "MatMul and LayerNorm");

  g_assert_true (peftq_quantsim_config_is_per_channel (config, NULL));
  g_assert_true (peftq_quantsim_config_is_per_channel (config, "Conv"));
  g_assert_false (peftq_quantsim_config_is_per_channel (config, "Gemm"));
  g_assert_false (peftq_quantsim_config_is_per_channel (config, "MatMul"));
  g_assert_false (peftq_quantsim_config_is_per_channel (config, "LayerNorm"));
  g_assert_true (peftq_quantsim_config_get_quantizer_args_per_channel (config));
  g_assert_true (peftq_quantsim_config_get_quantizer_args_symmetric (config));

  second = peftq_quantsim_config_get_supergroup (config, 1);
  third = peftq_quantsim_config_get_supergroup (config, 2);
  g_assert_cmpstrv (second, ((const char *const[]) { "Conv", "Clip", NULL }));
  g_assert_cmpstrv (third, ((const char *const[]) { "ConvTranspose", "Relu", NULL }));

  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
assert_same_settings (PeftqQuantsimConfig *a,
                      PeftqQuantsimConfig *b)
{
  g_auto(GStrv) ops_a = peftq_quantsim_config_get_op_types (a);
  g_auto(GStrv) ops_b = peftq_quantsim_config_get_op_types (b);
  const char *probe[] = { "Gemm", "Conv", "Dropout", "MatMul", "Softmax", NULL };

  g_assert_cmpstrv (ops_a, ops_b);
  for (guint i = 0; probe[i] != NULL; i++)
    {
      const char *op = probe[i];

      g_assert_cmpint (peftq_quantsim_config_is_output_quantized (a, op), ==,
                       peftq_quantsim_config_is_output_quantized (b, op));
      g_assert_cmpint (peftq_quantsim_config_is_input_quantized (a, op), ==,
                       peftq_quantsim_config_is_input_quantized (b, op));
      g_assert_cmpint (peftq_quantsim_config_is_per_channel (a, op), ==,
                       peftq_quantsim_config_is_per_channel (b, op));
      g_assert_cmpint (peftq_quantsim_config_is_param_quantized (a, op, "weight"), ==,
                       peftq_quantsim_config_is_param_quantized (b, op, "weight"));
      g_assert_cmpint (peftq_quantsim_config_is_param_quantized (a, op, "bias"), ==,
                       peftq_quantsim_config_is_param_quantized (b, op, "bias"));
    }

  g_assert_cmpuint (peftq_quantsim_config_get_n_supergroups (a), ==,
                    peftq_quantsim_config_get_n_supergroups (b));
  for (guint i = 0; i < peftq_quantsim_config_get_n_supergroups (a); i++)
    {
      g_auto(GStrv) group_a = peftq_quantsim_config_get_supergroup (a, i);
      g_auto(GStrv) group_b = peftq_quantsim_config_get_supergroup (b, i);

      g_assert_cmpstrv (group_a, group_b);
    }

  g_assert_cmpint (peftq_quantsim_config_is_model_input_quantized (a), ==,
                   peftq_quantsim_config_is_model_input_quantized (b));
  g_assert_cmpint (peftq_quantsim_config_get_quantizer_args_per_channel (a), ==,
                   peftq_quantsim_config_get_quantizer_args_per_channel (b));
}

static void
test_round_trip (void)
{
  PeftqQuantsimConfig *(*constructors[]) (void) = {
    peftq_quantsim_config_new_default,
    peftq_quantsim_config_new_default_per_channel,
  };

  g_test_summary ("Serializing a configuration and parsing it from a file keeps its settings");

  for (guint i = 0; i < G_N_ELEMENTS (constructors); i++)
    {
      g_autoptr(PeftqQuantsimConfig) config = constructors[i] ();
      g_autoptr(PeftqQuantsimConfig) reloaded = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *dir = peftq_test_make_temp_dir ();
      g_autofree char *path = g_build_filename (dir, "config.json", NULL);
      g_autofree char *data = NULL;
      gsize length;

      data = peftq_quantsim_config_to_data (config, &length);
      g_assert_cmpuint (length, ==, strlen (data));
      g_assert_true (g_file_set_contents (path, data, length, NULL));

      reloaded = peftq_quantsim_config_new_from_file (path, &error);
      g_assert_no_error (error);
      assert_same_settings (config, reloaded);

      peftq_test_remove_dir (dir);
      g_assert_finalize_object (g_steal_pointer (&reloaded));
      g_assert_finalize_object (g_steal_pointer (&config));
    }
}

#define MINIMAL_REST \
  "\"params\": {}, \"op_type\": {}, \"supergroups\": [], \"model_input\": {}, \"model_output\": {}"

static void
test_precedence (void)
{
  const char *json =
    "{\"defaults\": {\"ops\": {\"is_output_quantized\": \"True\", \"is_symmetric\": \"False\"},"
    "              \"params\": {\"is_quantized\": \"True\", \"is_symmetric\": \"False\"}},"
    " \"params\": {\"weight\": {\"is_symmetric\": \"True\"}},"
    " \"op_type\": {\"Gemm\": {\"params\": {\"weight\": {\"is_symmetric\": \"False\"},"
    "                                       \"bias\": {\"is_quantized\": \"False\"}},"
    "                          \"is_input_quantized\": \"True\", \"is_symmetric\": \"True\"},"
    "             \"Softmax\": {\"encoding_constraints\": {\"min\": 0, \"max\": 1.0}}},"
    " \"supergroups\": [], \"model_input\": {}, \"model_output\": {\"is_output_quantized\": \"True\"}}";
  g_autoptr(PeftqQuantsimConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  double min = -1, max = -1;

  g_test_summary ("Op type settings override params, which override defaults");

  config = peftq_quantsim_config_new_from_data (json, -1, &error);
  g_assert_no_error (error);

  g_assert_true (peftq_quantsim_config_is_param_symmetric (config, "Conv", "weight"));
  g_assert_false (peftq_quantsim_config_is_param_symmetric (config, "Gemm", "weight"));
  g_assert_false (peftq_quantsim_config_is_param_symmetric (config, "Conv", "bias"));
  g_assert_true (peftq_quantsim_config_is_param_quantized (config, "Conv", "bias"));
  g_assert_false (peftq_quantsim_config_is_param_quantized (config, "Gemm", "bias"));
  g_assert_true (peftq_quantsim_config_is_input_quantized (config, "Gemm"));
  g_assert_false (peftq_quantsim_config_is_input_quantized (config, "Conv"));
  g_assert_true (peftq_quantsim_config_is_activation_symmetric (config, "Gemm"));
  g_assert_false (peftq_quantsim_config_is_activation_symmetric (config, "Conv"));
  g_assert_false (peftq_quantsim_config_is_model_input_quantized (config));
  g_assert_true (peftq_quantsim_config_is_model_output_quantized (config));
  g_assert_false (peftq_quantsim_config_is_per_channel (config, "Gemm"));

  /* defaults.params.is_symmetric is "False", so quantizer_args follow it. */
  g_assert_false (peftq_quantsim_config_get_quantizer_args_symmetric (config));

  g_assert_true (peftq_quantsim_config_get_encoding_constraints (config, "Softmax", &min, &max));
  g_assert_cmpfloat (min, ==, 0.0);
  g_assert_cmpfloat (max, ==, 1.0);

  g_assert_finalize_object (g_steal_pointer (&config));
}

static void
test_quantizer_args_without_symmetric (void)
{
  const char *json =
    "{\"defaults\": {\"ops\": {}, \"params\": {}, \"per_channel_quantization\": \"True\"}, "
    MINIMAL_REST "}";
  g_autoptr(PeftqQuantsimConfig) config = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("quantizer_args.is_symmetric falls back to per_channel_quantization");

  config = peftq_quantsim_config_new_from_data (json, -1, &error);
  g_assert_no_error (error);
  g_assert_true (peftq_quantsim_config_get_quantizer_args_symmetric (config));
  g_assert_true (peftq_quantsim_config_get_quantizer_args_per_channel (config));
  g_assert_false (peftq_quantsim_config_is_output_quantized (config, "Gemm"));
  g_assert_false (peftq_quantsim_config_is_param_quantized (config, "Gemm", "weight"));

  g_assert_finalize_object (g_steal_pointer (&config));
}

typedef struct
{
  const char *json;
  PeftqError code;
  const char *key_path;
} InvalidCase;

#define DEFAULTS_OK "\"defaults\": {\"ops\": {}, \"params\": {}}"

static const InvalidCase invalid_cases[] = {
  /* Structure. */
  { "[]", PEFTQ_ERROR_INVALID_DATA, "the document must be an object" },
  { "{\"defaults\": {\"ops\": {}, \"params\": {}}, \"params\": {}, \"op_type\": {}, "
    "\"supergroups\": [], \"model_input\": {}}", PEFTQ_ERROR_INVALID_DATA, "“model_output”" },
  { "{" DEFAULTS_OK ", " MINIMAL_REST ", \"extra\": {}}", PEFTQ_ERROR_INVALID_DATA, "“extra”" },
  { "{\"defaults\": {\"params\": {}}, " MINIMAL_REST "}", PEFTQ_ERROR_INVALID_DATA, "“defaults.ops”" },
  { "{\"defaults\": {\"ops\": {}}, " MINIMAL_REST "}", PEFTQ_ERROR_INVALID_DATA, "“defaults.params”" },
  { "{\"defaults\": {\"ops\": {}, \"params\": {}, \"colour\": \"True\"}, " MINIMAL_REST "}",
    PEFTQ_ERROR_INVALID_DATA, "“defaults.colour”" },
  { "{\"defaults\": {\"ops\": {\"is_quantized\": \"True\"}, \"params\": {}}, " MINIMAL_REST "}",
    PEFTQ_ERROR_INVALID_DATA, "“defaults.ops.is_quantized”" },
  { "{" DEFAULTS_OK ", \"params\": {\"gamma\": {}}, \"op_type\": {}, \"supergroups\": [], "
    "\"model_input\": {}, \"model_output\": {}}", PEFTQ_ERROR_INVALID_DATA, "“params.gamma”" },
  { "{" DEFAULTS_OK ", \"params\": {}, \"op_type\": {\"Gemm\": {\"is_quantized\": \"True\"}}, "
    "\"supergroups\": [], \"model_input\": {}, \"model_output\": {}}",
    PEFTQ_ERROR_INVALID_DATA, "“op_type.Gemm.is_quantized”" },
  { "{" DEFAULTS_OK ", \"params\": {}, \"op_type\": {}, \"supergroups\": [{\"op_list\": [\"Conv\"]}], "
    "\"model_input\": {}, \"model_output\": {}}", PEFTQ_ERROR_INVALID_DATA, "“supergroups[0].op_list”" },
  { "{" DEFAULTS_OK ", \"params\": {}, \"op_type\": {}, \"supergroups\": [{\"ops\": [\"Conv\", \"Relu\"]}], "
    "\"model_input\": {}, \"model_output\": {}}", PEFTQ_ERROR_INVALID_DATA, "“supergroups[0].ops”" },
  { "{" DEFAULTS_OK ", \"params\": {}, \"op_type\": {}, \"supergroups\": {}, "
    "\"model_input\": {}, \"model_output\": {}}", PEFTQ_ERROR_INVALID_DATA, "“supergroups”" },
  { "{" DEFAULTS_OK ", \"params\": {}, \"op_type\": {\"Softmax\": {\"encoding_constraints\": "
    "{\"min\": 1, \"max\": 0}}}, \"supergroups\": [], \"model_input\": {}, \"model_output\": {}}",
    PEFTQ_ERROR_INVALID_DATA, "“op_type.Softmax.encoding_constraints”" },
  { "{" DEFAULTS_OK ", \"params\": {}, \"op_type\": {\"Softmax\": {\"encoding_constraints\": "
    "{\"min\": 0}}}, \"supergroups\": [], \"model_input\": {}, \"model_output\": {}}",
    PEFTQ_ERROR_INVALID_DATA, "“op_type.Softmax.encoding_constraints.max”" },

  /* Boolean spelling. */
  { "{\"defaults\": {\"ops\": {\"is_output_quantized\": \"true\"}, \"params\": {}}, " MINIMAL_REST "}",
    PEFTQ_ERROR_INVALID_DATA, "“defaults.ops.is_output_quantized”" },
  { "{\"defaults\": {\"ops\": {}, \"params\": {\"is_symmetric\": true}}, " MINIMAL_REST "}",
    PEFTQ_ERROR_INVALID_DATA, "“defaults.params.is_symmetric”" },
  { "{" DEFAULTS_OK ", \"params\": {\"bias\": {\"is_quantized\": \"no\"}}, \"op_type\": {}, "
    "\"supergroups\": [], \"model_input\": {}, \"model_output\": {}}",
    PEFTQ_ERROR_INVALID_DATA, "“params.bias.is_quantized”" },

  /* Settings that AIMET does not implement. */
  { "{\"defaults\": {\"ops\": {\"is_input_quantized\": \"True\"}, \"params\": {}}, " MINIMAL_REST "}",
    PEFTQ_ERROR_UNSUPPORTED, "“defaults.ops.is_input_quantized”" },
  { "{\"defaults\": {\"ops\": {\"is_output_quantized\": \"False\"}, \"params\": {}}, " MINIMAL_REST "}",
    PEFTQ_ERROR_UNSUPPORTED, "“defaults.ops.is_output_quantized”" },
  { "{" DEFAULTS_OK ", \"params\": {}, \"op_type\": {\"Gemm\": {\"is_input_quantized\": \"False\"}}, "
    "\"supergroups\": [], \"model_input\": {}, \"model_output\": {}}",
    PEFTQ_ERROR_UNSUPPORTED, "“op_type.Gemm.is_input_quantized”" },
  { "{" DEFAULTS_OK ", \"params\": {}, \"op_type\": {}, \"supergroups\": [], "
    "\"model_input\": {\"is_input_quantized\": \"False\"}, \"model_output\": {}}",
    PEFTQ_ERROR_UNSUPPORTED, "“model_input.is_input_quantized”" },
  { "{" DEFAULTS_OK ", \"params\": {}, \"op_type\": {}, \"supergroups\": [], "
    "\"model_input\": {}, \"model_output\": {\"is_output_quantized\": \"False\"}}",
    PEFTQ_ERROR_UNSUPPORTED, "“model_output.is_output_quantized”" },
  { "{\"defaults\": {\"ops\": {}, \"params\": {}, \"strict_symmetric\": \"True\"}, " MINIMAL_REST "}",
    PEFTQ_ERROR_UNSUPPORTED, "“defaults.strict_symmetric”" },
  { "{\"defaults\": {\"ops\": {}, \"params\": {}, \"unsigned_symmetric\": \"True\"}, " MINIMAL_REST "}",
    PEFTQ_ERROR_UNSUPPORTED, "“defaults.unsigned_symmetric”" },
};

static void
test_invalid (void)
{
  g_test_summary ("Invalid configurations fail with an error that names the key path");

  for (guint i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      const InvalidCase *c = &invalid_cases[i];
      g_autoptr(PeftqQuantsimConfig) config = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("case %u: %s", i, c->json);
      config = peftq_quantsim_config_new_from_data (c->json, -1, &error);
      g_assert_null (config);
      g_assert_error (error, PEFTQ_ERROR, (gint) c->code);
      g_assert_nonnull (strstr (error->message, c->key_path));
    }
}

static void
test_invalid_file (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *missing = g_build_filename (dir, "missing.json", NULL);
  g_autofree char *broken = g_build_filename (dir, "broken.json", NULL);
  g_autoptr(PeftqQuantsimConfig) config = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("File errors name the file");

  config = peftq_quantsim_config_new_from_file (missing, &error);
  g_assert_null (config);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (broken, "{\"defaults\": ", -1, NULL));
  config = peftq_quantsim_config_new_from_file (broken, &error);
  g_assert_null (config);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, broken));

  peftq_test_remove_dir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/quantsim-config/default-queries", test_default_queries);
  g_test_add_func ("/peftq/quantsim-config/default-per-channel", test_default_per_channel);
  g_test_add_func ("/peftq/quantsim-config/round-trip", test_round_trip);
  g_test_add_func ("/peftq/quantsim-config/precedence", test_precedence);
  g_test_add_func ("/peftq/quantsim-config/quantizer-args-fallback", test_quantizer_args_without_symmetric);
  g_test_add_func ("/peftq/quantsim-config/invalid", test_invalid);
  g_test_add_func ("/peftq/quantsim-config/invalid-file", test_invalid_file);

  return g_test_run ();
}
