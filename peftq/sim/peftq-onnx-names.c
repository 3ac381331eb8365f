/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-onnx-names-private.h"

char *
peftq_onnx_node_name_for_module (const char *module_name,
                                 guint       depth,
                                 guint       n_nodes,
                                 gboolean    leaves_module)
{
  g_return_val_if_fail (module_name != NULL, NULL);
  g_return_val_if_fail (n_nodes > 0, NULL);
  g_return_val_if_fail (depth < n_nodes, NULL);

  if (n_nodes == 1)
    return g_strdup (module_name);

  if (depth == 0)
    return leaves_module ? g_strconcat (module_name, "#0.0.end", NULL) : g_strdup (module_name);

  return g_strdup_printf ("%s#%u%s", module_name, depth, leaves_module ? ".end" : "");
}

char *
peftq_onnx_name_make_unique (GHashTable *used,
                             const char *name)
{
  char *unique;

  g_return_val_if_fail (used != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (!g_hash_table_contains (used, name))
    {
      g_hash_table_add (used, g_strdup (name));
      return g_strdup (name);
    }

  for (guint k = 1; ; k++)
    {
      unique = g_strdup_printf ("%s-%u", name, k);
      if (!g_hash_table_contains (used, unique))
        break;
      g_free (unique);
    }

  g_hash_table_add (used, g_strdup (unique));
  return unique;
}
