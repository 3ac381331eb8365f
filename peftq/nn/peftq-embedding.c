/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-embedding.h"
#include "peftq-module-private.h"
#include "peftq-parallel-private.h"

#include <string.h>

/**
 * PeftqEmbedding:
 *
 * A lookup table, like PyTorch's `nn.Embedding`, exported as the ONNX operator `Gather`.
 *
 * The parameter `weight` has the shape [num_embeddings, embedding_dim]. The input is a
 * tensor of I64 or I32 ids of any shape, and the output appends embedding_dim to it. An
 * id outside [0, num_embeddings) is an error.
 *
 * Since: 1.0
 */
struct _PeftqEmbedding
{
  PeftqModule parent_instance;

  guint num_embeddings;
  guint embedding_dim;
};

G_DEFINE_FINAL_TYPE (PeftqEmbedding, peftq_embedding, PEFTQ_TYPE_MODULE)

typedef struct
{
  const gint64 *ids;
  const float *table;
  float *out;
  gsize dim;
} GatherJob;

static void
gather_rows (gsize    begin,
             gsize    end,
             gpointer user_data)
{
  const GatherJob *job = user_data;

  for (gsize i = begin; i < end; i++)
    memcpy (job->out + i * job->dim, job->table + (gsize) job->ids[i] * job->dim, job->dim * sizeof (float));
}

static PeftqTensor *
peftq_embedding_forward (PeftqModule          *module,
                         PeftqForwardContext  *context,
                         PeftqTensor         **inputs,
                         guint                 n_inputs,
                         GError              **error)
{
  PeftqEmbedding *self = PEFTQ_EMBEDDING (module);
  g_autoptr(PeftqTensor) weight = NULL;
  g_autofree gint64 *ids = NULL;
  g_autofree gint64 *out_shape = NULL;
  PeftqTensor *input;
  PeftqTensor *output;
  const gint64 *shape;
  gconstpointer data;
  PeftqDType dtype;
  guint rank;
  gsize n;
  GatherJob job;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  input = inputs[0];
  dtype = peftq_tensor_get_dtype (input);
  if (dtype != PEFTQ_DTYPE_I64 && dtype != PEFTQ_DTYPE_I32)
    {
      g_autofree char *description = peftq_module_dup_description (module);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_DTYPE_MISMATCH,
                   "The %s takes ids of dtype I64 or I32, not %s",
                   description, peftq_dtype_to_string (dtype));
      return NULL;
    }

  weight = peftq_module_get_effective_parameter (module, "weight", error);
  if (weight == NULL)
    return NULL;
  if (peftq_tensor_get_rank (weight) != 2 ||
      peftq_tensor_get_dim (weight, 0) != self->num_embeddings ||
      peftq_tensor_get_dim (weight, 1) != self->embedding_dim)
    {
      g_autofree char *expected = g_strdup_printf ("[%u, %u]", self->num_embeddings, self->embedding_dim);

      peftq_module_set_shape_error (module, error, "a weight", weight, expected);
      return NULL;
    }

  shape = peftq_tensor_get_shape (input, &rank);
  n = (gsize) peftq_tensor_get_n_elements (input);
  data = peftq_tensor_peek_data (input);
  ids = g_new (gint64, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      if (dtype == PEFTQ_DTYPE_I64)
        memcpy (&ids[i], (const guint8 *) data + 8 * i, 8);
      else
        {
          gint32 v;

          memcpy (&v, (const guint8 *) data + 4 * i, 4);
          ids[i] = v;
        }

      if (ids[i] < 0 || ids[i] >= self->num_embeddings)
        {
          g_autofree char *description = peftq_module_dup_description (module);

          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "The %s got id %" G_GINT64_FORMAT " at index %zu, outside the table of %u entries",
                       description, ids[i], i, self->num_embeddings);
          return NULL;
        }
    }

  out_shape = g_new (gint64, rank + 1);
  memcpy (out_shape, shape, rank * sizeof (gint64));
  out_shape[rank] = self->embedding_dim;
  output = peftq_tensor_new_f32 (out_shape, rank + 1);

  job.ids = ids;
  job.table = peftq_tensor_peek_f32 (weight);
  job.out = peftq_tensor_get_mutable_data (output);
  job.dim = self->embedding_dim;
  peftq_parallel_for (n, MAX (1, 16384 / MAX (job.dim, 1)), gather_rows, &job);

  return output;
}

static const char *
peftq_embedding_get_op_type (PeftqModule *module)
{
  return "Gather";
}

static const char *
peftq_embedding_get_type_name (PeftqModule *module)
{
  return "Embedding";
}

static void
peftq_embedding_class_init (PeftqEmbeddingClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_embedding_forward;
  module_class->get_op_type = peftq_embedding_get_op_type;
  module_class->get_type_name = peftq_embedding_get_type_name;
}

static void
peftq_embedding_init (PeftqEmbedding *self)
{
}

/**
 * peftq_embedding_new:
 * @num_embeddings: the number of rows (the vocabulary size)
 * @embedding_dim: the size of each row
 *
 * Creates an embedding table filled with zeros.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_embedding_new (guint num_embeddings,
                     guint embedding_dim)
{
  PeftqEmbedding *self = g_object_new (PEFTQ_TYPE_EMBEDDING, NULL);
  gint64 shape[2] = { num_embeddings, embedding_dim };
  g_autoptr(PeftqTensor) weight = peftq_tensor_new_f32 (shape, 2);

  self->num_embeddings = num_embeddings;
  self->embedding_dim = embedding_dim;
  peftq_module_register_parameter (PEFTQ_MODULE (self), "weight", weight);
  return PEFTQ_MODULE (self);
}

/**
 * peftq_embedding_get_num_embeddings:
 * @self: an embedding
 *
 * Gets the number of rows of the table.
 *
 * Returns: the number of embeddings
 *
 * Since: 1.0
 */
guint
peftq_embedding_get_num_embeddings (PeftqEmbedding *self)
{
  g_return_val_if_fail (PEFTQ_IS_EMBEDDING (self), 0);

  return self->num_embeddings;
}

/**
 * peftq_embedding_get_embedding_dim:
 * @self: an embedding
 *
 * Gets the size of each row of the table.
 *
 * Returns: the embedding size
 *
 * Since: 1.0
 */
guint
peftq_embedding_get_embedding_dim (PeftqEmbedding *self)
{
  g_return_val_if_fail (PEFTQ_IS_EMBEDDING (self), 0);

  return self->embedding_dim;
}
