/*
 * Flat C API between the JVM (java.lang.foreign) and llama.cpp.
 *
 * Only plain integers, floats and pointers cross this boundary, so no llama.h struct layout is
 * mirrored in Java. Every function catches C++ exceptions; errors are reported as a negative
 * status with a message available from mae_last_error() on the calling thread.
 *
 * The router lever lives here: an eval callback that edits `ffn_moe_logits-<layer>` (or the
 * tensor the gating function actually reads) per sequence, per layer, per position, and reads
 * router traces, without calling back into Java per graph node.
 */
#ifndef MOE_SHIM_H
#define MOE_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAE_OK 0
#define MAE_ERR_ARG (-1)      /* invalid argument (should have been caught in Java) */
#define MAE_ERR_LLAMA (-2)    /* llama.cpp reported an error */
#define MAE_ERR_NO_SLOT (-3)  /* no KV slot for the batch: context full */
#define MAE_ERR_ABORTED (-4)  /* decode aborted by mae_session_abort */
#define MAE_ERR_INTERNAL (-5) /* unexpected state (exception, tensor layout) */

/* Edit kinds of the routing lever. */
#define MAE_EDIT_DELTA 1   /* z += vec */
#define MAE_EDIT_REPLACE 2 /* z := log(vec) under softmax, logit(vec) under sigmoid */
#define MAE_EDIT_RANK_K 3  /* keep only the param-th ranked expert (1-based); others pushed down */
#define MAE_EDIT_TOP_M 4   /* keep the top param experts; others pushed down */
#define MAE_EDIT_ALLOW 5   /* vec[e] != 0 marks allowed experts; the rest pushed down */
#define MAE_EDIT_SCALE_WEIGHTS 6 /* final mixing weight of the selected slot j *= vec[j] (n = experts used) */
#define MAE_EDIT_STEER 7   /* SteerMoE: vec[e] > 0: z_e := max z + vec[e]; vec[e] < 0: z_e := min z + vec[e] */
#define MAE_EDIT_TOP_P 8   /* keep the fewest selected experts whose share of the selected weight reaches vec[0] (n = 1) */
/* What each edit means per gating family is documented in the README's gating-family table; under a
 * selection bias (DeepSeek-V3 style) selection edits act on the biased, group-masked selection
 * scores and zero the mixing weights of slots they do not keep. */

/* Gating kinds reported in model info. */
#define MAE_GATING_NONE 0
#define MAE_GATING_SOFTMAX 1
#define MAE_GATING_SIGMOID 2
#define MAE_GATING_SOFTMAX_WEIGHT 3
#define MAE_GATING_OTHER 4
#define MAE_GATING_SQRT_SOFTPLUS 5

/* Indices into the array filled by mae_model_info. */
#define MAE_INFO_N_LAYER 0
#define MAE_INFO_N_EXPERT 1
#define MAE_INFO_N_EXPERT_USED 2
#define MAE_INFO_GATING 3
#define MAE_INFO_RENORM 4
#define MAE_INFO_N_VOCAB 5
#define MAE_INFO_N_CTX_TRAIN 6
#define MAE_INFO_N_EMBD 7
#define MAE_INFO_BOS 8
#define MAE_INFO_EOS 9
#define MAE_INFO_SELECTION_BIAS 10
#define MAE_INFO_N_MOE_LAYERS 11
#define MAE_INFO_ADD_BOS 12
#define MAE_INFO_MEMORY 13 /* one of MAE_MEMORY_* */
#define MAE_INFO_COUNT 14

/* Memory kinds reported in model info. Recurrent and hybrid memories keep one recurrent state per
 * sequence rather than one entry per position: a sequence can be emptied or copied whole, not cut
 * back to a prefix (a partial removal fails, a partial copy copies the whole recurrent state). A
 * KV cache with sliding-window (or chunked) attention layers reuses a sequence's cells in those
 * layers once they fall out of its window, so a prefix of a sequence may have lost cells that a
 * token after it would read: it too is copied whole only. */
