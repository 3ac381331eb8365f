/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-tensor-private.h"
#include "peftq-error.h"

#include <math.h>
#include <string.h>

/**
 * PeftqTensor:
 *
 * A contiguous, row-major, immutable n-dimensional array.
 *
 * A tensor has a [enum@Peftq.DType], a shape of any rank and its storage in a
 * [struct@GLib.Bytes]. A rank-0 tensor is a scalar with one element, and a dimension may
 * be zero, which gives a tensor with no elements. Tensors read from a safetensors file
 * point into the memory-mapped file, so loading them copies nothing.
 *
 * Values are little-endian, as in safetensors files. Arithmetic in peftq happens in
 * float32; [method@Peftq.Tensor.convert] and [method@Peftq.Tensor.to_float32] convert
 * the 16-bit formats exactly, rounding to nearest even.
 *
 * Since: 1.0
 */

struct _PeftqTensor
{
  GObject parent_instance;

  PeftqDType dtype;
  guint rank;
  gint64 *shape;
  guint64 n_elements;
  GBytes *bytes;

  /* TRUE only for storage that peftq allocated and that no other tensor shares yet. */
  gboolean writable;
};

G_DEFINE_FINAL_TYPE (PeftqTensor, peftq_tensor, G_TYPE_OBJECT)

static const struct
{
  const char *name;
  gsize size;
} dtype_info[] = {
  [PEFTQ_DTYPE_F64] = { "F64", 8 },
  [PEFTQ_DTYPE_F32] = { "F32", 4 },
  [PEFTQ_DTYPE_F16] = { "F16", 2 },
  [PEFTQ_DTYPE_BF16] = { "BF16", 2 },
  [PEFTQ_DTYPE_I64] = { "I64", 8 },
  [PEFTQ_DTYPE_I32] = { "I32", 4 },
  [PEFTQ_DTYPE_I16] = { "I16", 2 },
  [PEFTQ_DTYPE_I8] = { "I8", 1 },
  [PEFTQ_DTYPE_U8] = { "U8", 1 },
  [PEFTQ_DTYPE_BOOL] = { "BOOL", 1 },
};

static gboolean
dtype_is_valid (PeftqDType dtype)
{
  return (guint) dtype < G_N_ELEMENTS (dtype_info);
}

/**
 * peftq_dtype_get_size:
 * @dtype: a dtype
 *
 * Returns the size of one element of @dtype in bytes.
 *
 * Returns: the element size in bytes
 *
 * Since: 1.0
 */
gsize
peftq_dtype_get_size (PeftqDType dtype)
{
  g_return_val_if_fail (dtype_is_valid (dtype), 0);

  return dtype_info[dtype].size;
}

/**
 * peftq_dtype_to_string:
 * @dtype: a dtype
 *
 * Returns the safetensors name of @dtype, such as `F32` or `BF16`.
 *
 * Returns: (transfer none): the dtype name
 *
 * Since: 1.0
 */
const char *
peftq_dtype_to_string (PeftqDType dtype)
{
  g_return_val_if_fail (dtype_is_valid (dtype), NULL);

  return dtype_info[dtype].name;
}

/**
 * peftq_dtype_from_string:
 * @name: a safetensors dtype name, such as `F16`
 * @out_dtype: (out) (optional): return location for the dtype
 *
 * Looks up a dtype by its safetensors name. The match is exact and case-sensitive.
 *
 * Returns: `TRUE` if @name is a dtype that peftq supports
 *
 * Since: 1.0
 */
gboolean
peftq_dtype_from_string (const char *name,
                         PeftqDType *out_dtype)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (dtype_info); i++)
    {
      if (strcmp (dtype_info[i].name, name) == 0)
        {
          if (out_dtype != NULL)
            *out_dtype = (PeftqDType) i;
          return TRUE;
        }
    }

  return FALSE;
}

/**
 * peftq_dtype_is_float:
 * @dtype: a dtype
 *
 * Checks whether @dtype is a floating-point type (F64, F32, F16 or BF16).
 *
 * Returns: `TRUE` for floating-point dtypes
 *
 * Since: 1.0
 */
