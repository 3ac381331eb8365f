/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-onnx-export.h"
#include "peftq-onnx-export-private.h"
#include "peftq-onnx-builder-private.h"
#include "peftq-onnx-names-private.h"
#include "peftq-forward-context-private.h"
#include "peftq-module-private.h"
#include "peftq-error.h"
#include "peftq-activation.h"
#include "peftq-add.h"
#include "peftq-attention.h"
#include "peftq-conv1d.h"
#include "peftq-embedding.h"
#include "peftq-layer-norm.h"
#include "peftq-linear.h"
#include "peftq-matmul.h"
#include "peftq-multiply.h"
#include "peftq-rms-norm.h"
#include "peftq-rotary-embedding.h"
#include "peftq-softmax.h"
#include "peftq-adapter.h"
#include "peftq-lora-layer.h"
#include "peftq-peft-lora-layer.h"

#include <math.h>
#include <string.h>

/* How the export works: the model's own forward pass runs once on the dummy input with a
 * recorder installed in its context. Every module reports its inputs and its output, and
 * tensors are identified by their object. Each leaf module then becomes ONNX nodes, and
 * the blocks that compute tensors between their children (splitting heads, the causal
 * mask, position ids) get nodes for those steps. Shapes that depend on the batch size or
 * the sequence length are read at run time (Shape, Range, Reshape with 0 to copy an
 * axis), never copied from the dummy input. The nodes are then sorted topologically and
 * named after their modules.
 *
 * NOTE: the recording keeps every intermediate tensor of the traced pass alive until the
 * export ends, so a short dummy input keeps the memory use low. */

typedef struct
{
  PeftqModule *module;
  GPtrArray *inputs;   /* of PeftqTensor */
  PeftqTensor *output;
} TraceEvent;

static void
trace_event_free (gpointer data)
{
  TraceEvent *event = data;

  g_object_unref (event->module);
  g_ptr_array_unref (event->inputs);
  g_object_unref (event->output);
  g_free (event);
}

typedef enum
{
  ATTR_INT,
  ATTR_FLOAT,
  ATTR_INTS,
} AttrKind;

typedef struct
{
  const char *name;
  AttrKind kind;
  gint64 int_value;
  float float_value;
  gint64 *ints;
  gsize n_ints;
} Attr;

typedef struct
{
  PeftqModule *module;     /* the module whose node this is */
  const char *module_name; /* the name that node names start with */
  const char *op_type;
  GPtrArray *inputs;       /* of interned strings */
  const char *output;
  GArray *attrs;           /* of Attr */
  PeftqTensor *value;      /* the value of a Constant node, or NULL */
  guint index;             /* in the trace order */
} ExportNode;

static void
export_node_free (gpointer data)
{
  ExportNode *node = data;

  for (guint i = 0; i < node->attrs->len; i++)
    g_free (g_array_index (node->attrs, Attr, i).ints);
  g_array_unref (node->attrs);
  g_clear_object (&node->value);
  g_ptr_array_unref (node->inputs);
  g_free (node);
}

typedef struct
{
  const char *name;     /* initializer name */
  PeftqModule *owner;   /* the first module that has the parameter */
  const char *param;
  gboolean added;
} ParamInfo;

typedef struct
{
  PeftqModule *root;
  PeftqOnnxBuilder *builder;
  GStringChunk *strings;
  GPtrArray *events;         /* of TraceEvent */
  GHashTable *tensor_names;  /* PeftqTensor -> interned name */
  GHashTable *names_in_use;  /* every tensor name handed out */
  GHashTable *produced;      /* names with a producer */
  GHashTable *params;        /* raw parameter PeftqTensor -> ParamInfo */
  GHashTable *last_events;   /* PeftqModule -> its latest TraceEvent */
  GHashTable *constants;     /* module and value -> output of a Constant node */
  GPtrArray *nodes;          /* of ExportNode */
  guint n_anonymous;
} Exporter;

static void
record_event (PeftqModule  *module,
              PeftqTensor **inputs,
              guint         n_inputs,
              PeftqTensor  *output,
              gpointer      user_data)
{
  Exporter *self = user_data;
  TraceEvent *event = g_new0 (TraceEvent, 1);

  event->module = g_object_ref (module);
  event->inputs = g_ptr_array_new_full (n_inputs, g_object_unref);
  for (guint i = 0; i < n_inputs; i++)
    g_ptr_array_add (event->inputs, g_object_ref (inputs[i]));
  event->output = g_object_ref (output);
  g_ptr_array_add (self->events, event);
}

static const char *
intern (Exporter   *self,
        const char *text)
{
  return g_string_chunk_insert_const (self->strings, text);
}

/* Returns the name that node names of @module start with: its qualified name, or its
 * type name for the root. */
static const char *
module_node_prefix (Exporter    *self,
                    PeftqModule *module)
{
  g_autofree char *qualified = peftq_module_dup_qualified_name (module);

  if (*qualified == '\0')
    return intern (self, peftq_module_get_type_name (module));

  return intern (self, qualified);
}

/* Returns an unused tensor name made from @base. */
static const char *
claim_tensor_name (Exporter   *self,
                   const char *base)
{
  g_autofree char *candidate = g_strdup (base);
  const char *name;

  for (guint k = 1; g_hash_table_contains (self->names_in_use, candidate); k++)
    {
      g_free (candidate);
      candidate = g_strdup_printf ("%s_%u", base, k);
    }

  name = intern (self, candidate);
  g_hash_table_add (self->names_in_use, (gpointer) name);
  return name;
}

/* Returns a new intermediate tensor name for an @op_type node of @module, in the style
 * of PyTorch's exporter: `/model/layers.0/mlp/act_fn/Sigmoid_output_0`. */
static const char *
new_tensor (Exporter    *self,
            PeftqModule *module,
            const char  *op_type)
{
  g_autofree char *qualified = peftq_module_dup_qualified_name (module);
  g_autofree char *base = g_strdup_printf ("/%s%s%s_output_0", qualified,
                                           *qualified != '\0' ? "/" : "", op_type);

  return claim_tensor_name (self, base);
}

/* Returns the name of a traced tensor. A tensor seen for the first time gets a name made from
 * @module and @op_type, or an anonymous one when @module is NULL. */
static const char *
tensor_name (Exporter    *self,
             PeftqTensor *tensor,
             PeftqModule *module,
             const char  *op_type)
{
  const char *name = g_hash_table_lookup (self->tensor_names, tensor);

  if (name != NULL)
    return name;

  if (module != NULL)
    {
      name = new_tensor (self, module, op_type);
    }
  else
    {
      g_autofree char *base = g_strdup_printf ("/traced_%u", self->n_anonymous++);

      name = claim_tensor_name (self, base);
    }

  g_hash_table_insert (self->tensor_names, tensor, (gpointer) name);
  return name;
}