#define MAE_MEMORY_ATTENTION 0
#define MAE_MEMORY_RECURRENT 1
#define MAE_MEMORY_HYBRID 2
#define MAE_MEMORY_SLIDING_WINDOW 3

/* Per MoE layer, mae_model_layers fills MAE_LAYER_COUNT ints in this order. */
#define MAE_LAYER_INDEX 0
#define MAE_LAYER_GATING 1
#define MAE_LAYER_RENORM 2          /* selected weights sum to 1 (divided by their sum, or softmax after top-k) */
#define MAE_LAYER_SELECTION_BIAS 3  /* selection reads score + bias (exp_probs_b); weights read the score */
#define MAE_LAYER_SELECTABLE 4      /* experts that survive group masking (all experts without groups) */
#define MAE_LAYER_ROUTER 5          /* 0: experts come from elsewhere (hash routing); edits are refused */
#define MAE_LAYER_OUTPUT_ROWS_ONLY 6 /* computed only for tokens that request output */
#define MAE_LAYER_COUNT 7

typedef void (*mae_log_fn)(int level, const char *line);
typedef int (*mae_progress_fn)(float progress);

typedef struct mae_model mae_model;
typedef struct mae_session mae_session;
typedef struct mae_sampler mae_sampler;

const char *mae_last_error(void);
const char *mae_version(void);
/* llama.cpp's system info after mae_init: each backend's features, e.g. "LLAMAFILE = 1" where ggml's CPU
 * backend hands matrix products to llamafile's kernels. Not thread-safe (llama.cpp keeps it in a static). */
const char *mae_system_info(void);

/* Loads dynamic ggml backends from lib_dir and initialises llama.cpp; idempotent. */
int mae_init(const char *lib_dir, mae_log_fn log_fn, int min_level);

/* Model: loaded once, shared by many sessions. Returns NULL on failure; the error then carries
 * llama.cpp's own error lines. */
mae_model *mae_model_load(const char *path, int n_gpu_layers, int use_mmap, mae_progress_fn progress);
void mae_model_free(mae_model *m);
int mae_model_info(const mae_model *m, int32_t *out, int32_t n);
/* Routing of every MoE layer: n >= MAE_LAYER_COUNT * (MoE layers); returns the layer count. */
int mae_model_layers(const mae_model *m, int32_t *out, int32_t n);
int mae_model_meta(const mae_model *m, const char *key, char *buf, int32_t cap);
int mae_model_desc(const mae_model *m, char *buf, int32_t cap);
int mae_model_is_eog(const mae_model *m, int32_t token);
int mae_tokenize(const mae_model *m, const char *text, int32_t len, int32_t *out, int32_t cap,
                 int add_special, int parse_special);
int mae_token_piece(const mae_model *m, int32_t token, char *buf, int32_t cap, int special);
/* Formats a chat; roles and contents are arrays of n NUL-terminated strings. tmpl may be NULL
 * for the model's own template. Returns the formatted length (may exceed cap: call again). */
int mae_chat_apply(const mae_model *m, const char *tmpl, int32_t n, const char **roles,
                   const char **contents, int add_assistant, char *buf, int32_t cap);

/* Session: a llama context holding up to n_seq sequences. flash_attn: -1 as llama.cpp decides, 0
 * off, 1 on; kv_f32: 0 an f16 KV cache, 1 an f32 one; kv_split: 0 one KV cache all sequences share
 * (unified), 1 a KV stream per sequence (n_ctx / n_seq cells each, rounded up to 256; a sequence's
 * attention reads only its own cells; sequence copies go to empty sequences only). */
mae_session *mae_session_new(mae_model *m, int32_t n_ctx, int32_t n_batch, int32_t n_seq,
                             int32_t n_threads, int32_t n_threads_batch, int32_t flash_attn, int32_t kv_f32,
                             int32_t kv_split);
