/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <peftq/peftq.h>

#include "test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

static const PeftqDType all_dtypes[] = {
  PEFTQ_DTYPE_F64, PEFTQ_DTYPE_F32, PEFTQ_DTYPE_F16, PEFTQ_DTYPE_BF16, PEFTQ_DTYPE_I64,
  PEFTQ_DTYPE_I32, PEFTQ_DTYPE_I16, PEFTQ_DTYPE_I8, PEFTQ_DTYPE_U8, PEFTQ_DTYPE_BOOL,
};

typedef struct
{
  char *dir;
  GRand *rng;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  user_data)
{
  fixture->dir = peftq_test_make_temp_dir ();
  fixture->rng = g_rand_new_with_seed (20240601);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  user_data)
{
  peftq_test_remove_dir (fixture->dir);
  g_free (fixture->dir);
  g_rand_free (fixture->rng);
}

/* Creates a tensor of random bytes; BOOL elements are 0 or 1 as the format requires. */
static PeftqTensor *
make_random_tensor (GRand        *rng,
                    PeftqDType    dtype,
                    const gint64 *shape,
                    guint         rank)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint64 n_elements = 1;
  gsize n_bytes;
  guint8 *data;
  PeftqTensor *tensor;

  for (guint axis = 0; axis < rank; axis++)
    n_elements *= (guint64) shape[axis];
  n_bytes = (gsize) n_elements * peftq_dtype_get_size (dtype);

  data = g_malloc (MAX (n_bytes, 1));
  peftq_test_fill_random (rng, data, n_bytes);
  if (dtype == PEFTQ_DTYPE_BOOL)
    for (gsize i = 0; i < n_bytes; i++)
      data[i] &= 1;
  bytes = g_bytes_new_take (data, n_bytes);

  tensor = peftq_tensor_new_from_bytes (dtype, shape, rank, bytes, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tensor);

  return tensor;
}

static void
assert_tensors_identical (PeftqTensor *expected,
                          PeftqTensor *actual)
{
  guint expected_rank;
  guint actual_rank;
  const gint64 *expected_shape = peftq_tensor_get_shape (expected, &expected_rank);
  const gint64 *actual_shape = peftq_tensor_get_shape (actual, &actual_rank);
  gsize expected_size;
  gsize actual_size;
  gconstpointer expected_data = g_bytes_get_data (peftq_tensor_get_bytes (expected), &expected_size);
  gconstpointer actual_data = g_bytes_get_data (peftq_tensor_get_bytes (actual), &actual_size);

  g_assert_cmpint (peftq_tensor_get_dtype (actual), ==, peftq_tensor_get_dtype (expected));
  g_assert_cmpuint (actual_rank, ==, expected_rank);
  for (guint axis = 0; axis < expected_rank; axis++)
    g_assert_cmpint (actual_shape[axis], ==, expected_shape[axis]);
  g_assert_cmpuint (peftq_tensor_get_n_elements (actual), ==, peftq_tensor_get_n_elements (expected));
  g_assert_cmpmem (actual_data, actual_size, expected_data, expected_size);
  g_assert_true (peftq_tensor_equal (actual, expected));
}

static void
write_or_fail (PeftqSafetensorsWriter *writer,
               const char             *path)
{
  g_autoptr(GError) error = NULL;
  gboolean written = peftq_safetensors_writer_write (writer, path, &error);

  g_assert_no_error (error);
  g_assert_true (written);
}

static PeftqSafetensorsFile *
open_or_fail (const char *path)
{
  g_autoptr(GError) error = NULL;
  PeftqSafetensorsFile *file = peftq_safetensors_file_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);

  return file;
}

/* Checks that @file contains exactly the tensors of @expected (name → PeftqTensor). */
static void
assert_file_holds (PeftqSafetensorsFile *file,
                   GHashTable           *expected)
{
  g_auto(GStrv) names = peftq_safetensors_file_get_tensor_names (file);
  GHashTableIter iter;
  gpointer name;
  gpointer tensor;

  g_assert_cmpuint (peftq_safetensors_file_get_n_tensors (file), ==, g_hash_table_size (expected));
  g_assert_cmpuint (g_strv_length (names), ==, g_hash_table_size (expected));
  for (guint i = 0; names[i] != NULL; i++)
    g_assert_true (g_hash_table_contains (expected, names[i]));

  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &name, &tensor))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PeftqTensor) actual = NULL;

      g_test_message ("checking tensor %s", (const char *) name);
      g_assert_true (peftq_safetensors_file_has_tensor (file, name));
      actual = peftq_safetensors_file_get_tensor (file, name, &error);
      g_assert_no_error (error);
      assert_tensors_identical (tensor, actual);
    }
}

static GHashTable *
new_tensor_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/* Adds every tensor of @tensors to a new writer. */
static PeftqSafetensorsWriter *
writer_for (GHashTable *tensors)
{
  PeftqSafetensorsWriter *writer = peftq_safetensors_writer_new ();
  GHashTableIter iter;
  gpointer name;
  gpointer tensor;

  g_hash_table_iter_init (&iter, tensors);
  while (g_hash_table_iter_next (&iter, &name, &tensor))
    {
      g_autoptr(GError) error = NULL;

      peftq_safetensors_writer_add_tensor (writer, name, tensor, &error);
      g_assert_no_error (error);
    }

  return writer;
}

static void
test_round_trip_each_dtype (Fixture       *fixture,
                            gconstpointer  user_data)
{
  static const gint64 shape[] = { 3, 5, 2 };

  g_test_summary ("A file with one tensor of each dtype reads back identical");

  for (gsize i = 0; i < G_N_ELEMENTS (all_dtypes); i++)
    {
      g_autoptr(GHashTable) tensors = new_tensor_table ();
      g_autoptr(PeftqSafetensorsWriter) writer = NULL;
      g_autoptr(PeftqSafetensorsFile) file = NULL;
      g_autofree char *file_name = g_strdup_printf ("%s.safetensors", peftq_dtype_to_string (all_dtypes[i]));
      g_autofree char *path = g_build_filename (fixture->dir, file_name, NULL);

      g_test_message ("dtype %s", peftq_dtype_to_string (all_dtypes[i]));
      g_hash_table_insert (tensors, g_strdup ("weight"),
                           make_random_tensor (fixture->rng, all_dtypes[i], shape, G_N_ELEMENTS (shape)));
      writer = writer_for (tensors);
      write_or_fail (writer, path);

      file = open_or_fail (path);
      assert_file_holds (file, tensors);
    }
}

static void
test_round_trip_all_dtypes (Fixture       *fixture,
                            gconstpointer  user_data)
{
  static const gint64 shape[] = { 7, 3 };
  g_autoptr(GHashTable) tensors = new_tensor_table ();
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "mixed.safetensors", NULL);

  g_test_summary ("Tensors of every dtype and odd sizes in one file read back identical");

  /* Odd element counts put every tensor at an offset that is no multiple of 8 unless the
   * writer orders them by element size. */
  for (gsize i = 0; i < G_N_ELEMENTS (all_dtypes); i++)
    {
      g_hash_table_insert (tensors, g_strdup_printf ("t.%s", peftq_dtype_to_string (all_dtypes[i])),
                           make_random_tensor (fixture->rng, all_dtypes[i], shape, G_N_ELEMENTS (shape)));
    }
  writer = writer_for (tensors);
  write_or_fail (writer, path);

  file = open_or_fail (path);
  assert_file_holds (file, tensors);
}

