/* SPDX-License-Identifier: MIT */
#pragma once

#include "peftq-quant-sim.h"

G_BEGIN_DECLS

typedef enum
{
  PEFTQ_SIM_SLOT_PARAM,
  PEFTQ_SIM_SLOT_INPUT,
  PEFTQ_SIM_SLOT_OUTPUT,
} PeftqSimSlotKind;

/* One filled quantizer slot of the simulated model. */
typedef struct
{
  char *name;                 /* the quantizer name, see peftq_quant_sim_get_quantizer_names() */
  char *module_name;          /* qualified name of the module */
  PeftqModule *module;        /* a reference */
  PeftqSimSlotKind kind;
  guint index;                /* input or output index */
  char *param;                /* parameter name, for PEFTQ_SIM_SLOT_PARAM */
  PeftqQuantizer *quantizer;  /* a reference */
} PeftqSimSlot;

/* The filled slots in module order (parameters, inputs, outputs of each module). The
 * array owns its elements. Also connects the simulation's signal relay to any quantizer
 * placed since the last call. */
GPtrArray *peftq_quant_sim_collect_slots (PeftqQuantSim *self);

/* The modules that a simulation quantizes (every leaf module with an op type), with
 * their qualified names in @out_names (owned by the caller). */
GPtrArray *peftq_quant_sim_list_quantized_modules (PeftqQuantSim   *self,
                                                   char          ***out_names);

/* Fails with a clear message while an asynchronous calibration runs. */
gboolean   peftq_quant_sim_check_idle (PeftqQuantSim  *self,
                                       GError        **error);

G_END_DECLS
