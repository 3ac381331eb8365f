/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-tool.h"

#include "peftq-file-private.h"
#include "peftq-tensor-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <peftq.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* AIMET's PEFT flow (steps 1 to 11 of its user guide) for a base model and several
 * adapters, written into one folder.
 *
 * A runtime swaps adapters on one graph, so the command builds ONE graph: LoRA layers
 * on the union of the adapters' target modules, all at the largest rank. Each adapter
 * is zero-padded to that layout (extra rows of lora_A and columns of lora_B are zero,
 * and both are zero on modules that the adapter does not target), which leaves its
 * output unchanged. The scaling of each LoRA layer (lora_alpha / r, or / sqrt (r) with
 * rsLoRA) is a tensor of the graph (the initializer `<layer>.mul_scale.scaling`), and
 * each adapter's weights file carries its own values under the same key. */

typedef struct
{
  char *name;
  char *dir;
  /* One entry per LoRA layer of the union graph, in the order of union_layers. */
  GPtrArray *lora_a;      /* of PeftqTensor, padded */
  GPtrArray *lora_b;      /* of PeftqTensor, padded */
  GArray *scalings;       /* of double; 0 on layers the adapter does not target */
  guint rank;             /* the largest rank of the adapter */
  PeftqLoraConfig *config;
  PeftqTensor *float_logits;
  double padding_max_abs_diff;
  double padding_max_rel_diff;
  double sqnr_db;
} AdapterInfo;

static void
adapter_info_free (gpointer data)
{
  AdapterInfo *info = data;

  g_free (info->name);
  g_free (info->dir);
  g_clear_pointer (&info->lora_a, g_ptr_array_unref);
  g_clear_pointer (&info->lora_b, g_ptr_array_unref);
  g_clear_pointer (&info->scalings, g_array_unref);
  g_clear_object (&info->config);
  g_clear_object (&info->float_logits);
  g_free (info);
}

/* Progress: a bar on a terminal, plain lines otherwise. */
typedef struct
{
  gboolean tty;
  guint done;
  guint total;
} Progress;

static void
progress_step (Progress   *progress,
               const char *label)
{
  progress->done++;
  if (progress->tty)
    {
      const guint width = 30;
      guint filled = progress->total > 0 ? progress->done * width / progress->total : width;
      char bar[31];

      memset (bar, '#', filled);
      memset (bar + filled, '.', width - filled);
      bar[width] = '\0';
      printf ("\r[%s] %u/%u %s\033[K", bar, progress->done, progress->total, label);
      if (progress->done >= progress->total)
        printf ("\n");
    }
  else
    {
      printf ("[%u/%u] %s\n", progress->done, progress->total, label);
    }
  fflush (stdout);
}

static void
progress_finish (Progress *progress)
{
  if (progress->tty && progress->done < progress->total)
    printf ("\n");
  fflush (stdout);
}

gboolean
peftq_tool_quant_options_check (PeftqToolQuantOptions  *options,
                                GError                **error)
{
  PeftqQuantScheme scheme;
  const int bws[] = { options->param_bw, options->output_bw, options->lora_param_bw, options->lora_output_bw };
  const char *bw_names[] = { "--param-bw", "--output-bw", "--lora-param-bw", "--lora-output-bw" };

  for (guint i = 0; i < G_N_ELEMENTS (bws); i++)
    {
      if (bws[i] != 0 && (bws[i] < 4 || bws[i] > 32))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "%s %d is out of range: bitwidths go from 4 to 32", bw_names[i], bws[i]);
          return FALSE;
        }
    }
  if (options->quant_scheme != NULL &&
      !peftq_quant_scheme_from_string (options->quant_scheme, &scheme, error))
    {
      g_prefix_error (error, "--quant-scheme: ");
      return FALSE;
    }
  if (options->encodings_version != NULL &&
      strcmp (options->encodings_version, "0.6.1") != 0 &&
      strcmp (options->encodings_version, "1.0.0") != 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "--encodings-version %s is not supported: use 0.6.1 or 1.0.0",
                   options->encodings_version);
      return FALSE;
    }
  if (options->per_channel && options->config_path != NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "--per-channel and --config cannot be used together: set "
                   "per_channel_quantization in the configuration file %s instead",
                   options->config_path);
      return FALSE;
    }
  if (options->batch_size < 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "--batch-size %d must be 0 (all sequences) or more", options->batch_size);
      return FALSE;
    }
  return TRUE;
}

PeftqQuantSim *
peftq_tool_new_quant_sim (PeftqModule            *model,
                          PeftqTensor            *dummy_input,
                          PeftqToolQuantOptions  *options,
                          GError                **error)
{
  g_autoptr(PeftqQuantsimConfig) config = NULL;
  g_autoptr(PeftqQuantSim) sim = NULL;
  PeftqQuantScheme scheme = PEFTQ_QUANT_SCHEME_TF_ENHANCED;

  if (options->quant_scheme != NULL &&
      !peftq_quant_scheme_from_string (options->quant_scheme, &scheme, error))
    return NULL;

  if (options->config_path != NULL)
    config = peftq_quantsim_config_new_from_file (options->config_path, error);
  else if (options->per_channel)
    config = peftq_quantsim_config_new_default_per_channel ();
  else
    config = peftq_quantsim_config_new_default ();
  if (config == NULL)
    return NULL;

  sim = peftq_quant_sim_new (model, dummy_input, config, scheme,
                             options->output_bw != 0 ? (guint) options->output_bw : 8,
                             options->param_bw != 0 ? (guint) options->param_bw : 8, error);
  if (sim == NULL)
    return NULL;
  if (options->encodings_version != NULL &&
      !peftq_quant_sim_set_encodings_version (sim, options->encodings_version, error))
    return NULL;
  return g_steal_pointer (&sim);
}

