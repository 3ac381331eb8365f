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

/* Wraps @model in a PEFT model and loads each "NAME=DIR" of @specs as an adapter; only
 * @active (or, when NULL, the first adapter) is active. Without specs it does nothing
 * and sets *out_peft_model to NULL. */
gboolean peftq_tool_load_adapters (PeftqModule     *model,
                                   char           **specs,
                                   const char      *active,
                                   PeftqPeftModel **out_peft_model,
                                   GError         **error);

/* Prints "peftq: MESSAGE" on one line of standard error, for fatal errors. */
void peftq_tool_print_error (const GError *error);

G_END_DECLS