/* Adds a node of @module that computes @output from the NULL-terminated inputs. */
static ExportNode *
emit (Exporter    *self,
      PeftqModule *module,
      const char  *op_type,
      const char  *output,
      ...)
{
  ExportNode *node = g_new0 (ExportNode, 1);
  const char *input;
  va_list args;

  node->module = module;
  node->module_name = module_node_prefix (self, module);
  node->op_type = op_type;
  node->inputs = g_ptr_array_new ();
  node->output = output;
  node->attrs = g_array_new (FALSE, TRUE, sizeof (Attr));

  va_start (args, output);
  while ((input = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (node->inputs, (gpointer) input);
  va_end (args);

  g_hash_table_add (self->produced, (gpointer) output);
  node->index = self->nodes->len;
  g_ptr_array_add (self->nodes, node);
  return node;
}

/* Emits a node whose output is a new intermediate tensor, and returns that name. */
#define EMIT_TMP(self, module, op, ...) \
  (emit ((self), (module), (op), new_tensor ((self), (module), (op)), __VA_ARGS__, NULL)->output)

static void
attr_int (ExportNode *node,
          const char *name,
          gint64      value)
{
  Attr attr = { .name = name, .kind = ATTR_INT, .int_value = value };

  g_array_append_val (node->attrs, attr);
}

static void
attr_float (ExportNode *node,
            const char *name,
            float       value)
{
  Attr attr = { .name = name, .kind = ATTR_FLOAT, .float_value = value };

  g_array_append_val (node->attrs, attr);
}

static void
attr_ints (ExportNode   *node,
           const char   *name,
           const gint64 *values,
           gsize         n_values)
{
  Attr attr = { .name = name, .kind = ATTR_INTS, .n_ints = n_values };

  attr.ints = g_memdup2 (values, n_values * sizeof (gint64));
  g_array_append_val (node->attrs, attr);
}

/* Returns the output of a Constant node of @module, shared by the nodes of that module that use the same
 * values. Constants are node attributes, which stay inside the model file even when the
 * initializers go to external data, so that shape inference can read them. */
static const char *
const_tensor (Exporter     *self,
              PeftqModule  *module,
              PeftqDType    dtype,
              gconstpointer values,
              gsize         n_values,
              gboolean      scalar)
{
  g_autoptr(GString) key = g_string_new (module_node_prefix (self, module));
  g_autoptr(PeftqTensor) tensor = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gint64 shape[1] = { (gint64) n_values };
  gsize element_size = dtype == PEFTQ_DTYPE_I64 ? sizeof (gint64) : sizeof (float);
  const char *output;
  ExportNode *node;

  g_string_append (key, dtype == PEFTQ_DTYPE_I64 ? "|int64" : "|float");
  g_string_append_c (key, scalar ? '_' : '[');
  for (gsize i = 0; i < n_values; i++)
    {
      if (i > 0)
        g_string_append_c (key, ',');
      if (dtype == PEFTQ_DTYPE_I64)
        g_string_append_printf (key, "%" G_GINT64_FORMAT, ((const gint64 *) values)[i]);
      else
        g_string_append_printf (key, "%.9g", (double) ((const float *) values)[i]);
    }

  output = g_hash_table_lookup (self->constants, key->str);
  if (output != NULL)
    return output;

  bytes = g_bytes_new (values, n_values * element_size);
  tensor = peftq_tensor_new_from_bytes (dtype, shape, scalar ? 0 : 1, bytes, NULL);
  g_assert (tensor != NULL);
  node = emit (self, module, "Constant", new_tensor (self, module, "Constant"), NULL);
  node->value = g_steal_pointer (&tensor);
  g_hash_table_insert (self->constants, g_strdup (key->str), (gpointer) node->output);
  return node->output;
}

static const char *
const_ints (Exporter     *self,
            PeftqModule  *module,
            const gint64 *values,
            gsize         n_values)
{
  return const_tensor (self, module, PEFTQ_DTYPE_I64, values, n_values, FALSE);
}

static const char *
const_int_scalar (Exporter    *self,
                  PeftqModule *module,
                  gint64       value)
{
  return const_tensor (self, module, PEFTQ_DTYPE_I64, &value, 1, TRUE);
}

static const char *
const_float (Exporter    *self,
             PeftqModule *module,
             float        value)
{
  return const_tensor (self, module, PEFTQ_DTYPE_F32, &value, 1, TRUE);
}

/* Returns the initializer of parameter @param of @module, added on first use with the value that
 * the forward pass uses. */
static const char *
param_input (Exporter     *self,
             PeftqModule  *module,
             const char   *param,
             GError      **error)
{
  PeftqTensor *raw = peftq_module_get_parameter (module, param);
  ParamInfo *info;
  g_autoptr(PeftqTensor) value = NULL;

  if (raw == NULL)
    {
      g_autofree char *description = peftq_module_dup_description (module);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "The %s has no value for its parameter “%s”", description, param);
      return NULL;
    }

  info = g_hash_table_lookup (self->params, raw);
  g_assert (info != NULL);
  if (info->added)
    return info->name;

  value = peftq_module_get_effective_parameter (info->owner, info->param, error);
  if (value == NULL)
    return NULL;

  peftq_onnx_builder_add_initializer (self->builder, info->name, value);
  g_hash_table_add (self->produced, (gpointer) info->name);
  g_hash_table_add (self->names_in_use, (gpointer) info->name);
  info->added = TRUE;
  return info->name;
}

/* Names every parameter of the tree after the first module that has it, in
 * named_parameters() order, so a tied parameter is one initializer. */
static void
collect_parameters (Exporter *self)
{
  g_autoptr(GPtrArray) modules = peftq_module_list_modules (self->root);

  for (guint i = 0; i < modules->len; i++)
    {
      PeftqModule *module = g_ptr_array_index (modules, i);
      g_autofree char *qualified = peftq_module_dup_qualified_name (module);
      g_auto(GStrv) names = peftq_module_list_parameter_names (module);

      for (guint j = 0; names[j] != NULL; j++)
        {
          PeftqTensor *raw = peftq_module_get_parameter (module, names[j]);
          ParamInfo *info;
          g_autofree char *full = NULL;

          if (raw == NULL || g_hash_table_contains (self->params, raw))
            continue;

          full = *qualified != '\0' ? g_strconcat (qualified, ".", names[j], NULL) : g_strdup (names[j]);
          info = g_new0 (ParamInfo, 1);
          info->name = intern (self, full);
          info->owner = module;
          info->param = intern (self, names[j]);
          g_hash_table_insert (self->params, raw, info);
        }
    }
}

/* Names the scaling tensor of every adapter of every AIMET LoRA layer
 * `<mul_scale path>.scaling`, before the trace is turned into nodes. */
static void
name_lora_scalings (Exporter *self)
{
  g_autoptr(GPtrArray) modules = peftq_module_list_modules (self->root);

  for (guint i = 0; i < modules->len; i++)
    {
      PeftqModule *module = g_ptr_array_index (modules, i);

      if (!PEFTQ_IS_LORA_LAYER (module))
        continue;

      for (guint j = 0; j < peftq_lora_layer_get_n_adapters (PEFTQ_LORA_LAYER (module)); j++)
        {
          PeftqTensor *scaling = peftq_lora_layer_get_scaling_tensor (PEFTQ_LORA_LAYER (module), j);
          PeftqModule *mul_scale = peftq_lora_layer_get_mul_scale (PEFTQ_LORA_LAYER (module), j);
          g_autofree char *qualified = peftq_module_dup_qualified_name (mul_scale);
          g_autofree char *base = g_strconcat (qualified, ".scaling", NULL);

          if (!g_hash_table_contains (self->tensor_names, scaling))
            g_hash_table_insert (self->tensor_names, scaling, (gpointer) claim_tensor_name (self, base));
        }
    }
}

static const char *
input_name (Exporter   *self,
            TraceEvent *event,
            guint       index)
{
  return tensor_name (self, g_ptr_array_index (event->inputs, index), NULL, NULL);
}

static const char *
output_name (Exporter   *self,
             TraceEvent *event,
             const char *op_type)
{
  return tensor_name (self, event->output, event->module, op_type);
}

static gboolean
check_n_inputs (TraceEvent  *event,
                guint        expected,
                GError     **error)
{
  return peftq_module_check_n_inputs (event->module, event->inputs->len, expected, error);
}

/* Leaf modules. */

static gboolean
export_linear (Exporter    *self,
               TraceEvent  *event,
               GError     **error)
{
  PeftqModule *module = event->module;
  const char *weight;
  const char *transposed;
  const char *product;
  ExportNode *node;
  gint64 perm[2] = { 1, 0 };

  if (!check_n_inputs (event, 1, error) ||
      (weight = param_input (self, module, "weight", error)) == NULL)
    return FALSE;

  node = emit (self, module, "Transpose", new_tensor (self, module, "Transpose"), weight, NULL);
  attr_ints (node, "perm", perm, 2);
  transposed = node->output;

  if (!peftq_linear_get_has_bias (PEFTQ_LINEAR (module)))
    {
      emit (self, module, "MatMul", output_name (self, event, "MatMul"), input_name (self, event, 0), transposed, NULL);
      return TRUE;
    }

  {
    const char *bias = param_input (self, module, "bias", error);

    if (bias == NULL)
      return FALSE;
    product = EMIT_TMP (self, module, "MatMul", input_name (self, event, 0), transposed);
    emit (self, module, "Add", output_name (self, event, "Add"), product, bias, NULL);
  }
  return TRUE;
}

static gboolean
export_conv1d (Exporter    *self,
               TraceEvent  *event,
               GError     **error)
{
  PeftqModule *module = event->module;
  const char *weight;
  const char *bias;
  const char *product;

  if (!check_n_inputs (event, 1, error) ||
      (weight = param_input (self, module, "weight", error)) == NULL ||
      (bias = param_input (self, module, "bias", error)) == NULL)
    return FALSE;

  product = EMIT_TMP (self, module, "MatMul", input_name (self, event, 0), weight);
  emit (self, module, "Add", output_name (self, event, "Add"), product, bias, NULL);
  return TRUE;
}

static gboolean
export_embedding (Exporter    *self,
                  TraceEvent  *event,
                  GError     **error)
{
  const char *weight;
  ExportNode *node;

  if (!check_n_inputs (event, 1, error) ||
      (weight = param_input (self, event->module, "weight", error)) == NULL)
    return FALSE;

  node = emit (self, event->module, "Gather", output_name (self, event, "Gather"),
               weight, input_name (self, event, 0), NULL);
  attr_int (node, "axis", 0);
  return TRUE;
}

static gboolean
export_rms_norm (Exporter    *self,
                 TraceEvent  *event,
                 GError     **error)
{
  PeftqModule *module = event->module;
  const char *weight;
  const char *x;
  const char *squares;
  const char *mean;
  const char *shifted;
  const char *root;
  const char *inverse;
  const char *normalized;
  ExportNode *node;
  gint64 last_axis = -1;

  if (!check_n_inputs (event, 1, error) ||
      (weight = param_input (self, module, "weight", error)) == NULL)
    return FALSE;

  /* weight · (x · 1 / sqrt (mean (x²) + eps)), in the order of peftq's kernel. */
  x = input_name (self, event, 0);
  squares = EMIT_TMP (self, module, "Mul", x, x);
  node = emit (self, module, "ReduceMean", new_tensor (self, module, "ReduceMean"), squares, NULL);
  attr_ints (node, "axes", &last_axis, 1);
  attr_int (node, "keepdims", 1);
  mean = node->output;
  shifted = EMIT_TMP (self, module, "Add", mean, const_float (self, module, peftq_rms_norm_get_eps (PEFTQ_RMS_NORM (module))));
  root = EMIT_TMP (self, module, "Sqrt", shifted);
  inverse = EMIT_TMP (self, module, "Reciprocal", root);
  normalized = EMIT_TMP (self, module, "Mul", x, inverse);
  emit (self, module, "Mul", output_name (self, event, "Mul"), weight, normalized, NULL);
  return TRUE;
}

static gboolean
export_layer_norm (Exporter    *self,
                   TraceEvent  *event,
                   GError     **error)
{
  PeftqModule *module = event->module;
  const char *weight;
  const char *bias = "";
  ExportNode *node;

  if (!check_n_inputs (event, 1, error) ||
      (weight = param_input (self, module, "weight", error)) == NULL)
    return FALSE;
  if (peftq_module_has_parameter (module, "bias") &&
      (bias = param_input (self, module, "bias", error)) == NULL)
    return FALSE;

  node = emit (self, module, "LayerNormalization", output_name (self, event, "LayerNormalization"),
               input_name (self, event, 0), weight, *bias != '\0' ? bias : NULL, NULL);
  attr_int (node, "axis", -1);
  attr_float (node, "epsilon", peftq_layer_norm_get_eps (PEFTQ_LAYER_NORM (module)));
  return TRUE;
}

static gboolean
export_activation (Exporter    *self,
                   TraceEvent  *event,
                   GError     **error)
{
  PeftqModule *module = event->module;
  const char *x;

  if (!check_n_inputs (event, 1, error))
    return FALSE;
  x = input_name (self, event, 0);

  switch (peftq_activation_get_kind (PEFTQ_ACTIVATION (module)))
    {
    case PEFTQ_ACTIVATION_KIND_SILU:
      {
        const char *gate = EMIT_TMP (self, module, "Sigmoid", x);

        emit (self, module, "Mul", output_name (self, event, "Mul"), x, gate, NULL);
      }
      break;

    case PEFTQ_ACTIVATION_KIND_GELU:
      {
        /* 0.5 x (1 + erf (x / sqrt 2)); opset 17 has no Gelu operator. */
        const char *scaled = EMIT_TMP (self, module, "Mul", x, const_float (self, module, 0.70710678118654752f));
        const char *erf = EMIT_TMP (self, module, "Erf", scaled);
        const char *shifted = EMIT_TMP (self, module, "Add", erf, const_float (self, module, 1.0f));
        const char *half = EMIT_TMP (self, module, "Mul", x, const_float (self, module, 0.5f));

        emit (self, module, "Mul", output_name (self, event, "Mul"), half, shifted, NULL);
      }
      break;

    case PEFTQ_ACTIVATION_KIND_GELU_TANH:
      {
        /* 0.5 x (1 + tanh (sqrt (2/π) (x + 0.044715 x³))) */
        const char *square = EMIT_TMP (self, module, "Mul", x, x);
        const char *cube = EMIT_TMP (self, module, "Mul", square, x);
        const char *cubic = EMIT_TMP (self, module, "Mul", cube, const_float (self, module, 0.044715f));
        const char *sum = EMIT_TMP (self, module, "Add", x, cubic);
        const char *inner = EMIT_TMP (self, module, "Mul", sum, const_float (self, module, 0.7978845608028654f));
        const char *tanh = EMIT_TMP (self, module, "Tanh", inner);
        const char *shifted = EMIT_TMP (self, module, "Add", tanh, const_float (self, module, 1.0f));
        const char *half = EMIT_TMP (self, module, "Mul", x, const_float (self, module, 0.5f));

        emit (self, module, "Mul", output_name (self, event, "Mul"), half, shifted, NULL);
      }
      break;

    case PEFTQ_ACTIVATION_KIND_RELU:
      emit (self, module, "Relu", output_name (self, event, "Relu"), x, NULL);
      break;

    default:
      g_assert_not_reached ();
    }

  return TRUE;
}

static gboolean
export_binary (Exporter    *self,
               TraceEvent  *event,
               const char  *op_type,
               GError     **error)
{
  if (!check_n_inputs (event, 2, error))
    return FALSE;

  emit (self, event->module, op_type, output_name (self, event, op_type),
        input_name (self, event, 0), input_name (self, event, 1), NULL);
  return TRUE;
}

/* Repeats @b along the batch axes where the first input has a multiple of its size,
 * each slice repeated in place, as grouped-query attention's repeat_kv does. */
static const char *
repeat_groups (Exporter    *self,
               PeftqModule *module,
               PeftqTensor *a,
               PeftqTensor *b,
               const char  *name)
{
  guint rank = peftq_tensor_get_rank (b);

  for (guint axis = 0; axis + 2 < rank; axis++)
    {
      gint64 dim_a = peftq_tensor_get_dim (a, axis);
      gint64 dim_b = peftq_tensor_get_dim (b, axis);
      g_autofree gint64 *expand = NULL;
      gint64 unsqueeze_axis = (gint64) axis + 1;
      gint64 starts_head[1] = { 0 };
      gint64 ends_head[1] = { axis };
      gint64 starts_tail[1] = { axis + 1 };
      gint64 ends_tail[1] = { G_MAXINT64 };
      gint64 merged[1] = { dim_a };
      const char *unsqueezed;
      const char *expanded;
      const char *shape;
      const char *head;
      const char *tail;
      const char *target;
      ExportNode *node;

      if (dim_b == dim_a || dim_b == 1)
        continue;

      /* [..., g, ...] -> [..., g, 1, ...] -> [..., g, r, ...] -> [..., g · r, ...] */
      expand = g_new (gint64, rank + 1);
      for (guint i = 0; i <= rank; i++)
        expand[i] = 1;
      expand[axis + 1] = dim_a / dim_b;

      unsqueezed = EMIT_TMP (self, module, "Unsqueeze", name, const_ints (self, module, &unsqueeze_axis, 1));
      expanded = EMIT_TMP (self, module, "Expand", unsqueezed, const_ints (self, module, expand, rank + 1));
      shape = EMIT_TMP (self, module, "Shape", name);
      head = EMIT_TMP (self, module, "Slice", shape, const_ints (self, module, starts_head, 1), const_ints (self, module, ends_head, 1));
      tail = EMIT_TMP (self, module, "Slice", shape, const_ints (self, module, starts_tail, 1), const_ints (self, module, ends_tail, 1));
      node = emit (self, module, "Concat", new_tensor (self, module, "Concat"),
                   head, const_ints (self, module, merged, 1), tail, NULL);
      attr_int (node, "axis", 0);
      target = node->output;
      name = EMIT_TMP (self, module, "Reshape", expanded, target);
    }

  return name;
}

static gboolean
export_matmul (Exporter    *self,
               TraceEvent  *event,
               GError     **error)
{
  PeftqModule *module = event->module;
  PeftqMatMul *matmul = PEFTQ_MATMUL (module);
  PeftqTensor *a;
  PeftqTensor *b;
  const char *second;
  float scale = peftq_matmul_get_scale (matmul);

  if (!check_n_inputs (event, 2, error))
    return FALSE;
  a = g_ptr_array_index (event->inputs, 0);
  b = g_ptr_array_index (event->inputs, 1);

  second = repeat_groups (self, module, a, b, input_name (self, event, 1));
  if (peftq_matmul_get_transpose_b (matmul))
    {
      guint rank = peftq_tensor_get_rank (b);
      g_autofree gint64 *perm = g_new (gint64, rank);
      ExportNode *node;

      for (guint i = 0; i < rank; i++)
        perm[i] = i;
      perm[rank - 2] = rank - 1;
      perm[rank - 1] = rank - 2;
      node = emit (self, module, "Transpose", new_tensor (self, module, "Transpose"), second, NULL);
      attr_ints (node, "perm", perm, rank);
      second = node->output;
    }

  if (scale == 1.0f)
    {
      emit (self, module, "MatMul", output_name (self, event, "MatMul"), input_name (self, event, 0), second, NULL);
    }
  else
    {
      const char *product = EMIT_TMP (self, module, "MatMul", input_name (self, event, 0), second);

      emit (self, module, "Mul", output_name (self, event, "Mul"), product, const_float (self, module, scale), NULL);
    }

  return TRUE;
}

static gboolean
export_softmax (Exporter    *self,
                TraceEvent  *event,
                GError     **error)
{
  PeftqModule *module = event->module;
  const char *x = input_name (self, event, 0);
  ExportNode *node;

  if (event->inputs->len != 1 && !check_n_inputs (event, 2, error))
    return FALSE;

  if (event->inputs->len == 2)
    x = EMIT_TMP (self, module, "Add", x, input_name (self, event, 1));

  node = emit (self, module, "Softmax", output_name (self, event, "Softmax"), x, NULL);
  attr_int (node, "axis", -1);
  return TRUE;
}

/* Emits the positions 0 … T-1 (int64, [T]) for the length of axis @axis of @x. The
 * graph always uses these positions and the plain causal mask: the positions and the
 * attention mask of a forward context are not graph inputs. */
static const char *
emit_positions (Exporter    *self,
                PeftqModule *module,
                const char  *x,
                gint64       axis)
{
  const char *length;
  const char *scalar;
  ExportNode *node;

  node = emit (self, module, "Shape", new_tensor (self, module, "Shape"), x, NULL);
  attr_int (node, "start", axis);
  attr_int (node, "end", axis + 1);
  length = node->output;
  scalar = EMIT_TMP (self, module, "Squeeze", length);
  return EMIT_TMP (self, module, "Range", const_int_scalar (self, module, 0), scalar, const_int_scalar (self, module, 1));
}

static const char *
emit_slice (Exporter    *self,
            PeftqModule *module,
            const char  *x,
            gint64       start,
            gint64       end,
            gint64       axis)
{
  return EMIT_TMP (self, module, "Slice", x, const_ints (self, module, &start, 1),
                   const_ints (self, module, &end, 1), const_ints (self, module, &axis, 1));
}

static gboolean
export_rotary_embedding (Exporter    *self,
                         TraceEvent  *event,
                         GError     **error)
{
  PeftqModule *module = event->module;
  PeftqRotaryEmbedding *rope = PEFTQ_ROTARY_EMBEDDING (module);
  guint head_dim = peftq_rotary_embedding_get_head_dim (rope);
  float theta = peftq_rotary_embedding_get_theta (rope);
  gsize half = head_dim / 2;
  g_autofree float *inv_freq = g_new (float, MAX (half, 1));
  g_autofree char *qualified = peftq_module_dup_qualified_name (module);
  g_autofree char *table_name = NULL;
  g_autoptr(PeftqTensor) table = NULL;
  gint64 table_shape[1] = { (gint64) half };
  gint64 column_axis = 1;
  const char *x;
  const char *positions;
  const char *column;
  const char *angles;
  const char *cosines;
  const char *sines;
  const char *x1;
  const char *x2;
  const char *first;
  const char *second;
  ExportNode *node;

  if (!check_n_inputs (event, 1, error))
    return FALSE;

  /* The same float32 frequencies and angles as peftq_rope(), with the positions
   * 0 … T-1 of the input's sequence axis. */
  for (gsize i = 0; i < half; i++)
    inv_freq[i] = 1.0f / powf (theta, (float) (2 * i) / (float) head_dim);
  table = peftq_tensor_new_from_floats (inv_freq, half, table_shape, 1, NULL);
  table_name = g_strconcat (qualified, *qualified != '\0' ? "." : "", "inv_freq", NULL);
  if (!g_hash_table_contains (self->produced, table_name))
    {
      const char *name = claim_tensor_name (self, table_name);

      peftq_onnx_builder_add_initializer (self->builder, name, table);
      g_hash_table_add (self->produced, (gpointer) name);
      g_free (table_name);
      table_name = g_strdup (name);
    }

  x = input_name (self, event, 0);
  positions = emit_positions (self, module, x, 2);
  node = emit (self, module, "Cast", new_tensor (self, module, "Cast"), positions, NULL);
  attr_int (node, "to", peftq_onnx_data_type_from_dtype (PEFTQ_DTYPE_F32));
  column = EMIT_TMP (self, module, "Unsqueeze", node->output, const_ints (self, module, &column_axis, 1));
  angles = EMIT_TMP (self, module, "Mul", column, intern (self, table_name));
  cosines = EMIT_TMP (self, module, "Cos", angles);
  sines = EMIT_TMP (self, module, "Sin", angles);

  x1 = emit_slice (self, module, x, 0, (gint64) half, 3);
  x2 = emit_slice (self, module, x, (gint64) half, (gint64) head_dim, 3);
  first = EMIT_TMP (self, module, "Sub",
                    EMIT_TMP (self, module, "Mul", x1, cosines),
                    EMIT_TMP (self, module, "Mul", x2, sines));
  second = EMIT_TMP (self, module, "Add",
                     EMIT_TMP (self, module, "Mul", x2, cosines),
                     EMIT_TMP (self, module, "Mul", x1, sines));
  node = emit (self, module, "Concat", output_name (self, event, "Concat"), first, second, NULL);
  attr_int (node, "axis", 3);
  return TRUE;
}

/* Steps of blocks that compute tensors between their children. Each defines a traced
 * tensor that a child consumes from names the exporter already has. */

static TraceEvent *
child_event (Exporter    *self,
             PeftqModule *block,
             const char  *child)
{
  PeftqModule *module = peftq_module_get_child (block, child);

  return module != NULL ? g_hash_table_lookup (self->last_events, module) : NULL;
}

static gboolean
is_defined (Exporter    *self,
            PeftqTensor *tensor)
{
  const char *name = g_hash_table_lookup (self->tensor_names, tensor);

  return name != NULL && g_hash_table_contains (self->produced, name);
}

/* Defines @target, [batch, heads, tokens, head_dim], as columns [offset, offset + heads ·
 * head_dim) of @source, [batch, tokens, width], split into heads. */
static void
emit_split_heads (Exporter    *self,
                  PeftqModule *block,
                  PeftqTensor *source,
                  gsize        offset,
                  PeftqTensor *target)
{
  gint64 heads = peftq_tensor_get_dim (target, 1);
  gint64 head_dim = peftq_tensor_get_dim (target, 3);
  gint64 width = peftq_tensor_get_dim (source, 2);
  gint64 shape[4] = { 0, 0, heads, head_dim };
  gint64 perm[4] = { 0, 2, 1, 3 };
  const char *x = tensor_name (self, source, NULL, NULL);
  const char *reshaped;
  ExportNode *node;

  if (is_defined (self, target))
    return;

  if (offset != 0 || heads * head_dim != width)
    x = emit_slice (self, block, x, (gint64) offset, (gint64) offset + heads * head_dim, 2);
  reshaped = EMIT_TMP (self, block, "Reshape", x, const_ints (self, block, shape, 4));
  node = emit (self, block, "Transpose", tensor_name (self, target, block, "Transpose"), reshaped, NULL);
  attr_ints (node, "perm", perm, 4);
}

static void
emit_merge_heads (Exporter    *self,
                  PeftqModule *block,
                  PeftqTensor *source,
                  PeftqTensor *target)
{
  gint64 perm[4] = { 0, 2, 1, 3 };
  gint64 shape[3] = { 0, 0, peftq_tensor_get_dim (source, 1) * peftq_tensor_get_dim (source, 3) };
  ExportNode *node;

  if (is_defined (self, target))
    return;

  node = emit (self, block, "Transpose", new_tensor (self, block, "Transpose"),
               tensor_name (self, source, NULL, NULL), NULL);
  attr_ints (node, "perm", perm, 4);
  emit (self, block, "Reshape", tensor_name (self, target, block, "Reshape"), node->output,
        const_ints (self, block, shape, 3), NULL);
}

/* Defines @target as the causal mask [T, T] (0 where a query may attend to a key, -inf
 * after it) for the sequence axis of @x, [batch, tokens, width]. */
static void
emit_causal_mask (Exporter    *self,
                  PeftqModule *block,
                  PeftqTensor *x,
                  PeftqTensor *target)
{
  gint64 row_axis = 1;
  gint64 column_axis = 0;
  const char *positions;
  const char *rows;
  const char *columns;
  const char *after;

  if (is_defined (self, target))
    return;

  positions = emit_positions (self, block, tensor_name (self, x, NULL, NULL), 1);
  rows = EMIT_TMP (self, block, "Unsqueeze", positions, const_ints (self, block, &row_axis, 1));
  columns = EMIT_TMP (self, block, "Unsqueeze", positions, const_ints (self, block, &column_axis, 1));
  after = EMIT_TMP (self, block, "Greater", columns, rows);
  emit (self, block, "Where", tensor_name (self, target, block, "Where"), after,
        const_float (self, block, -INFINITY), const_float (self, block, 0.0f), NULL);
}

static void
export_attention (Exporter   *self,
                  TraceEvent *event)
{
  PeftqModule *block = event->module;
  TraceEvent *q_proj = child_event (self, block, "q_proj");
  TraceEvent *k_proj = child_event (self, block, "k_proj");
  TraceEvent *v_proj = child_event (self, block, "v_proj");
  TraceEvent *q_rope = child_event (self, block, "q_rope");
  TraceEvent *k_rope = child_event (self, block, "k_rope");
  TraceEvent *softmax = child_event (self, block, "softmax");
  TraceEvent *av_matmul = child_event (self, block, "av_matmul");
  TraceEvent *o_proj = child_event (self, block, "o_proj");

  if (q_proj == NULL || k_proj == NULL || v_proj == NULL || q_rope == NULL || k_rope == NULL ||
      softmax == NULL || av_matmul == NULL || o_proj == NULL ||
      softmax->inputs->len != 2 || av_matmul->inputs->len != 2 || event->inputs->len != 1)
    return;

  emit_split_heads (self, block, q_proj->output, 0, g_ptr_array_index (q_rope->inputs, 0));
  emit_split_heads (self, block, k_proj->output, 0, g_ptr_array_index (k_rope->inputs, 0));
  emit_split_heads (self, block, v_proj->output, 0, g_ptr_array_index (av_matmul->inputs, 1));
  emit_causal_mask (self, block, g_ptr_array_index (event->inputs, 0), g_ptr_array_index (softmax->inputs, 1));
  emit_merge_heads (self, block, av_matmul->output, g_ptr_array_index (o_proj->inputs, 0));
}

/* GPT-2's attention splits the fused c_attn output into q, k and v itself. */
static void
export_gpt2_attention (Exporter   *self,
                       TraceEvent *event)
{
  PeftqModule *block = event->module;
  TraceEvent *c_attn = child_event (self, block, "c_attn");
  TraceEvent *qk_matmul = child_event (self, block, "qk_matmul");
  TraceEvent *softmax = child_event (self, block, "softmax");
  TraceEvent *av_matmul = child_event (self, block, "av_matmul");
  TraceEvent *c_proj = child_event (self, block, "c_proj");
  gsize width;

  if (c_attn == NULL || qk_matmul == NULL || softmax == NULL || av_matmul == NULL || c_proj == NULL ||
      qk_matmul->inputs->len != 2 || softmax->inputs->len != 2 || av_matmul->inputs->len != 2 ||
      event->inputs->len != 1 || peftq_tensor_get_rank (c_attn->output) != 3)
    return;

  width = (gsize) peftq_tensor_get_dim (c_attn->output, 2) / 3;
  emit_split_heads (self, block, c_attn->output, 0, g_ptr_array_index (qk_matmul->inputs, 0));
  emit_split_heads (self, block, c_attn->output, width, g_ptr_array_index (qk_matmul->inputs, 1));
  emit_split_heads (self, block, c_attn->output, 2 * width, g_ptr_array_index (av_matmul->inputs, 1));
  emit_causal_mask (self, block, g_ptr_array_index (event->inputs, 0), g_ptr_array_index (softmax->inputs, 1));
  emit_merge_heads (self, block, av_matmul->output, g_ptr_array_index (c_proj->inputs, 0));
}

static void
export_gpt2_model (Exporter   *self,
                   TraceEvent *event)
{
  PeftqModule *block = event->module;
  TraceEvent *wpe = child_event (self, block, "wpe");
  PeftqTensor *ids;
  PeftqTensor *target;
  const char *positions;
  const char *ids_name;
  guint rank;

  if (wpe == NULL || event->inputs->len != 1 || wpe->inputs->len != 1)
    return;

  ids = g_ptr_array_index (event->inputs, 0);
  target = g_ptr_array_index (wpe->inputs, 0);
  rank = peftq_tensor_get_rank (ids);
  if (is_defined (self, target) || rank == 0)
    return;

  ids_name = tensor_name (self, ids, NULL, NULL);
  positions = emit_positions (self, block, ids_name, rank - 1);
  emit (self, block, "Identity", tensor_name (self, target, block, "Identity"), positions, NULL);
}

/* AIMET's LoRA layer feeds each adapter's scaling to input 1 of `mul_scale`. It becomes
 * the initializer `<mul_scale path>.scaling`, so that a runtime can swap it with the
 * adapter's weights instead of finding it baked into the graph. */
static void
export_lora_layer (Exporter   *self,
                   TraceEvent *event)
{
  PeftqLoraLayer *layer = PEFTQ_LORA_LAYER (event->module);

  for (guint i = 0; i < peftq_lora_layer_get_n_adapters (layer); i++)
    {
      PeftqModule *mul_scale = peftq_lora_layer_get_mul_scale (layer, i);
      TraceEvent *mul_event = g_hash_table_lookup (self->last_events, mul_scale);
      PeftqTensor *scaling;
      const char *name;

      if (mul_event == NULL || mul_event->inputs->len != 2)
        continue;
      scaling = g_ptr_array_index (mul_event->inputs, 1);
      if (is_defined (self, scaling))
        continue;

      /* name_lora_scalings() named the tensor before mul_scale's node used it. */
      name = tensor_name (self, scaling, NULL, NULL);
      peftq_onnx_builder_add_initializer (self->builder, name, scaling);
      g_hash_table_add (self->produced, (gpointer) name);
    }
}

/* PEFT's LoRA layer adds lora_B (lora_A (x)) · scaling to the base output for each
 * active adapter, in adapter order, without modules for these steps. */
static void
export_peft_lora_layer (Exporter   *self,
                        TraceEvent *event)
{
  PeftqModule *block = event->module;
  PeftqPeftLoraLayer *layer = PEFTQ_PEFT_LORA_LAYER (block);
  TraceEvent *base = g_hash_table_lookup (self->last_events, peftq_peft_lora_layer_get_base_layer (layer));
  g_autoptr(GPtrArray) active = g_ptr_array_new ();
  const char *result;

  if (base == NULL || is_defined (self, event->output))
    return;

  for (guint i = 0; i < peftq_peft_lora_layer_get_n_adapters (layer); i++)
    {
      TraceEvent *lora_b = g_hash_table_lookup (self->last_events, peftq_peft_lora_layer_get_lora_b (layer, i));

      if (!peftq_adapter_get_active (peftq_peft_lora_layer_get_adapter (layer, i)))
        continue;
      if (lora_b == NULL)
        return;
      g_ptr_array_add (active, GUINT_TO_POINTER (i));
    }

  result = tensor_name (self, base->output, NULL, NULL);
  for (guint k = 0; k < active->len; k++)
    {
      guint i = GPOINTER_TO_UINT (g_ptr_array_index (active, k));
      TraceEvent *lora_b = g_hash_table_lookup (self->last_events, peftq_peft_lora_layer_get_lora_b (layer, i));
      float scaling = (float) peftq_peft_lora_layer_get_scaling (layer, i);
      const char *scaled = EMIT_TMP (self, block, "Mul", tensor_name (self, lora_b->output, NULL, NULL),
                                     const_float (self, block, scaling));
      const char *output = k + 1 == active->len ? tensor_name (self, event->output, block, "Add")
                                                : new_tensor (self, block, "Add");

      result = emit (self, block, "Add", output, result, scaled, NULL)->output;
    }
}

static gboolean
export_event (Exporter    *self,
              TraceEvent  *event,
              GError     **error)
{
  PeftqModule *module = event->module;
  const char *type_name = peftq_module_get_type_name (module);
  gboolean ok = TRUE;

  if (PEFTQ_IS_LINEAR (module))
    ok = export_linear (self, event, error);
  else if (PEFTQ_IS_CONV1D (module))
    ok = export_conv1d (self, event, error);
  else if (PEFTQ_IS_EMBEDDING (module))
    ok = export_embedding (self, event, error);
  else if (PEFTQ_IS_RMS_NORM (module))
    ok = export_rms_norm (self, event, error);
  else if (PEFTQ_IS_LAYER_NORM (module))
    ok = export_layer_norm (self, event, error);
  else if (PEFTQ_IS_ACTIVATION (module))
    ok = export_activation (self, event, error);
  else if (PEFTQ_IS_ADD (module))
    ok = export_binary (self, event, "Add", error);
  else if (PEFTQ_IS_MULTIPLY (module))
    ok = export_binary (self, event, "Mul", error);
  else if (PEFTQ_IS_MATMUL (module))
    ok = export_matmul (self, event, error);
  else if (PEFTQ_IS_SOFTMAX (module))
    ok = export_softmax (self, event, error);
  else if (PEFTQ_IS_ROTARY_EMBEDDING (module))
    ok = export_rotary_embedding (self, event, error);
  else if (PEFTQ_IS_LORA_LAYER (module))
    export_lora_layer (self, event);
  else if (PEFTQ_IS_PEFT_LORA_LAYER (module))
    export_peft_lora_layer (self, event);
  else if (PEFTQ_IS_ATTENTION (module))
    export_attention (self, event);
  else if (g_strcmp0 (type_name, "GPT2Attention") == 0)
    export_gpt2_attention (self, event);
  else if (g_strcmp0 (type_name, "GPT2Model") == 0)
    export_gpt2_model (self, event);
  else
    {
      g_autoptr(GPtrArray) children = peftq_module_get_children (module);

      /* Other blocks only pass tensors between their children. A tensor that such a
       * block computes itself is reported as undefined after the trace. */
      if (children->len == 0)
        {
          g_autofree char *description = peftq_module_dup_description (module);

          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                       "The %s cannot be exported to ONNX: peftq has no ONNX mapping for modules of type %s",
                       description, type_name);
          return FALSE;
        }
    }

  if (ok)
    g_hash_table_insert (self->last_events, module, event);
  return ok;
}

