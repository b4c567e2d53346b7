// The native half of the engine: see moe_shim.h for the contract.
#include "moe_shim.h"

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"
#include "llama.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#ifndef MAE_LLAMA_TAG
#define MAE_LLAMA_TAG "unknown"
#endif

namespace {

// Push-down used by weak routing and masks: large enough that a pushed expert's softmax weight is
// ~e^-50, finite so that 0 * logit never becomes NaN inside the MoE kernels.
constexpr float PUSH_DOWN = 50.0f;

thread_local std::string t_error;
thread_local std::string t_llama_errors;  // llama.cpp's error lines since the call began
thread_local std::string t_log_line;
thread_local int t_log_level = GGML_LOG_LEVEL_INFO;
// The abort flag of the session whose decode runs on this thread: the errors llama.cpp logs on the way
// out of an aborted decode (a cancelled request, a spent time budget) are expected, so they log as debug.
thread_local const std::atomic<bool> *t_abort_flag = nullptr;

mae_log_fn g_log_fn = nullptr;
int g_min_level = GGML_LOG_LEVEL_WARN;
std::once_flag g_init_once;

int fail(int code, const std::string &msg) {
    t_error = msg;
    if (!t_llama_errors.empty() && code == MAE_ERR_LLAMA) {
        t_error += " (llama.cpp: " + t_llama_errors + ")";
    }
    return code;
}

void log_cb(enum ggml_log_level level, const char *text, void *) {
    if (text == nullptr) return;
    if (level != GGML_LOG_LEVEL_CONT) t_log_level = level;
    t_log_line += text;
    if (t_log_line.empty() || t_log_line.back() != '\n') return;
    t_log_line.pop_back();
    if (t_log_level == GGML_LOG_LEVEL_ERROR && t_llama_errors.size() < 4096) {
        t_llama_errors += (t_llama_errors.empty() ? "" : "; ") + t_log_line;
    }
    const bool aborted = t_abort_flag != nullptr && t_abort_flag->load(std::memory_order_relaxed);
    const int shown = aborted && t_log_level == GGML_LOG_LEVEL_ERROR ? GGML_LOG_LEVEL_DEBUG : t_log_level;
    if (g_log_fn != nullptr && shown >= g_min_level && !t_log_line.empty()) {
        g_log_fn(shown, t_log_line.c_str());
    }
    t_log_line.clear();
}

// What the eval callback does with a named tensor of a MoE layer.
enum Role : uint8_t {
    ROLE_EDIT = 1,          // router logits (or the tensor the gating function reads)
    ROLE_TOPK = 2,          // selected expert ids
    ROLE_WEIGHTS = 4,       // final mixing weights: scaled by edits, then traced
    ROLE_PROBS = 8,         // probabilities over all experts, traced
    ROLE_SCORE = 16,        // selection scores before group masking (score + bias)
    ROLE_SELECT = 32,       // the scores top-k reads (after group masking)
    ROLE_WEIGHTS_RAW = 64,  // selected weights before renormalisation
};

struct TensorRole {
    int32_t layer;
    uint8_t roles;
};

// How one MoE layer routes, as seen in the probe decode.
struct LayerRouting {
    int32_t gating = MAE_GATING_NONE;
    // groups: selection is limited to the best expert groups (DeepSeek-V2/V3 style), bias or not
    bool renorm = false, bias = false, groups = false, router = false, out_rows_only = false;
    int32_t selectable = 0;
    float w_scale = 1.0f;  // what the graph multiplies the final weights by (expert_weights_scale)

    // selection reads scores other than the logits' own ranking (a bias, a group mask), so the
    // selection edits act on those scores and on the raw weights rather than on the logits
    bool selects_apart() const { return bias || groups; }
};

bool has_prefix(const char *s, const char *p) { return std::strncmp(s, p, std::strlen(p)) == 0; }

// Splits "ffn_moe_logits-12" into ("ffn_moe_logits", 12); returns false if there is no layer.
bool split_layer(const char *name, std::string &base, int &layer) {
    const char *dash = std::strrchr(name, '-');
    if (dash == nullptr || dash[1] == '\0') return false;
    char *end = nullptr;
    long v = std::strtol(dash + 1, &end, 10);
    if (*end != '\0' || v < 0) return false;
    base.assign(name, dash - name);
    layer = (int)v;
    return true;
}

// What the one-token probe decode saw of every MoE layer.
struct ProbeLayer {
    bool logits = false, probs = false, topk = false, argsort = false;
    bool w = false, w_norm = false, w_softmax = false, w_scaled = false, probs_biased = false, probs_masked = false;
    int gating = MAE_GATING_NONE;
    std::string edit_target;
    int64_t n_expert = 0, n_used = 0, rows = 0;
};

struct Probe {
    std::vector<ProbeLayer> layers;
};

// The tensor an edit of the router logits must reach: where a graph cuts the logits it computed
// earlier to the output rows (SmallThinker's last layer), the cut is an unnamed node the session's
// callback never sees, so the edit goes to the named logits before it (the cut then keeps its rows).
const char *edit_target_of(const ggml_tensor *x) {
    if (x->op == GGML_OP_GET_ROWS && !has_prefix(x->name, "ffn_moe_") && x->src[0] != nullptr && has_prefix(x->src[0]->name, "ffn_moe_"))
        return x->src[0]->name;
    return x->name;
}

bool probe_cb(struct ggml_tensor *t, bool ask, void *ud) {
    if (!ask) return true;
    auto *p = static_cast<Probe *>(ud);
    if (!has_prefix(t->name, "ffn_moe_")) return false;
    std::string base;
    int il;
    if (!split_layer(t->name, base, il) || il >= (int)p->layers.size()) return false;
    ProbeLayer &L = p->layers[il];
    if (base == "ffn_moe_logits") {
        L.logits = true;
        L.n_expert = t->ne[0];
    } else if (base == "ffn_moe_probs") {
        L.probs = true;
        L.rows = t->ne[1];  // the rows routed (logits passed in may still hold every row)
        const ggml_tensor *src = t->src[0];
        if (t->op == GGML_OP_SOFT_MAX && src != nullptr) {
            L.gating = MAE_GATING_SOFTMAX;
            L.edit_target = edit_target_of(src);
        } else if (t->op == GGML_OP_UNARY && ggml_get_unary_op(t) == GGML_UNARY_OP_SIGMOID && src != nullptr) {
            L.gating = MAE_GATING_SIGMOID;
            L.edit_target = edit_target_of(src);
        } else if (t->op == GGML_OP_MUL_MAT || t->op == GGML_OP_ADD) {
            // probs are the logits themselves; softmax comes after top-k (gpt-oss style)
            L.gating = MAE_GATING_SOFTMAX_WEIGHT;
            L.edit_target = t->name;
            L.n_expert = t->ne[0];
        } else if (t->op == GGML_OP_SQRT && src != nullptr && src->op == GGML_OP_UNARY &&
                   ggml_get_unary_op(src) == GGML_UNARY_OP_SOFTPLUS && src->src[0] != nullptr) {
            L.gating = MAE_GATING_SQRT_SOFTPLUS;
            L.edit_target = edit_target_of(src->src[0]);
        } else {
            L.gating = MAE_GATING_OTHER;
            if (src != nullptr && src->src[0] != nullptr) L.edit_target = src->src[0]->name;
        }
    } else if (base == "ffn_moe_topk") {
        L.topk = true;
        L.n_used = t->ne[0];
    } else if (base == "ffn_moe_weights") {
        L.w = true;
    } else if (base == "ffn_moe_weights_norm") {
        L.w_norm = true;
    } else if (base == "ffn_moe_weights_softmax") {
        L.w_softmax = true;
    } else if (base == "ffn_moe_weights_scaled") {
        L.w_scaled = true;
    } else if (base == "ffn_moe_probs_biased") {
        L.probs_biased = true;
    } else if (base == "ffn_moe_probs_masked") {
        L.probs_masked = true;
    } else if (base == "ffn_moe_argsort") {
        L.argsort = true;
    }
    return false;
}

}  // namespace

struct mae_model {
    llama_model *model = nullptr;
    const llama_vocab *vocab = nullptr;
    std::string arch;  // general.architecture ("" if the file has none)
    int32_t info[MAE_INFO_COUNT] = {0};
    std::vector<int32_t> moe_layers;
    std::vector<LayerRouting> routing;  // per layer (all layers; MoE layers filled)
    std::unordered_map<std::string, TensorRole> roles;
};

namespace {

struct Edit {
    int32_t kind, p0, p1, param;
    std::vector<float> vec;
};

struct SeqState {
    std::vector<std::vector<Edit>> layers;  // edits per layer
    bool routes = false;
    int32_t probs_p0 = 0, probs_p1 = 0;
};

// Reads a tensor's bytes: in place on host buffers, through a staging copy on device buffers.
struct TensorAccess {
    ggml_tensor *t;
    uint8_t *base;
    bool staged;
    TensorAccess(ggml_tensor *tensor, std::vector<uint8_t> &stage) : t(tensor) {
        staged = !(t->buffer != nullptr && ggml_backend_buffer_is_host(t->buffer));
        if (staged) {
            stage.resize(ggml_nbytes(t));
            ggml_backend_tensor_get(t, stage.data(), 0, stage.size());
            base = stage.data();
        } else {
            base = static_cast<uint8_t *>(t->data);
        }
    }
    void write_back() {
        if (staged) ggml_backend_tensor_set(t, base, 0, ggml_nbytes(t));
    }
};

float push_shift(float max_pushed, float min_kept) { return std::max(0.0f, max_pushed - min_kept) + PUSH_DOWN; }

void sorted_desc(const float *z, int n, std::vector<int> &idx) {
    idx.resize(n);
    for (int i = 0; i < n; i++) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [z](int a, int b) { return z[a] > z[b]; });
}

// Pushes every expert but the rank-th of z's own ranking below it.
void keep_rank(float *z, int n, int rank, std::vector<int> &idx) {
    sorted_desc(z, n, idx);
    const int keep = idx[rank - 1];
    float max_other = -INFINITY;
    for (int i = 0; i < n; i++)
        if (i != keep) max_other = std::max(max_other, z[i]);
    const float shift = push_shift(max_other, z[keep]);
    for (int i = 0; i < n; i++)
        if (i != keep) z[i] -= shift;
}