gboolean
peftq_dtype_is_float (PeftqDType dtype)
{
  return dtype == PEFTQ_DTYPE_F64 || dtype == PEFTQ_DTYPE_F32 ||
         dtype == PEFTQ_DTYPE_F16 || dtype == PEFTQ_DTYPE_BF16;
}

static inline guint32
float_to_bits (float value)
{
  guint32 bits;

  memcpy (&bits, &value, sizeof bits);
  return bits;
}

static inline float
bits_to_float (guint32 bits)
{
  float value;

  memcpy (&value, &bits, sizeof value);
  return value;
}

float
peftq_f16_to_f32 (guint16 bits)
{
  guint32 sign = (guint32) (bits & 0x8000) << 16;
  guint32 exponent = (bits >> 10) & 0x1f;
  guint32 mantissa = bits & 0x3ff;

  if (exponent == 0)
    {
      /* Zero or subnormal: mantissa * 2^-24 is exact in float32. */
      float magnitude = (float) mantissa * 0x1p-24f;
      return sign ? -magnitude : magnitude;
    }

  if (exponent == 31)
    {
      /* Infinity, or NaN with its payload moved to the top of the float mantissa. */
      return bits_to_float (sign | 0x7f800000u | (mantissa << 13));
    }

  return bits_to_float (sign | ((exponent + 112) << 23) | (mantissa << 13));
}

guint16
peftq_f32_to_f16 (float value)
{
  guint32 bits = float_to_bits (value);
  guint16 sign = (guint16) ((bits >> 16) & 0x8000);
  guint32 magnitude = bits & 0x7fffffffu;

  if (magnitude > 0x7f800000u)
    {
      /* NaN: keep the top payload bits, and keep it a NaN if only low bits were set. */
      guint16 payload = (guint16) ((magnitude >> 13) & 0x3ff);
      return sign | 0x7c00 | (payload != 0 ? payload : 0x200);
    }

  /* 65520 and above round to infinity; this also covers infinity itself. */
  if (magnitude >= 0x477ff000u)
    return sign | 0x7c00;

  if (magnitude < 0x38800000u)
    {
      /* The result is subnormal or zero. Adding 0.5 aligns the binary point so that the
       * float addition itself rounds to the 2^-24 grid, to nearest even. */
      float aligned = bits_to_float (magnitude) + 0.5f;
      return sign | (guint16) (float_to_bits (aligned) - 0x3f000000u);
    }

  {
    guint32 mantissa_odd = (magnitude >> 13) & 1;

    /* Rebias the exponent from 127 to 15, then round to nearest even on bit 13. */
    magnitude += ((guint32) (15 - 127) << 23) + 0xfff + mantissa_odd;
    return sign | (guint16) (magnitude >> 13);
  }
}

float
peftq_bf16_to_f32 (guint16 bits)
{
  return bits_to_float ((guint32) bits << 16);
}

guint16
peftq_f32_to_bf16 (float value)
{
  guint32 bits = float_to_bits (value);

  if ((bits & 0x7fffffffu) > 0x7f800000u)
    {
      guint16 truncated = (guint16) (bits >> 16);
      /* A NaN whose payload sits only in the dropped half must stay a NaN. */
      return (truncated & 0x7f) != 0 ? truncated : truncated | 0x40;
    }

  bits += 0x7fff + ((bits >> 16) & 1);
  return (guint16) (bits >> 16);
}

gboolean
peftq_shape_get_n_elements (const gint64  *shape,
                            guint          rank,
                            PeftqDType     dtype,
                            guint64       *out_n_elements,
                            GError       **error)
{
  guint64 n_elements = 1;
  gsize element_size = dtype_info[dtype].size;

  for (guint axis = 0; axis < rank; axis++)
    {
      if (shape[axis] < 0)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "Dimension %u is negative (%" G_GINT64_FORMAT ")",
                       axis, shape[axis]);
          return FALSE;
        }

      if (shape[axis] != 0 && n_elements > G_MAXUINT64 / (guint64) shape[axis])
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "The element count overflows 64 bits at dimension %u", axis);
          return FALSE;
        }

      n_elements *= (guint64) shape[axis];
    }

  if (n_elements > G_MAXSIZE / element_size)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "The byte size of %" G_GUINT64_FORMAT " elements of %s overflows the address space",
                   n_elements, dtype_info[dtype].name);
      return FALSE;
    }

  *out_n_elements = n_elements;
  return TRUE;
}