/* SQNR in dB of @quantized against @reference: 10 log10 (sum f^2 / sum (f - q)^2).
 * Infinity when they are equal. */
static double
compute_sqnr_db (PeftqTensor *reference,
                 PeftqTensor *quantized)
{
  gsize n_ref = 0, n_q = 0;
  g_autofree float *f = peftq_tensor_to_floats (reference, &n_ref);
  g_autofree float *q = peftq_tensor_to_floats (quantized, &n_q);
  double signal = 0, noise = 0;

  if (n_ref != n_q)
    return NAN;
  for (gsize i = 0; i < n_ref; i++)
    {
      double d = (double) f[i] - (double) q[i];

      signal += (double) f[i] * (double) f[i];
      noise += d * d;
    }
  if (noise == 0)
    return INFINITY;
  return 10.0 * log10 (signal / noise);
}

/* The largest |a - b| over the elements, and that difference relative to the largest
 * |b| in *out_relative. */
static double
max_abs_diff (PeftqTensor *a,
              PeftqTensor *b,
              double      *out_relative)
{
  gsize n_a = 0, n_b = 0;
  g_autofree float *x = peftq_tensor_to_floats (a, &n_a);
  g_autofree float *y = peftq_tensor_to_floats (b, &n_b);
  double worst = 0, largest = 0;

  *out_relative = INFINITY;
  if (n_a != n_b)
    return INFINITY;
  for (gsize i = 0; i < n_a; i++)
    {
      double d = fabs ((double) x[i] - (double) y[i]);

      worst = MAX (worst, d);
      largest = MAX (largest, fabs ((double) y[i]));
    }
  *out_relative = largest > 0 ? worst / largest : worst;
  return worst;
}

static PeftqTensor *
float_forward (PeftqModule  *model,
               PeftqTensor  *ids,
               GError      **error)
{
  g_autoptr(PeftqForwardContext) context = peftq_forward_context_new ();

  return peftq_module_forward_one (model, context, ids, error);
}

/* The first row of @ids, at most @max_tokens long, as int64 [1, tokens]. */
static PeftqTensor *
make_dummy_input (PeftqTensor  *ids,
                  gint64        max_tokens,
                  GError      **error)
{
  guint rank = peftq_tensor_get_rank (ids);
  const gint64 *shape = peftq_tensor_get_shape (ids, &rank);
  gint64 tokens = shape[rank - 1];
  gint64 out_shape[2] = { 1, MIN (tokens, max_tokens) };
  g_autoptr(PeftqTensor) dummy = peftq_tensor_new (PEFTQ_DTYPE_I64, out_shape, 2, error);
  gint64 *out;
  gconstpointer data;

  if (dummy == NULL)
    return NULL;
  out = peftq_tensor_get_mutable_data (dummy);
  data = peftq_tensor_peek_data (ids);
  for (gint64 i = 0; i < out_shape[1]; i++)
    out[i] = peftq_tensor_get_dtype (ids) == PEFTQ_DTYPE_I64 ? ((const gint64 *) data)[i]
                                                               : ((const gint32 *) data)[i];
  return g_steal_pointer (&dummy);
}

static PeftqTensor *
zero_tensor_like (PeftqTensor  *like,
                  GError      **error)
{
  guint rank = 0;
  const gint64 *shape = peftq_tensor_get_shape (like, &rank);

  return peftq_tensor_new (PEFTQ_DTYPE_F32, shape, rank, error);
}

/* Copies @source (a float matrix [rows, columns]) into the top-left corner of a zero
 * float32 matrix shaped like @like. */
static PeftqTensor *
pad_matrix (PeftqTensor  *source,
            PeftqTensor  *like,
            const char   *what,
            GError      **error)
{
  guint src_rank = 0, dst_rank = 0;
  const gint64 *src_shape = peftq_tensor_get_shape (source, &src_rank);
  const gint64 *dst_shape = peftq_tensor_get_shape (like, &dst_rank);
  g_autoptr(PeftqTensor) padded = NULL;
  g_autofree float *values = NULL;
  float *out;
  gsize n = 0;

  if (src_rank != 2 || dst_rank != 2 || src_shape[0] > dst_shape[0] || src_shape[1] > dst_shape[1])
    {
      g_autofree char *src_text = peftq_tensor_format_shape (source);
      g_autofree char *dst_text = peftq_tensor_format_shape (like);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "Cannot pad %s of shape %s into the union graph's shape %s",
                   what, src_text, dst_text);
      return NULL;
    }
  padded = zero_tensor_like (like, error);
  if (padded == NULL)
    return NULL;
  values = peftq_tensor_to_floats (source, &n);
  out = peftq_tensor_get_mutable_data (padded);
  for (gint64 r = 0; r < src_shape[0]; r++)
    memcpy (out + r * dst_shape[1], values + r * src_shape[1], (gsize) src_shape[1] * sizeof (float));
  return g_steal_pointer (&padded);
}

static gboolean
parse_adapter_spec (const char  *spec,
                    char       **out_name,
                    char       **out_dir,
                    GError     **error)
{
  const char *equals = strchr (spec, '=');
  g_autofree char *name = NULL;

  if (equals == NULL || equals == spec || equals[1] == '\0')
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "--adapter “%s” must have the form NAME=DIR, such as qv=adapters/qv_r4", spec);
      return FALSE;
    }
  name = g_strndup (spec, equals - spec);
  for (const char *c = name; *c != '\0'; c++)
    {
      if (!g_ascii_isalnum (*c) && *c != '_' && *c != '-' && *c != '.')
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "--adapter %s: the name “%s” names files of the bundle, so it may only "
                       "hold letters, digits, “_”, “-” and “.”", spec, name);
          return FALSE;
        }
    }
  if (strcmp (name, "base_encodings") == 0 || strcmp (name, "model") == 0 || name[0] == '.')
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "--adapter %s: the name “%s” would overwrite a file of the base model",
                   spec, name);
      return FALSE;
    }
  *out_name = g_steal_pointer (&name);
  *out_dir = g_strdup (equals + 1);
  return TRUE;
}

