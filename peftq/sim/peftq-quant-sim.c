/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-quant-sim.h"
#include "peftq-quant-sim-private.h"

#include "peftq-affine-quantizer.h"
#include "peftq-encodings-file.h"
#include "peftq-error.h"
#include "peftq-forward-context-private.h"
#include "peftq-min-max-analyzer.h"
#include "peftq-onnx-builder-private.h"
#include "peftq-onnx-export-private.h"
#include "peftq-percentile-analyzer.h"
#include "peftq-sqnr-analyzer.h"
#include "peftq-token-ids.h"
#include "peftq-file-private.h"

#include <string.h>

/**
 * PeftqQuantSim:
 *
 * A quantization simulation of a module tree, AIMET's `QuantizationSimModel`.
 *
 * [ctor@Peftq.QuantSim.new] fills the quantizer slots of every leaf module of the model
 * (every module with an op type) from a [class@Peftq.QuantsimConfig], following AIMET's
 * placement rules:
 *
 * - each weight gets a parameter quantizer at the default parameter bitwidth,
 *   symmetric unless the configuration sets otherwise, per channel on axis 0 when the
 *   configuration asks for it and the weight has two axes or more; biases get none;
 * - each op gets an output quantizer at the default output bitwidth, asymmetric unless
 *   the configuration says otherwise, except the op types whose output the
 *   configuration leaves unquantized (Gather, that is Embedding, and Dropout in the
 *   default configuration), and except every op but the last of a supergroup;
 * - an input that is the model input gets an input quantizer when the configuration
 *   quantizes model inputs, unless it holds integers (token ids) or a single value
 *   (such as the LoRA scaling). Finding model inputs and supergroups needs one forward
 *   pass on a dummy input; without one, no input quantizer is placed and supergroups
 *   are not applied.
 *
 * The simulation works on the model in place: AIMET works on a deep copy. The
 * quantizers stay in the model's slots after the simulation is freed.
 *
 * Quantizers are named after their module and slot: `<module>.<param>`,
 * `<module>.input.<i>`, `<module>.output` for output 0 and `<module>.output.<i>` for
 * the others, for example `base_model.model.linear.lora_A.0.weight`. The simulation
 * re-emits the `encoding-changed` signal of each of its quantizers as its own detailed
 * [signal@Peftq.QuantSim::encoding-changed], so that one connection can follow the whole
 * model or, with the quantizer name as detail, one quantizer.
 *
 * Since: 1.0
 */

#define DEFAULT_PERCENTILE 100.0
#define HISTOGRAM_BINS 2048

struct _PeftqQuantSim
{
  GObject parent_instance;

  PeftqModule *model;
  PeftqQuantsimConfig *config;
  PeftqQuantScheme quant_scheme;
  guint default_output_bw;
  guint default_param_bw;
  double percentile;
  char *encodings_version;

  GHashTable *relays;          /* PeftqQuantizer (ref) -> handler id */
  gboolean calibrating;
};

G_DEFINE_FINAL_TYPE (PeftqQuantSim, peftq_quant_sim, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_CONFIG,
  PROP_QUANT_SCHEME,
  PROP_DEFAULT_OUTPUT_BW,
  PROP_DEFAULT_PARAM_BW,
  PROP_PERCENTILE_VALUE,
  PROP_ENCODINGS_VERSION,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_ENCODING_CHANGED,
  SIGNAL_PROGRESS,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

/* Scheme names. */

static const struct
{
  const char *name;
  const char *aimet_name;
} scheme_names[] = {
  [PEFTQ_QUANT_SCHEME_TF] = { "tf", "post_training_tf" },
  [PEFTQ_QUANT_SCHEME_TF_ENHANCED] = { "tf_enhanced", "post_training_tf_enhanced" },
  [PEFTQ_QUANT_SCHEME_PERCENTILE] = { "percentile", "post_training_percentile" },
};

/**
 * peftq_quant_scheme_from_string:
 * @name: `tf`, `tf_enhanced` or `percentile`, or AIMET's enum names such as
 *   `post_training_tf`
 * @out_scheme: (out): return location for the scheme
 * @error: return location for a #GError
 *
 * Parses a quant scheme name as AIMET's `QuantizationSimModel` accepts it.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set for an unknown name
 *
 * Since: 1.0
 */
gboolean
peftq_quant_scheme_from_string (const char        *name,
                                PeftqQuantScheme  *out_scheme,
                                GError           **error)
{
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (out_scheme != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (scheme_names); i++)
    {
      if (g_str_equal (name, scheme_names[i].name) || g_str_equal (name, scheme_names[i].aimet_name))
        {
          *out_scheme = (PeftqQuantScheme) i;
          return TRUE;
        }
    }

  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
               "Unknown quant scheme “%s”: use tf, tf_enhanced or percentile", name);
  return FALSE;
}

/**
 * peftq_quant_scheme_to_string:
 * @scheme: a quant scheme
 *
 * Gets the short name of a quant scheme: `tf`, `tf_enhanced` or `percentile`.
 *
 * Returns: the name
 *
 * Since: 1.0
 */
const char *
peftq_quant_scheme_to_string (PeftqQuantScheme scheme)
{
  g_return_val_if_fail ((guint) scheme < G_N_ELEMENTS (scheme_names), NULL);

  return scheme_names[scheme].name;
}

/* Slots. */

static void
sim_slot_free (gpointer data)
{
  PeftqSimSlot *slot = data;

  g_free (slot->name);
  g_free (slot->module_name);
  g_free (slot->param);
  g_clear_object (&slot->module);
  g_clear_object (&slot->quantizer);
  g_free (slot);
}

static char *
slot_name (const char       *module_name,
           PeftqSimSlotKind  kind,
           guint             index,
           const char       *param)
{
  const char *sep = *module_name != '\0' ? "." : "";

  switch (kind)
    {
    case PEFTQ_SIM_SLOT_PARAM:
      return g_strconcat (module_name, sep, param, NULL);
    case PEFTQ_SIM_SLOT_INPUT:
      return g_strdup_printf ("%s%sinput.%u", module_name, sep, index);
    case PEFTQ_SIM_SLOT_OUTPUT:
    default:
      if (index == 0)
        return g_strdup_printf ("%s%soutput", module_name, sep);
      return g_strdup_printf ("%s%soutput.%u", module_name, sep, index);
    }
}

static void
add_slot (GPtrArray        *slots,
          PeftqModule      *module,
          const char       *module_name,
          PeftqSimSlotKind  kind,
          guint             index,
          const char       *param,
          PeftqQuantizer   *quantizer)
{
  PeftqSimSlot *slot = g_new0 (PeftqSimSlot, 1);

  slot->module = g_object_ref (module);
  slot->module_name = g_strdup (module_name);
  slot->kind = kind;
  slot->index = index;
  slot->param = g_strdup (param);
  slot->quantizer = g_object_ref (quantizer);
  slot->name = slot_name (module_name, kind, index, param);
  g_ptr_array_add (slots, slot);
}

static void
on_quantizer_encoding_changed (PeftqQuantizer *quantizer,
                               PeftqQuantSim  *self)
{
  const char *name = peftq_quantizer_get_name (quantizer);

  g_signal_emit (self, signals[SIGNAL_ENCODING_CHANGED],
                 name != NULL ? g_quark_from_string (name) : 0,
                 name, quantizer);
}

static void
disconnect_relay (gpointer key,
                  gpointer value,
                  gpointer user_data)
{
  gulong handler = (gulong) GPOINTER_TO_SIZE (value);

  g_signal_handler_disconnect (key, handler);
}

static void
sync_relays (PeftqQuantSim *self,
             GPtrArray     *slots)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < slots->len; i++)
    {
      PeftqSimSlot *slot = g_ptr_array_index (slots, i);
      const char *current = peftq_quantizer_get_name (slot->quantizer);

      if (g_hash_table_contains (seen, slot->quantizer))
        continue;
      g_hash_table_add (seen, slot->quantizer);

      if (g_strcmp0 (current, slot->name) != 0)
        peftq_quantizer_set_name (slot->quantizer, slot->name);

      if (!g_hash_table_contains (self->relays, slot->quantizer) &&
          g_signal_lookup ("encoding-changed", G_OBJECT_TYPE (slot->quantizer)) != 0)
        {
          gulong handler = g_signal_connect_object (slot->quantizer, "encoding-changed",
                                                    G_CALLBACK (on_quantizer_encoding_changed),
                                                    self, 0);

          g_hash_table_insert (self->relays, g_object_ref (slot->quantizer),
                               GSIZE_TO_POINTER ((gsize) handler));
        }
    }

  g_hash_table_iter_init (&iter, self->relays);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (!g_hash_table_contains (seen, key))
        {
          disconnect_relay (key, value, NULL);
          g_hash_table_iter_remove (&iter);
        }
    }
}

GPtrArray *
peftq_quant_sim_collect_slots (PeftqQuantSim *self)
{
  g_autoptr(GPtrArray) modules = NULL;
  g_auto(GStrv) names = NULL;
  GPtrArray *slots;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), NULL);

  slots = g_ptr_array_new_with_free_func (sim_slot_free);
  modules = peftq_module_list_modules (self->model);
  names = peftq_module_list_module_names (self->model);

  for (guint m = 0; m < modules->len; m++)
    {
      PeftqModule *module = g_ptr_array_index (modules, m);
      g_auto(GStrv) params = peftq_module_list_parameter_names (module);
      guint n;

      for (guint p = 0; params != NULL && params[p] != NULL; p++)
        {
          PeftqQuantizer *q = peftq_module_get_param_quantizer (module, params[p]);

          if (q != NULL)
            add_slot (slots, module, names[m], PEFTQ_SIM_SLOT_PARAM, 0, params[p], q);
        }

      n = peftq_module_get_n_input_quantizers (module);
      for (guint i = 0; i < n; i++)
        {
          PeftqQuantizer *q = peftq_module_get_input_quantizer (module, i);

          if (q != NULL)
            add_slot (slots, module, names[m], PEFTQ_SIM_SLOT_INPUT, i, NULL, q);
        }

      n = peftq_module_get_n_output_quantizers (module);
      for (guint i = 0; i < n; i++)
        {
          PeftqQuantizer *q = peftq_module_get_output_quantizer (module, i);

          if (q != NULL)
            add_slot (slots, module, names[m], PEFTQ_SIM_SLOT_OUTPUT, i, NULL, q);
        }
    }

  sync_relays (self, slots);
  return slots;
}