static void
peftq_tensor_finalize (GObject *object)
{
  PeftqTensor *self = PEFTQ_TENSOR (object);

  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->shape, g_free);

  G_OBJECT_CLASS (peftq_tensor_parent_class)->finalize (object);
}

static void
peftq_tensor_class_init (PeftqTensorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = peftq_tensor_finalize;
}

static void
peftq_tensor_init (PeftqTensor *self)
{
}

/* Takes ownership of @bytes. The caller has checked the shape and the byte count. */
static PeftqTensor *
tensor_new_unchecked (PeftqDType    dtype,
                      const gint64 *shape,
                      guint         rank,
                      guint64       n_elements,
                      GBytes       *bytes,
                      gboolean      writable)
{
  PeftqTensor *self = g_object_new (PEFTQ_TYPE_TENSOR, NULL);

  self->dtype = dtype;
  self->rank = rank;
  /* One spare slot so that a scalar still has a valid, non-NULL shape pointer. */
  self->shape = g_new0 (gint64, rank + 1);
  if (rank > 0)
    memcpy (self->shape, shape, rank * sizeof (gint64));
  self->n_elements = n_elements;
  self->bytes = bytes;
  self->writable = writable;

  return self;
}

/**
 * peftq_tensor_new:
 * @dtype: the element type
 * @shape: (array length=rank) (nullable): the size of each dimension
 * @rank: the number of dimensions; 0 makes a scalar
 * @error: return location for a #GError
 *
 * Creates a zero-filled tensor.
 *
 * Returns: (transfer full): a new tensor, or `NULL` if a dimension is negative or the
 *   size overflows
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_tensor_new (PeftqDType     dtype,
                  const gint64  *shape,
                  guint          rank,
                  GError       **error)
{
  guint64 n_elements;
  gsize n_bytes;
  gpointer data;

  g_return_val_if_fail (dtype_is_valid (dtype), NULL);
  g_return_val_if_fail (shape != NULL || rank == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_shape_get_n_elements (shape, rank, dtype, &n_elements, error))
    return NULL;

  n_bytes = (gsize) n_elements * dtype_info[dtype].size;
  data = g_try_malloc0 (MAX (n_bytes, 1));
  if (data == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_FAILED,
                   "Out of memory for a tensor of %" G_GSIZE_FORMAT " bytes", n_bytes);
      return NULL;
    }

  return tensor_new_unchecked (dtype, shape, rank, n_elements,
                               g_bytes_new_take (data, n_bytes), TRUE);
}

PeftqTensor *
peftq_tensor_new_f32 (const gint64 *shape,
                      guint         rank)
{
  g_autoptr(GError) error = NULL;
  PeftqTensor *tensor = peftq_tensor_new (PEFTQ_DTYPE_F32, shape, rank, &error);

  if (tensor == NULL)
    g_error ("Invalid internal tensor shape: %s", error->message);

  return tensor;
}

/**
 * peftq_tensor_new_from_bytes:
 * @dtype: the element type
 * @shape: (array length=rank) (nullable): the size of each dimension
 * @rank: the number of dimensions; 0 makes a scalar
 * @data: little-endian, row-major element data
 * @error: return location for a #GError
 *
 * Creates a tensor that shares @data without copying it.
 *
 * Returns: (transfer full): a new tensor, or `NULL` if the size of @data does not match
 *   the shape and dtype
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_tensor_new_from_bytes (PeftqDType     dtype,
                             const gint64  *shape,
                             guint          rank,
                             GBytes        *data,
                             GError       **error)
{
  guint64 n_elements;
  gsize expected_bytes;

  g_return_val_if_fail (dtype_is_valid (dtype), NULL);
  g_return_val_if_fail (shape != NULL || rank == 0, NULL);
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_shape_get_n_elements (shape, rank, dtype, &n_elements, error))
    return NULL;

  expected_bytes = (gsize) n_elements * dtype_info[dtype].size;
  if (g_bytes_get_size (data) != expected_bytes)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "Expected %" G_GSIZE_FORMAT " bytes for %" G_GUINT64_FORMAT " elements of %s, got %" G_GSIZE_FORMAT,
                   expected_bytes, n_elements, dtype_info[dtype].name, g_bytes_get_size (data));
      return NULL;
    }

  return tensor_new_unchecked (dtype, shape, rank, n_elements, g_bytes_ref (data), FALSE);
}

/**
 * peftq_tensor_new_from_floats:
 * @data: (array length=n_data): the values, in row-major order
 * @n_data: the number of values
 * @shape: (array length=rank) (nullable): the size of each dimension
 * @rank: the number of dimensions; 0 makes a scalar
 * @error: return location for a #GError
 *
 * Creates a float32 tensor from a copy of @data.
 *
 * Returns: (transfer full): a new tensor, or `NULL` if @n_data is not the element count
 *   of the shape
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_tensor_new_from_floats (const float   *data,
                              gsize          n_data,
                              const gint64  *shape,
                              guint          rank,
                              GError       **error)
{
  g_autoptr(PeftqTensor) tensor = NULL;

  g_return_val_if_fail (data != NULL || n_data == 0, NULL);
  g_return_val_if_fail (shape != NULL || rank == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  tensor = peftq_tensor_new (PEFTQ_DTYPE_F32, shape, rank, error);
  if (tensor == NULL)
    return NULL;

  if (tensor->n_elements != n_data)
    {
      g_autofree char *shape_text = peftq_tensor_format_shape (tensor);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "Got %" G_GSIZE_FORMAT " values for shape %s, which needs %" G_GUINT64_FORMAT,
                   n_data, shape_text, tensor->n_elements);
      return NULL;
    }

  if (n_data > 0)
    memcpy (peftq_tensor_get_mutable_data (tensor), data, n_data * sizeof (float));

  return g_steal_pointer (&tensor);
}

/**
 * peftq_tensor_get_dtype:
 * @self: a tensor
 *
 * Returns the element type of @self.
 *
 * Returns: the dtype
 *
 * Since: 1.0
 */
