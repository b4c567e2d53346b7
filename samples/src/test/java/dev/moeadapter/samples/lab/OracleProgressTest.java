package dev.moeadapter.samples.lab;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

class OracleProgressTest {

    @Test
    void anItemIsReachedByTheBaseOrAnEarlierAttempt() {
        OracleProgress p = JsonMapper.builder().build().readValue("""
                {"model": "m.gguf", "modelSha256": "ab12", "split": "dev", "steps": 60, "lr": 0.3,
                 "base": {"a": true, "b": false, "c": false, "d": false},
                 "attempts": {"0": {"b": false, "c": true, "d": false}, "1": {"b": true, "d": false}}}
                """, OracleProgress.class);
        assertThat(p.reached("a", 0)).isTrue();
        assertThat(p.reached("c", 0)).isFalse();
        assertThat(p.reached("c", 1)).isTrue();
        assertThat(p.reached("b", 1)).isFalse();
        assertThat(p.reached("b")).isTrue();
        assertThat(p.reached("d")).isFalse();
        assertThat(p.of("ab12")).isTrue();
        assertThat(p.of("cd34")).as("a retrained model of the same name is another model").isFalse();
    }
}
