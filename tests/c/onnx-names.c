/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-onnx-model.h"
#include "peftq-onnx-names-private.h"

typedef struct
{
  const char *module;
  guint depth;
  guint n_nodes;
  gboolean leaves;
  const char *expected;
} NodeNameCase;

static const NodeNameCase node_name_cases[] = {
  { "base_model.model.linear.lora_A.0", 0, 1, TRUE, "base_model.model.linear.lora_A.0" },
  { "base_model.model.linear.lora_A.0", 0, 1, FALSE, "base_model.model.linear.lora_A.0" },
  { "mlp", 0, 3, FALSE, "mlp" },
  { "mlp", 1, 3, FALSE, "mlp#1" },
  { "mlp", 2, 3, TRUE, "mlp#2.end" },
  { "mlp", 0, 2, TRUE, "mlp#0.0.end" },
  { "mlp", 1, 2, FALSE, "mlp#1" },
};

static void
test_node_name_for_module (void)
{
  g_test_summary ("Node names follow the module, depth and .end rules");

  for (guint i = 0; i < G_N_ELEMENTS (node_name_cases); i++)
    {
      const NodeNameCase *c = &node_name_cases[i];
      g_autofree char *name = peftq_onnx_node_name_for_module (c->module, c->depth, c->n_nodes, c->leaves);
      g_autofree char *module = peftq_onnx_node_name_to_module_name (name);

      g_test_message ("case %u: %s depth %u of %u", i, c->module, c->depth, c->n_nodes);
      g_assert_cmpstr (name, ==, c->expected);
      g_assert_cmpstr (module, ==, c->module);
    }
}

typedef struct
{
  const char *node;
  const char *module;
} ModuleNameCase;

static const ModuleNameCase module_name_cases[] = {
  { "lora_A.0", "lora_A.0" },
  { "mlp#1", "mlp" },
  { "mlp#2.end", "mlp" },
  { "mlp#0.0.end", "mlp" },
  { "mlp#1.end-1", "mlp" },
  { "a.b#3#4", "a.b" },
  { "x.end", "x" },
  { "", "" },
  { "#1", "" },
};

static void
test_module_name_from_node (void)
{
  g_test_summary ("Module names drop a trailing .end and everything from the first #");

  for (guint i = 0; i < G_N_ELEMENTS (module_name_cases); i++)
    {
      g_autofree char *module = peftq_onnx_node_name_to_module_name (module_name_cases[i].node);

      g_test_message ("node name “%s”", module_name_cases[i].node);
      g_assert_cmpstr (module, ==, module_name_cases[i].module);
    }
}

static void
test_make_unique (void)
{
  g_autoptr(GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;
  g_autofree char *other = NULL;
  g_autofree char *literal = NULL;
  g_autofree char *repeat = NULL;

  g_test_summary ("Repeated names get -1, -2, ... and skip names already used");

  first = peftq_onnx_name_make_unique (used, "mlp#1.end");
  second = peftq_onnx_name_make_unique (used, "mlp#1.end");
  third = peftq_onnx_name_make_unique (used, "mlp#1.end");
  other = peftq_onnx_name_make_unique (used, "attn");
  g_assert_cmpstr (first, ==, "mlp#1.end");
  g_assert_cmpstr (second, ==, "mlp#1.end-1");
  g_assert_cmpstr (third, ==, "mlp#1.end-2");
  g_assert_cmpstr (other, ==, "attn");

  /* A literal "act-1" taken first forces the repeat of "act" to "act-2". */
  literal = peftq_onnx_name_make_unique (used, "act-1");
  g_free (peftq_onnx_name_make_unique (used, "act"));
  repeat = peftq_onnx_name_make_unique (used, "act");
  g_assert_cmpstr (literal, ==, "act-1");
  g_assert_cmpstr (repeat, ==, "act-2");

  g_assert_cmpuint (g_hash_table_size (used), ==, 7);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peftq/onnx-names/node-name-for-module", test_node_name_for_module);
  g_test_add_func ("/peftq/onnx-names/module-name-from-node", test_module_name_from_node);
  g_test_add_func ("/peftq/onnx-names/make-unique", test_make_unique);

  return g_test_run ();
}
