package dev.moeadapter.spring.ai;

import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.DefaultChatOptions;
import org.springframework.ai.chat.prompt.DefaultChatOptionsBuilder;

import java.util.List;
import java.util.Objects;

/** Spring AI chat options plus what this service adds: the adaptation arm and a sampling seed. */
public class MoeAdapterChatOptions extends DefaultChatOptions {
    private final String adaptation;
    private final Long seed;

    protected MoeAdapterChatOptions(String model, Double frequencyPenalty, Integer maxTokens, Double presencePenalty,
                                    List<String> stopSequences, Double temperature, Integer topK, Double topP,
                                    String adaptation, Long seed) {
        super(model, frequencyPenalty, maxTokens, presencePenalty, stopSequences, temperature, topK, topP);
        this.adaptation = adaptation;
        this.seed = seed;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The adaptation arm to run ("none", "scmoe", …); null = the service's default. */
    public String getAdaptation() {
        return adaptation;
    }

    public Long getSeed() {
        return seed;
    }

    @Override
    public Builder mutate() {
        Builder b = new Builder().model(getModel()).frequencyPenalty(getFrequencyPenalty()).maxTokens(getMaxTokens())
                .presencePenalty(getPresencePenalty()).stopSequences(getStopSequences()).temperature(getTemperature())
                .topK(getTopK()).topP(getTopP());
        return b.adaptation(adaptation).seed(seed);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MoeAdapterChatOptions that && super.equals(o)
                && Objects.equals(adaptation, that.adaptation) && Objects.equals(seed, that.seed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), adaptation, seed);
    }

    /** Builds {@link MoeAdapterChatOptions}; combining keeps our fields when the other builder has them. */
    public static class Builder extends DefaultChatOptionsBuilder<Builder> {
        private String adaptation;
        private Long seed;

        public Builder adaptation(String adaptation) {
            this.adaptation = adaptation;
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
                if (that.adaptation != null) {
                    this.adaptation = that.adaptation;
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
                    topK, topP, adaptation, seed);
        }
    }
}
