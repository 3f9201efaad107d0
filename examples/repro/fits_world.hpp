// examples/repro/fits_world.hpp - the toy analog of the paper's third experiment, open-domain
// dialogue with human feedback on the bot's own replies (FITS; docs/reproduction.md, "The FITS analog").
//
// In FITS people talk to a search-augmented bot about topics of their choosing and mark each of its
// replies good or bad; the usual faults are a wrong fact, an off-topic reply and repetition. CRINGE
// trains on those labelled bot replies and is scored by unigram F1 against gold replies on valid, test
// and test-unseen (topics never seen in training), with a size-weighted average.
//
// Here a prompt is a knowledge snippet (the search result) followed by a question about its topic:
//     "owl : brown , forest . what colour is owl ?"
// A good reply answers the question with the snippet's fact, on the prompt's topic, once:
//     "owl is brown ."   "it is brown ."   "yes , owl is brown ."
// The bot of the pretraining corpus often answers badly, in the three ways FITS labels:
//     wrong fact   "owl is green ."                          (the frame of a good reply, a wrong value)
//     off topic    "i like pizza ."  "fox is grey ."  "owl lives in forest ."   (chit-chat, another
//                                                             topic, or the answer to another question)
//     repetition   "what colour is owl ?"  "it is brown . it is brown ."   (echoes the question, or
//                                                             repeats itself)
// The pretraining bot answers 70 % of knowledge prompts badly (off topic 55 %, repetition 30 %, wrong
// fact 15 % of those), so its most likely first word is the chit-chat opener "i".
// The checker (verdict()) tells these apart exactly. Facts are drawn per prompt, so a good reply must
// read the snippet (copy its value); topics are animals, a seed-dependent part of them (the UNSEEN
// topics) never appears in any training text, only in the test-unseen split. Off-topic chit-chat shares
// one opener ("i") across every topic, and the good openers are the topic word, "it" or "yes": on an
// unseen topic the model cannot copy a word it never saw, so its decision is "it" or "yes" against the
// shared bad openers, the place where negative feedback on seen topics can carry over.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "chitchat.hpp"
#include "world.hpp"

namespace repro::world {

/// The open-domain knowledge world (FITS analog): snippet + question prompts over animal topics.
class FitsWorld {
public:
    /// D0 is feedback on the pretrained bot's own sampled replies (run_task calls Task::collect_feedback).
    static constexpr bool kFeedbackOnOwnReplies = true;

    /// What the checker says about a reply (only `good` is a good reply).
    enum class Verdict { good, wrong_fact, off_topic, repetition, malformed };

    /// The parts of a prompt: the snippet's topic and facts, and which question it asks.
    struct Prompt {
        std::string topic, colour, place;  ///< the snippet: "{T} : {C} , {P} ."
        std::size_t attribute = 0;         ///< 0 colour, 1 place, 2 both ("tell me about")
        std::string question;              ///< the question's words after the snippet
    };

    /// Slot words: T topics (animals), C colours, P places, and the chit-chat NOUN and ADJ.
    static const Lexicon& lexicon() {
        static const Lexicon lex = [] {
            Lexicon l = ChitChat::lexicon();
            l["T"] = topics();
            l["C"] = {"red", "yellow", "green", "blue", "brown", "white", "black", "grey"};
            l["P"] = {"farm", "sea", "forest", "desert", "river", "jungle", "garden", "mountain"};
            return l;
        }();
        return lex;
    }

    /// Every topic; per seed, options.fits_unseen_topics of them are held out of all training text.
    static const std::vector<std::string>& topics() {
        static const std::vector<std::string> all = {"cat",  "dog",   "horse", "cow",   "frog",  "fish",  "owl",  "bee",
                                                     "fox",  "bear",  "duck",  "goat",  "lion",  "snake", "crab", "whale",
                                                     "mouse", "tiger", "eagle", "sheep", "pig",   "wolf",  "seal", "ant"};
        return all;
    }

