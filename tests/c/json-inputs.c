/* SPDX-License-Identifier: MIT */
/* Every reader of JSON input must reject deeply nested and malformed documents with an
 * error instead of overflowing the stack in json-glib's recursive parser. */
#include "config.h"

#include <peftq.h>
#include <string.h>

#include "test-util.h"

/* Deep enough that json-glib's recursion would overflow an 8 MiB stack. */
#define NESTING_DEPTH 200000

static char *
make_deep_json (void)
{
  GString *text = g_string_sized_new (2 * NESTING_DEPTH + 2);

  for (int i = 0; i < NESTING_DEPTH; i++)
    g_string_append_c (text, '[');
  for (int i = 0; i < NESTING_DEPTH; i++)
    g_string_append_c (text, ']');

  return g_string_free (text, FALSE);
}

static char *
write_temp_file (const char *dir,
                 const char *name,
                 const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_data_readers_reject_deep_nesting (void)
{
  g_autofree char *deep = make_deep_json ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqLoraConfig) lora_config = NULL;
  g_autoptr(PeftqQuantsimConfig) quantsim_config = NULL;
  g_autoptr(PeftqEncodingsFile) encodings = NULL;
  g_autoptr(PeftqShapeModel) shape_model = NULL;

  g_test_summary ("Readers of JSON text reject nesting far beyond any real file");

  lora_config = peftq_lora_config_new_from_data (deep, -1, &error);
  g_assert_null (lora_config);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_clear_error (&error);

  quantsim_config = peftq_quantsim_config_new_from_data (deep, -1, &error);
  g_assert_null (quantsim_config);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_clear_error (&error);

  encodings = peftq_encodings_file_new_from_data (deep, -1, &error);
  g_assert_null (encodings);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_clear_error (&error);

  shape_model = peftq_shape_model_new_from_shapes (deep, -1, "deep", &error);
  g_assert_null (shape_model);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
}

static void
test_file_readers_reject_deep_nesting (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *model_dir = g_build_filename (dir, "model", NULL);
  g_autofree char *deep = make_deep_json ();
  g_autofree char *ids_path = write_temp_file (dir, "ids.json", deep);
  g_autofree char *meta_path = write_temp_file (dir, "meta.json", deep);
  g_autofree char *config_path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) ids = NULL;
  g_autoptr(GHashTable) meta = NULL;
  g_autoptr(PeftqCausalLM) model = NULL;

  g_test_summary ("Readers of JSON files reject nesting far beyond any real file");

  ids = peftq_load_token_ids (ids_path, &error);
  g_assert_null (ids);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "ids.json"));
  g_clear_error (&error);

  meta = peftq_adapter_meta_data_load_file (meta_path, &error);
  g_assert_null (meta);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* A model folder whose config.json is the nested document. */
  peftq_demo_write_model (model_dir, &error);
  g_assert_no_error (error);
  config_path = g_build_filename (model_dir, "config.json", NULL);
  g_file_set_contents (config_path, deep, -1, &error);
  g_assert_no_error (error);

  model = peftq_causal_lm_load (model_dir, &error);
  g_assert_null (model);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "config.json"));

  peftq_test_remove_dir (dir);
}

static void
test_readers_reject_lenient_json (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqLoraConfig) commented = NULL;
  g_autoptr(PeftqLoraConfig) trailing = NULL;

  g_test_summary ("JSON that json-glib would accept leniently is rejected");

  /* A comment is not JSON. */
  commented = peftq_lora_config_new_from_data ("{\"r\": 4 /* rank */}", -1, &error);
  g_assert_null (commented);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* A second value after the first is not one JSON document. */
  trailing = peftq_lora_config_new_from_data ("{\"r\": 4} {\"r\": 8}", -1, &error);
  g_assert_null (trailing);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/json-inputs/data-deep-nesting", test_data_readers_reject_deep_nesting);
  g_test_add_func ("/peftq/json-inputs/file-deep-nesting", test_file_readers_reject_deep_nesting);
  g_test_add_func ("/peftq/json-inputs/lenient-json", test_readers_reject_lenient_json);

  return g_test_run ();
}