/* Fails early, before any work, when nothing can be created in @dir. */
static gboolean
check_output_dir (const char  *dir,
                  GError     **error)
{
  g_autofree char *probe = NULL;
  int fd;

  if (g_mkdir_with_parents (dir, 0777) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, "Cannot create the output folder %s: %s",
                   dir, g_strerror (saved_errno));
      return FALSE;
    }
  probe = g_build_filename (dir, ".peftq-write-test-XXXXXX", NULL);
  fd = g_mkstemp (probe);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_IO, "Cannot write into the output folder %s: %s",
                   dir, g_strerror (saved_errno));
      return FALSE;
    }
  close (fd);
  g_unlink (probe);
  return TRUE;
}

static gboolean
check_calibration_ids (PeftqTensor  *ids,
                       const char   *path,
                       GError      **error)
{
  guint rank = peftq_tensor_get_rank (ids);
  const gint64 *shape = peftq_tensor_get_shape (ids, &rank);

  if (rank != 2 || shape[0] < 1 || shape[1] < 1)
    {
      g_autofree char *text = peftq_tensor_format_shape (ids);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "The calibration ids in %s have shape %s; expected [sequences, tokens]",
                   path, text);
      return FALSE;
    }
  return TRUE;
}

static void
clear_object (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static char *
module_key (PeftqModule *module)
{
  g_autofree char *qualified = peftq_module_dup_qualified_name (module);

  return g_strdup (g_str_has_prefix (qualified, "base_model.model.")
                   ? qualified + strlen ("base_model.model.") : qualified);
}

/* Loads every adapter into one PEFT model of the base and reads each adapter's LoRA
 * weights, scalings and float logits. Fills @union_keys with every targeted module
 * (relative to the base model) and sets *out_rank to the largest rank. */
static gboolean
read_adapters (const char   *model_dir,
               GPtrArray    *adapters,
               PeftqTensor  *ids,
               GPtrArray    *union_keys,
               GHashTable   *layer_data,
               guint        *out_rank,
               GError      **error)
{
  g_autoptr(PeftqCausalLM) lm = peftq_causal_lm_load (model_dir, error);
  g_autoptr(PeftqPeftModel) peft = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  guint n_replaced = 0;
  guint max_rank = 0;

  if (lm == NULL)
    return FALSE;
  peft = peftq_peft_model_new (PEFTQ_MODULE (lm));
  for (guint i = 0; i < adapters->len; i++)
    {
      AdapterInfo *info = g_ptr_array_index (adapters, i);
      g_autofree char *config_path = g_build_filename (info->dir, "adapter_config.json", NULL);

      if (peftq_peft_model_load_adapter (peft, info->dir, info->name, error) == NULL)
        return FALSE;
      info->config = peftq_lora_config_new_from_file (config_path, error);
      if (info->config == NULL)
        return FALSE;
    }
  if (!peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (peft), &n_replaced, error))
    return FALSE;

  layers = peftq_list_lora_layers (PEFTQ_MODULE (peft));
  for (guint l = 0; l < layers->len; l++)
    {
      PeftqLoraLayer *layer = g_ptr_array_index (layers, l);
      g_autofree char *key = module_key (PEFTQ_MODULE (layer));
      /* per_adapter contains lora_A, lora_B and the scaling (as a 0-d tensor) of each
       * adapter in turn, or three NULLs when the adapter does not target the layer. */
      GPtrArray *per_adapter = g_ptr_array_new_with_free_func (clear_object);

      for (guint i = 0; i < adapters->len; i++)
        {
          AdapterInfo *info = g_ptr_array_index (adapters, i);
          gint index = peftq_lora_layer_find_adapter (layer, info->name);

          if (index < 0)
            {
              g_ptr_array_add (per_adapter, NULL);
              g_ptr_array_add (per_adapter, NULL);
              g_ptr_array_add (per_adapter, NULL);
              continue;
            }
          g_ptr_array_add (per_adapter, g_object_ref (peftq_module_get_parameter (peftq_lora_layer_get_lora_a (layer, index), "weight")));
          g_ptr_array_add (per_adapter, g_object_ref (peftq_module_get_parameter (peftq_lora_layer_get_lora_b (layer, index), "weight")));
          g_ptr_array_add (per_adapter, g_object_ref (peftq_lora_layer_get_scaling_tensor (layer, index)));
          info->rank = MAX (info->rank, peftq_lora_layer_get_rank (layer, index));
          max_rank = MAX (max_rank, peftq_lora_layer_get_rank (layer, index));
        }
      g_ptr_array_add (union_keys, g_strdup (key));
      g_hash_table_insert (layer_data, g_steal_pointer (&key), per_adapter);
    }

  if (union_keys->len == 0)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "None of the adapters targets a module of the model in %s", model_dir);
      return FALSE;
    }

  /* Float logits of each adapter alone, in its own (unpadded) layout. */
  for (guint i = 0; i < adapters->len; i++)
    {
      AdapterInfo *info = g_ptr_array_index (adapters, i);
      const char *active[2] = { info->name, NULL };

      if (!peftq_peft_model_set_active_adapters (peft, active, error))
        return FALSE;
      info->float_logits = float_forward (PEFTQ_MODULE (peft), ids, error);
      if (info->float_logits == NULL)
        return FALSE;
    }

  *out_rank = max_rank;
  return TRUE;
}

