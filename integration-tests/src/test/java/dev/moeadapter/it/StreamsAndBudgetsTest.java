package dev.moeadapter.it;

import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import dev.moeadapter.core.generation.FinishReason;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Streams, time budgets, cancellation and refusals of the real service with one session, driven by
 * adaptations that pause or fail on purpose: what a slow stream, a client that leaves, an adaptation
 * that overruns or dies, and a client that asks for too much each get.
 */
@SpringBootTest(classes = {MoeAdapterService.class, TestStrategies.class}, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {
        "moe.adapter.sessions=1", "moe.adapter.acquire-timeout=200ms", "moe.adapter.stream-keep-alive=500ms",
        "moe.adapter.default-policy=open",
        "moe.adapter.policies.open.allow-override=true",
        "moe.adapter.policies.open.arms.plain.adaptation=none",
        "moe.adapter.policies.open.arms.pausing.adaptation=pausing",
        "moe.adapter.policies.open.arms.pausing.weight=0",
        "moe.adapter.policies.open.arms.pausing.time-budget=5m",
        "moe.adapter.policies.open.arms.cut.adaptation=pausing",
        "moe.adapter.policies.open.arms.cut.weight=0",
        "moe.adapter.policies.open.arms.cut.time-budget=1s",
        "moe.adapter.policies.open.arms.slow.adaptation=slow",
        "moe.adapter.policies.open.arms.slow.weight=0",
        "moe.adapter.policies.open.arms.slow.time-budget=5m",
        "moe.adapter.policies.open.arms.refusing.adaptation=refusing",
        "moe.adapter.policies.open.arms.refusing.weight=0",
        "moe.adapter.policies.open.arms.crashing.adaptation=crashing",
        "moe.adapter.policies.open.arms.crashing.weight=0",
        "moe.adapter.policies.open.arms.crashing.time-budget=300ms",
        "moe.adapter.policies.open.arms.dripping.adaptation=dripping",
        "moe.adapter.policies.open.arms.dripping.weight=0",
        "moe.adapter.policies.open.arms.dripping.time-budget=5m",
        "moe.adapter.policies.open.arms.textless.adaptation=textless",
        "moe.adapter.policies.open.arms.textless.weight=0",
        "moe.adapter.policies.open.arms.textless.time-budget=5m",
        "moe.adapter.policies.open.arms.late.adaptation=late-failing",
        "moe.adapter.policies.open.arms.late.weight=0",
        "moe.adapter.policies.open.arms.late.time-budget=5m",
        "moe.adapter.policies.open.arms.hungry.adaptation=rerouting",
        "moe.adapter.policies.open.arms.hungry.weight=0",
        "moe.adapter.policies.open.arms.hungry.time-budget=1s",
        "moe.adapter.policies.open.arms.hungry.settings.q=16",
        "moe.adapter.policies.open.arms.hungry.settings.steps=100",
        "moe.adapter.policies.open.arms.hungry.settings.interval=1",
        "moe.adapter.policies.open.arms.reroute.adaptation=rerouting",
        "moe.adapter.policies.open.arms.reroute.weight=0",
        "moe.adapter.policies.open.arms.reroute.settings.q=8",
        "moe.adapter.policies.open.arms.reroute.settings.steps=1"})
class StreamsAndBudgetsTest extends RunningService {
    private static final String SSE = "text/event-stream";

    @Autowired
    TestStrategies.Pausing pausing;

    @Autowired
    TestStrategies.Slow slow;

    @Autowired
    @Qualifier("drippingStrategy")
    TestStrategies.Dripping dripping;

    @Autowired
    @Qualifier("textlessStrategy")
    TestStrategies.Dripping textless;

    @BeforeEach
    void armThePausingAdaptation() {
        pausing.reset();
    }