    /// The question patterns of each attribute (0 colour, 1 place, 2 both).
    static const std::vector<std::vector<std::string>>& questions() {
        static const std::vector<std::vector<std::string>> all = {
            {"what colour is {T} ?", "tell me the colour of {T} ."}, {"where does {T} live ?", "where do you find {T} ?"}, {"tell me about {T} ."}};
        return all;
    }

    /// The good reply frames of each attribute; a frame with {T} must name the prompt's topic.
    static const std::vector<std::vector<std::string>>& good_frames() {
        static const std::vector<std::vector<std::string>> all = {{"{T} is {C} .", "it is {C} .", "yes , {T} is {C} ."},
                                                                  {"{T} lives in {P} .", "it lives in {P} .", "yes , {T} lives in {P} ."},
                                                                  {"{T} is {C} and lives in {P} .", "it is {C} and lives in {P} .",
                                                                   "yes , {T} is {C} and lives in {P} ."}};
        return all;
    }

    /// Chit-chat replies the bot drifts into (off topic whatever the question).
    static const std::vector<std::string>& chitchat_frames() {
        static const std::vector<std::string> all = {"i like {NOUN} .", "i like {NOUN} too .", "i think {NOUN} is {ADJ} ."};
        return all;
    }

    /// The world's default options (docs/reproduction.md, "The FITS analog"). The three evaluation splits
    /// keep the paper's proportions (684 / 1453 / 1366, divided by 4).
    static WorldOptions default_options() {
        WorldOptions o;
        o.pretrain = 20000;
        o.pretrain_target_share = 0.5;   // half the corpus is knowledge dialogues ...
        o.pretrain_bad_rate = 0.7;       // ... answered badly 70 % of the time
        o.labeled = 600;                 // D0: prompts the bot answers and people label
        o.labeled_positive_share = 0.3;  // share of D0 prompts that also get a human-written gold reply
        o.unlabeled = 4000;
        o.replay_share = 0.5;            // unlabeled pool: half knowledge dialogues of the bot's logs ...
        o.replay_bad_rate = 0.5;         // ... half of them answered badly (no labels)
        o.eval_valid_target = 171;       // valid (seen topics)
        o.eval_target = 363;             // test (seen topics)
        o.eval_unseen = 342;             // test-unseen (unseen topics)
        o.eval_ordinary = 0;
        return o;
    }

    /// The topics held out of training for this seed: a seeded choice of options.fits_unseen_topics.
    static std::vector<std::string> unseen_topics(std::uint64_t seed, const WorldOptions& options = default_options()) {
        std::vector<std::string> order = topics();
        Rng rng = part_rng(seed, "world unseen topics");
        for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);  // Fisher-Yates
        order.resize(options.fits_unseen_topics);
        std::ranges::sort(order);
        return order;
    }

    /// The topics training data may use for this seed (all but the unseen ones).
    static std::vector<std::string> seen_topics(std::uint64_t seed, const WorldOptions& options = default_options()) {
        const auto unseen = unseen_topics(seed, options);
        std::vector<std::string> out;
        for (const auto& t : topics())
            if (std::ranges::find(unseen, t) == unseen.end()) out.push_back(t);
        return out;
    }