/* Builds each adapter's padded tensors for the layers of @union_model. */
static gboolean
pad_adapters (GPtrArray   *adapters,
              GPtrArray   *union_layers,
              GHashTable  *layer_data,
              GError     **error)
{
  for (guint i = 0; i < adapters->len; i++)
    {
      AdapterInfo *info = g_ptr_array_index (adapters, i);

      info->lora_a = g_ptr_array_new_with_free_func (g_object_unref);
      info->lora_b = g_ptr_array_new_with_free_func (g_object_unref);
      info->scalings = g_array_new (FALSE, TRUE, sizeof (double));
      for (guint l = 0; l < union_layers->len; l++)
        {
          PeftqLoraLayer *layer = g_ptr_array_index (union_layers, l);
          g_autofree char *key = module_key (PEFTQ_MODULE (layer));
          GPtrArray *per_adapter = g_hash_table_lookup (layer_data, key);
          PeftqTensor *like_a = peftq_module_get_parameter (peftq_lora_layer_get_lora_a (layer, 0), "weight");
          PeftqTensor *like_b = peftq_module_get_parameter (peftq_lora_layer_get_lora_b (layer, 0), "weight");
          PeftqTensor *a = per_adapter != NULL ? g_ptr_array_index (per_adapter, 3 * i) : NULL;
          PeftqTensor *b = per_adapter != NULL ? g_ptr_array_index (per_adapter, 3 * i + 1) : NULL;
          PeftqTensor *s = per_adapter != NULL ? g_ptr_array_index (per_adapter, 3 * i + 2) : NULL;
          g_autofree char *what_a = g_strdup_printf ("lora_A of %s in adapter %s", key, info->name);
          g_autofree char *what_b = g_strdup_printf ("lora_B of %s in adapter %s", key, info->name);
          PeftqTensor *padded_a;
          PeftqTensor *padded_b;
          double scaling = 0.0;

          if (a != NULL)
            {
              gsize n = 0;
              g_autofree float *value = peftq_tensor_to_floats (s, &n);

              padded_a = pad_matrix (a, like_a, what_a, error);
              padded_b = padded_a != NULL ? pad_matrix (b, like_b, what_b, error) : NULL;
              scaling = n == 1 ? value[0] : 0.0;
            }
          else
            {
              padded_a = zero_tensor_like (like_a, error);
              padded_b = padded_a != NULL ? zero_tensor_like (like_b, error) : NULL;
            }
          if (padded_a == NULL || padded_b == NULL)
            {
              g_clear_object (&padded_a);
              return FALSE;
            }
          g_ptr_array_add (info->lora_a, padded_a);
          g_ptr_array_add (info->lora_b, padded_b);
          g_array_append_val (info->scalings, scaling);
        }
    }
  return TRUE;
}

static gboolean
load_adapter_into (AdapterInfo  *info,
                   GPtrArray    *union_layers,
                   GError      **error)
{
  for (guint l = 0; l < union_layers->len; l++)
    {
      PeftqLoraLayer *layer = g_ptr_array_index (union_layers, l);

      if (!peftq_lora_layer_set_adapter_weights (layer, 0, g_ptr_array_index (info->lora_a, l),
                                                 g_ptr_array_index (info->lora_b, l), error))
        return FALSE;
      peftq_lora_layer_set_scaling (layer, 0, g_array_index (info->scalings, double, l));
    }
  return TRUE;
}

static void
set_scalings (GPtrArray *union_layers,
              GArray    *scalings)
{
  for (guint l = 0; l < union_layers->len; l++)
    peftq_lora_layer_set_scaling (g_ptr_array_index (union_layers, l), 0,
                                  scalings != NULL ? g_array_index (scalings, double, l) : 0.0);
}

char *
peftq_tool_scaling_key (PeftqLoraLayer *layer)
{
  g_autofree char *qualified = peftq_module_dup_qualified_name (peftq_lora_layer_get_mul_scale (layer, 0));

  return g_strconcat (qualified, ".scaling", NULL);
}

/* Rewrites NAME_weights.safetensor (written by export_adapter_weights) with the scaling
 * of every LoRA layer added as a 0-d float32 tensor `<layer>.mul_scale.scaling`. */
static gboolean
add_scalings_to_weights (const char   *path,
                         AdapterInfo  *info,
                         GPtrArray    *union_layers,
                         GError      **error)
{
  g_autoptr(PeftqSafetensorsFile) file = peftq_safetensors_file_open (path, error);
  g_autoptr(PeftqSafetensorsWriter) writer = NULL;
  g_auto(GStrv) names = NULL;

  if (file == NULL)
    return FALSE;
  writer = peftq_safetensors_writer_new ();
  names = peftq_safetensors_file_get_tensor_names (file);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(PeftqTensor) tensor = peftq_safetensors_file_get_tensor (file, names[i], error);

      if (tensor == NULL || !peftq_safetensors_writer_add_tensor (writer, names[i], tensor, error))
        return FALSE;
    }
  for (guint l = 0; l < union_layers->len; l++)
    {
      g_autofree char *key = peftq_tool_scaling_key (g_ptr_array_index (union_layers, l));
      g_autoptr(PeftqTensor) scalar = peftq_tensor_new_f32 (NULL, 0);

      ((float *) peftq_tensor_get_mutable_data (scalar))[0] = (float) g_array_index (info->scalings, double, l);
      if (!peftq_safetensors_writer_add_tensor (writer, key, scalar, error))
        return FALSE;
    }
  peftq_safetensors_writer_set_metadata (writer, "format", "pt");
  peftq_safetensors_writer_set_metadata (writer, "peftq.adapter", info->name);
  peftq_safetensors_writer_set_metadata (writer, "peftq.scaling_key", "<lora layer>.mul_scale.scaling");
  g_clear_object (&file);
  return peftq_safetensors_writer_write (writer, path, error);
}

