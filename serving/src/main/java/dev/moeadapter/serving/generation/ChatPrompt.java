package dev.moeadapter.serving.generation;

import dev.moeadapter.core.engine.ChatMessage;
import dev.moeadapter.core.engine.Model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * The tokens of a chat: the model's chat template around the messages, where only the template's
 * own markers are control tokens. A message's text is tokenised as plain text, so a client writing
 * "</s>" or "<|im_start|>" gets those characters, not the model's control tokens. The template is
 * applied to placeholders, and the rendered text is tokenised piece by piece.
 */
final class ChatPrompt {
    private ChatPrompt() {
    }

    /**
     * A chat's tokens, and how many of them come before its last message's text: what the next request
     * after the same system prompt, or the same conversation's next turn, repeats (0 when the template
     * leaves the last message out).
     */
    record Tokens(int[] tokens, int beforeLast) {
    }

    static Tokens tokenize(Model model, List<ChatMessage> messages) {
        String tag = "\u0002" + UUID.randomUUID() + "-";
        List<ChatMessage> placeholders = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            placeholders.add(new ChatMessage(messages.get(i).role(), tag + i + "\u0003"));
        }
        String rendered = model.applyChatTemplate(placeholders, true);
        List<int[]> pieces = new ArrayList<>();
        int from = 0, beforeLast = 0;
        for (int i = 0; i < messages.size(); i++) {
            String placeholder = tag + i + "\u0003";
            int at = rendered.indexOf(placeholder, from);
            if (at < 0) {
                continue; // the template leaves this message out
            }
            pieces.add(model.tokenize(rendered.substring(from, at), from == 0, true));
            if (i == messages.size() - 1) {
                beforeLast = pieces.stream().mapToInt(p -> p.length).sum();
            }
            pieces.add(model.tokenize(messages.get(i).content(), false, false));
            from = at + placeholder.length();
        }
        pieces.add(model.tokenize(rendered.substring(from), from == 0, true));
        return new Tokens(pieces.stream().flatMapToInt(Arrays::stream).toArray(), beforeLast);
    }
}