    /// Pretraining corpus, D0's prompts and gold replies, unlabeled pool and the three evaluation
    /// splits for one seed. D0's bot replies and their labels are not here: they are the pretrained
    /// MODEL's own samples, labelled after pretraining (experiment.hpp, Task::collect_feedback).
    static WorldData generate(std::uint64_t seed, const WorldOptions& options = default_options()) {
        options.validate("FitsWorld::generate");
        if (options.fits_unseen_topics < 1 || options.fits_unseen_topics + 2 > topics().size())
            throw ValueError(cat("FitsWorld::generate: WorldOptions::fits_unseen_topics is ", options.fits_unseen_topics, "; expected 1 to ",
                                 topics().size() - 2, " (at least two seen topics: an off-topic reply names another one)"));
        const auto seen = seen_topics(seed, options), unseen = unseen_topics(seed, options);
        WorldData data;
        Rng rng = part_rng(seed, "world pretraining corpus");
        for (std::size_t i = 0; i < options.pretrain; ++i)
            data.pretrain.push_back(chance(rng, options.pretrain_target_share) ? dialogue(rng, seen, options.pretrain_bad_rate)
                                                                               : ChitChat::sample_dialogue(rng));
        // D0: prompts on seen topics; a share of them also gets a gold reply (a positive).
        rng = part_rng(seed, "world D0");
        std::set<std::string> distinct;
        for (std::size_t i = 0; i < options.labeled; ++i) {
            const std::string prompt = sample_prompt(rng, seen);
            if (distinct.insert(prompt).second) data.train_target_prompts.push_back(prompt);
            if (chance(rng, options.labeled_positive_share)) data.labeled.push_back({prompt, good_reply(rng, prompt), 1});
        }
        rng = part_rng(seed, "world unlabeled pool");
        for (std::size_t i = 0; i < options.unlabeled; ++i)
            data.unlabeled.push_back(chance(rng, options.replay_share) ? dialogue(rng, seen, options.replay_bad_rate) : ChitChat::sample_dialogue(rng));
        // Evaluation: valid (seen topics), test (seen topics, then the unseen ones, flagged).
        auto eval_prompts = [&](std::vector<EvalPrompt>& split, std::size_t n, const std::vector<std::string>& pool, bool is_unseen) {
            for (std::size_t i = 0; i < n; ++i) {
                EvalPrompt p{sample_prompt(rng, pool), {}, true, is_unseen};
                for (std::size_t g = 0; g < options.golds_per_prompt; ++g) p.gold.push_back(good_reply(rng, p.prompt));
                split.push_back(std::move(p));
            }
        };
        rng = part_rng(seed, "world validation prompts");
        eval_prompts(data.valid, options.eval_valid_target > 0 ? options.eval_valid_target : options.eval_target, seen, false);
        rng = part_rng(seed, "world test prompts");
        eval_prompts(data.test, options.eval_target, seen, false);
        rng = part_rng(seed, "world test-unseen prompts");
        eval_prompts(data.test, options.eval_unseen, unseen, true);
        return data;
    }

    /// A prompt on one of `pool`'s topics: a fresh snippet (uniform colour and place) and a question.
    static std::string sample_prompt(Rng& rng, const std::vector<std::string>& pool) {
        const std::string topic = pick(rng, pool);
        const std::size_t attribute = rng.below(questions().size());
        const std::string snippet = fill_random(rng, "{T} : {C} , {P} .", lexicon(), {{"T", topic}});
        return snippet + " " + fill(pick(rng, questions()[attribute]), {{"T", topic}});
    }

    /// A good reply: a uniform good frame of the question, filled with the snippet's facts.
    static std::string good_reply(Rng& rng, const std::string& prompt) {
        const Prompt p = parse_prompt_or_throw(prompt, "good_reply");
        return fill(pick(rng, good_frames()[p.attribute]), {{"T", p.topic}, {"C", p.colour}, {"P", p.place}});
    }

    /// A bad reply as the pretraining bot writes it: off topic 55 % (chit-chat 80 %, another topic 20 %),
    /// repetition 30 % (the question echoed 60 %, a good reply said twice 40 %), wrong fact 15 %.
    /// The shared-frame argument of the classic worlds is unused.
    static std::string bad_reply(Rng& rng, const std::string& prompt, double /*shared_frame*/ = 0) { return bad_reply_in(rng, prompt, topics()); }

    // ---- the exact checker ------------------------------------------------------------------------