static void
json_add_sqnr (JsonBuilder *builder,
               double       sqnr)
{
  json_builder_set_member_name (builder, "sqnr_db");
  if (isfinite (sqnr))
    json_builder_add_double_value (builder, sqnr);
  else
    json_builder_add_null_value (builder);
}

static gboolean
write_summary (const char              *path,
               PeftqToolQuantOptions   *options,
               GPtrArray               *adapters,
               GPtrArray               *union_keys,
               GPtrArray               *union_layers,
               guint                    rank,
               double                   base_sqnr,
               GPtrArray               *files,
               GError                 **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "producer");
  json_builder_add_string_value (builder, "peftq " PEFTQ_VERSION_S);

  json_builder_set_member_name (builder, "settings");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "quant_scheme");
  json_builder_add_string_value (builder, options->quant_scheme != NULL ? options->quant_scheme : "tf_enhanced");
  json_builder_set_member_name (builder, "param_bw");
  json_builder_add_int_value (builder, options->param_bw != 0 ? options->param_bw : 8);
  json_builder_set_member_name (builder, "output_bw");
  json_builder_add_int_value (builder, options->output_bw != 0 ? options->output_bw : 8);
  json_builder_set_member_name (builder, "lora_param_bw");
  json_builder_add_int_value (builder, options->lora_param_bw != 0 ? options->lora_param_bw
                                       : options->param_bw != 0 ? options->param_bw : 8);
  json_builder_set_member_name (builder, "lora_output_bw");
  json_builder_add_int_value (builder, options->lora_output_bw != 0 ? options->lora_output_bw
                                       : options->output_bw != 0 ? options->output_bw : 8);
  json_builder_set_member_name (builder, "per_channel");
  json_builder_add_boolean_value (builder, options->per_channel);
  json_builder_set_member_name (builder, "config");
  if (options->config_path != NULL)
    json_builder_add_string_value (builder, options->config_path);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "encodings_version");
  json_builder_add_string_value (builder, options->encodings_version != NULL ? options->encodings_version : "0.6.1");
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "union_graph");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "rank");
  json_builder_add_int_value (builder, rank);
  json_builder_set_member_name (builder, "lora_modules");
  json_builder_begin_array (builder);
  for (guint l = 0; l < union_keys->len; l++)
    json_builder_add_string_value (builder, g_ptr_array_index (union_keys, l));
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "scaling_keys");
  json_builder_begin_array (builder);
  for (guint l = 0; l < union_layers->len; l++)
    {
      g_autofree char *key = peftq_tool_scaling_key (g_ptr_array_index (union_layers, l));

      json_builder_add_string_value (builder, key);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "scaling_layout");
  json_builder_add_string_value (builder,
                                 "Each NAME_weights.safetensor holds, besides the LoRA weights, one "
                                 "0-d float32 tensor per LoRA layer keyed <layer>.mul_scale.scaling: "
                                 "the adapter's lora_alpha / r (or / sqrt(r) with rsLoRA), 0 on "
                                 "modules the adapter does not target. model.onnx reads it as the "
                                 "initializer of the same name; load it with the LoRA weights.");
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "base");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "encodings");
  json_builder_add_string_value (builder, "base_encodings.encodings");
  json_add_sqnr (builder, base_sqnr);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "adapters");
  json_builder_begin_array (builder);
  for (guint i = 0; i < adapters->len; i++)
    {
      AdapterInfo *info = g_ptr_array_index (adapters, i);
      const char *const *targets = peftq_lora_config_get_target_modules (info->config);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, info->name);
      json_builder_set_member_name (builder, "rank");
      json_builder_add_int_value (builder, info->rank);
      json_builder_set_member_name (builder, "lora_alpha");
      json_builder_add_double_value (builder, peftq_lora_config_get_lora_alpha (info->config));
      json_builder_set_member_name (builder, "use_rslora");
      json_builder_add_boolean_value (builder, peftq_lora_config_get_use_rslora (info->config));
      json_builder_set_member_name (builder, "target_modules");
      json_builder_begin_array (builder);
      for (guint t = 0; targets != NULL && targets[t] != NULL; t++)
        json_builder_add_string_value (builder, targets[t]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "weights");
      {
        g_autofree char *name = g_strconcat (info->name, "_weights.safetensor", NULL);

        json_builder_add_string_value (builder, name);
      }
      json_builder_set_member_name (builder, "encodings");
      {
        g_autofree char *name = g_strconcat (info->name, ".encodings", NULL);

        json_builder_add_string_value (builder, name);
      }
      json_add_sqnr (builder, info->sqnr_db);
      json_builder_set_member_name (builder, "padding_max_abs_diff");
      json_builder_add_double_value (builder, info->padding_max_abs_diff);
      json_builder_set_member_name (builder, "padding_max_rel_diff");
      json_builder_add_double_value (builder, info->padding_max_rel_diff);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "files");
  json_builder_begin_array (builder);
  for (guint i = 0; i < files->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (files, i));
  json_builder_add_string_value (builder, "summary.json");
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, &length);
  return peftq_file_set_contents_atomic (path, text, (gssize) length, error);
}