static void
test_round_trip_scalars (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(GHashTable) tensors = new_tensor_table ();
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "scalars.safetensors", NULL);

  g_test_summary ("Rank-0 tensors of every dtype keep rank 0 and their one element");

  for (gsize i = 0; i < G_N_ELEMENTS (all_dtypes); i++)
    {
      g_hash_table_insert (tensors, g_strdup_printf ("scalar.%s", peftq_dtype_to_string (all_dtypes[i])),
                           make_random_tensor (fixture->rng, all_dtypes[i], NULL, 0));
    }
  writer = writer_for (tensors);
  write_or_fail (writer, path);

  file = open_or_fail (path);
  assert_file_holds (file, tensors);

  for (gsize i = 0; i < G_N_ELEMENTS (all_dtypes); i++)
    {
      g_autofree char *name = g_strdup_printf ("scalar.%s", peftq_dtype_to_string (all_dtypes[i]));
      g_autoptr(PeftqTensor) scalar = peftq_safetensors_file_get_tensor (file, name, NULL);

      g_assert_cmpuint (peftq_tensor_get_rank (scalar), ==, 0);
      g_assert_cmpuint (peftq_tensor_get_n_elements (scalar), ==, 1);
      g_assert_cmpuint (peftq_tensor_get_n_bytes (scalar), ==, peftq_dtype_get_size (all_dtypes[i]));
    }
}

static void
test_round_trip_zero_size (Fixture       *fixture,
                           gconstpointer  user_data)
{
  static const gint64 empty_1d[] = { 0 };
  static const gint64 empty_2d[] = { 3, 0 };
  static const gint64 empty_3d[] = { 0, 5, 2 };
  static const gint64 filled[] = { 4 };
  g_autoptr(GHashTable) tensors = new_tensor_table ();
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "empty.safetensors", NULL);

  g_test_summary ("Tensors with a zero dimension round trip next to ordinary tensors");

  g_hash_table_insert (tensors, g_strdup ("a.empty"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_F32, empty_1d, 1));
  g_hash_table_insert (tensors, g_strdup ("b.filled"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_F32, filled, 1));
  g_hash_table_insert (tensors, g_strdup ("c.empty"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_F16, empty_2d, 2));
  g_hash_table_insert (tensors, g_strdup ("d.empty"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_I8, empty_3d, 3));
  g_hash_table_insert (tensors, g_strdup ("e.filled"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_I8, filled, 1));
  writer = writer_for (tensors);
  write_or_fail (writer, path);

  file = open_or_fail (path);
  assert_file_holds (file, tensors);

  {
    g_autoptr(PeftqTensor) empty = peftq_safetensors_file_get_tensor (file, "d.empty", NULL);

    g_assert_cmpuint (peftq_tensor_get_n_elements (empty), ==, 0);
    g_assert_cmpuint (peftq_tensor_get_n_bytes (empty), ==, 0);
    g_assert_cmpuint (peftq_tensor_get_rank (empty), ==, 3);
  }
}

static void
test_round_trip_empty_file (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "nothing.safetensors", NULL);
  g_auto(GStrv) names = NULL;

  g_test_summary ("A writer with no tensors writes a file that opens with no tensors");

  write_or_fail (writer, path);
  file = open_or_fail (path);
  names = peftq_safetensors_file_get_tensor_names (file);

  g_assert_cmpuint (peftq_safetensors_file_get_n_tensors (file), ==, 0);
  g_assert_nonnull (names);
  g_assert_null (names[0]);
  g_assert_cmpuint (g_hash_table_size (peftq_safetensors_file_get_metadata (file)), ==, 0);
}

static void
test_round_trip_metadata (Fixture       *fixture,
                          gconstpointer  user_data)
{
  static const struct { const char *key; const char *value; } entries[] = {
    { "format", "pt" },
    { "empty", "" },
    { "quotes \" and \\ backslash", "line\nbreak\ttab \"quoted\"" },
    { "unicode ключ", "значение ✓ 🙂" },
    { "__metadata__", "a key that is only special at the top level" },
  };
  static const gint64 shape[] = { 2 };
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(PeftqTensor) tensor = make_random_tensor (fixture->rng, PEFTQ_DTYPE_F32, shape, 1);
  g_autofree char *path = g_build_filename (fixture->dir, "metadata.safetensors", NULL);
  GHashTable *metadata;

  g_test_summary ("String metadata with escapes and non-ASCII text reads back identical");

  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    peftq_safetensors_writer_set_metadata (writer, entries[i].key, "to be replaced");
  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    peftq_safetensors_writer_set_metadata (writer, entries[i].key, entries[i].value);
  peftq_safetensors_writer_add_tensor (writer, "x", tensor, NULL);
  write_or_fail (writer, path);

  file = open_or_fail (path);
  metadata = peftq_safetensors_file_get_metadata (file);
  g_assert_cmpuint (g_hash_table_size (metadata), ==, G_N_ELEMENTS (entries));
  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    {
      g_assert_cmpstr (g_hash_table_lookup (metadata, entries[i].key), ==, entries[i].value);
      g_assert_cmpstr (peftq_safetensors_file_get_metadata_value (file, entries[i].key), ==, entries[i].value);
    }
  g_assert_null (peftq_safetensors_file_get_metadata_value (file, "missing"));
  g_assert_cmpuint (peftq_safetensors_file_get_n_tensors (file), ==, 1);
}

static void
test_round_trip_many_tensors (Fixture       *fixture,
                              gconstpointer  user_data)
{
  g_autoptr(GHashTable) tensors = new_tensor_table ();
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "many.safetensors", NULL);

  g_test_summary ("A file with 1,000 tensors of mixed dtypes, ranks and sizes round trips");

  for (guint i = 0; i < 1000; i++)
    {
      PeftqDType dtype = all_dtypes[i % G_N_ELEMENTS (all_dtypes)];
      gint64 shape[3] = { 1 + i % 7, 1 + (i / 7) % 5, (i % 13 == 0) ? 0 : 1 + i % 3 };
      guint rank = i % 4;

      g_hash_table_insert (tensors, g_strdup_printf ("model.layers.%u.weight", i),
                           make_random_tensor (fixture->rng, dtype, shape, rank));
    }
  writer = writer_for (tensors);
  peftq_safetensors_writer_set_metadata (writer, "format", "pt");
  peftq_safetensors_writer_set_metadata (writer, "count", "1000");
  write_or_fail (writer, path);

  file = open_or_fail (path);
  assert_file_holds (file, tensors);
  g_assert_cmpstr (peftq_safetensors_file_get_metadata_value (file, "format"), ==, "pt");
  g_assert_cmpstr (peftq_safetensors_file_get_metadata_value (file, "count"), ==, "1000");
  g_assert_cmpuint (g_hash_table_size (peftq_safetensors_file_get_metadata (file)), ==, 2);
}