    /// The snippet's facts and the question of a prompt of this world, or nothing.
    static std::optional<Prompt> parse_prompt(const std::string& prompt) {
        const auto words = split_words(prompt);
        if (words.size() < 7) return std::nullopt;
        const auto snippet = match("{T} : {C} , {P} .", std::vector<std::string>(words.begin(), words.begin() + 6), lexicon());
        if (!snippet) return std::nullopt;
        const std::string question = join_words({words.begin() + 6, words.end()});
        for (std::size_t a = 0; a < questions().size(); ++a)
            if (auto q = parse(questions()[a], question, lexicon()); q && q->slots.at("T") == snippet->at("T"))
                return Prompt{snippet->at("T"), snippet->at("C"), snippet->at("P"), a, question};
        return std::nullopt;
    }

    /// The checker's verdict on `reply` to `prompt` (throws ValueError for a prompt of another world).
    /// In order: repetition (the question echoed, a word said twice in a row, or a word pair said
    /// twice), then a good frame of the question (another topic: off topic; another fact: wrong fact;
    /// else good), then a frame of another question or chit-chat (off topic); anything else is malformed.
    static Verdict verdict(const std::string& prompt, const std::string& reply) {
        const Prompt p = parse_prompt_or_throw(prompt, "verdict");
        const auto words = split_words(reply);
        if (repeats(words, split_words(p.question))) return Verdict::repetition;
        if (auto frame = parse(good_frames()[p.attribute], reply, lexicon())) {
            const Slots& s = frame->slots;
            if (s.count("T") && s.at("T") != p.topic) return Verdict::off_topic;
            if ((s.count("C") && s.at("C") != p.colour) || (s.count("P") && s.at("P") != p.place)) return Verdict::wrong_fact;
            return Verdict::good;
        }
        for (std::size_t a = 0; a < good_frames().size(); ++a)
            if (a != p.attribute && parse(good_frames()[a], reply, lexicon())) return Verdict::off_topic;
        if (parse(chitchat_frames(), reply, lexicon())) return Verdict::off_topic;
        return Verdict::malformed;
    }

    /// A sentence of the world's grammar said once: good, wrong fact or off topic.
    bool wellformed(const std::string& prompt, const std::string& reply) const {
        const Verdict v = verdict(prompt, reply);
        return v == Verdict::good || v == Verdict::wrong_fact || v == Verdict::off_topic;
    }

    /// A good reply: on the prompt's topic, the snippet's fact, no repetition (the human label "good").
    bool on_target(const std::string& prompt, const std::string& reply) const { return verdict(prompt, reply) == Verdict::good; }

    /// One flag per reply word (what a token-level label would blame, for --token-level): the wrong
    /// value of a wrong fact; the words from where a repetition starts (the echoed question, or the
    /// second copy of a repeated word or word pair) to the end; every word of any other bad reply.
    std::vector<bool> bad_word_mask(const std::string& prompt, const std::string& reply) const {
        const Prompt p = parse_prompt_or_throw(prompt, "bad_word_mask");
        const auto words = split_words(reply);
        const Verdict v = verdict(prompt, reply);
        std::vector<bool> mask(words.size(), v != Verdict::good);
        if (v == Verdict::repetition) {
            const std::size_t from = repetition_start(words, split_words(p.question));
            for (std::size_t i = 0; i < words.size(); ++i) mask[i] = i >= from;
        }
        if (v == Verdict::wrong_fact)
            for (std::size_t i = 0; i < words.size(); ++i) {
                const auto& colours = lexicon().at("C");
                const auto& places = lexicon().at("P");
                const bool colour = std::ranges::find(colours, words[i]) != colours.end(), place = std::ranges::find(places, words[i]) != places.end();
                mask[i] = (colour && words[i] != p.colour) || (place && words[i] != p.place);
            }
        return mask;
    }

