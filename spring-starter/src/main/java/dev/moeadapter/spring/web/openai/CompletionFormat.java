package dev.moeadapter.spring.web.openai;

import dev.moeadapter.serving.generation.GenerationOutcome;
import dev.moeadapter.spring.web.GenerateResponse;
import dev.moeadapter.spring.web.RoutingTrace;

/** How each of the two OpenAI completion endpoints words a whole answer and the chunks of a streamed one. */
enum CompletionFormat {
    CHAT {
        @Override
        Object whole(Stamp s, GenerationOutcome o) {
            return new ChatCompletion(s, ChatCompletion.Message.assistant(o.text()), FinishReasons.of(o), usage(o),
                    RoutingTrace.of(o.routedExperts()));
        }

        @Override
        Object opening(Stamp s) {
            return new ChatCompletionChunk(s, new ChatCompletionChunk.Delta("assistant", ""), null, null);
        }

        @Override
        Object delta(Stamp s, String text, RoutingTrace routing) {
            return new ChatCompletionChunk(s, new ChatCompletionChunk.Delta(null, text), null, routing);
        }

        @Override
        Object finish(Stamp s, String finishReason, RoutingTrace routing) {
            return new ChatCompletionChunk(s, new ChatCompletionChunk.Delta(null, null), finishReason, routing);
        }

        @Override
        Object usageChunk(Stamp s, GenerateResponse.Usage usage) {
            return new ChatCompletionChunk(s, usage);
        }
    },
    TEXT {
        @Override
        Object whole(Stamp s, GenerationOutcome o) {
            return new TextCompletion(s, o.text(), FinishReasons.of(o), usage(o), RoutingTrace.of(o.routedExperts()));
        }

        @Override
        Object opening(Stamp s) {
            return null;
        }

        @Override
        Object delta(Stamp s, String text, RoutingTrace routing) {
            return new TextCompletion(s, text, null, null, routing);
        }

        @Override
        Object finish(Stamp s, String finishReason, RoutingTrace routing) {
            return new TextCompletion(s, "", finishReason, null, routing);
        }

        @Override
        Object usageChunk(Stamp s, GenerateResponse.Usage usage) {
            return new TextCompletion(s, usage);
        }
    };

    abstract Object whole(Stamp s, GenerationOutcome o);

    /** The first chunk, before any text, or null. */
    abstract Object opening(Stamp s);

    /** A piece of text, with the routing rows that produced it (or null). */
    abstract Object delta(Stamp s, String text, RoutingTrace routing);

    /** The last chunk, with the routing rows not sent yet (or null). */
    abstract Object finish(Stamp s, String finishReason, RoutingTrace routing);

    abstract Object usageChunk(Stamp s, GenerateResponse.Usage usage);

    static GenerateResponse.Usage usage(GenerationOutcome o) {
        return new GenerateResponse.Usage(o.promptTokens(), o.completionTokens(), o.promptTokens() + o.completionTokens());
    }
}
