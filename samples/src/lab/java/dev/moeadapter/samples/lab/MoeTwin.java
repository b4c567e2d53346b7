package dev.moeadapter.samples.lab;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.moeadapter.core.gguf.CharVocabulary;
import dev.moeadapter.core.gguf.GgufWriter;
import dev.moeadapter.core.gguf.GgufWriter.TensorData;
import dev.moeadapter.core.gguf.GgufWriter.TensorType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The PyTorch twin of a lab model: the same forward pass llama.cpp runs for {@code olmoe} and for
 * {@code llama} with experts, written with DJL so it can be trained and differentiated (exact
 * gradients for the router oracle and for checking the zeroth-order optimisers).
 *
 * <p>Parameters are keyed by their GGUF tensor names and held in PyTorch layout (the GGUF dims
 * reversed; same data order), so export and import are plain copies. Experts are computed densely
 * (weighted by the mostly zero gate weights) or, for training, sparsely: only the selected ones.
 * An optional router delta {@code [batch, layers, experts]} is added to the router logits of
 * every position — the same edit as the engine's {@code RouterEdit.AddDelta}.
 */
public final class MoeTwin implements AutoCloseable {

    private final TwinShape shape;
    private final NDManager manager;
    private final Map<String, NDArray> params = new LinkedHashMap<>();

    /** Outputs of one forward pass: logits {@code [B,T,V]} and per-layer router probabilities {@code [B,T,E]}. */
    public record Output(NDArray logits, List<NDArray> routerProbs) {}

    /**
     * Router logits replaced outright where {@code mask} {@code [B, T, layers]} is 1: logits := {@code logits}
     * (broadcastable to {@code [B, T, layers, E]}) — with softmax gating, the engine's
     * {@code RouterEdit.ReplaceDistribution} of ω is logits := log ω. The values must be finite.
     */
    public record Replacement(NDArray mask, NDArray logits) {}

    private MoeTwin(TwinShape shape, NDManager manager) {
        this.shape = shape;
        this.manager = manager;
    }

    /** A freshly initialised model (seeded). */
    public static MoeTwin initialise(TwinShape s, NDManager manager, long seed) {
        MoeTwin t = new MoeTwin(s, manager);
        Random r = new Random(seed);
        long e = s.embd(), v = TwinShape.VOCAB, x = s.experts(), ff = s.ff();
        double resid = 1 / Math.sqrt(2.0 * s.layers());
        t.put(r, "token_embd.weight", 1, v, e);
        t.ones("output_norm.weight", e);
        t.put(r, "output.weight", 1 / Math.sqrt(e), v, e);
        for (int l = 0; l < s.layers(); l++) {
            String p = "blk." + l + ".";
            t.ones(p + "attn_norm.weight", e);
            t.put(r, p + "attn_q.weight", 1 / Math.sqrt(e), e, e);
            t.put(r, p + "attn_k.weight", 1 / Math.sqrt(e), e, e);
            t.put(r, p + "attn_v.weight", 1 / Math.sqrt(e), e, e);
            t.put(r, p + "attn_output.weight", resid / Math.sqrt(e), e, e);
            if (s.olmoe()) {
                t.ones(p + "attn_q_norm.weight", e);
                t.ones(p + "attn_k_norm.weight", e);
            }
            t.ones(p + "ffn_norm.weight", e);
            t.put(r, p + "ffn_gate_inp.weight", 0.02, x, e);
            t.put(r, p + "ffn_gate_exps.weight", 1 / Math.sqrt(e), x, ff, e);
            t.put(r, p + "ffn_up_exps.weight", 1 / Math.sqrt(e), x, ff, e);
            t.put(r, p + "ffn_down_exps.weight", resid / Math.sqrt(ff), x, e, ff);
        }
        return t;
    }

    /** Loads a lab GGUF (F32) into a twin. */
    public static MoeTwin load(Path gguf, NDManager manager) throws IOException {
        GgufTensors g = GgufTensors.read(gguf);
        MoeTwin t = new MoeTwin(g.shape(), manager);
        g.tensors().forEach((name, tensor) -> t.params.put(name, manager.create(tensor.data(), new Shape(tensor.torchShape()))));
        return t;
    }

    public TwinShape shape() { return shape; }

    /**
     * Lends the parameters to {@code scope} until it closes, so that every array a forward pass
     * derives from them is freed with the scope instead of piling up in the twin's own manager.
     */
    public void lendTo(NDManager scope) {
        params.values().forEach(p -> p.tempAttach(scope));
    }

    /** Trainable parameters by GGUF name (live arrays). */
    public Map<String, NDArray> parameters() { return params; }

