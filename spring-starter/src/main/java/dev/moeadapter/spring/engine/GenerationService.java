package dev.moeadapter.spring.engine;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.spring.MoeAdapterProperties;
import dev.moeadapter.spring.metrics.MoeMetrics;
import dev.moeadapter.spring.policy.Arm;
import dev.moeadapter.spring.policy.Assignment;
import dev.moeadapter.spring.policy.FeedbackLedger;
import dev.moeadapter.spring.policy.PolicyRouter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.UUID;

/**
 * Turns a client's command into a generation: assigns the policy's arm, validates the command
 * against the limits, builds the prompt (chat template for messages), takes a bulkhead permit and a
 * session, runs the arm's strategy under its guards, and records metrics and the answer for feedback.
 */
public final class GenerationService {
    private static final Logger LOG = LoggerFactory.getLogger(GenerationService.class);
    /** The engine's highest temperature (the OpenAI endpoints allow up to 2, as OpenAI does). */
    private static final double MAX_TEMPERATURE = 100;

    private final Model model;
    private final SessionPool pool;
    private final AdaptationRegistry strategies;
    private final PolicyRouter policies;
    private final Guards guards;
    private final MoeMetrics metrics;
    private final FeedbackLedger ledger;
    private final MoeAdapterProperties props;

    public GenerationService(Model model, SessionPool pool, AdaptationRegistry strategies, PolicyRouter policies, Guards guards,
                             MoeMetrics metrics, FeedbackLedger ledger, MoeAdapterProperties props) {
        this.model = model;
        this.pool = pool;
        this.strategies = strategies;
        this.policies = policies;
        this.guards = guards;
        this.metrics = metrics;
        this.ledger = ledger;
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
     * Assigns the arm, validates the command and takes a session, so that every refusal (bad input,
     * an override the policy forbids, no capacity) happens before a response is committed;
     * {@link Prepared#run} then generates.
     */
    public Prepared prepare(GenerationCommand c) {
        Assignment assignment = policies.assign(c.policy(), c.callerKey(), c.arm(), settings(c));
        checkFits(assignment.strategy());
        GenerationRequest request = toRequest(c);
        String operation = c.prompt() != null ? "text_completion" : "chat";
        long started = System.nanoTime();
        Guards.Permit permit = guards.enter();
        try {
            return new Prepared(assignment, request, operation, permit, pool.acquire(), started);
        } catch (RuntimeException e) {
            permit.close();
            throw e;
        }
    }

    private static StrategySettings settings(GenerationCommand c) {
        try {
            return StrategySettings.of(c.settings());
        } catch (InvalidRequestException e) {
            throw new BadParameterException("settings", e.getMessage());
        }
    }

    /** A request's own settings may ask for more than the sessions were sized for, or for what the model lacks. */
    private void checkFits(AdaptationStrategy strategy) {
        int needed = strategy.sequencesNeeded();
        if (needed > pool.sequences()) {
            throw new BadParameterException("settings", "adaptation '" + strategy.name() + "' with these settings needs " + needed
                    + " sequences per session; this service's sessions have " + pool.sequences()
                    + " (what its most demanding configured arm needs)");
        }
        try {
            strategy.validate(model.info());
        } catch (InvalidRequestException e) {
            throw new BadParameterException("settings", e.getMessage());
        }
    }

    /** A validated request holding a bulkhead permit and a session; closing returns both. */
    public final class Prepared implements AutoCloseable {
        private final Assignment assignment;
        private final GenerationRequest request;
        private final String operation;
        private final Guards.Permit permit;
        private final SessionPool.Lease lease;
        private final long started;
        private final String id = "gen-" + UUID.randomUUID();

        private Prepared(Assignment assignment, GenerationRequest request, String operation, Guards.Permit permit,
                         SessionPool.Lease lease, long started) {
            this.assignment = assignment;
            this.request = request;
            this.operation = operation;
            this.permit = permit;
            this.lease = lease;
            this.started = started;
        }

        /** The request's id, known before generation so that streamed answers can carry it from the start. */
        public String id() {
            return id;
        }

        public GenerationOutcome run(TokenListener listener, CancellationToken cancel) {
            Arm arm = assignment.arm();
            Guards.Answer answer = guards.run(arm, assignment.strategy(), lease.session(), request, listener, cancel);
            GenerationResult r = answer.result();
            long elapsed = System.nanoTime() - started;
            long firstToken = answer.firstTokenAt() == 0 ? -1 : answer.firstTokenAt() - started;
            String fallback = answer.fallback() == null ? null : answer.fallback().label();
            if (r.finishReason() != FinishReason.CANCELLED) {
                metrics.answered(operation, arm, r.promptTokens(), r.generatedTokens(), elapsed, firstToken, answer.adaptationNanos(),
                        answer.routing() == null ? null : answer.routing().mean(), fallback);
                ledger.remember(id, arm);
            }
            LOG.debug("{}: {} + {} tokens on {} ({} by {}{}) in {} ms ({})", id, r.promptTokens(), r.generatedTokens(), arm.key(),
                    answer.adaptation(), assignment.basis(), fallback == null ? "" : ", fallback " + fallback,
                    elapsed / 1_000_000, r.finishReason());
            return new GenerationOutcome(id, r.text(), r.finishReason(), answer.cut(), r.promptTokens(), r.generatedTokens(),
                    r.prefillNanos() / 1e6, r.decodeNanos() / 1e6, elapsed / 1e6, firstToken < 0 ? null : firstToken / 1e6,
                    assignment.policy().name(), arm.name(), answer.adaptation(), fallback, answer.routing());
        }

        @Override
        public void close() {
            lease.close();
            permit.close();
        }
    }

    GenerationRequest toRequest(GenerationCommand c) {
        boolean hasPrompt = c.prompt() != null;
        boolean hasMessages = c.messages() != null && !c.messages().isEmpty();
        if (hasPrompt == hasMessages) {
            throw new BadParameterException(hasPrompt ? "messages" : "prompt", "give either 'prompt' or a non-empty 'messages', not both");
        }
        String param = hasPrompt ? "prompt" : "messages";
        if (hasPrompt ? c.prompt().isBlank() : c.messages().stream().allMatch(m -> m.content().isBlank())) {
            throw new BadParameterException(param, "the prompt is empty");
        }
        int[] tokens = hasPrompt ? model.tokenize(c.prompt(), true, false) : ChatPrompt.tokenize(model, c.messages());
        if (tokens.length >= props.contextSize()) {
            throw new BadParameterException(param, BadParameterException.CONTEXT_LENGTH_EXCEEDED,
                    "the prompt has " + tokens.length + " tokens; the context holds " + props.contextSize());
        }
        var d = props.sampling();
        int maxTokens = c.maxTokens() == null ? Math.min(d.maxTokens(), props.limits().maxTokens()) : c.maxTokens();
        if (maxTokens < 1 || maxTokens > props.limits().maxTokens()) {
            throw new BadParameterException("max_tokens", "max_tokens must be in 1.." + props.limits().maxTokens() + ", got " + maxTokens);
        }
        SamplingParams sampling = sampling(c.temperature() == null ? d.temperature() : c.temperature(),
                c.topK() == null ? d.topK() : c.topK(), c.topP() == null ? d.topP() : c.topP(),
                c.minP() == null ? d.minP() : c.minP(), c.seed() == null ? 0 : c.seed());
        try {
            return new GenerationRequest(tokens, maxTokens, sampling, c.stop(), false);
        } catch (InvalidRequestException e) {
            throw new BadParameterException("stop", e.getMessage()); // the only field left unchecked here
        }
    }

    private static SamplingParams sampling(double temperature, int topK, double topP, double minP, long seed) {
        if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
            throw new BadParameterException("temperature", "temperature must be in [0, " + (int) MAX_TEMPERATURE + "], got " + temperature);
        }
        if (topK < 0) {
            throw new BadParameterException("top_k", "top_k must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new BadParameterException("top_p", "top_p must be in (0, 1], got " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new BadParameterException("min_p", "min_p must be in [0, 1], got " + minP);
        }
        return new SamplingParams(temperature, topK, topP, minP, seed);
    }
}
