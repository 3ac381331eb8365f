/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Names of the ONNX nodes that a module becomes, as AIMET's exporter chooses them, so
 * that tools that map ONNX names back to module names work on peftq's files:
 *
 * - a module that becomes one node: the bare module name, `lora_A.0`;
 * - a module that becomes several nodes: `name`, `name#1`, `name#2`, ... by depth from
 *   the module's input, with `.end` appended to a node whose output leaves the module
 *   (`name#2.end`). A node at depth 0 whose output leaves the module is `name#0.0.end`.
 *
 * Removing a trailing `.end` and everything from the first `#` gives the module name
 * back (peftq_onnx_node_name_to_module_name). */
char *peftq_onnx_node_name_for_module (const char *module_name,
                                       guint       depth,
                                       guint       n_nodes,
                                       gboolean    leaves_module) G_GNUC_WARN_UNUSED_RESULT;

/* Returns @name if @used does not contain it yet, else the first of `name-1`, `name-2`,
 * ... that it does not contain, and adds the result to @used (a set of strings that owns
 * its keys, made with g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL)).
 *
 * NOTE: the suffix goes at the end of the name. So `name#1.end` repeats as
 * `name#1.end-1`, which still maps back to module `name`, but the repeat of a one-node
 * module, `name-1`, maps back to a module called `name-1`. */
char *peftq_onnx_name_make_unique      (GHashTable *used,
                                        const char *name) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
