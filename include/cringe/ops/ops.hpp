// cringe/ops/ops.hpp - every differentiable op.
#pragma once

#include "binary.hpp"
#include "embedding.hpp"
#include "layer_norm.hpp"
#include "mask.hpp"
#include "matmul.hpp"
#include "reduce.hpp"
#include "shape.hpp"
#include "softmax.hpp"
#include "unary.hpp"
