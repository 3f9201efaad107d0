// cringe/cringe.hpp - the umbrella header: everything public in namespace cringe.
#pragma once

// 1. tensors and the tape
#include "error.hpp"
#include "rng.hpp"
#include "tensor.hpp"
#include "tape.hpp"
// 2. differentiable ops
#include "ops/ops.hpp"
// 3. checking and inspection
#include "check/dual.hpp"
#include "check/gradcheck.hpp"
#include "check/second_order.hpp"
#include "check/graph.hpp"
// 4. losses and the model
#include "loss/losses.hpp"
#include "nn/gpt.hpp"
// 5. optimisers, decoding, files
#include "generate/generate.hpp"
#include "io/checkpoint.hpp"
#include "optim/adamw.hpp"
#include "optim/clip.hpp"
#include "optim/schedule.hpp"
#include "optim/sgd.hpp"
// 6. training
#include "train/batch.hpp"
#include "train/trainer.hpp"
#include "train/iterative.hpp"
