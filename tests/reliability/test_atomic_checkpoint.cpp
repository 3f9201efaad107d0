// Checkpoints are never lost: a writer killed at random moments (SIGKILL, no chance to clean up)
// always leaves a directory that loads, holding either the previous or the new weights in full.
#include "../io/temp_dir.hpp"
#include "../support/testing.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <cringe/io/checkpoint.hpp>

using namespace cringe;

TEST_CASE("a checkpoint writer killed mid-write leaves a loadable checkpoint", "[reliability][checkpoint]") {
    cringe_test::TempDir tmp;
    const auto dir = tmp.path() / "ckpt";
    const nn::GptConfig c{.vocab_size = 50, .n_positions = 32, .n_embd = 64, .n_layer = 2, .n_head = 4};
    const nn::Gpt<float> a(c, 1), b(c, 2);
    io::save_pretrained(a, dir);
    const float a0 = a.parameters()[0].value(0, 0), b0 = b.parameters()[0].value(0, 0);
    for (int round = 0; round < 12; ++round) {
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {  // the writer: saves b and a alternately, forever
            for (int i = 0;; ++i) io::save_pretrained(i % 2 ? a : b, dir);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(2000 + 1700 * round));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        const auto loaded = io::load_pretrained<float>(dir);  // never throws: the files are whole
        const float w = loaded.parameters()[0].value(0, 0);
        CHECK((w == a0 || w == b0));
    }
    // temporaries of killed writers may remain (named .model.safetensors.tmp.*), but never under the real names
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        CHECK((name == "config.json" || name == "model.safetensors" || name.rfind(".", 0) == 0));
    }
}
