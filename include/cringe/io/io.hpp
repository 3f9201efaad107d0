// cringe/io/io.hpp - the umbrella header of the file formats: everything that reads or writes JSON.
//
// These headers need nlohmann-json, which the rest of the library does not: link the CMake target
// cringe::io (or pkg-config's cringe-io) to use them; cringe/cringe.hpp and cringe::cringe hold the
// rest (docs/packaging.md).
#pragma once

#include "../data/tokenizer.hpp"
#include "atomic_file.hpp"
#include "checkpoint.hpp"
#include "dtype.hpp"
#include "hf_config.hpp"
#include "hf_tokenizer.hpp"
#include "json_file.hpp"
#include "safetensors.hpp"
#include "training_state.hpp"