GPtrArray *
peftq_quant_sim_list_quantized_modules (PeftqQuantSim   *self,
                                        char          ***out_names)
{
  g_autoptr(GPtrArray) modules = peftq_module_list_modules (self->model);
  g_auto(GStrv) names = peftq_module_list_module_names (self->model);
  GPtrArray *result = g_ptr_array_new ();
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint m = 0; m < modules->len; m++)
    {
      PeftqModule *module = g_ptr_array_index (modules, m);

      if (peftq_module_get_op_type (module) == NULL)
        continue;
      g_ptr_array_add (result, module);
      g_strv_builder_add (builder, names[m]);
    }

  if (out_names != NULL)
    *out_names = g_strv_builder_end (builder);
  return result;
}

gboolean
peftq_quant_sim_check_idle (PeftqQuantSim  *self,
                            GError        **error)
{
  if (!self->calibrating)
    return TRUE;

  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_FAILED,
               "The quantization simulation is computing encodings: wait until the "
               "calibration finishes");
  return FALSE;
}

static PeftqSimSlot *
find_slot (GPtrArray  *slots,
           const char *name)
{
  for (guint i = 0; i < slots->len; i++)
    {
      PeftqSimSlot *slot = g_ptr_array_index (slots, i);

      if (g_str_equal (slot->name, name))
        return slot;
    }

  return NULL;
}

/* GObject. */

static void
peftq_quant_sim_dispose (GObject *object)
{
  PeftqQuantSim *self = PEFTQ_QUANT_SIM (object);

  if (self->relays != NULL)
    {
      g_hash_table_foreach (self->relays, disconnect_relay, NULL);
      g_hash_table_remove_all (self->relays);
    }
  g_clear_object (&self->model);
  g_clear_object (&self->config);

  G_OBJECT_CLASS (peftq_quant_sim_parent_class)->dispose (object);
}

static void
peftq_quant_sim_finalize (GObject *object)
{
  PeftqQuantSim *self = PEFTQ_QUANT_SIM (object);

  g_clear_pointer (&self->relays, g_hash_table_unref);
  g_free (self->encodings_version);

  G_OBJECT_CLASS (peftq_quant_sim_parent_class)->finalize (object);
}