// Pushes every expert below z's own top m under them.
void keep_top(float *z, int n, int m, std::vector<int> &idx) {
    if (m >= n) return;
    sorted_desc(z, n, idx);
    const float shift = push_shift(z[idx[m]], z[idx[m - 1]]);
    for (int r = m; r < n; r++) z[idx[r]] -= shift;
}

void push_denied(float *z, int n, const std::vector<float> &allowed) {
    float min_allowed = INFINITY, max_denied = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (allowed[i] != 0.0f) min_allowed = std::min(min_allowed, z[i]);
        else max_denied = std::max(max_denied, z[i]);
    }
    if (max_denied == -INFINITY) return;
    const float shift = push_shift(max_denied, min_allowed);
    for (int i = 0; i < n; i++)
        if (allowed[i] == 0.0f) z[i] -= shift;
}

// The logit whose gating output is p: the inverse of the layer's gating function.
float inverse_gating(double p, int gating) {
    switch (gating) {
        case MAE_GATING_SIGMOID: {
            const double v = std::min(std::max(p, 1e-30), 1.0 - 1e-7);
            return (float)(std::log(v) - std::log1p(-v));
        }
        case MAE_GATING_SQRT_SOFTPLUS:  // p = sqrt(log(1 + e^z))  <=>  z = log(e^(p^2) - 1)
            return (float)std::log(std::max(std::expm1(std::min(p * p, 80.0)), 1e-30));
        default:  // softmax before or after top-k: log p (renormalising gatings are shift-invariant)
            return (float)std::log(std::max(p, 1e-30));
    }
}

// SteerMoE's rule: a promoted expert (vec > 0) takes the row's highest score plus vec, a suppressed
// one (vec < 0) its lowest plus vec, both read before the edit over the finite entries (group
// masking leaves -inf), so the expert ranks first (last) whatever it scored.
bool steer(const Edit &e, float *z, int n) {
    float hi = -INFINITY, lo = INFINITY;
    for (int i = 0; i < n; i++)
        if (std::isfinite(z[i])) {
            hi = std::max(hi, z[i]);
            lo = std::min(lo, z[i]);
        }
    if (hi == -INFINITY) return false;
    for (int i = 0; i < n; i++) {
        if (e.vec[i] > 0.0f) z[i] = hi + e.vec[i];
        else if (e.vec[i] < 0.0f) z[i] = lo + e.vec[i];
    }
    return true;
}

// Edits of the router logits. Without a selection bias or expert groups the logits decide selection
// and weights alike, so every selection edit acts here; with either, rank-k and top-m act on the
// scores top-k reads (edit_select) and on the weights (edit_raw_weights), as the model's own ranking
// is that of those scores. A mask also acts there under a bias; under groups alone it acts here too,
// so the group choice avoids denied experts (no separate score tensor precedes the group mask).
bool edit_logits(const Edit &e, float *z, int n, const LayerRouting &lr, std::vector<int> &idx) {
    switch (e.kind) {
        case MAE_EDIT_DELTA:
            for (int i = 0; i < n; i++) z[i] += e.vec[i];
            return true;
        case MAE_EDIT_REPLACE:
            for (int i = 0; i < n; i++) z[i] = inverse_gating(e.vec[i], lr.gating);
            return true;
        case MAE_EDIT_RANK_K:
            if (lr.selects_apart()) return false;
            keep_rank(z, n, e.param, idx);
            return true;
        case MAE_EDIT_TOP_M:
            if (lr.selects_apart()) return false;
            keep_top(z, n, e.param, idx);
            return true;
        case MAE_EDIT_ALLOW:
            if (lr.bias) return false;
            push_denied(z, n, e.vec);
            return true;
        case MAE_EDIT_STEER:  // the weights read the logits in every family; under a bias, selection is steered below too
            return steer(e, z, n);
        default:
            return false;
    }
}

// Selection scores (score + bias) before group masking: a delta moves selection as it moves the
// logit, so a large delta selects (or excludes) its expert whatever the bias; a mask steers the
// group choice towards allowed experts.
bool edit_score(const Edit &e, float *z, int n) {
    if (e.kind == MAE_EDIT_DELTA) {
        for (int i = 0; i < n; i++) z[i] += e.vec[i];
        return true;
    }
    if (e.kind == MAE_EDIT_ALLOW) {
        push_denied(z, n, e.vec);
        return true;
    }
    if (e.kind == MAE_EDIT_STEER) return steer(e, z, n);
    return false;
}

// The scores top-k reads, bias and group masking included: rank-k and top-m follow the model's
// own choice; a replacement selects the top-k of the new distribution, whatever the groups.
bool edit_select(const Edit &e, float *z, int n, bool masked, std::vector<int> &idx) {
    switch (e.kind) {
        case MAE_EDIT_REPLACE:
            for (int i = 0; i < n; i++) z[i] = e.vec[i];
            return true;
        case MAE_EDIT_RANK_K:
            keep_rank(z, n, e.param, idx);
            return true;
        case MAE_EDIT_TOP_M:
            keep_top(z, n, e.param, idx);
            return true;
        case MAE_EDIT_ALLOW:
            if (!masked) return false;  // already pushed before the group choice
            push_denied(z, n, e.vec);
            return true;
        case MAE_EDIT_STEER:  // a promoted expert of a group the choice masked out is selected still
            return masked && steer(e, z, n);
        default:
            return false;
    }
}

// Slot j of a row of selected weights, slots stride bytes apart.
float &weight_slot(float *w, size_t stride, int j) { return *reinterpret_cast<float *>(reinterpret_cast<uint8_t *>(w) + j * stride); }

// Selected weights before renormalisation, slot j holding the j-th choice: the weights read the
// unbiased score, so slots a selection edit does not keep are zeroed here. Where they are softmax
// probabilities over all experts left as they are (DeepSeek-V2), rank-k and top-m then give the kept
// experts all the mass, in their own ratio, as the same edit of the logits does in OLMoE.
bool edit_raw_weights(const Edit &e, float *w, size_t stride, int k, const int32_t *experts, bool unit_mass) {
    auto at = [&](int j) -> float & { return weight_slot(w, stride, j); };
    bool changed = false;
    double kept = 0.0;
    for (int j = 0; j < k; j++) {
        const bool drop = (e.kind == MAE_EDIT_RANK_K && j >= 1) || (e.kind == MAE_EDIT_TOP_M && j >= e.param) ||
                          (e.kind == MAE_EDIT_ALLOW && e.vec[experts[j]] == 0.0f);
        if (drop) {
            at(j) = 0.0f;
            changed = true;
        } else {
            kept += at(j);
        }
    }
    if (changed && unit_mass && e.kind != MAE_EDIT_ALLOW && kept > 0.0)
        for (int j = 0; j < k; j++) at(j) = (float)(at(j) / kept);
    return changed;
}

// Top-p over the selected experts: the fewest (largest first) whose probability mass reaches p keep
// their weights, the rest get 0. Where the weights are softmax probabilities over all experts (no
// renormalisation) the mass is theirs, times the layer's weight scale; elsewhere it is the share of
// the selected weight. Where the layer renormalises, the kept weights are scaled back to the selected
// total (the model's scale).
bool keep_top_p(float p, float *w, size_t stride, int k, bool renorm, bool absolute, float scale) {
    auto at = [&](int j) -> float & { return weight_slot(w, stride, j); };
    int order[64];
    if (k > 64) return false;
    double total = 0.0;
    for (int j = 0; j < k; j++) {
        order[j] = j;
        total += at(j);
    }
    if (!(total > 0.0)) return false;
    std::sort(order, order + k, [&](int a, int b) { return at(a) > at(b) || (at(a) == at(b) && a < b); });
    double kept = 0.0;
    int n_keep = 0;
    const double target = absolute ? (double)p * scale : p * total;
    while (n_keep < k && kept < target) kept += at(order[n_keep++]);
    if (n_keep == k) return false;
    for (int i = n_keep; i < k; i++) at(order[i]) = 0.0f;
    if (renorm && kept > 0.0)
        for (int i = 0; i < n_keep; i++) at(order[i]) = (float)(at(order[i]) * (total / kept));
    return true;
}

bool edit_final_weights(const Edit &e, float *w, size_t stride, int k, const LayerRouting &lr) {
    if (e.kind == MAE_EDIT_TOP_P)
        return keep_top_p(e.vec[0], w, stride, k, lr.renorm, !lr.renorm && lr.gating == MAE_GATING_SOFTMAX, lr.w_scale);
    if (e.kind != MAE_EDIT_SCALE_WEIGHTS) return false;
    for (int j = 0; j < k; j++) weight_slot(w, stride, j) *= e.vec[j];
    return true;
}

}  // namespace

// How llama.cpp's memory cuts a batch into ubatches outside embeddings mode: batch_parts lays a batch
// out so that each of its parts is one ubatch, in the part's own order.
enum class Ubatching {
    IN_ORDER,         // split_simple: one attention cache
    CONSECUTIVE_IDS,  // split_equal over sequences whose ids follow each other: a stream per
                      // sequence, a recurrent memory, DeepSeek-V4's cache (its compressor
                      // states are always one per sequence)
    ALL_SEQUENCES,    // split_equal over every sequence: a hybrid memory with one attention cache
};

struct mae_session {
    mae_model *m = nullptr;
    llama_context *ctx = nullptr;
    int32_t n_ctx = 0, n_batch = 0, n_seq = 0;
    llama_batch batch{};
    std::vector<SeqState> seqs;
    std::atomic<bool> abort_flag{false};
    ggml_threadpool *pool = nullptr, *pool_batch = nullptr;
    bool embeddings = false;       // every token outputs its final hidden state (and logits)
    bool last_embeddings = false;  // the last successful decode ran with embeddings on

    // the batch being decoded, as the eval callback sees it: llama.cpp's batch holds the parts of a
    // decode one after another (see batch_parts), and each part reaches the callback as one ubatch
    std::vector<int32_t> part_start;  // where each part begins in llama.cpp's batch, then where the last ends
    std::vector<int32_t> out_rows;    // rows of llama.cpp's batch that output logits, in order
    std::vector<int32_t> out_start;   // where each part's rows begin in out_rows, then the end
    size_t ubatch = 0;                // the part running now
    std::string first_moe_node;       // the first MoE node asked about in this decode: asked again, a new ubatch
    int64_t llama_decodes = 0;        // llama_decode calls so far
    std::vector<int8_t> last_output;  // output flags of the last successful decode
    std::vector<uint32_t> edit_kinds; // per layer: bit (1 << kind) for every edit kind due this batch
    // per layer, the (decode, part) whose routes and probabilities were traced last: a graph that routes
    // twice in one layer from the same logits (GroveMoE's experts, then its chunk experts) traces once
    std::vector<std::pair<int64_t, size_t>> traced_routes, traced_probs;
    bool routes_active = false, probs_active = false;
    std::string cb_error;

