/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq.h>

#include "test-util.h"

#include <math.h>
#include <string.h>

static void
assert_close (double actual,
              double expected,
              double relative)
{
  double tolerance = MAX (fabs (expected) * relative, 1e-12);

  if (fabs (actual - expected) > tolerance)
    g_error ("Expected %.9g, got %.9g (tolerance %.3g)", expected, actual, tolerance);
}

/* The 0.6.1 example of AIMET's format: one LoRA layer, per tensor. */
static const char example_0_6_1[] =
  "{\"activation_encodings\": {"
  "  \"input\": [{\"bitwidth\": 8, \"dtype\": \"int\", \"is_symmetric\": \"False\","
  "    \"max\": 2.4980392456, \"min\": -1.0019607544, \"offset\": -73, \"scale\": 0.0137254903}]},"
  " \"excluded_layers\": [],"
  " \"param_encodings\": {"
  "  \"base_model.model.linear.base_layer.weight\": [{\"bitwidth\": 8, \"dtype\": \"int\","
  "    \"is_symmetric\": \"True\", \"max\": 1.2699999809, \"min\": -1.2799999714,"
  "    \"offset\": -128, \"scale\": 0.0099999998}],"
  "  \"base_model.model.linear.lora_A.0.weight\": [{\"bitwidth\": 16, \"dtype\": \"int\","
  "    \"is_symmetric\": \"True\", \"max\": 0.3099905550, \"min\": -0.3100000024,"
  "    \"offset\": -32768, \"scale\": 0.0000094604}],"
  "  \"fc.weight\": ["
  "    {\"bitwidth\": 4, \"dtype\": \"int\", \"is_symmetric\": \"True\", \"max\": 0.7, \"min\": -0.8, \"offset\": -8, \"scale\": 0.1},"
  "    {\"bitwidth\": 4, \"dtype\": \"int\", \"is_symmetric\": \"True\", \"max\": 1.4, \"min\": -1.6, \"offset\": -8, \"scale\": 0.2}]},"
  " \"quantizer_args\": {\"activation_bitwidth\": 8, \"dtype\": \"int\", \"is_symmetric\": true,"
  "  \"param_bitwidth\": 8, \"per_channel_quantization\": false,"
  "  \"quant_scheme\": \"post_training_tf_enhanced\"},"
  " \"version\": \"0.6.1\"}";

/* The same encodings in version 1.0.0. */
static const char example_1_0_0[] =
  "{\"activation_encodings\": ["
  "  {\"bw\": 8, \"dtype\": \"INT\", \"enc_type\": \"PER_TENSOR\", \"is_sym\": false,"
  "   \"name\": \"input\", \"offset\": [-73], \"scale\": [0.0137254903]}],"
  " \"excluded_layers\": [],"
  " \"param_encodings\": ["
  "  {\"bw\": 8, \"dtype\": \"INT\", \"enc_type\": \"PER_TENSOR\", \"is_sym\": true,"
  "   \"name\": \"base_model.model.linear.base_layer.weight\", \"offset\": [-128], \"scale\": [0.0099999998]},"
  "  {\"bw\": 4, \"dtype\": \"INT\", \"enc_type\": \"PER_CHANNEL\", \"is_sym\": true,"
  "   \"name\": \"fc.weight\", \"offset\": [-8, -8], \"scale\": [0.1, 0.2]}],"
  " \"version\": \"1.0.0\"}";

static PeftqEncodingsFile *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  PeftqEncodingsFile *file = peftq_encodings_file_new_from_data (text, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);
  return file;
}