static void
test_round_trip_unusual_names (Fixture       *fixture,
                               gconstpointer  user_data)
{
  static const char * const names[] = {
    "with space",
    "quote\"inside",
    "back\\slash",
    "new\nline",
    "slash/and.dots",
    "ünïcödé.名前",
    "emoji 🙂",
    "x",
  };
  static const gint64 shape[] = { 3 };
  g_autoptr(GHashTable) tensors = new_tensor_table ();
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "names.safetensors", NULL);

  g_test_summary ("Tensor names that need JSON escapes or are not ASCII round trip");

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_hash_table_insert (tensors, g_strdup (names[i]), make_random_tensor (fixture->rng, PEFTQ_DTYPE_U8, shape, 1));
  writer = writer_for (tensors);
  write_or_fail (writer, path);

  file = open_or_fail (path);
  assert_file_holds (file, tensors);
}

/* Parses the header of a safetensors file with json-glib, without peftq's reader. */
static JsonNode *
parse_header_independently (GBytes  *contents,
                            guint64 *out_header_size)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (contents, &size);
  guint64 header_size;

  g_assert_cmpuint (size, >=, 8);
  memcpy (&header_size, data, 8);
  header_size = GUINT64_FROM_LE (header_size);
  g_assert_cmpuint (header_size, <=, size - 8);

  json_parser_load_from_data (parser, (const char *) data + 8, (gssize) header_size, &error);
  g_assert_no_error (error);

  *out_header_size = header_size;
  return json_node_copy (json_parser_get_root (parser));
}

static void
test_writer_layout (Fixture       *fixture,
                    gconstpointer  user_data)
{
  static const gint64 odd_shape[] = { 3 };
  g_autoptr(GHashTable) tensors = new_tensor_table ();
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "layout.safetensors", NULL);
  g_autoptr(GList) members = NULL;
  JsonObject *header;
  guint64 header_size;
  const char *text;

  g_test_summary ("The writer pads the header to 8 bytes and aligns every tensor to its element size");

  for (gsize i = 0; i < G_N_ELEMENTS (all_dtypes); i++)
    {
      g_hash_table_insert (tensors, g_strdup_printf ("t%" G_GSIZE_FORMAT, i),
                           make_random_tensor (fixture->rng, all_dtypes[i], odd_shape, 1));
    }
  writer = writer_for (tensors);
  peftq_safetensors_writer_set_metadata (writer, "k", "v");
  write_or_fail (writer, path);

  contents = peftq_test_read_file (path);
  root = parse_header_independently (contents, &header_size);
  text = (const char *) g_bytes_get_data (contents, NULL) + 8;

  g_assert_cmpuint ((8 + header_size) % 8, ==, 0);
  g_assert_cmpint (text[0], ==, '{');
  /* Padding is spaces after the closing brace, as the reference writer does. */
  for (gsize i = header_size; i > 0 && text[i - 1] != '}'; i--)
    g_assert_cmpint (text[i - 1], ==, ' ');

  header = json_node_get_object (root);
  g_assert_cmpuint (json_object_get_size (header), ==, G_N_ELEMENTS (all_dtypes) + 1);
  members = json_object_get_members (header);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonObject *entry;
      JsonArray *offsets;
      PeftqDType dtype;
      gint64 begin;

      if (strcmp (l->data, "__metadata__") == 0)
        continue;

      entry = json_object_get_object_member (header, l->data);
      g_assert_true (peftq_dtype_from_string (json_object_get_string_member (entry, "dtype"), &dtype));
      offsets = json_object_get_array_member (entry, "data_offsets");
      begin = json_array_get_int_element (offsets, 0);
      g_test_message ("%s: %s at %" G_GINT64_FORMAT, (const char *) l->data,
                      peftq_dtype_to_string (dtype), begin);
      g_assert_cmpint ((8 + (gint64) header_size + begin) % (gint64) peftq_dtype_get_size (dtype), ==, 0);
    }
}

static void
test_writer_deterministic (Fixture       *fixture,
                           gconstpointer  user_data)
{
  static const gint64 shape[] = { 5, 3 };
  g_autoptr(PeftqSafetensorsWriter) forward = peftq_safetensors_writer_new ();
  g_autoptr(PeftqSafetensorsWriter) backward = peftq_safetensors_writer_new ();
  g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *forward_path = g_build_filename (fixture->dir, "forward.safetensors", NULL);
  g_autofree char *backward_path = g_build_filename (fixture->dir, "backward.safetensors", NULL);
  g_autoptr(GBytes) forward_bytes = NULL;
  g_autoptr(GBytes) backward_bytes = NULL;
  guint n = 40;

  g_test_summary ("The same tensors and metadata give the same bytes whatever the insertion order");

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (tensors, make_random_tensor (fixture->rng, all_dtypes[i % G_N_ELEMENTS (all_dtypes)], shape, 2));

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *forward_name = g_strdup_printf ("tensor.%02u", i);
      g_autofree char *backward_name = g_strdup_printf ("tensor.%02u", n - 1 - i);

      peftq_safetensors_writer_add_tensor (forward, forward_name, g_ptr_array_index (tensors, i), NULL);
      peftq_safetensors_writer_add_tensor (backward, backward_name, g_ptr_array_index (tensors, n - 1 - i), NULL);
    }
  peftq_safetensors_writer_set_metadata (forward, "a", "1");
  peftq_safetensors_writer_set_metadata (forward, "b", "2");
  peftq_safetensors_writer_set_metadata (backward, "b", "2");
  peftq_safetensors_writer_set_metadata (backward, "a", "1");

  write_or_fail (forward, forward_path);
  write_or_fail (backward, backward_path);
  forward_bytes = peftq_test_read_file (forward_path);
  backward_bytes = peftq_test_read_file (backward_path);

  g_assert_true (g_bytes_equal (forward_bytes, backward_bytes));
}

static void
test_writer_invalid_names (Fixture       *fixture,
                           gconstpointer  user_data)
{
  static const gint64 shape[] = { 1 };
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  g_autoptr(PeftqTensor) tensor = make_random_tensor (fixture->rng, PEFTQ_DTYPE_F32, shape, 1);
  g_autoptr(GError) error = NULL;
  gboolean added;

  g_test_summary ("The writer rejects empty, reserved and repeated tensor names");

  added = peftq_safetensors_writer_add_tensor (writer, "", tensor, &error);
  g_assert_false (added);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "non-empty");
  g_clear_error (&error);

  added = peftq_safetensors_writer_add_tensor (writer, "__metadata__", tensor, &error);
  g_assert_false (added);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "__metadata__");
  g_clear_error (&error);

  added = peftq_safetensors_writer_add_tensor (writer, "bad\xff", tensor, &error);
  g_assert_false (added);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "UTF-8");
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_clear_error (&error);

  added = peftq_safetensors_writer_add_tensor (writer, "w", tensor, &error);
  g_assert_no_error (error);
  g_assert_true (added);

  added = peftq_safetensors_writer_add_tensor (writer, "w", tensor, &error);
  g_assert_false (added);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "already added");
}

