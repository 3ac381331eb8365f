/* SPDX-License-Identifier: MIT */
/* Every reader of a user-given path rejects a FIFO, a device or a folder by its file type
 * before opening it, because opening a FIFO for reading blocks until a writer appears. */
#include "config.h"

#include <peftq.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "peftq-json-private.h"
#include "test-util.h"

typedef gboolean (*ReadFunc) (const char *path, GError **error);

static gboolean
read_safetensors (const char *path, GError **error)
{
  g_autoptr(PeftqSafetensorsFile) file = peftq_safetensors_file_open (path, error);
  return file != NULL;
}

static gboolean
read_json (const char *path, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  return peftq_json_parser_load_file (parser, path, error);
}

static gboolean
read_token_ids (const char *path, GError **error)
{
  g_autoptr(PeftqTensor) ids = peftq_load_token_ids (path, error);
  return ids != NULL;
}

static gboolean
read_lora_config (const char *path, GError **error)
{
  g_autoptr(PeftqLoraConfig) config = peftq_lora_config_new_from_file (path, error);
  return config != NULL;
}

static gboolean
read_quantsim_config (const char *path, GError **error)
{
  g_autoptr(PeftqQuantsimConfig) config = peftq_quantsim_config_new_from_file (path, error);
  return config != NULL;
}

static gboolean
read_encodings (const char *path, GError **error)
{
  g_autoptr(PeftqEncodingsFile) encodings = peftq_encodings_file_new_from_file (path, error);
  return encodings != NULL;
}

#ifdef HAVE_ONNX
static gboolean
read_onnx_model (const char *path, GError **error)
{
  g_autoptr(PeftqOnnxModel) model = peftq_onnx_model_load (path, error);
  return model != NULL;
}
#endif

static const struct {
  const char *name;
  ReadFunc read;
} readers[] = {
  { "safetensors", read_safetensors },
  { "json", read_json },
  { "token ids", read_token_ids },
  { "lora config", read_lora_config },
  { "quantsim config", read_quantsim_config },
  { "encodings", read_encodings },
#ifdef HAVE_ONNX
  { "onnx model", read_onnx_model },
#endif
};

static void
check_rejected (const char *path)
{
  for (gsize i = 0; i < G_N_ELEMENTS (readers); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("reader: %s, path: %s", readers[i].name, path);
      g_assert_false (readers[i].read (path, &error));
      peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, "is not a regular file");
      g_assert_nonnull (strstr (error->message, path));
    }
}

static void
test_readers_reject_fifo (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *fifo = g_build_filename (dir, "input.fifo", NULL);

  g_test_summary ("Readers reject a FIFO without opening it, so they do not block");

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  check_rejected (fifo);

  peftq_test_remove_dir (dir);
}

static void
test_readers_reject_device (void)
{
  if (!g_file_test ("/dev/zero", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("/dev/zero is missing");
      return;
    }

  g_test_summary ("Readers reject a character device");
  check_rejected ("/dev/zero");
}

static void
test_readers_report_missing_file (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *missing = g_build_filename (dir, "missing.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqLoraConfig) config = NULL;

  g_test_summary ("A missing file still gives PEFTQ_ERROR_NOT_FOUND");

  config = peftq_lora_config_new_from_file (missing, &error);
  g_assert_null (config);
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND);

  peftq_test_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/special-files/fifo", test_readers_reject_fifo);
  g_test_add_func ("/special-files/device", test_readers_reject_device);
  g_test_add_func ("/special-files/missing", test_readers_report_missing_file);

  return g_test_run ();
}
