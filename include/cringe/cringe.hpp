// cringe/cringe.hpp - the umbrella header: everything public in namespace cringe that needs no JSON
// library. The file formats (safetensors, Hugging Face checkpoints and tokenizers, training states,
// the word tokenizer's file) need nlohmann-json: cringe/io/io.hpp includes them (CMake target cringe::io).
#pragma once

// 1. tensors and the tape
#include "version.hpp"
#include "error.hpp"
#include "rng.hpp"
#include "tensor.hpp"
#include "tape.hpp"
// 2. differentiable ops, and the fused kernels that compute compositions of them faster
#include "ops/ops.hpp"
#include "kernels/attention.hpp"
#include "kernels/bias_gelu.hpp"
#include "kernels/residual_layer_norm.hpp"
// 3. checking and inspection
#include "dual.hpp"
#include "check/gradcheck.hpp"
#include "check/second_order.hpp"
#include "check/graph.hpp"
// 4. losses and the model
#include "loss/losses.hpp"
#include "loss/registry.hpp"
#include "nn/gpt.hpp"
#include "nn/init.hpp"
#include "nn/linear.hpp"
#include "nn/mlp.hpp"
// 5. optimisers, decoding
#include "generate/generate.hpp"
#include "optim/adamw.hpp"
#include "optim/clip.hpp"
#include "optim/schedule.hpp"
#include "optim/sgd.hpp"
// 6. training
#include "train/batch.hpp"
#include "train/model.hpp"
#include "train/resume.hpp"
#include "train/trainer.hpp"
#include "train/iterative.hpp"

/// @namespace cringe
/// Tensors, the tape and its differentiable ops, gradient checks, and errors.
/// @namespace cringe::unary
/// The elementwise functions (forward value and derivative) behind exp, log, tanh, gelu, ...
/// @namespace cringe::loss
/// The loss family: cross-entropy, unlikelihood, CRINGE, pairwise CRINGE, sigmoid-only.
/// @namespace cringe::nn
/// Models and their blocks: the GPT-2 model and its configuration, Linear, Mlp and the weight initialisers.
/// @namespace cringe::optim
/// Optimisers, gradient clipping and the learning-rate schedule.
/// @namespace cringe::generate
/// Decoding: greedy, sampling and beam search.
/// @namespace cringe::io
/// Files: safetensors, Hugging Face config.json and tokenizer.json, checkpoints, training states
/// (cringe/io/io.hpp, CMake target cringe::io: they need nlohmann-json).
/// @namespace cringe::train
/// Batching, the training loop for any model (the Model concept) with its hooks, and the iterative CRINGE round.
/// @namespace cringe::data
/// The synthetic dialogue worlds, their labeler, the word tokenizer and text metrics.

/// @mainpage cringe API reference
/// A header-only C++20 library: tape-based reverse-mode autodiff over xtensor tensors, exact
/// gradient checks with dual numbers, the CRINGE loss family, a small GPT-2, and the tools to train
/// it and to move it to PyTorch. Include `cringe/cringe.hpp` for everything in namespace cringe, and
/// `cringe/io/io.hpp` for the files (cringe::io).
///
/// Where to start: cringe::Tape and cringe::Var (the tape), the ops in namespace cringe, cringe::gradcheck,
/// the losses in cringe::loss, cringe::nn::Gpt, cringe::nn::Mlp, cringe::train::train (for any
/// cringe::train::Model), and the files of cringe::io.
/// The guides that explain the design and the math are the Markdown pages in the repository's docs/
/// folder (autodiff.md, transformer.md, losses.md, training.md, errors.md); docs/api.md says how this reference is built.