static void
check_example_values (PeftqEncodingsFile *file)
{
  PeftqEncoding *base;
  PeftqEncoding *fc;
  PeftqEncoding *input;
  gsize n = 0;

  base = peftq_encodings_file_get_param_encoding (file, "base_model.model.linear.base_layer.weight");
  g_assert_nonnull (base);
  g_assert_cmpuint (peftq_encoding_get_bitwidth (base), ==, 8);
  g_assert_true (peftq_encoding_get_symmetric (base));
  g_assert_true (peftq_encoding_get_signed (base));
  assert_close (peftq_encoding_get_scale (base, &n)[0], 0.0099999998, 1e-6);
  g_assert_cmpint (peftq_encoding_get_legacy_offset (base, &n)[0], ==, -128);

  fc = peftq_encodings_file_get_param_encoding (file, "fc.weight");
  g_assert_nonnull (fc);
  g_assert_cmpuint (peftq_encoding_get_n_values (fc), ==, 2);
  assert_close (peftq_encoding_get_scale (fc, &n)[0], 0.1, 1e-6);
  assert_close (peftq_encoding_get_scale (fc, &n)[1], 0.2, 1e-6);
  g_assert_cmpint (peftq_encoding_get_legacy_offset (fc, &n)[1], ==, -8);

  input = peftq_encodings_file_get_activation_encoding (file, "input");
  g_assert_nonnull (input);
  g_assert_false (peftq_encoding_get_symmetric (input));
  g_assert_false (peftq_encoding_get_signed (input));
  assert_close (peftq_encoding_get_scale (input, &n)[0], 0.0137254903, 1e-6);
  g_assert_cmpint (peftq_encoding_get_legacy_offset (input, &n)[0], ==, -73);
}

static void
test_read_examples (void)
{
  g_autoptr(PeftqEncodingsFile) v0 = parse (example_0_6_1);
  g_autoptr(PeftqEncodingsFile) v1 = parse (example_1_0_0);
  JsonObject *args;

  g_test_summary ("The 0.6.1 and 1.0.0 examples read to the same values");

  g_assert_cmpstr (peftq_encodings_file_get_version (v0), ==, "0.6.1");
  g_assert_cmpstr (peftq_encodings_file_get_version (v1), ==, "1.0.0");
  g_assert_false (peftq_encodings_file_get_torch_layout (v0));
  g_assert_false (peftq_encodings_file_get_torch_layout (v1));
  check_example_values (v0);
  check_example_values (v1);

  args = peftq_encodings_file_get_quantizer_args (v0);
  g_assert_nonnull (args);
  g_assert_cmpstr (json_object_get_string_member (args, "quant_scheme"), ==,
                   "post_training_tf_enhanced");
  g_assert_null (peftq_encodings_file_get_quantizer_args (v1));
}

/* Loading rebuilds an encoding from the stored min and max, as AIMET does. So a scale
 * can move by one float32 step per save and load, but offsets and grids stay exact. */
static void
assert_encodings_match (PeftqEncoding *a,
                        PeftqEncoding *b)
{
  gsize n = 0;
  gsize m = 0;

  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpuint (peftq_encoding_get_n_values (a), ==, peftq_encoding_get_n_values (b));
  g_assert_cmpuint (peftq_encoding_get_bitwidth (a), ==, peftq_encoding_get_bitwidth (b));
  g_assert_cmpint (peftq_encoding_get_symmetric (a), ==, peftq_encoding_get_symmetric (b));
  for (gsize i = 0; i < peftq_encoding_get_n_values (a); i++)
    {
      assert_close (peftq_encoding_get_scale (a, &n)[i], peftq_encoding_get_scale (b, &m)[i],
                    1e-6);
      g_assert_cmpint (peftq_encoding_get_legacy_offset (a, &n)[i], ==,
                       peftq_encoding_get_legacy_offset (b, &m)[i]);
    }
}

static void
assert_files_match (PeftqEncodingsFile *a,
                    PeftqEncodingsFile *b)
{
  g_auto(GStrv) params = peftq_encodings_file_get_param_names (a);
  g_auto(GStrv) params_b = peftq_encodings_file_get_param_names (b);
  g_auto(GStrv) activations = peftq_encodings_file_get_activation_names (a);
  g_auto(GStrv) activations_b = peftq_encodings_file_get_activation_names (b);

  g_assert_cmpstrv (params, params_b);
  g_assert_cmpstrv (activations, activations_b);
  for (guint i = 0; params[i] != NULL; i++)
    assert_encodings_match (peftq_encodings_file_get_param_encoding (a, params[i]),
                            peftq_encodings_file_get_param_encoding (b, params[i]));
  for (guint i = 0; activations[i] != NULL; i++)
    assert_encodings_match (peftq_encodings_file_get_activation_encoding (a, activations[i]),
                            peftq_encodings_file_get_activation_encoding (b, activations[i]));
}

