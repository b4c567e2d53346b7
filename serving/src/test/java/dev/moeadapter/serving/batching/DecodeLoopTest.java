package dev.moeadapter.serving.batching;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DecodeLoopTest {
    private static final String[] PROMPTS = {"The quick brown fox", "Once upon a time", "abc def ghi", "Q: 2 plus 3 is? A:",
            "My favourite colour is", "xyz uvw rst opq", "The capital of France is", "Lorem ipsum dolor sit"};
    private static final int TOKENS = 16;

    /** Request q's plan: none for even q, a mask of expert q on the first MoE layer for odd q. */
    private static RoutingPlan plan(Model m, int q) {
        return q % 2 == 0 ? RoutingPlan.EMPTY
                : RoutingPlan.of(RouterEdit.ExpertMask.deny(m.info().moeLayers().getFirst(), m.info().experts(), PositionRange.ALL, q));
    }

    @Test
    void eightConcurrentRequestsShareStepsAndAnswerAsEachDoesAlone() throws Exception {
        Model m = TestModels.olmoe();
        List<int[]> alone = new ArrayList<>();
        for (int q = 0; q < PROMPTS.length; q++) {
            try (Session s = m.newSession(new SessionParams(256, 64, 1, 1, 1))) {
                s.setPlan(0, plan(m, q));
                alone.add(new Generator(s, 0)
                        .generate(GenerationRequest.greedy(m.tokenize(PROMPTS[q]), TOKENS).withIgnoreEos(true)).tokens());
            }
        }
        try (Session shared = m.newSession(new SessionParams(256 * 8, 128, 8, 1, 1)); DecodeLoop loop = new DecodeLoop(shared);
             ExecutorService pool = Executors.newFixedThreadPool(PROMPTS.length)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<int[]>> answers = new ArrayList<>();
            for (int q = 0; q < PROMPTS.length; q++) {
                final int request = q;
                answers.add(pool.submit(() -> {
                    try (LoopLane lane = loop.open(1)) {
                        lane.setPlan(0, plan(m, request));
                        start.await();
                        return new Generator(lane, 0)
                                .generate(GenerationRequest.greedy(m.tokenize(PROMPTS[request]), TOKENS).withIgnoreEos(true)).tokens();
                    }
                }));
            }
            start.countDown();
            for (int q = 0; q < PROMPTS.length; q++) {
                assertThat(answers.get(q).get()).as("request %d", q).containsExactly(alone.get(q));
            }
            // 8 prompts and 8 × 15 single-token decodes: alone that is 128 steps
            assertThat(loop.steps()).as("steps for %d rows", loop.rows()).isLessThan(64);
            assertThat((double) loop.rows() / loop.steps()).as("rows per step").isGreaterThan(2.0);
            assertThat(loop.freeSequences()).as("every lane gave its sequence back").isEqualTo(8);
        }
    }

    @Test
    void aLaneKeepsToItsSequencesAndItsTrace() {
        Model m = TestModels.olmoe();
        try (Session shared = m.newSession(new SessionParams(256 * 4, 64, 4, 1, 1)); DecodeLoop loop = new DecodeLoop(shared);
             LoopLane a = loop.open(2); LoopLane b = loop.open(2)) {
            assertThatThrownBy(() -> a.decode(Batch.of(2, 0, m.tokenize("x")))).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("out of range 0..1 of this lane");
            assertThatThrownBy(() -> loop.open(1)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("0 of 4 are free");
            assertThatThrownBy(() -> a.decode(Batch.of(0, 5, m.tokenize("x")))).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("expects position 0");
            b.setTrace(1, TraceSpec.ROUTES);
            int[] prompt = m.tokenize("Once upon a time");
            b.decode(Batch.of(1, 0, prompt));
            assertThat(b.logits(prompt.length - 1)).hasSize(m.info().vocabSize());
            b.release();
            assertThatThrownBy(() -> b.logits(prompt.length - 1)).isInstanceOf(IllegalStateException.class);
            assertThat(b.drainTrace().routes()).isNotEmpty().allSatisfy(r -> assertThat(r.sequence()).isEqualTo(1));
            assertThat(a.drainTrace().routes()).isEmpty();
            assertThat(a.maxPosition(0)).isEqualTo(-1);
            assertThat(b.maxPosition(1)).isEqualTo(prompt.length - 1);
        }
    }

    @Test
    void anAbortedLaneStopsWhileTheOthersGoOn() throws Exception {
        Model m = TestModels.olmoe();
        try (Session shared = m.newSession(new SessionParams(256 * 2, 64, 2, 1, 1)); DecodeLoop loop = new DecodeLoop(shared);
             ExecutorService pool = Executors.newFixedThreadPool(2)) {
            LoopLane stopped = loop.open(1);
            CancellationToken cancel = new CancellationToken();
            Future<GenerationResult> cut = pool.submit(() -> {
                try (stopped) {
                    return new Generator(stopped, 0).generate(
                            GenerationRequest.greedy(m.tokenize(PROMPTS[0]), 200).withIgnoreEos(true), (t, x) -> {
                                if (!cancel.isCancelled()) {
                                    cancel.cancel();
                                    stopped.abortDecode();
                                }
                            }, cancel);
                }
            });
            Future<GenerationResult> full = pool.submit(() -> {
                try (LoopLane lane = loop.open(1)) {
                    return new Generator(lane, 0)
                            .generate(GenerationRequest.greedy(m.tokenize(PROMPTS[1]), TOKENS).withIgnoreEos(true));
                }
            });
            assertThat(cut.get().finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(cut.get().generatedTokens()).isLessThanOrEqualTo(2);
            assertThat(full.get().generatedTokens()).isEqualTo(TOKENS);
        }
    }
}