    std::vector<std::vector<int32_t>> pending_topk;  // per layer, rows * n_used
    std::vector<int32_t> route_meta, route_experts, probs_meta;
    std::vector<float> route_weights, probs_data;
    std::vector<uint8_t> stage;
    std::vector<int> idx;
    std::vector<double> norm;
    std::vector<llama_token_data> candidates;

    // the memory regroups a batch's tokens by sequence (recurrent, hybrid); in embeddings mode
    // llama.cpp then cuts a batch into one ubatch per sequence (see batch_parts)
    bool regroups = false;
    // a partial copy of a sequence is refused: recurrent, hybrid and sliding-window memories
    bool whole_copies = false;
    bool split = false;  // a KV stream per sequence
    Ubatching ubatching = Ubatching::IN_ORDER;
    int32_t n_ctx_seq = 0;
    // each batch index's row in llama.cpp's last batch (the parts may order the rows otherwise)
    std::vector<int32_t> llama_row;
};

namespace {

constexpr uint32_t kind_bit(int kind) { return 1u << kind; }
constexpr uint32_t SELECTION_KINDS = kind_bit(MAE_EDIT_RANK_K) | kind_bit(MAE_EDIT_TOP_M) | kind_bit(MAE_EDIT_ALLOW);
constexpr uint32_t WEIGHT_KINDS = kind_bit(MAE_EDIT_SCALE_WEIGHTS) | kind_bit(MAE_EDIT_TOP_P);

// Rows of the running ubatch: all of its part's, or (a graph cut to the outputs) those that output logits.
int64_t part_rows(const mae_session *s) { return s->part_start[s->ubatch + 1] - s->part_start[s->ubatch]; }
int64_t part_outputs(const mae_session *s) { return s->out_start[s->ubatch + 1] - s->out_start[s->ubatch]; }

// The row of llama.cpp's batch that row r of a tensor of the running ubatch (of `rows` rows) belongs to.
int token_of_row(const mae_session *s, int64_t rows, int64_t r) {
    return rows == part_rows(s) ? s->part_start[s->ubatch] + (int)r : s->out_rows[s->out_start[s->ubatch] + r];
}

bool rows_ok(mae_session *s, int64_t rows, const char *name) {
    if (rows == part_rows(s) || rows == part_outputs(s)) return true;
    s->cb_error = std::string("unexpected row count in ") + name;
    return false;
}

// Calls fn(edit, row, r) for every row of t (a [row_len, rows] tensor, rows at nb_r) and every edit of
// its token's sequence on this layer that covers the token's position; writes back what changed.
template <typename F>
void edit_rows(mae_session *s, ggml_tensor *t, int layer, int64_t rows, size_t nb_r, F fn) {
    if (!rows_ok(s, rows, t->name)) return;
    TensorAccess acc(t, s->stage);
    bool changed = false;
    for (int64_t r = 0; r < rows; r++) {
        const int tok = token_of_row(s, rows, r);
        const int pos = s->batch.pos[tok];
        const auto &edits = s->seqs[s->batch.seq_id[tok][0]].layers[layer];
        auto *row = reinterpret_cast<float *>(acc.base + r * nb_r);
        for (const Edit &e : edits)
            if (pos >= e.p0 && pos < e.p1) changed |= fn(e, row, r);
    }
    if (changed) acc.write_back();
}

bool expert_rows(mae_session *s, ggml_tensor *t, const char *what) {
    if (t->type == GGML_TYPE_F32 && t->ne[0] == s->m->info[MAE_INFO_N_EXPERT] && t->nb[0] == sizeof(float)) return true;
    s->cb_error = std::string(what) + " tensor has an unexpected layout: " + t->name;
    return false;
}

// Selected-weights tensors are [1, k, rows] before renormalisation and [k, rows] after it.
struct WeightsLayout {
    int64_t k, rows;
    size_t nb_j, nb_r;
};

bool weights_layout(mae_session *s, const ggml_tensor *t, WeightsLayout &w) {
    w.k = s->m->info[MAE_INFO_N_EXPERT_USED];
    const bool three_d = t->ne[0] == 1;
    w.rows = three_d ? t->ne[2] : t->ne[1];
    w.nb_j = three_d ? t->nb[1] : t->nb[0];
    w.nb_r = three_d ? t->nb[2] : t->nb[1];
    if (t->type == GGML_TYPE_F32 && (three_d ? t->ne[1] : t->ne[0]) == w.k) return true;
    s->cb_error = std::string("unexpected weights tensor layout: ") + t->name;
    return false;
}

void do_edit(mae_session *s, ggml_tensor *t, int layer) {
    if (!expert_rows(s, t, "router logits")) return;
    const LayerRouting &lr = s->m->routing[layer];
    const int n = (int)t->ne[0];
    edit_rows(s, t, layer, t->ne[1], t->nb[1], [&](const Edit &e, float *z, int64_t) { return edit_logits(e, z, n, lr, s->idx); });
}

void do_score(mae_session *s, ggml_tensor *t, int layer) {
    if (!expert_rows(s, t, "selection score")) return;
    const int n = (int)t->ne[0];
    edit_rows(s, t, layer, t->ne[1], t->nb[1], [&](const Edit &e, float *z, int64_t) { return edit_score(e, z, n); });
}

void do_select(mae_session *s, ggml_tensor *t, int layer, bool masked) {
    if (!expert_rows(s, t, "selection")) return;
    const int n = (int)t->ne[0];
    edit_rows(s, t, layer, t->ne[1], t->nb[1], [&](const Edit &e, float *z, int64_t) { return edit_select(e, z, n, masked, s->idx); });
}

void do_topk(mae_session *s, ggml_tensor *t, int layer) {
    const int64_t k = t->ne[0], rows = t->ne[1];
    if (t->type != GGML_TYPE_I32 || k != s->m->info[MAE_INFO_N_EXPERT_USED]) {
        s->cb_error = std::string("unexpected top-k tensor layout: ") + t->name;
        return;
    }
    if (!rows_ok(s, rows, t->name)) return;
    TensorAccess acc(t, s->stage);
    auto &dst = s->pending_topk[layer];
    dst.resize(rows * k);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < k; j++)
            dst[r * k + j] = *reinterpret_cast<const int32_t *>(acc.base + r * t->nb[1] + j * t->nb[0]);
}

void do_raw_weights(mae_session *s, ggml_tensor *t, int layer) {
    WeightsLayout w;
    if (!weights_layout(s, t, w)) return;
    const auto &topk = s->pending_topk[layer];
    const bool ids = (int64_t)topk.size() == w.rows * w.k;
    const LayerRouting &lr = s->m->routing[layer];
    const bool unit_mass = lr.gating == MAE_GATING_SOFTMAX && !lr.renorm;
    edit_rows(s, t, layer, w.rows, w.nb_r, [&](const Edit &e, float *row, int64_t r) {
        if (e.kind == MAE_EDIT_ALLOW && !ids) {
            s->cb_error = std::string("weights without matching top-k: ") + t->name;
            return false;
        }
        return edit_raw_weights(e, row, w.nb_j, (int)w.k, ids ? &topk[r * w.k] : nullptr, unit_mass);
    });
}

void do_final_weights(mae_session *s, ggml_tensor *t, int layer) {
    WeightsLayout w;
    if (!weights_layout(s, t, w)) return;
    const LayerRouting &lr = s->m->routing[layer];
    edit_rows(s, t, layer, w.rows, w.nb_r, [&](const Edit &e, float *row, int64_t) { return edit_final_weights(e, row, w.nb_j, (int)w.k, lr); });
}

void trace_weights(mae_session *s, ggml_tensor *t, int layer) {
    WeightsLayout w;
    if (!weights_layout(s, t, w) || !rows_ok(s, w.rows, t->name)) return;
    const auto &topk = s->pending_topk[layer];
    if ((int64_t)topk.size() != w.rows * w.k) {
        s->cb_error = std::string("weights without matching top-k: ") + t->name;
        return;
    }
    TensorAccess acc(t, s->stage);
    for (int64_t r = 0; r < w.rows; r++) {
        int tok = token_of_row(s, w.rows, r);
        int seq = s->batch.seq_id[tok][0];
        if (!s->seqs[seq].routes) continue;
        s->route_meta.insert(s->route_meta.end(), {seq, s->batch.pos[tok], layer});
        for (int64_t j = 0; j < w.k; j++) {
            s->route_experts.push_back(topk[r * w.k + j]);
            s->route_weights.push_back(*reinterpret_cast<const float *>(acc.base + r * w.nb_r + j * w.nb_j));
        }
    }
}

// Traced probabilities sum to 1 in every family: softmax-after-top-k traces logits, so they are
// softmaxed over all experts; sigmoid and sqrt-softplus scores are divided by their sum.
void to_probabilities(std::vector<double> &v, int gating) {
    double sum = 0.0;
    if (gating == MAE_GATING_SOFTMAX_WEIGHT) {
        const double mx = *std::max_element(v.begin(), v.end());
        for (double &x : v) sum += (x = std::exp(x - mx));
    } else if (gating != MAE_GATING_SOFTMAX) {
        for (double &x : v) sum += (x = std::max(x, 0.0));
    } else {
        return;
    }
    if (sum > 0.0)
        for (double &x : v) x /= sum;
}

void do_probs(mae_session *s, ggml_tensor *t, int layer) {
    if (!expert_rows(s, t, "probabilities")) return;
    const int n_exp = (int)t->ne[0];
    const int64_t rows = t->ne[1];
    if (!rows_ok(s, rows, t->name)) return;
    const int gating = s->m->routing[layer].gating;
    TensorAccess acc(t, s->stage);
    for (int64_t r = 0; r < rows; r++) {
        int tok = token_of_row(s, rows, r);
        int seq = s->batch.seq_id[tok][0];
        int pos = s->batch.pos[tok];
        const SeqState &st = s->seqs[seq];
        if (pos < st.probs_p0 || pos >= st.probs_p1) continue;
        s->probs_meta.insert(s->probs_meta.end(), {seq, pos, layer});
        const auto *row = reinterpret_cast<const float *>(acc.base + r * t->nb[1]);
        s->norm.assign(row, row + n_exp);
        to_probabilities(s->norm, gating);
        s->probs_data.insert(s->probs_data.end(), s->norm.begin(), s->norm.end());
    }
}

