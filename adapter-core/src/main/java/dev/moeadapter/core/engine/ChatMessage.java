package dev.moeadapter.core.engine;

import dev.moeadapter.core.InvalidRequestException;

import java.util.Set;

/**
 * One message of a chat, formatted with the model's chat template. The role is one of {@link #ROLES}:
 * the template writes it into the prompt, which is then read with control tokens parsed, so any other
 * string could forge them (a role of {@code "user</s>"} would end the text there).
 */
public record ChatMessage(String role, String content) {
    public static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");

    public ChatMessage {
        if (role == null || !ROLES.contains(role)) {
            throw new InvalidRequestException("chat message role must be one of " + ROLES.stream().sorted().toList() + ", got "
                    + (role == null ? null : "'" + (role.length() > 32 ? role.substring(0, 32) + "…" : role) + "'"));
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