static void
peftq_quant_sim_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  PeftqQuantSim *self = PEFTQ_QUANT_SIM (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;
    case PROP_CONFIG:
      g_value_set_object (value, self->config);
      break;
    case PROP_QUANT_SCHEME:
      g_value_set_string (value, peftq_quant_scheme_to_string (self->quant_scheme));
      break;
    case PROP_DEFAULT_OUTPUT_BW:
      g_value_set_uint (value, self->default_output_bw);
      break;
    case PROP_DEFAULT_PARAM_BW:
      g_value_set_uint (value, self->default_param_bw);
      break;
    case PROP_PERCENTILE_VALUE:
      g_value_set_double (value, self->percentile);
      break;
    case PROP_ENCODINGS_VERSION:
      g_value_set_string (value, self->encodings_version);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
peftq_quant_sim_class_init (PeftqQuantSimClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = peftq_quant_sim_dispose;
  object_class->finalize = peftq_quant_sim_finalize;
  object_class->get_property = peftq_quant_sim_get_property;

  /**
   * PeftqQuantSim:model:
   *
   * The simulated model, whose quantizer slots the simulation filled.
   *
   * Since: 1.0
   */
  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, PEFTQ_TYPE_MODULE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqQuantSim:config:
   *
   * The quantsim configuration used for the placement.
   *
   * Since: 1.0
   */
  properties[PROP_CONFIG] =
    g_param_spec_object ("config", NULL, NULL, PEFTQ_TYPE_QUANTSIM_CONFIG,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqQuantSim:quant-scheme:
   *
   * The name of the quant scheme: `tf`, `tf_enhanced` or `percentile`.
   *
   * Since: 1.0
   */
  properties[PROP_QUANT_SCHEME] =
    g_param_spec_string ("quant-scheme", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqQuantSim:default-output-bw:
   *
   * The bitwidth of the activation quantizers at placement.
   *
   * Since: 1.0
   */
  properties[PROP_DEFAULT_OUTPUT_BW] =
    g_param_spec_uint ("default-output-bw", NULL, NULL, 4, 32, 8,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqQuantSim:default-param-bw:
   *
   * The bitwidth of the parameter quantizers at placement.
   *
   * Since: 1.0
   */
  properties[PROP_DEFAULT_PARAM_BW] =
    g_param_spec_uint ("default-param-bw", NULL, NULL, 4, 32, 8,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqQuantSim:percentile-value:
   *
   * The percentile of the percentile scheme, 50 to 100.
   *
   * Since: 1.0
   */
  properties[PROP_PERCENTILE_VALUE] =
    g_param_spec_double ("percentile-value", NULL, NULL, 50.0, 100.0, DEFAULT_PERCENTILE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PeftqQuantSim:encodings-version:
   *
   * The version of the encodings files that export writes: `0.6.1` (the default) or
   * `1.0.0`.
   *
   * Since: 1.0
   */
  properties[PROP_ENCODINGS_VERSION] =
    g_param_spec_string ("encodings-version", NULL, NULL, PEFTQ_ENCODINGS_VERSION_0_6_1,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PeftqQuantSim::encoding-changed:
   * @self: the simulation
   * @name: the quantizer name
   * @quantizer: the quantizer
   *
   * Emitted whenever the encoding of one of the simulation's quantizers changes, with
   * the quantizer name as detail: `encoding-changed::base_model.model.linear.output`
   * follows one quantizer. A quantizer placed in a module slot by hand is followed from
   * the next call of the simulation that lists quantizers.
   *
   * Since: 1.0
   */
  signals[SIGNAL_ENCODING_CHANGED] =
    g_signal_new ("encoding-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, PEFTQ_TYPE_QUANTIZER);

  /**
   * PeftqQuantSim::progress:
   * @self: the simulation
   * @done: the number of calibration batches run
   * @total: the number of calibration batches
   *
   * Emitted after each calibration batch of the dataset variants of compute_encodings,
   * in the main context of the caller.
   *
   * Since: 1.0
   */
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);
}

static void
peftq_quant_sim_init (PeftqQuantSim *self)
{
  self->relays = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->percentile = DEFAULT_PERCENTILE;
  self->encodings_version = g_strdup (PEFTQ_ENCODINGS_VERSION_0_6_1);
}

/* Placement. */

typedef struct
{
  PeftqModule *module;
  GPtrArray *inputs;      /* of PeftqTensor, references */
  PeftqTensor *output;
} TraceRecord;

static void
trace_record_free (gpointer data)
{
  TraceRecord *record = data;

  g_ptr_array_unref (record->inputs);
  g_clear_object (&record->output);
  g_free (record);
}

static void
record_call (PeftqModule  *module,
             PeftqTensor **inputs,
             guint         n_inputs,
             PeftqTensor  *output,
             gpointer      user_data)
{
  GPtrArray *records = user_data;
  TraceRecord *record;

  if (peftq_module_get_op_type (module) == NULL)
    return;

  record = g_new0 (TraceRecord, 1);
  record->module = module;
  record->inputs = g_ptr_array_new_full (n_inputs, g_object_unref);
  for (guint i = 0; i < n_inputs; i++)
    g_ptr_array_add (record->inputs, g_object_ref (inputs[i]));
  record->output = output != NULL ? g_object_ref (output) : NULL;
  g_ptr_array_add (records, record);
}

static gboolean
make_analyzer (PeftqQuantSim          *self,
               PeftqAffineQuantizer   *quantizer,
               GError                **error)
{
  g_autoptr(PeftqEncodingAnalyzer) analyzer = NULL;

  switch (self->quant_scheme)
    {
    case PEFTQ_QUANT_SCHEME_TF:
      return TRUE;  /* the quantizer's own min-max analyzer */
    case PEFTQ_QUANT_SCHEME_TF_ENHANCED:
      analyzer = peftq_sqnr_analyzer_new (HISTOGRAM_BINS);
      break;
    case PEFTQ_QUANT_SCHEME_PERCENTILE:
    default:
      analyzer = peftq_percentile_analyzer_new (HISTOGRAM_BINS);
      if (!peftq_percentile_analyzer_set_percentile (PEFTQ_PERCENTILE_ANALYZER (analyzer),
                                                     self->percentile, error))
        return FALSE;
      break;
    }

  return peftq_affine_quantizer_set_encoding_analyzer (quantizer, analyzer, error);
}

static PeftqAffineQuantizer *
make_quantizer (PeftqQuantSim  *self,
                guint           bitwidth,
                gboolean        symmetric,
                PeftqTensor    *per_channel_weight,
                GError        **error)
{
  g_autoptr(PeftqAffineQuantizer) quantizer = NULL;

  if (per_channel_weight != NULL)
    quantizer = peftq_affine_quantizer_new_per_channel (bitwidth, symmetric,
                                                        peftq_tensor_get_dim (per_channel_weight, 0),
                                                        0, peftq_tensor_get_rank (per_channel_weight),
                                                        error);
  else
    quantizer = peftq_affine_quantizer_new (bitwidth, symmetric);

  if (quantizer == NULL || !make_analyzer (self, quantizer, error))
    return NULL;

  return g_steal_pointer (&quantizer);
}

/* Finds chains of the supergroups in the trace: the output of each op but the last is
 * read only by the next op of the chain. */
static void
apply_supergroups (PeftqQuantSim *self,
                   GPtrArray     *records,
                   GHashTable    *no_output,
                   GHashTable    *no_input)
{
  g_autoptr(GHashTable) consumers = g_hash_table_new_full (NULL, NULL, NULL,
                                                           (GDestroyNotify) g_ptr_array_unref);
  guint n_groups = peftq_quantsim_config_get_n_supergroups (self->config);

  for (guint r = 0; r < records->len; r++)
    {
      TraceRecord *record = g_ptr_array_index (records, r);

      for (guint i = 0; i < record->inputs->len; i++)
        {
          gpointer tensor = g_ptr_array_index (record->inputs, i);
          GPtrArray *list = g_hash_table_lookup (consumers, tensor);

          if (list == NULL)
            {
              list = g_ptr_array_new ();
              g_hash_table_insert (consumers, tensor, list);
            }
          g_ptr_array_add (list, record);
        }
    }

  for (guint g = 0; g < n_groups; g++)
    {
      g_auto(GStrv) ops = peftq_quantsim_config_get_supergroup (self->config, g);
      guint n_ops = ops != NULL ? g_strv_length (ops) : 0;

      if (n_ops < 2)
        continue;

      for (guint r = 0; r < records->len; r++)
        {
          TraceRecord *chain[16];
          TraceRecord *current = g_ptr_array_index (records, r);
          guint k;

          if (n_ops > G_N_ELEMENTS (chain) ||
              g_strcmp0 (peftq_module_get_op_type (current->module), ops[0]) != 0)
            continue;

          chain[0] = current;
          for (k = 1; k < n_ops; k++)
            {
              GPtrArray *list = current->output != NULL ? g_hash_table_lookup (consumers, current->output) : NULL;
              TraceRecord *next;

              if (list == NULL || list->len != 1)
                break;
              next = g_ptr_array_index (list, 0);
              if (g_strcmp0 (peftq_module_get_op_type (next->module), ops[k]) != 0)
                break;
              chain[k] = next;
              current = next;
            }
          if (k < n_ops)
            continue;

          for (k = 0; k < n_ops; k++)
            {
              if (k + 1 < n_ops)
                g_hash_table_add (no_output, chain[k]->module);
              if (k > 0)
                g_hash_table_add (no_input, chain[k]->module);
            }
        }
    }
}

static gboolean
place_quantizers (PeftqQuantSim  *self,
                  PeftqTensor    *dummy_input,
                  GPtrArray      *records,
                  GError        **error)
{
  g_autoptr(GHashTable) no_output = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) no_input = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) first_record = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) modules = NULL;
  g_auto(GStrv) names = NULL;
  gboolean model_input_quantized = peftq_quantsim_config_is_model_input_quantized (self->config);

  if (records != NULL)
    {
      apply_supergroups (self, records, no_output, no_input);
      for (guint r = 0; r < records->len; r++)
        {
          TraceRecord *record = g_ptr_array_index (records, r);

          if (!g_hash_table_contains (first_record, record->module))
            g_hash_table_insert (first_record, record->module, record);
        }
    }

  modules = peftq_quant_sim_list_quantized_modules (self, &names);
  for (guint m = 0; m < modules->len; m++)
    {
      PeftqModule *module = g_ptr_array_index (modules, m);
      const char *op = peftq_module_get_op_type (module);
      g_auto(GStrv) params = peftq_module_list_parameter_names (module);
      TraceRecord *record = g_hash_table_lookup (first_record, module);
      double range_min, range_max;

      for (guint p = 0; params != NULL && params[p] != NULL; p++)
        {
          const char *kind = g_str_equal (params[p], "bias") ? "bias" : "weight";
          PeftqTensor *value = peftq_module_get_parameter (module, params[p]);
          g_autoptr(PeftqAffineQuantizer) q = NULL;
          gboolean per_channel;

          /* AIMET removes every bias quantizer, whatever the configuration sets. */
          if (g_str_equal (kind, "bias") ||
              !peftq_quantsim_config_is_param_quantized (self->config, op, kind))
            continue;

          per_channel = value != NULL && peftq_tensor_get_rank (value) >= 2 &&
                        peftq_quantsim_config_is_per_channel (self->config, op);
          q = make_quantizer (self, self->default_param_bw,
                              peftq_quantsim_config_is_param_symmetric (self->config, op, kind),
                              per_channel ? value : NULL, error);
          if (q == NULL)
            {
              g_prefix_error (error, "Parameter %s.%s: ", names[m], params[p]);
              return FALSE;
            }
          peftq_module_set_param_quantizer (module, params[p], PEFTQ_QUANTIZER (q));
        }

      if (record != NULL && !g_hash_table_contains (no_input, module))
        {
          gboolean op_inputs = peftq_quantsim_config_is_input_quantized (self->config, op);

          for (guint i = 0; i < record->inputs->len; i++)
            {
              PeftqTensor *input = g_ptr_array_index (record->inputs, i);
              g_autoptr(PeftqAffineQuantizer) q = NULL;
              gboolean is_model_input = input == dummy_input && model_input_quantized;

              if (!(is_model_input || op_inputs) ||
                  !peftq_dtype_is_float (peftq_tensor_get_dtype (input)) ||
                  peftq_tensor_get_n_elements (input) <= 1)
                continue;

              q = make_quantizer (self, self->default_output_bw,
                                  peftq_quantsim_config_is_activation_symmetric (self->config, op),
                                  NULL, error);
              if (q == NULL)
                return FALSE;
              peftq_module_set_input_quantizer (module, i, PEFTQ_QUANTIZER (q));
            }
        }

      if (peftq_quantsim_config_is_output_quantized (self->config, op) &&
          !g_hash_table_contains (no_output, module))
        {
          g_autoptr(PeftqAffineQuantizer) q = NULL;

          q = make_quantizer (self, self->default_output_bw,
                              peftq_quantsim_config_is_activation_symmetric (self->config, op),
                              NULL, error);
          if (q == NULL)
            return FALSE;

          if (peftq_quantsim_config_get_encoding_constraints (self->config, op, &range_min, &range_max))
            {
              float lo = (float) range_min, hi = (float) range_max;

              if (!peftq_affine_quantizer_set_range (q, &lo, 1, &hi, 1, error))
                {
                  g_prefix_error (error, "Encoding constraints of op type %s: ", op);
                  return FALSE;
                }
              peftq_affine_quantizer_set_allow_overwrite (q, FALSE);
            }
          peftq_module_set_output_quantizer (module, 0, PEFTQ_QUANTIZER (q));
        }
    }

  return TRUE;
}

static gboolean
model_has_quantizers (PeftqModule  *model,
                      char        **out_name)
{
  g_autoptr(GPtrArray) modules = peftq_module_list_modules (model);
  g_auto(GStrv) names = peftq_module_list_module_names (model);

  for (guint m = 0; m < modules->len; m++)
    {
      PeftqModule *module = g_ptr_array_index (modules, m);
      g_auto(GStrv) params = peftq_module_list_parameter_names (module);
      gboolean found = peftq_module_get_n_input_quantizers (module) > 0 ||
                       peftq_module_get_n_output_quantizers (module) > 0;

      for (guint p = 0; !found && params != NULL && params[p] != NULL; p++)
        found = peftq_module_get_param_quantizer (module, params[p]) != NULL;

      if (found)
        {
          *out_name = g_strdup (*names[m] != '\0' ? names[m] : "(root)");
          return TRUE;
        }
    }

  return FALSE;
}

static gboolean
check_bitwidth (const char  *what,
                guint        bitwidth,
                GError     **error)
{
  if (bitwidth >= 4 && bitwidth <= 32)
    return TRUE;

  g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
               "The default %s bitwidth is %u: it must be 4 to 32", what, bitwidth);
  return FALSE;
}

/**
 * peftq_quant_sim_new:
 * @model: the model to simulate, with no quantizer yet
 * @dummy_input: (nullable): an input of the model, run once to find the ops that read
 *   the model input and the supergroups, or `NULL` to skip both
 * @config: (nullable): the quantsim configuration, or `NULL` for AIMET's default
 * @quant_scheme: how calibration computes encodings; AIMET's default is
 *   %PEFTQ_QUANT_SCHEME_TF_ENHANCED
 * @default_output_bw: the bitwidth of activation quantizers, 4 to 32
 * @default_param_bw: the bitwidth of parameter quantizers, 4 to 32
 * @error: return location for a #GError
 *
 * Creates a quantization simulation of @model and fills the quantizer slots of its
 * modules, as the type description lists. The quantizers are uninitialized until
 * [method@Peftq.QuantSim.compute_encodings] or a load of encodings.
 *
 * Returns: (transfer full): the simulation, or `NULL` with @error set for a bitwidth
 *   out of range, a model that already has quantizers, or a failing dummy forward pass
 *
 * Since: 1.0
 */
PeftqQuantSim *
peftq_quant_sim_new (PeftqModule          *model,
                     PeftqTensor          *dummy_input,
                     PeftqQuantsimConfig  *config,
                     PeftqQuantScheme      quant_scheme,
                     guint                 default_output_bw,
                     guint                 default_param_bw,
                     GError              **error)
{
  g_autoptr(PeftqQuantSim) self = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GPtrArray) slots = NULL;
  g_autofree char *quantized_name = NULL;

  g_return_val_if_fail (PEFTQ_IS_MODULE (model), NULL);
  g_return_val_if_fail (dummy_input == NULL || PEFTQ_IS_TENSOR (dummy_input), NULL);
  g_return_val_if_fail (config == NULL || PEFTQ_IS_QUANTSIM_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((guint) quant_scheme >= G_N_ELEMENTS (scheme_names))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Unknown quant scheme %d", (int) quant_scheme);
      return NULL;
    }
  if (!check_bitwidth ("output", default_output_bw, error) ||
      !check_bitwidth ("parameter", default_param_bw, error))
    return NULL;

  if (model_has_quantizers (model, &quantized_name))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "The model already has quantizers (module “%s”): build a simulation "
                   "from a model without quantizers", quantized_name);
      return NULL;
    }

  self = g_object_new (PEFTQ_TYPE_QUANT_SIM, NULL);
  self->model = g_object_ref (model);
  self->config = config != NULL ? g_object_ref (config) : peftq_quantsim_config_new_default ();
  self->quant_scheme = quant_scheme;
  self->default_output_bw = default_output_bw;
  self->default_param_bw = default_param_bw;

  if (dummy_input != NULL)
    {
      g_autoptr(PeftqForwardContext) context = peftq_forward_context_new ();
      g_autoptr(PeftqTensor) output = NULL;

      records = g_ptr_array_new_with_free_func (trace_record_free);
      peftq_forward_context_set_recorder (context, record_call, g_ptr_array_ref (records),
                                          (GDestroyNotify) g_ptr_array_unref);
      output = peftq_module_forward (model, context, &dummy_input, 1, error);
      if (output == NULL)
        {
          g_prefix_error (error, "The forward pass on the dummy input failed: ");
          return NULL;
        }
    }

  if (!place_quantizers (self, dummy_input, records, error))
    {
      g_autoptr(GPtrArray) modules = peftq_module_list_modules (model);

      for (guint m = 0; m < modules->len; m++)
        peftq_module_clear_quantizers (g_ptr_array_index (modules, m));
      return NULL;
    }

  slots = peftq_quant_sim_collect_slots (self);
  return g_steal_pointer (&self);
}