static PeftqEncodingsFile *
save_and_load (PeftqEncodingsFile *file,
               const char         *dir,
               const char         *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, name, NULL);
  PeftqEncodingsFile *loaded;

  g_assert_true (peftq_encodings_file_save (file, path, &error));
  g_assert_no_error (error);
  loaded = peftq_encodings_file_new_from_file (path, &error);
  g_assert_no_error (error);
  return loaded;
}

static void
round_trip_onnx (const char *version)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autoptr(PeftqEncodingsFile) file = NULL;
  g_autoptr(PeftqEncodingsFile) first = NULL;
  g_autoptr(PeftqEncodingsFile) second = NULL;
  g_autoptr(PeftqEncoding) per_tensor = NULL;
  g_autoptr(PeftqEncoding) per_channel = NULL;
  g_autoptr(PeftqEncoding) activation = NULL;
  g_autofree char *text = NULL;
  const gint64 shape[] = { 2, 1 };
  const float lo[] = { -0.8f, -1.6f };
  const float hi[] = { 0.7f, 1.4f };
  PeftqEncoding *loaded;
  gsize n = 0;
  gsize m = 0;

  file = peftq_encodings_file_new (version, FALSE, &error);
  g_assert_no_error (error);
  per_tensor = peftq_encoding_new_per_tensor (-1.28f, 1.27f, 8, TRUE, &error);
  per_channel = peftq_encoding_new (shape, 2, NULL, 0, lo, 2, hi, 2, 4, TRUE, TRUE, &error);
  activation = peftq_encoding_new_per_tensor (-1.0f, 2.5f, 8, FALSE, &error);
  g_assert_no_error (error);
  peftq_encodings_file_set_param_encoding (file, "linear.weight", per_tensor);
  peftq_encodings_file_set_param_encoding (file, "fc.weight", per_channel);
  peftq_encodings_file_set_activation_encoding (file, "input", activation);

  text = peftq_encodings_file_to_data (file, NULL);
  g_assert_nonnull (strstr (text, "\"version\""));
  /* Sorted keys: fc.weight is written before linear.weight. */
  g_assert_true (strstr (text, "fc.weight") < strstr (text, "linear.weight"));
  g_assert_true (strstr (text, "activation_encodings") < strstr (text, "param_encodings"));

  first = save_and_load (file, dir, "model.encodings");
  g_assert_cmpstr (peftq_encodings_file_get_version (first), ==, version);
  g_assert_false (peftq_encodings_file_get_torch_layout (first));

  loaded = peftq_encodings_file_get_param_encoding (first, "fc.weight");
  g_assert_nonnull (loaded);
  g_assert_cmpuint (peftq_encoding_get_n_values (loaded), ==, 2);
  for (gsize c = 0; c < 2; c++)
    {
      assert_close (peftq_encoding_get_scale (loaded, &n)[c],
                    peftq_encoding_get_scale (per_channel, &m)[c], 1e-6);
      g_assert_cmpint (peftq_encoding_get_legacy_offset (loaded, &n)[c], ==,
                       peftq_encoding_get_legacy_offset (per_channel, &m)[c]);
    }
  loaded = peftq_encodings_file_get_activation_encoding (first, "input");
  g_assert_nonnull (loaded);
  assert_close (peftq_encoding_get_scale (loaded, &n)[0],
                peftq_encoding_get_scale (activation, &m)[0], 1e-6);
  g_assert_cmpint (peftq_encoding_get_legacy_offset (loaded, &n)[0], ==, -73);

  /* A file read back writes the same encodings again. */
  second = save_and_load (first, dir, "again.encodings");
  assert_files_match (first, second);

  peftq_test_remove_dir (dir);
}

static void
test_round_trip_0_6_1 (void)
{
  g_test_summary ("A 0.6.1 file keeps its encodings through a save and a load");
  round_trip_onnx ("0.6.1");
}

static void
test_round_trip_1_0_0 (void)
{
  g_test_summary ("A 1.0.0 file keeps its encodings through a save and a load");
  round_trip_onnx ("1.0.0");
}

