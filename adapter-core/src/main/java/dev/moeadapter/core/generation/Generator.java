package dev.moeadapter.core.generation;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.ContextFullException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.engine.DecodeLane;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;

/**
 * Autoregressive generation with stop strings, token limits, end-of-generation, streaming and
 * cancellation, over a {@link DecodingScheme} (plain decoding of one sequence by default).
 */
public final class Generator {
    private static final Logger LOG = LoggerFactory.getLogger(Generator.class);

    private final DecodeLane session;
    private final Model model;
    private final DecodingScheme scheme;

    /** Plain generation on {@code sequence}; its KV cache is reset first. */
    public Generator(DecodeLane session, int sequence) {
        this(session, new PlainDecoding(session, sequence));
    }

    public Generator(DecodeLane session, DecodingScheme scheme) {
        this.session = session;
        this.model = session.model();
        this.scheme = scheme;
    }

    public GenerationResult generate(GenerationRequest request) {
        return generate(request, TokenListener.NONE, CancellationToken.none());
    }

    public GenerationResult generate(GenerationRequest request, TokenListener listener, CancellationToken cancel) {
        int[] prompt = request.prompt();
        if (prompt.length >= session.sequenceContextSize()) {
            throw new InvalidRequestException("the prompt has " + prompt.length + " tokens; the context holds " + session.sequenceContextSize());
        }
        long t0 = System.nanoTime();
        try {
            scheme.prefill(prompt, cancel);
        } catch (CancelledException e) {
            return new GenerationResult("", new int[0], prompt.length, FinishReason.CANCELLED, System.nanoTime() - t0, 0);
        }
        long t1 = System.nanoTime();

        int[] out = new int[Math.min(request.maxTokens(), 1024)];
        int n = 0;
        StringBuilder text = new StringBuilder();
        int emitted = 0;
        int notified = 0; // tokens the listener has been told of
        Utf8Accumulator utf8 = new Utf8Accumulator();
        StopMatcher stops = new StopMatcher(request.stop());
        FinishReason reason = null;
        int pos = prompt.length;
        try (Sampler sampler = request.sampling().isGreedy() ? null : Sampler.create(model, request.sampling())) {
            while (reason == null) {
                if (cancel.isCancelled()) {
                    reason = FinishReason.CANCELLED;
                    break;
                }
                int token = scheme.next(sampler);
                session.release(); // the token is chosen: a shared lane may decode others' rows meanwhile
                if (!request.ignoreEos() && model.isEndOfGeneration(token)) {
                    reason = FinishReason.END_OF_GENERATION;
                    break;
                }
                if (n == out.length) {
                    out = Arrays.copyOf(out, Math.min(request.maxTokens(), out.length * 2));
                }
                out[n++] = token;
                int before = text.length();
                text.append(utf8.append(model.tokenBytes(token, false)));
                int stopAt = request.stop().isEmpty() ? -1 : stops.find(text, before);
                if (stopAt >= 0) {
                    text.setLength(stopAt);
                    reason = FinishReason.STOP_STRING;
                    break;
                }
                int safe = request.stop().isEmpty() ? text.length() : stops.safeLength(text);
                if (safe > emitted) {
                    listener.onTokens(Arrays.copyOfRange(out, notified, n), text.substring(emitted, safe));
                    notified = n;
                    emitted = safe;
                }
                if (n == request.maxTokens()) {
                    reason = FinishReason.MAX_TOKENS;
                    break;
                }
                try {
                    scheme.append(token, pos++, n + 1 == request.maxTokens());
                } catch (ContextFullException e) {
                    reason = FinishReason.CONTEXT_FULL;
                } catch (CancelledException e) {
                    reason = FinishReason.CANCELLED;
                }
            }
        }
        if (reason != FinishReason.STOP_STRING) {
            text.append(utf8.flush());
        }
        if (text.length() > emitted) {
            listener.onTokens(Arrays.copyOfRange(out, notified, n), text.substring(emitted));
        }
        long t2 = System.nanoTime();
        LOG.debug("generated {} tokens ({}) after a {}-token prompt", n, reason, prompt.length);
        return new GenerationResult(text.toString(), Arrays.copyOf(out, n), prompt.length, reason, t1 - t0, t2 - t1);
    }
}