/* Properties. */

/**
 * peftq_quant_sim_get_model:
 * @self: a simulation
 *
 * Gets the simulated model.
 *
 * Returns: (transfer none): the model
 *
 * Since: 1.0
 */
PeftqModule *
peftq_quant_sim_get_model (PeftqQuantSim *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), NULL);

  return self->model;
}

/**
 * peftq_quant_sim_get_config:
 * @self: a simulation
 *
 * Gets the quantsim configuration of the placement.
 *
 * Returns: (transfer none): the configuration
 *
 * Since: 1.0
 */
PeftqQuantsimConfig *
peftq_quant_sim_get_config (PeftqQuantSim *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), NULL);

  return self->config;
}

/**
 * peftq_quant_sim_get_quant_scheme:
 * @self: a simulation
 *
 * Gets the quant scheme.
 *
 * Returns: the scheme
 *
 * Since: 1.0
 */
PeftqQuantScheme
peftq_quant_sim_get_quant_scheme (PeftqQuantSim *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), PEFTQ_QUANT_SCHEME_TF_ENHANCED);

  return self->quant_scheme;
}

/**
 * peftq_quant_sim_get_default_output_bw:
 * @self: a simulation
 *
 * Gets the bitwidth that activation quantizers got at placement.
 *
 * Returns: the bitwidth
 *
 * Since: 1.0
 */
guint
peftq_quant_sim_get_default_output_bw (PeftqQuantSim *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), 0);

  return self->default_output_bw;
}

/**
 * peftq_quant_sim_get_default_param_bw:
 * @self: a simulation
 *
 * Gets the bitwidth that parameter quantizers got at placement.
 *
 * Returns: the bitwidth
 *
 * Since: 1.0
 */
guint
peftq_quant_sim_get_default_param_bw (PeftqQuantSim *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), 0);

  return self->default_param_bw;
}

/**
 * peftq_quant_sim_get_percentile_value:
 * @self: a simulation
 *
 * Gets the percentile of the percentile scheme.
 *
 * Returns: the percentile, 100 unless set
 *
 * Since: 1.0
 */
double
peftq_quant_sim_get_percentile_value (PeftqQuantSim *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), 0.0);

  return self->percentile;
}

/**
 * peftq_quant_sim_set_percentile_value:
 * @self: a simulation
 * @value: the percentile, 50 to 100
 * @error: return location for a #GError
 *
 * Sets the percentile of every percentile analyzer of the simulation, as AIMET's
 * `set_percentile_value` does. It has no effect on the other schemes.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set for a value out of range
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_set_percentile_value (PeftqQuantSim  *self,
                                      double          value,
                                      GError        **error)
{
  g_autoptr(GPtrArray) slots = NULL;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);

  if (!(value >= 50.0 && value <= 100.0))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "The percentile value is %g: it must be 50 to 100", value);
      return FALSE;
    }
  if (!peftq_quant_sim_check_idle (self, error))
    return FALSE;

  slots = peftq_quant_sim_collect_slots (self);
  for (guint i = 0; i < slots->len; i++)
    {
      PeftqSimSlot *slot = g_ptr_array_index (slots, i);
      PeftqEncodingAnalyzer *analyzer;

      if (!PEFTQ_IS_AFFINE_QUANTIZER (slot->quantizer))
        continue;
      analyzer = peftq_affine_quantizer_get_encoding_analyzer (PEFTQ_AFFINE_QUANTIZER (slot->quantizer));
      if (PEFTQ_IS_PERCENTILE_ANALYZER (analyzer) &&
          !peftq_percentile_analyzer_set_percentile (PEFTQ_PERCENTILE_ANALYZER (analyzer), value, error))
        return FALSE;
    }

  if (self->percentile != value)
    {
      self->percentile = value;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PERCENTILE_VALUE]);
    }
  return TRUE;
}

/**
 * peftq_quant_sim_get_encodings_version:
 * @self: a simulation
 *
 * Gets the version of the encodings files that export writes.
 *
 * Returns: `0.6.1` or `1.0.0`
 *
 * Since: 1.0
 */
const char *
peftq_quant_sim_get_encodings_version (PeftqQuantSim *self)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), NULL);

  return self->encodings_version;
}

/**
 * peftq_quant_sim_set_encodings_version:
 * @self: a simulation
 * @version: `0.6.1` or `1.0.0`
 * @error: return location for a #GError
 *
 * Sets the version of the encodings files that export writes.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set for another version
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_set_encodings_version (PeftqQuantSim  *self,
                                       const char     *version,
                                       GError        **error)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);
  g_return_val_if_fail (version != NULL, FALSE);

  if (!g_str_equal (version, PEFTQ_ENCODINGS_VERSION_0_6_1) &&
      !g_str_equal (version, PEFTQ_ENCODINGS_VERSION_1_0_0))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "Unknown encodings version “%s”: use 0.6.1 or 1.0.0", version);
      return FALSE;
    }

  if (!g_str_equal (version, self->encodings_version))
    {
      g_free (self->encodings_version);
      self->encodings_version = g_strdup (version);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENCODINGS_VERSION]);
    }
  return TRUE;
}

/* Quantizers. */

/**
 * peftq_quant_sim_get_n_quantizers:
 * @self: a simulation
 *
 * Counts the quantizers in the slots of the model.
 *
 * Returns: the number of quantizers
 *
 * Since: 1.0
 */
guint
peftq_quant_sim_get_n_quantizers (PeftqQuantSim *self)
{
  g_autoptr(GPtrArray) slots = NULL;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), 0);

  slots = peftq_quant_sim_collect_slots (self);
  return slots->len;
}

/**
 * peftq_quant_sim_get_quantizer_names:
 * @self: a simulation
 *
 * Lists the names of the quantizers in module order; for each module its parameter
 * quantizers, then its input quantizers, then its output quantizers.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names
 *
 * Since: 1.0
 */
char **
peftq_quant_sim_get_quantizer_names (PeftqQuantSim *self)
{
  g_autoptr(GPtrArray) slots = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), NULL);

  slots = peftq_quant_sim_collect_slots (self);
  for (guint i = 0; i < slots->len; i++)
    g_strv_builder_add (builder, ((PeftqSimSlot *) g_ptr_array_index (slots, i))->name);

  return g_strv_builder_end (builder);
}

/**
 * peftq_quant_sim_get_quantizer:
 * @self: a simulation
 * @name: a quantizer name such as `base_model.model.linear.base_layer.weight`
 *
 * Looks up a quantizer by name.
 *
 * Returns: (transfer none) (nullable): the quantizer, or `NULL` if no slot of that name
 *   holds one
 *
 * Since: 1.0
 */
PeftqQuantizer *
peftq_quant_sim_get_quantizer (PeftqQuantSim *self,
                               const char    *name)
{
  g_autoptr(GPtrArray) slots = NULL;
  PeftqSimSlot *slot;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  slots = peftq_quant_sim_collect_slots (self);
  slot = find_slot (slots, name);
  /* The module keeps the quantizer alive after the slot list is freed. */
  return slot != NULL ? slot->quantizer : NULL;
}

/**
 * peftq_quant_sim_get_quantizer_module:
 * @self: a simulation
 * @name: a quantizer name
 *
 * Looks up the module that contains a quantizer.
 *
 * Returns: (transfer none) (nullable): the module, or `NULL` if no slot of that name
 *   holds a quantizer
 *
 * Since: 1.0
 */
PeftqModule *
peftq_quant_sim_get_quantizer_module (PeftqQuantSim *self,
                                      const char    *name)
{
  g_autoptr(GPtrArray) slots = NULL;
  PeftqSimSlot *slot;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  slots = peftq_quant_sim_collect_slots (self);
  slot = find_slot (slots, name);
  return slot != NULL ? slot->module : NULL;
}

/**
 * peftq_quant_sim_list_quantizers:
 * @self: a simulation
 *
 * Lists the quantizers in the order of [method@Peftq.QuantSim.get_quantizer_names].
 * Each quantizer's [method@Peftq.Quantizer.get_name] is its name in the simulation, so
 * the list gives the (name, quantizer) pairs.
 *
 * Returns: (transfer full): a list model of [class@Peftq.Quantizer]
 *
 * Since: 1.0
 */
GListModel *
peftq_quant_sim_list_quantizers (PeftqQuantSim *self)
{
  g_autoptr(GPtrArray) slots = NULL;
  GListStore *store;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), NULL);

  slots = peftq_quant_sim_collect_slots (self);
  store = g_list_store_new (PEFTQ_TYPE_QUANTIZER);
  for (guint i = 0; i < slots->len; i++)
    g_list_store_append (store, ((PeftqSimSlot *) g_ptr_array_index (slots, i))->quantizer);

  return G_LIST_MODEL (store);
}

static gboolean
parse_slot_name (PeftqQuantSim     *self,
                 const char        *name,
                 PeftqModule      **out_module,
                 PeftqSimSlotKind  *out_kind,
                 guint             *out_index,
                 char             **out_param)
{
  g_autofree char *module_name = NULL;
  const char *dot = strrchr (name, '.');
  const char *last = dot != NULL ? dot + 1 : name;
  PeftqModule *module;
  guint64 index = 0;

  *out_param = NULL;
  *out_index = 0;

  /* "<module>.input.<i>" and "<module>.output.<i>" */
  if (dot != NULL && g_ascii_string_to_unsigned (last, 10, 0, G_MAXUINT, &index, NULL))
    {
      const char *start = dot;
      g_autofree char *head = NULL;

      while (start > name && start[-1] != '.')
        start--;
      head = g_strndup (start, (gsize) (dot - start));
      if (g_str_equal (head, "input") || g_str_equal (head, "output"))
        {
          module_name = g_strndup (name, start > name ? (gsize) (start - name - 1) : 0);
          module = peftq_module_find_module (self->model, module_name);
          if (module == NULL)
            return FALSE;
          *out_module = module;
          *out_kind = g_str_equal (head, "input") ? PEFTQ_SIM_SLOT_INPUT : PEFTQ_SIM_SLOT_OUTPUT;
          *out_index = (guint) index;
          return TRUE;
        }
    }

  module_name = g_strndup (name, dot != NULL ? (gsize) (dot - name) : 0);
  module = peftq_module_find_module (self->model, module_name);
  if (module == NULL)
    return FALSE;

  *out_module = module;
  if (g_str_equal (last, "output"))
    {
      *out_kind = PEFTQ_SIM_SLOT_OUTPUT;
      return TRUE;
    }
  if (!peftq_module_has_parameter (module, last))
    return FALSE;
  *out_kind = PEFTQ_SIM_SLOT_PARAM;
  *out_param = g_strdup (last);
  return TRUE;
}