PeftqDType
peftq_tensor_get_dtype (PeftqTensor *self)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), PEFTQ_DTYPE_F32);

  return self->dtype;
}

/**
 * peftq_tensor_get_rank:
 * @self: a tensor
 *
 * Returns the number of dimensions of @self; 0 for a scalar.
 *
 * Returns: the rank
 *
 * Since: 1.0
 */
guint
peftq_tensor_get_rank (PeftqTensor *self)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), 0);

  return self->rank;
}

/**
 * peftq_tensor_get_shape:
 * @self: a tensor
 * @rank: (out) (optional): return location for the number of dimensions
 *
 * Returns the size of each dimension of @self.
 *
 * Returns: (array length=rank) (transfer none): the shape, owned by @self
 *
 * Since: 1.0
 */
const gint64 *
peftq_tensor_get_shape (PeftqTensor *self,
                        guint       *rank)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), NULL);

  if (rank != NULL)
    *rank = self->rank;

  return self->shape;
}

/**
 * peftq_tensor_get_dim:
 * @self: a tensor
 * @axis: a dimension index; negative values count from the last dimension
 *
 * Returns the size of one dimension of @self.
 *
 * Returns: the size of dimension @axis
 *
 * Since: 1.0
 */
gint64
peftq_tensor_get_dim (PeftqTensor *self,
                      int          axis)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), 0);
  g_return_val_if_fail (axis < (int) self->rank && axis >= -(int) self->rank, 0);

  if (axis < 0)
    axis += (int) self->rank;

  return self->shape[axis];
}

/**
 * peftq_tensor_get_n_elements:
 * @self: a tensor
 *
 * Returns the number of elements of @self: the product of its dimensions, 1 for a scalar.
 *
 * Returns: the element count
 *
 * Since: 1.0
 */
guint64
peftq_tensor_get_n_elements (PeftqTensor *self)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), 0);

  return self->n_elements;
}

/**
 * peftq_tensor_get_n_bytes:
 * @self: a tensor
 *
 * Returns the size of the data of @self in bytes.
 *
 * Returns: the byte size
 *
 * Since: 1.0
 */
gsize
peftq_tensor_get_n_bytes (PeftqTensor *self)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), 0);

  return g_bytes_get_size (self->bytes);
}

