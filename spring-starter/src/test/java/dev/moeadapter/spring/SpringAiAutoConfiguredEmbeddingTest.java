package dev.moeadapter.spring;

import com.sun.net.httpserver.HttpServer;
import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.spring.ai.SpringAiEmbedder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.model.openai.autoconfigure.OpenAiEmbeddingAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An EmbeddingModel made by Spring AI's own auto-configuration — the real OpenAI embedding client,
 * against a local stub of OpenAI's embeddings endpoint — becomes C3PO's embedder, although that
 * auto-configuration is ordered after the starter's.
 */
class SpringAiAutoConfiguredEmbeddingTest {
    private static final JsonMapper JSON = JsonMapper.shared();

    private HttpServer stub;
    private final AtomicInteger embedded = new AtomicInteger();

    /** OpenAI's {@code POST /v1/embeddings}, answering each input with its bigram embedding (as floats or base64). */
    @BeforeEach
    void startStub() throws IOException {
        stub = HttpServer.create(new InetSocketAddress("localhost", 0), 0);
        stub.createContext("/", exchange -> {
            JsonNode request = JSON.readTree(exchange.getRequestBody().readAllBytes());
            List<String> inputs = new ArrayList<>();
            JsonNode input = request.get("input");
            if (input.isArray()) {
                input.forEach(i -> inputs.add(i.asString()));
            } else {
                inputs.add(input.asString());
            }
            boolean base64 = "base64".equals(request.path("encoding_format").asString(""));
            List<Map<String, Object>> data = new ArrayList<>();
            for (String text : inputs) {
                embedded.incrementAndGet();
                float[] v = new SpringAiEmbedderTest.BigramEmbeddingModel().embed(text);
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("object", "embedding");
                item.put("index", data.size());
                item.put("embedding", base64 ? encode(v) : v);
                data.add(item);
            }
            byte[] body = JSON.writeValueAsBytes(Map.of("object", "list", "data", data, "model", "stub-embedding",
                    "usage", Map.of("prompt_tokens", 1, "total_tokens", 1)));
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        stub.start();
    }

    @AfterEach
    void stopStub() {
        stub.stop(0);
    }

    private static String encode(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return Base64.getEncoder().encodeToString(b.array());
    }

    @Test
    void c3poUsesTheEmbeddingModelSpringAiConfigured() {
        String refs = ReferenceSets.build(TestModels.olmoe(), ReferenceSets.PROMPTS,
                new SpringAiEmbedder(new SpringAiEmbedderTest.BigramEmbeddingModel(), "stub-embedding")).toString();
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(MoeAdapterSpringAiEmbeddingAutoConfiguration.class,
                        MoeAdapterAutoConfiguration.class, OpenAiEmbeddingAutoConfiguration.class))
                .withPropertyValues("moe.adapter.model=" + TestModels.file(RandomModels.Spec.olmoe()), "moe.adapter.threads=1",
                        "moe.adapter.context-size=128", "moe.adapter.batch-size=32", "moe.adapter.sessions=1",
                        "moe.adapter.c3po.algorithm=kr", "moe.adapter.c3po.embedding-model-name=stub-embedding",
                        "moe.adapter.c3po.reference-set=" + refs,
                        "spring.ai.openai.api-key=test-key", "spring.ai.openai.base-url=http://localhost:" + stub.getAddress().getPort() + "/v1",
                        "spring.ai.openai.embedding.options.model=stub-embedding")
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed();
                    Embedder embedder = ctx.getBean(Embedder.class);
                    assertThat(embedder).isInstanceOf(SpringAiEmbedder.class);
                    assertThat(embedder.id()).isEqualTo("spring-ai:stub-embedding");
                    assertThat(embedder.embed("Once upon a time", null))
                            .containsExactly(new SpringAiEmbedderTest.BigramEmbeddingModel().embed("Once upon a time"));
                    assertThat(embedded.get()).as("the embedding went through Spring AI's OpenAI client to the stub").isPositive();
                    assertThat(ctx.getBean(dev.moeadapter.serving.AdaptationRegistry.class).get("c3po")).isInstanceOf(C3poStrategy.class);
                });
    }
}