/**
 * peftq_quant_sim_set_quantizer:
 * @self: a simulation
 * @name: a slot name: `<module>.<param>`, `<module>.input.<i>`, `<module>.output` or
 *   `<module>.output.<i>`
 * @quantizer: (nullable): the new quantizer, or `NULL` to empty the slot
 * @error: return location for a #GError
 *
 * Puts a quantizer in a slot of the model, names it after the slot and follows its
 * `encoding-changed` signal, as step 10 of the seed flow does when it replaces a LoRA
 * weight quantizer. A new quantizer is uninitialized until calibrated.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set when @name names no module,
 *   parameter or slot
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_set_quantizer (PeftqQuantSim   *self,
                               const char      *name,
                               PeftqQuantizer  *quantizer,
                               GError         **error)
{
  g_autofree char *param = NULL;
  g_autoptr(GPtrArray) slots = NULL;
  PeftqModule *module = NULL;
  PeftqSimSlotKind kind;
  guint index;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (quantizer == NULL || PEFTQ_IS_QUANTIZER (quantizer), FALSE);

  if (!peftq_quant_sim_check_idle (self, error))
    return FALSE;

  if (!parse_slot_name (self, name, &module, &kind, &index, &param))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "No quantizer slot “%s” in the model: use <module>.<parameter>, "
                   "<module>.input.<index> or <module>.output", name);
      return FALSE;
    }

  switch (kind)
    {
    case PEFTQ_SIM_SLOT_PARAM:
      peftq_module_set_param_quantizer (module, param, quantizer);
      break;
    case PEFTQ_SIM_SLOT_INPUT:
      peftq_module_set_input_quantizer (module, index, quantizer);
      break;
    case PEFTQ_SIM_SLOT_OUTPUT:
    default:
      peftq_module_set_output_quantizer (module, index, quantizer);
      break;
    }

  slots = peftq_quant_sim_collect_slots (self);
  return TRUE;
}

/**
 * peftq_quant_sim_forward:
 * @self: a simulation
 * @input: the model input, such as token ids of shape [batch, tokens]
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs the model once with its quantizers, for example to compute fake-quantized
 * logits after calibration.
 *
 * Returns: (transfer full): the model output, or `NULL` with @error set
 *
 * Since: 1.0
 */
PeftqTensor *
peftq_quant_sim_forward (PeftqQuantSim  *self,
                         PeftqTensor    *input,
                         GCancellable   *cancellable,
                         GError        **error)
{
  g_autoptr(PeftqForwardContext) context = NULL;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), NULL);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (input), NULL);

  context = peftq_forward_context_new ();
  peftq_forward_context_set_cancellable (context, cancellable);
  return peftq_module_forward (self->model, context, &input, 1, error);
}

/* Calibration. */

/* Recalibrates every parameter quantizer that may overwrite its encoding (or has none)
 * from the current weights, as AIMET's calibration context does on entry. */
static gboolean
calibrate_params (PeftqQuantSim  *self,
                  GPtrArray      *slots,
                  GError        **error)
{
  for (guint i = 0; i < slots->len; i++)
    {
      PeftqSimSlot *slot = g_ptr_array_index (slots, i);
      PeftqAffineQuantizer *q;
      PeftqTensor *value;

      if (slot->kind != PEFTQ_SIM_SLOT_PARAM || !PEFTQ_IS_AFFINE_QUANTIZER (slot->quantizer))
        continue;
      q = PEFTQ_AFFINE_QUANTIZER (slot->quantizer);
      value = peftq_module_get_parameter (slot->module, slot->param);
      if (value == NULL)
        continue;
      if (!peftq_affine_quantizer_get_allow_overwrite (q) && peftq_affine_quantizer_is_initialized (q))
        continue;

      peftq_affine_quantizer_begin_calibration (q);
      if (!peftq_affine_quantizer_observe (q, value, error) ||
          !peftq_affine_quantizer_end_calibration (q, error))
        {
          if (peftq_affine_quantizer_is_calibrating (q))
            peftq_affine_quantizer_abort_calibration (q);
          g_prefix_error (error, "Parameter quantizer %s: ", slot->name);
          return FALSE;
        }
    }

  return TRUE;
}

/* Starts the calibration of the activation quantizers and returns them. */
static GPtrArray *
begin_activation_calibration (GPtrArray *slots)
{
  GPtrArray *active = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < slots->len; i++)
    {
      PeftqSimSlot *slot = g_ptr_array_index (slots, i);
      PeftqAffineQuantizer *q;

      if (slot->kind == PEFTQ_SIM_SLOT_PARAM || !PEFTQ_IS_AFFINE_QUANTIZER (slot->quantizer))
        continue;
      q = PEFTQ_AFFINE_QUANTIZER (slot->quantizer);
      if (peftq_affine_quantizer_is_calibrating (q) || g_ptr_array_find (active, q, NULL))
        continue;
      peftq_affine_quantizer_begin_calibration (q);
      g_ptr_array_add (active, g_object_ref (q));
    }

  return active;
}

static void
abort_activation_calibration (GPtrArray *active)
{
  for (guint i = 0; i < active->len; i++)
    {
      PeftqAffineQuantizer *q = g_ptr_array_index (active, i);

      if (peftq_affine_quantizer_is_calibrating (q))
        peftq_affine_quantizer_abort_calibration (q);
    }
}

static gboolean
end_activation_calibration (GPtrArray  *active,
                            GError    **error)
{
  for (guint i = 0; i < active->len; i++)
    {
      PeftqAffineQuantizer *q = g_ptr_array_index (active, i);

      if (!peftq_affine_quantizer_end_calibration (q, error))
        {
          g_prefix_error (error, "Quantizer %s: ", peftq_quantizer_get_name (PEFTQ_QUANTIZER (q)));
          abort_activation_calibration (active);
          return FALSE;
        }
    }

  return TRUE;
}

/* Calibration state shared by the variants: parameters are recalibrated and activation
 * quantizers observe from begin to end. */
typedef struct
{
  PeftqQuantSim *sim;
  GPtrArray *active;
} Calibration;

static gboolean
calibration_begin (PeftqQuantSim  *self,
                   Calibration    *calibration,
                   GError        **error)
{
  g_autoptr(GPtrArray) slots = NULL;

  if (!peftq_quant_sim_check_idle (self, error))
    return FALSE;

  slots = peftq_quant_sim_collect_slots (self);
  if (!calibrate_params (self, slots, error))
    return FALSE;

  calibration->sim = self;
  calibration->active = begin_activation_calibration (slots);
  self->calibrating = TRUE;
  return TRUE;
}

static gboolean
calibration_end (Calibration  *calibration,
                 gboolean      success,
                 GError      **error)
{
  gboolean ok = TRUE;

  calibration->sim->calibrating = FALSE;
  if (success)
    ok = end_activation_calibration (calibration->active, error);
  else
    abort_activation_calibration (calibration->active);
  g_clear_pointer (&calibration->active, g_ptr_array_unref);
  return ok;
}

/**
 * peftq_quant_sim_compute_encodings:
 * @self: a simulation
 * @forward_pass: (scope call) (closure user_data): runs the calibration data through the
 *   model
 * @user_data: data for @forward_pass
 * @error: return location for a #GError
 *
 * Computes the encodings of the simulation, as AIMET's `compute_encodings`:
 *
 * 1. every parameter quantizer that is not frozen is recalibrated from the current
 *    weights;
 * 2. the activation quantizers that are not frozen reset their statistics and pass
 *    their inputs through unchanged while they observe them; frozen ones keep
 *    quantizing;
 * 3. @forward_pass runs the model;
 * 4. each observing quantizer computes its encoding from all it saw. A quantizer that
 *    saw nothing keeps its previous state.
 *
 * When @forward_pass fails, no activation encoding changes (the parameter encodings of
 * step 1 stay). A quantizer is frozen when its
 * [property@Peftq.AffineQuantizer:allow-overwrite] is `FALSE` and it has an encoding.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_compute_encodings (PeftqQuantSim         *self,
                                   PeftqForwardPassFunc   forward_pass,
                                   gpointer               user_data,
                                   GError               **error)
{
  g_autoptr(GError) local_error = NULL;
  Calibration calibration = { 0 };
  gboolean ok;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);
  g_return_val_if_fail (forward_pass != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!calibration_begin (self, &calibration, error))
    return FALSE;

  ok = forward_pass (self->model, user_data, &local_error);
  if (!ok)
    {
      calibration_end (&calibration, FALSE, NULL);
      if (local_error == NULL)
        g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_FAILED,
                     "The forward-pass function failed without saying why; no activation "
                     "encoding was changed");
      else
        g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                    "Calibration stopped, no activation encoding was changed: ");
      return FALSE;
    }
  if (local_error != NULL)
    g_warning ("The forward-pass function succeeded but set an error: %s", local_error->message);

  return calibration_end (&calibration, TRUE, error);
}

/* Batches of token ids. */

static PeftqTensor *
normalize_input_ids (PeftqTensor  *input_ids,
                     GError      **error)
{
  PeftqDType dtype = peftq_tensor_get_dtype (input_ids);
  guint rank = peftq_tensor_get_rank (input_ids);
  g_autoptr(PeftqTensor) ids = NULL;

  if (dtype != PEFTQ_DTYPE_I64 && dtype != PEFTQ_DTYPE_I32)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_DTYPE_MISMATCH,
                   "Calibration token ids must be int64 or int32, not %s",
                   peftq_dtype_to_string (dtype));
      return NULL;
    }
  if (rank != 1 && rank != 2)
    {
      g_autofree char *shape = peftq_tensor_format_shape (input_ids);

      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                   "Calibration token ids must have the shape [batch, tokens], not %s", shape);
      return NULL;
    }

  ids = dtype == PEFTQ_DTYPE_I64 ? g_object_ref (input_ids)
                                 : peftq_tensor_convert (input_ids, PEFTQ_DTYPE_I64, error);
  if (ids == NULL)
    return NULL;

  if (rank == 1)
    {
      gint64 shape[2] = { 1, peftq_tensor_get_dim (ids, 0) };

      return peftq_tensor_reshape (ids, shape, 2, error);
    }

  return g_steal_pointer (&ids);
}