/* Sorts the nodes so that every node comes after the producers of its inputs, keeping
 * the trace order where it can. Returns the sorted indexes. */
static GArray *
sort_nodes (Exporter *self)
{
  g_autoptr(GHashTable) producer = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree guint8 *state = g_new0 (guint8, MAX (self->nodes->len, 1));  /* 0 new, 1 open, 2 done */
  GArray *order = g_array_sized_new (FALSE, FALSE, sizeof (guint), self->nodes->len);
  g_autoptr(GArray) stack = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < self->nodes->len; i++)
    {
      ExportNode *node = g_ptr_array_index (self->nodes, i);

      g_hash_table_insert (producer, (gpointer) node->output, GUINT_TO_POINTER (i + 1));
    }

  for (guint start = 0; start < self->nodes->len; start++)
    {
      if (state[start] != 0)
        continue;

      g_array_append_val (stack, start);
      while (stack->len > 0)
        {
          guint index = g_array_index (stack, guint, stack->len - 1);
          ExportNode *node = g_ptr_array_index (self->nodes, index);
          gboolean pushed = FALSE;

          state[index] = 1;
          for (guint j = 0; j < node->inputs->len && !pushed; j++)
            {
              guint producer_index = GPOINTER_TO_UINT (g_hash_table_lookup (producer, g_ptr_array_index (node->inputs, j)));

              if (producer_index != 0 && state[producer_index - 1] == 0)
                {
                  guint next = producer_index - 1;

                  g_array_append_val (stack, next);
                  pushed = TRUE;
                }
            }

          if (!pushed)
            {
              g_array_set_size (stack, stack->len - 1);
              if (state[index] != 2)
                {
                  state[index] = 2;
                  g_array_append_val (order, index);
                }
            }
        }
    }

  return order;
}

