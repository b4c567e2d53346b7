package dev.moeadapter.spring.ai;

import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.DefaultChatOptions;
import org.springframework.ai.chat.prompt.DefaultChatOptionsBuilder;

import java.util.List;
import java.util.Objects;

/**
 * Spring AI chat options plus what this service adds: the A/B policy, the arm (where the policy
 * allows a request to name it) and a sampling seed.
 */
public class MoeAdapterChatOptions extends DefaultChatOptions {
    private final String policy;
    private final String arm;
    private final Long seed;

    protected MoeAdapterChatOptions(String model, Double frequencyPenalty, Integer maxTokens, Double presencePenalty,
                                    List<String> stopSequences, Double temperature, Integer topK, Double topP,
                                    String policy, String arm, Long seed) {
        super(model, frequencyPenalty, maxTokens, presencePenalty, stopSequences, temperature, topK, topP);
        this.policy = policy;
        this.arm = arm;
        this.seed = seed;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The policy; null = the configured default one. */
    public String getPolicy() {
        return policy;
    }

    /** The arm to run ("none", "scmoe", … under the default policy); null = the policy assigns it. */
    public String getArm() {
        return arm;
    }

    public Long getSeed() {
        return seed;
    }

    @Override
    public Builder mutate() {
        Builder b = new Builder().model(getModel()).frequencyPenalty(getFrequencyPenalty()).maxTokens(getMaxTokens())
                .presencePenalty(getPresencePenalty()).stopSequences(getStopSequences()).temperature(getTemperature())
                .topK(getTopK()).topP(getTopP());
        return b.policy(policy).arm(arm).seed(seed);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MoeAdapterChatOptions that && super.equals(o)
                && Objects.equals(policy, that.policy)
                && Objects.equals(arm, that.arm) && Objects.equals(seed, that.seed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), policy, arm, seed);
    }

    /** Builds {@link MoeAdapterChatOptions}; combining keeps our fields when the other builder has them. */
    public static class Builder extends DefaultChatOptionsBuilder<Builder> {
        private String policy;
        private String arm;
        private Long seed;

        public Builder policy(String policy) {
            this.policy = policy;
            return this;
        }

        public Builder arm(String arm) {
            this.arm = arm;
            return this;
        }

        public Builder seed(Long seed) {
            this.seed = seed;
            return this;
        }

        @Override
        public Builder combineWith(ChatOptions.Builder<?> other) {
            super.combineWith(other);
            if (other instanceof Builder that) {
                if (that.policy != null) {
                    this.policy = that.policy;
                }
                if (that.arm != null) {
                    this.arm = that.arm;
                }
                if (that.seed != null) {
                    this.seed = that.seed;
                }
            }
            return this;
        }

        @Override
        public MoeAdapterChatOptions build() {
            return new MoeAdapterChatOptions(model, frequencyPenalty, maxTokens, presencePenalty, stopSequences, temperature,
                    topK, topP, policy, arm, seed);
        }
    }
}