static void
assert_dir_lists (const char         *dir,
                  const char * const *expected)
{
  g_auto(GStrv) names = peftq_test_list_dir (dir);
  guint n_expected = expected != NULL ? g_strv_length ((GStrv) expected) : 0;

  for (guint i = 0; names[i] != NULL; i++)
    g_test_message ("%s contains %s", dir, names[i]);

  g_assert_cmpuint (g_strv_length (names), ==, n_expected);
  for (guint i = 0; i < n_expected; i++)
    g_assert_cmpstr (names[i], ==, expected[i]);
}

static PeftqSafetensorsWriter *
small_writer (GRand *rng)
{
  static const gint64 shape[] = { 16 };
  PeftqSafetensorsWriter *writer = peftq_safetensors_writer_new ();
  g_autoptr(PeftqTensor) tensor = make_random_tensor (rng, PEFTQ_DTYPE_F32, shape, 1);

  peftq_safetensors_writer_add_tensor (writer, "w", tensor, NULL);
  return writer;
}

static void
test_writer_header_too_large (Fixture       *fixture,
                              gconstpointer  user_data)
{
  g_autoptr(PeftqSafetensorsWriter) writer = small_writer (fixture->rng);
  g_autofree char *path = g_build_filename (fixture->dir, "huge-header.safetensors", NULL);
  g_autofree char *value = g_malloc (PEFTQ_SAFETENSORS_MAX_HEADER_SIZE + 1);
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("The writer rejects a header that readers would reject as too large");

  memset (value, 'x', PEFTQ_SAFETENSORS_MAX_HEADER_SIZE);
  value[PEFTQ_SAFETENSORS_MAX_HEADER_SIZE] = '\0';
  peftq_safetensors_writer_set_metadata (writer, "blob", value);

  written = peftq_safetensors_writer_write (writer, path, &error);

  g_assert_false (written);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT, "header would be");
  assert_dir_lists (fixture->dir, NULL);
}

static void
test_writer_missing_folder (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(PeftqSafetensorsWriter) writer = small_writer (fixture->rng);
  g_autofree char *path = g_build_filename (fixture->dir, "missing", "out.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("Writing into a missing folder fails with an I/O error and creates nothing");

  written = peftq_safetensors_writer_write (writer, path, &error);

  g_assert_false (written);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, "out.safetensors");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  assert_dir_lists (fixture->dir, NULL);
}

static void
test_writer_over_folder (Fixture       *fixture,
                         gconstpointer  user_data)
{
  static const char * const expected_top[] = { "target", NULL };
  static const char * const expected_inside[] = { "keep.txt", NULL };
  g_autoptr(PeftqSafetensorsWriter) writer = small_writer (fixture->rng);
  g_autofree char *path = g_build_filename (fixture->dir, "target", NULL);
  g_autofree char *kept_file = NULL;
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("Writing over a folder fails and leaves the folder and its contents alone");

  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
  kept_file = peftq_test_write_file (path, "keep.txt", "keep", 4);

  written = peftq_safetensors_writer_write (writer, path, &error);

  g_assert_false (written);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, "folder");
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));
  g_assert_true (g_file_test (kept_file, G_FILE_TEST_IS_REGULAR));
  assert_dir_lists (fixture->dir, expected_top);
  assert_dir_lists (path, expected_inside);
}

static void
test_writer_parent_is_file (Fixture       *fixture,
                            gconstpointer  user_data)
{
  static const char * const expected[] = { "plain", NULL };
  g_autoptr(PeftqSafetensorsWriter) writer = small_writer (fixture->rng);
  g_autofree char *parent = peftq_test_write_file (fixture->dir, "plain", "x", 1);
  g_autofree char *path = g_build_filename (parent, "out.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("Writing below a regular file fails with an I/O error");

  written = peftq_safetensors_writer_write (writer, path, &error);

  g_assert_false (written);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, "out.safetensors");
  assert_dir_lists (fixture->dir, expected);
}

static void
test_writer_replaces_file (Fixture       *fixture,
                           gconstpointer  user_data)
{
  static const char * const expected[] = { "model.safetensors", NULL };
  g_autoptr(PeftqSafetensorsWriter) writer = small_writer (fixture->rng);
  g_autofree char *path = peftq_test_write_file (fixture->dir, "model.safetensors", "old", 3);
  g_autoptr(PeftqSafetensorsFile) file = NULL;

  g_test_summary ("A successful write replaces an existing file and leaves no temporary file");

  write_or_fail (writer, path);

  file = open_or_fail (path);
  g_assert_true (peftq_safetensors_file_has_tensor (file, "w"));
  assert_dir_lists (fixture->dir, expected);
}

static void
test_writer_failure_keeps_old_file (Fixture       *fixture,
                                    gconstpointer  user_data)
{
  static const char * const expected[] = { "model.safetensors", NULL };
  static const gint64 shape[] = { 64, 1024 };
  g_autoptr(PeftqSafetensorsWriter) writer = peftq_safetensors_writer_new ();
  g_autoptr(PeftqTensor) large = make_random_tensor (fixture->rng, PEFTQ_DTYPE_F32, shape, 2);
  g_autoptr(GBytes) old_contents = g_bytes_new_static ("the old file", 12);
  g_autoptr(GBytes) after = NULL;
  g_autofree char *path = peftq_test_write_file (fixture->dir, "model.safetensors", "the old file", 12);
  g_autoptr(GError) error = NULL;
  gboolean written;

  g_test_summary ("A write that fails part way keeps the old file and removes its temporary file");

  peftq_safetensors_writer_add_tensor (writer, "large", large, NULL);

  /* With a file size limit of 64 KiB, write() fails with EFBIG part way through the
   * 256 KiB tensor. */
  if (!peftq_test_limit_file_size (64 * 1024))
    return;
  written = peftq_safetensors_writer_write (writer, path, &error);
  peftq_test_restore_file_size_limit ();

  g_assert_false (written);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, path);

  after = peftq_test_read_file (path);
  g_assert_true (g_bytes_equal (after, old_contents));
  assert_dir_lists (fixture->dir, expected);
}

static void
test_writer_rewrites_open_file (Fixture       *fixture,
                                gconstpointer  user_data)
{
  static const gint64 shape[] = { 8, 8 };
  g_autoptr(GHashTable) tensors = new_tensor_table ();
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autoptr(PeftqSafetensorsWriter) rewriter = peftq_safetensors_writer_new ();
  g_autoptr(PeftqSafetensorsFile) original = NULL;
  g_autoptr(PeftqSafetensorsFile) rewritten = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "model.safetensors", NULL);
  g_auto(GStrv) names = NULL;

  g_test_summary ("Tensors read from a file can be written back over that same file");

  g_hash_table_insert (tensors, g_strdup ("a"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_F32, shape, 2));
  g_hash_table_insert (tensors, g_strdup ("b"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_BF16, shape, 2));
  writer = writer_for (tensors);
  write_or_fail (writer, path);

  /* The tensors point into the mapping of the file that the rewrite replaces. */
  original = open_or_fail (path);
  names = peftq_safetensors_file_get_tensor_names (original);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(PeftqTensor) tensor = peftq_safetensors_file_get_tensor (original, names[i], NULL);
      peftq_safetensors_writer_add_tensor (rewriter, names[i], tensor, NULL);
    }
  peftq_safetensors_writer_set_metadata (rewriter, "rewritten", "yes");
  write_or_fail (rewriter, path);

  rewritten = open_or_fail (path);
  assert_file_holds (rewritten, tensors);
  assert_file_holds (original, tensors);
  g_assert_cmpstr (peftq_safetensors_file_get_metadata_value (rewritten, "rewritten"), ==, "yes");
}

