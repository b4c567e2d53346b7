package dev.moeadapter.it;

import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.c3po.ReferenceSetBuilder;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every endpoint, plain and streamed, for every adaptation the service has — none, SCMoE,
 * rerouting and C3PO (with a reference set built for the served model) — as arms of one policy.
 */
class EveryArmTest extends RunningService {

    @DynamicPropertySource
    static void arms(DynamicPropertyRegistry r) {
        r.add("moe.adapter.c3po.reference-set", () -> referenceSet().toString());
        r.add("moe.adapter.c3po.algorithm", () -> "kr");
        r.add("moe.adapter.default-policy", () -> "every");
        r.add("moe.adapter.policies.every.allow-override", () -> "true");
        for (String arm : List.of("none", "scmoe", "rerouting", "c3po", "steer")) {
            r.add("moe.adapter.policies.every.arms." + arm + ".adaptation", () -> arm);
        }
        r.add("moe.adapter.steering-directory", () -> steeringDirectory().toString());
        r.add("moe.adapter.policies.every.arms.steer.settings.file", () -> "toward.tsv");
    }

    /** The steered expert: promoted on MoE layer 0 by the steer arm's file. */
    private static final int PROMOTED = 3;

    private static Path steeringDirectory() {
        try {
            Path dir = Files.createTempDirectory("every-arm-steering");
            dir.toFile().deleteOnExit();
            Files.writeString(dir.resolve("toward.tsv"), "# toward expert " + PROMOTED + "\nlayer\texpert\taction\tstrength\n0\t" + PROMOTED
                    + "\tpromote\t1\n");
            dir.resolve("toward.tsv").toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A reference set for the random fixture: its own answers to a few prompts count as correct. */
    private static Path referenceSet() {
        try {
            Path file = Files.createTempFile("every-arm", ".c3po");
            file.toFile().deleteOnExit();
            List<ReferenceSetBuilder.Example> examples = List.of("Once upon a time", "The capital of France is", "Q: 2 plus 3 is? A:",
                    "My favourite colour is").stream().map(p -> new ReferenceSetBuilder.Example(p, p, 4, List.of(), t -> !t.isEmpty())).toList();
            try (Session s = TestModels.olmoe().newSession(new SessionParams(256, 64, 1, 1, 1))) {
                new ReferenceSetBuilder(TestModels.olmoe(), s, new HiddenStateEmbedder(), 4, 10).build(examples, file);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @org.junit.jupiter.api.Test
    void theSteerArmsFileLeadsEveryTokenWithItsExpertAsTheRoutingTraceShows() throws Exception {
        HttpResponse<String> r = post("/v1/moe/generate", "{\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"arm\":\"steer\",\"routing_trace\":{}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        DecodedTrace t = DecodedTrace.of(json(r.body()).get("routing_trace"));
        int layer0 = t.layers().indexOf(0);
        assertThat(t.tokens()).isGreaterThan(6);
        for (int pos = t.firstToken(); pos < t.firstToken() + t.tokens(); pos++) {
            assertThat(t.experts(pos, layer0)[0]).as("position %d", pos).isEqualTo(PROMOTED);
        }
        HttpResponse<String> plain = post("/v1/moe/generate", "{\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"arm\":\"none\",\"routing_trace\":{}}");
        DecodedTrace p = DecodedTrace.of(json(plain.body()).get("routing_trace"));
        assertThat(java.util.stream.IntStream.range(p.firstToken(), p.firstToken() + p.tokens())
                .filter(pos -> p.experts(pos, p.layers().indexOf(0))[0] != PROMOTED).count())
                .as("the model alone does not lead with it everywhere").isPositive();
        // a dynamic expert count: the experts a token did not use are -1 in the trace, and every token keeps one
        HttpResponse<String> topP = post("/v1/moe/generate", "{\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"arm\":\"steer\","
                + "\"settings\":{\"top-p\":0.3},\"routing_trace\":{}}");
        assertThat(topP.statusCode()).as(topP.body()).isEqualTo(200);
        DecodedTrace d = DecodedTrace.of(json(topP.body()).get("routing_trace"));
        int unused = 0;
        for (int pos = d.firstToken(); pos < d.firstToken() + d.tokens(); pos++) {
            int[] ex = d.experts(pos, d.layers().indexOf(0));
            assertThat(ex[0]).as("position %d keeps its best expert", pos).isNotNegative();
            for (int x : ex) {
                unused += x < 0 ? 1 : 0;
            }
        }
        assertThat(unused).as("slots top-p 0.3 left unused").isPositive();
        // a request's own steering, where the policy allows overrides: a file outside the directory is refused by name
        HttpResponse<String> bad = post("/v1/moe/generate", "{\"prompt\":\"hi\",\"arm\":\"steer\",\"settings\":{\"file\":\"../x\"}}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("'file'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"none", "scmoe", "rerouting", "c3po", "steer"})
    void everyEndpointAnswersPlainAndStreamedWithTheArm(String arm) throws Exception {
        String nativeBody = "{\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"arm\":\"" + arm + "\"";
        HttpResponse<String> plain = post("/v1/moe/generate", nativeBody + "}");
        assertThat(plain.statusCode()).as(plain.body()).isEqualTo(200);
        assertThat(json(plain.body()).get("arm").asString()).isEqualTo(arm);
        assertThat(json(plain.body()).get("policy").asString()).isEqualTo("every");
        assertThat(json(plain.body()).get("fallback").isNull()).as("the arm's own method answered: %s", plain.body()).isTrue();
        assertStream(post("/v1/moe/generate", nativeBody + ",\"stream\":true}"), "\"arm\":\"" + arm + "\"");

        String chat = "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":6,\"arm\":\"" + arm + "\"";
        HttpResponse<String> chatPlain = post("/v1/chat/completions", chat + "}");
        assertThat(chatPlain.statusCode()).as(chatPlain.body()).isEqualTo(200);
        assertThat(json(chatPlain.body()).get("object").asString()).isEqualTo("chat.completion");
        assertStream(post("/v1/chat/completions", chat + ",\"stream\":true}"), "chat.completion.chunk");

        String text = "{\"model\":\"" + MODEL_ID + "\",\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"arm\":\"" + arm + "\"";
        HttpResponse<String> textPlain = post("/v1/completions", text + "}");
        assertThat(textPlain.statusCode()).as(textPlain.body()).isEqualTo(200);
        assertThat(json(textPlain.body()).get("object").asString()).isEqualTo("text_completion");
        assertStream(post("/v1/completions", text + ",\"stream\":true}"), "text_completion");
    }

    private static void assertStream(HttpResponse<String> r, String marker) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        assertThat(r.body()).contains(marker).endsWith("data: [DONE]\n\n");
    }
}