static void
round_trip_torch (const char *version)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autoptr(PeftqEncodingsFile) file = NULL;
  g_autoptr(PeftqEncodingsFile) loaded = NULL;
  g_autoptr(PeftqEncoding) input = NULL;
  g_autoptr(PeftqEncoding) output = NULL;
  g_autoptr(PeftqEncoding) weight = NULL;
  g_autofree guint *indices = NULL;
  g_auto(GStrv) modules = NULL;
  gsize n_indices = 0;
  gsize n = 0;

  file = peftq_encodings_file_new (version, TRUE, &error);
  g_assert_no_error (error);
  input = peftq_encoding_new_per_tensor (-1.0f, 2.5f, 8, FALSE, &error);
  output = peftq_encoding_new_per_tensor (-1.0f, 3.0f, 8, FALSE, &error);
  weight = peftq_encoding_new_per_tensor (-0.31f, 0.31f, 16, TRUE, &error);
  g_assert_no_error (error);

  g_assert_true (peftq_encodings_file_set_module_encoding (file, "base_model.model.linear.base_layer",
                                                           "input", 0, input, &error));
  g_assert_true (peftq_encodings_file_set_module_encoding (file, "base_model.model.linear.base_layer",
                                                           "output", 0, output, &error));
  g_assert_true (peftq_encodings_file_set_module_encoding (file, "base_model.model.linear.base_layer",
                                                           "output", 10, output, &error));
  g_assert_no_error (error);
  g_assert_false (peftq_encodings_file_set_module_encoding (file, "m", "sideways", 0, output,
                                                            &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  peftq_encodings_file_set_param_encoding (file, "base_model.model.linear.lora_A.0.weight", weight);

  loaded = save_and_load (file, dir, "model_torch.encodings");
  g_assert_true (peftq_encodings_file_get_torch_layout (loaded));
  g_assert_cmpstr (peftq_encodings_file_get_version (loaded), ==, version);

  modules = peftq_encodings_file_get_module_names (loaded);
  g_assert_cmpuint (g_strv_length (modules), ==, 1);
  g_assert_cmpstr (modules[0], ==, "base_model.model.linear.base_layer");
  indices = peftq_encodings_file_get_module_indices (loaded, modules[0], "output", &n_indices);
  g_assert_cmpuint (n_indices, ==, 2);
  g_assert_cmpuint (indices[0], ==, 0);
  g_assert_cmpuint (indices[1], ==, 10);

  g_assert_cmpint (peftq_encoding_get_legacy_offset (peftq_encodings_file_get_module_encoding (loaded, modules[0], "input", 0), &n)[0],
                   ==, -73);
  /* [-1, 3] with 8 bits: scale 4 / 255, offset round(-63.75) = -64. */
  g_assert_cmpint (peftq_encoding_get_legacy_offset (peftq_encodings_file_get_module_encoding (loaded, modules[0], "output", 0), &n)[0],
                   ==, -64);
  g_assert_null (peftq_encodings_file_get_module_encoding (loaded, modules[0], "input", 1));
  g_assert_nonnull (peftq_encodings_file_get_param_encoding (loaded, "base_model.model.linear.lora_A.0.weight"));

  peftq_test_remove_dir (dir);
}

static void
test_round_trip_torch (void)
{
  g_test_summary ("The _torch layout round trips in both versions");
  round_trip_torch ("0.6.1");
  round_trip_torch ("1.0.0");
}

static void
test_symmetric_spellings (void)
{
  const char *spellings[] = { "\"True\"", "\"true\"", "\"TRUE\"", "true" };

  g_test_summary ("is_symmetric accepts the string and the boolean spelling");

  for (gsize i = 0; i < G_N_ELEMENTS (spellings); i++)
    {
      g_autofree char *text = g_strdup_printf (
        "{\"version\": \"0.6.1\", \"param_encodings\": {\"w\": [{\"bitwidth\": 8, \"dtype\": \"int\","
        " \"is_symmetric\": %s, \"max\": 1.27, \"min\": -1.28, \"offset\": -128, \"scale\": 0.01}]}}",
        spellings[i]);
      g_autoptr(PeftqEncodingsFile) file = parse (text);

      g_assert_true (peftq_encoding_get_symmetric (peftq_encodings_file_get_param_encoding (file, "w")));
    }
}

typedef struct
{
  const char *name;
  const char *text;
  int code;
  const char *fragments[3];
} InvalidCase;

#define ENTRY_0_6_1(fields) \
  "{\"version\": \"0.6.1\", \"param_encodings\": {\"fc.weight\": [{" fields "}]}}"

static const InvalidCase invalid_cases[] = {
  { "missing version", "{\"param_encodings\": {}}",
    PEFTQ_ERROR_INVALID_DATA, { "missing \"version\"" } },
  { "unknown version", "{\"version\": \"2.0.0\"}",
    PEFTQ_ERROR_UNSUPPORTED, { "\"2.0.0\"" } },
  { "version type", "{\"version\": 1}",
    PEFTQ_ERROR_INVALID_DATA, { "\"version\" must be a string" } },
  { "not an object", "[1, 2]",
    PEFTQ_ERROR_INVALID_DATA, { "top level" } },
  { "not JSON", "{\"version\": ",
    PEFTQ_ERROR_INVALID_DATA, { "not valid JSON" } },
  { "bitwidth type",
    ENTRY_0_6_1 ("\"bitwidth\": \"8\", \"is_symmetric\": \"True\", \"max\": 1.0, \"min\": -1.0, \"offset\": -128, \"scale\": 0.01"),
    PEFTQ_ERROR_INVALID_DATA, { "fc.weight", "\"bitwidth\" must be an integer" } },
  { "scale type",
    ENTRY_0_6_1 ("\"bitwidth\": 8, \"is_symmetric\": \"True\", \"max\": 1.0, \"min\": -1.0, \"offset\": -128, \"scale\": \"0.01\""),
    PEFTQ_ERROR_INVALID_DATA, { "fc.weight", "\"scale\" must be a number" } },
  { "param list type", "{\"version\": \"0.6.1\", \"param_encodings\": [1]}",
    PEFTQ_ERROR_INVALID_DATA, { "param_encodings", "expected an object" } },
  { "symmetric spelling",
    ENTRY_0_6_1 ("\"bitwidth\": 8, \"is_symmetric\": \"yes\", \"max\": 1.0, \"min\": -1.0, \"offset\": -128, \"scale\": 0.01"),
    PEFTQ_ERROR_INVALID_DATA, { "fc.weight", "\"yes\"" } },
  { "missing scale",
    ENTRY_0_6_1 ("\"bitwidth\": 8, \"is_symmetric\": \"True\", \"max\": 1.0, \"min\": -1.0, \"offset\": -128"),
    PEFTQ_ERROR_INVALID_DATA, { "fc.weight", "missing \"scale\"" } },
  { "negative bitwidth",
    ENTRY_0_6_1 ("\"bitwidth\": -8, \"is_symmetric\": \"True\", \"max\": 1.0, \"min\": -1.0, \"offset\": -128, \"scale\": 0.01"),
    PEFTQ_ERROR_INVALID_DATA, { "fc.weight", "-8" } },
  { "float dtype",
    "{\"version\": \"0.6.1\", \"activation_encodings\": {\"t\": [{\"bitwidth\": 16, \"dtype\": \"float\"}]}}",
    PEFTQ_ERROR_UNSUPPORTED, { "\"t\"", "float" } },
  { "length mismatch",
    "{\"version\": \"1.0.0\", \"param_encodings\": [{\"bw\": 4, \"dtype\": \"INT\", \"enc_type\": \"PER_CHANNEL\","
    " \"is_sym\": true, \"name\": \"fc.weight\", \"offset\": [-8], \"scale\": [0.1, 0.2]}]}",
    PEFTQ_ERROR_INVALID_DATA, { "fc.weight", "2 scales", "1 offsets" } },
  { "per tensor with two",
    "{\"version\": \"1.0.0\", \"param_encodings\": [{\"bw\": 4, \"dtype\": \"INT\", \"enc_type\": \"PER_TENSOR\","
    " \"is_sym\": true, \"name\": \"fc.weight\", \"offset\": [-8, -8], \"scale\": [0.1, 0.2]}]}",
    PEFTQ_ERROR_INVALID_DATA, { "fc.weight", "PER_TENSOR" } },
  { "mixed channel bitwidths",
    "{\"version\": \"0.6.1\", \"param_encodings\": {\"fc.weight\": ["
    "{\"bitwidth\": 4, \"is_symmetric\": \"True\", \"max\": 0.7, \"min\": -0.8, \"offset\": -8, \"scale\": 0.1},"
    "{\"bitwidth\": 8, \"is_symmetric\": \"True\", \"max\": 1.4, \"min\": -1.6, \"offset\": -128, \"scale\": 0.2}]}}",
    PEFTQ_ERROR_INVALID_DATA, { "fc.weight", "same bitwidth" } },
};

static void
test_invalid_files (void)
{
  g_test_summary ("Malformed encodings files give errors that name the entry and the fault");

  for (gsize i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      const InvalidCase *c = &invalid_cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(PeftqEncodingsFile) file = NULL;

      g_test_message ("Case: %s", c->name);
      file = peftq_encodings_file_new_from_data (c->text, -1, &error);
      g_assert_null (file);
      g_assert_error (error, PEFTQ_ERROR, c->code);
      for (gsize f = 0; f < G_N_ELEMENTS (c->fragments) && c->fragments[f] != NULL; f++)
        if (strstr (error->message, c->fragments[f]) == NULL)
          g_error ("Case %s: \"%s\" is not in the message: %s", c->name, c->fragments[f],
                   error->message);
    }
}

static void
test_channel_count_mismatch (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqEncodingsFile) file = parse (example_0_6_1);
  g_autoptr(PeftqAffineQuantizer) quantizer = NULL;

  g_test_summary ("Loading a per-channel entry into a quantizer checks the channel count");

  quantizer = peftq_affine_quantizer_new_per_channel (4, TRUE, 3, 0, 2, &error);
  g_assert_no_error (error);
  peftq_quantizer_set_name (PEFTQ_QUANTIZER (quantizer), "fc.weight");
  g_assert_false (peftq_affine_quantizer_set_encoding (quantizer,
                                                       peftq_encodings_file_get_param_encoding (file, "fc.weight"),
                                                       &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "fc.weight"));
  g_assert_nonnull (strstr (error->message, "3 encodings"));
  g_assert_nonnull (strstr (error->message, "2 values"));
}