static void
test_reader_maps_without_copy (Fixture       *fixture,
                               gconstpointer  user_data)
{
  static const gint64 shape[] = { 4, 4 };
  g_autoptr(GHashTable) tensors = new_tensor_table ();
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(PeftqTensor) first = NULL;
  g_autoptr(PeftqTensor) first_again = NULL;
  g_autoptr(PeftqTensor) second = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "mapped.safetensors", NULL);
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(JsonNode) root = NULL;
  guint64 header_size;
  JsonArray *first_offsets;
  JsonArray *second_offsets;

  g_test_summary ("Tensors point into one mapping of the file, at the offsets of the header");

  g_hash_table_insert (tensors, g_strdup ("first"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_F32, shape, 2));
  g_hash_table_insert (tensors, g_strdup ("second"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_F32, shape, 2));
  writer = writer_for (tensors);
  write_or_fail (writer, path);

  contents = peftq_test_read_file (path);
  root = parse_header_independently (contents, &header_size);
  first_offsets = json_object_get_array_member (json_object_get_object_member (json_node_get_object (root), "first"), "data_offsets");
  second_offsets = json_object_get_array_member (json_object_get_object_member (json_node_get_object (root), "second"), "data_offsets");

  file = open_or_fail (path);
  first = peftq_safetensors_file_get_tensor (file, "first", NULL);
  first_again = peftq_safetensors_file_get_tensor (file, "first", NULL);
  second = peftq_safetensors_file_get_tensor (file, "second", NULL);

  g_assert_true (peftq_tensor_peek_data (first) == peftq_tensor_peek_data (first_again));
  g_assert_cmpint ((const guint8 *) peftq_tensor_peek_data (second) - (const guint8 *) peftq_tensor_peek_data (first), ==,
                   json_array_get_int_element (second_offsets, 0) - json_array_get_int_element (first_offsets, 0));
}

static void
test_reader_tensor_outlives_file (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  static const gint64 shape[] = { 32 };
  g_autoptr(GHashTable) tensors = new_tensor_table ();
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  PeftqSafetensorsFile *file;
  g_autoptr(PeftqTensor) tensor = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "short-lived.safetensors", NULL);

  g_test_summary ("A tensor keeps the mapping alive after its file object is freed");

  g_hash_table_insert (tensors, g_strdup ("w"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_I32, shape, 1));
  writer = writer_for (tensors);
  write_or_fail (writer, path);

  file = open_or_fail (path);
  tensor = peftq_safetensors_file_get_tensor (file, "w", NULL);
  g_assert_finalize_object (file);

  assert_tensors_identical (g_hash_table_lookup (tensors, "w"), tensor);
}

static void
test_reader_unknown_tensor (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(PeftqSafetensorsWriter) writer = small_writer (fixture->rng);
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(PeftqTensor) tensor = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "one.safetensors", NULL);

  g_test_summary ("Asking for a tensor that the file lacks gives PEFTQ_ERROR_NOT_FOUND naming it");

  write_or_fail (writer, path);
  file = open_or_fail (path);

  g_assert_false (peftq_safetensors_file_has_tensor (file, "missing.weight"));
  tensor = peftq_safetensors_file_get_tensor (file, "missing.weight", &error);
  g_assert_null (tensor);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND, "missing.weight");
  g_assert_true (strstr (error->message, path) != NULL);
}

static void
test_reader_missing_file (Fixture       *fixture,
                          gconstpointer  user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "absent.safetensors", NULL);
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Opening a file that does not exist gives PEFTQ_ERROR_NOT_FOUND naming it");

  file = peftq_safetensors_file_open (path, &error);

  g_assert_null (file);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND, "absent.safetensors");
}

static void
test_reader_folder (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Opening a folder gives PEFTQ_ERROR_IO naming it");

  file = peftq_safetensors_file_open (fixture->dir, &error);

  g_assert_null (file);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, "folder");
  g_assert_true (strstr (error->message, fixture->dir) != NULL);
}

/* Valid files written by hand in forms that peftq's writer never produces. */
typedef struct
{
  const char *name;
  const char *header;
  gsize data_size;
  guint n_tensors;
} ValidCase;

