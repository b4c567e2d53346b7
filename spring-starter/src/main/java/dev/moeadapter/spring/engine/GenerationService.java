package dev.moeadapter.spring.engine;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.spring.MoeAdapterProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.UUID;

/**
 * Turns a client's command into a generation: validates it against the limits, builds the
 * prompt (chat template for messages), leases a session, runs the chosen adaptation strategy.
 */
public final class GenerationService {
    private static final Logger LOG = LoggerFactory.getLogger(GenerationService.class);

    private final Model model;
    private final SessionPool pool;
    private final AdaptationRegistry strategies;
    private final MoeAdapterProperties props;

    public GenerationService(Model model, SessionPool pool, AdaptationRegistry strategies, MoeAdapterProperties props) {
        this.model = model;
        this.pool = pool;
        this.strategies = strategies;
        this.props = props;
    }

    public Model model() {
        return model;
    }

    public AdaptationRegistry strategies() {
        return strategies;
    }

    /** The name clients use for the served model: its file name without {@code .gguf} (never a path). */
    public String modelId() {
        String file = model.path().getFileName().toString();
        return file.endsWith(".gguf") ? file.substring(0, file.length() - ".gguf".length()) : file;
    }

    public GenerationOutcome generate(GenerationCommand c, TokenListener listener, CancellationToken cancel) {
        try (Prepared p = prepare(c)) {
            return p.run(listener, cancel);
        }
    }

    /**
     * Validates the command and leases a session, so that every refusal (bad input, no capacity)
     * happens before a response is committed; {@link Prepared#run} then generates.
     */
    public Prepared prepare(GenerationCommand c) {
        AdaptationStrategy strategy = strategies.get(c.adaptation());
        GenerationRequest request = toRequest(c);
        return new Prepared(strategy, request, pool.acquire(props.acquireTimeout()), System.nanoTime());
    }

    /** A validated request holding a session; closing returns the session. */
    public static final class Prepared implements AutoCloseable {
        private final AdaptationStrategy strategy;
        private final GenerationRequest request;
        private final SessionPool.Lease lease;
        private final long started;
        private final String id = "gen-" + UUID.randomUUID();

        private Prepared(AdaptationStrategy strategy, GenerationRequest request, SessionPool.Lease lease, long started) {
            this.strategy = strategy;
            this.request = request;
            this.lease = lease;
            this.started = started;
        }

        /** The request's id, known before generation so that streamed answers can carry it from the start. */
        public String id() {
            return id;
        }

        public GenerationOutcome run(TokenListener listener, CancellationToken cancel) {
            GenerationResult r = strategy.generate(lease.session(), request, listener, cancel);
            double totalMs = (System.nanoTime() - started) / 1e6;
            LOG.debug("{}: {} + {} tokens with '{}' in {} ms ({})", id, r.promptTokens(), r.generatedTokens(), strategy.name(),
                    Math.round(totalMs), r.finishReason());
            return new GenerationOutcome(id, r.text(), r.finishReason(), r.promptTokens(), r.generatedTokens(),
                    r.prefillNanos() / 1e6, r.decodeNanos() / 1e6, totalMs, strategy.name());
        }

        @Override
        public void close() {
            lease.close();
        }
    }

    GenerationRequest toRequest(GenerationCommand c) {
        boolean hasPrompt = c.prompt() != null;
        boolean hasMessages = c.messages() != null && !c.messages().isEmpty();
        if (hasPrompt == hasMessages) {
            throw new InvalidRequestException("give either 'prompt' or a non-empty 'messages', not both");
        }
        int[] tokens = hasPrompt
                ? model.tokenize(c.prompt(), true, false)
                : model.tokenize(model.applyChatTemplate(c.messages(), true), true, true);
        if (tokens.length == 0) {
            throw new InvalidRequestException("the prompt is empty");
        }
        if (tokens.length >= props.contextSize()) {
            throw new InvalidRequestException("the prompt has " + tokens.length + " tokens; the context holds " + props.contextSize());
        }
        var d = props.sampling();
        int maxTokens = c.maxTokens() == null ? Math.min(d.maxTokens(), props.limits().maxTokens()) : c.maxTokens();
        if (maxTokens < 1 || maxTokens > props.limits().maxTokens()) {
            throw new InvalidRequestException("max_tokens must be in 1.." + props.limits().maxTokens() + ", got " + maxTokens);
        }
        SamplingParams sampling = new SamplingParams(
                c.temperature() == null ? d.temperature() : c.temperature(),
                c.topK() == null ? d.topK() : c.topK(),
                c.topP() == null ? d.topP() : c.topP(),
                c.minP() == null ? d.minP() : c.minP(),
                c.seed() == null ? 0 : c.seed());
        return new GenerationRequest(tokens, maxTokens, sampling, c.stop(), false);
    }
}