static void
test_unknown_version_on_new (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqEncodingsFile) file = NULL;

  g_test_summary ("Creating a file of an unknown version is an error naming it");

  file = peftq_encodings_file_new ("0.5.0", FALSE, &error);
  g_assert_null (file);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "\"0.5.0\""));
}

static const char *expected_files[] = {
  "expected/base/base_encodings.encodings",
  "expected/base/per_channel/base_encodings.encodings",
  "expected/qv_r4/base_encodings.encodings",
  "expected/qv_r4/qv_r4.encodings",
  "expected/qv_r4/per_channel/base_encodings.encodings",
  "expected/qv_r4/per_channel/qv_r4.encodings",
  "expected/qv_r4/lora_param_bw16/base_encodings.encodings",
  "expected/qv_r4/lora_param_bw16/qv_r4.encodings",
};

/* The file that selected_encodings.json in the same folder draws from. */
static const char *selected_sources[][2] = {
  { "expected/base/selected_encodings.json", "expected/base/base_encodings.encodings" },
  { "expected/base/per_channel/selected_encodings.json", "expected/base/per_channel/base_encodings.encodings" },
  { "expected/qv_r4/selected_encodings.json", "expected/qv_r4/qv_r4.encodings" },
  { "expected/qv_r4/per_channel/selected_encodings.json", "expected/qv_r4/per_channel/qv_r4.encodings" },
  { "expected/qv_r4/lora_param_bw16/selected_encodings.json", "expected/qv_r4/lora_param_bw16/qv_r4.encodings" },
};

