package dev.moeadapter.core.engine;

import dev.moeadapter.core.InvalidRequestException;

/** One message of a chat, formatted with the model's chat template. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        if (role == null || role.isBlank()) {
            throw new InvalidRequestException("chat message role must not be empty");
        }
        if (content == null) {
            throw new InvalidRequestException("chat message content must not be null");
        }
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