/**
 * peftq_tensor_get_bytes:
 * @self: a tensor
 *
 * Returns the storage of @self: little-endian, row-major element data. For a tensor
 * read from a file, the bytes point into the mapped file.
 *
 * Returns: (transfer none): the data, owned by @self
 *
 * Since: 1.0
 */
GBytes *
peftq_tensor_get_bytes (PeftqTensor *self)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), NULL);

  return self->bytes;
}

/**
 * peftq_tensor_peek_data: (skip)
 * @self: a tensor
 *
 * Returns a pointer to the element data of @self. The pointer may be unaligned for the
 * dtype when the tensor points into a file, so read it with `memcpy` unless
 * the dtype is one byte wide.
 *
 * Returns: (transfer none): the data, valid while @self lives
 *
 * Since: 1.0
 */
gconstpointer
peftq_tensor_peek_data (PeftqTensor *self)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), NULL);

  return g_bytes_get_data (self->bytes, NULL);
}

/**
 * peftq_tensor_get_data_address:
 * @self: a tensor
 *
 * Returns the memory address of the element data of @self as an integer, for bindings
 * that wrap the data without copying it, such as the NumPy support of the Python
 * override. The data is read-only and stays valid while @self lives, so the wrapper must
 * keep a reference to @self.
 *
 * Returns: the address of the first byte of the data
 *
 * Since: 1.0
 */
guint64
peftq_tensor_get_data_address (PeftqTensor *self)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), 0);

  return (guint64) (guintptr) g_bytes_get_data (self->bytes, NULL);
}

gpointer
peftq_tensor_get_mutable_data (PeftqTensor *self)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), NULL);
  g_return_val_if_fail (self->writable, NULL);

  return (gpointer) g_bytes_get_data (self->bytes, NULL);
}

gboolean
peftq_tensor_is_writable (PeftqTensor *self)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), FALSE);

  return self->writable;
}

const float *
peftq_tensor_peek_f32 (PeftqTensor *self)
{
  const float *data;

  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), NULL);
  g_return_val_if_fail (self->dtype == PEFTQ_DTYPE_F32, NULL);

  data = g_bytes_get_data (self->bytes, NULL);
  g_return_val_if_fail (((guintptr) data % G_ALIGNOF (float)) == 0, NULL);

  return data;
}

/**
 * peftq_tensor_format_shape:
 * @self: a tensor
 *
 * Formats the shape of @self for messages, such as `[4, 64]` or `[]` for a scalar.
 *
 * Returns: (transfer full): a newly allocated string
 *
 * Since: 1.0
 */
char *
peftq_tensor_format_shape (PeftqTensor *self)
{
  GString *text;

  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), NULL);

  text = g_string_new ("[");
  for (guint axis = 0; axis < self->rank; axis++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, axis > 0 ? ", " : "", self->shape[axis]);
  g_string_append_c (text, ']');

  return g_string_free (text, FALSE);
}

/**
 * peftq_tensor_reshape:
 * @self: a tensor
 * @shape: (array length=rank) (nullable): the new size of each dimension
 * @rank: the new number of dimensions
 * @error: return location for a #GError
 *
 * Creates a tensor with the same data and a new shape of the same element count. The
 * new tensor shares the storage of @self.
 *
 * Returns: (transfer full): the reshaped tensor, or `NULL` if the element counts differ
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_tensor_reshape (PeftqTensor   *self,
                      const gint64  *shape,
                      guint          rank,
                      GError       **error)
{
  guint64 n_elements;

  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), NULL);
  g_return_val_if_fail (shape != NULL || rank == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!peftq_shape_get_n_elements (shape, rank, self->dtype, &n_elements, error))
    return NULL;

  if (n_elements != self->n_elements)
    {
      g_autofree char *old_shape = peftq_tensor_format_shape (self);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "Cannot reshape %s (%" G_GUINT64_FORMAT " elements) to a shape of %" G_GUINT64_FORMAT " elements",
                   old_shape, self->n_elements, n_elements);
      return NULL;
    }

  /* The storage becomes shared, so neither tensor may be written in place any more. */
  self->writable = FALSE;

  return tensor_new_unchecked (self->dtype, shape, rank, n_elements,
                               g_bytes_ref (self->bytes), FALSE);
}

