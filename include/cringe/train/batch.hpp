// cringe/train/batch.hpp - turning (context, reply, label) examples into model inputs and targets.
//
// A dialogue example becomes one row:   full   = context ++ reply ++ [eos]
//                                       inputs = full[0 .. n-2]          (what the model reads)
//                                       targets[i] = full[i+1] if it belongs to the reply, else pad
// so only reply tokens (and the EOS that ends them) are supervised, as in ParlAI where the loss
// covers the label only. Rows are right-padded to the longest row of the batch.
#pragma once

#include <vector>

#include "../loss/batch.hpp"
#include "../tensor.hpp"

namespace cringe::train {

/// One training example as token ids.
struct Example {
    Tokens context;  ///< e.g. `<bos>` prompt `<sep>`
    Tokens reply;    ///< without `<eos>`
    /// 1 positive, 0 negative, loss::kUnlabeled unlabeled.
    int label = loss::kUnlabeled;
};

/// A padded batch ready for a model and a loss.
struct TrainBatch {
    IdTensor inputs;     ///< [B,T]
    loss::Batch batch;   ///< targets [B,T], labels [B], pad_id
    std::size_t tokens = 0;  ///< supervised tokens (for tokens/s)
};

/// Builds one batch; throws if a row does not fit in `max_length` positions.
inline TrainBatch make_batch(const std::vector<Example>& examples, std::int64_t eos_id, std::int64_t pad_id, std::size_t max_length) {
    if (examples.empty()) throw ValueError("make_batch: no examples; expected at least one");
    std::size_t width = 0;
    for (std::size_t i = 0; i < examples.size(); ++i) {
        const std::size_t n = examples[i].context.size() + examples[i].reply.size();  // inputs = full minus one
        if (examples[i].context.empty()) throw ValueError(cat("make_batch: example ", i, " has an empty context; expected at least <bos>"));
        if (n > max_length)
            throw ValueError(cat("make_batch: example ", i, " needs ", n, " positions; the model has n_positions = ", max_length));
        width = std::max(width, n);
    }
    TrainBatch out;
    const std::size_t B = examples.size();
    out.inputs = IdTensor::from_shape({B, width});
    out.inputs.fill(pad_id);
    out.batch.targets = IdTensor::from_shape({B, width});
    out.batch.targets.fill(pad_id);
    out.batch.pad_id = pad_id;
    for (std::size_t b = 0; b < B; ++b) {
        const Example& e = examples[b];
        Tokens full = e.context;
        full.insert(full.end(), e.reply.begin(), e.reply.end());
        full.push_back(eos_id);
        for (std::size_t i = 0; i + 1 < full.size(); ++i) {
            out.inputs(b, i) = full[i];
            if (i + 1 >= e.context.size()) {
                out.batch.targets(b, i) = full[i + 1];
                ++out.tokens;
            }
        }
        out.batch.labels.push_back(e.label);
    }
    return out;
}

}  // namespace cringe::train
