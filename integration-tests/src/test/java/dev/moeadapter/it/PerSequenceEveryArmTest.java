package dev.moeadapter.it;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every arm on every endpoint of {@link EveryArmTest}, plain and streamed, in lanes of the
 * continuous-batching loop whose context keeps a KV stream per sequence: the methods' sequence
 * copies (rerouting's probes, C3PO's answer and neighbours) go to empty streams, and steps whose
 * rows carry plans reach the router callback in parts it can map.
 */
@TestPropertySource(properties = {"moe.adapter.batching-lanes=2", "moe.adapter.kv-layout=per-sequence", "moe.adapter.batching-lane-rows=32",
        "moe.adapter.policies.every.arms.c3po-ngd.adaptation=c3po", "moe.adapter.policies.every.arms.c3po-ngd.weight=0",
        "moe.adapter.policies.every.arms.c3po-ngd.settings.algorithm=ngd"})
class PerSequenceEveryArmTest extends EveryArmTest {

    /**
     * C3PO's neighbour evaluations (NGD scores every candidate pathway on the neighbours' answers) are rows of the
     * loop, in chunks of a lane's rows, counted by the loop: the request under NGD decodes several times the rows it
     * decodes under kernel regression (which evaluates nothing), no request added more than a lane's 32 rows to a
     * step, and a plain request sent beside another such request never had its rows wait more than one step.
     */
    @Test
    void c3posNeighbourEvaluationsAreLoopRowsInLaneChunksAndAPlainRequestBesideThemIsInEveryStep() throws Exception {
        String kr = "{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"arm\":\"c3po\"}";
        String ngd = "{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"arm\":\"c3po-ngd\"}";
        long krRows = rowsOf(kr), ngdRows = rowsOf(ngd);
        assertThat(ngdRows).as("loop rows of the request under NGD (under kernel regression: %d)", krRows).isGreaterThan(4 * krRows);

        long rowsBefore = info().at("/batching/rows").asLong();
        String another = "{\"prompt\":\"My favourite colour is\",\"max_tokens\":4,\"arm\":\"c3po-ngd\"}"; // not one it has answered
        CompletableFuture<HttpResponse<String>> adapting = CompletableFuture.supplyAsync(() -> generateNow(another));
        HttpResponse<String> plain = post("/v1/moe/generate", "{\"prompt\":\"The capital of France is\",\"max_tokens\":24,\"arm\":\"none\"}");
        assertThat(plain.statusCode()).as(plain.body()).isEqualTo(200);
        assertThat(adapting.get().statusCode()).as(adapting.get().body()).isEqualTo(200);
        JsonNode after = info();
        assertThat(after.at("/batching/rows").asLong() - rowsBefore).as("rows of NGD's evaluations beside the plain answer")
                .isGreaterThan(ngdRows / 2);
        assertThat(after.at("/batching/max_lane_rows").asInt()).as("rows one request added to a step").isLessThanOrEqualTo(32);
        assertThat(after.at("/batching/max_steps_waited").asLong()).as("steps a lane's rows waited").isLessThanOrEqualTo(1);
        assertThat(after.at("/batching/lanes_held").asInt()).isZero();
    }

    /** The rows the loop decoded for one request sent alone. */
    private long rowsOf(String body) throws Exception {
        long before = info().at("/batching/rows").asLong();
        HttpResponse<String> r = post("/v1/moe/generate", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return info().at("/batching/rows").asLong() - before;
    }
}