// Whether this is the layer's first visit in the running part of the decode (and marks it visited).
bool first_visit(std::pair<int64_t, size_t> &last, const mae_session *s) {
    const std::pair<int64_t, size_t> now{s->llama_decodes, s->ubatch};
    if (last == now) return false;
    last = now;
    return true;
}

uint8_t wanted_roles(const mae_session *s, const TensorRole &tr) {
    const uint32_t kinds = s->edit_kinds[tr.layer];
    const LayerRouting &lr = s->m->routing[tr.layer];
    const bool bias = lr.bias, apart = lr.selects_apart();
    const uint32_t always = kind_bit(MAE_EDIT_DELTA) | kind_bit(MAE_EDIT_REPLACE) | kind_bit(MAE_EDIT_STEER);
    const uint32_t logit_kinds = bias ? always : apart ? always | kind_bit(MAE_EDIT_ALLOW) : always | SELECTION_KINDS;
    uint8_t want = 0;
    if ((tr.roles & ROLE_EDIT) && (kinds & logit_kinds)) want |= ROLE_EDIT;
    if ((tr.roles & ROLE_SCORE) && (kinds & (kind_bit(MAE_EDIT_DELTA) | kind_bit(MAE_EDIT_ALLOW) | kind_bit(MAE_EDIT_STEER)))) want |= ROLE_SCORE;
    if ((tr.roles & ROLE_SELECT) && (kinds & (kind_bit(MAE_EDIT_REPLACE) | kind_bit(MAE_EDIT_STEER) | SELECTION_KINDS))) want |= ROLE_SELECT;
    if ((tr.roles & ROLE_WEIGHTS_RAW) && (kinds & SELECTION_KINDS)) want |= ROLE_WEIGHTS_RAW;
    if ((tr.roles & ROLE_TOPK) && (s->routes_active || (apart && (kinds & kind_bit(MAE_EDIT_ALLOW))))) want |= ROLE_TOPK;
    if ((tr.roles & ROLE_WEIGHTS) && (s->routes_active || (kinds & WEIGHT_KINDS))) want |= ROLE_WEIGHTS;
    if ((tr.roles & ROLE_PROBS) && s->probs_active) want |= ROLE_PROBS;
    return want;
}

// The eval callback: answers "no" to every node it has nothing to do with, so a request without
// edits or traces keeps llama.cpp's graph unsplit. Roles sharing a tensor run in graph order.
bool session_cb(struct ggml_tensor *t, bool ask, void *ud) {
    auto *s = static_cast<mae_session *>(ud);
    if (t->name[0] != 'f' || !has_prefix(t->name, "ffn_moe_")) return !ask;
    auto it = s->m->roles.find(t->name);
    if (it == s->m->roles.end()) return !ask;
    uint8_t want = wanted_roles(s, it->second);
    if (ask) {
        // with one part llama.cpp splits the batch as it likes, only where the callback reads no row
        if (s->part_start.size() > 2) {
            if (s->first_moe_node.empty()) {
                s->first_moe_node = t->name;
            } else if (s->first_moe_node == t->name) {  // every ubatch's graph has each node once: the next part
                if (s->ubatch + 2 < s->part_start.size()) s->ubatch++;
                else s->cb_error = "llama.cpp decoded the batch in more ubatches than its parts";
            }
        }
        return want != 0;
    }
    if (!s->cb_error.empty()) return true;
    try {
        const int layer = it->second.layer;
        if (want & ROLE_EDIT) do_edit(s, t, layer);
        if ((want & ROLE_PROBS) && first_visit(s->traced_probs[layer], s)) do_probs(s, t, layer);
        if (want & ROLE_SCORE) do_score(s, t, layer);
        if (want & ROLE_SELECT) do_select(s, t, layer, (it->second.roles & ROLE_SCORE) == 0);
        if (want & ROLE_TOPK) do_topk(s, t, layer);
        if (want & ROLE_WEIGHTS_RAW) do_raw_weights(s, t, layer);
        if (want & ROLE_WEIGHTS) {
            if (s->edit_kinds[layer] & WEIGHT_KINDS) do_final_weights(s, t, layer);
            if (s->routes_active && first_visit(s->traced_routes[layer], s)) trace_weights(s, t, layer);
        }
    } catch (const std::exception &ex) {
        s->cb_error = ex.what();
    } catch (...) {
        s->cb_error = "unknown error in eval callback";
    }
    return true;
}

// Decodes the parts (batch indices) as one llama batch, one after another; the eval callback maps the
// rows of each ubatch to those of its part. Returns MAE_OK or an error with nothing of the batch left
// in the memory (llama.cpp itself removes only a failed ubatch's positions).
int decode_parts(mae_session *s, const std::vector<std::vector<int32_t>> &parts, const int32_t *tokens, const int32_t *pos,
                 const int32_t *seq, const int8_t *output) {
    const int n_layer = s->m->info[MAE_INFO_N_LAYER];
    std::fill(s->edit_kinds.begin(), s->edit_kinds.end(), 0);
    s->routes_active = s->probs_active = false;
    s->part_start.assign(1, 0);
    s->out_rows.clear();
    s->out_start.assign(1, 0);
    int r = 0;
    for (const auto &part : parts) {
        for (int i : part) {
            s->llama_row[i] = r;
            s->batch.token[r] = tokens[i];
            s->batch.pos[r] = pos[i];
            s->batch.n_seq_id[r] = 1;
            s->batch.seq_id[r][0] = seq[i];
            const bool out = output[i] != 0 || s->embeddings;  // llama.cpp outputs every token then
            s->batch.logits[r] = out;
            if (out) s->out_rows.push_back(r);
            const SeqState &st = s->seqs[seq[i]];
            s->routes_active |= st.routes;
            s->probs_active |= pos[i] >= st.probs_p0 && pos[i] < st.probs_p1;
            for (int l = 0; l < n_layer; l++)
                for (const Edit &e : st.layers[l])
                    if (pos[i] >= e.p0 && pos[i] < e.p1) s->edit_kinds[l] |= kind_bit(e.kind);
            r++;
        }
        s->part_start.push_back(r);
        s->out_start.push_back((int32_t)s->out_rows.size());
    }
    s->batch.n_tokens = r;
    s->first_moe_node.clear();
    s->ubatch = 0;
    s->cb_error.clear();
    t_llama_errors.clear();
    s->llama_decodes++;
    t_abort_flag = &s->abort_flag;
    const int rc = llama_decode(s->ctx, s->batch);
    t_abort_flag = nullptr;
    if (rc == 0 && s->cb_error.empty() && s->ubatch + 2 != s->part_start.size())
        s->cb_error = "llama.cpp decoded the batch in other ubatches than its parts";
    if (rc == 0 && s->cb_error.empty()) return MAE_OK;
    for (int i = 0; i < r; i++) llama_memory_seq_rm(llama_get_memory(s->ctx), s->batch.seq_id[i][0], s->batch.pos[i], -1);
    if (rc == 1) return fail(MAE_ERR_NO_SLOT, "no room in the KV cache for this batch (context full)");
    if (rc == 2) return fail(MAE_ERR_ABORTED, "decode aborted");
    if (rc != 0) return fail(MAE_ERR_LLAMA, "llama_decode failed with status " + std::to_string(rc));
    return fail(MAE_ERR_INTERNAL, s->cb_error);
}

// Whether the eval callback reads or edits any of the batch's rows (decode_parts' conditions).
bool callback_reads(const mae_session *s, int n, const int32_t *pos, const int32_t *seq) {
    for (int i = 0; i < n; i++) {
        const SeqState &st = s->seqs[seq[i]];
        if (st.routes || (pos[i] >= st.probs_p0 && pos[i] < st.probs_p1)) return true;
        for (const auto &layer : st.layers)
            for (const Edit &e : layer)
                if (pos[i] >= e.p0 && pos[i] < e.p1) return true;
    }
    return false;
}

// Each sequence's rows, in batch order, the sequences in id order.
std::map<int32_t, std::vector<int32_t>> rows_by_sequence(int n, const int32_t *seq) {
    std::map<int32_t, std::vector<int32_t>> rows;
    for (int i = 0; i < n; i++) rows[seq[i]].push_back(i);
    return rows;
}

// Runs of sequences with one row each and consecutive ids go together in one part, in id order, and
// a sequence with several rows alone: llama.cpp's split_equal puts one row of every sequence of a
// ubatch in it before a second of any and, where it is sequential, only sequences whose ids follow
// each other, so such a run is one ubatch in its own order. Returns the parts in rising sequence order.
std::vector<std::vector<int32_t>> single_row_runs(int n, const int32_t *seq) {
    std::vector<std::vector<int32_t>> parts;
    std::vector<int32_t> run;
    int32_t last = -2;
    for (const auto &[sq, idx] : rows_by_sequence(n, seq)) {
        if (!run.empty() && (idx.size() > 1 || sq != last + 1)) {
            parts.push_back(run);
            run.clear();
        }
        if (idx.size() > 1) {
            parts.push_back(idx);
        } else {
            run.push_back(idx[0]);
            last = sq;
        }
    }
    if (!run.empty()) parts.push_back(run);
    return parts;
}

// llama.cpp's split_equal over every sequence (not only consecutive ids): each ubatch takes, from
// every sequence with rows left, as many rows as all of them have, up to n_ubatch in all, each
// sequence's rows together, the sequences in the order their first rows come. Laid out part by part
// (here in sequence order), a batch splits into the same parts again: each part holds every sequence
// with rows left, in the part's own order. Where llama.cpp cuts other ubatches, the eval callback
// finds them and the decode fails (decode_parts).
std::vector<std::vector<int32_t>> equal_split(int n, const int32_t *seq, int n_ubatch) {
    std::vector<std::vector<int32_t>> rows, parts;
    for (auto &[sq, idx] : rows_by_sequence(n, seq)) rows.push_back(std::move(idx));
    std::vector<size_t> next(rows.size(), 0);  // per sequence, its first row in no part yet
    while (true) {
        size_t left = 0, each = SIZE_MAX;
        for (size_t q = 0; q < rows.size(); q++) {
            if (next[q] < rows[q].size()) {
                left++;
                each = std::min(each, rows[q].size() - next[q]);
            }
        }
        if (left == 0) return parts;
        each = std::min(each, std::max<size_t>(1, (size_t)n_ubatch / left));
        std::vector<int32_t> part;
        for (size_t q = 0; q < rows.size(); q++) {
            if (next[q] < rows[q].size()) {
                part.insert(part.end(), rows[q].begin() + (long)next[q], rows[q].begin() + (long)(next[q] + each));
                next[q] += each;
            }
        }
        parts.push_back(std::move(part));
    }
}

