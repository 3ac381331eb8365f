/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-error.h"
#include "peftq-onnx-builder-private.h"
#include "peftq-onnx-model.h"

#include "onnx-samples.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->dir = peftq_test_make_temp_dir ();
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  peftq_test_remove_dir (fixture->dir);
  g_free (fixture->dir);
}

static char *
write_gemm (Fixture    *fixture,
            const char *name,
            guint64     threshold)
{
  g_autoptr(PeftqOnnxBuilder) builder = onnx_sample_gemm_new ();
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (fixture->dir, name, NULL);

  peftq_onnx_builder_write (builder, path, threshold, &error);
  g_assert_no_error (error);
  return path;
}

static PeftqOnnxModel *
load_model (const char *path)
{
  g_autoptr(GError) error = NULL;
  PeftqOnnxModel *model = peftq_onnx_model_load (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (model);
  return model;
}

static void
assert_initializer_equals_sample (PeftqOnnxModel *model,
                                  const char     *name)
{
  g_autoptr(PeftqOnnxBuilder) builder = onnx_sample_gemm_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqTensor) loaded = NULL;
  g_autofree float *values = NULL;
  gsize n_values;

  loaded = peftq_onnx_model_get_initializer (model, name, &error);
  g_assert_no_error (error);

  if (strcmp (name, "linear.weight") == 0)
    {
      g_assert_cmpint (peftq_tensor_get_rank (loaded), ==, 2);
      g_assert_cmpint (peftq_tensor_get_dim (loaded, 0), ==, ONNX_SAMPLE_OUT);
      g_assert_cmpint (peftq_tensor_get_dim (loaded, 1), ==, ONNX_SAMPLE_IN);
      values = peftq_tensor_to_floats (loaded, &n_values);
      g_assert_cmpuint (n_values, ==, ONNX_SAMPLE_OUT * ONNX_SAMPLE_IN);
      g_assert_cmpfloat (values[0], ==, -0.5f);
      g_assert_cmpfloat (values[5], ==, 0.1f * 5 - 0.5f);
    }
  else if (strcmp (name, "scale_add.scale") == 0)
    {
      g_assert_cmpint (peftq_tensor_get_rank (loaded), ==, 0);
      values = peftq_tensor_to_floats (loaded, &n_values);
      g_assert_cmpuint (n_values, ==, 1);
      g_assert_cmpfloat (values[0], ==, 0.5f);
    }
}

static void
test_write_and_read (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *path = write_gemm (fixture, "gemm.onnx", PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD);
  g_autofree char *data_path = g_strconcat (path, ".data", NULL);
  g_autoptr(PeftqOnnxModel) model = NULL;
  g_auto(GStrv) inputs = NULL;
  g_auto(GStrv) outputs = NULL;
  g_auto(GStrv) initializers = NULL;
  g_auto(GStrv) modules = NULL;

  g_test_summary ("A written model reads back with its header, names and values");

  g_assert_false (g_file_test (data_path, G_FILE_TEST_EXISTS));
  model = load_model (path);

  g_assert_cmpstr (peftq_onnx_model_get_path (model), ==, path);
  g_assert_cmpint (peftq_onnx_model_get_ir_version (model), ==, PEFTQ_ONNX_IR_VERSION);
  g_assert_cmpint (peftq_onnx_model_get_opset_version (model), ==, PEFTQ_ONNX_OPSET_VERSION);
  g_assert_cmpstr (peftq_onnx_model_get_producer_name (model), ==, "peftq");
  g_assert_cmpstr (peftq_onnx_model_get_producer_version (model), ==, PACKAGE_VERSION);

  inputs = peftq_onnx_model_get_input_names (model);
  outputs = peftq_onnx_model_get_output_names (model);
  initializers = peftq_onnx_model_get_initializer_names (model);
  g_assert_cmpstrv (inputs, ((const char *const[]) { "input", NULL }));
  g_assert_cmpstrv (outputs, ((const char *const[]) { "output", NULL }));
  g_assert_cmpstrv (initializers, ((const char *const[]) {
    "linear.weight", "linear.bias", "scale_add.scale", NULL }));

  g_assert_cmpuint (peftq_onnx_model_get_n_nodes (model), ==, 4);
  g_assert_cmpstr (peftq_onnx_model_get_node_name (model, 0), ==, "linear");
  g_assert_cmpstr (peftq_onnx_model_get_node_op_type (model, 0), ==, "Gemm");
  g_assert_cmpstrv (peftq_onnx_model_get_node_inputs (model, 0), ((const char *const[]) {
    "input", "linear.weight", "linear.bias", NULL }));
  g_assert_cmpstrv (peftq_onnx_model_get_node_outputs (model, 0), ((const char *const[]) {
    "linear_output", NULL }));
  g_assert_cmpstrv (peftq_onnx_model_get_node_inputs (model, 1), ((const char *const[]) { NULL }));
  g_assert_cmpint (peftq_onnx_model_find_node (model, "scale_add#2.end"), ==, 3);
  g_assert_cmpint (peftq_onnx_model_find_node (model, "scale_add#3"), ==, -1);

  modules = peftq_onnx_model_get_module_names (model);
  g_assert_cmpstrv (modules, ((const char *const[]) { "linear", "scale_add", NULL }));

  g_assert_false (peftq_onnx_model_is_initializer_external (model, "linear.weight"));
  assert_initializer_equals_sample (model, "linear.weight");
  assert_initializer_equals_sample (model, "scale_add.scale");

  g_assert_finalize_object (g_steal_pointer (&model));
}