    /// Every word the world can produce (for building the tokenizer).
    std::vector<std::string> vocabulary() const {
        std::vector<std::string> all = chitchat_frames();
        all.push_back("{T} : {C} , {P} .");
        for (const auto& q : questions()) all.insert(all.end(), q.begin(), q.end());
        for (const auto& f : good_frames()) all.insert(all.end(), f.begin(), f.end());
        std::set<std::string> words = words_of(all, lexicon());
        words.merge(ChitChat::words());
        return {words.begin(), words.end()};
    }

private:
    /// bad_reply, with the other topic of an off-topic reply drawn from `pool` (training text never
    /// names an unseen topic).
    static std::string bad_reply_in(Rng& rng, const std::string& prompt, const std::vector<std::string>& pool) {
        const Prompt p = parse_prompt_or_throw(prompt, "bad_reply");
        const double u = rng.uniform();
        if (u < 0.55) {  // off topic: chit-chat, or a good frame about another topic
            if (chance(rng, 0.8)) return fill_random(rng, pick(rng, chitchat_frames()), lexicon());
            std::string other = p.topic;
            while (other == p.topic) other = pick(rng, pool);
            const auto& frames = good_frames()[p.attribute];  // a frame that names the topic (not "it ...")
            return fill_random(rng, frames[chance(rng, 0.5) ? 0 : 2], lexicon(), {{"T", other}});
        }
        if (u < 0.85) {  // repetition: echo the question, or say a good reply twice
            if (chance(rng, 0.6)) return p.question;
            // a good reply without the "yes ," opener, twice (the longest, 16 words, still fits 32 positions)
            const std::string once = fill(good_frames()[p.attribute][rng.below(2)], {{"T", p.topic}, {"C", p.colour}, {"P", p.place}});
            return once + " " + once;
        }
        // wrong fact: a good frame with another colour and/or place
        Slots slots{{"T", p.topic}, {"C", p.colour}, {"P", p.place}};
        const bool wrong_colour = p.attribute == 0 || (p.attribute == 2 && chance(rng, 0.5));
        std::string& wrong = slots[wrong_colour ? "C" : "P"];
        const std::string right = wrong;
        while (wrong == right) wrong = pick(rng, lexicon().at(wrong_colour ? "C" : "P"));
        return fill(pick(rng, good_frames()[p.attribute]), slots);
    }
    /// Where a repetition starts in `words`: the first word of the echoed question, or of the second copy
    /// of a word said twice in a row or of a word pair said twice (the earliest); words.size() when none.
    static std::size_t repetition_start(const std::vector<std::string>& words, const std::vector<std::string>& question) {
        std::size_t from = words.size();
        if (!question.empty() && words.size() >= question.size())
            for (std::size_t i = 0; i + question.size() <= words.size(); ++i)
                if (std::equal(question.begin(), question.end(), words.begin() + static_cast<std::ptrdiff_t>(i))) {
                    from = i;
                    break;
                }
        std::set<std::pair<std::string, std::string>> pairs;
        for (std::size_t i = 0; i + 1 < words.size() && i + 1 < from; ++i) {
            if (words[i] == words[i + 1]) return std::min(from, i + 1);
            if (!pairs.emplace(words[i], words[i + 1]).second) return std::min(from, i);
        }
        return from;
    }

    /// True when `words` contain the question's words in a row, a word twice in a row, or a word pair twice.
    static bool repeats(const std::vector<std::string>& words, const std::vector<std::string>& question) {
        return repetition_start(words, question) < words.size();
    }

    static Prompt parse_prompt_or_throw(const std::string& prompt, const char* who) {
        if (auto p = parse_prompt(prompt)) return *p;
        throw ValueError(cat("FitsWorld::", who, ": '", prompt, "' is not a prompt of the FITS world (expected '{topic} : {colour} , {place} . {question}')"));
    }

    /// A knowledge dialogue on one of `pool`'s topics, answered badly with probability bad_rate; unlabeled.
    static Dialogue dialogue(Rng& rng, const std::vector<std::string>& pool, double bad_rate) {
        const std::string prompt = sample_prompt(rng, pool);
        return {prompt, chance(rng, bad_rate) ? bad_reply_in(rng, prompt, pool) : good_reply(rng, prompt), -1};
    }
};

static_assert(ChatWorld<FitsWorld>);

}  // namespace repro::world
