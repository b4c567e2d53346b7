package dev.moeadapter.samples.lab;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.FlashAttention;
import dev.moeadapter.core.engine.KvCacheType;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every router edit, run by llama.cpp through the engine on both gating styles of lab versions 1, 2 and 4,
 * against the PyTorch twin's outputs kept as fixtures ({@link TwinEditCases}; {@code mvn -Plab}
 * rewrites them): the same argmax at every position and the twin's largest logits at the last
 * position within 1e-4 · max(1, max |logit|). Weights and the KV cache are f32 on both sides (the
 * fixtures' six decimals and summation order are the rest; measured within 2e-5).
 */
class TwinEditParityTest {

    @ParameterizedTest
    @FieldSource("dev.moeadapter.samples.lab.TwinEditCases#MODELS")
    void theEngineAppliesEveryEditAsTheTwinDoes(String name) throws Exception {
        Map<String, TwinEditCases.Expected> expected = TwinEditCases.read(TwinEditCases.fixture(name));
        try (Model model = Model.load(ModelParams.of(TwinEditCases.model(name)));
             // an f32 cache without flash attention: llama.cpp's f16 rounding would tip the v2 models' router near-ties
             Session session = model.newSession(new SessionParams(128, 128, 1, 1, 1, FlashAttention.OFF, KvCacheType.F32))) {
            int[] tokens = model.tokenize(TwinEditCases.TEXT);
            var cases = TwinEditCases.cases(model.info().moeLayers().size(), model.info().experts(), model.info().expertsUsed(), tokens.length);
            assertThat(expected.keySet()).containsExactlyElementsOf(cases.stream().map(TwinEditCases.Case::name).toList());
            for (TwinEditCases.Case c : cases) {
                TwinEditCases.Expected e = expected.get(c.name());
                session.clear();
                session.setPlan(0, c.plan());
                session.decode(Batch.allOutputs(0, 0, tokens));
                for (int p = 0; p < tokens.length; p++) {
                    float[] z = session.logits(p);
                    int best = 0;
                    for (int v = 1; v < z.length; v++) {
                        if (z[v] > z[best]) {
                            best = v;
                        }
                    }
                    assertThat(best).as("%s %s: argmax at position %d", name, c.name(), p).isEqualTo(e.argmax()[p]);
                }
                float[] last = session.logits(tokens.length - 1);
                float scale = 1;
                for (float v : e.topLogits()) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int i = 0; i < e.topTokens().length; i++) {
                    assertThat(last[e.topTokens()[i]]).as("%s %s: logit of token %d", name, c.name(), e.topTokens()[i])
                            .isCloseTo(e.topLogits()[i], org.assertj.core.api.Assertions.within(1e-4f * scale));
                }
            }
            session.clearPlan(0);
        }
    }
}