static void
test_module_mapping (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *path = write_gemm (fixture, "gemm.onnx", PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD);
  g_autoptr(PeftqOnnxModel) model = load_model (path);
  g_auto(GStrv) scale_add_nodes = NULL;
  g_auto(GStrv) linear_inputs = NULL;
  g_auto(GStrv) linear_outputs = NULL;
  g_auto(GStrv) scale_add_inputs = NULL;
  g_auto(GStrv) scale_add_outputs = NULL;
  g_auto(GStrv) missing = NULL;

  g_test_summary ("Modules map to their nodes, boundary tensors and parameters");

  scale_add_nodes = peftq_onnx_model_get_module_node_names (model, "scale_add");
  g_assert_cmpstrv (scale_add_nodes, ((const char *const[]) {
    "scale_add", "scale_add#1", "scale_add#2.end", NULL }));
  g_assert_cmpstr (peftq_onnx_model_get_module_first_node_name (model, "scale_add"), ==, "scale_add");

  linear_inputs = peftq_onnx_model_get_module_input_names (model, "linear");
  linear_outputs = peftq_onnx_model_get_module_output_names (model, "linear");
  scale_add_inputs = peftq_onnx_model_get_module_input_names (model, "scale_add");
  scale_add_outputs = peftq_onnx_model_get_module_output_names (model, "scale_add");
  g_assert_cmpstrv (linear_inputs, ((const char *const[]) { "input", NULL }));
  g_assert_cmpstrv (linear_outputs, ((const char *const[]) { "linear_output", NULL }));
  g_assert_cmpstrv (scale_add_inputs, ((const char *const[]) { "linear_output", NULL }));
  g_assert_cmpstrv (scale_add_outputs, ((const char *const[]) { "output", NULL }));

  g_assert_cmpstr (peftq_onnx_model_find_parameter (model, "linear", "weight"), ==, "linear.weight");
  g_assert_cmpstr (peftq_onnx_model_find_parameter (model, "linear", "bias"), ==, "linear.bias");
  g_assert_cmpstr (peftq_onnx_model_find_parameter (model, "scale_add", "scale"), ==, "scale_add.scale");
  g_assert_null (peftq_onnx_model_find_parameter (model, "linear", "gamma"));
  g_assert_null (peftq_onnx_model_find_parameter (model, "absent", "weight"));

  missing = peftq_onnx_model_get_module_node_names (model, "absent");
  g_assert_null (missing);
  g_assert_null (peftq_onnx_model_get_module_output_names (model, "absent"));
  g_assert_null (peftq_onnx_model_get_module_first_node_name (model, "absent"));

  g_assert_finalize_object (g_steal_pointer (&model));
}

