/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>
#include <peftq.h>

G_BEGIN_DECLS

/* A subcommand of the peftq program. It receives its own name as argv[0] and returns the
 * process exit status: 0 on success, 1 on a failure, 2 on a usage error. */
typedef int (*PeftqToolCommandFunc) (int    argc,
                                     char **argv);

int peftq_tool_inspect (int argc, char **argv);
int peftq_tool_demo (int argc, char **argv);
int peftq_tool_generate (int argc, char **argv);
int peftq_tool_forward (int argc, char **argv);
int peftq_tool_quantize (int argc, char **argv);

/* Checks the usage of --adapter and --active before anything is loaded: each of @specs
 * has the form "NAME=DIR", and @active needs at least one spec. A failure is a usage
 * error (exit status 2). */
gboolean peftq_tool_check_adapter_specs (char        **specs,
                                         const char   *active,
                                         GError      **error);

/* Checks that the command line left no positional argument after option parsing, for
 * commands that take none. @argv[0] is the command name. A failure is a usage error. */
gboolean peftq_tool_check_no_arguments (int      argc,
                                        char   **argv,
                                        GError **error);

/* Wraps @model in a PEFT model and loads each "NAME=DIR" of @specs as an adapter; only
 * @active (or, when NULL, the first adapter) is active. Without specs it does nothing
 * and sets *out_peft_model to NULL. */
gboolean peftq_tool_load_adapters (PeftqModule     *model,
                                   char           **specs,
                                   const char      *active,
                                   PeftqPeftModel **out_peft_model,
                                   GError         **error);

/* The settings of a quantization simulation and of the quantize flow. Zero or NULL
 * fields take AIMET's defaults (8-bit weights and outputs, tf_enhanced, the default
 * configuration, encodings version 0.6.1; LoRA bitwidths follow the others). */
typedef struct
{
  char *model_dir;
  char **adapters;          /* NAME=DIR */
  char *calibration;
  char *output_dir;
  int param_bw;
  int output_bw;
  int lora_param_bw;
  int lora_output_bw;
  gboolean per_channel;
  char *config_path;
  char *encodings_version;
  char *quant_scheme;
  int batch_size;           /* 0: all calibration sequences in one pass */
} PeftqToolQuantOptions;

void peftq_tool_quant_options_clear (PeftqToolQuantOptions *options);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PeftqToolQuantOptions, peftq_tool_quant_options_clear)

/* Adds --param-bw, --output-bw, --per-channel, --config and --quant-scheme to @context,
 * and with @with_lora also --lora-param-bw, --lora-output-bw, --encodings-version and
 * --batch-size. */
void peftq_tool_add_quant_options (GOptionContext        *context,
                                   PeftqToolQuantOptions *options,
                                   gboolean               with_lora);

/* Checks the ranges and names of the simulation options. */
gboolean peftq_tool_quant_options_check (PeftqToolQuantOptions  *options,
                                         GError                **error);

/* Creates a simulation of @model with the settings of @options. */
PeftqQuantSim *peftq_tool_new_quant_sim (PeftqModule            *model,
                                         PeftqTensor            *dummy_input,
                                         PeftqToolQuantOptions  *options,
                                         GError                **error);

/* Runs the whole flow of `peftq quantize` and prints its summary. Files are written to
 * their final names only through atomic writes, so a failure leaves earlier files as
 * they were. */
gboolean peftq_tool_run_quantize (PeftqToolQuantOptions  *options,
                                  GError                **error);

/* The key of a LoRA layer's scaling in the adapter weights files and in model.onnx:
 * `<layer>.mul_scale.scaling`. */
char *peftq_tool_scaling_key (PeftqLoraLayer *layer);

/* Prints "peftq: MESSAGE" on one line of standard error, for fatal errors. */
void peftq_tool_print_error (const GError *error);

G_END_DECLS
