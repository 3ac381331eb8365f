/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-tool.h"

#include <peftq.h>
#include <string.h>

gboolean
peftq_tool_check_adapter_specs (char        **specs,
                                const char   *active,
                                GError      **error)
{
  if (specs == NULL || specs[0] == NULL)
    {
      if (active != NULL)
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "--active %s needs at least one --adapter NAME=DIR", active);
          return FALSE;
        }
      return TRUE;
    }

  for (guint i = 0; specs[i] != NULL; i++)
    {
      const char *equals = strchr (specs[i], '=');

      if (equals == NULL || equals == specs[i] || equals[1] == '\0')
        {
          g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                       "--adapter “%s” must have the form NAME=DIR, such as qv=adapters/qv_r4",
                       specs[i]);
          return FALSE;
        }
    }

  return TRUE;
}

gboolean
peftq_tool_check_no_arguments (int      argc,
                               char   **argv,
                               GError **error)
{
  if (argc > 1)
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_ARGUMENT,
                   "unexpected argument “%s”; run “%s --help”", argv[1], argv[0]);
      return FALSE;
    }

  return TRUE;
}

gboolean
peftq_tool_load_adapters (PeftqModule     *model,
                          char           **specs,
                          const char      *active,
                          PeftqPeftModel **out_peft_model,
                          GError         **error)
{
  g_autoptr(PeftqPeftModel) peft_model = NULL;
  const char *active_names[2] = { NULL, NULL };

  *out_peft_model = NULL;
  if (!peftq_tool_check_adapter_specs (specs, active, error))
    return FALSE;
  if (specs == NULL || specs[0] == NULL)
    return TRUE;

  peft_model = peftq_peft_model_new (model);
  for (guint i = 0; specs[i] != NULL; i++)
    {
      const char *equals = strchr (specs[i], '=');
      g_autofree char *name = NULL;

      name = g_strndup (specs[i], equals - specs[i]);
      if (peftq_peft_model_load_adapter (peft_model, equals + 1, name, error) == NULL)
        return FALSE;
      if (i == 0 && active == NULL)
        active = peftq_adapter_get_name (peftq_peft_model_get_adapter (peft_model, name));
    }

  active_names[0] = active;
  if (!peftq_peft_model_set_active_adapters (peft_model, active_names, error))
    {
      g_prefix_error (error, "--active: ");
      return FALSE;
    }

  *out_peft_model = g_steal_pointer (&peft_model);
  return TRUE;
}