/* Checks that every node input has a producer, naming the module whose input was
 * computed outside of the traced modules. */
static gboolean
check_inputs_defined (Exporter    *self,
                      const char  *graph_output,
                      GError     **error)
{
  for (guint i = 0; i < self->nodes->len; i++)
    {
      ExportNode *node = g_ptr_array_index (self->nodes, i);

      for (guint j = 0; j < node->inputs->len; j++)
        {
          const char *name = g_ptr_array_index (node->inputs, j);
          PeftqModule *parent;
          g_autofree char *description = NULL;
          g_autofree char *parent_description = NULL;

          if (g_hash_table_contains (self->produced, name))
            continue;

          description = peftq_module_dup_description (node->module);
          parent = peftq_module_get_parent (node->module);
          parent_description = parent != NULL ? peftq_module_dup_description (parent) : g_strdup ("caller");
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                       "The input %u of the %s cannot be exported to ONNX: the %s computes it "
                       "outside of its child modules, and peftq has no ONNX mapping for that step",
                       j, description, parent_description);
          return FALSE;
        }
    }

  if (!g_hash_table_contains (self->produced, graph_output))
    {
      g_autofree char *description = peftq_module_dup_description (self->root);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "The output of the %s cannot be exported to ONNX: it is computed outside of "
                   "its child modules, and peftq has no ONNX mapping for that step", description);
      return FALSE;
    }

  return TRUE;
}