static void
test_external_data (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *path = write_gemm (fixture, "gemm.onnx", 0);
  g_autofree char *data_path = g_strconcat (path, ".data", NULL);
  g_autoptr(PeftqOnnxModel) model = NULL;
  GStatBuf info;

  g_test_summary ("Initializers over the threshold go to one external data file");

  g_assert_true (g_file_test (data_path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (g_stat (data_path, &info), ==, 0);
  /* Three tensors: 48 bytes at offset 0, 12 at offset 64 and 4 at offset 128. */
  g_assert_cmpint (info.st_size, ==, 132);

  model = load_model (path);
  g_assert_true (peftq_onnx_model_is_initializer_external (model, "linear.weight"));
  g_assert_true (peftq_onnx_model_is_initializer_external (model, "scale_add.scale"));
  assert_initializer_equals_sample (model, "linear.weight");
  assert_initializer_equals_sample (model, "scale_add.scale");

  g_assert_finalize_object (g_steal_pointer (&model));
}

static void
test_threshold_boundary (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(PeftqOnnxBuilder) builder = onnx_sample_gemm_new ();
  guint64 size = peftq_onnx_builder_get_initializer_size (builder);
  g_autofree char *at = write_gemm (fixture, "at.onnx", size);
  g_autofree char *below = write_gemm (fixture, "below.onnx", size - 1);
  g_autofree char *at_data = g_strconcat (at, ".data", NULL);
  g_autofree char *below_data = g_strconcat (below, ".data", NULL);

  g_test_summary ("Data exactly at the threshold stays inside the model");

  g_assert_cmpuint (size, ==, (12 + 3 + 1) * sizeof (float));
  g_assert_false (g_file_test (at_data, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (below_data, G_FILE_TEST_EXISTS));
}

static void
test_large_tensor_alignment (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(PeftqOnnxBuilder) builder = onnx_sample_gemm_new ();
  g_autofree char *path = g_build_filename (fixture->dir, "large.onnx", NULL);
  g_autofree char *data_path = g_strconcat (path, ".data", NULL);
  const gint64 shape[] = { 300, 1000 };
  g_autoptr(PeftqTensor) large = NULL;
  g_autoptr(PeftqTensor) loaded = NULL;
  g_autoptr(PeftqOnnxModel) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *values = g_new (float, 300 * 1000);
  GStatBuf info;

  g_test_summary ("A tensor over 1 MiB starts at a 64 KiB boundary of the data file");

  for (guint i = 0; i < 300 * 1000; i++)
    values[i] = (float) i;
  large = peftq_tensor_new_from_floats (values, 300 * 1000, shape, 2, &error);
  g_assert_no_error (error);
  peftq_onnx_builder_add_initializer (builder, "large.weight", large);

  peftq_onnx_builder_write (builder, path, 0, &error);
  g_assert_no_error (error);

  /* The three sample tensors end at 132, so the large one starts at 65536. */
  g_assert_cmpint (g_stat (data_path, &info), ==, 0);
  g_assert_cmpint (info.st_size, ==, 65536 + 300 * 1000 * 4);

  model = load_model (path);
  loaded = peftq_onnx_model_get_initializer (model, "large.weight", &error);
  g_assert_no_error (error);
  g_assert_true (peftq_tensor_equal (loaded, large));

  g_clear_object (&loaded);
  g_assert_finalize_object (g_steal_pointer (&model));
}

/* Elements 0, 1, 0, 1, ... as little-endian integers of @dtype. */
static PeftqTensor *
new_integer_tensor (PeftqDType    dtype,
                    const gint64 *shape,
                    guint         rank)
{
  gsize element_size = peftq_dtype_get_size (dtype);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  guint8 data[6 * 8] = { 0 };
  PeftqTensor *tensor;

  for (guint i = 0; i < 6; i++)
    data[i * element_size] = i % 2;

  bytes = g_bytes_new (data, 6 * element_size);
  tensor = peftq_tensor_new_from_bytes (dtype, shape, rank, bytes, &error);
  g_assert_no_error (error);
  return tensor;
}

static void
test_dtypes (Fixture       *fixture,
             gconstpointer  data)
{
  const PeftqDType dtypes[] = {
    PEFTQ_DTYPE_F64, PEFTQ_DTYPE_F32, PEFTQ_DTYPE_F16, PEFTQ_DTYPE_BF16, PEFTQ_DTYPE_I64,
    PEFTQ_DTYPE_I32, PEFTQ_DTYPE_I16, PEFTQ_DTYPE_I8, PEFTQ_DTYPE_U8, PEFTQ_DTYPE_BOOL,
  };
  const float values[] = { 0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 0.0f };
  const gint64 shape[] = { 2, 3 };
  g_autoptr(PeftqOnnxBuilder) builder = peftq_onnx_builder_new ("dtypes");
  g_autofree char *path = g_build_filename (fixture->dir, "dtypes.onnx", NULL);
  g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(PeftqOnnxModel) model = NULL;
  g_autoptr(PeftqTensor) floats = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Initializers of every dtype read back with the same dtype and bytes");

  floats = peftq_tensor_new_from_floats (values, G_N_ELEMENTS (values), shape, 2, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++)
    {
      PeftqTensor *tensor;

      if (peftq_dtype_is_float (dtypes[i]))
        tensor = peftq_tensor_convert (floats, dtypes[i], &error);
      else
        tensor = new_integer_tensor (dtypes[i], shape, 2);

      g_assert_no_error (error);
      g_ptr_array_add (tensors, tensor);
      peftq_onnx_builder_add_initializer (builder, peftq_dtype_to_string (dtypes[i]), tensor);
    }

  peftq_onnx_builder_write (builder, path, PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD, &error);
  g_assert_no_error (error);
  model = load_model (path);

  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++)
    {
      g_autoptr(PeftqTensor) loaded = NULL;

      loaded = peftq_onnx_model_get_initializer (model, peftq_dtype_to_string (dtypes[i]), &error);
      g_assert_no_error (error);
      g_test_message ("dtype %s", peftq_dtype_to_string (dtypes[i]));
      g_assert_cmpint (peftq_tensor_get_dtype (loaded), ==, dtypes[i]);
      g_assert_true (peftq_tensor_equal (loaded, g_ptr_array_index (tensors, i)));
    }

  g_assert_finalize_object (g_steal_pointer (&model));
}

static void
test_invalid_graph_keeps_old_file (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autofree char *path = write_gemm (fixture, "model.onnx", PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD);
  g_autoptr(PeftqOnnxBuilder) duplicate_node = onnx_sample_gemm_new ();
  g_autoptr(PeftqOnnxBuilder) duplicate_tensor = onnx_sample_gemm_new ();
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  gsize before_length, after_length;

  g_test_summary ("A graph with a duplicate name is rejected and the old file kept");

  g_assert_true (g_file_get_contents (path, &before, &before_length, NULL));

  peftq_onnx_builder_add_node (duplicate_node, "Relu", "linear",
                               (const char *const[]) { "output", NULL },
                               (const char *const[]) { "relu_output", NULL });
  g_assert_false (peftq_onnx_builder_write (duplicate_node, path, 0, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "“linear”"));
  g_clear_error (&error);

  peftq_onnx_builder_add_node (duplicate_tensor, "Relu", "relu",
                               (const char *const[]) { "output", NULL },
                               (const char *const[]) { "linear.weight", NULL });
  g_assert_false (peftq_onnx_builder_write (duplicate_tensor, path, 0, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "“linear.weight”"));

  g_assert_true (g_file_get_contents (path, &after, &after_length, NULL));
  g_assert_cmpmem (before, before_length, after, after_length);
}

static void
test_unwritable_folder (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(PeftqOnnxBuilder) builder = onnx_sample_gemm_new ();
  g_autofree char *path = g_build_filename (fixture->dir, "missing", "model.onnx", NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("Writing into a missing folder fails with an I/O error");

  g_assert_false (peftq_onnx_builder_write (builder, path, 0, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO);
}

static void
test_failed_write_keeps_old_data (Fixture       *fixture,
                                  gconstpointer  data)
{
  g_autoptr(PeftqOnnxBuilder) builder = onnx_sample_gemm_new ();
  g_autofree char *path = g_build_filename (fixture->dir, "model.onnx", NULL);
  g_autofree char *data_path = g_strconcat (path, ".data", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A model that cannot be written leaves the old data file in place");

  /* A folder at the model path makes the model write fail after the data is written. */
  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
  g_assert_true (g_file_set_contents (data_path, "old data", -1, NULL));

  g_assert_false (peftq_onnx_builder_write (builder, path, 0, &error));
  g_assert_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO);

  g_assert_true (g_file_get_contents (data_path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old data");
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

static void
assert_load_fails (const char *path,
                   PeftqError  code,
                   const char *fragment)
{
  g_autoptr(PeftqOnnxModel) model = NULL;
  g_autoptr(GError) error = NULL;

  model = peftq_onnx_model_load (path, &error);
  g_assert_null (model);
  g_assert_error (error, PEFTQ_ERROR, (gint) code);
  g_assert_nonnull (strstr (error->message, path));
  if (fragment != NULL)
    g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_load_invalid_files (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(PeftqOnnxBuilder) builder = onnx_sample_attributes_new ();
  g_autofree char *good = g_build_filename (fixture->dir, "good.onnx", NULL);
  g_autofree char *missing = g_build_filename (fixture->dir, "missing.onnx", NULL);
  g_autofree char *empty = g_build_filename (fixture->dir, "empty.onnx", NULL);
  g_autofree char *text = g_build_filename (fixture->dir, "text.onnx", NULL);
  g_autofree char *json = g_build_filename (fixture->dir, "json.onnx", NULL);
  g_autofree char *truncated = g_build_filename (fixture->dir, "truncated.onnx", NULL);
  g_autofree char *contents = NULL;
  gsize length;

  g_autoptr(GError) error = NULL;

  g_test_summary ("Missing, empty, truncated and foreign files fail with the path");

  peftq_onnx_builder_write (builder, good, PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD, &error);
  g_assert_no_error (error);

  assert_load_fails (missing, PEFTQ_ERROR_NOT_FOUND, NULL);

  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  assert_load_fails (empty, PEFTQ_ERROR_INVALID_DATA, "empty");

  g_assert_true (g_file_set_contents (text, "hello, this is not a model\n", -1, NULL));
  assert_load_fails (text, PEFTQ_ERROR_INVALID_DATA, NULL);

  g_assert_true (g_file_set_contents (json, "{\"graph\": {}}", -1, NULL));
  assert_load_fails (json, PEFTQ_ERROR_INVALID_DATA, NULL);

  /* The attributes sample has no metadata_props, so opset_import is its last field and
   * every cut of the file loses part of it. */
  g_assert_true (g_file_get_contents (good, &contents, &length, NULL));
  for (gsize cut = 1; cut < length; cut++)
    {
      g_test_message ("truncated to %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes", cut, length);
      g_assert_true (g_file_set_contents_full (truncated, contents, cut, G_FILE_SET_CONTENTS_NONE,
                                               0644, NULL));
      assert_load_fails (truncated, PEFTQ_ERROR_INVALID_DATA, NULL);
    }
}

static void
test_load_bad_external_data (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autofree char *path = write_gemm (fixture, "gemm.onnx", 0);
  g_autofree char *data_path = g_strconcat (path, ".data", NULL);
  g_autofree char *contents = NULL;
  gsize length;

  g_test_summary ("A short or missing external data file fails the load");

  g_assert_true (g_file_get_contents (data_path, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (data_path, contents, length - 1, NULL));
  assert_load_fails (path, PEFTQ_ERROR_INVALID_DATA, "gemm.onnx.data");

  g_assert_cmpint (g_remove (data_path), ==, 0);
  assert_load_fails (path, PEFTQ_ERROR_NOT_FOUND, "gemm.onnx.data");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/peftq/onnx-builder/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("write-and-read", test_write_and_read);
  ADD ("module-mapping", test_module_mapping);
  ADD ("external-data", test_external_data);
  ADD ("threshold-boundary", test_threshold_boundary);
  ADD ("large-tensor-alignment", test_large_tensor_alignment);
  ADD ("dtypes", test_dtypes);
  ADD ("invalid-graph-keeps-old-file", test_invalid_graph_keeps_old_file);
  ADD ("unwritable-folder", test_unwritable_folder);
  ADD ("failed-write-keeps-old-data", test_failed_write_keeps_old_data);
  ADD ("load-invalid-files", test_load_invalid_files);
  ADD ("load-bad-external-data", test_load_bad_external_data);

#undef ADD

  return g_test_run ();
}