    @Test
    void aClientThatLeavesMidAnswerStopsItWithinOneToken() throws Exception {
        try (SseClient client = new SseClient(port, "/v1/moe/generate",
                "{\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"arm\":\"pausing\",\"stream\":true}")) {
            assertThat(json(client.nextData()).get("type").asString()).isEqualTo("token");
        } // the client leaves while generation is held after its first token
        assertThat(pausing.finished.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(pausing.sawCancel).as("the departure was noticed while the answer was idle").isTrue();
        assertThat(pausing.tokensAfterPause.get()).as("tokens generated after the client left").isLessThanOrEqualTo(1);
        assertThat(post("/v1/moe/generate", generate("plain", false)).statusCode()).as("the session is free again").isEqualTo(200);
    }

    @Test
    void aClientThatLeavesBeforeAWholeAnswerStopsItWithinOneToken() throws Exception {
        try (java.net.Socket ignored = SseClient.send(port, "/v1/moe/generate",
                "{\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"arm\":\"pausing\",\"stream\":false}")) {
            assertThat(pausing.paused.await(60, TimeUnit.SECONDS)).isTrue();
        } // the client leaves while the answer, not yet sent, is held after its first token
        assertThat(pausing.finished.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(pausing.sawCancel).as("the departure was noticed though nothing had been written").isTrue();
        assertThat(pausing.tokensAfterPause.get()).as("tokens generated after the client left").isLessThanOrEqualTo(1);
        assertThat(post("/v1/moe/generate", generate("plain", false)).statusCode()).as("the session is free again").isEqualTo(200);
    }

    /**
     * The OpenAI endpoints write nothing before a whole answer is done, as OpenAI does; the container's
     * departure check (a read of the connection, not a write) still stops the answer of a client that
     * left, e.g. at its SDK's timeout, idle or while tokens flow.
     */
    @Test
    void anOpenAiClientThatLeavesBeforeItsWholeAnswerStopsItWithinOneToken() throws Exception {
        String chat = "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":64,\"arm\":\"%s\"}";
        try (java.net.Socket ignored = SseClient.send(port, "/v1/chat/completions", chat.formatted("pausing"))) {
            assertThat(pausing.paused.await(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(pausing.finished.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(pausing.sawCancel).as("the departure was noticed while the answer was idle").isTrue();
        assertThat(pausing.tokensAfterPause.get()).as("tokens generated after the client left").isLessThanOrEqualTo(1);

        dripping.reset();
        String responses = "{\"model\":\"" + MODEL_ID + "\",\"input\":\"hi\",\"max_output_tokens\":64,\"arm\":\"dripping\"}";
        java.net.Socket client = SseClient.send(port, "/v1/responses", responses);
        try {
            assertThat(dripping.third.await(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            client.close(); // leaves while tokens keep coming, 200 ms apart
        }
        int atDeparture = dripping.tokens.get();
        assertThat(dripping.finished.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(dripping.result.finishReason()).as("cut by the departure, not by its length").isEqualTo(FinishReason.CANCELLED);
        assertThat(dripping.tokens.get() - atDeparture).as("tokens decoded after the client left").isLessThanOrEqualTo(1);
        assertThat(post("/v1/moe/generate", generate("plain", false)).statusCode()).as("the session is free again").isEqualTo(200);
    }

    /**
     * A client may pipeline a request after a POST (RFC 9112 §9.3.2: it should not, but may): the
     * departure check must take the next request's bytes for a client that is there, not one that
     * left, whether they came with the first body or while its whole answer was being made.
     */
    @Test
    void aRequestPipelinedAfterAPostIsAnsweredAfterIt() throws Exception {
        String chat = "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":6,\"arm\":\"dripping\"}";
        String second = post("/v1/moe/generate", "{\"prompt\":\"REV:abc=cba,bfa=\",\"max_tokens\":4,\"arm\":\"plain\"}", true);
        for (String when : List.of("with a sized body", "with a chunked body", "while the answer is made")) {
            dripping.reset();
            try (java.net.Socket socket = new java.net.Socket("localhost", port)) {
                socket.setSoTimeout(60_000);
                java.io.OutputStream out = socket.getOutputStream();
                String first = when.contains("chunked")
                        ? "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + Integer.toHexString(chat.length()) + "\r\n" + chat + "\r\n0\r\n\r\n"
                        : post("/v1/chat/completions", chat, false);
                out.write((first + (when.startsWith("with") ? second : "")).getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (!when.startsWith("with")) {
                    assertThat(dripping.third.await(60, TimeUnit.SECONDS)).isTrue();
                    out.write(second.getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
                String answers = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(answers.split("HTTP/1.1 ", -1)).as("%s: %s", when, answers).hasSize(3);
                assertThat(answers).as(answers).startsWith("HTTP/1.1 200 ").contains("\"object\":\"chat.completion\"");
                assertThat(answers.substring(answers.lastIndexOf("HTTP/1.1 "))).as(answers).startsWith("HTTP/1.1 200 ").contains("\"text\":");
            }
            assertThat(dripping.finished.await(60, TimeUnit.SECONDS)).isTrue();
            assertThat(dripping.result.finishReason()).as(when).isEqualTo(FinishReason.MAX_TOKENS);
        }
    }

    /** An ASCII request; the last on its connection asks to close it. */
    private static String post(String path, String body, boolean last) {
        return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + (last ? "Connection: close\r\n" : "")
                + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    }

    /**
     * The service's request threads are virtual; a decode is a native call that would hold a virtual
     * thread's carrier throughout, so that two decodes on a two-processor machine left the container
     * no thread to answer even a health probe.
     */
    @Test
    void answersAreGeneratedOnPlatformThreadsStreamedOrWhole() throws Exception {
        for (boolean stream : new boolean[] {false, true}) {
            pausing.reset();
            pausing.release.countDown(); // no pause
            HttpResponse<String> r = post("/v1/moe/generate", generate("pausing", stream));
            assertThat(r.statusCode()).as("stream %s: %s", stream, r.body()).isEqualTo(200);
            assertThat(pausing.finished.await(60, TimeUnit.SECONDS)).isTrue();
            assertThat(pausing.thread.isVirtual()).as("stream %s: generated on %s", stream, pausing.thread).isFalse();
        }
    }

    @Test
    void aClientThatLeavesWhileTokensFlowStopsTheAnswerWithinOneTokenStreamedOrWhole() throws Exception {
        for (boolean stream : new boolean[] {true, false}) {
            dripping.reset();
            String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"arm\":\"dripping\",\"stream\":" + stream + "}";
            SseClient client = new SseClient(port, "/v1/moe/generate", body);
            try {
                assertThat(client.status).as("stream %s: %s", stream, client.status == 200 ? "" : client.remaining()).isEqualTo(200);
                assertThat(dripping.third.await(60, TimeUnit.SECONDS)).isTrue();
            } finally {
                client.close(); // leaves while tokens keep coming, 200 ms apart
            }
            // counted once the departure happened: counted before it, a token made while this thread waited for a
            // processor between the count and the close would be charged to the service
            int atDeparture = dripping.tokens.get();
            assertThat(dripping.finished.await(60, TimeUnit.SECONDS)).isTrue();
            assertThat(dripping.result.finishReason()).as("stream %s: cut by the departure, not by its length", stream)
                    .isEqualTo(FinishReason.CANCELLED);
            assertThat(dripping.tokens.get() - atDeparture).as("stream %s: tokens decoded after the client left", stream).isLessThanOrEqualTo(1);
        }
        assertThat(post("/v1/moe/generate", generate("plain", false)).statusCode()).as("the session is free again").isEqualTo(200);
    }

    /**
     * A token that completes no character (the first part of a split one) is told to no listener and
     * writes nothing; the departure check when the generator next asks whether to go on still finds a
     * client that left, on every kind of answer.
     */
    @Test
    void aClientThatLeavesWhileTokensCompleteNoTextStopsTheAnswerWithinOneToken() throws Exception {
        String chat = "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":64,\"arm\":\"textless\"}";
        String generate = "{\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"arm\":\"textless\",\"stream\":%s}";
        List<List<String>> requests = List.of(List.of("/v1/moe/generate", generate.formatted(true)),
                List.of("/v1/moe/generate", generate.formatted(false)), List.of("/v1/chat/completions", chat));
        for (List<String> request : requests) {
            textless.reset();
            java.net.Socket client = SseClient.send(port, request.get(0), request.get(1));
            try {
                assertThat(textless.third.await(60, TimeUnit.SECONDS)).isTrue();
            } finally {
                client.close(); // leaves while tokens that reach no listener keep coming, 200 ms apart
            }
            int atDeparture = textless.tokens.get();
            assertThat(textless.finished.await(60, TimeUnit.SECONDS)).isTrue();
            assertThat(textless.result.finishReason()).as("%s: cut by the departure", request).isEqualTo(FinishReason.CANCELLED);
            assertThat(textless.tokens.get() - atDeparture).as("%s: tokens decoded after the client left", request).isLessThanOrEqualTo(1);
        }
        assertThat(post("/v1/moe/generate", generate("plain", false)).statusCode()).as("the session is free again").isEqualTo(200);
    }

    @Test
    void realReroutingStopsAtItsTimeBudgetWhateverItsRoundsAsk() throws Exception {
        // 100 steps of 32 context copies per round, a round per token: minutes of work, cut at 1 s
        long t0 = System.nanoTime();
        JsonNode r = json(post("/v1/moe/generate", "{\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"arm\":\"hungry\"}").body());
        double seconds = (System.nanoTime() - t0) / 1e9;
        boolean cut = r.get("finish_reason").asString().equals("time_budget");
        boolean replaced = !r.get("fallback").isNull() && r.at("/fallback/reason").asString().equals("time_budget");
        assertThat(cut || replaced).as("%s", r).isTrue();
        assertThat(seconds).as("one deadline over every round: the answer comes soon after its 1 s budget").isLessThan(20);
    }

    @Test
    void aFailureAfterTheFirstTokenIsTheLastEventOrTheBodyOfTheAnswer() throws Exception {
        try (SseClient client = new SseClient(port, "/v1/moe/generate", generate("late", true))) {
            assertThat(client.status).isEqualTo(200);
            assertThat(json(client.nextData()).get("type").asString()).isEqualTo("token");
            JsonNode last = json(client.rest().getLast());
            assertThat(last.get("type").asString()).isEqualTo("error");
            assertThat(last.at("/error/message").asString()).contains("failed after its first token");
        }
        String chat = "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8,"
                + "\"arm\":\"late\",\"stream\":true}";
        try (SseClient client = new SseClient(port, "/v1/chat/completions", chat)) {
            assertThat(client.status).isEqualTo(200);
            List<String> events = client.rest();
            assertThat(json(events.getLast()).at("/error/type").asString()).isEqualTo("server_error");
        }
        // a whole answer has sent spaces since its first token: the failure is the 200's body, in OpenAI's error shape
        HttpResponse<String> whole = post("/v1/moe/generate", generate("late", false));
        assertThat(whole.statusCode()).isEqualTo(200);
        assertThat(whole.body()).startsWith(" ");
        assertThat(json(whole.body()).at("/error/type").asString()).isEqualTo("server_error");
        // the OpenAI-compatible endpoints write a whole answer when it is done, as OpenAI does: the failure has its own status
        HttpResponse<String> openAi = post("/v1/chat/completions", chat.replace(",\"stream\":true", ""));
        assertThat(openAi.statusCode()).isEqualTo(500);
        assertThat(json(openAi.body()).at("/error/type").asString()).isEqualTo("server_error");
        HttpResponse<String> plain = post("/v1/chat/completions", chat.replace(",\"stream\":true", "").replace("\"late\"", "\"plain\""));
        assertThat(plain.statusCode()).isEqualTo(200);
        assertThat(plain.body()).as("no spaces before an OpenAI answer").startsWith("{");
    }

    @Test
    void aClientThatLeavesDuringTheAdaptationFreesItsSessionBeforeTheBudgetEnds() throws Exception {
        slow.started = new java.util.concurrent.CountDownLatch(1);
        slow.stoppedAfterNanos.set(-1);
        try (SseClient ignored = new SseClient(port, "/v1/moe/generate", generate("slow", true))) {
            assertThat(slow.started.await(60, TimeUnit.SECONDS)).isTrue();
        } // leaves while the adaptation works, long before its 5-minute budget
        while (slow.stoppedAfterNanos.get() < 0) {
            Thread.sleep(10); // bounded by the adaptation's own one-minute cap
        }
        assertThat(slow.sawCancel).as("stopped by the client's departure, not its own cap").isTrue();
        assertThat(post("/v1/moe/generate", generate("plain", false)).statusCode()).isEqualTo(200);
    }

    @Test
    void theTimeBudgetCoversAnAdaptationsWorkAfterItsFirstToken() throws Exception {
        JsonNode r = json(post("/v1/moe/generate", generate("cut", false)).body());
        assertThat(r.get("finish_reason").asString()).isEqualTo("time_budget");
        assertThat(r.get("fallback").isNull()).as("the answer had started: it ends, it is not replaced").isTrue();
        assertThat(pausing.sawCancel).isTrue();
        assertThat(pausing.tokensAfterPause.get()).isZero();
        assertThat(r.get("usage").get("completion_tokens").asInt()).as("the tokens that made the text sent").isEqualTo(pausing.tokensBeforePause);
        assertThat(r.get("text").asString()).isEqualTo(pausing.result.text());

        pausing.reset(); // the cut answer's routing trace: the rows that produced what was sent, no row decoded after it
        JsonNode traced = json(post("/v1/moe/generate", generate("cut", false).replace("}", ",\"routing_trace\":{}}")).body());
        assertThat(traced.get("finish_reason").asString()).isEqualTo("time_budget");
        assertThat(traced.at("/routing_trace/tokens").asInt()).as("%s", traced.get("usage"))
                .isEqualTo(traced.at("/usage/prompt_tokens").asInt() + traced.at("/usage/completion_tokens").asInt() - 1);

        pausing.reset();
        HttpResponse<String> chat = post("/v1/chat/completions", "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"hi\"}],\"max_tokens\":8,\"arm\":\"cut\"}");
        assertThat(json(chat.body()).at("/choices/0/finish_reason").asString()).isEqualTo("length");
    }

    @Test
    void refusalsAreOpenAiJsonWhateverAcceptSays() throws Exception {
        String longPrompt = "word ".repeat(300);
        record Case(String path, String body, int status, String param, String code) {
        }
        String chat = "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true";
        for (Case c : List.of(
                new Case("/v1/chat/completions", chat.replace(MODEL_ID, "gpt-4o") + "}", 404, "model", "model_not_found"),
                new Case("/v1/chat/completions", chat + ",\"max_tokens\":100000}", 400, "max_tokens", "invalid_value"),
                new Case("/v1/chat/completions", chat + ",\"n\":2}", 400, "n", "unsupported_parameter"),
                new Case("/v1/chat/completions", chat.replace("\"hi\"", "\"" + longPrompt + "\"") + "}", 400, "messages",
                        "context_length_exceeded"),
                new Case("/v1/moe/generate", "{\"prompt\":\"" + longPrompt + "\",\"stream\":true}", 400, "prompt",
                        "context_length_exceeded"))) {
            HttpResponse<String> r = post(c.path(), c.body(), "Accept", SSE);
            assertThat(r.statusCode()).as(c.body()).isEqualTo(c.status());
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
            JsonNode error = json(r.body()).get("error");
            assertThat(error.get("param").asString()).as(c.body()).isEqualTo(c.param());
            assertThat(error.get("code").asString()).as(c.body()).isEqualTo(c.code());
            assertThat(error.get("message").asString()).isNotBlank();
        }
        // no free session: the only one is held by a paused stream
        try (SseClient holder = new SseClient(port, "/v1/moe/generate", generate("pausing", true))) {
            holder.nextData();
            HttpResponse<String> busy = post("/v1/chat/completions", chat + "}", "Accept", SSE);
            assertThat(busy.statusCode()).isEqualTo(503);
            assertThat(busy.headers().firstValue("Retry-After")).isPresent();
            assertThat(json(busy.body()).at("/error/code").asString()).isEqualTo("server_busy");
            pausing.release.countDown();
            holder.rest();
        }
    }

    @Test
    void aRefusalFoundWhileGeneratingHasTheSameStatusStreamedOrNot() throws Exception {
        for (boolean stream : new boolean[]{false, true}) {
            HttpResponse<String> r = post("/v1/moe/generate", generate("refusing", stream), "Accept", stream ? SSE : "application/json");
            assertThat(r.statusCode()).as("stream " + stream).isEqualTo(400);
            assertThat(json(r.body()).at("/error/message").asString()).contains("does not suit the arm's settings");
        }
    }

    @Test
    void anAdaptationThatDiesDoesNotLeaveItsBudgetToAbortTheNextRequest() throws Exception {
        String plain = json(post("/v1/moe/generate", "{\"prompt\":\"Once upon a time\",\"max_tokens\":32}").body()).get("text").asString();
        HttpResponse<String> crashed = post("/v1/moe/generate", generate("crashing", false));
        assertThat(crashed.statusCode()).isEqualTo(500);
        assertThat(json(crashed.body()).at("/error/type").asString()).isEqualTo("server_error");
        Thread.sleep(600); // past the crashed arm's 300 ms budget: a timer left running would now abort the next decode
        JsonNode next = json(post("/v1/moe/generate", "{\"prompt\":\"Once upon a time\",\"max_tokens\":32}").body());
        assertThat(next.get("text").asString()).isEqualTo(plain);
        assertThat(next.get("finish_reason").asString()).isNotEqualTo("cancelled");
    }

    @Test
    void anArmNeedingMoreSequencesThanTheDefaultsAnswersAndClientSettingsAreBounded() throws Exception {
        HttpResponse<String> r = post("/v1/moe/generate", "{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"arm\":\"reroute\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r.body()).get("adaptation").asString()).isEqualTo("rerouting");
        record Case(String settings, String message) {
        }
        for (Case c : List.of(new Case("{\"q\":2147483647}", "'q' must be in 1..64"),
                new Case("{\"q\":20}", "needs 42 sequences per session; this service's sessions have 34"),
                new Case("{\"steps\":1e300}", "must be an integer"),
                new Case("{\"param\":\"top:17\"}", "at most the model's 16 experts, got top:17"))) {
            HttpResponse<String> bad = post("/v1/moe/generate", "{\"prompt\":\"a\",\"arm\":\"reroute\",\"settings\":" + c.settings() + "}");
            assertThat(bad.statusCode()).as(c.settings()).isEqualTo(400);
            assertThat(json(bad.body()).at("/error/param").asString()).isEqualTo("settings");
            assertThat(json(bad.body()).at("/error/message").asString()).as(c.settings()).contains(c.message());
        }
    }
}
