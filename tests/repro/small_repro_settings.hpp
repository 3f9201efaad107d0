// The settings the reproduction's lever tests start from: a small opener world (D0 200 dialogues,
// pool 400, 4 prompts per evaluation set) and a tiny model (1 layer, 1 head, width 8), with no
// progress output. Each test sets its lever on top.
#pragma once

#include <string>

#include "../../examples/repro/settings.hpp"

namespace repro_test {

/// A small, quiet opener world and a tiny model.
inline repro::Settings small_opener_settings() {
    repro::Settings s;
    s.n_embd = 8;
    s.n_layer = 1;
    s.n_head = 1;
    s.world.pretrain = 50;
    s.world.labeled = 200;
    s.world.unlabeled = 400;
    s.world.eval_target = 4;
    s.world.eval_valid_target = 4;
    s.world.eval_ordinary = 4;
    s.world.eval_unseen = 4;
    s.progress = false;
    s.log = [](const std::string&) {};  // keep the test's output clean
    return s;
}

}  // namespace repro_test