/* Adds the sorted nodes to the builder, named after their modules as section 9.4 of the
 * semantics page describes. */
static void
add_nodes (Exporter   *self,
           GArray     *order,
           const char *graph_output)
{
  g_autoptr(GHashTable) producer = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) leaves = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree guint *depth = g_new0 (guint, MAX (self->nodes->len, 1));
  g_auto(GStrv) names = g_new0 (char *, self->nodes->len + 1);

  for (guint i = 0; i < self->nodes->len; i++)
    {
      ExportNode *node = g_ptr_array_index (self->nodes, i);
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (counts, node->module_name));

      g_hash_table_insert (producer, (gpointer) node->output, node);
      g_hash_table_insert (counts, (gpointer) node->module_name, GUINT_TO_POINTER (count + 1));
      if (g_strcmp0 (node->output, graph_output) == 0)
        g_hash_table_add (leaves, node);
    }

  /* A node's output leaves its module when a node of another module reads it. */
  for (guint i = 0; i < self->nodes->len; i++)
    {
      ExportNode *node = g_ptr_array_index (self->nodes, i);

      for (guint j = 0; j < node->inputs->len; j++)
        {
          ExportNode *source = g_hash_table_lookup (producer, g_ptr_array_index (node->inputs, j));

          if (source != NULL && strcmp (source->module_name, node->module_name) != 0)
            g_hash_table_add (leaves, source);
        }
    }

  /* Depth from the module's input: one more than the deepest producer of the same
   * module, which the topological order has already placed. Constant nodes read no
   * input, so they add no depth. */
  for (guint k = 0; k < order->len; k++)
    {
      guint index = g_array_index (order, guint, k);
      ExportNode *node = g_ptr_array_index (self->nodes, index);

      for (guint j = 0; j < node->inputs->len; j++)
        {
          ExportNode *source = g_hash_table_lookup (producer, g_ptr_array_index (node->inputs, j));

          if (source != NULL && source->value == NULL && strcmp (source->module_name, node->module_name) == 0)
            depth[index] = MAX (depth[index], depth[source->index] + 1);
        }
    }

  /* Operators claim names before Constant nodes, so that a module's bare name goes to
   * its first operator. */
  for (guint pass = 0; pass < 2; pass++)
    for (guint k = 0; k < order->len; k++)
      {
        guint index = g_array_index (order, guint, k);
        ExportNode *node = g_ptr_array_index (self->nodes, index);
        guint n_nodes = GPOINTER_TO_UINT (g_hash_table_lookup (counts, node->module_name));
        g_autofree char *base = NULL;

        if ((node->value != NULL) != (pass == 1))
          continue;

        base = peftq_onnx_node_name_for_module (node->module_name, depth[index], n_nodes,
                                                g_hash_table_contains (leaves, node));
        /* A repeated bare name would get a `-k` suffix that no longer maps back to the
         * module, so repeats of a module with several nodes keep an explicit `#depth`. */
        if (n_nodes > 1 && strchr (base, '#') == NULL && g_hash_table_contains (used, base))
          {
            g_free (base);
            base = g_strdup_printf ("%s#%u", node->module_name, depth[index]);
          }
        names[index] = peftq_onnx_name_make_unique (used, base);
      }

  for (guint k = 0; k < order->len; k++)
    {
      guint index = g_array_index (order, guint, k);
      ExportNode *node = g_ptr_array_index (self->nodes, index);
      g_autofree const char **inputs = g_new0 (const char *, node->inputs->len + 1);
      const char *outputs[2] = { node->output, NULL };
      PeftqOnnxNode *onnx_node;

      for (guint j = 0; j < node->inputs->len; j++)
        inputs[j] = g_ptr_array_index (node->inputs, j);

      onnx_node = peftq_onnx_builder_add_node (self->builder, node->op_type, names[index], inputs, outputs);
      if (node->value != NULL)
        peftq_onnx_node_add_tensor (onnx_node, "value", node->value);

      for (guint j = 0; j < node->attrs->len; j++)
        {
          Attr *attr = &g_array_index (node->attrs, Attr, j);

          switch (attr->kind)
            {
            case ATTR_INT:
              peftq_onnx_node_add_int (onnx_node, attr->name, attr->int_value);
              break;
            case ATTR_FLOAT:
              peftq_onnx_node_add_float (onnx_node, attr->name, attr->float_value);
              break;
            case ATTR_INTS:
              peftq_onnx_node_add_ints (onnx_node, attr->name, attr->ints, attr->n_ints);
              break;
            default:
              g_assert_not_reached ();
            }
        }
    }
}

