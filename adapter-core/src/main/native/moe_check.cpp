// moe-check LIB_DIR MODEL: loads a model in a process of its own, so that a file which trips one of
// llama.cpp's assertions (GGML_ASSERT aborts the process) cannot take the JVM down. Prints one
// verdict line per check to stdout, flushed before the next check starts:
//   load ok | load failed <llama.cpp's reason>
//   embeddings ok | embeddings failed <reason>
// A check that aborts prints nothing; the caller reads the assertion from stderr.
#include "moe_shim.h"

#include <cstdio>

namespace {
void verdict(const char *check, bool ok) {
    if (ok) std::printf("%s ok\n", check);
    else std::printf("%s failed %s\n", check, mae_last_error());
    std::fflush(stdout);
}
}  // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: moe-check LIB_DIR MODEL.gguf\n");
        return 2;
    }
    if (mae_init(argv[1], nullptr, 5) != MAE_OK) {
        verdict("init", false);
        return 1;
    }
    mae_model *m = mae_model_load(argv[2], 0, 1, nullptr);
    verdict("load", m != nullptr);
    if (m == nullptr) return 1;
    // embeddings mode builds a different graph, with assertions of its own
    mae_session *s = mae_session_new(m, 64, 2, 1, 1, 1, -1, 0, 0);
    bool ok = s != nullptr && mae_set_embeddings(s, 1) == MAE_OK;
    if (ok) {
        int32_t info[MAE_INFO_COUNT];
        mae_model_info(m, info, MAE_INFO_COUNT);
        const int32_t token = info[MAE_INFO_BOS] >= 0 && info[MAE_INFO_BOS] < info[MAE_INFO_N_VOCAB] ? info[MAE_INFO_BOS] : 0;
        const int32_t tokens[2] = {token, token}, pos[2] = {0, 1}, seq[2] = {0, 0};
        const int8_t out[2] = {1, 1};
        ok = mae_decode(s, 2, tokens, pos, seq, out) == MAE_OK;
    }
    verdict("embeddings", ok);
    mae_session_free(s);
    mae_model_free(m);
    return 0;
}
