/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-matmul.h"
#include "peftq-module-private.h"
#include "peftq-gemm-private.h"
#include "peftq-parallel-private.h"

/**
 * PeftqMatMul:
 *
 * A batched matrix product of its two inputs, exported as the ONNX operator `MatMul`.
 *
 * The inputs have the shapes [..., m, k] and [..., k, n], or [..., n, k] when the module
 * transposes its second input (as attention's q · kᵀ does). The output, [..., m, n], is
 * multiplied by a constant scale, 1 unless set. The batch dimensions must have the same
 * rank. Each batch dimension of the second input equals the first input's, or is 1, or
 * divides it: then batch index i of the first input uses index i / (first / second) of
 * the second, which is grouped-query attention's `repeat_kv`.
 *
 * The type name is `QKMatMul` for a module that transposes its second input and
 * `MatMul` otherwise, the names of the two attention products in AIMET-style model
 * definitions.
 *
 * Since: 1.0
 */
struct _PeftqMatMul
{
  PeftqModule parent_instance;

  gboolean transpose_b;
  float scale;
};

G_DEFINE_FINAL_TYPE (PeftqMatMul, peftq_matmul, PEFTQ_TYPE_MODULE)

#define MAX_BATCH_RANK 6

typedef struct
{
  gboolean transpose_b;
  float scale;
  gsize m, n, k;
  guint batch_rank;
  gint64 batch_a[MAX_BATCH_RANK];
  gint64 batch_b[MAX_BATCH_RANK];
  const float *a;
  const float *b;
  float *out;
} MatMulJob;

/* Each item is one matrix of the output's batch. */
static void
matmul_items (gsize    begin,
              gsize    end,
              gpointer user_data)
{
  const MatMulJob *job = user_data;

  for (gsize item = begin; item < end; item++)
    {
      gsize rest = item;
      gsize b_index = 0;
      gsize b_stride = 1;
      float *out = job->out + item * job->m * job->n;

      /* Map the output's batch index to the second input's, axis by axis from the end. */
      for (guint axis = job->batch_rank; axis > 0; axis--)
        {
          gsize dim_a = (gsize) job->batch_a[axis - 1];
          gsize dim_b = (gsize) job->batch_b[axis - 1];
          gsize index = rest % dim_a;

          rest /= dim_a;
          b_index += (dim_b == 1 ? 0 : index / (dim_a / dim_b)) * b_stride;
          b_stride *= dim_b;
        }

      peftq_gemm_serial (job->transpose_b, job->m, job->n, job->k,
                         job->a + item * job->m * job->k, job->k,
                         job->b + b_index * job->n * job->k, job->transpose_b ? job->k : job->n,
                         0.0f, out, job->n);

      if (job->scale != 1.0f)
        for (gsize i = 0; i < job->m * job->n; i++)
          out[i] *= job->scale;
    }
}