static void
exporter_clear (Exporter *self)
{
  g_clear_pointer (&self->builder, peftq_onnx_builder_free);
  g_clear_pointer (&self->nodes, g_ptr_array_unref);
  g_clear_pointer (&self->last_events, g_hash_table_unref);
  g_clear_pointer (&self->constants, g_hash_table_unref);
  g_clear_pointer (&self->params, g_hash_table_unref);
  g_clear_pointer (&self->produced, g_hash_table_unref);
  g_clear_pointer (&self->names_in_use, g_hash_table_unref);
  g_clear_pointer (&self->tensor_names, g_hash_table_unref);
  g_clear_pointer (&self->events, g_ptr_array_unref);
  g_clear_pointer (&self->strings, g_string_chunk_free);
}

gboolean
peftq_onnx_export_module (PeftqModule  *root,
                          PeftqTensor  *dummy_input_ids,
                          const char   *path,
                          guint64       external_data_threshold,
                          GError      **error)
{
  Exporter exporter = { 0 };
  Exporter *self = &exporter;
  g_autoptr(PeftqForwardContext) context = NULL;
  g_autoptr(PeftqTensor) output = NULL;
  g_autoptr(GArray) order = NULL;
  g_autofree gint64 *input_shape = NULL;
  g_autofree gint64 *output_shape = NULL;
  const char *input_dims[8] = { "batch", NULL };
  const char *output_dims[3] = { "batch", "sequence", NULL };
  const char *input_name_text;
  const char *output_name_text;
  PeftqDType input_dtype = peftq_tensor_get_dtype (dummy_input_ids);
  gboolean ids;
  guint input_rank;
  guint output_rank;
  gboolean ok = FALSE;

  g_return_val_if_fail (PEFTQ_IS_MODULE (root), FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (dummy_input_ids), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);


  /* Token ids become `input_ids`, [batch, sequence]; a float input (a toy model without
   * an embedding) becomes `input`, with a symbolic batch axis (and sequence axis for
   * rank 3) and the other axes fixed. */
  ids = input_dtype == PEFTQ_DTYPE_I64 || input_dtype == PEFTQ_DTYPE_I32;
  input_rank = peftq_tensor_get_rank (dummy_input_ids);
  if ((ids && input_rank != 2) || (!ids && !peftq_dtype_is_float (input_dtype)) ||
      (!ids && (input_rank < 1 || input_rank > 8)))
    {
      g_autofree char *shape = peftq_tensor_format_shape (dummy_input_ids);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "The dummy input of an ONNX export must be token ids of shape [batch, tokens] "
                   "and dtype I64 or I32, or a float tensor of rank 1 to 8, not %s of shape %s",
                   peftq_dtype_to_string (input_dtype), shape);
      return FALSE;
    }

  self->root = root;
  self->builder = peftq_onnx_builder_new ("peftq");
  self->strings = g_string_chunk_new (4096);
  self->events = g_ptr_array_new_with_free_func (trace_event_free);
  self->tensor_names = g_hash_table_new (NULL, NULL);
  self->names_in_use = g_hash_table_new (g_str_hash, g_str_equal);
  self->produced = g_hash_table_new (g_str_hash, g_str_equal);
  self->params = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->last_events = g_hash_table_new (NULL, NULL);
  self->constants = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->nodes = g_ptr_array_new_with_free_func (export_node_free);

  collect_parameters (self);

  /* Trace: the float forward pass, with parameter quantizers applied. */
  context = peftq_forward_context_new ();
  peftq_forward_context_set_exporting (context, TRUE);
  peftq_forward_context_set_recorder (context, record_event, self, NULL);
  output = peftq_module_forward (root, context, &dummy_input_ids, 1, error);
  peftq_forward_context_set_recorder (context, NULL, NULL, NULL);
  if (output == NULL)
    goto out;

  if (!peftq_dtype_is_float (peftq_tensor_get_dtype (output)) || peftq_tensor_get_rank (output) == 0)
    {
      g_autofree char *description = peftq_module_dup_description (root);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "The %s returns %s of rank %u; an ONNX export needs a float output",
                   description, peftq_dtype_to_string (peftq_tensor_get_dtype (output)),
                   peftq_tensor_get_rank (output));
      goto out;
    }

  if (output == dummy_input_ids)
    {
      g_autofree char *description = peftq_module_dup_description (root);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_UNSUPPORTED,
                   "The %s returns its input unchanged, which an ONNX export cannot name",
                   description);
      goto out;
    }

  input_name_text = intern (self, ids ? "input_ids" : "input");
  output_name_text = intern (self, ids ? "logits" : "output");
  g_hash_table_insert (self->tensor_names, dummy_input_ids, (gpointer) input_name_text);
  g_hash_table_add (self->names_in_use, (gpointer) input_name_text);
  g_hash_table_add (self->produced, (gpointer) input_name_text);
  g_hash_table_insert (self->tensor_names, output, (gpointer) output_name_text);
  g_hash_table_add (self->names_in_use, (gpointer) output_name_text);

  name_lora_scalings (self);
  for (guint i = 0; i < self->events->len; i++)
    if (!export_event (self, g_ptr_array_index (self->events, i), error))
      goto out;

  if (!check_inputs_defined (self, output_name_text, error))
    goto out;

  /* Graph input and output, with the batch and sequence axes symbolic. */
  input_shape = g_memdup2 (peftq_tensor_get_shape (dummy_input_ids, &input_rank), input_rank * sizeof (gint64));
  if (ids || input_rank == 3)
    input_dims[1] = "sequence";
  peftq_onnx_builder_add_input (self->builder, input_name_text, ids ? PEFTQ_DTYPE_I64 : PEFTQ_DTYPE_F32,
                                input_shape, input_dims, input_rank);

  output_rank = peftq_tensor_get_rank (output);
  output_shape = g_memdup2 (peftq_tensor_get_shape (output, &output_rank), output_rank * sizeof (gint64));
  {
    const char *dims[8] = { NULL };

    for (guint axis = 0; axis + 1 < output_rank && axis < 2 && axis < G_N_ELEMENTS (dims); axis++)
      dims[axis] = output_dims[axis];
    peftq_onnx_builder_add_output (self->builder, output_name_text, PEFTQ_DTYPE_F32, output_shape,
                                   output_rank <= G_N_ELEMENTS (dims) ? dims : NULL, output_rank);
  }

  order = sort_nodes (self);
  add_nodes (self, order, output_name_text);
  peftq_onnx_builder_add_metadata (self->builder, "peftq.root_type", peftq_module_get_type_name (root));

  ok = peftq_onnx_builder_write (self->builder, path, external_data_threshold, error);