/* Reads element @index of any dtype as a double: exact for every dtype except I64
 * values beyond 2^53, which round to nearest. Float32 signalling NaNs become quiet. */
static double
read_element (const guint8 *data,
              PeftqDType    dtype,
              gsize         index)
{
  const guint8 *p = data + index * dtype_info[dtype].size;

  switch (dtype)
    {
    case PEFTQ_DTYPE_F64: { double v; memcpy (&v, p, 8); return v; }
    case PEFTQ_DTYPE_F32: { float v; memcpy (&v, p, 4); return v; }
    case PEFTQ_DTYPE_F16: { guint16 v; memcpy (&v, p, 2); return peftq_f16_to_f32 (GUINT16_FROM_LE (v)); }
    case PEFTQ_DTYPE_BF16: { guint16 v; memcpy (&v, p, 2); return peftq_bf16_to_f32 (GUINT16_FROM_LE (v)); }
    case PEFTQ_DTYPE_I64: { gint64 v; memcpy (&v, p, 8); return (double) v; }
    case PEFTQ_DTYPE_I32: { gint32 v; memcpy (&v, p, 4); return v; }
    case PEFTQ_DTYPE_I16: { gint16 v; memcpy (&v, p, 2); return v; }
    case PEFTQ_DTYPE_I8: return (gint8) *p;
    case PEFTQ_DTYPE_U8: return *p;
    case PEFTQ_DTYPE_BOOL: return *p != 0;
    default: g_assert_not_reached ();
    }
}

/* Converts an integer to float32 with integer arithmetic only, rounding to nearest even
 * or, with @to_odd, to odd. The C conversion also rounds to nearest even, but under
 * valgrind 3.19 it rounded 2^60 + 2^36 + 1 twice, as a detour through double would. */
static float
int64_to_float (gint64   value,
                gboolean to_odd)
{
  guint64 magnitude = value < 0 ? -(guint64) value : (guint64) value;
  int shift = 0;
  float rounded;

  /* Keep the top 24 significant bits, which a float32 mantissa represents exactly. */
  while ((magnitude >> shift) >= (G_GUINT64_CONSTANT (1) << 24))
    shift++;
  if (shift > 0)
    {
      guint64 top_bits = magnitude >> shift;
      guint64 dropped = magnitude & ((G_GUINT64_CONSTANT (1) << shift) - 1);
      guint64 half = G_GUINT64_CONSTANT (1) << (shift - 1);

      if (to_odd)
        top_bits |= dropped != 0;
      else if (dropped > half || (dropped == half && (top_bits & 1) != 0))
        top_bits++;   /* 2^24 after a carry is still exact */
      magnitude = top_bits;
    }

  rounded = ldexpf ((float) magnitude, shift);
  return value < 0 ? -rounded : rounded;
}

/* Reads element @index as a float32 with one rounding to nearest even. F32, F16 and
 * BF16 values, NaN payloads included, are copied exactly: a detour through double would
 * quiet signalling NaNs. */
static float
read_element_f32 (const guint8 *data,
                  PeftqDType    dtype,
                  gsize         index)
{
  const guint8 *p = data + index * dtype_info[dtype].size;

  switch (dtype)
    {
    case PEFTQ_DTYPE_F64: { double v; memcpy (&v, p, 8); return (float) v; }
    case PEFTQ_DTYPE_F32: { float v; memcpy (&v, p, 4); return v; }
    case PEFTQ_DTYPE_F16: { guint16 v; memcpy (&v, p, 2); return peftq_f16_to_f32 (GUINT16_FROM_LE (v)); }
    case PEFTQ_DTYPE_BF16: { guint16 v; memcpy (&v, p, 2); return peftq_bf16_to_f32 (GUINT16_FROM_LE (v)); }
    case PEFTQ_DTYPE_I64: { gint64 v; memcpy (&v, p, 8); return int64_to_float (v, FALSE); }
    case PEFTQ_DTYPE_I32: { gint32 v; memcpy (&v, p, 4); return int64_to_float (v, FALSE); }
    case PEFTQ_DTYPE_I16: { gint16 v; memcpy (&v, p, 2); return v; }
    case PEFTQ_DTYPE_I8: return (gint8) *p;
    case PEFTQ_DTYPE_U8: return *p;
    case PEFTQ_DTYPE_BOOL: return *p != 0;
    default: g_assert_not_reached ();
    }
}