static PeftqTensor *
peftq_matmul_forward (PeftqModule          *module,
                      PeftqForwardContext  *context,
                      PeftqTensor         **inputs,
                      guint                 n_inputs,
                      GError              **error)
{
  PeftqMatMul *self = PEFTQ_MATMUL (module);
  g_autoptr(PeftqTensor) a = NULL;
  g_autoptr(PeftqTensor) b = NULL;
  gint64 out_shape[MAX_BATCH_RANK + 2];
  const gint64 *shape_a;
  const gint64 *shape_b;
  guint rank_a;
  guint rank_b;
  gsize n_items = 1;
  MatMulJob job = { 0 };
  PeftqTensor *output;

  if (!peftq_module_check_n_inputs (module, n_inputs, 2, error))
    return NULL;

  a = peftq_tensor_ensure_f32 (inputs[0], "The first input of a MatMul module", error);
  if (a == NULL)
    return NULL;
  b = peftq_tensor_ensure_f32 (inputs[1], "The second input of a MatMul module", error);
  if (b == NULL)
    return NULL;

  shape_a = peftq_tensor_get_shape (a, &rank_a);
  shape_b = peftq_tensor_get_shape (b, &rank_b);
  if (rank_a < 2 || rank_a > MAX_BATCH_RANK + 2)
    {
      peftq_module_set_shape_error (module, error, "a first input", a, "a rank from 2 to 8");
      return NULL;
    }

  job.transpose_b = self->transpose_b;
  job.scale = self->scale;
  job.m = (gsize) shape_a[rank_a - 2];
  job.k = (gsize) shape_a[rank_a - 1];
  job.batch_rank = rank_a - 2;

  if (rank_b == rank_a)
    {
      gsize k_b = (gsize) shape_b[rank_b - (self->transpose_b ? 1 : 2)];

      job.n = (gsize) shape_b[rank_b - (self->transpose_b ? 2 : 1)];
      if (k_b != job.k)
        rank_b = 0;
      for (guint axis = 0; rank_b != 0 && axis < job.batch_rank; axis++)
        {
          gint64 dim_a = shape_a[axis];
          gint64 dim_b = shape_b[axis];

          if (dim_b != dim_a && dim_b != 1 && (dim_b == 0 || dim_a % dim_b != 0))
            rank_b = 0;
          job.batch_a[axis] = dim_a;
          job.batch_b[axis] = dim_b;
          out_shape[axis] = dim_a;
          n_items *= (gsize) dim_a;
        }
    }

  if (rank_b != rank_a)
    {
      g_autofree char *first = peftq_tensor_format_shape (a);
      g_autofree char *expected = g_strdup_printf ("a shape that fits the first input's %s as [..., %s]",
                                                   first, self->transpose_b ? "n, k" : "k, n");

      peftq_module_set_shape_error (module, error, "a second input", b, expected);
      return NULL;
    }

  out_shape[rank_a - 2] = (gint64) job.m;
  out_shape[rank_a - 1] = (gint64) job.n;
  output = peftq_tensor_new_f32 (out_shape, rank_a);

  job.a = peftq_tensor_peek_f32 (a);
  job.b = peftq_tensor_peek_f32 (b);
  job.out = peftq_tensor_get_mutable_data (output);
  if (job.m * job.n > 0)
    peftq_parallel_for (n_items, MAX (1, 65536 / MAX (job.m * job.n * MAX (job.k, 1), 1)),
                        matmul_items, &job);

  return output;
}

static const char *
peftq_matmul_get_op_type (PeftqModule *module)
{
  return "MatMul";
}

static const char *
peftq_matmul_get_type_name (PeftqModule *module)
{
  return PEFTQ_MATMUL (module)->transpose_b ? "QKMatMul" : "MatMul";
}

static void
peftq_matmul_class_init (PeftqMatMulClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_matmul_forward;
  module_class->get_op_type = peftq_matmul_get_op_type;
  module_class->get_type_name = peftq_matmul_get_type_name;
}

static void
peftq_matmul_init (PeftqMatMul *self)
{
  self->scale = 1.0f;
}

/**
 * peftq_matmul_new:
 * @transpose_b: whether the second input is given as [..., n, k]
 * @scale: the constant that multiplies the product, such as 1/sqrt(head_dim)
 *
 * Creates a batched matrix product.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_matmul_new (gboolean transpose_b,
                  float    scale)
{
  PeftqMatMul *self = g_object_new (PEFTQ_TYPE_MATMUL, NULL);

  self->transpose_b = transpose_b;
  self->scale = scale;
  return PEFTQ_MODULE (self);
}

/**
 * peftq_matmul_get_transpose_b:
 * @self: a matrix product module
 *
 * Checks whether the second input is given transposed, as [..., n, k].
 *
 * Returns: `TRUE` if the second input is transposed
 *
 * Since: 1.0
 */
gboolean
peftq_matmul_get_transpose_b (PeftqMatMul *self)
{
  g_return_val_if_fail (PEFTQ_IS_MATMUL (self), FALSE);

  return self->transpose_b;
}

/**
 * peftq_matmul_get_scale:
 * @self: a matrix product module
 *
 * Gets the constant that multiplies the product.
 *
 * Returns: the scale
 *
 * Since: 1.0
 */
float
peftq_matmul_get_scale (PeftqMatMul *self)
{
  g_return_val_if_fail (PEFTQ_IS_MATMUL (self), 1.0f);

  return self->scale;
}
