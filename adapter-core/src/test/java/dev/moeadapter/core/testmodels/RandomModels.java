package dev.moeadapter.core.testmodels;

import dev.moeadapter.core.gguf.CharVocabulary;
import dev.moeadapter.core.gguf.GgufWriter;
import dev.moeadapter.core.gguf.GgufWriter.TensorData;
import dev.moeadapter.core.gguf.GgufWriter.TensorType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Writes small deterministic random-weight GGUF models that llama.cpp loads and runs, one per gating
 * family: softmax without renormalisation ({@code olmoe}), softmax renormalised (Mixtral-style
 * {@code llama} + experts, {@code qwen3moe}), sigmoid with a selection bias, expert groups, a
 * leading dense layer and a weight scale ({@code glm4moe}), softmax after top-k with router bias
 * ({@code gpt-oss}), sigmoid with bias on a hybrid convolution/attention memory ({@code lfm2moe}),
 * top-k on raw logits with sigmoid weights ({@code llama4}), sqrt-softplus with a selection bias after
 * a hash-routed layer ({@code deepseek4}), softmax on a hybrid gated-delta-net/attention memory
 * ({@code qwen3next}),
 * and a dense {@code llama}.
 *
 * <p>Weights are drawn per tensor from a generator seeded by (spec seed, tensor name), so a tensor's
 * contents do not depend on which other tensors exist, and data is streamed tensor by tensor.
 *
 * <p>Scales: embeddings ~ unit variance; projections ~ 1/sqrt(fan_in) so activations stay O(1);
 * router ~ 2/sqrt(n_embd) so router logits have std ≈ 2 and different tokens pick different experts;
 * LM head ~ 2/sqrt(n_embd) so output logits are finite with std ≈ 2 (clearly non-uniform).
 * Norm weights are 1. 1-D tensors and the router are always F32 (as llama.cpp converters do);
 * {@link Spec#type()} applies to the other matrices.
 *
 * <p>Vocabulary (354 tokens, SentencePiece "llama" model, character level): 0 {@code <unk>},
 * 1 {@code <s>}, 2 {@code </s>}, 3..258 byte tokens {@code <0x00>..<0xFF>}, 259 {@code ▁},
 * 260..353 the printable ASCII characters 0x21..0x7E. "Hello world" therefore tokenizes to
 * BOS ▁ H e l l o ▁ w o r l d.
 */
public final class RandomModels {

    public static final int UNK = CharVocabulary.UNK, BOS = CharVocabulary.BOS, EOS = CharVocabulary.EOS;
    public static final int FIRST_BYTE_TOKEN = CharVocabulary.FIRST_BYTE_TOKEN;
    public static final int SPACE_TOKEN = CharVocabulary.SPACE_TOKEN;
    public static final int FIRST_CHAR_TOKEN = CharVocabulary.FIRST_CHAR_TOKEN;
    public static final int VOCAB_SIZE = CharVocabulary.SIZE;
    public static final String CHATML_TEMPLATE = CharVocabulary.CHATML_TEMPLATE;

    private RandomModels() {}

    /** Model family; {@link #ggufArch} is the value of {@code general.architecture}. */
    public static final int GLM_GROUPS = 4, GLM_GROUPS_USED = 2;
    public static final float GLM_WEIGHT_SCALE = 2.5f;
    /** DeepSeek-V2 test model: softmax, 2 of 4 expert groups, no bias, no renormalisation, weights × 16. */
    public static final int DS2_GROUPS = 4, DS2_GROUPS_USED = 2;
    public static final float DS2_WEIGHT_SCALE = 16f;
    // multi-head latent attention: low-rank query and KV, a RoPE part beside each head's plain part
    private static final int DS2_Q_RANK = 16, DS2_KV_RANK = 16, DS2_ROPE = 8;
    public static final int GROVE_EXPERTS_PER_GROUP = 4;
    /** DeepSeek-V4 test model: layers below this are hash-routed (experts from the token id). */
    public static final int DS4_HASH_LAYERS = 1;
    public static final float DS4_WEIGHT_SCALE = 1.5f;
    // llama.cpp supports exactly 4 hyper-connection streams
    private static final int DS4_HYPER_CONNECTIONS = 4, DS4_Q_RANK = 32, DS4_OUT_GROUPS = 2, DS4_OUT_RANK = 16;
    // the indexer's key length as shipped: its Hadamard rotation needs a power of two of at least 128
    private static final int DS4_INDEXER_KEY = 128, DS4_INDEXER_HEADS = 2, DS4_CSA_RATIO = 4;

    public enum Arch {
        /** OLMoE: softmax router, top-k without renormalisation, q/k RMS norm over the full projection. */
        OLMOE("olmoe"),
        /** Mixtral: llama architecture with experts; top-k weights renormalised. */
        MIXTRAL("llama"),
        /** Qwen3-MoE: softmax router, top-k weights renormalised, per-head q/k RMS norm. */
        QWEN3MOE("qwen3moe"),
        /**
         * GLM-4.5: sigmoid router, selection by score + bias ({@code exp_probs_b}) within the best
         * {@link #GLM_GROUPS_USED} of {@link #GLM_GROUPS} expert groups, weights renormalised and
         * scaled by {@link #GLM_WEIGHT_SCALE}; layer 0 is dense.
         */
        GLM4MOE("glm4moe"),
        /**
         * DeepSeek-V2 (V2, V2.5, Coder-V2): softmax router, top-k within the best {@link #DS2_GROUPS_USED} of
         * {@link #DS2_GROUPS} expert groups without a selection bias, weights not renormalised but scaled by
         * {@link #DS2_WEIGHT_SCALE}; multi-head latent attention, one shared expert; layer 0 is dense.
         */
        DEEPSEEK2("deepseek2"),
        /**
         * SmallThinker: softmax router with renormalised top-k whose logits come from the layer's input, before
         * attention; on the last layer the graph cuts them to the output rows in an unnamed node.
         */
        SMALLTHINKER("smallthinker"),
        /**
         * GroveMoE: Qwen3-MoE attention; each layer routes twice from the same logits, once over its experts
         * (selected by sigmoid, weighted by softmax) and once over its chunk experts, one per group of
         * {@link #GROVE_EXPERTS_PER_GROUP} experts.
         */
        GROVEMOE("grovemoe"),
        /** gpt-oss: router with bias, top-k on the logits, softmax over the selected; attention sinks, SWA. */
        GPT_OSS("gpt-oss"),
        /**
         * LFM2-MoE: hybrid memory (short-convolution layers 0 and 2, attention layer 1), sigmoid router
         * with a selection bias; layer 0 is dense.
         */
        LFM2MOE("lfm2moe"),
        /** Llama 4: top-k on the raw logits, sigmoid weights (no renormalisation), a shared expert. */
        LLAMA4("llama4"),
        /**
         * DeepSeek-V4: sqrt-softplus router, selection by score + bias, weights renormalised and
         * scaled by {@link #DS4_WEIGHT_SCALE}; the first {@link #DS4_HASH_LAYERS} layers take their
         * experts from a token-id table; hyper-connections, one shared expert, sliding-window
         * attention, and a compressed (CSA) last layer with its lightning indexer (without any,
         * llama.cpp sizes the indexer's rotation from an empty cache and divides by zero).
         */
        DEEPSEEK4("deepseek4"),
        /**
         * Qwen3-Next: hybrid memory (gated delta net layer 0, gated attention layer 1), softmax router
         * with renormalised top-k, a shared expert behind a sigmoid gate.
         */
        QWEN3NEXT("qwen3next"),
        /** Plain llama with a dense SwiGLU FFN; no router. */
        DENSE("llama");

        public final String ggufArch;

        Arch(String ggufArch) { this.ggufArch = ggufArch; }

        public boolean isMoe() { return this != DENSE; }
    }

    /**
     * Model shape. {@code nFf} is the per-expert FFN width for MoE models and the FFN width for dense ones
     * (llama.cpp reads both from {@code <arch>.feed_forward_length}).
     */
    public record Spec(Arch arch, int nEmbd, int nHead, int nHeadKv, int nLayer, int nExpert, int nExpertUsed,
                       int nFf, int nCtx, TensorType type, long seed, String name) {

        public Spec {
            Objects.requireNonNull(arch, "arch");
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(name, "name");
            require(nEmbd > 0 && nHead > 0 && nHeadKv > 0, "nEmbd, nHead, nHeadKv must be > 0");
            require(nEmbd % nHead == 0, "nEmbd must be divisible by nHead");
            require((nEmbd / nHead) % 2 == 0, "head dim must be even (RoPE)");
            require(nHead % nHeadKv == 0, "nHead must be a multiple of nHeadKv");
            require(nLayer >= 1 && nLayer <= 512, "nLayer must be 1..512");
            require(nFf > 0, "nFf must be > 0");
            require(nCtx > 0, "nCtx must be > 0");
            if (arch.isMoe()) {
                require(nExpert >= 1 && nExpert <= 1024, "nExpert must be 1..1024 for a MoE model");
                require(nExpertUsed >= 1 && nExpertUsed <= nExpert, "nExpertUsed must be 1..nExpert");
            } else {
                require(nExpert == 0 && nExpertUsed == 0, "a dense model has no experts");
            }
            // olmoe's q/k norm weights are {n_embd}, so K must be n_embd wide: no GQA.
            require(arch != Arch.OLMOE || nHeadKv == nHead, "olmoe requires nHeadKv == nHead");
            require(arch != Arch.GLM4MOE || (nExpert % GLM_GROUPS == 0 && nLayer >= 2), "glm4moe needs experts in 4 groups and a MoE layer after the dense one");
            require(arch != Arch.DEEPSEEK2 || (nExpert % DS2_GROUPS == 0 && nLayer >= 2 && nEmbd / nHead > DS2_ROPE),
                    "deepseek2 needs experts in 4 groups, a MoE layer after the dense one and heads wider than their RoPE part");
            require(arch != Arch.DEEPSEEK4 || nLayer > DS4_HASH_LAYERS, "deepseek4 needs a routed layer after the hash-routed one");
        }

        public static Spec olmoe() {
            return new Spec(Arch.OLMOE, 64, 4, 4, 3, 16, 4, 32, 512, TensorType.F32, 42, "random-olmoe");
        }

        public static Spec mixtral() {
            return new Spec(Arch.MIXTRAL, 64, 4, 2, 3, 8, 2, 64, 512, TensorType.F32, 43, "random-mixtral");
        }

        public static Spec qwen3moe() {
            return new Spec(Arch.QWEN3MOE, 64, 4, 2, 2, 8, 2, 32, 512, TensorType.F32, 45, "random-qwen3moe");
        }

        /** 16 experts in 4 groups of 4, top-4 from the best 2 groups: 8 selectable experts. */
        public static Spec glm4moe() {
            return new Spec(Arch.GLM4MOE, 64, 4, 2, 3, 16, 4, 32, 512, TensorType.F32, 46, "random-glm4moe");
        }

        public static Spec deepseek2() {
            return new Spec(Arch.DEEPSEEK2, 64, 4, 4, 3, 16, 4, 32, 512, TensorType.F32, 47, "random-deepseek2");
        }

        public static Spec smallthinker() {
            return new Spec(Arch.SMALLTHINKER, 64, 4, 2, 3, 16, 4, 32, 512, TensorType.F32, 48, "random-smallthinker");
        }

        public static Spec grovemoe() {
            return new Spec(Arch.GROVEMOE, 64, 4, 2, 2, 16, 4, 32, 512, TensorType.F32, 49, "random-grovemoe");
        }

        public static Spec gptOss() {
            return new Spec(Arch.GPT_OSS, 64, 4, 2, 2, 8, 2, 32, 512, TensorType.F32, 47, "random-gpt-oss");
        }

        public static Spec lfm2moe() {
            return new Spec(Arch.LFM2MOE, 64, 4, 2, 3, 8, 2, 32, 512, TensorType.F32, 48, "random-lfm2moe");
        }

        public static Spec llama4() {
            // 4 layers: the 4th skips RoPE and uses attention temperature (with fewer, llama.cpp sets an unused input and aborts)
            return new Spec(Arch.LLAMA4, 64, 4, 2, 4, 8, 2, 32, 512, TensorType.F32, 49, "random-llama4");
        }

        /** One KV head (DeepSeek-V4 shares one latent KV across heads). */
        public static Spec deepseek4() {
            return new Spec(Arch.DEEPSEEK4, 64, 4, 1, 3, 8, 2, 32, 512, TensorType.F32, 50, "random-deepseek4");
        }

        public static Spec qwen3next() {
            return new Spec(Arch.QWEN3NEXT, 64, 4, 2, 2, 8, 2, 32, 512, TensorType.F32, 51, "random-qwen3next");
        }

        public static Spec dense() {
            return new Spec(Arch.DENSE, 64, 4, 2, 2, 0, 0, 128, 512, TensorType.F32, 44, "random-dense");
        }

        /** Benchmark-sized OLMoE-style model: ≈235M parameters, ≈470 MB in F16. */
        public static Spec olmoeLarge() {
            return new Spec(Arch.OLMOE, 1024, 16, 16, 8, 32, 4, 256, 2048, TensorType.F16, 7, "random-olmoe-large");
        }

        /**
         * Benchmark-sized GLM-4.5-style model (sigmoid, selection bias, 4 expert groups of which 2 are
         * used, weight scale): the olmoe benchmark model's shape with 4 KV heads, layer 0 dense.
         */
        public static Spec glm4moeLarge() {
            return new Spec(Arch.GLM4MOE, 1024, 16, 4, 8, 32, 4, 256, 2048, TensorType.F16, 8, "random-glm4moe-large");
        }

        /**
         * Benchmark-sized Qwen3-Next-style model (a hybrid memory: gated delta net and gated attention
         * layers alternating): the olmoe benchmark model's shape with 4 KV heads.
         */
        public static Spec qwen3nextLarge() {
            return new Spec(Arch.QWEN3NEXT, 1024, 16, 4, 8, 32, 4, 256, 2048, TensorType.F16, 9, "random-qwen3next-large");
        }

        public Spec withEmbd(int v) { return new Spec(arch, v, nHead, nHeadKv, nLayer, nExpert, nExpertUsed, nFf, nCtx, type, seed, name); }

        /** Sets nHead; olmoe keeps nHeadKv equal, llama keeps the current nHead/nHeadKv ratio where it divides. */
        public Spec withHeads(int v) {
            int kv = arch == Arch.OLMOE ? v : (v % (nHead / nHeadKv) == 0 ? v / (nHead / nHeadKv) : v);
            return withHeads(v, kv);
        }

        public Spec withHeads(int heads, int kvHeads) { return new Spec(arch, nEmbd, heads, kvHeads, nLayer, nExpert, nExpertUsed, nFf, nCtx, type, seed, name); }

        public Spec withLayers(int v) { return new Spec(arch, nEmbd, nHead, nHeadKv, v, nExpert, nExpertUsed, nFf, nCtx, type, seed, name); }

        public Spec withExperts(int v) { return new Spec(arch, nEmbd, nHead, nHeadKv, nLayer, v, Math.min(nExpertUsed, v), nFf, nCtx, type, seed, name); }

        public Spec withExpertsUsed(int v) { return new Spec(arch, nEmbd, nHead, nHeadKv, nLayer, nExpert, v, nFf, nCtx, type, seed, name); }

        public Spec withFf(int v) { return new Spec(arch, nEmbd, nHead, nHeadKv, nLayer, nExpert, nExpertUsed, v, nCtx, type, seed, name); }

        public Spec withContext(int v) { return new Spec(arch, nEmbd, nHead, nHeadKv, nLayer, nExpert, nExpertUsed, nFf, v, type, seed, name); }

        public Spec withType(TensorType v) { return new Spec(arch, nEmbd, nHead, nHeadKv, nLayer, nExpert, nExpertUsed, nFf, nCtx, v, seed, name); }

        public Spec withSeed(long v) { return new Spec(arch, nEmbd, nHead, nHeadKv, nLayer, nExpert, nExpertUsed, nFf, nCtx, type, v, name); }

        public Spec withName(String v) { return new Spec(arch, nEmbd, nHead, nHeadKv, nLayer, nExpert, nExpertUsed, nFf, nCtx, type, seed, v); }

        public int headDim() { return nEmbd / nHead; }

        /** Number of weights of the OLMoE and llama layouts (biases and extra norms of other families not counted). */
        public long parameterCount() {
            long hd = headDim(), e = nEmbd, ff = nFf;
            long attn = e * hd * nHead * 2 + e * hd * nHeadKv * 2 + (arch == Arch.OLMOE ? 2 * e : 0);
            long ffn = arch.isMoe() ? e * nExpert + 3L * e * ff * nExpert : 3L * e * ff;
            return 2L * e * VOCAB_SIZE + e + (long) nLayer * (attn + ffn + 2 * e);
        }

        private static void require(boolean ok, String msg) {
            if (!ok) throw new IllegalArgumentException(msg);
        }
    }

    /** The token strings, in id order. */
    public static List<String> tokens() { return CharVocabulary.tokens(); }

    /** Token id of a printable ASCII character or space (SentencePiece maps ' ' to "▁"). */
    public static int charToken(char c) {
        return CharVocabulary.charToken(c);
    }

    /** Token id of a byte-fallback token {@code <0xNN>}. */
    public static int byteToken(int b) {
        return CharVocabulary.byteToken(b);
    }

    /** Writes {@code spec} to {@code file} and returns {@code file}. */
    public static Path write(Spec spec, Path file) throws IOException {
        Objects.requireNonNull(spec, "spec");
        build(spec).write(file);
        return file;
    }

    /** Declares everything; no weight is generated until {@link GgufWriter#write} pulls it. */
    public static GgufWriter build(Spec s) {
        String a = s.arch().ggufArch;
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", a)
                .putString("general.name", s.name())
                .putUInt32("general.file_type", s.type() == TensorType.F16 ? 1 : 0) // LLAMA_FTYPE_MOSTLY_F16 / ALL_F32
                .putUInt32(a + ".context_length", s.nCtx())
                .putUInt32(a + ".embedding_length", s.nEmbd())
                .putUInt32(a + ".block_count", s.nLayer())
                .putUInt32(a + ".feed_forward_length", s.nFf())
                .putUInt32(a + ".attention.head_count", s.nHead())
                .putUInt32(a + ".attention.head_count_kv", s.nHeadKv())
                .putFloat32(a + ".attention.layer_norm_rms_epsilon", 1e-5f)
                .putFloat32(a + ".rope.freq_base", 10000f)
                .putUInt32(a + ".rope.dimension_count", s.headDim()) // llama requires n_rot == head dim
                .putUInt32(a + ".vocab_size", VOCAB_SIZE);
        if (s.arch().isMoe()) {
            w.putUInt32(a + ".expert_count", s.nExpert()).putUInt32(a + ".expert_used_count", s.nExpertUsed())
                    .putUInt32(a + ".expert_feed_forward_length", s.nFf());
        }
        switch (s.arch()) {
            case GLM4MOE -> putGroupedRouting(w, a, 0, 2 /* sigmoid */, true, GLM_WEIGHT_SCALE, GLM_GROUPS, GLM_GROUPS_USED);
            case DEEPSEEK2 -> putGroupedRouting(w.putUInt32(a + ".attention.q_lora_rank", DS2_Q_RANK)
                    .putUInt32(a + ".attention.kv_lora_rank", DS2_KV_RANK)
                    .putUInt32(a + ".attention.key_length", s.headDim())
                    .putUInt32(a + ".attention.value_length", s.headDim())
                    .remove(a + ".rope.dimension_count").putUInt32(a + ".rope.dimension_count", DS2_ROPE),
                    a, 1, 1 /* softmax */, false, DS2_WEIGHT_SCALE, DS2_GROUPS, DS2_GROUPS_USED);
            case SMALLTHINKER -> w.putUInt32(a + ".expert_gating_func", 1); // softmax (renormalised by the graph)
            case GROVEMOE -> w.putUInt32(a + ".expert_chunk_feed_forward_length", s.nFf())
                    .putFloat32(a + ".expert_group_scale", 0.5f)
                    .putUInt32(a + ".experts_per_group", GROVE_EXPERTS_PER_GROUP);
            case GPT_OSS -> w.putUInt32(a + ".attention.sliding_window", 64);
            case LLAMA4 -> w.putUInt32(a + ".interleave_moe_layer_step", 1); // every layer MoE; chunked attention as shipped
            case QWEN3NEXT -> w.putUInt32(a + ".ssm.conv_kernel", Q3N_CONV_KERNEL)
                    .putUInt32(a + ".ssm.inner_size", Q3N_V_HEADS * s.headDim())
                    .putUInt32(a + ".ssm.state_size", s.headDim())
                    .putUInt32(a + ".ssm.time_step_rank", Q3N_V_HEADS)
                    .putUInt32(a + ".ssm.group_count", Q3N_K_HEADS)
                    .putUInt32(a + ".full_attention_interval", 2); // layer 1 attention, layer 0 linear
            case DEEPSEEK4 -> w.putUInt32(a + ".attention.q_lora_rank", DS4_Q_RANK)
                    .putUInt32(a + ".attention.sliding_window", 64)
                    .putUInt32(a + ".attention.output_group_count", DS4_OUT_GROUPS)
                    .putUInt32(a + ".attention.output_lora_rank", DS4_OUT_RANK)
                    .putFloat32(a + ".attention.compress_rope_freq_base", 10000f)
                    .putInt32Array(a + ".attention.compress_ratios", ds4CompressRatios(s))
                    .putUInt32(a + ".attention.indexer.head_count", DS4_INDEXER_HEADS)
                    .putUInt32(a + ".attention.indexer.key_length", DS4_INDEXER_KEY)
                    .putUInt32(a + ".attention.indexer.top_k", 8)
                    .putUInt32(a + ".hyper_connection.count", DS4_HYPER_CONNECTIONS)
                    .putUInt32(a + ".hyper_connection.sinkhorn_iterations", 3)
                    .putFloat32(a + ".hyper_connection.epsilon", 1e-6f)
                    .putUInt32(a + ".hash_layer_count", DS4_HASH_LAYERS)
                    .putUInt32(a + ".expert_shared_count", 1)
                    .putUInt32(a + ".expert_gating_func", 4) // sqrt(softplus)
                    .putBool(a + ".expert_weights_norm", true)
                    .putFloat32(a + ".expert_weights_scale", DS4_WEIGHT_SCALE)
                    .putFloat32(a + ".swiglu_clamp_exp", 10f);
            case LFM2MOE -> {
                int[] kvHeads = new int[s.nLayer()];
                for (int i = 0; i < kvHeads.length; i++) {
                    kvHeads[i] = lfmAttention(i) ? s.nHeadKv() : 0; // 0 KV heads marks a convolution layer
                }
                w.remove(a + ".attention.head_count_kv").putInt32Array(a + ".attention.head_count_kv", kvHeads)
                        .putUInt32(a + ".shortconv.l_cache", LFM_CONV_CACHE)
                        .putUInt32(a + ".leading_dense_block_count", 1)
                        .putUInt32(a + ".expert_gating_func", 2); // sigmoid
            }
            default -> { }
        }
        CharVocabulary.addTo(w);

        long e = s.nEmbd(), v = VOCAB_SIZE, q = (long) s.headDim() * s.nHead(), kv = (long) s.headDim() * s.nHeadKv();
        TensorType mt = s.type();
        float inv = (float) (1 / Math.sqrt(e));

        addRandom(w, s, "token_embd.weight", mt, 1f, e, v);
        w.addTensor(s.arch() == Arch.LFM2MOE ? "token_embd_norm.weight" : "output_norm.weight", TensorType.F32, ones(e), e);
        addRandom(w, s, "output.weight", mt, 2 * inv, e, v);
        if (s.arch() == Arch.DEEPSEEK4) {
            long hc = DS4_HYPER_CONNECTIONS;
            addRandom(w, s, "output_hc_fn.weight", TensorType.F32, inv, hc * e, hc);
            addRandom(w, s, "output_hc_base.weight", TensorType.F32, 0.1f, hc);
            w.addTensor("output_hc_scale.weight", TensorType.F32, ones(1), 1);
        }
        for (int i = 0; i < s.nLayer(); i++) {
            String p = "blk." + i + ".";
            w.addTensor(p + "attn_norm.weight", TensorType.F32, ones(e), e);
            if (s.arch() == Arch.LFM2MOE && !lfmAttention(i)) {
                addRandom(w, s, p + "shortconv.conv.weight", TensorType.F32, 0.5f, LFM_CONV_CACHE, e);
                addRandom(w, s, p + "shortconv.in_proj.weight", mt, inv, e, 3 * e);
                addRandom(w, s, p + "shortconv.out_proj.weight", mt, inv, e, e);
                addFfn(w, s, i);
                continue;
            }
            if (s.arch() == Arch.DEEPSEEK4) {
                addDeepseek4Attention(w, s, i);
                addFfn(w, s, i);
                continue;
            }
            if (s.arch() == Arch.DEEPSEEK2) {
                addLatentAttention(w, s, i);
                addFfn(w, s, i);
                continue;
            }
            if (s.arch() == Arch.QWEN3NEXT && i % 2 == 0) {
                addGatedDeltaNet(w, s, i);
                addFfn(w, s, i);
                continue;
            }
            // Qwen3-Next's query projection also yields the attention output gate
            addRandom(w, s, p + "attn_q.weight", mt, inv, e, s.arch() == Arch.QWEN3NEXT ? 2 * q : q);
            addRandom(w, s, p + "attn_k.weight", mt, inv, e, kv);
            addRandom(w, s, p + "attn_v.weight", mt, inv, e, kv);
            addRandom(w, s, p + "attn_output.weight", mt, (float) (1 / Math.sqrt(q)), q, e);
            switch (s.arch()) {
                // olmoe normalises the whole (un-reshaped) Q/K projection, hence {n_embd}, not {head_dim}.
                case OLMOE -> {
                    w.addTensor(p + "attn_q_norm.weight", TensorType.F32, ones(e), e);
                    w.addTensor(p + "attn_k_norm.weight", TensorType.F32, ones(e), e);
                }
                case QWEN3MOE, LFM2MOE, QWEN3NEXT, GROVEMOE -> {
                    w.addTensor(p + "attn_q_norm.weight", TensorType.F32, ones(s.headDim()), s.headDim());
                    w.addTensor(p + "attn_k_norm.weight", TensorType.F32, ones(s.headDim()), s.headDim());
                }
                case GPT_OSS -> {
                    addRandom(w, s, p + "attn_output.bias", TensorType.F32, 0.1f, e);
                    addRandom(w, s, p + "attn_sinks.weight", TensorType.F32, 1f, s.nHead());
                }
                default -> { }
            }
            addFfn(w, s, i);
        }
        return w;
    }

    /** DeepSeek-style routing metadata: a dense layer 0, shared experts, gating, weight norm and scale, expert groups. */
    private static void putGroupedRouting(GgufWriter w, String a, int shared, int gating, boolean norm, float scale, int groups, int used) {
        w.putUInt32(a + ".leading_dense_block_count", 1)
                .putUInt32(a + ".expert_shared_count", shared)
                .putUInt32(a + ".expert_gating_func", gating)
                .putBool(a + ".expert_weights_norm", norm)
                .putFloat32(a + ".expert_weights_scale", scale)
                .putUInt32(a + ".expert_group_count", groups)
                .putUInt32(a + ".expert_group_used_count", used);
    }

    /** The FFN norm and the dense or expert FFN of layer i. */
    private static void addFfn(GgufWriter w, Spec s, int i) {
        String p = "blk." + i + ".";
        long e = s.nEmbd(), ff = s.nFf(), x = s.nExpert();
        TensorType mt = s.type();
        float inv = (float) (1 / Math.sqrt(e)), down = (float) (1 / Math.sqrt(ff));
        // glm4moe and gpt-oss norm the FFN input with the post-attention norm
        boolean postNorm = s.arch() == Arch.GLM4MOE || s.arch() == Arch.GPT_OSS || s.arch() == Arch.QWEN3NEXT;
        w.addTensor(p + (postNorm ? "post_attention_norm.weight" : "ffn_norm.weight"), TensorType.F32, ones(e), e);
        boolean leadingDense = (s.arch() == Arch.GLM4MOE || s.arch() == Arch.LFM2MOE || s.arch() == Arch.DEEPSEEK2) && i == 0;
        if (s.arch().isMoe() && !leadingDense) {
            addRandom(w, s, p + "ffn_gate_inp.weight", TensorType.F32, 2 * inv, e, x);
            addRandom(w, s, p + "ffn_gate_exps.weight", mt, inv, e, ff, x);
            addRandom(w, s, p + "ffn_down_exps.weight", mt, down, ff, e, x);
            addRandom(w, s, p + "ffn_up_exps.weight", mt, inv, e, ff, x);
            boolean hashRouted = s.arch() == Arch.DEEPSEEK4 && i < DS4_HASH_LAYERS;
            if (hashRouted) {
                w.addTensor(p + "ffn_gate_tid2eid.weight", TensorType.I32, hashRoutes(x, s.nExpertUsed()), s.nExpertUsed(), VOCAB_SIZE);
            } else if (s.arch() == Arch.GLM4MOE || s.arch() == Arch.LFM2MOE || s.arch() == Arch.DEEPSEEK4) {
                // selection bias comparable to the gate scores, so it changes which experts win
                addRandom(w, s, p + "exp_probs_b.bias", TensorType.F32, 0.5f, x);
            }
            if (s.arch() == Arch.QWEN3NEXT) {
                addRandom(w, s, p + "ffn_gate_inp_shexp.weight", TensorType.F32, inv, e);
            }
            if (s.arch() == Arch.LLAMA4 || s.arch() == Arch.DEEPSEEK4 || s.arch() == Arch.QWEN3NEXT || s.arch() == Arch.DEEPSEEK2) {
                addRandom(w, s, p + "ffn_gate_shexp.weight", mt, inv, e, ff);
                addRandom(w, s, p + "ffn_down_shexp.weight", mt, down, ff, e);
                addRandom(w, s, p + "ffn_up_shexp.weight", mt, inv, e, ff);
            } else if (s.arch() == Arch.GROVEMOE) {
                long chunks = x / GROVE_EXPERTS_PER_GROUP;
                addRandom(w, s, p + "ffn_gate_chexps.weight", mt, inv, e, ff, chunks);
                addRandom(w, s, p + "ffn_down_chexps.weight", mt, down, ff, e, chunks);
                addRandom(w, s, p + "ffn_up_chexps.weight", mt, inv, e, ff, chunks);
            } else if (s.arch() == Arch.GPT_OSS) {
                addRandom(w, s, p + "ffn_gate_inp.bias", TensorType.F32, 0.5f, x);
                addRandom(w, s, p + "ffn_gate_exps.bias", TensorType.F32, 0.1f, ff, x);
                addRandom(w, s, p + "ffn_down_exps.bias", TensorType.F32, 0.1f, e, x);
                addRandom(w, s, p + "ffn_up_exps.bias", TensorType.F32, 0.1f, ff, x);
            }
        } else {
            addRandom(w, s, p + "ffn_gate.weight", mt, inv, e, ff);
            addRandom(w, s, p + "ffn_down.weight", mt, down, ff, e);
            addRandom(w, s, p + "ffn_up.weight", mt, inv, e, ff);
        }
    }

    /** Plain windowed attention (0) except a compressed sparse attention last layer. */
    private static int[] ds4CompressRatios(Spec s) {
        int[] ratios = new int[s.nLayer()];
        ratios[ratios.length - 1] = DS4_CSA_RATIO;
        return ratios;
    }

    /** Token t's experts on a hash-routed layer: k distinct experts starting at 3t mod n. */
    private static TensorData hashRoutes(long experts, int used) {
        float[] table = new float[used * VOCAB_SIZE];
        for (int t = 0; t < VOCAB_SIZE; t++) {
            for (int j = 0; j < used; j++) {
                table[t * used + j] = (3L * t + j) % experts;
            }
        }
        return TensorData.of(table);
    }

    /** DeepSeek-V2's multi-head latent attention: low-rank query and KV with their norms, a shared RoPE key. */
    private static void addLatentAttention(GgufWriter w, Spec s, int i) {
        String p = "blk." + i + ".";
        long e = s.nEmbd(), h = s.nHead(), hd = s.headDim(), nope = hd - DS2_ROPE;
        TensorType mt = s.type();
        float inv = (float) (1 / Math.sqrt(e));
        w.addTensor(p + "attn_q_a_norm.weight", TensorType.F32, ones(DS2_Q_RANK), DS2_Q_RANK);
        w.addTensor(p + "attn_kv_a_norm.weight", TensorType.F32, ones(DS2_KV_RANK), DS2_KV_RANK);
        addRandom(w, s, p + "attn_q_a.weight", mt, inv, e, DS2_Q_RANK);
        addRandom(w, s, p + "attn_q_b.weight", mt, 0.25f, DS2_Q_RANK, h * hd);
        addRandom(w, s, p + "attn_kv_a_mqa.weight", mt, inv, e, DS2_KV_RANK + DS2_ROPE);
        addRandom(w, s, p + "attn_kv_b.weight", mt, 0.25f, DS2_KV_RANK, h * (nope + hd));
        addRandom(w, s, p + "attn_output.weight", mt, (float) (1 / Math.sqrt(h * hd)), h * hd, e);
    }

    /** DeepSeek-V4's low-rank query, one shared KV head, grouped low-rank output and hyper-connection mixers. */
    private static void addDeepseek4Attention(GgufWriter w, Spec s, int i) {
        String p = "blk." + i + ".";
        long e = s.nEmbd(), hd = s.headDim(), h = s.nHead(), hc = DS4_HYPER_CONNECTIONS, mix = (2 + hc) * hc;
        TensorType mt = s.type();
        float inv = (float) (1 / Math.sqrt(e));
        w.addTensor(p + "attn_sinks.weight", TensorType.F32, ones(h), h);
        addRandom(w, s, p + "attn_q_a.weight", mt, inv, e, DS4_Q_RANK);
        w.addTensor(p + "attn_q_a_norm.weight", TensorType.F32, ones(DS4_Q_RANK), DS4_Q_RANK);
        addRandom(w, s, p + "attn_q_b.weight", mt, (float) (1 / Math.sqrt(DS4_Q_RANK)), DS4_Q_RANK, h * hd);
        addRandom(w, s, p + "attn_kv.weight", mt, inv, e, hd);
        w.addTensor(p + "attn_kv_a_norm.weight", TensorType.F32, ones(hd), hd);
        long groupIn = h * hd / DS4_OUT_GROUPS;
        addRandom(w, s, p + "attn_output_a.weight", mt, (float) (1 / Math.sqrt(groupIn)), groupIn, (long) DS4_OUT_RANK * DS4_OUT_GROUPS);
        addRandom(w, s, p + "attn_output_b.weight", mt, (float) (1 / Math.sqrt(DS4_OUT_RANK * DS4_OUT_GROUPS)),
                (long) DS4_OUT_RANK * DS4_OUT_GROUPS, e);
        for (String part : List.of("attn", "ffn")) {
            addRandom(w, s, p + "hc_" + part + "_fn.weight", TensorType.F32, inv, hc * e, mix);
            addRandom(w, s, p + "hc_" + part + "_base.weight", TensorType.F32, 0.1f, mix);
            w.addTensor(p + "hc_" + part + "_scale.weight", TensorType.F32, ones(3), 3);
        }
        int ratio = ds4CompressRatios(s)[i];
        if (ratio != 0) {
            long pair = 2 * hd, ipair = 2L * DS4_INDEXER_KEY; // a CSA layer compresses overlapping pairs of windows
            addRandom(w, s, p + "attn_compressor_kv.weight", mt, inv, e, pair);
            addRandom(w, s, p + "attn_compressor_gate.weight", mt, inv, e, pair);
            addRandom(w, s, p + "attn_compressor_ape.weight", TensorType.F32, 0.1f, pair, ratio);
            w.addTensor(p + "attn_compressor_norm.weight", TensorType.F32, ones(hd), hd);
            addRandom(w, s, p + "indexer.proj.weight", mt, inv, e, DS4_INDEXER_HEADS);
            addRandom(w, s, p + "indexer.attn_q_b.weight", mt, (float) (1 / Math.sqrt(DS4_Q_RANK)), DS4_Q_RANK,
                    (long) DS4_INDEXER_HEADS * DS4_INDEXER_KEY);
            addRandom(w, s, p + "indexer_compressor_kv.weight", mt, inv, e, ipair);
            addRandom(w, s, p + "indexer_compressor_gate.weight", mt, inv, e, ipair);
            addRandom(w, s, p + "indexer_compressor_ape.weight", TensorType.F32, 0.1f, ipair, ratio);
            w.addTensor(p + "indexer_compressor_norm.weight", TensorType.F32, ones(DS4_INDEXER_KEY), DS4_INDEXER_KEY);
        }
    }

    private static final int LFM_CONV_CACHE = 3;
    private static final int Q3N_CONV_KERNEL = 4, Q3N_K_HEADS = 2, Q3N_V_HEADS = 4;

    /** Qwen3-Next's linear attention: q/k/v and gate projections, a short convolution, decay and beta, output. */
    private static void addGatedDeltaNet(GgufWriter w, Spec s, int i) {
        String p = "blk." + i + ".";
        long e = s.nEmbd(), d = s.headDim(), key = Q3N_K_HEADS * d, value = Q3N_V_HEADS * d;
        TensorType mt = s.type();
        float inv = (float) (1 / Math.sqrt(e));
        addRandom(w, s, p + "attn_qkv.weight", mt, inv, e, 2 * key + value);
        addRandom(w, s, p + "attn_gate.weight", mt, inv, e, value);
        addRandom(w, s, p + "ssm_conv1d.weight", TensorType.F32, 0.5f, Q3N_CONV_KERNEL, 2 * key + value);
        addRandom(w, s, p + "ssm_dt.bias", TensorType.F32, 0.5f, Q3N_V_HEADS);
        // A < 0 (stored as -exp(A_log)) so the recurrent state decays instead of growing
        w.addTensor(p + "ssm_a", TensorType.F32, TensorData.constant(-1f, Q3N_V_HEADS), Q3N_V_HEADS);
        addRandom(w, s, p + "ssm_ba.weight", mt, inv, e, 2L * Q3N_V_HEADS);
        w.addTensor(p + "ssm_norm.weight", TensorType.F32, ones(d), d);
        addRandom(w, s, p + "ssm_out.weight", mt, (float) (1 / Math.sqrt(value)), value, e);
    }

    /** LFM2-MoE test model: layer 1 is attention, the others short convolutions. */
    private static boolean lfmAttention(int layer) {
        return layer == 1;
    }

    /**
     * The LM head of {@code spec} as written: row t (n_embd floats) maps the final hidden state to
     * token t's logit. Lets tests check hidden states against logits.
     */
    public static float[] outputWeights(Spec spec) {
        long e = spec.nEmbd();
        float[] w = new float[Math.toIntExact(e * VOCAB_SIZE)];
        int[] at = {0};
        try {
            random(spec.seed(), "output.weight", 2 * (float) (1 / Math.sqrt(e)), w.length).writeTo((values, off, len) -> {
                System.arraycopy(values, off, w, at[0], len);
                at[0] += len;
            });
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return w;
    }

    private static TensorData ones(long n) { return TensorData.constant(1f, n); }

    private static void addRandom(GgufWriter w, Spec s, String tensor, TensorType type, float std, long... ne) {
        long total = 1;
        for (long d : ne) total *= d;
        w.addTensor(tensor, type, ne, random(s.seed(), tensor, std, total));
    }

    /**
     * Uniform on [-std·√3, std·√3] (variance std²); uniform rather than Gaussian because it is cheap,
     * which keeps the multi-hundred-MB benchmark model fast to write. Generated in 8K chunks.
     * Seeded by (seed, tensor name) so a tensor's values do not depend on declaration order.
     */
    private static TensorData random(long seed, String tensor, float std, long total) {
        return sink -> {
            long state = mix(seed ^ fnv1a(tensor));
            float half = std * (float) Math.sqrt(3);
            float[] chunk = new float[8192];
            for (long left = total; left > 0; ) {
                int n = (int) Math.min(left, chunk.length);
                for (int i = 0; i < n; i++) {
                    state += 0x9E3779B97F4A7C15L;                        // SplitMix64
                    long z = mix(state);
                    chunk[i] = ((z >>> 40) * 0x1.0p-24f * 2f - 1f) * half; // 24 random bits -> [-1, 1)
                }
                sink.put(chunk, 0, n);
                left -= n;
            }
        };
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static long fnv1a(String s) {
        long h = 0xCBF29CE484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001B3L;
        }
        return h;
    }

    /**
     * {@code RandomModels <olmoe|mixtral|qwen3moe|glm4moe|deepseek2|smallthinker|grovemoe|gpt-oss|lfm2moe|llama4|deepseek4|qwen3next|dense|large> <out.gguf> [f16]} — writes a model and prints
     * its size and the time taken (used to produce the benchmark model).
     */
    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: RandomModels <olmoe|mixtral|qwen3moe|glm4moe|deepseek2|smallthinker|grovemoe|gpt-oss|lfm2moe|llama4|deepseek4|qwen3next|dense|large> <out.gguf> [f16]");
            System.exit(2);
        }
        Spec spec = switch (args[0]) {
            case "olmoe" -> Spec.olmoe();
            case "mixtral" -> Spec.mixtral();
            case "dense" -> Spec.dense();
            case "qwen3moe" -> Spec.qwen3moe();
            case "glm4moe" -> Spec.glm4moe();
            case "deepseek2" -> Spec.deepseek2();
            case "smallthinker" -> Spec.smallthinker();
            case "grovemoe" -> Spec.grovemoe();
            case "gpt-oss" -> Spec.gptOss();
            case "lfm2moe" -> Spec.lfm2moe();
            case "llama4" -> Spec.llama4();
            case "deepseek4" -> Spec.deepseek4();
            case "qwen3next" -> Spec.qwen3next();
            case "large" -> Spec.olmoeLarge();
            default -> throw new IllegalArgumentException("unknown model kind: " + args[0]);
        };
        if (args.length > 2 && args[2].equalsIgnoreCase("f16")) spec = spec.withType(TensorType.F16);
        long t0 = System.nanoTime();
        long bytes = build(spec).write(Path.of(args[1]));
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "%s: %,d params, %,d bytes (%.1f MiB) in %.2f s (%.0f MiB/s)%n", spec.name(),
                spec.parameterCount(), bytes, bytes / 1048576.0, secs, bytes / 1048576.0 / secs);
    }
}