static void
print_summary (const char *output_dir,
               GPtrArray  *files,
               GPtrArray  *adapters,
               double      base_sqnr)
{
  int width = 0;

  for (guint i = 0; i < files->len; i++)
    width = MAX (width, (int) strlen (g_ptr_array_index (files, i)));

  printf ("\nFiles written to %s:\n", output_dir);
  for (guint i = 0; i < files->len; i++)
    {
      const char *name = g_ptr_array_index (files, i);
      g_autofree char *path = g_build_filename (output_dir, name, NULL);
      GStatBuf st;
      g_autofree char *size = NULL;

      size = g_stat (path, &st) == 0 ? g_format_size ((guint64) st.st_size) : g_strdup ("?");
      printf ("  %-*s %10s\n", width, name, size);
    }

  printf ("\nSQNR of the quantized logits against the float logits on the calibration data:\n");
  printf ("  %-32s %10s\n", "model", "SQNR (dB)");
  printf ("  %-32s %10.2f\n", "base", base_sqnr);
  for (guint i = 0; i < adapters->len; i++)
    {
      AdapterInfo *info = g_ptr_array_index (adapters, i);
      g_autofree char *label = g_strdup_printf ("base + %s", info->name);

      printf ("  %-32s %10.2f\n", label, info->sqnr_db);
    }
  fflush (stdout);
}

static void
add_file (GPtrArray  *files,
          const char *name)
{
  g_ptr_array_add (files, g_strdup (name));
}