static PeftqTensor *
slice_rows (PeftqTensor  *ids,
            gint64        start,
            gint64        n_rows,
            GError      **error)
{
  gint64 shape[2] = { n_rows, peftq_tensor_get_dim (ids, 1) };
  gsize row_bytes = (gsize) shape[1] * sizeof (gint64);
  g_autoptr(GBytes) bytes = g_bytes_new_from_bytes (peftq_tensor_get_bytes (ids),
                                                    (gsize) start * row_bytes,
                                                    (gsize) n_rows * row_bytes);

  return peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, shape, 2, bytes, error);
}

typedef void (*ProgressFunc) (guint done, guint total, gpointer user_data);

/* Runs every batch of @ids through @model. */
static gboolean
run_batches (PeftqModule    *model,
             PeftqTensor    *ids,
             guint           batch_size,
             GCancellable   *cancellable,
             ProgressFunc    progress,
             gpointer        progress_data,
             GError        **error)
{
  g_autoptr(PeftqForwardContext) context = peftq_forward_context_new ();
  gint64 n_rows = peftq_tensor_get_dim (ids, 0);
  gint64 step = batch_size == 0 ? MAX (n_rows, 1) : (gint64) batch_size;
  guint total = (guint) ((n_rows + step - 1) / step);
  guint done = 0;

  peftq_forward_context_set_cancellable (context, cancellable);
  for (gint64 start = 0; start < n_rows; start += step)
    {
      g_autoptr(PeftqTensor) batch = NULL;
      g_autoptr(PeftqTensor) output = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      batch = slice_rows (ids, start, MIN (step, n_rows - start), error);
      if (batch == NULL)
        return FALSE;
      output = peftq_module_forward (model, context, &batch, 1, error);
      if (output == NULL)
        {
          g_prefix_error (error, "Calibration batch %u of %u: ", done + 1, total);
          return FALSE;
        }
      done++;
      if (progress != NULL)
        progress (done, total, progress_data);
    }

  return TRUE;
}

static void
emit_progress (guint    done,
               guint    total,
               gpointer user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_PROGRESS], 0, done, total);
}

/**
 * peftq_quant_sim_compute_encodings_for_tensor:
 * @self: a simulation
 * @input_ids: token ids, int64 or int32, of shape [batch, tokens] or [tokens]
 * @batch_size: the number of rows per forward pass, or 0 for all rows in one pass
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Computes the encodings as [method@Peftq.QuantSim.compute_encodings] does, with a
 * forward pass over the rows of @input_ids. Emits [signal@Peftq.QuantSim::progress]
 * after each pass. When cancelled, it fails with `G_IO_ERROR_CANCELLED` and changes no
 * activation encoding.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_compute_encodings_for_tensor (PeftqQuantSim  *self,
                                              PeftqTensor    *input_ids,
                                              guint           batch_size,
                                              GCancellable   *cancellable,
                                              GError        **error)
{
  g_autoptr(PeftqTensor) ids = NULL;
  g_autoptr(GError) local_error = NULL;
  Calibration calibration = { 0 };

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);
  g_return_val_if_fail (PEFTQ_IS_TENSOR (input_ids), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  ids = normalize_input_ids (input_ids, error);
  if (ids == NULL)
    return FALSE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (!calibration_begin (self, &calibration, error))
    return FALSE;

  if (!run_batches (self->model, ids, batch_size, cancellable, emit_progress, self, &local_error))
    {
      calibration_end (&calibration, FALSE, NULL);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  return calibration_end (&calibration, TRUE, error);
}

static PeftqTensor *
load_calibration_ids (const char  *path,
                      GError     **error)
{
  g_autoptr(PeftqTensor) ids = peftq_load_token_ids (path, error);

  if (ids == NULL)
    {
      g_prefix_error (error, "Calibration data %s: ", path);
      return NULL;
    }

  return normalize_input_ids (ids, error);
}

/**
 * peftq_quant_sim_compute_encodings_from_file:
 * @self: a simulation
 * @path: (type filename): a JSON file with a list of lists of token ids, or a
 *   safetensors file with an int64 or int32 tensor `input_ids`
 * @batch_size: the number of rows per forward pass, or 0 for all rows in one pass
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads calibration token ids and computes the encodings with them, as
 * [method@Peftq.QuantSim.compute_encodings_for_tensor] does.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set, naming the file when it cannot
 *   be read or holds another dtype
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_compute_encodings_from_file (PeftqQuantSim  *self,
                                             const char     *path,
                                             guint           batch_size,
                                             GCancellable   *cancellable,
                                             GError        **error)
{
  g_autoptr(PeftqTensor) ids = NULL;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  ids = load_calibration_ids (path, error);
  if (ids == NULL)
    return FALSE;

  return peftq_quant_sim_compute_encodings_for_tensor (self, ids, batch_size, cancellable, error);
}

/* The asynchronous variant: the parameter recalibration and the start and end of the
 * activation calibration run in the caller's context (they emit signals), the forward
 * passes in a worker thread. */

typedef struct
{
  PeftqQuantSim *sim;
  PeftqTensor *ids;
  guint batch_size;
  Calibration calibration;
  GTask *outer;
  GMainContext *context;
} AsyncCalibration;

typedef struct
{
  PeftqQuantSim *sim;
  guint done;
  guint total;
} ProgressEvent;

static void
async_calibration_free (gpointer data)
{
  AsyncCalibration *job = data;

  g_clear_object (&job->ids);
  g_clear_object (&job->sim);
  g_clear_pointer (&job->context, g_main_context_unref);
  g_free (job);
}

static gboolean
progress_event_dispatch (gpointer data)
{
  ProgressEvent *event = data;

  g_signal_emit (event->sim, signals[SIGNAL_PROGRESS], 0, event->done, event->total);
  return G_SOURCE_REMOVE;
}

static void
progress_event_free (gpointer data)
{
  ProgressEvent *event = data;

  g_object_unref (event->sim);
  g_free (event);
}

static void
post_progress (guint    done,
               guint    total,
               gpointer user_data)
{
  AsyncCalibration *job = user_data;
  ProgressEvent *event = g_new0 (ProgressEvent, 1);

  event->sim = g_object_ref (job->sim);
  event->done = done;
  event->total = total;
  g_main_context_invoke_full (job->context, G_PRIORITY_DEFAULT, progress_event_dispatch,
                              event, progress_event_free);
}

static void
calibration_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  AsyncCalibration *job = task_data;
  GError *error = NULL;

  if (run_batches (job->sim->model, job->ids, job->batch_size, cancellable,
                   post_progress, job, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_calibration_thread_done (GObject      *source,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  AsyncCalibration *job = g_task_get_task_data (outer);
  GError *error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  if (!ok)
    {
      calibration_end (&job->calibration, FALSE, NULL);
      g_task_return_error (outer, error);
      return;
    }

  if (!calibration_end (&job->calibration, TRUE, &error))
    g_task_return_error (outer, error);
  else
    g_task_return_boolean (outer, TRUE);
}

/**
 * peftq_quant_sim_compute_encodings_from_file_async:
 * @self: a simulation
 * @path: (type filename): a JSON or safetensors file of token ids, as for
 *   [method@Peftq.QuantSim.compute_encodings_from_file]
 * @batch_size: the number of rows per forward pass, or 0 for all rows in one pass
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the calibration is done
 * @user_data: data for @callback
 *
 * Computes the encodings as [method@Peftq.QuantSim.compute_encodings_from_file] does,
 * with the forward passes in a worker thread. [signal@Peftq.QuantSim::progress] and
 * the encoding signals are emitted in the thread-default main context of the caller.
 * Do not change the model until @callback runs. Cancelling fails with
 * `G_IO_ERROR_CANCELLED` and changes no activation encoding.
 *
 * Since: 1.0
 */
void
peftq_quant_sim_compute_encodings_from_file_async (PeftqQuantSim       *self,
                                                   const char          *path,
                                                   guint                batch_size,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data)
{
  g_autoptr(GTask) outer = NULL;
  g_autoptr(GTask) worker = NULL;
  AsyncCalibration *job;
  GError *error = NULL;

  g_return_if_fail (PEFTQ_IS_QUANT_SIM (self));
  g_return_if_fail (path != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, peftq_quant_sim_compute_encodings_from_file_async);

  job = g_new0 (AsyncCalibration, 1);
  job->sim = g_object_ref (self);
  job->batch_size = batch_size;
  job->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (outer, job, async_calibration_free);

  job->ids = load_calibration_ids (path, &error);
  if (job->ids == NULL)
    {
      g_task_return_error (outer, error);
      return;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, &error) ||
      !calibration_begin (self, &job->calibration, &error))
    {
      g_task_return_error (outer, error);
      return;
    }

  worker = g_task_new (NULL, cancellable, on_calibration_thread_done, g_object_ref (outer));
  g_task_set_task_data (worker, job, NULL);
  g_task_run_in_thread (worker, calibration_thread);
}

/**
 * peftq_quant_sim_compute_encodings_from_file_finish:
 * @self: a simulation
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Peftq.QuantSim.compute_encodings_from_file_async].
 *
 * Returns: `TRUE` on success, `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_compute_encodings_from_file_finish (PeftqQuantSim  *self,
                                                    GAsyncResult   *result,
                                                    GError        **error)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Export. */

static JsonObject *
build_quantizer_args (PeftqQuantSim *self)
{
  JsonObject *args = json_object_new ();

  json_object_set_int_member (args, "activation_bitwidth", self->default_output_bw);
  json_object_set_string_member (args, "dtype", "int");
  json_object_set_boolean_member (args, "is_symmetric",
                                  peftq_quantsim_config_get_quantizer_args_symmetric (self->config));
  json_object_set_int_member (args, "param_bitwidth", self->default_param_bw);
  json_object_set_boolean_member (args, "per_channel_quantization",
                                  peftq_quantsim_config_get_quantizer_args_per_channel (self->config));
  json_object_set_string_member (args, "quant_scheme", scheme_names[self->quant_scheme].aimet_name);
  return args;
}

/* The ONNX tensor or initializer name of a slot, or NULL when the graph lacks it. */
static char *
onnx_name_of_slot (PeftqOnnxModel *onnx,
                   PeftqSimSlot   *slot)
{
  g_auto(GStrv) names = NULL;

  if (onnx == NULL)
    return g_strdup (slot->name);

  switch (slot->kind)
    {
    case PEFTQ_SIM_SLOT_PARAM:
      return g_strdup (peftq_onnx_model_find_parameter (onnx, slot->module_name, slot->param));
    case PEFTQ_SIM_SLOT_INPUT:
      names = peftq_onnx_model_get_module_input_names (onnx, slot->module_name);
      break;
    case PEFTQ_SIM_SLOT_OUTPUT:
    default:
      names = peftq_onnx_model_get_module_output_names (onnx, slot->module_name);
      break;
    }

  if (names == NULL || slot->index >= g_strv_length (names))
    return NULL;
  return g_strdup (names[slot->index]);
}

/* Whether the parameter of @slot shares its tensor with another parameter of the model
 * that has an initializer in @onnx, as a tied `lm_head.weight` shares the tensor of
 * `model.embed_tokens.weight`. The export writes a tied tensor once, under the name that
 * peftq_module_list_named_parameters() lists first. */
static gboolean
slot_is_tied_to_initializer (PeftqQuantSim  *self,
                             PeftqOnnxModel *onnx,
                             PeftqSimSlot   *slot)
{
  PeftqTensor *tensor;
  g_auto(GStrv) names = NULL;

  if (onnx == NULL || slot->kind != PEFTQ_SIM_SLOT_PARAM)
    return FALSE;
  tensor = peftq_module_get_parameter (slot->module, slot->param);
  if (tensor == NULL)
    return FALSE;

  names = peftq_module_list_named_parameters (self->model);
  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *dot = strrchr (names[i], '.');
      g_autofree char *module_name = dot != NULL ? g_strndup (names[i], dot - names[i]) : g_strdup ("");
      const char *param = dot != NULL ? dot + 1 : names[i];
      PeftqModule *module = peftq_module_find_module (self->model, module_name);

      if (module == NULL || (module == slot->module && strcmp (param, slot->param) == 0))
        continue;
      if (peftq_module_get_parameter (module, param) == tensor &&
          peftq_onnx_model_find_parameter (onnx, module_name, param) != NULL)
        return TRUE;
    }

  return FALSE;
}

