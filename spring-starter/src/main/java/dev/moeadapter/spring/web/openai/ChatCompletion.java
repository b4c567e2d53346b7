package dev.moeadapter.spring.web.openai;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.spring.web.GenerateResponse;

import java.util.List;

/** Answer of {@code POST /v1/chat/completions} (object {@code chat.completion}). */
public record ChatCompletion(String id, String object, long created, String model, List<Choice> choices,
                             GenerateResponse.Usage usage) {

    ChatCompletion(Stamp s, Message message, String finishReason, GenerateResponse.Usage usage) {
        this(s.id(), "chat.completion", s.created(), s.model(), List.of(new Choice(0, message, null, finishReason)), usage);
    }

    public record Choice(int index, Message message, Object logprobs, @JsonProperty("finish_reason") String finishReason) {
    }

    public record Message(String role, String content, String refusal) {
        static Message assistant(String content) {
            return new Message("assistant", content, null);
        }
    }
}