void mae_session_free(mae_session *s);
int mae_session_info(const mae_session *s, int32_t *out, int32_t n); /* n_ctx, n_batch, n_seq, cells per sequence */
/* llama_decode calls the session made so far (a hybrid model's batch takes one per sequence). */
int64_t mae_session_llama_decodes(const mae_session *s);
/* Aborts the decode in flight, or else the next one; each decode clears the flag when it ends. */
void mae_session_abort(mae_session *s, int flag);

/* Decodes n tokens (n <= n_batch), each with one sequence id; output[i] != 0 requests logits. */
int mae_decode(mae_session *s, int32_t n, const int32_t *tokens, const int32_t *pos,
               const int32_t *seq, const int8_t *output);
int mae_logits(mae_session *s, int32_t out_index, float *dst, int32_t n);
/* Embeddings mode (off by default): while on, every token of a decode outputs logits and its final
 * hidden state (after the output norm), whatever its output flag. */
int mae_set_embeddings(mae_session *s, int on);
/* Copies the final hidden state of an output row of the last decode (which ran in embeddings mode)
 * into dst (n >= the model's output embedding size); returns the number of floats written. */
int mae_embedding(mae_session *s, int32_t out_index, float *dst, int32_t n);
/* Negative log-likelihood of targets[i] at output row out_index[i] of the last decode. */
int mae_nll(mae_session *s, int32_t n, const int32_t *out_index, const int32_t *targets, float *dst);
/* Index of the largest logit of an output row. */
int32_t mae_argmax(mae_session *s, int32_t out_index);

int mae_kv_clear(mae_session *s);
int mae_kv_rm(mae_session *s, int32_t seq, int32_t p0, int32_t p1);
int mae_kv_cp(mae_session *s, int32_t src, int32_t dst, int32_t p0, int32_t p1);
int32_t mae_kv_pos_max(mae_session *s, int32_t seq);

/* Routing lever: edits compose in the order they were added; positions [p0, p1). */
int mae_plan_clear(mae_session *s, int32_t seq);
int mae_plan_add(mae_session *s, int32_t seq, int32_t layer, int32_t kind, int32_t p0, int32_t p1,
                 int32_t param, const float *vec, int32_t n);

/* Router traces: routes (selected experts + final mixing weights) of every token of the sequence,
 * and full probability vectors for positions in [probs_p0, probs_p1): softmax gating as is,
 * softmax-after-top-k as the softmax over all experts, sigmoid and sqrt-softplus scores divided by
 * their sum (no selection bias). Disable with routes=0 and
 * an empty range. Records accumulate until read. */
int mae_trace_set(mae_session *s, int32_t seq, int32_t routes, int32_t probs_p0, int32_t probs_p1);
int32_t mae_trace_route_count(mae_session *s);
int mae_trace_routes_read(mae_session *s, int32_t *meta, int32_t *experts, float *weights, int32_t n);
int32_t mae_trace_probs_count(mae_session *s);
int mae_trace_probs_read(mae_session *s, int32_t *meta, float *probs, int32_t n);
int mae_trace_reset(mae_session *s);

/* Samplers: llama.cpp's sampler chain, applied natively to an output row. */
mae_sampler *mae_sampler_new(const mae_model *m, uint32_t seed, float temperature, int32_t top_k,
                             float top_p, float min_p);
void mae_sampler_free(mae_sampler *smpl);
int32_t mae_sampler_sample(mae_sampler *smpl, mae_session *s, int32_t out_index);

/* Self-contrast decoding (SCMoE): scores z = (1+beta)*z_strong - beta*z_weak over the tokens whose
 * strong probability is at least alpha * the largest strong probability, -inf elsewhere, from two
 * output rows of the last decode. Returns the chosen token: the argmax when smpl is NULL, else a
 * draw of the sampler chain from those scores. If dst is not NULL (n = vocabulary size) the scores
 * are copied there. */
int32_t mae_contrast(mae_session *s, mae_sampler *smpl, int32_t strong_index, int32_t weak_index, float alpha,
                     float beta, float *dst, int32_t n);

#ifdef __cplusplus
}
#endif

#endif
