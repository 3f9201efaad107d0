// cringe/cringe.hpp - the umbrella header: everything public in namespace cringe.
#pragma once

#include "error.hpp"
#include "rng.hpp"
#include "tensor.hpp"
#include "tape.hpp"
#include "ops/ops.hpp"
#include "check/dual.hpp"
#include "check/gradcheck.hpp"
#include "check/graph.hpp"
#include "loss/losses.hpp"
