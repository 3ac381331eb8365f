/* SPDX-License-Identifier: MIT */
#pragma once

#define PEFTQ_INSIDE

#include "peftq-version-macros.h"
#include "peftq-version.h"
#include "peftq-enum-types.h"

/* core: errors, tensors, safetensors files */
#include "peftq-error.h"
#include "peftq-tensor.h"
#include "peftq-threads.h"
#include "peftq-safetensors.h"

/* quant: encodings, quantizers, encoding analyzers, encodings files */
#include "peftq-quantizer.h"
#include "peftq-encoding.h"
#include "peftq-encoding-analyzer.h"
#include "peftq-min-max-analyzer.h"
#include "peftq-percentile-analyzer.h"
#include "peftq-sqnr-analyzer.h"
#include "peftq-affine-quantizer.h"
#include "peftq-encodings-file.h"

/* nn: module tree and leaf modules */
#include "peftq-forward-context.h"
#include "peftq-module.h"
#include "peftq-linear.h"
#include "peftq-add.h"
#include "peftq-multiply.h"
#include "peftq-activation.h"
#include "peftq-attention.h"
#include "peftq-conv1d.h"
#include "peftq-conv2d.h"
#include "peftq-embedding.h"
#include "peftq-layer-norm.h"
#include "peftq-matmul.h"
#include "peftq-rms-norm.h"
#include "peftq-rotary-embedding.h"
#include "peftq-sequential.h"
#include "peftq-softmax.h"

/* models: model loaders and builders */
#include "peftq-demo.h"
#include "peftq-causal-lm.h"
#include "peftq-token-ids.h"
#include "peftq-shape-model.h"

/* peft: LoRA adapters and the seed flow */
#include "peftq-lora-config.h"
#include "peftq-adapter.h"
#include "peftq-adapter-meta-data.h"
#include "peftq-peft-lora-layer.h"
#include "peftq-lora-layer.h"
#include "peftq-peft-model.h"
#include "peftq-peft.h"

/* sim: quantization simulation and export */
#include "peftq-quantsim-config.h"
#include "peftq-onnx-model.h"
#include "peftq-quant-sim.h"
#include "peftq-peft-quant-utils.h"
#include "peftq-onnx-export.h"

#undef PEFTQ_INSIDE