    /**
     * Forward pass over right-padded token rows {@code [B,T]} (int64). Padding after a sequence's end
     * does not affect its positions (causal attention). {@code delta} is null, {@code [B, layers, experts]}
     * (the same router delta at every position) or {@code [B, T, layers, experts]} (one per position).
     */
    public Output forward(NDArray tokens, NDArray delta) {
        return forward(tokens, delta, false);
    }

    /**
     * As {@link #forward(NDArray, NDArray)}; with {@code straightThrough} the values are unchanged but
     * gradients flow to every expert as if the gate were the dense softmax (a straight-through
     * estimator). Hard top-k gives unselected experts no gradient at all, so an optimiser of the
     * router could never discover that another expert would serve better.
     */
    public Output forward(NDArray tokens, NDArray delta, boolean straightThrough) {
        return forward(tokens, delta, straightThrough, false);
    }

    /**
     * As {@link #forward(NDArray, NDArray, boolean)}; {@code sparse} computes only the selected
     * experts (same result; much cheaper with many experts; ignored under a straight-through gate).
     */
    public Output forward(NDArray tokens, NDArray delta, boolean straightThrough, boolean sparse) {
        return forward(tokens, delta, straightThrough, sparse, null);
    }

    /**
     * As {@link #forward(NDArray, NDArray, boolean, boolean)} with the weight lever: {@code weightScales}
     * {@code [B, T, layers, k]} multiplies the final mixing weight of each token's j-th choice (after
     * renormalisation), as the engine's {@code RouterEdit.ScaleWeights} does; computed sparsely.
     */
    public Output forward(NDArray tokens, NDArray delta, boolean straightThrough, boolean sparse, NDArray weightScales) {
        return forward(tokens, delta, straightThrough, sparse, weightScales, null);
    }