out:
  exporter_clear (self);
  return ok;
}

/**
 * peftq_module_export_onnx:
 * @self: the root module of a model
 * @dummy_input_ids: token ids of shape [batch, tokens] (I64 or I32) to trace the
 *   forward pass with, or a float tensor for a model without an embedding
 * @path: the ONNX file to write
 * @error: return location for a #GError
 *
 * Exports the float model as ONNX (opset 17) by running its forward pass once on
 * @dummy_input_ids and recording what every module computes.
 *
 * The graph has the input `input_ids` (int64, [batch, sequence]) and the output `logits`
 * (float32, [batch, sequence, vocab]), and computes peftq's float forward pass for any
 * batch size and sequence length. Activation quantizers are left out, as AIMET exports
 * the float graph beside an encodings file. Each parameter is an initializer named
 * `<module path>.<parameter>`, quantize-dequantized when its module has a parameter
 * quantizer; a tied parameter is written once. Nodes are named after their modules
 * (`model.norm`, `model.norm#1`, …, with `.end` on nodes whose output leaves the
 * module), so [class@Peftq.OnnxModel] maps them back. Weights go to `<file>.data` beside
 * @path when they are larger than 2 GiB.
 *
 * A failed export leaves an existing file at @path as it was.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set (`PEFTQ_ERROR_UNSUPPORTED` for a
 *   module that has no ONNX mapping, `PEFTQ_ERROR_IO` when the file cannot be written)
 *
 * Since: 1.0
 */
gboolean
peftq_module_export_onnx (PeftqModule  *self,
                          PeftqTensor  *dummy_input_ids,
                          const char   *path,
                          GError      **error)
{
  g_return_val_if_fail (PEFTQ_IS_MODULE (self), FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (dummy_input_ids), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return peftq_onnx_export_module (self, dummy_input_ids, path, PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD, error);
}