static void
test_expected_files (void)
{
  g_test_summary ("Every encodings file of the reference data reads and writes back");

  for (gsize i = 0; i < G_N_ELEMENTS (expected_files); i++)
    {
      g_autofree char *path = peftq_test_get_data_path (expected_files[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(PeftqEncodingsFile) file = NULL;
      g_autoptr(PeftqEncodingsFile) again = NULL;
      g_autofree char *text = NULL;
      g_auto(GStrv) params = NULL;
      g_auto(GStrv) activations = NULL;

      if (path == NULL)
        return;

      file = peftq_encodings_file_new_from_file (path, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (peftq_encodings_file_get_version (file), ==, "0.6.1");
      params = peftq_encodings_file_get_param_names (file);
      activations = peftq_encodings_file_get_activation_names (file);
      g_assert_cmpuint (g_strv_length (params), >, 0);
      g_assert_cmpuint (g_strv_length (activations), >, 0);

      text = peftq_encodings_file_to_data (file, NULL);
      again = parse (text);
      assert_files_match (file, again);
    }
}

static void
test_selected_encodings (void)
{
  g_test_summary ("selected_encodings.json agrees with the encodings files");

  for (gsize i = 0; i < G_N_ELEMENTS (selected_sources); i++)
    {
      g_autofree char *selected_path = peftq_test_get_data_path (selected_sources[i][0]);
      g_autofree char *encodings_path = peftq_test_get_data_path (selected_sources[i][1]);
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(PeftqEncodingsFile) file = NULL;
      g_autoptr(GList) names = NULL;
      JsonObject *selected;
      guint checked = 0;

      if (selected_path == NULL || encodings_path == NULL)
        return;

      g_assert_true (json_parser_load_from_file (parser, selected_path, &error));
      g_assert_no_error (error);
      selected = json_node_get_object (json_parser_get_root (parser));
      file = peftq_encodings_file_new_from_file (encodings_path, &error);
      g_assert_no_error (error);

      names = json_object_get_members (selected);
      for (GList *l = names; l != NULL; l = l->next)
        {
          JsonNode *node = json_object_get_member (selected, l->data);
          PeftqEncoding *encoding = peftq_encodings_file_get_param_encoding (file, l->data);
          g_autoptr(JsonArray) entries = NULL;
          gsize n = 0;

          if (encoding == NULL)
            encoding = peftq_encodings_file_get_activation_encoding (file, l->data);
          if (encoding == NULL)
            g_error ("%s names %s, which %s lacks", selected_path, (const char *) l->data,
                     encodings_path);

          /* An entry is one dictionary, or a list of one per channel. */
          if (JSON_NODE_HOLDS_ARRAY (node))
            {
              entries = json_array_ref (json_node_get_array (node));
            }
          else
            {
              entries = json_array_new ();
              json_array_add_element (entries, json_node_copy (node));
            }
          g_assert_cmpuint (json_array_get_length (entries), ==,
                            peftq_encoding_get_n_values (encoding));

          for (guint c = 0; c < json_array_get_length (entries); c++)
            {
              JsonObject *entry = json_array_get_object_element (entries, c);

              g_assert_cmpint (peftq_encoding_get_bitwidth (encoding), ==,
                               json_object_get_int_member (entry, "bitwidth"));
              g_assert_cmpint (peftq_encoding_get_legacy_offset (encoding, &n)[c], ==,
                               json_object_get_int_member (entry, "offset"));
              assert_close (peftq_encoding_get_scale (encoding, &n)[c],
                            json_object_get_double_member (entry, "scale"), 1e-6);
              assert_close (peftq_encoding_get_min (encoding, &n)[c],
                            json_object_get_double_member (entry, "min"), 1e-6);
              assert_close (peftq_encoding_get_max (encoding, &n)[c],
                            json_object_get_double_member (entry, "max"), 1e-6);
              checked++;
            }
        }
      g_assert_cmpuint (checked, >, 0);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/quant-encodings-file/read-examples", test_read_examples);
  g_test_add_func ("/peftq/quant-encodings-file/round-trip-0.6.1", test_round_trip_0_6_1);
  g_test_add_func ("/peftq/quant-encodings-file/round-trip-1.0.0", test_round_trip_1_0_0);
  g_test_add_func ("/peftq/quant-encodings-file/round-trip-torch", test_round_trip_torch);
  g_test_add_func ("/peftq/quant-encodings-file/symmetric-spellings", test_symmetric_spellings);
  g_test_add_func ("/peftq/quant-encodings-file/invalid-files", test_invalid_files);
  g_test_add_func ("/peftq/quant-encodings-file/channel-count-mismatch", test_channel_count_mismatch);
  g_test_add_func ("/peftq/quant-encodings-file/unknown-version", test_unknown_version_on_new);
  g_test_add_func ("/peftq/quant-encodings-file/expected-files", test_expected_files);
  g_test_add_func ("/peftq/quant-encodings-file/selected-encodings", test_selected_encodings);

  return g_test_run ();
}