gboolean
peftq_tool_run_quantize (PeftqToolQuantOptions  *options,
                         GError                **error)
{
  g_autoptr(GPtrArray) adapters = g_ptr_array_new_with_free_func (adapter_info_free);
  g_autoptr(GPtrArray) union_keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) layer_data = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                            (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) union_layers = NULL;
  g_autoptr(PeftqTensor) ids = NULL;
  g_autoptr(PeftqTensor) dummy = NULL;
  g_autoptr(PeftqCausalLM) lm = NULL;
  g_autoptr(PeftqPeftModel) model = NULL;
  g_autoptr(PeftqLoraConfig) union_config = NULL;
  g_autoptr(GHashTable) meta = NULL;
  g_autoptr(PeftqPeftQuantUtils) utils = NULL;
  g_autoptr(PeftqQuantSim) sim = NULL;
  g_autoptr(PeftqTensor) base_float = NULL;
  g_autoptr(PeftqTensor) base_quantized = NULL;
  g_autofree char *onnx_path = NULL;
  g_autofree char *summary_path = NULL;
  Progress progress = { 0 };
  guint rank = 0;
  guint n_replaced = 0;
  double base_sqnr;
  guint lora_param_bw, lora_output_bw;
  gboolean set_lora_bw;

  if (!peftq_tool_quant_options_check (options, error))
    return FALSE;
  if (options->adapters == NULL || options->adapters[0] == NULL)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "quantize needs at least one --adapter NAME=DIR");
      return FALSE;
    }
  for (guint i = 0; options->adapters[i] != NULL; i++)
    {
      AdapterInfo *info = g_new0 (AdapterInfo, 1);

      g_ptr_array_add (adapters, info);
      if (!parse_adapter_spec (options->adapters[i], &info->name, &info->dir, error))
        return FALSE;
      for (guint j = 0; j + 1 < adapters->len; j++)
        {
          if (strcmp (((AdapterInfo *) g_ptr_array_index (adapters, j))->name, info->name) == 0)
            {
              g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                           "--adapter: the name %s is given twice", info->name);
              return FALSE;
            }
        }
    }

  progress.tty = isatty (STDOUT_FILENO);
  progress.total = 5 + 2 * adapters->len;

  /* Inputs first, so that bad input fails before anything is written. */
  ids = peftq_load_token_ids (options->calibration, error);
  if (ids == NULL || !check_calibration_ids (ids, options->calibration, error))
    return FALSE;
  if (!check_output_dir (options->output_dir, error))
    return FALSE;
  if (!read_adapters (options->model_dir, adapters, ids, union_keys, layer_data, &rank, error))
    return FALSE;
  progress_step (&progress, "Read the model, the adapters and the calibration data");

  /* Steps 1 and 2 on the union graph: LoRA on every module that some adapter targets, at
   * the largest rank. The alpha does not matter: every adapter sets its own scaling. */
  g_ptr_array_add (union_keys, NULL);
  union_config = peftq_lora_config_new (rank, rank, (const char *const *) union_keys->pdata);
  g_ptr_array_remove_index (union_keys, union_keys->len - 1);
  lm = peftq_causal_lm_load (options->model_dir, error);
  if (lm == NULL)
    return FALSE;
  model = peftq_get_peft_model (PEFTQ_MODULE (lm), union_config, NULL, error);
  if (model == NULL ||
      !peftq_replace_lora_layers_with_quantizable_layers (PEFTQ_MODULE (model), &n_replaced, error))
    return FALSE;
  union_layers = peftq_list_lora_layers (PEFTQ_MODULE (model));
  if (union_layers->len != union_keys->len)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_FAILED,
                   "The union graph has %u LoRA layers where the adapters target %u modules",
                   union_layers->len, union_keys->len);
      return FALSE;
    }
  if (!pad_adapters (adapters, union_layers, layer_data, error))
    return FALSE;
  g_hash_table_remove_all (layer_data);

  /* Float logits of the base (zero adapters) and of each padded adapter. */
  for (guint l = 0; l < union_layers->len; l++)
    peftq_lora_layer_zero_adapter_weights (g_ptr_array_index (union_layers, l), 0);
  set_scalings (union_layers, NULL);
  base_float = float_forward (PEFTQ_MODULE (model), ids, error);
  if (base_float == NULL)
    return FALSE;

  /* Step 3 for each adapter, with its padded weights. */
  for (guint i = 0; i < adapters->len; i++)
    {
      AdapterInfo *info = g_ptr_array_index (adapters, i);
      g_autofree char *prefix = g_strconcat ("lora_weights_after_adaptation_for_", info->name, NULL);
      g_autofree char *file_name = g_strconcat (prefix, ".safetensor", NULL);
      g_autoptr(PeftqTensor) padded_logits = NULL;

      if (!load_adapter_into (info, union_layers, error))
        return FALSE;
      padded_logits = float_forward (PEFTQ_MODULE (model), ids, error);
      if (padded_logits == NULL)
        return FALSE;
      info->padding_max_abs_diff = max_abs_diff (padded_logits, info->float_logits,
                                                 &info->padding_max_rel_diff);
      /* The SQNR compares against the float logits of the graph that is quantized. */
      g_set_object (&info->float_logits, padded_logits);
      if (!peftq_save_lora_weights_after_adaptation (PEFTQ_MODULE (model), options->output_dir, prefix, error))
        return FALSE;
      add_file (files, file_name);
    }

  /* Steps 4 and 5. */
  meta = peftq_track_lora_meta_data (PEFTQ_MODULE (model), options->output_dir, "meta_data", G_TYPE_NONE, error);
  if (meta == NULL)
    return FALSE;
  add_file (files, "meta_data.json");
  utils = peftq_peft_quant_utils_new (meta, NULL);
  progress_step (&progress, "Built the union graph and saved the padded adapter weights");

  dummy = make_dummy_input (ids, 16, error);
  if (dummy == NULL)
    return FALSE;
  sim = peftq_tool_new_quant_sim (PEFTQ_MODULE (model), dummy, options, error);
  if (sim == NULL)
    return FALSE;

  /* Steps 6 and 7. */
  peftq_peft_quant_utils_disable_lora_adapters (utils, sim);
  set_scalings (union_layers, NULL);
  if (!peftq_quant_sim_compute_encodings_for_tensor (sim, ids, (guint) options->batch_size, NULL, error))
    return FALSE;
  base_quantized = peftq_quant_sim_forward (sim, ids, NULL, error);
  if (base_quantized == NULL)
    return FALSE;
  base_sqnr = compute_sqnr_db (base_float, base_quantized);
  g_clear_object (&base_quantized);
  peftq_peft_quant_utils_freeze_base_model_param_quantizers (utils, sim);
  progress_step (&progress, "Calibrated the base model");

  /* Step 8. */
  if (!peftq_quant_sim_export (sim, options->output_dir, "model", dummy, TRUE, "base_encodings", error))
    {
      g_prefix_error (error, "ONNX export of the base model: ");
      return FALSE;
    }
  onnx_path = g_build_filename (options->output_dir, "model.onnx", NULL);
  add_file (files, "model.onnx");
  {
    g_autofree char *data_path = g_strconcat (onnx_path, ".data", NULL);

    if (g_file_test (data_path, G_FILE_TEST_EXISTS))
      add_file (files, "model.onnx.data");
  }
  add_file (files, "base_encodings.encodings");
  add_file (files, "base_encodings_torch.encodings");
  progress_step (&progress, "Exported model.onnx and the base encodings");

  lora_param_bw = options->lora_param_bw != 0 ? (guint) options->lora_param_bw
                  : peftq_quant_sim_get_default_param_bw (sim);
  lora_output_bw = options->lora_output_bw != 0 ? (guint) options->lora_output_bw
                   : peftq_quant_sim_get_default_output_bw (sim);
  set_lora_bw = lora_param_bw != peftq_quant_sim_get_default_param_bw (sim) ||
                lora_output_bw != peftq_quant_sim_get_default_output_bw (sim);

  for (guint i = 0; i < adapters->len; i++)
    {
      AdapterInfo *info = g_ptr_array_index (adapters, i);
      g_autofree char *weights_in = g_strconcat (options->output_dir, G_DIR_SEPARATOR_S,
                                                 "lora_weights_after_adaptation_for_", info->name,
                                                 ".safetensor", NULL);
      g_autofree char *weights_prefix = g_strconcat (info->name, "_weights", NULL);
      g_autofree char *weights_name = g_strconcat (weights_prefix, ".safetensor", NULL);
      g_autofree char *weights_out = g_build_filename (options->output_dir, weights_name, NULL);
      g_autofree char *label = NULL;
      g_autoptr(PeftqTensor) quantized = NULL;

      /* Step 9, and the adapter's own scalings. */
      if (!peftq_peft_quant_utils_enable_adapter_and_load_weights (utils, sim, weights_in, error))
        return FALSE;
      set_scalings (union_layers, info->scalings);

      /* Step 10. */
      if (set_lora_bw &&
          !peftq_peft_quant_utils_set_bitwidth_for_lora_adapters (utils, sim, lora_output_bw, lora_param_bw, error))
        return FALSE;

      /* Step 11. */
      if (!peftq_quant_sim_compute_encodings_for_tensor (sim, ids, (guint) options->batch_size, NULL, error))
        return FALSE;
      quantized = peftq_quant_sim_forward (sim, ids, NULL, error);
      if (quantized == NULL)
        return FALSE;
      info->sqnr_db = compute_sqnr_db (info->float_logits, quantized);
      g_clear_object (&info->float_logits);
      label = g_strdup_printf ("Calibrated adapter %s", info->name);
      progress_step (&progress, label);

      if (!peftq_quant_sim_export (sim, options->output_dir, "model", NULL, FALSE, info->name, error) ||
          !peftq_peft_quant_utils_export_adapter_weights (utils, sim, options->output_dir, weights_prefix,
                                                          onnx_path, error) ||
          !add_scalings_to_weights (weights_out, info, union_layers, error))
        return FALSE;
      {
        g_autofree char *enc = g_strconcat (info->name, ".encodings", NULL);
        g_autofree char *torch_enc = g_strconcat (info->name, "_torch.encodings", NULL);

        add_file (files, enc);
        add_file (files, torch_enc);
      }
      add_file (files, weights_name);
      g_free (label);
      label = g_strdup_printf ("Exported adapter %s", info->name);
      progress_step (&progress, label);
    }

  summary_path = g_build_filename (options->output_dir, "summary.json", NULL);
  if (!write_summary (summary_path, options, adapters, union_keys, union_layers, rank, base_sqnr, files, error))
    return FALSE;
  add_file (files, "summary.json");
  progress_step (&progress, "Wrote summary.json");
  progress_finish (&progress);

  print_summary (options->output_dir, files, adapters, base_sqnr);
  return TRUE;
}