/* Rounds to float32 "to odd": an exact value stays, and an inexact one becomes the float
 * next toward zero with its lowest mantissa bit set. The odd bit stands for the
 * discarded part, so a second rounding to nearest even gives the correctly rounded
 * result on any format with at least two fewer mantissa bits. F16 keeps 10 and BF16 7
 * of float32's 23. Rounding to nearest twice can instead land on a tie and go wrong. */
static float
round_double_to_odd_float (double value)
{
  float rounded = (float) value;
  guint32 bits;

  if (isnan (value) || (double) rounded == value)
    return rounded;

  /* Also turns an overflow to infinity into FLT_MAX, whose lowest bit is already 1. */
  if (fabs ((double) rounded) > fabs (value))
    rounded = nextafterf (rounded, 0.0f);

  memcpy (&bits, &rounded, sizeof bits);
  bits |= 1;
  memcpy (&rounded, &bits, sizeof bits);

  return rounded;
}

/* Reads element @index as a float32 rounded to odd, ready for one more rounding to F16 or
 * BF16 (see round_double_to_odd_float). */
static float
read_element_odd_f32 (const guint8 *data,
                      PeftqDType    dtype,
                      gsize         index)
{
  const guint8 *p = data + index * dtype_info[dtype].size;

  switch (dtype)
    {
    case PEFTQ_DTYPE_F64: { double v; memcpy (&v, p, 8); return round_double_to_odd_float (v); }
    case PEFTQ_DTYPE_I64: { gint64 v; memcpy (&v, p, 8); return int64_to_float (v, TRUE); }
    case PEFTQ_DTYPE_I32: { gint32 v; memcpy (&v, p, 4); return int64_to_float (v, TRUE); }
    default: return read_element_f32 (data, dtype, index);
    }
}

/* Converts @n values from @source to float32. F16 and BF16 convert exactly, and F64,
 * I64 and I32 round to nearest. */
static void
convert_to_f32 (const guint8 *source,
                PeftqDType    dtype,
                float        *target,
                gsize         n)
{
  switch (dtype)
    {
    case PEFTQ_DTYPE_F32:
      memcpy (target, source, n * sizeof (float));
      break;

    case PEFTQ_DTYPE_F16:
      for (gsize i = 0; i < n; i++)
        {
          guint16 bits;
          memcpy (&bits, source + 2 * i, 2);
          target[i] = peftq_f16_to_f32 (GUINT16_FROM_LE (bits));
        }
      break;

    case PEFTQ_DTYPE_BF16:
      for (gsize i = 0; i < n; i++)
        {
          guint16 bits;
          memcpy (&bits, source + 2 * i, 2);
          target[i] = peftq_bf16_to_f32 (GUINT16_FROM_LE (bits));
        }
      break;

    default:
      for (gsize i = 0; i < n; i++)
        target[i] = read_element_f32 (source, dtype, i);
      break;
    }
}