/**
 * peftq_quant_sim_export_encodings:
 * @self: a simulation
 * @path: (type filename): an existing folder
 * @filename_prefix_encodings: the file name without extension
 * @onnx_model: (nullable): the exported ONNX model, whose tensor names key the
 *   `.encodings` file, or `NULL` to key it by quantizer names
 * @error: return location for a #GError
 *
 * Writes `<prefix>.encodings` and `<prefix>_torch.encodings` in the version of
 * [property@Peftq.QuantSim:encodings-version], with every enabled, initialized
 * quantizer. The `_torch` file is keyed by module names (section 9.3 of the AIMET
 * semantics). The other file is keyed by the ONNX names of @onnx_model; a quantizer
 * whose tensor the graph lacks is left out of it with a warning. A parameter tied to
 * another one that has an initializer, such as a tied `lm_head.weight`, is left out
 * without a warning: its encoding is only in the `_torch` file. Without a model it is
 * keyed by quantizer names (`<module>.output`, `<module>.weight`), the layout of the
 * reference files. Dropout modules are left out, as AIMET does. Each file is written
 * to a temporary file and renamed.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_export_encodings (PeftqQuantSim   *self,
                                  const char      *path,
                                  const char      *filename_prefix_encodings,
                                  PeftqOnnxModel  *onnx_model,
                                  GError         **error)
{
  g_autoptr(PeftqEncodingsFile) onnx_file = NULL;
  g_autoptr(PeftqEncodingsFile) torch_file = NULL;
  g_autoptr(GPtrArray) slots = NULL;
  g_autoptr(GString) missing = g_string_new (NULL);
  g_autoptr(JsonObject) args = NULL;
  g_autofree char *onnx_path = NULL;
  g_autofree char *torch_path = NULL;
  g_autofree char *torch_name = NULL;
  g_autofree char *onnx_name = NULL;
  guint n_missing = 0;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (filename_prefix_encodings != NULL, FALSE);
  g_return_val_if_fail (onnx_model == NULL || PEFTQ_IS_ONNX_MODEL (onnx_model), FALSE);

  if (!peftq_quant_sim_check_idle (self, error))
    return FALSE;
  if (!peftq_check_file_prefix (filename_prefix_encodings, error))
    return FALSE;
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "Cannot export encodings to %s: the folder does not exist", path);
      return FALSE;
    }

  onnx_file = peftq_encodings_file_new (self->encodings_version, FALSE, error);
  torch_file = onnx_file != NULL ? peftq_encodings_file_new (self->encodings_version, TRUE, error) : NULL;
  if (torch_file == NULL)
    return FALSE;

  slots = peftq_quant_sim_collect_slots (self);
  for (guint i = 0; i < slots->len; i++)
    {
      PeftqSimSlot *slot = g_ptr_array_index (slots, i);
      PeftqEncoding *encoding;
      g_autofree char *name = NULL;
      PeftqAffineQuantizer *q;

      if (!PEFTQ_IS_AFFINE_QUANTIZER (slot->quantizer) ||
          g_strcmp0 (peftq_module_get_op_type (slot->module), "Dropout") == 0)
        continue;
      q = PEFTQ_AFFINE_QUANTIZER (slot->quantizer);
      if (!peftq_affine_quantizer_get_enabled (q))
        continue;
      encoding = peftq_affine_quantizer_get_encoding (q);
      if (encoding == NULL)
        continue;

      if (slot->kind == PEFTQ_SIM_SLOT_PARAM)
        {
          peftq_encodings_file_set_param_encoding (torch_file, slot->name, encoding);
        }
      else if (!peftq_encodings_file_set_module_encoding (torch_file, slot->module_name,
                                                          slot->kind == PEFTQ_SIM_SLOT_INPUT ? "input" : "output",
                                                          slot->index, encoding, error))
        {
          return FALSE;
        }

      name = onnx_name_of_slot (onnx_model, slot);
      if (name == NULL && slot_is_tied_to_initializer (self, onnx_model, slot))
        continue;
      if (name == NULL)
        {
          if (n_missing++ < 5)
            g_string_append_printf (missing, "%s%s", missing->len > 0 ? ", " : "", slot->name);
          continue;
        }
      if (slot->kind == PEFTQ_SIM_SLOT_PARAM)
        peftq_encodings_file_set_param_encoding (onnx_file, name, encoding);
      else
        peftq_encodings_file_set_activation_encoding (onnx_file, name, encoding);
    }

  if (n_missing == 1)
    g_warning ("1 quantizer has no tensor in the ONNX model %s (%s): its encoding is only in "
               "the _torch file", peftq_onnx_model_get_path (onnx_model), missing->str);
  else if (n_missing > 1)
    g_warning ("%u quantizers have no tensor in the ONNX model %s (%s%s): their encodings "
               "are only in the _torch file", n_missing,
               peftq_onnx_model_get_path (onnx_model), missing->str, n_missing > 5 ? ", ..." : "");

  args = build_quantizer_args (self);
  peftq_encodings_file_set_quantizer_args (onnx_file, args);
  peftq_encodings_file_set_quantizer_args (torch_file, args);

  onnx_name = g_strconcat (filename_prefix_encodings, ".encodings", NULL);
  torch_name = g_strconcat (filename_prefix_encodings, "_torch.encodings", NULL);
  onnx_path = g_build_filename (path, onnx_name, NULL);
  torch_path = g_build_filename (path, torch_name, NULL);

  return peftq_encodings_file_save (onnx_file, onnx_path, error) &&
         peftq_encodings_file_save (torch_file, torch_path, error);
}

/**
 * peftq_quant_sim_export:
 * @self: a simulation
 * @path: (type filename): an existing folder
 * @filename_prefix: the ONNX file name without extension
 * @dummy_input: (nullable): the input that the ONNX export traces with
 * @export_model: whether to write `<filename_prefix>.onnx` first
 * @filename_prefix_encodings: (nullable): the encodings file name without extension,
 *   or `NULL` (or empty) for @filename_prefix
 * @error: return location for a #GError
 *
 * Exports the simulation as AIMET's `export` does: with @export_model, writes the ONNX
 * model `<path>/<filename_prefix>.onnx`; then reads that model to name the tensors of
 * the encodings and writes `<prefix>.encodings` and `<prefix>_torch.encodings` with
 * [method@Peftq.QuantSim.export_encodings]. peftq writes no `.pth` file.
 *
 * ONNX export by tracing is not part of this version yet, so @export_model `TRUE` fails
 * with %PEFTQ_ERROR_UNSUPPORTED. With @export_model `FALSE`, a missing ONNX file is an
 * error and no file is written.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_export (PeftqQuantSim  *self,
                        const char     *path,
                        const char     *filename_prefix,
                        PeftqTensor    *dummy_input,
                        gboolean        export_model,
                        const char     *filename_prefix_encodings,
                        GError        **error)
{
  g_autoptr(PeftqOnnxModel) onnx = NULL;
  g_autofree char *onnx_name = NULL;
  g_autofree char *onnx_path = NULL;
  const char *encodings_prefix;

  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (filename_prefix != NULL, FALSE);
  g_return_val_if_fail (dummy_input == NULL || PEFTQ_IS_TENSOR (dummy_input), FALSE);

  if (!peftq_quant_sim_check_idle (self, error))
    return FALSE;
  if (!peftq_check_file_prefix (filename_prefix, error))
    return FALSE;
  if (filename_prefix_encodings != NULL && *filename_prefix_encodings != '\0' &&
      !peftq_check_file_prefix (filename_prefix_encodings, error))
    return FALSE;
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "Cannot export to %s: the folder does not exist", path);
      return FALSE;
    }

  encodings_prefix = filename_prefix_encodings != NULL && *filename_prefix_encodings != '\0'
                     ? filename_prefix_encodings : filename_prefix;
  onnx_name = g_strconcat (filename_prefix, ".onnx", NULL);
  onnx_path = g_build_filename (path, onnx_name, NULL);

  if (export_model)
    {
      if (dummy_input == NULL)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "Cannot write %s: exporting the model needs a dummy input to trace with",
                       onnx_path);
          return FALSE;
        }
      if (!peftq_onnx_export_module (self->model, dummy_input, onnx_path,
                                     PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD, error))
        return FALSE;
    }
  else if (!g_file_test (onnx_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                   "The ONNX model %s does not exist: export with export_model TRUE first, "
                   "or check the folder and file name prefix", onnx_path);
      return FALSE;
    }

  onnx = peftq_onnx_model_load (onnx_path, error);
  if (onnx == NULL)
    return FALSE;

  return peftq_quant_sim_export_encodings (self, path, encodings_prefix, onnx, error);
}

/* Load. */