// Whether a sequence has a run of rows long enough for the CPU attention's tiled kernel, which it takes
// only for 64 or more query rows of one sequence (GGML_FA_TILE_Q) and otherwise decodes row by row over
// every cell the sequence holds. Left to llama.cpp, a cache of streams would put one of those rows in a
// ubatch with the single rows of the sequences whose ids follow its own, and the rest in the next one:
// a prompt's chunk of 64 decoded as 63 took about ten times as long on a long context. Shorter runs are
// left to llama.cpp, which may put several in one ubatch.
constexpr size_t TILED_ROWS = 64;

bool has_long_run(int n, const int32_t *seq) {
    if ((size_t)n < TILED_ROWS) return false;  // a decode step of single rows: nothing to count
    std::map<int32_t, size_t> rows;
    for (int i = 0; i < n; i++)
        if (++rows[seq[i]] >= TILED_ROWS) return true;
    return false;
}

// The parts a batch is decoded in, as batch indices, all in one llama_decode: the eval callback maps
// a ubatch's rows to the rows of a part, so each part must reach it as one ubatch in its own order.
// - Consecutive ids: the single-row runs, the highest sequences first (where the callback reads a row,
//   or a sequence has a long run). split_equal starts each
//   ubatch at the first row not yet decoded and adds the rows of the next sequence id after it
//   wherever they lie, so it finds each part whole: every later part's sequences are lower.
// - All sequences: the parts of equal_split.
// - In order: the whole batch.
// - By sequence, in embeddings mode on a memory that regroups tokens: llama.cpp then cuts a ubatch
//   from the first row not yet decoded and the rows of its sequence after it (split_seq).
// A memory that regroups tokens by sequence is laid out so whether or not the callback reads a row:
// a sequence's outputs must not depend on whether another sequence is edited or traced, and other
// ubatches would round otherwise. A cache of streams is split as llama.cpp likes (it returns outputs
// in batch order) where the callback reads no row and no sequence has a long run.
std::vector<std::vector<int32_t>> batch_parts(const mae_session *s, int n, const int32_t *pos, const int32_t *seq) {
    std::vector<std::vector<int32_t>> parts;
    if (s->regroups && s->embeddings) {
        for (auto &[sq, idx] : rows_by_sequence(n, seq)) parts.push_back(std::move(idx));
        return parts;
    }
    if (s->ubatching == Ubatching::ALL_SEQUENCES) return equal_split(n, seq, s->n_batch);
    if (s->ubatching == Ubatching::CONSECUTIVE_IDS && (s->regroups || callback_reads(s, n, pos, seq) || has_long_run(n, seq))) {
        parts = single_row_runs(n, seq);
        std::reverse(parts.begin(), parts.end());
        return parts;
    }
    parts.emplace_back(n);
    for (int i = 0; i < n; i++) parts[0][i] = i;
    return parts;
}

// The CPU backend's thread-pool functions live in the dynamically loaded CPU backend.
template <typename F>
F *cpu_proc(const char *name) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    ggml_backend_reg_t reg = dev != nullptr ? ggml_backend_dev_backend_reg(dev) : nullptr;
    return reg != nullptr ? reinterpret_cast<F *>(ggml_backend_reg_get_proc_address(reg, name)) : nullptr;
}

// Persistent worker threads per session, as llama.cpp's own tools use. Without them ggml starts
// and joins threads for every graph computation, and an observed tensor splits a decode into one
// computation per edited layer, so the lever would pay that cost once per layer.
void attach_pools(mae_session *s, int n_threads, int n_threads_batch) {
    auto *make = cpu_proc<decltype(ggml_threadpool_new)>("ggml_threadpool_new");
    if (make == nullptr) return;  // no CPU backend threads to manage (e.g. a GPU-only build)
    ggml_threadpool_params p = ggml_threadpool_params_default(n_threads);
    s->pool = make(&p);
    if (n_threads_batch != n_threads) {
        ggml_threadpool_params pb = ggml_threadpool_params_default(n_threads_batch);
        s->pool_batch = make(&pb);
    }
    if (s->pool != nullptr) llama_attach_threadpool(s->ctx, s->pool, s->pool_batch != nullptr ? s->pool_batch : s->pool);
}

void free_pools(mae_session *s) {
    auto *release = cpu_proc<decltype(ggml_threadpool_free)>("ggml_threadpool_free");
    if (release == nullptr) return;
    if (s->pool != nullptr) release(s->pool);
    if (s->pool_batch != nullptr) release(s->pool_batch);
}

bool abort_cb(void *ud) { return static_cast<mae_session *>(ud)->abort_flag.load(std::memory_order_relaxed); }

struct ProgressCtx {
    mae_progress_fn fn;
};

bool progress_cb(float p, void *ud) {
    auto *pc = static_cast<ProgressCtx *>(ud);
    return pc->fn == nullptr || pc->fn(p) != 0;
}

// Experts that survive group masking (DeepSeek-V3 style groups), read from the GGUF metadata the
// graph itself uses.
int32_t selectable_experts(const mae_model *mm, int64_t n_expert) {
    if (mm->arch.empty()) return (int32_t)n_expert;
    char buf[32];
    auto key = [&](const char *suffix) {
        const std::string k = mm->arch + suffix;
        return llama_model_meta_val_str(mm->model, k.c_str(), buf, sizeof buf) < 0 ? 0L : std::strtol(buf, nullptr, 10);
    };
    const long groups = key(".expert_group_count"), used = key(".expert_group_used_count");
    if (groups <= 1 || used <= 0 || n_expert % groups != 0) return (int32_t)n_expert;
    return (int32_t)(n_expert / groups * used);
}

// The factor the graph multiplies the final weights by (ffn_moe_weights_scaled), from the GGUF
// metadata the graph itself reads; 1 where the file names none.
float weight_scale(const mae_model *mm) {
    if (mm->arch.empty()) return 1.0f;
    char buf[32];
    const std::string k = mm->arch + ".expert_weights_scale";
    if (llama_model_meta_val_str(mm->model, k.c_str(), buf, sizeof buf) < 0) return 1.0f;
    const float v = std::strtof(buf, nullptr);
    return std::isfinite(v) && v > 0.0f ? v : 1.0f;
}

// Runs two tokens (only the last outputting) through a throwaway context with a naming-only eval
// callback, to learn which layers are MoE layers, how each routes, which only sees output rows,
// and the tensors to edit and trace.
bool probe_model(mae_model *mm) {
    char arch[64];
    if (llama_model_meta_val_str(mm->model, "general.architecture", arch, sizeof arch) >= 0) mm->arch = arch;
    Probe probe;
    const int n_layer = llama_model_n_layer(mm->model);
    probe.layers.resize(n_layer);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 64;
    cp.n_batch = 2;
    cp.n_ubatch = 2;
    cp.n_seq_max = 1;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    cp.cb_eval = probe_cb;
    cp.cb_eval_user_data = &probe;
    cp.no_perf = true;
    llama_context *ctx = llama_init_from_model(mm->model, cp);
    if (ctx == nullptr) return false;
    llama_token tok = llama_vocab_bos(mm->vocab);
    if (tok < 0 || tok >= llama_vocab_n_tokens(mm->vocab)) tok = 0;
    llama_batch batch = llama_batch_init(2, 0, 1);
    for (int i = 0; i < 2; i++) {
        batch.token[i] = tok;
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = i == 1;
    }
    batch.n_tokens = 2;
    int rc = llama_decode(ctx, batch);
    llama_batch_free(batch);
    llama_free(ctx);
    if (rc != 0) return false;

    int gating = MAE_GATING_NONE, renorm = 0, bias = 0;
    int64_t n_exp = 0, n_used = 0;
    mm->routing.assign(n_layer, LayerRouting{});
    for (int il = 0; il < n_layer; il++) {
        const ProbeLayer &L = probe.layers[il];
        if (!L.probs || !L.topk || L.edit_target.empty()) continue;
        mm->moe_layers.push_back(il);
        LayerRouting &lr = mm->routing[il];
        lr.gating = L.gating;
        lr.renorm = L.w_norm || L.w_softmax;
        lr.bias = L.probs_biased && L.gating != MAE_GATING_SOFTMAX_WEIGHT;
        lr.groups = L.probs_masked;
        lr.w_scale = L.w_scaled ? weight_scale(mm) : 1.0f;
        lr.router = L.argsort;
        lr.out_rows_only = L.rows == 1;
        lr.selectable = selectable_experts(mm, L.n_expert);
        // model-wide summary: the common gating (else OTHER), renormalised only if every layer is
        gating = mm->moe_layers.size() == 1 || gating == L.gating ? L.gating : MAE_GATING_OTHER;
        renorm = (mm->moe_layers.size() == 1 || renorm) && lr.renorm ? 1 : 0;
        bias |= lr.bias ? 1 : 0;
        n_exp = std::max(n_exp, L.n_expert);
        n_used = std::max(n_used, L.n_used);
        auto add_role = [&](const std::string &name, uint8_t role) {
            auto &tr = mm->roles[name];
            tr.layer = il;
            tr.roles |= role;
        };
        const std::string suffix = "-" + std::to_string(il);
        add_role(L.edit_target, ROLE_EDIT);
        add_role("ffn_moe_topk" + suffix, ROLE_TOPK);
        add_role("ffn_moe_probs" + suffix, ROLE_PROBS);
        if (lr.selects_apart()) {
            // under groups alone the scores before the mask are the probabilities the weights read:
            // no edit of its own, the logit edits reach the group choice through them
            if (lr.bias) add_role("ffn_moe_probs_biased" + suffix, ROLE_SCORE);
            add_role((L.probs_masked ? "ffn_moe_probs_masked" : "ffn_moe_probs_biased") + suffix, ROLE_SELECT);
            add_role("ffn_moe_weights" + suffix, ROLE_WEIGHTS_RAW);
        }
        const char *w = L.w_scaled ? "ffn_moe_weights_scaled" : L.w_norm ? "ffn_moe_weights_norm"
                                   : L.w_softmax             ? "ffn_moe_weights_softmax"
                                                             : "ffn_moe_weights";
        add_role(w + suffix, ROLE_WEIGHTS);
    }
    int32_t *info = mm->info;
    info[MAE_INFO_N_LAYER] = n_layer;
    info[MAE_INFO_N_EXPERT] = (int32_t)n_exp;
    info[MAE_INFO_N_EXPERT_USED] = (int32_t)n_used;
    info[MAE_INFO_GATING] = gating;
    info[MAE_INFO_RENORM] = renorm;
    info[MAE_INFO_N_VOCAB] = llama_vocab_n_tokens(mm->vocab);
    info[MAE_INFO_N_CTX_TRAIN] = llama_model_n_ctx_train(mm->model);
    info[MAE_INFO_N_EMBD] = llama_model_n_embd(mm->model);
    info[MAE_INFO_BOS] = llama_vocab_bos(mm->vocab);
    info[MAE_INFO_EOS] = llama_vocab_eos(mm->vocab);
    info[MAE_INFO_SELECTION_BIAS] = bias;
    info[MAE_INFO_N_MOE_LAYERS] = (int32_t)mm->moe_layers.size();
    info[MAE_INFO_ADD_BOS] = llama_vocab_get_add_bos(mm->vocab) ? 1 : 0;
    info[MAE_INFO_MEMORY] = llama_model_is_recurrent(mm->model) ? MAE_MEMORY_RECURRENT
                            : llama_model_is_hybrid(mm->model)  ? MAE_MEMORY_HYBRID
                            : llama_model_n_swa(mm->model) > 0  ? MAE_MEMORY_SLIDING_WINDOW
                                                                : MAE_MEMORY_ATTENTION;
    return true;
}

}  // namespace

