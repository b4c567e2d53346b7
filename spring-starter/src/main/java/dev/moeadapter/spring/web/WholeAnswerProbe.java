package dev.moeadapter.spring.web;

/**
 * Which whole (not streamed) answers send their 200 with the first token and a space per token after
 * it, so that a client that left stops its generation within a token ({@link AsyncAnswers#whole}).
 * The OpenAI-compatible endpoints do not by default: OpenAI's clients time out on the headers and
 * take a 200 for an answer, so there a whole answer is written when it is done, as OpenAI's are, and a
 * client that left is found by the container's departure check, a read of its connection.
 */
public enum WholeAnswerProbe {
    /** The native endpoint probes; the OpenAI-compatible ones answer as OpenAI does. */
    NATIVE,
    /** Every endpoint probes. */
    ALL,
    /** No endpoint probes by writing; a client that left is found by reading its connection (HTTP/1.1). */
    NONE;

    boolean probes(boolean openAi) {
        return this == ALL || (this == NATIVE && !openAi);
    }
}
