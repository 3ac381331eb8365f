/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq.h>
#include <string.h>

#include "test-util.h"

static GBytes *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static void
test_demo_files_are_deterministic (void)
{
  g_autofree char *first_dir = peftq_test_make_temp_dir ();
  g_autofree char *second_dir = peftq_test_make_temp_dir ();
  const char *const files[] = {
    "model/model.safetensors",
    "model/config.json",
    "adapters/attention_r4/adapter_model.safetensors",
    "adapters/attention_r4/adapter_config.json",
    "adapters/all_linear_r8/adapter_model.safetensors",
    "calibration.safetensors",
  };
  g_autoptr(GError) error = NULL;

  g_test_summary ("Writing the demo input twice gives byte-identical files");

  peftq_demo_write_all (first_dir, &error);
  g_assert_no_error (error);
  peftq_demo_write_all (second_dir, &error);
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *first_path = g_build_filename (first_dir, files[i], NULL);
      g_autofree char *second_path = g_build_filename (second_dir, files[i], NULL);
      g_autoptr(GBytes) first = read_file (first_path);
      g_autoptr(GBytes) second = read_file (second_path);

      g_assert_cmpuint (g_bytes_get_size (first), >, 0);
      g_assert_true (g_bytes_equal (first, second));
    }

  peftq_test_remove_dir (first_dir);
  peftq_test_remove_dir (second_dir);
}

static void
test_demo_adapters_cover_their_targets (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autofree char *small_path = g_build_filename (dir, "a0", "adapter_model.safetensors", NULL);
  g_autofree char *large_path = g_build_filename (dir, "a1", "adapter_model.safetensors", NULL);
  g_autofree char *small_dir = g_build_filename (dir, "a0", NULL);
  g_autofree char *large_dir = g_build_filename (dir, "a1", NULL);
  g_autoptr(PeftqSafetensorsFile) small = NULL;
  g_autoptr(PeftqSafetensorsFile) large = NULL;
  g_autoptr(PeftqTensor) down_a = NULL;
  g_autoptr(PeftqTensor) v_b = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("The two demo adapters have their documented ranks, targets and shapes");

  peftq_demo_write_adapter (small_dir, 0, &error);
  g_assert_no_error (error);
  peftq_demo_write_adapter (large_dir, 1, &error);
  g_assert_no_error (error);

  small = peftq_safetensors_file_open (small_path, &error);
  g_assert_no_error (error);
  large = peftq_safetensors_file_open (large_path, &error);
  g_assert_no_error (error);

  /* 2 layers x targets x (lora_A, lora_B). */
  g_assert_cmpuint (peftq_safetensors_file_get_n_tensors (small), ==, 2 * 2 * 2);
  g_assert_cmpuint (peftq_safetensors_file_get_n_tensors (large), ==, 2 * 7 * 2);

  down_a = peftq_safetensors_file_get_tensor (large, "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight", &error);
  g_assert_no_error (error);
  g_assert_cmpint (peftq_tensor_get_dim (down_a, 0), ==, 8);
  g_assert_cmpint (peftq_tensor_get_dim (down_a, 1), ==, 128);

  /* v_proj has 2 key/value heads of 16 features: 32 outputs. */
  v_b = peftq_safetensors_file_get_tensor (small, "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", &error);
  g_assert_no_error (error);
  g_assert_cmpint (peftq_tensor_get_dim (v_b, 0), ==, 32);
  g_assert_cmpint (peftq_tensor_get_dim (v_b, 1), ==, 4);

  g_clear_object (&small);
  g_clear_object (&large);
  peftq_test_remove_dir (dir);
}

static void
test_demo_adapter_index_out_of_range (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autoptr(GError) error = NULL;

  g_test_summary ("An unknown demo adapter index is an invalid argument");

  g_assert_false (peftq_demo_write_adapter (dir, 2, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "2"));

  peftq_test_remove_dir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/demo/deterministic", test_demo_files_are_deterministic);
  g_test_add_func ("/peftq/demo/adapter-shapes", test_demo_adapters_cover_their_targets);
  g_test_add_func ("/peftq/demo/invalid-index", test_demo_adapter_index_out_of_range);

  return g_test_run ();
}
