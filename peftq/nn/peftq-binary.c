/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-binary-private.h"
#include "peftq-module-private.h"

#include <string.h>

static gboolean
broadcast_shapes (PeftqModule   *self,
                  PeftqTensor   *a,
                  PeftqTensor   *b,
                  gint64        *a_shape,
                  gint64        *b_shape,
                  gint64        *out_shape,
                  guint         *out_rank,
                  GError       **error)
{
  guint rank_a;
  guint rank_b;
  const gint64 *shape_a = peftq_tensor_get_shape (a, &rank_a);
  const gint64 *shape_b = peftq_tensor_get_shape (b, &rank_b);
  guint rank = MAX (MAX (rank_a, rank_b), 1);

  if (rank > PEFTQ_MAX_BROADCAST_RANK)
    {
      g_autofree char *description = peftq_module_dup_description (self);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "The %s supports inputs of rank %d at most, not %u",
                   description, PEFTQ_MAX_BROADCAST_RANK, rank);
      return FALSE;
    }

  for (guint axis = 0; axis < rank; axis++)
    {
      guint from_end = rank - axis;

      a_shape[axis] = from_end <= rank_a ? shape_a[rank_a - from_end] : 1;
      b_shape[axis] = from_end <= rank_b ? shape_b[rank_b - from_end] : 1;
      if (a_shape[axis] != b_shape[axis] && a_shape[axis] != 1 && b_shape[axis] != 1)
        {
          g_autofree char *expected = NULL;
          g_autofree char *first = peftq_tensor_format_shape (a);

          expected = g_strdup_printf ("a shape that broadcasts with the first input's %s", first);
          peftq_module_set_shape_error (self, error, "a second input", b, expected);
          return FALSE;
        }
      out_shape[axis] = a_shape[axis] == 1 ? b_shape[axis] : a_shape[axis];
    }

  *out_rank = MAX (rank_a, rank_b);
  return TRUE;
}

PeftqTensor *
peftq_binary_module_forward (PeftqModule    *self,
                             PeftqBinaryOp   op,
                             PeftqTensor   **inputs,
                             guint           n_inputs,
                             GError        **error)
{
  g_autoptr(PeftqTensor) a = NULL;
  g_autoptr(PeftqTensor) b = NULL;
  PeftqTensor *out;
  gint64 a_shape[PEFTQ_MAX_BROADCAST_RANK];
  gint64 b_shape[PEFTQ_MAX_BROADCAST_RANK];
  gint64 out_shape[PEFTQ_MAX_BROADCAST_RANK];
  guint out_rank;
  guint rank;
  guint64 n_a;
  guint64 n_b;

  if (!peftq_module_check_n_inputs (self, n_inputs, 2, error))
    return NULL;

  a = peftq_tensor_ensure_f32 (inputs[0], "The first input", error);
  if (a == NULL)
    return NULL;
  b = peftq_tensor_ensure_f32 (inputs[1], "The second input", error);
  if (b == NULL)
    return NULL;

  if (!broadcast_shapes (self, a, b, a_shape, b_shape, out_shape, &out_rank, error))
    return NULL;

  rank = MAX (out_rank, 1);
  out = peftq_tensor_new_f32 (out_shape, out_rank);
  n_a = peftq_tensor_get_n_elements (a);
  n_b = peftq_tensor_get_n_elements (b);

  if (memcmp (a_shape, b_shape, rank * sizeof (gint64)) == 0)
    peftq_binary_same (op, peftq_tensor_peek_f32 (a), peftq_tensor_peek_f32 (b),
                       peftq_tensor_get_mutable_data (out), n_a);
  else if (n_b == 1 && memcmp (a_shape, out_shape, rank * sizeof (gint64)) == 0)
    peftq_binary_scalar (op, peftq_tensor_peek_f32 (a), peftq_tensor_peek_f32 (b)[0],
                         peftq_tensor_get_mutable_data (out), n_a);
  else if (n_a == 1 && memcmp (b_shape, out_shape, rank * sizeof (gint64)) == 0)
    /* Both operations commute, so a scalar first operand takes the same path. */
    peftq_binary_scalar (op, peftq_tensor_peek_f32 (b), peftq_tensor_peek_f32 (a)[0],
                         peftq_tensor_get_mutable_data (out), n_b);
  else
    peftq_binary_broadcast (op, peftq_tensor_peek_f32 (a), a_shape,
                            peftq_tensor_peek_f32 (b), b_shape,
                            peftq_tensor_get_mutable_data (out), out_shape, rank);

  return out;
}