    /** As {@link #forward(NDArray, NDArray, boolean, boolean, NDArray)}, with router logits replaced after the delta where asked. */
    public Output forward(NDArray tokens, NDArray delta, boolean straightThrough, boolean sparse, NDArray weightScales, Replacement replace) {
        if (weightScales != null && straightThrough) throw new IllegalArgumentException("the weight lever has no straight-through form");
        NDManager m = tokens.getManager();
        long b = tokens.getShape().get(0), t = tokens.getShape().get(1);
        int e = shape.embd(), h = shape.heads(), hd = shape.headDim(), ex = shape.experts();
        NDArray x = p("token_embd.weight").get(tokens);                         // [B,T,e]
        NDArray[] rope = ropeTables(m, (int) t);
        NDArray mask = causalMask(m, (int) t);
        List<NDArray> probs = new ArrayList<>(shape.layers());
        for (int l = 0; l < shape.layers(); l++) {
            String pre = "blk." + l + ".";
            NDArray a = rmsNorm(x, p(pre + "attn_norm.weight"));
            NDArray q = a.matMul(p(pre + "attn_q.weight").transpose());
            NDArray k = a.matMul(p(pre + "attn_k.weight").transpose());
            NDArray v = a.matMul(p(pre + "attn_v.weight").transpose());
            if (shape.olmoe()) { // OLMoE normalises the whole projection before splitting heads
                q = rmsNorm(q, p(pre + "attn_q_norm.weight"));
                k = rmsNorm(k, p(pre + "attn_k_norm.weight"));
            }
            q = rope(q.reshape(b, t, h, hd), rope).transpose(0, 2, 1, 3);
            k = rope(k.reshape(b, t, h, hd), rope).transpose(0, 2, 1, 3);
            v = v.reshape(b, t, h, hd).transpose(0, 2, 1, 3);
            NDArray att = q.matMul(k.transpose(0, 1, 3, 2)).mul(1 / Math.sqrt(hd)).add(mask).softmax(-1);
            NDArray o = att.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, e);
            x = x.add(o.matMul(p(pre + "attn_output.weight").transpose()));

            NDArray f = rmsNorm(x, p(pre + "ffn_norm.weight")).reshape(b * t, e);
            NDArray logits = f.matMul(p(pre + "ffn_gate_inp.weight").transpose()); // [N,E]
            if (delta != null) { // [B, layers, E] for every position, or [B, T, layers, E] per position
                NDArray dl = delta.getShape().dimension() == 4 ? delta.get(":, :, " + l + ", :") : delta.get(":, " + l + ", :").expandDims(1);
                logits = logits.reshape(b, t, ex).add(dl).reshape(b * t, ex);
            }
            if (replace != null) {
                NDArray at = replace.mask().get(":, :, " + l).expandDims(-1);   // [B,T,1]
                NDArray to = replace.logits().get(":, :, " + l + ", :");       // broadcast to [B,T,E]
                logits = logits.reshape(b, t, ex).mul(at.neg().add(1)).add(to.mul(at)).reshape(b * t, ex);
            }
            NDArray pr = logits.softmax(-1);
            probs.add(pr.reshape(b, t, ex));
            NDArray scales = weightScales == null ? null : weightScales.get(":, :, " + l + ", :").reshape(b * t, shape.topK());
            NDArray moe = scales == null && (straightThrough || !sparse) ? denseExperts(pre, f, pr, straightThrough) : sparseExperts(pre, f, pr, scales);
            x = x.add(moe.reshape(b, t, e));
        }
        NDArray out = rmsNorm(x, p("output_norm.weight")).matMul(p("output.weight").transpose());
        return new Output(out, probs);
    }

    /**
     * Every expert on every token, weighted by the (mostly zero) gate: simple, and the only way for
     * a straight-through gate to give unselected experts a gradient.
     */
    private NDArray denseExperts(String pre, NDArray f, NDArray pr, boolean straightThrough) {
        long n = f.getShape().get(0);
        int e = shape.embd(), ex = shape.experts(), ff = shape.ff();
        NDArray kth = pr.topK(shape.topK(), -1).get(0).min(new int[] {-1}, true).stopGradient();
        NDArray w = pr.mul(pr.gte(kth).toType(DataType.FLOAT32, false));
        if (!shape.olmoe()) {
            w = w.div(w.sum(new int[] {-1}, true));
        }
        if (straightThrough) {
            w = w.add(pr.sub(pr.stopGradient()));
        }
        NDArray g = f.matMul(p(pre + "ffn_gate_exps.weight").reshape(ex * ff, e).transpose()).reshape(n, ex, ff);
        NDArray u = f.matMul(p(pre + "ffn_up_exps.weight").reshape(ex * ff, e).transpose()).reshape(n, ex, ff);
        NDArray act = g.mul(Activation.sigmoid(g)).mul(u).transpose(1, 0, 2);  // [E,N,ff]
        NDArray y = act.matMul(p(pre + "ffn_down_exps.weight").transpose(0, 2, 1)); // [E,N,e]
        return y.mul(w.transpose().expandDims(2)).sum(new int[] {0});
    }

    /**
     * Only the selected experts: the (token, slot) pairs are grouped by expert into a padded
     * {@code [E, C, e]} block (C the busiest expert's load; padding cells are computed but never
     * gathered back), so one batched matmul per projection does the work of top-k experts
     * instead of all of them. Same values and gradients as {@link #denseExperts} without a
     * straight-through gate.
     */
    private NDArray sparseExperts(String pre, NDArray f, NDArray pr, NDArray scales) {
        NDManager m = f.getManager();
        int n = Math.toIntExact(f.getShape().get(0));
        int e = shape.embd(), ex = shape.experts(), k = shape.topK();
        NDArray chosen = pr.stopGradient().topK(k, -1).get(1);                    // [N,k] expert ids, slot s = token·k + j
        NDArray w = pr.gather(chosen, -1);                                        // their probabilities, with gradient
        if (!shape.olmoe()) {
            w = w.div(w.sum(new int[] {-1}, true));
        }
        if (scales != null) w = w.mul(scales);                                    // slot j is the j-th choice: topK sorts
        long[] expertOf = chosen.toLongArray();
        int[] load = new int[ex];
        for (long x : expertOf) load[(int) x]++;
        int capacity = 1;
        for (int c : load) capacity = Math.max(capacity, c);
        long[] rowOfCell = new long[ex * capacity];                               // padding cells read row 0; never gathered back
        long[] cellOfSlot = new long[expertOf.length];
        int[] fill = new int[ex];
        for (int s = 0; s < expertOf.length; s++) {
            int x = (int) expertOf[s];
            int cell = x * capacity + fill[x]++;
            rowOfCell[cell] = s / k;
            cellOfSlot[s] = cell;
        }
        NDArray rows = m.create(rowOfCell).duplicate().reshape(-1, 1).broadcast(rowOfCell.length, e);
        NDArray padded = f.gather(rows, 0).reshape(ex, capacity, e);
        NDArray g = padded.matMul(p(pre + "ffn_gate_exps.weight").transpose(0, 2, 1));  // [E,C,ff]
        NDArray u = padded.matMul(p(pre + "ffn_up_exps.weight").transpose(0, 2, 1));
        NDArray y = g.mul(Activation.sigmoid(g)).mul(u).matMul(p(pre + "ffn_down_exps.weight").transpose(0, 2, 1)); // [E,C,e]
        NDArray cells = m.create(cellOfSlot).duplicate().reshape(-1, 1).broadcast(cellOfSlot.length, e);
        NDArray perSlot = y.reshape((long) ex * capacity, e).gather(cells, 0).reshape(n, k, e);
        return perSlot.mul(w.expandDims(2)).sum(new int[] {1});
    }

    /** Writes the model as a GGUF file (F32) that stock llama.cpp loads, with the character vocabulary. */
    public void export(Path file, String name) throws IOException {
        String a = shape.arch();
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", a)
                .putString("general.name", name)
                .putUInt32("general.file_type", 0)
                .putUInt32(a + ".context_length", shape.context())
                .putUInt32(a + ".embedding_length", shape.embd())
                .putUInt32(a + ".block_count", shape.layers())
                .putUInt32(a + ".feed_forward_length", shape.ff())
                .putUInt32(a + ".attention.head_count", shape.heads())
                .putUInt32(a + ".attention.head_count_kv", shape.heads())
                .putFloat32(a + ".attention.layer_norm_rms_epsilon", shape.eps())
                .putFloat32(a + ".rope.freq_base", shape.ropeBase())
                .putUInt32(a + ".rope.dimension_count", shape.headDim())
                .putUInt32(a + ".vocab_size", TwinShape.VOCAB)
                .putUInt32(a + ".expert_count", shape.experts())
                .putUInt32(a + ".expert_used_count", shape.topK());
        CharVocabulary.addTo(w);
        for (var e : params.entrySet()) {
            long[] s = e.getValue().getShape().getShape();
            long[] ne = new long[s.length];
            for (int i = 0; i < s.length; i++) ne[i] = s[s.length - 1 - i];
            w.addTensor(e.getKey(), TensorType.F32, ne, TensorData.of(e.getValue().toFloatArray()));
        }
        w.write(file);
    }

    @Override
    public void close() {
        params.values().forEach(NDArray::close);
    }

    private NDArray p(String name) {
        NDArray a = params.get(name);
        if (a == null) throw new IllegalStateException("model has no tensor " + name);
        return a;
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        return x.div(x.square().mean(new int[] {-1}, true).add(shape.eps()).sqrt()).mul(weight);
    }

    /** cos and sin {@code [T, hd/2]} for positions 0..T-1, as llama.cpp computes them. */
    private NDArray[] ropeTables(NDManager m, int t) {
        int half = shape.headDim() / 2;
        float[] cos = new float[t * half], sin = new float[t * half];
        for (int pos = 0; pos < t; pos++) {
            for (int i = 0; i < half; i++) {
                double theta = pos * Math.pow(shape.ropeBase(), -2.0 * i / shape.headDim());
                cos[pos * half + i] = (float) Math.cos(theta);
                sin[pos * half + i] = (float) Math.sin(theta);
            }
        }
        return new NDArray[] {m.create(cos, new Shape(t, half)).duplicate(), m.create(sin, new Shape(t, half)).duplicate()};
    }

    /** NEOX (olmoe) rotates pairs (i, i + hd/2); NORM (llama) rotates adjacent pairs (2i, 2i + 1). */
    private NDArray rope(NDArray x, NDArray[] table) {
        long b = x.getShape().get(0), t = x.getShape().get(1), h = x.getShape().get(2);
        int hd = shape.headDim(), half = hd / 2;
        if (shape.olmoe()) {
            NDArray cos = table[0].reshape(1, t, 1, half), sin = table[1].reshape(1, t, 1, half);
            NDList parts = x.split(2, 3);
            NDArray x1 = parts.get(0), x2 = parts.get(1);
            return x1.mul(cos).sub(x2.mul(sin)).concat(x2.mul(cos).add(x1.mul(sin)), 3);
        }
        NDArray cos = table[0].reshape(1, t, 1, half, 1), sin = table[1].reshape(1, t, 1, half, 1);
        NDList parts = x.reshape(b, t, h, half, 2).split(2, 4);
        NDArray x1 = parts.get(0), x2 = parts.get(1);
        return x1.mul(cos).sub(x2.mul(sin)).concat(x1.mul(sin).add(x2.mul(cos)), 4).reshape(b, t, h, hd);
    }

    private static NDArray causalMask(NDManager m, int t) {
        float[] mask = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) mask[i * t + j] = -1e9f;
        }
        return m.create(mask, new Shape(t, t)).duplicate();
    }

    private void put(Random r, String name, double std, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] data = new float[Math.toIntExact(n)];
        for (int i = 0; i < data.length; i++) data[i] = (float) (r.nextGaussian() * std);
        params.put(name, manager.create(data, new Shape(shape)));
    }

    private void ones(String name, long n) {
        params.put(name, manager.ones(new Shape(n)));
    }
}