/**
 * peftq_tensor_convert:
 * @self: a tensor
 * @dtype: a floating-point target dtype
 * @error: return location for a #GError
 *
 * Converts @self to a floating-point dtype. Each value is rounded once, to nearest even,
 * keeping signed zeros, subnormals, infinities and NaN. F16 and BF16 widen to F32
 * exactly, so F16 to F32 and back returns the same bits, NaN payloads included. Integer
 * and boolean sources convert by value. Converting to the dtype that @self already has
 * returns @self.
 *
 * Returns: (transfer full): the converted tensor, or `NULL` if @dtype is not a
 *   floating-point type
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_tensor_convert (PeftqTensor  *self,
                      PeftqDType    dtype,
                      GError      **error)
{
  g_autoptr(PeftqTensor) result = NULL;
  const guint8 *source;
  guint8 *target;
  gsize n;

  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), NULL);
  g_return_val_if_fail (dtype_is_valid (dtype), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (dtype == self->dtype)
    return g_object_ref (self);

  if (!peftq_dtype_is_float (dtype))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "Conversion from %s to %s is not supported: the target must be a floating-point dtype",
                   dtype_info[self->dtype].name, dtype_info[dtype].name);
      return NULL;
    }

  result = peftq_tensor_new (dtype, self->shape, self->rank, error);
  if (result == NULL)
    return NULL;

  source = g_bytes_get_data (self->bytes, NULL);
  target = peftq_tensor_get_mutable_data (result);
  n = (gsize) self->n_elements;

  switch (dtype)
    {
    case PEFTQ_DTYPE_F32:
      convert_to_f32 (source, self->dtype, (float *) target, n);
      break;

    case PEFTQ_DTYPE_F64:
      for (gsize i = 0; i < n; i++)
        {
          double value = read_element (source, self->dtype, i);
          memcpy (target + 8 * i, &value, 8);
        }
      break;

    case PEFTQ_DTYPE_F16:
    case PEFTQ_DTYPE_BF16:
      for (gsize i = 0; i < n; i++)
        {
          float value = read_element_odd_f32 (source, self->dtype, i);
          guint16 bits = dtype == PEFTQ_DTYPE_F16 ? peftq_f32_to_f16 (value) : peftq_f32_to_bf16 (value);
          bits = GUINT16_TO_LE (bits);
          memcpy (target + 2 * i, &bits, 2);
        }
      break;

    default:
      g_assert_not_reached ();
    }

  return g_steal_pointer (&result);
}

/**
 * peftq_tensor_to_float32:
 * @self: a tensor
 * @error: return location for a #GError
 *
 * Converts @self to float32, as [method@Peftq.Tensor.convert] does. The result's
 * storage is always aligned for float access, so an F32 tensor that points into a file
 * at an unaligned offset is copied.
 *
 * Returns: (transfer full): a float32 tensor
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_tensor_to_float32 (PeftqTensor  *self,
                         GError      **error)
{
  g_autoptr(PeftqTensor) copy = NULL;
  gconstpointer data;

  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->dtype != PEFTQ_DTYPE_F32)
    return peftq_tensor_convert (self, PEFTQ_DTYPE_F32, error);

  data = g_bytes_get_data (self->bytes, NULL);
  if (((guintptr) data % G_ALIGNOF (float)) == 0)
    return g_object_ref (self);

  copy = peftq_tensor_new (PEFTQ_DTYPE_F32, self->shape, self->rank, error);
  if (copy == NULL)
    return NULL;
  memcpy (peftq_tensor_get_mutable_data (copy), data, g_bytes_get_size (self->bytes));

  return g_steal_pointer (&copy);
}

/**
 * peftq_tensor_to_floats:
 * @self: a tensor
 * @n_values: (out): return location for the number of values
 *
 * Copies the elements of @self into a new float array, converting from any dtype. This
 * suits small tensors and tests; use [method@Peftq.Tensor.get_bytes] for bulk data.
 *
 * Returns: (array length=n_values) (transfer full): the values in row-major order
 *
 * Since: 1.0
 */
float *
peftq_tensor_to_floats (PeftqTensor *self,
                        gsize       *n_values)
{
  float *values;

  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), NULL);
  g_return_val_if_fail (n_values != NULL, NULL);

  values = g_new (float, MAX (self->n_elements, 1));
  convert_to_f32 (g_bytes_get_data (self->bytes, NULL), self->dtype, values, (gsize) self->n_elements);
  *n_values = (gsize) self->n_elements;

  return values;
}

/**
 * peftq_tensor_equal:
 * @self: a tensor
 * @other: another tensor
 *
 * Compares two tensors for identical dtype, shape and bytes. Floats compare bit by bit,
 * so a NaN equals the same NaN and 0.0 differs from -0.0.
 *
 * Returns: `TRUE` if the tensors are identical
 *
 * Since: 1.0
 */
gboolean
peftq_tensor_equal (PeftqTensor *self,
                    PeftqTensor *other)
{
  g_return_val_if_fail (PEFTQ_IS_TENSOR (self), FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (other), FALSE);

  if (self->dtype != other->dtype || self->rank != other->rank)
    return FALSE;

  for (guint axis = 0; axis < self->rank; axis++)
    if (self->shape[axis] != other->shape[axis])
      return FALSE;

  return g_bytes_equal (self->bytes, other->bytes);
}