static const ValidCase valid_cases[] = {
  { "empty-header", "{}", 0, 0 },
  { "padded-header", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}      ", 2, 1 },
  { "whitespace-inside", "{ \"a\" :\n\t{ \"dtype\" : \"U8\" , \"shape\" : [ 2 ] , \"data_offsets\" : [ 0 , 2 ] } }", 2, 1 },
  { "offsets-out-of-order",
    "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, 2 },
  { "zero-size-between",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
    "\"z\":{\"dtype\":\"F32\",\"shape\":[0,7],\"data_offsets\":[4,4]},"
    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 3 },
  { "unknown-entry-field", "{\"a\":{\"dtype\":\"I8\",\"shape\":[],\"data_offsets\":[0,1],\"extra\":{\"x\":[1]}}}", 1, 1 },
  { "escaped-name", "{\"caf\\u00e9 \\ud83d\\ude42\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, 1 },
  { "metadata-only", "{\"__metadata__\":{\"format\":\"pt\"}}", 0, 0 },
  { "huge-dimension-times-zero", "{\"a\":{\"dtype\":\"F64\",\"shape\":[0,9223372036854775807],\"data_offsets\":[0,0]}}", 0, 1 },
};

static void
test_reader_valid_case (gconstpointer user_data)
{
  const ValidCase *valid = user_data;
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autoptr(GBytes) contents = peftq_test_build_safetensors (valid->header, valid->data_size);
  g_autofree char *path = peftq_test_write_file (dir, "valid.safetensors", g_bytes_get_data (contents, NULL),
                                                 g_bytes_get_size (contents));
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;

  file = peftq_safetensors_file_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (file);
  g_assert_cmpuint (peftq_safetensors_file_get_n_tensors (file), ==, valid->n_tensors);

  names = peftq_safetensors_file_get_tensor_names (file);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(PeftqTensor) tensor = peftq_safetensors_file_get_tensor (file, names[i], &error);

      g_assert_no_error (error);
      g_assert_nonnull (tensor);
    }

  peftq_test_remove_dir (dir);
}

static void
test_reader_escaped_name (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autoptr(GBytes) contents = peftq_test_build_safetensors (valid_cases[6].header, valid_cases[6].data_size);
  g_autofree char *path = peftq_test_write_file (dir, "escaped.safetensors", g_bytes_get_data (contents, NULL),
                                                 g_bytes_get_size (contents));
  g_autoptr(PeftqSafetensorsFile) file = open_or_fail (path);

  g_test_summary ("\\u escapes, surrogate pairs included, decode to the UTF-8 tensor name");

  g_assert_cmpstr (valid_cases[6].name, ==, "escaped-name");
  g_assert_true (peftq_safetensors_file_has_tensor (file, "café 🙂"));

  peftq_test_remove_dir (dir);
}

/* An invalid file: either a header (placed after its 8-byte length, with @data_size data
 * bytes) or complete raw contents of @raw_length bytes. */
typedef struct
{
  const char *name;
  const char *header;
  gsize data_size;
  const char *raw;
  gsize raw_length;
  PeftqError code;
  const char *word;
} InvalidCase;

#define RAW(text) NULL, 0, (text), sizeof (text) - 1
#define ENTRY(dtype, shape, offsets) "{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offsets "}"

static const InvalidCase invalid_cases[] = {
  { "empty-file", RAW (""), PEFTQ_ERROR_INVALID_DATA, "truncated" },
  { "truncated-length", RAW ("\x10\0\0"), PEFTQ_ERROR_INVALID_DATA, "truncated" },
  { "header-length-past-end", RAW ("\x64\0\0\0\0\0\0\0{}"), PEFTQ_ERROR_INVALID_DATA, "past the end of the file" },
  { "huge-header-length", RAW ("\0\0\0\0\0\x01\0\0{}"), PEFTQ_ERROR_INVALID_DATA, "exceeds the limit" },
  { "maximum-header-length", RAW ("\xff\xff\xff\xff\xff\xff\xff\xff{}"), PEFTQ_ERROR_INVALID_DATA, "exceeds the limit" },
  { "empty-header", RAW ("\0\0\0\0\0\0\0\0"), PEFTQ_ERROR_INVALID_DATA, "JSON object" },
  { "git-lfs-pointer",
    RAW ("version https://git-lfs.github.com/spec/v1\n"
         "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
         "size 12345\n"),
    PEFTQ_ERROR_INVALID_DATA, "Git LFS" },
  { "invalid-utf8", "{\"a\xff\":" ENTRY ("U8", "[1]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "UTF-8" },
  { "nul-byte-in-header", NULL, 0, "\x04\0\0\0\0\0\0\0{\0} ", 12, PEFTQ_ERROR_INVALID_DATA, "UTF-8" },
  { "invalid-json", "{\"a\":" ENTRY ("U8", "[1]", "[0,1]"), 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "invalid JSON" },
  { "json-array", "[{\"a\":1}]", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "JSON object" },
  { "json-string", "\"text\"", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "JSON object" },
  { "leading-whitespace", " {}", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "JSON object" },
  { "second-json-value", "{}{}", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "after the JSON value" },
  { "json-comment", "{/* note */}", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "invalid JSON" },
  { "single-quoted-name", "{'a':" ENTRY ("U8", "[1]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "invalid JSON" },
  { "trailing-comma", "{\"a\":" ENTRY ("U8", "[1,]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "invalid JSON" },
  { "hexadecimal-dimension", "{\"a\":" ENTRY ("U8", "[0x1]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "invalid JSON" },
  { "octal-dimension", "{\"a\":" ENTRY ("U8", "[010]", "[0,8]") "}", 8, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "leading zero" },
  { "dimension-beyond-64-bits", "{\"a\":" ENTRY ("U8", "[18446744073709551624]", "[0,8]") "}", 8, NULL, 0,
    PEFTQ_ERROR_INVALID_DATA, "64-bit range" },
  { "offset-beyond-64-bits", "{\"a\":" ENTRY ("U8", "[8]", "[18446744073709551616,8]") "}", 8, NULL, 0,
    PEFTQ_ERROR_INVALID_DATA, "64-bit range" },
  { "escaped-nul-in-name", "{\"a\\u0000b\":" ENTRY ("U8", "[1]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "NUL" },
  { "unpaired-surrogate", "{\"\\ud800\":" ENTRY ("U8", "[1]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "surrogate" },
  { "raw-control-character", "{\"a\tb\":" ENTRY ("U8", "[1]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "control character" },
  { "entry-not-object", "{\"a\":[1,2]}", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "must be an object" },
  { "missing-dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "missing field “dtype”" },
  { "missing-shape", "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "missing field “shape”" },
  { "missing-offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "missing field “data_offsets”" },
  { "dtype-not-string", "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,1]}}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "must be a string" },
  { "unknown-dtype", "{\"a\":" ENTRY ("F8_E4M3", "[1]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_UNSUPPORTED, "unsupported dtype “F8_E4M3”" },
  { "lowercase-dtype", "{\"a\":" ENTRY ("f32", "[1]", "[0,4]") "}", 4, NULL, 0, PEFTQ_ERROR_UNSUPPORTED, "unsupported dtype “f32”" },
  { "shape-not-array", "{\"a\":" ENTRY ("U8", "1", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "array of integers" },
  { "negative-dimension", "{\"a\":" ENTRY ("U8", "[2,-1]", "[0,0]") "}", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "dimension 1 must be a non-negative integer" },
  { "fractional-dimension", "{\"a\":" ENTRY ("U8", "[2.5]", "[0,2]") "}", 2, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "dimension 0 must be a non-negative integer" },
  { "exponent-dimension", "{\"a\":" ENTRY ("U8", "[1e0]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "non-negative integer" },
  { "string-dimension", "{\"a\":" ENTRY ("U8", "[\"1\"]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "non-negative integer" },
  { "boolean-dimension", "{\"a\":" ENTRY ("U8", "[true]", "[0,1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "non-negative integer" },
  { "offsets-one-value", "{\"a\":" ENTRY ("U8", "[1]", "[1]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "two integers" },
  { "offsets-not-array", "{\"a\":" ENTRY ("U8", "[1]", "\"0-1\"") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "two integers" },
  { "negative-offset", "{\"a\":" ENTRY ("U8", "[1]", "[-1,0]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "non-negative" },
  { "fractional-offset", "{\"a\":" ENTRY ("U8", "[1]", "[0,1.0]") "}", 1, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "non-negative integers" },
  { "reversed-offsets", "{\"a\":" ENTRY ("F32", "[1]", "[8,4]") "}", 8, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "reversed" },
  { "offsets-past-data", "{\"a\":" ENTRY ("F32", "[4]", "[0,16]") "}", 8, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "past the data area" },
  { "size-mismatch", "{\"a\":" ENTRY ("F32", "[3]", "[0,8]") "}", 8, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "8 bytes of data, but 3 elements of F32 need 12" },
  { "overlapping-tensors",
    "{\"a\":" ENTRY ("F32", "[2]", "[0,8]") ",\"b\":" ENTRY ("F32", "[2]", "[4,12]") "}", 12, NULL, 0,
    PEFTQ_ERROR_INVALID_DATA, "overlaps" },
  { "identical-spans",
    "{\"a\":" ENTRY ("F32", "[1]", "[0,4]") ",\"b\":" ENTRY ("F32", "[1]", "[0,4]") "}", 4, NULL, 0,
    PEFTQ_ERROR_INVALID_DATA, "overlaps" },
  { "zero-size-inside-tensor",
    "{\"a\":" ENTRY ("F32", "[2]", "[0,8]") ",\"z\":" ENTRY ("F32", "[0]", "[4,4]") "}", 8, NULL, 0,
    PEFTQ_ERROR_INVALID_DATA, "overlaps" },
  { "gap-between-tensors",
    "{\"a\":" ENTRY ("F32", "[1]", "[0,4]") ",\"b\":" ENTRY ("F32", "[1]", "[8,12]") "}", 12, NULL, 0,
    PEFTQ_ERROR_INVALID_DATA, "gap" },
  { "gap-at-start", "{\"a\":" ENTRY ("F32", "[1]", "[4,8]") "}", 8, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "gap" },
  { "trailing-bytes", "{\"a\":" ENTRY ("F32", "[1]", "[0,4]") "}", 8, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "4 trailing bytes" },
  { "data-without-tensors", "{}", 3, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "3 trailing bytes" },
  { "duplicate-names",
    "{\"a\":" ENTRY ("U8", "[1]", "[0,1]") ",\"a\":" ENTRY ("U8", "[1]", "[1,2]") "}", 2, NULL, 0,
    PEFTQ_ERROR_INVALID_DATA, "more than once" },
  { "duplicate-names-escaped",
    "{\"a\":" ENTRY ("U8", "[1]", "[0,1]") ",\"\\u0061\":" ENTRY ("U8", "[1]", "[1,2]") "}", 2, NULL, 0,
    PEFTQ_ERROR_INVALID_DATA, "more than once" },
  { "duplicate-metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "more than once" },
  { "metadata-not-object", "{\"__metadata__\":\"pt\"}", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "must be an object" },
  { "metadata-number-value", "{\"__metadata__\":{\"epoch\":3}}", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "“epoch” must map to a string" },
  { "metadata-null-value", "{\"__metadata__\":{\"base\":null}}", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "“base” must map to a string" },
  { "metadata-nested-object", "{\"__metadata__\":{\"config\":{\"r\":\"8\"}}}", 0, NULL, 0, PEFTQ_ERROR_INVALID_DATA, "“config” must map to a string" },
  { "element-count-overflow", "{\"a\":" ENTRY ("U8", "[4294967296,4294967296,2]", "[0,0]") "}", 0, NULL, 0,
    PEFTQ_ERROR_INVALID_DATA, "element count overflows" },
  { "byte-size-overflow", "{\"a\":" ENTRY ("F64", "[4611686018427387904]", "[0,0]") "}", 0, NULL, 0,
    PEFTQ_ERROR_INVALID_DATA, "overflows" },
};

static void
test_reader_invalid_case (gconstpointer user_data)
{
  const InvalidCase *invalid = user_data;
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autoptr(GBytes) contents = NULL;
  g_autofree char *path = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(GError) error = NULL;

  if (invalid->header != NULL)
    contents = peftq_test_build_safetensors (invalid->header, invalid->data_size);
  else
    contents = g_bytes_new_static (invalid->raw, invalid->raw_length);
  path = peftq_test_write_file (dir, "invalid.safetensors", g_bytes_get_data (contents, NULL),
                                g_bytes_get_size (contents));

  file = peftq_safetensors_file_open (path, &error);

  g_assert_null (file);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, (int) invalid->code, invalid->word);
  /* Every message also names the file. */
  g_assert_true (strstr (error->message, path) != NULL);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));

  peftq_test_remove_dir (dir);
}

static void
expect_invalid_file (const char *dir,
                     GBytes     *contents,
                     const char *word)
{
  g_autofree char *path = peftq_test_write_file (dir, "invalid.safetensors", g_bytes_get_data (contents, NULL),
                                                 g_bytes_get_size (contents));
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_autoptr(GError) error = NULL;

  file = peftq_safetensors_file_open (path, &error);

  g_assert_null (file);
  peftq_test_assert_error_mentions (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA, word);
  g_assert_true (strstr (error->message, path) != NULL);
}

static void
test_reader_deep_nesting (void)
{
  g_autofree char *dir = peftq_test_make_temp_dir ();
  g_autoptr(GString) header = g_string_new ("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":");
  g_autoptr(GBytes) contents = NULL;
  guint depth = 200000;

  g_test_summary ("A header nested 200,000 levels deep is rejected without exhausting the stack");

  for (guint i = 0; i < depth; i++)
    g_string_append_c (header, '[');
  for (guint i = 0; i < depth; i++)
    g_string_append_c (header, ']');
  g_string_append (header, "}}");
  contents = peftq_test_build_safetensors (header->str, 1);

  expect_invalid_file (dir, contents, "nest deeper");

  peftq_test_remove_dir (dir);
}

static void
test_reader_truncated_copies (Fixture       *fixture,
                              gconstpointer  user_data)
{
  static const gint64 shape[] = { 10, 10 };
  g_autoptr(GHashTable) tensors = new_tensor_table ();
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "whole.safetensors", NULL);
  g_autoptr(GBytes) whole = NULL;
  g_autoptr(GBytes) cut_in_data = NULL;
  g_autoptr(GBytes) cut_in_header = NULL;
  g_autoptr(GBytes) extended = NULL;
  gsize size;
  guint64 header_size;

  g_test_summary ("A valid file cut short, in the data or in the header, or extended, is rejected");

  g_hash_table_insert (tensors, g_strdup ("a"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_F32, shape, 2));
  g_hash_table_insert (tensors, g_strdup ("b"), make_random_tensor (fixture->rng, PEFTQ_DTYPE_F16, shape, 2));
  writer = writer_for (tensors);
  write_or_fail (writer, path);
  whole = peftq_test_read_file (path);
  size = g_bytes_get_size (whole);
  memcpy (&header_size, g_bytes_get_data (whole, NULL), 8);
  header_size = GUINT64_FROM_LE (header_size);

  cut_in_data = g_bytes_new_from_bytes (whole, 0, size - 3);
  expect_invalid_file (fixture->dir, cut_in_data, "past the data area");

  cut_in_header = g_bytes_new_from_bytes (whole, 0, 8 + header_size / 2);
  expect_invalid_file (fixture->dir, cut_in_header, "past the end of the file");

  {
    GByteArray *longer = g_byte_array_new ();

    g_byte_array_append (longer, g_bytes_get_data (whole, NULL), (guint) size);
    g_byte_array_append (longer, (const guint8 *) "\0\0\0\0", 4);
    extended = g_byte_array_free_to_bytes (longer);
  }
  expect_invalid_file (fixture->dir, extended, "trailing bytes");
}

/* Compares every tensor of one real file against an independent parse of its header and
 * checks that every F16 tensor converts to float32 and back unchanged. */
static void
check_real_file (const char *path,
                 guint      *n_f16_tensors)
{
  g_autoptr(GBytes) contents = peftq_test_read_file (path);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(PeftqSafetensorsFile) file = open_or_fail (path);
  g_autoptr(GList) members = NULL;
  JsonObject *header;
  guint64 header_size;
  guint n_tensors = 0;
  const guint8 *data_area;

  root = parse_header_independently (contents, &header_size);
  header = json_node_get_object (root);
  data_area = (const guint8 *) g_bytes_get_data (contents, NULL) + 8 + header_size;
  members = json_object_get_members (header);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonObject *entry;
      JsonArray *shape;
      JsonArray *offsets;
      g_autoptr(PeftqTensor) tensor = NULL;
      g_autoptr(GError) error = NULL;
      const gint64 *tensor_shape;
      guint rank;
      gint64 begin;
      gint64 end;

      if (strcmp (name, "__metadata__") == 0)
        {
          JsonObject *metadata = json_object_get_object_member (header, name);
          g_autoptr(GList) keys = json_object_get_members (metadata);

          g_assert_cmpuint (g_hash_table_size (peftq_safetensors_file_get_metadata (file)), ==,
                            json_object_get_size (metadata));
          for (GList *k = keys; k != NULL; k = k->next)
            g_assert_cmpstr (peftq_safetensors_file_get_metadata_value (file, k->data), ==,
                             json_object_get_string_member (metadata, k->data));
          continue;
        }

      n_tensors++;
      entry = json_object_get_object_member (header, name);
      shape = json_object_get_array_member (entry, "shape");
      offsets = json_object_get_array_member (entry, "data_offsets");
      begin = json_array_get_int_element (offsets, 0);
      end = json_array_get_int_element (offsets, 1);

      tensor = peftq_safetensors_file_get_tensor (file, name, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (peftq_dtype_to_string (peftq_tensor_get_dtype (tensor)), ==,
                       json_object_get_string_member (entry, "dtype"));
      tensor_shape = peftq_tensor_get_shape (tensor, &rank);
      g_assert_cmpuint (rank, ==, json_array_get_length (shape));
      for (guint axis = 0; axis < rank; axis++)
        g_assert_cmpint (tensor_shape[axis], ==, json_array_get_int_element (shape, axis));
      g_assert_cmpmem (peftq_tensor_peek_data (tensor), peftq_tensor_get_n_bytes (tensor),
                       data_area + begin, (gsize) (end - begin));

      if (peftq_tensor_get_dtype (tensor) == PEFTQ_DTYPE_F16 || peftq_tensor_get_dtype (tensor) == PEFTQ_DTYPE_BF16)
        {
          g_autoptr(PeftqTensor) widened = peftq_tensor_to_float32 (tensor, &error);
          g_autoptr(PeftqTensor) narrowed = NULL;

          g_assert_no_error (error);
          g_assert_cmpint (peftq_tensor_get_dtype (widened), ==, PEFTQ_DTYPE_F32);
          narrowed = peftq_tensor_convert (widened, peftq_tensor_get_dtype (tensor), &error);
          g_assert_no_error (error);
          assert_tensors_identical (tensor, narrowed);
          if (peftq_tensor_get_dtype (tensor) == PEFTQ_DTYPE_F16)
            (*n_f16_tensors)++;
        }
    }

  g_assert_cmpuint (peftq_safetensors_file_get_n_tensors (file), ==, n_tensors);
}

static void
collect_safetensors_files (const char *dir,
                           GPtrArray  *paths)
{
  g_auto(GStrv) names = peftq_test_list_dir (dir);

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        collect_safetensors_files (path, paths);
      else if (g_str_has_suffix (names[i], ".safetensors"))
        g_ptr_array_add (paths, g_steal_pointer (&path));
    }
}

static void
test_reader_real_files (void)
{
  g_autofree char *root = peftq_test_get_data_path (".");
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *model = NULL;
  guint n_f16_tensors = 0;

  g_test_summary ("Every .safetensors file of the shared test data matches its own header");

  if (root == NULL)
    return;

  collect_safetensors_files (root, paths);
  model = peftq_test_get_data_path ("stories260K/model.safetensors");
  if (model == NULL)
    return;

  for (guint i = 0; i < paths->len; i++)
    {
      g_test_message ("checking %s", (const char *) g_ptr_array_index (paths, i));
      check_real_file (g_ptr_array_index (paths, i), &n_f16_tensors);
    }

  /* The model and the eight adapters at least; opencalm-1b-r1-fp16 stores F16. */
  g_assert_cmpuint (paths->len, >=, 9);
  g_assert_cmpuint (n_f16_tensors, >, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add ("/peftq/safetensors/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("round-trip/each-dtype", test_round_trip_each_dtype);
  ADD ("round-trip/all-dtypes", test_round_trip_all_dtypes);
  ADD ("round-trip/scalars", test_round_trip_scalars);
  ADD ("round-trip/zero-size", test_round_trip_zero_size);
  ADD ("round-trip/no-tensors", test_round_trip_empty_file);
  ADD ("round-trip/metadata", test_round_trip_metadata);
  ADD ("round-trip/many-tensors", test_round_trip_many_tensors);
  ADD ("round-trip/unusual-names", test_round_trip_unusual_names);
  ADD ("writer/layout", test_writer_layout);
  ADD ("writer/deterministic", test_writer_deterministic);
  ADD ("writer/invalid-names", test_writer_invalid_names);
  ADD ("writer/header-too-large", test_writer_header_too_large);
  ADD ("writer/missing-folder", test_writer_missing_folder);
  ADD ("writer/over-folder", test_writer_over_folder);
  ADD ("writer/parent-is-file", test_writer_parent_is_file);
  ADD ("writer/replaces-file", test_writer_replaces_file);
  ADD ("writer/failure-keeps-old-file", test_writer_failure_keeps_old_file);
  ADD ("writer/rewrites-open-file", test_writer_rewrites_open_file);
  ADD ("reader/maps-without-copy", test_reader_maps_without_copy);
  ADD ("reader/tensor-outlives-file", test_reader_tensor_outlives_file);
  ADD ("reader/unknown-tensor", test_reader_unknown_tensor);
  ADD ("reader/missing-file", test_reader_missing_file);
  ADD ("reader/folder", test_reader_folder);
  ADD ("reader/truncated-copies", test_reader_truncated_copies);
#undef ADD

  for (gsize i = 0; i < G_N_ELEMENTS (valid_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/peftq/safetensors/valid/%s", valid_cases[i].name);
      g_test_add_data_func (path, &valid_cases[i], test_reader_valid_case);
    }
  g_test_add_func ("/peftq/safetensors/valid/escaped-name-decoded", test_reader_escaped_name);

  for (gsize i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/peftq/safetensors/invalid/%s", invalid_cases[i].name);
      g_test_add_data_func (path, &invalid_cases[i], test_reader_invalid_case);
    }
  g_test_add_func ("/peftq/safetensors/invalid/deep-nesting", test_reader_deep_nesting);

  g_test_add_func ("/peftq/safetensors/testdata/all-files", test_reader_real_files);

  return g_test_run ();
}