typedef struct
{
  PeftqSimSlot *slot;
  PeftqEncoding *encoding;   /* not a reference; owned by the file */
} PendingLoad;

static PeftqEncoding *
lookup_loaded_encoding (PeftqEncodingsFile *file,
                        PeftqSimSlot       *slot)
{
  /* A file in the flat layout, keyed by quantizer names, as export_encodings() writes
   * without an ONNX model. */
  if (!peftq_encodings_file_get_torch_layout (file))
    {
      if (slot->kind == PEFTQ_SIM_SLOT_PARAM)
        return peftq_encodings_file_get_param_encoding (file, slot->name);
      return peftq_encodings_file_get_activation_encoding (file, slot->name);
    }

  switch (slot->kind)
    {
    case PEFTQ_SIM_SLOT_PARAM:
      return peftq_encodings_file_get_param_encoding (file, slot->name);
    case PEFTQ_SIM_SLOT_INPUT:
      return peftq_encodings_file_get_module_encoding (file, slot->module_name, "input", slot->index);
    case PEFTQ_SIM_SLOT_OUTPUT:
    default:
      return peftq_encodings_file_get_module_encoding (file, slot->module_name, "output", slot->index);
    }
}

/* Checks that a file in the flat layout is keyed by quantizer names, which the
 * simulation can load, and not by the tensor names of an ONNX graph, which it cannot
 * map back to modules. */
static gboolean
activations_are_quantizer_names (PeftqEncodingsFile  *file,
                                 GPtrArray           *slots,
                                 GError             **error)
{
  g_auto(GStrv) activations = peftq_encodings_file_get_activation_names (file);
  g_autoptr(GHashTable) slot_names = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < slots->len; i++)
    g_hash_table_add (slot_names, ((PeftqSimSlot *) g_ptr_array_index (slots, i))->name);

  for (guint i = 0; activations != NULL && activations[i] != NULL; i++)
    {
      if (!g_hash_table_contains (slot_names, activations[i]))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                       "the activation encodings are keyed by names that are not quantizer "
                       "names of this model, such as “%s”; if they are ONNX tensor names, "
                       "load the _torch.encodings file, which is keyed by module names",
                       activations[i]);
          return FALSE;
        }
    }

  return TRUE;
}

/* Lists the file's keys that name nothing in the model (strict mode). */
static void
collect_unknown_keys (PeftqQuantSim      *self,
                      PeftqEncodingsFile *file,
                      GPtrArray          *slots,
                      GString            *unknown)
{
  g_auto(GStrv) params = peftq_encodings_file_get_param_names (file);
  g_auto(GStrv) modules = peftq_encodings_file_get_module_names (file);
  g_autoptr(GHashTable) slot_names = g_hash_table_new (g_str_hash, g_str_equal);
  static const char *const directions[] = { "input", "output" };

  for (guint i = 0; i < slots->len; i++)
    g_hash_table_add (slot_names, ((PeftqSimSlot *) g_ptr_array_index (slots, i))->name);

  for (guint i = 0; params != NULL && params[i] != NULL; i++)
    {
      if (!g_hash_table_contains (slot_names, params[i]))
        g_string_append_printf (unknown, "%s%s", unknown->len > 0 ? ", " : "", params[i]);
    }

  if (!peftq_encodings_file_get_torch_layout (file))
    {
      g_auto(GStrv) activations = peftq_encodings_file_get_activation_names (file);

      for (guint i = 0; activations != NULL && activations[i] != NULL; i++)
        {
          if (!g_hash_table_contains (slot_names, activations[i]))
            g_string_append_printf (unknown, "%s%s", unknown->len > 0 ? ", " : "", activations[i]);
        }
    }

  for (guint i = 0; modules != NULL && modules[i] != NULL; i++)
    {
      for (guint d = 0; d < G_N_ELEMENTS (directions); d++)
        {
          gsize n = 0;
          g_autofree guint *indices = peftq_encodings_file_get_module_indices (file, modules[i], directions[d], &n);

          for (gsize k = 0; k < n; k++)
            {
              g_autofree char *name = slot_name (modules[i],
                                                 d == 0 ? PEFTQ_SIM_SLOT_INPUT : PEFTQ_SIM_SLOT_OUTPUT,
                                                 indices[k], NULL);

              if (!g_hash_table_contains (slot_names, name))
                g_string_append_printf (unknown, "%s%s", unknown->len > 0 ? ", " : "", name);
            }
        }
    }
}

static gboolean
load_encodings (PeftqQuantSim  *self,
                const char     *path,
                gboolean        strict,
                gboolean        partial,
                gboolean        freeze,
                GError        **error)
{
  g_autoptr(PeftqEncodingsFile) file = NULL;
  g_autoptr(GPtrArray) slots = NULL;
  g_autoptr(GArray) pending = g_array_new (FALSE, FALSE, sizeof (PendingLoad));
  g_autoptr(GString) unknown = g_string_new (NULL);
  g_auto(GStrv) params = NULL;
  g_auto(GStrv) activation_keys = NULL;

  if (!peftq_quant_sim_check_idle (self, error))
    return FALSE;

  file = peftq_encodings_file_new_from_file (path, error);
  if (file == NULL)
    return FALSE;
  slots = peftq_quant_sim_collect_slots (self);

  if (!peftq_encodings_file_get_torch_layout (file) &&
      !activations_are_quantizer_names (file, slots, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }

  params = peftq_encodings_file_get_param_names (file);
  if (peftq_encodings_file_get_torch_layout (file))
    activation_keys = peftq_encodings_file_get_module_names (file);
  else
    activation_keys = peftq_encodings_file_get_activation_names (file);
  if ((params == NULL || params[0] == NULL) && (activation_keys == NULL || activation_keys[0] == NULL))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "%s holds neither parameter nor activation encodings", path);
      return FALSE;
    }

  if (strict)
    {
      collect_unknown_keys (self, file, slots, unknown);
      if (unknown->len > 0)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_NOT_FOUND,
                       "%s has encodings for quantizers that the model lacks: %s", path,
                       unknown->str);
          return FALSE;
        }
    }

  /* Check everything before changing anything. */
  for (guint i = 0; i < slots->len; i++)
    {
      PeftqSimSlot *slot = g_ptr_array_index (slots, i);
      PendingLoad load = { slot, NULL };
      PeftqAffineQuantizer *q;

      if (!PEFTQ_IS_AFFINE_QUANTIZER (slot->quantizer))
        continue;
      q = PEFTQ_AFFINE_QUANTIZER (slot->quantizer);
      if (!peftq_affine_quantizer_get_allow_overwrite (q) && peftq_affine_quantizer_is_initialized (q))
        continue;

      load.encoding = lookup_loaded_encoding (file, slot);
      if (load.encoding != NULL &&
          peftq_encoding_get_n_values (load.encoding) != peftq_affine_quantizer_get_n_encodings (q))
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_SHAPE_MISMATCH,
                       "%s: the encoding of %s has %" G_GSIZE_FORMAT " values, but its "
                       "quantizer has %" G_GSIZE_FORMAT, path, slot->name,
                       peftq_encoding_get_n_values (load.encoding),
                       peftq_affine_quantizer_get_n_encodings (q));
          return FALSE;
        }
      if (load.encoding != NULL || !partial)
        g_array_append_val (pending, load);
    }

  for (guint i = 0; i < pending->len; i++)
    {
      PendingLoad *load = &g_array_index (pending, PendingLoad, i);
      PeftqAffineQuantizer *q = PEFTQ_AFFINE_QUANTIZER (load->slot->quantizer);

      if (load->encoding == NULL)
        {
          /* partial FALSE: a quantizer without an encoding is removed, as in AIMET. */
          g_autoptr(GError) ignored = NULL;

          peftq_quant_sim_set_quantizer (self, load->slot->name, NULL, &ignored);
          continue;
        }
      if (!peftq_affine_quantizer_set_encoding (q, load->encoding, error))
        {
          g_prefix_error (error, "%s, quantizer %s: ", path, load->slot->name);
          return FALSE;
        }
      if (freeze)
        peftq_affine_quantizer_set_allow_overwrite (q, FALSE);
    }

  return TRUE;
}

/**
 * peftq_quant_sim_load_encodings:
 * @self: a simulation
 * @path: (type filename): a `_torch.encodings` file of version 0.6.1 or 1.0.0, or an
 *   encodings file keyed by quantizer names, as [method@Peftq.QuantSim.export_encodings]
 *   writes without an ONNX model
 * @strict: whether a key that names no quantizer of the model is an error
 * @partial: whether quantizers without an encoding in the file are kept; when `FALSE`
 *   they are removed from the model
 * @error: return location for a #GError
 *
 * Loads encodings into the quantizers, as AIMET's `load_encodings`: each quantizer that
 * is not frozen takes the bitwidth, symmetry and range of its encoding. Frozen
 * quantizers are skipped. Nothing changes when the file is invalid, when @strict finds
 * unknown keys, or when an encoding does not fit its quantizer.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_load_encodings (PeftqQuantSim  *self,
                                const char     *path,
                                gboolean        strict,
                                gboolean        partial,
                                GError        **error)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  return load_encodings (self, path, strict, partial, FALSE, error);
}

/**
 * peftq_quant_sim_load_and_freeze_encodings:
 * @self: a simulation
 * @path: (type filename): a `_torch.encodings` file of version 0.6.1 or 1.0.0
 * @error: return location for a #GError
 *
 * Loads encodings as [method@Peftq.QuantSim.load_encodings] does, strict and partial,
 * then freezes every quantizer that got one, as AIMET's `load_and_freeze_encodings`.
 *
 * Returns: `TRUE` on success, `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
peftq_quant_sim_load_and_freeze_encodings (PeftqQuantSim  *self,
                                           const char     *path,
                                           GError        **error)
{
  g_return_val_if_fail (PEFTQ_IS_QUANT_SIM (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  return load_encodings (self, path, TRUE, TRUE, TRUE, error);
}