#define MAE_GUARD_BEGIN try {
#define MAE_GUARD_END(ret)                                          \
    }                                                               \
    catch (const std::exception &ex) {                              \
        fail(MAE_ERR_INTERNAL, std::string("native error: ") + ex.what()); \
        return ret;                                                 \
    }                                                               \
    catch (...) {                                                   \
        fail(MAE_ERR_INTERNAL, "unknown native error");             \
        return ret;                                                 \
    }

extern "C" {

const char *mae_last_error(void) { return t_error.c_str(); }

const char *mae_version(void) { return "moe-shim 1; llama.cpp " MAE_LLAMA_TAG; }

const char *mae_system_info(void) { return llama_print_system_info(); }

int mae_init(const char *lib_dir, mae_log_fn log_fn, int min_level) {
    MAE_GUARD_BEGIN
    g_log_fn = log_fn;
    g_min_level = min_level;
    llama_log_set(log_cb, nullptr);
    std::call_once(g_init_once, [lib_dir] {
        if (lib_dir != nullptr && lib_dir[0] != '\0') ggml_backend_load_all_from_path(lib_dir);
        else ggml_backend_load_all();
        llama_backend_init();
    });
    if (ggml_backend_dev_count() == 0) return fail(MAE_ERR_LLAMA, "no ggml backend could be loaded");
    return MAE_OK;
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

mae_model *mae_model_load(const char *path, int n_gpu_layers, int use_mmap, mae_progress_fn progress) {
    MAE_GUARD_BEGIN
    if (path == nullptr) {
        fail(MAE_ERR_ARG, "model path is null");
        return nullptr;
    }
    t_llama_errors.clear();
    ProgressCtx pc{progress};
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = n_gpu_layers;
    mp.load_mode = use_mmap ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
    mp.progress_callback = progress_cb;
    mp.progress_callback_user_data = &pc;
    llama_model *model = llama_model_load_from_file(path, mp);
    if (model == nullptr) {
        fail(MAE_ERR_LLAMA, std::string("failed to load model ") + path);
        return nullptr;
    }
    auto *mm = new mae_model();
    mm->model = model;
    mm->vocab = llama_model_get_vocab(model);
    if (!probe_model(mm)) {
        fail(MAE_ERR_LLAMA, "the model loaded but a probe decode failed");
        llama_model_free(model);
        delete mm;
        return nullptr;
    }
    return mm;
    MAE_GUARD_END(nullptr)
}

void mae_model_free(mae_model *m) {
    if (m == nullptr) return;
    llama_model_free(m->model);
    delete m;
}

int mae_model_info(const mae_model *m, int32_t *out, int32_t n) {
    if (m == nullptr || out == nullptr || n < MAE_INFO_COUNT) return fail(MAE_ERR_ARG, "bad info buffer");
    std::memcpy(out, m->info, sizeof(m->info));
    return MAE_OK;
}

int mae_model_layers(const mae_model *m, int32_t *out, int32_t n) {
    if (m == nullptr || out == nullptr || n < MAE_LAYER_COUNT * (int32_t)m->moe_layers.size())
        return fail(MAE_ERR_ARG, "bad layer buffer");
    for (size_t i = 0; i < m->moe_layers.size(); i++) {
        const LayerRouting &lr = m->routing[m->moe_layers[i]];
        int32_t *o = out + i * MAE_LAYER_COUNT;
        o[MAE_LAYER_INDEX] = m->moe_layers[i];
        o[MAE_LAYER_GATING] = lr.gating;
        o[MAE_LAYER_RENORM] = lr.renorm;
        o[MAE_LAYER_SELECTION_BIAS] = lr.bias;
        o[MAE_LAYER_SELECTABLE] = lr.selectable;
        o[MAE_LAYER_ROUTER] = lr.router;
        o[MAE_LAYER_OUTPUT_ROWS_ONLY] = lr.out_rows_only;
    }
    return (int)m->moe_layers.size();
}

int mae_model_meta(const mae_model *m, const char *key, char *buf, int32_t cap) {
    if (m == nullptr || key == nullptr || buf == nullptr || cap <= 0) return fail(MAE_ERR_ARG, "bad meta arguments");
    return llama_model_meta_val_str(m->model, key, buf, cap);
}

int mae_model_desc(const mae_model *m, char *buf, int32_t cap) {
    if (m == nullptr || buf == nullptr || cap <= 0) return fail(MAE_ERR_ARG, "bad desc arguments");
    return llama_model_desc(m->model, buf, cap);
}

int mae_model_is_eog(const mae_model *m, int32_t token) {
    if (m == nullptr || token < 0 || token >= m->info[MAE_INFO_N_VOCAB]) return 0;
    return llama_vocab_is_eog(m->vocab, token) ? 1 : 0;
}

int mae_tokenize(const mae_model *m, const char *text, int32_t len, int32_t *out, int32_t cap,
                 int add_special, int parse_special) {
    MAE_GUARD_BEGIN
    if (m == nullptr || text == nullptr || len < 0 || out == nullptr || cap < 0) return fail(MAE_ERR_ARG, "bad tokenize arguments");
    int32_t n = llama_tokenize(m->vocab, text, len, out, cap, add_special != 0, parse_special != 0);
    if (n == INT32_MIN) return fail(MAE_ERR_ARG, "text too long to tokenize");
    return n;  // negative: -(tokens needed)
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

int mae_token_piece(const mae_model *m, int32_t token, char *buf, int32_t cap, int special) {
    MAE_GUARD_BEGIN
    if (m == nullptr || buf == nullptr || cap < 0 || token < 0 || token >= m->info[MAE_INFO_N_VOCAB])
        return fail(MAE_ERR_ARG, "bad token piece arguments");
    return llama_token_to_piece(m->vocab, token, buf, cap, 0, special != 0);
    MAE_GUARD_END(INT32_MIN)
}

int mae_chat_apply(const mae_model *m, const char *tmpl, int32_t n, const char **roles,
                   const char **contents, int add_assistant, char *buf, int32_t cap) {
    MAE_GUARD_BEGIN
    if (m == nullptr || n < 0 || (n > 0 && (roles == nullptr || contents == nullptr)) || buf == nullptr || cap < 0)
        return fail(MAE_ERR_ARG, "bad chat arguments");
    const char *t = tmpl != nullptr ? tmpl : llama_model_chat_template(m->model, nullptr);
    if (t == nullptr) return fail(MAE_ERR_ARG, "the model has no chat template; pass one explicitly");
    std::vector<llama_chat_message> msgs(n);
    for (int i = 0; i < n; i++) {
        if (roles[i] == nullptr || contents[i] == nullptr) return fail(MAE_ERR_ARG, "null chat message");
        msgs[i] = {roles[i], contents[i]};
    }
    int32_t r = llama_chat_apply_template(t, msgs.data(), msgs.size(), add_assistant != 0, buf, cap);
    if (r < 0) return fail(MAE_ERR_ARG, "the chat template is not supported by llama.cpp");
    return r;
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

mae_session *mae_session_new(mae_model *m, int32_t n_ctx, int32_t n_batch, int32_t n_seq,
                             int32_t n_threads, int32_t n_threads_batch, int32_t flash_attn, int32_t kv_f32,
                             int32_t kv_split) {
    MAE_GUARD_BEGIN
    if (m == nullptr || n_ctx <= 0 || n_batch <= 0 || n_seq <= 0 || n_threads <= 0 || n_threads_batch <= 0 || flash_attn < -1
        || flash_attn > 1 || kv_f32 < 0 || kv_f32 > 1 || kv_split < 0 || kv_split > 1) {
        fail(MAE_ERR_ARG, "bad session arguments");
        return nullptr;
    }
    auto *s = new mae_session();
    s->m = m;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_ubatch = n_batch;  // one ubatch per decode: the callback sees the rows we submitted
    cp.n_seq_max = n_seq;
    cp.n_threads = n_threads;
    cp.n_threads_batch = n_threads_batch;
    cp.kv_unified = kv_split == 0;  // unified: split_simple keeps batch order; else see batch_parts
    // Both decide how much a row's logits depend on the rows that share its batch: llama.cpp's CPU
    // flash attention rounds the query to f16 below 64 rows and keeps it f32 from 64 on, and an f16
    // cache rounds K and V, so that the kernels' other summation orders cross f16 rounding steps
    cp.flash_attn_type = flash_attn < 0 ? LLAMA_FLASH_ATTN_TYPE_AUTO
                         : flash_attn == 0 ? LLAMA_FLASH_ATTN_TYPE_DISABLED : LLAMA_FLASH_ATTN_TYPE_ENABLED;
    cp.type_k = cp.type_v = kv_f32 ? GGML_TYPE_F32 : GGML_TYPE_F16;
    cp.cb_eval = session_cb;
    cp.cb_eval_user_data = s;
    cp.abort_callback = abort_cb;
    cp.abort_callback_data = s;
    t_llama_errors.clear();
    s->ctx = llama_init_from_model(m->model, cp);
    if (s->ctx == nullptr) {
        fail(MAE_ERR_LLAMA, "failed to create a llama context");
        delete s;
        return nullptr;
    }
    attach_pools(s, n_threads, n_threads_batch);
    s->regroups = m->info[MAE_INFO_MEMORY] == MAE_MEMORY_RECURRENT || m->info[MAE_INFO_MEMORY] == MAE_MEMORY_HYBRID;
    s->whole_copies = m->info[MAE_INFO_MEMORY] != MAE_MEMORY_ATTENTION;
    s->n_ctx = (int32_t)llama_n_ctx(s->ctx);
    s->n_batch = (int32_t)llama_n_batch(s->ctx);
    s->n_seq = (int32_t)llama_n_seq_max(s->ctx);
    s->split = kv_split != 0;
    const int memory = m->info[MAE_INFO_MEMORY];
    // DeepSeek-V4's cache splits a batch unlike other hybrid memories (see Ubatching)
    s->ubatching = s->split || memory == MAE_MEMORY_RECURRENT || m->arch == "deepseek4" ? Ubatching::CONSECUTIVE_IDS
                   : memory == MAE_MEMORY_ATTENTION || memory == MAE_MEMORY_SLIDING_WINDOW ? Ubatching::IN_ORDER
                                                                             : Ubatching::ALL_SEQUENCES;
    s->n_ctx_seq = (int32_t)llama_n_ctx_seq(s->ctx);
    s->batch = llama_batch_init(s->n_batch, 0, 1);
    const int n_layer = m->info[MAE_INFO_N_LAYER];
    s->seqs.resize(s->n_seq);
    for (auto &st : s->seqs) st.layers.resize(n_layer);
    s->edit_kinds.assign(n_layer, 0);
    s->traced_routes.assign(n_layer, {-1, 0});
    s->traced_probs.assign(n_layer, {-1, 0});
    s->pending_topk.resize(n_layer);
    return s;
    MAE_GUARD_END(nullptr)
}

void mae_session_free(mae_session *s) {
    if (s == nullptr) return;
    llama_batch_free(s->batch);
    llama_free(s->ctx);  // detaches the pools before they are freed
    free_pools(s);
    delete s;
}

int mae_session_info(const mae_session *s, int32_t *out, int32_t n) {
    if (s == nullptr || out == nullptr || n < 4) return fail(MAE_ERR_ARG, "bad session info buffer");
    out[0] = s->n_ctx;
    out[1] = s->n_batch;
    out[2] = s->n_seq;
    out[3] = s->n_ctx_seq;
    return MAE_OK;
}

int64_t mae_session_llama_decodes(const mae_session *s) {
    return s == nullptr ? -1 : s->llama_decodes;
}

void mae_session_abort(mae_session *s, int flag) {
    if (s != nullptr) s->abort_flag.store(flag != 0);
}

int mae_decode(mae_session *s, int32_t n, const int32_t *tokens, const int32_t *pos, const int32_t *seq,
               const int8_t *output) {
    MAE_GUARD_BEGIN
    if (s == nullptr || tokens == nullptr || pos == nullptr || seq == nullptr || output == nullptr)
        return fail(MAE_ERR_ARG, "null decode argument");
    if (n <= 0 || n > s->n_batch) return fail(MAE_ERR_ARG, "batch size out of range");
    const int n_vocab = s->m->info[MAE_INFO_N_VOCAB];
    for (int i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= n_vocab) return fail(MAE_ERR_ARG, "token id out of vocabulary");
        if (seq[i] < 0 || seq[i] >= s->n_seq) return fail(MAE_ERR_ARG, "sequence id out of range");
        if (pos[i] < 0) return fail(MAE_ERR_ARG, "negative position");
    }
    s->last_output.clear();
    s->last_embeddings = false;
    s->llama_row.assign(n, 0);
    const int rc = decode_parts(s, batch_parts(s, n, pos, seq), tokens, pos, seq, output);
    s->abort_flag.store(false);  // an abort applies to one decode
    if (rc != MAE_OK) return rc;
    s->last_output.assign(output, output + n);
    if (s->embeddings) std::fill(s->last_output.begin(), s->last_output.end(), 1);
    s->last_embeddings = s->embeddings;
    return MAE_OK;
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

namespace {
const float *output_row(mae_session *s, int32_t index) {
    if (index < 0 || index >= (int32_t)s->last_output.size() || !s->last_output[index]) {
        fail(MAE_ERR_ARG, "batch index " + std::to_string(index) + " produced no logits in the last decode");
        return nullptr;
    }
    const float *row = llama_get_logits_ith(s->ctx, s->llama_row[index]);
    if (row == nullptr) fail(MAE_ERR_LLAMA, "no logits for batch index " + std::to_string(index));
    return row;
}

// Draws a token from candidates with the sampler chain, as llama_sampler_sample does.
int32_t draw(llama_sampler *chain, std::vector<llama_token_data> &cand) {
    llama_token_data_array arr{cand.data(), cand.size(), -1, false};
    llama_sampler_apply(chain, &arr);
    if (arr.selected < 0 || (size_t)arr.selected >= arr.size) return fail(MAE_ERR_INTERNAL, "the sampler selected no token");
    const llama_token tok = arr.data[arr.selected].id;
    llama_sampler_accept(chain, tok);
    return tok;
}
}  // namespace

int mae_logits(mae_session *s, int32_t out_index, float *dst, int32_t n) {
    MAE_GUARD_BEGIN
    if (s == nullptr || dst == nullptr || n != s->m->info[MAE_INFO_N_VOCAB]) return fail(MAE_ERR_ARG, "bad logits buffer");
    const float *row = output_row(s, out_index);
    if (row == nullptr) return MAE_ERR_ARG;
    std::memcpy(dst, row, sizeof(float) * n);
    return MAE_OK;
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

int mae_set_embeddings(mae_session *s, int on) {
    if (s == nullptr) return fail(MAE_ERR_ARG, "null session");
    s->embeddings = on != 0;
    llama_set_embeddings(s->ctx, s->embeddings);
    return MAE_OK;
}

int mae_embedding(mae_session *s, int32_t out_index, float *dst, int32_t n) {
    MAE_GUARD_BEGIN
    if (s == nullptr || dst == nullptr) return fail(MAE_ERR_ARG, "bad embedding buffer");
    const int32_t n_embd = llama_model_n_embd_out(s->m->model);
    if (n < n_embd) return fail(MAE_ERR_ARG, "embedding buffer holds " + std::to_string(n) + " floats, the model's hidden state has " + std::to_string(n_embd));
    if (!s->last_embeddings) return fail(MAE_ERR_ARG, "the last decode did not run with embeddings on");
    if (output_row(s, out_index) == nullptr) return MAE_ERR_ARG;
    const float *row = llama_get_embeddings_ith(s->ctx, s->llama_row[out_index]);
    if (row == nullptr) return fail(MAE_ERR_LLAMA, "no hidden state for batch index " + std::to_string(out_index));
    std::memcpy(dst, row, sizeof(float) * n_embd);
    return n_embd;
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

int mae_nll(mae_session *s, int32_t n, const int32_t *out_index, const int32_t *targets, float *dst) {
    MAE_GUARD_BEGIN
    if (s == nullptr || n < 0 || (n > 0 && (out_index == nullptr || targets == nullptr || dst == nullptr)))
        return fail(MAE_ERR_ARG, "bad nll arguments");
    const int n_vocab = s->m->info[MAE_INFO_N_VOCAB];
    for (int i = 0; i < n; i++) {
        if (targets[i] < 0 || targets[i] >= n_vocab) return fail(MAE_ERR_ARG, "target token out of vocabulary");
        const float *row = output_row(s, out_index[i]);
        if (row == nullptr) return MAE_ERR_ARG;
        float mx = row[0];
        for (int v = 1; v < n_vocab; v++) mx = std::max(mx, row[v]);
        double sum = 0.0;
        for (int v = 0; v < n_vocab; v++) sum += std::exp((double)row[v] - mx);
        dst[i] = (float)(std::log(sum) + mx - row[targets[i]]);
    }
    return MAE_OK;
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

int32_t mae_argmax(mae_session *s, int32_t out_index) {
    MAE_GUARD_BEGIN
    if (s == nullptr) return fail(MAE_ERR_ARG, "null session");
    const float *row = output_row(s, out_index);
    if (row == nullptr) return MAE_ERR_ARG;
    const int n_vocab = s->m->info[MAE_INFO_N_VOCAB];
    return (int32_t)(std::max_element(row, row + n_vocab) - row);
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

int mae_kv_clear(mae_session *s) {
    if (s == nullptr) return fail(MAE_ERR_ARG, "null session");
    llama_memory_clear(llama_get_memory(s->ctx), true);
    return MAE_OK;
}

int mae_kv_rm(mae_session *s, int32_t seq, int32_t p0, int32_t p1) {
    if (s == nullptr || seq < -1 || seq >= s->n_seq) return fail(MAE_ERR_ARG, "bad kv_rm arguments");
    if (!llama_memory_seq_rm(llama_get_memory(s->ctx), seq, p0, p1)) return fail(MAE_ERR_LLAMA, "partial removal not supported");
    return MAE_OK;
}

int mae_kv_cp(mae_session *s, int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    if (s == nullptr || src < 0 || src >= s->n_seq || dst < 0 || dst >= s->n_seq) return fail(MAE_ERR_ARG, "bad kv_cp arguments");
    llama_memory_t mem = llama_get_memory(s->ctx);
    // llama.cpp copies a recurrent state whole whatever the range, so a part of one cannot be shared,
    // and a sliding window's cells before the source's window may hold other tokens by now; a whole
    // copy goes as one (DeepSeek-V4's cache aborts the process on any range)
    if (s->whole_copies && src != dst) {
        if (p0 > 0 || (p1 >= 0 && p1 <= llama_memory_seq_pos_max(mem, src)))
            return fail(MAE_ERR_ARG, "this model's memory is copied whole only, not positions [" + std::to_string(p0) + ", " +
                                         std::to_string(p1) + ") of sequence " + std::to_string(src));
        p0 = p1 = -1;
    }
    if (!s->split || src == dst) {
        llama_memory_seq_cp(mem, src, dst, p0, p1);
        return MAE_OK;
    }
    // Across streams llama.cpp copies only a whole stream (and asserts otherwise): the target's
    // own cells would be lost, so it must hold none; the copy is then cut to [p0, p1).
    if (llama_memory_seq_pos_max(mem, dst) >= 0)
        return fail(MAE_ERR_ARG, "with a KV stream per sequence, a sequence copy needs an empty target; sequence " +
                                     std::to_string(dst) + " holds tokens");
    llama_memory_seq_cp(mem, src, dst, -1, -1);
    if (p0 > 0) llama_memory_seq_rm(mem, dst, 0, p0);
    if (p1 >= 0) llama_memory_seq_rm(mem, dst, p1, -1);
    return MAE_OK;
}

int32_t mae_kv_pos_max(mae_session *s, int32_t seq) {
    if (s == nullptr || seq < 0 || seq >= s->n_seq) return fail(MAE_ERR_ARG, "bad sequence id");
    return llama_memory_seq_pos_max(llama_get_memory(s->ctx), seq);
}

int mae_plan_clear(mae_session *s, int32_t seq) {
    if (s == nullptr || seq < -1 || seq >= s->n_seq) return fail(MAE_ERR_ARG, "bad sequence id");
    for (int i = 0; i < s->n_seq; i++)
        if (seq == -1 || seq == i)
            for (auto &edits : s->seqs[i].layers) edits.clear();
    return MAE_OK;
}

int mae_plan_add(mae_session *s, int32_t seq, int32_t layer, int32_t kind, int32_t p0, int32_t p1,
                 int32_t param, const float *vec, int32_t n) {
    MAE_GUARD_BEGIN
    if (s == nullptr || seq < 0 || seq >= s->n_seq) return fail(MAE_ERR_ARG, "bad sequence id");
    const mae_model *m = s->m;
    if (m->moe_layers.empty()) return fail(MAE_ERR_ARG, "the model has no MoE layers");
    if (std::find(m->moe_layers.begin(), m->moe_layers.end(), layer) == m->moe_layers.end())
        return fail(MAE_ERR_ARG, "layer " + std::to_string(layer) + " is not a MoE layer");
    const LayerRouting &lr = m->routing[layer];
    if (!lr.router) return fail(MAE_ERR_ARG, "layer " + std::to_string(layer) + " has no router to edit (hash-routed)");
    if (kind < MAE_EDIT_DELTA || kind > MAE_EDIT_TOP_P) return fail(MAE_ERR_ARG, "unknown edit kind");
    const int n_vec = kind == MAE_EDIT_SCALE_WEIGHTS ? m->info[MAE_INFO_N_EXPERT_USED] : kind == MAE_EDIT_TOP_P ? 1 : m->info[MAE_INFO_N_EXPERT];
    const bool needs_vec = kind != MAE_EDIT_RANK_K && kind != MAE_EDIT_TOP_M;
    if (needs_vec && (vec == nullptr || n != n_vec)) return fail(MAE_ERR_ARG, "edit vector length must equal the expert count (experts used for weight scales)");
    if ((kind == MAE_EDIT_RANK_K || kind == MAE_EDIT_TOP_M) && (param < 1 || param > lr.selectable))
        return fail(MAE_ERR_ARG, "rank out of range");
    if (p0 < 0 || p1 < p0) return fail(MAE_ERR_ARG, "bad position range");
    Edit e{kind, p0, p1, param, {}};
    if (needs_vec) {
        e.vec.assign(vec, vec + n);
        for (float v : e.vec)
            if (!std::isfinite(v)) return fail(MAE_ERR_ARG, "edit vector has a non-finite value");
        if (kind == MAE_EDIT_TOP_P && !(e.vec[0] > 0.0f && e.vec[0] <= 1.0f)) return fail(MAE_ERR_ARG, "top-p must lie in (0, 1]");
        if (kind == MAE_EDIT_TOP_P && m->info[MAE_INFO_N_EXPERT_USED] > 64) return fail(MAE_ERR_ARG, "top-p supports at most 64 experts used");
    }
    s->seqs[seq].layers[layer].push_back(std::move(e));
    return MAE_OK;
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

int mae_trace_set(mae_session *s, int32_t seq, int32_t routes, int32_t probs_p0, int32_t probs_p1) {
    if (s == nullptr || seq < 0 || seq >= s->n_seq || probs_p0 < 0 || probs_p1 < probs_p0)
        return fail(MAE_ERR_ARG, "bad trace arguments");
    if (s->m->moe_layers.empty() && (routes || probs_p1 > probs_p0)) return fail(MAE_ERR_ARG, "the model has no MoE layers");
    SeqState &st = s->seqs[seq];
    st.routes = routes != 0;
    st.probs_p0 = probs_p0;
    st.probs_p1 = probs_p1;
    return MAE_OK;
}

int32_t mae_trace_route_count(mae_session *s) { return s == nullptr ? 0 : (int32_t)(s->route_meta.size() / 3); }

int mae_trace_routes_read(mae_session *s, int32_t *meta, int32_t *experts, float *weights, int32_t n) {
    if (s == nullptr || n != mae_trace_route_count(s) || meta == nullptr || experts == nullptr || weights == nullptr)
        return fail(MAE_ERR_ARG, "bad trace buffers");
    std::copy(s->route_meta.begin(), s->route_meta.end(), meta);
    std::copy(s->route_experts.begin(), s->route_experts.end(), experts);
    std::copy(s->route_weights.begin(), s->route_weights.end(), weights);
    s->route_meta.clear();
    s->route_experts.clear();
    s->route_weights.clear();
    return MAE_OK;
}

int32_t mae_trace_probs_count(mae_session *s) { return s == nullptr ? 0 : (int32_t)(s->probs_meta.size() / 3); }

int mae_trace_probs_read(mae_session *s, int32_t *meta, float *probs, int32_t n) {
    if (s == nullptr || n != mae_trace_probs_count(s) || meta == nullptr || probs == nullptr)
        return fail(MAE_ERR_ARG, "bad trace buffers");
    std::copy(s->probs_meta.begin(), s->probs_meta.end(), meta);
    std::copy(s->probs_data.begin(), s->probs_data.end(), probs);
    s->probs_meta.clear();
    s->probs_data.clear();
    return MAE_OK;
}

int mae_trace_reset(mae_session *s) {
    if (s == nullptr) return fail(MAE_ERR_ARG, "null session");
    s->route_meta.clear();
    s->route_experts.clear();
    s->route_weights.clear();
    s->probs_meta.clear();
    s->probs_data.clear();
    return MAE_OK;
}

struct mae_sampler {
    llama_sampler *chain;
};

mae_sampler *mae_sampler_new(const mae_model *m, uint32_t seed, float temperature, int32_t top_k, float top_p,
                             float min_p) {
    MAE_GUARD_BEGIN
    if (m == nullptr || !std::isfinite(temperature) || !std::isfinite(top_p) || !std::isfinite(min_p)) {
        fail(MAE_ERR_ARG, "bad sampler arguments");
        return nullptr;
    }
    llama_sampler *chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    if (temperature <= 0.0f) {
        llama_sampler_chain_add(chain, llama_sampler_init_greedy());
    } else {
        if (top_k > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(top_k));
        if (top_p < 1.0f) llama_sampler_chain_add(chain, llama_sampler_init_top_p(top_p, 1));
        if (min_p > 0.0f) llama_sampler_chain_add(chain, llama_sampler_init_min_p(min_p, 1));
        llama_sampler_chain_add(chain, llama_sampler_init_temp(temperature));
        llama_sampler_chain_add(chain, llama_sampler_init_dist(seed));
    }
    return new mae_sampler{chain};
    MAE_GUARD_END(nullptr)
}

void mae_sampler_free(mae_sampler *smpl) {
    if (smpl == nullptr) return;
    llama_sampler_free(smpl->chain);
    delete smpl;
}

int32_t mae_sampler_sample(mae_sampler *smpl, mae_session *s, int32_t out_index) {
    MAE_GUARD_BEGIN
    if (smpl == nullptr || s == nullptr) return fail(MAE_ERR_ARG, "null sampler or session");
    if (output_row(s, out_index) == nullptr) return MAE_ERR_ARG;
    return llama_sampler_sample(smpl->chain, s->ctx, s->llama_row[out_index]);
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

int32_t mae_contrast(mae_session *s, mae_sampler *smpl, int32_t strong_index, int32_t weak_index, float alpha,
                     float beta, float *dst, int32_t n) {
    MAE_GUARD_BEGIN
    if (s == nullptr) return fail(MAE_ERR_ARG, "null session");
    if (!(alpha > 0.0f && alpha <= 1.0f) || !(beta >= 0.0f) || !std::isfinite(beta))
        return fail(MAE_ERR_ARG, "contrast needs 0 < alpha <= 1 and finite beta >= 0");
    const int n_vocab = s->m->info[MAE_INFO_N_VOCAB];
    if (dst != nullptr && n != n_vocab) return fail(MAE_ERR_ARG, "contrast buffer must hold the vocabulary");
    const float *zs = output_row(s, strong_index);
    if (zs == nullptr) return MAE_ERR_ARG;
    const float *zw = output_row(s, weak_index);
    if (zw == nullptr) return MAE_ERR_ARG;
    const float mx = *std::max_element(zs, zs + n_vocab);
    // p_s(v) >= alpha * max p_s  <=>  z_s(v) >= max z_s + log(alpha)
    const double cut = (double)mx + std::log((double)alpha);
    auto &cand = s->candidates;
    cand.clear();
    int32_t best = -1;
    float best_z = -INFINITY;
    if (dst != nullptr) std::fill(dst, dst + n_vocab, -INFINITY);
    for (int v = 0; v < n_vocab; v++) {
        if ((double)zs[v] < cut) continue;
        const float z = (1.0f + beta) * zs[v] - beta * zw[v];
        cand.push_back({v, z, 0.0f});
        if (dst != nullptr) dst[v] = z;
        if (best < 0 || z > best_z) {
            best = v;
            best_z = z;
        }
    }
    if (smpl == nullptr) return best;
    return draw(smpl->chain, cand);
    MAE_GUARD_END(MAE_ERR_INTERNAL)
}

}  // extern "C"
