package dev.moeadapter.it;

import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The service on a model without MoE layers (the random-weight dense fixture): it answers plainly,
 * and {@code /v1/moe/info} names the adaptations the model cannot run, with the reason a request
 * naming one gets.
 */
class DenseModelServiceTest extends RunningService {
    @DynamicPropertySource
    static void denseModel(DynamicPropertyRegistry r) {
        r.add("it.model", () -> TestModels.file(RandomModels.Spec.dense()).toString());
    }

    @Test
    void infoNamesWhatTheModelCannotRunAndRequestsGetTheSameReason() throws Exception {
        JsonNode refused = json(get("/v1/moe/info").body()).get("refused_by_model");
        assertThat(refused.has("none")).isFalse();
        for (String arm : new String[] {"scmoe", "rerouting"}) {
            assertThat(refused.get(arm).asString()).as(arm).contains("no MoE layers");
            HttpResponse<String> r = post("/v1/moe/generate", "{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"arm\":\"" + arm + "\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        }
        assertThat(post("/v1/moe/generate", "{\"prompt\":\"Once upon a time\",\"max_tokens\":4}").statusCode()).isEqualTo(200);
    }
}