void
peftq_tool_quant_options_clear (PeftqToolQuantOptions *options)
{
  g_clear_pointer (&options->model_dir, g_free);
  g_clear_pointer (&options->adapters, g_strfreev);
  g_clear_pointer (&options->calibration, g_free);
  g_clear_pointer (&options->output_dir, g_free);
  g_clear_pointer (&options->config_path, g_free);
  g_clear_pointer (&options->encodings_version, g_free);
  g_clear_pointer (&options->quant_scheme, g_free);
}

/* The options of the simulation, shared by quantize and forward. */
void
peftq_tool_add_quant_options (GOptionContext        *context,
                              PeftqToolQuantOptions *options,
                              gboolean               with_lora)
{
  const GOptionEntry entries[] = {
    { "param-bw", 0, 0, G_OPTION_ARG_INT, &options->param_bw,
      "Bitwidth in bits of parameter (weight) quantizers, 4 to 32 (default: 8)", "BITS" },
    { "output-bw", 0, 0, G_OPTION_ARG_INT, &options->output_bw,
      "Bitwidth in bits of activation (output) quantizers, 4 to 32 (default: 8)", "BITS" },
    { "per-channel", 0, 0, G_OPTION_ARG_NONE, &options->per_channel,
      "Use AIMET's per-channel default configuration: one encoding per output channel for "
      "weights of ops other than Gemm (Linear), MatMul and LayerNorm; for per-channel Linear "
      "weights, give a --config with per_channel_quantization", NULL },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &options->config_path,
      "AIMET quantsim configuration JSON file (default: AIMET's default configuration)", "FILE" },
    { "quant-scheme", 0, 0, G_OPTION_ARG_STRING, &options->quant_scheme,
      "How ranges are calibrated: tf (min-max), tf_enhanced (SQNR search) or percentile "
      "(default: tf_enhanced)", "SCHEME" },
    G_OPTION_ENTRY_NULL,
  };
  const GOptionEntry lora_entries[] = {
    { "lora-param-bw", 0, 0, G_OPTION_ARG_INT, &options->lora_param_bw,
      "Bitwidth in bits of the lora_A and lora_B weight quantizers (default: --param-bw)", "BITS" },
    { "lora-output-bw", 0, 0, G_OPTION_ARG_INT, &options->lora_output_bw,
      "Bitwidth in bits of the lora_A and lora_B output quantizers (default: --output-bw)", "BITS" },
    { "encodings-version", 0, 0, G_OPTION_ARG_STRING, &options->encodings_version,
      "Layout of the encodings files: 0.6.1 or 1.0.0 (default: 0.6.1)", "VERSION" },
    { "batch-size", 0, 0, G_OPTION_ARG_INT, &options->batch_size,
      "Calibration sequences per forward pass (default: 0, all in one pass)", "N" },
    G_OPTION_ENTRY_NULL,
  };

  g_option_context_add_main_entries (context, entries, NULL);
  if (with_lora)
    g_option_context_add_main_entries (context, lora_entries, NULL);
}

int
peftq_tool_quantize (int    argc,
                     char **argv)
{
  g_auto(PeftqToolQuantOptions) options = { 0 };
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &options.model_dir, "Hugging Face model folder", "DIR" },
    { "adapter", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &options.adapters,
      "PEFT LoRA adapter folder DIR, exported under NAME (repeatable)", "NAME=DIR" },
    { "calibration", 'c', 0, G_OPTION_ARG_FILENAME, &options.calibration,
      "Calibration token ids: JSON (a list of lists) or safetensors (int64 or int32 tensor "
      "input_ids [sequences, tokens])", "FILE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &options.output_dir,
      "Folder to write the bundle to (created if needed)", "DIR" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;

  g_option_context_set_summary (context,
                                "Quantize a model and its LoRA adapters as AIMET's PEFT flow does, and "
                                "write the bundle: model.onnx, base_encodings.encodings, "
                                "base_encodings_torch.encodings, meta_data.json, and for each adapter NAME "
                                "lora_weights_after_adaptation_for_NAME.safetensor, NAME.encodings, "
                                "NAME_torch.encodings and NAME_weights.safetensor, plus summary.json.\n\n"
                                "All adapters share one graph: LoRA on the union of their target modules "
                                "at the largest rank, each adapter zero-padded. Each adapter's weights file "
                                "also holds its scaling per LoRA layer (<layer>.mul_scale.scaling).");
  g_option_context_add_main_entries (context, entries, NULL);
  peftq_tool_add_quant_options (context, &options, TRUE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      peftq_tool_print_error (error);
      return 2;
    }
  if (!peftq_tool_check_no_arguments (argc, argv, &error))
    {
      peftq_tool_print_error (error);
      return 2;
    }
  if (options.model_dir == NULL || options.calibration == NULL || options.output_dir == NULL ||
      options.adapters == NULL)
    {
      g_printerr ("peftq: quantize needs --model DIR, --adapter NAME=DIR (one or more), "
                  "--calibration FILE and --output DIR; run “peftq quantize --help”\n");
      return 2;
    }
  if (!peftq_tool_check_adapter_specs (options.adapters, NULL, &error) ||
      !peftq_tool_quant_options_check (&options, &error))
    {
      peftq_tool_print_error (error);
      return 2;
    }

  if (!peftq_tool_run_quantize (&options, &error))
    {
      peftq_tool_print_error (error);
      return 1;
    }
  return 0;
}
