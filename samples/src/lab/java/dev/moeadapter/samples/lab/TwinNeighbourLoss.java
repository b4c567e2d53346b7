package dev.moeadapter.samples.lab;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.moeadapter.c3po.CriticalRegion;
import dev.moeadapter.c3po.Injection;
import dev.moeadapter.c3po.Neighbour;
import dev.moeadapter.c3po.ReferenceSet;

import java.util.Arrays;
import java.util.List;

/**
 * C3PO's neighbour loss in the twin, as a differentiable function of NGD's parameters θ (the core
 * experts' log-probabilities of the critical layers, {@link CriticalRegion#logCore()}): the same
 * neighbours, kernel weights, scored answer tokens and injection positions as the engine's
 * {@code NeighbourLoss}, with ω = {@link CriticalRegion#fromLogCore} injected by replacing the
 * router logits with log ω. All neighbours run as one right-padded batch.
 */
final class TwinNeighbourLoss {
    /** log ω below this probability: the twin needs finite logits (exp(−69) is 0 to the softmax anyway) */
    private static final float FLOOR = 1e-30f;

    private final MoeTwin twin;
    private final NDArray tokens, targets, weights, mask;
    private final NDArray logOwn, coreOneHot, coreShift, toLayers;
    private final int critical, coreSize;

    /** Constants live in {@code manager}: close it when done with this loss. */
    TwinNeighbourLoss(MoeTwin twin, NDManager manager, ReferenceSet refs, List<Neighbour> neighbours, CriticalRegion region,
                      int lossTokens, Injection injection) {
        this.twin = twin;
        int k = neighbours.size(), layers = twin.shape().layers(), experts = twin.shape().experts();
        int[][] rows = new int[k][];
        int[] last = new int[k], scored = new int[k];
        int t = 0;
        for (int i = 0; i < k; i++) {
            int[] prompt = refs.prompt(neighbours.get(i).index()), answer = refs.answer(neighbours.get(i).index());
            scored[i] = Math.min(lossTokens, answer.length);
            last[i] = prompt.length - 1;
            rows[i] = Arrays.copyOf(prompt, prompt.length + scored[i]);
            System.arraycopy(answer, 0, rows[i], prompt.length, scored[i]);
            t = Math.max(t, rows[i].length - 1); // the last scored token is a target only
        }
        double total = neighbours.stream().mapToDouble(Neighbour::weight).sum();
        List<Integer> criticalLayers = region.layers();
        long[] tok = new long[k * t], tgt = new long[k * t];
        float[] w = new float[k * t], at = new float[k * t * layers];
        for (int i = 0; i < k; i++) {
            for (int p = 0; p < t; p++) {
                tok[i * t + p] = p < rows[i].length ? rows[i][p] : rows[i][rows[i].length - 1]; // padding after the end changes nothing before it
            }
            for (int j = 0; j < scored[i]; j++) {
                int p = last[i] + j;
                tgt[i * t + p] = rows[i][p + 1];
                w[i * t + p] = (float) (neighbours.get(i).weight() / total / scored[i]);
                boolean injected = injection == Injection.FROM_LAST_PROMPT_TOKEN || j == 0;
                for (int layer : criticalLayers) {
                    at[(i * t + p) * layers + layer] = injected ? 1 : 0;
                }
            }
        }
        tokens = manager.create(tok, new Shape(k, t));
        targets = manager.create(tgt, new Shape(k, t, 1));
        weights = manager.create(w, new Shape(k, t));
        mask = manager.create(at, new Shape(k, t, layers));

        float[][] own = region.own();
        int[][] core = region.core();
        critical = own.length;
        coreSize = core[0].length;
        float[] logs = new float[critical * experts], oneHot = new float[critical * coreSize * experts], shift = new float[critical * coreSize],
                place = new float[layers * critical];
        for (int l = 0; l < critical; l++) {
            double mass = 0;
            for (int e : core[l]) {
                mass += own[l][e];
            }
            for (int e = 0; e < experts; e++) {
                logs[l * experts + e] = (float) Math.log(Math.max(own[l][e], FLOOR));
            }
            for (int j = 0; j < coreSize; j++) {
                int e = core[l][j];
                oneHot[(l * coreSize + j) * experts + e] = 1;
                shift[l * coreSize + j] = (float) Math.log(mass) - logs[l * experts + e];
            }
            place[criticalLayers.get(l) * critical + l] = 1;
        }
        logOwn = manager.create(logs, new Shape(critical, experts));
        coreOneHot = manager.create(oneHot, new Shape(critical, coreSize, experts));
        coreShift = manager.create(shift, new Shape(critical, coreSize));
        toLayers = manager.create(place, new Shape(layers, critical));
    }

    /** The loss at θ. */
    double loss(float[] theta) {
        try (NDManager scope = tokens.getManager().newSubManager()) {
            twin.lendTo(scope);
            return loss(scope.create(theta)).getFloat();
        }
    }

    /** The loss's gradient at θ by backpropagation (hard top-k: the selected experts' weights carry it). */
    float[] gradient(float[] theta) {
        try (NDManager scope = tokens.getManager().newSubManager();
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            twin.lendTo(scope);
            NDArray th = scope.create(theta);
            th.setRequiresGradient(true);
            gc.backward(loss(th));
            return th.getGradient().toFloatArray();
        }
    }

    /** Plain gradient descent from θ0: {@code steps} steps of size {@code lr}; returns the last point. */
    float[] descend(float[] theta0, int steps, float lr) {
        float[] theta = theta0.clone();
        for (int s = 0; s < steps; s++) {
            float[] g = gradient(theta);
            for (int i = 0; i < theta.length; i++) {
                theta[i] -= lr * g[i];
            }
        }
        return theta;
    }

    private NDArray loss(NDArray theta) {
        // log ω: ω0's logs, the core experts' replaced by log(core mass) + log softmax(θ_l), as fromLogCore
        NDArray coreLogs = theta.reshape(critical, coreSize).logSoftmax(-1).add(coreShift);
        NDArray logOmega = logOwn.add(coreLogs.expandDims(-1).mul(coreOneHot).sum(new int[] {1}));
        NDArray values = toLayers.matMul(logOmega).expandDims(0).expandDims(0);        // [1,1,layers,E]
        NDArray logits = twin.forward(tokens, null, false, true, null, new MoeTwin.Replacement(mask, values)).logits();
        return logits.logSoftmax(-1).gather(targets, -1).squeeze(-1).mul(weights).sum().neg();
    }
}
