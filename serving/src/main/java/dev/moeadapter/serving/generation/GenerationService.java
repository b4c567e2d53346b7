package dev.moeadapter.serving.generation;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.serving.AdaptationRegistry;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.admission.Admission;
import dev.moeadapter.serving.batching.DecodeLoop;
import dev.moeadapter.serving.feedback.FeedbackLedger;
import dev.moeadapter.serving.guard.ArmGuards;
import dev.moeadapter.serving.guard.FallbackReason;
import dev.moeadapter.serving.metrics.Answered;
import dev.moeadapter.serving.metrics.ServingMetrics;
import dev.moeadapter.serving.policy.Arm;
import dev.moeadapter.serving.policy.Assignment;
import dev.moeadapter.serving.policy.OverrideNotAllowedException;
import dev.moeadapter.serving.policy.PolicyRouter;
import dev.moeadapter.serving.routing.RoutedExperts;
import dev.moeadapter.serving.routing.RoutingRecorder;
import dev.moeadapter.serving.routing.RoutingTraceRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Turns a client's command into a generation: assigns the policy's arm, validates the command
 * against the limits, builds the prompt (chat template for messages), takes an admission permit and
 * a session, runs the arm's strategy under its guards, and records metrics and the answer for feedback.
 * Built with {@link #builder()}.
 */
public final class GenerationService {
    private static final Logger LOG = LoggerFactory.getLogger(GenerationService.class);
    /** The engine's highest temperature (the OpenAI endpoints allow up to 2, as OpenAI does). */
    private static final double MAX_TEMPERATURE = 100;

    private final Model model;
    private final SessionPool pool;
    private final AdaptationRegistry strategies;
    private final PolicyRouter policies;
    private final Admission admission;
    /**
     * Where some lanes or sessions are wide, the queue for them, which a request that needs one enters before the
     * lanes' own (else null).
     */
    private final Admission wideAdmission;
    private final ArmGuards guards;
    private final ServingMetrics metrics;
    private final FeedbackLedger ledger;
    private final GenerationLimits limits;
    /** Long prompts are tokenised on platform threads, a few at once (see {@link PlatformCall}). */
    private final PlatformCall tokenizing;

    private GenerationService(Builder b) {
        this.model = Objects.requireNonNull(b.model, "model");
        this.pool = Objects.requireNonNull(b.pool, "pool");
        this.strategies = Objects.requireNonNull(b.strategies, "strategies");
        this.policies = Objects.requireNonNull(b.policies, "policies");
        this.admission = Objects.requireNonNull(b.admission, "admission");
        this.wideAdmission = pool.limitsWideLanes() ? admission.withPermits(pool.wideLanes()) : null;
        this.guards = Objects.requireNonNull(b.guards, "guards");
        this.metrics = b.metrics;
        this.ledger = Objects.requireNonNull(b.ledger, "ledger");
        this.limits = Objects.requireNonNull(b.limits, "limits");
        this.tokenizing = new PlatformCall(Runtime.getRuntime().availableProcessors());
    }

    public static Builder builder() {
        return new Builder();
    }

    public Model model() {
        return model;
    }

    /** With continuous batching, the decode loop (for its steps and rows). */
    public Optional<DecodeLoop> decodeLoop() {
        return pool.loop();
    }

    /** What admission did so far: permits, requests in use and waiting, admitted, refused, time waited. */
    public Admission.Stats admissionStats() {
        return admission.stats();
    }

    /** Where some lanes or sessions are wide, what the queue for them did so far. */
    public Optional<Admission.Stats> wideAdmissionStats() {
        return Optional.ofNullable(wideAdmission).map(Admission::stats);
    }

    /** The sessions' capacity: requests at once, sequences, KV cells and threads. */
    public SessionPool.Capacity capacity() {
        return pool.capacity();
    }

    /** Sessions (or decode-loop lanes) that hold the sequences of the most demanding arm; the others hold two. */
    public int wideSessions() {
        return pool.wideLanes();
    }

    /** KV cells allocated for the sessions (or the decode loop), of all sequences and kept prompts. */
    public long kvCells() {
        return pool.kvCells();
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
        return prepare(c, c.callerKey(), () -> false);
    }

    /**
     * As {@link #prepare(GenerationCommand)}, waiting for capacity as {@code queueKey}: admission is
     * fair across queue keys (the caller, or for an unnamed one its address), not across requests. A
     * request whose client is gone ({@code departed}, asked while it waits) leaves the queue with
     * {@link dev.moeadapter.serving.admission.ClientDepartedException}.
     */
    public Prepared prepare(GenerationCommand c, String queueKey, BooleanSupplier departed) {
        Assignment assignment = policies.assign(c.policy(), c.callerKey(), c.arm(), settings(c));
        checkFits(assignment.strategy());
        Checked checked = check(c);
        GenerationRequest request = checked.request();
        RoutingRecorder recorder = recorder(c.routingTrace(), assignment, request);
        String operation = c.prompt() != null ? "text_completion" : "chat";
        long started = System.nanoTime();
        int needed = assignment.strategy().sequencesNeeded();
        // a wide lane first, so that a request waiting for one holds no lane meanwhile
        Admission.Permit wide = pool.needsWideLane(needed) ? wideAdmission.enter(queueKey, departed) : null;
        Admission.Permit permit = null;
        try {
            permit = admission.enter(queueKey, departed);
            SessionPool.Lease lease = pool.acquire(needed, departed, admission.maxWait(), () -> wideAdmission.refuseAdmitted(
                    "the wide session is busy; try again shortly"));
            lease.repeated(request.prompt(), checked.repeated());
            return new Prepared(assignment, request, checked.contextBound(), operation, wide, permit, lease, started, recorder);
        } catch (RuntimeException e) {
            if (permit != null) {
                permit.close();
            }
            if (wide != null) {
                wide.close();
            }
            throw e;
        }
    }

    /**
     * Checks a routing trace request against the model, the policy and the size limit (with long
     * arithmetic, before anything is allocated), and makes its recorder. The trace has at most one
     * row per prompt token and generated token.
     */
    private RoutingRecorder recorder(RoutingTraceRequest trace, Assignment assignment, GenerationRequest request) {
        ModelInfo info = model.info();
        if (trace == null) {
            return RoutingRecorder.none(info);
        }
        if (!info.isMoe()) {
            throw new BadParameterException("routing_trace", "model '" + info.architecture() + "' has no MoE layers to trace");
        }
        List<Integer> layers = trace.probabilityLayers();
        if (layers.size() > info.moeLayers().size() || layers.stream().distinct().count() != layers.size()
                || !info.moeLayers().containsAll(layers)) {
            throw new BadParameterException("routing_trace.probabilities", "probabilities names distinct MoE layers of the model: "
                    + info.moeLayers());
        }
        for (int layer : layers) {
            if (!info.routing(layer).hasRouter()) {
                throw new BadParameterException("routing_trace.probabilities", "MoE layer " + layer
                        + " is hash-routed (its experts come from the token id): it has no router probabilities");
            }
        }
        if (!assignment.policy().allowOverride() && !assignment.arm().routingTrace().allows(trace.level())) {
            throw new OverrideNotAllowedException("routing_trace", "policy '" + assignment.policy().name()
                    + "' does not let a request read " + (layers.isEmpty() ? "its routing" : "router probabilities"));
        }
        long rows = (long) request.prompt().length + request.maxTokens();
        long bytes = RoutingRecorder.bytes(info, trace, rows);
        if (bytes > limits.maxRoutingTraceBytes()) {
            throw new BadParameterException("routing_trace", "the routing trace of " + rows + " tokens would take up to " + bytes
                    + " bytes; this service returns at most " + limits.maxRoutingTraceBytes()
                    + " (ask for fewer tokens or fewer probability layers)");
        }
        return RoutingRecorder.of(info, trace, (int) rows);
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

    /** A validated request holding an admission permit and a session; closing returns both. */
    public final class Prepared implements AutoCloseable {
        private final Assignment assignment;
        private final GenerationRequest request;
        private final boolean contextBound;
        private final String operation;
        private final Admission.Permit widePermit, permit;
        private final SessionPool.Lease lease;
        private final long started;
        private final RoutingRecorder recorder;
        private final String id = "gen-" + UUID.randomUUID();

        private Prepared(Assignment assignment, GenerationRequest request, boolean contextBound, String operation, Admission.Permit widePermit,
                         Admission.Permit permit, SessionPool.Lease lease, long started, RoutingRecorder recorder) {
            this.assignment = assignment;
            this.request = request;
            this.contextBound = contextBound;
            this.operation = operation;
            this.widePermit = widePermit;
            this.permit = permit;
            this.lease = lease;
            this.started = started;
            this.recorder = recorder;
        }

        /**
         * For a streamed answer, from within the listener: the routing rows that produced the text
         * sent so far and were not taken yet (after {@link #run} returns: the rest), or null if none
         * (or no routing trace was asked for).
         */
        public RoutedExperts takeRouting() {
            return recorder.take();
        }

        /** The request's id, known before generation so that streamed answers can carry it from the start. */
        public String id() {
            return id;
        }

        public GenerationOutcome run(TokenListener listener, CancellationToken cancel) {
            Arm arm = assignment.arm();
            ArmGuards.Answer answer = guards.run(arm, assignment.strategy(), assignment.asConfigured(), lease.lane(), request, listener, cancel,
                    recorder);
            GenerationResult r = answer.result();
            FinishReason finish = contextBound && r.finishReason() == FinishReason.MAX_TOKENS ? FinishReason.CONTEXT_FULL : r.finishReason();
            long elapsed = System.nanoTime() - started;
            long firstToken = answer.firstTokenAt() == 0 ? -1 : answer.firstTokenAt() - started;
            FallbackReason fallback = answer.fallback();
            if (r.finishReason() != FinishReason.CANCELLED) {
                metrics.answered(new Answered(operation, arm, r.promptTokens(), r.generatedTokens(), elapsed, firstToken,
                        answer.adaptationNanos(), answer.routing() == null ? null : answer.routing().mean(), fallback));
                ledger.remember(id, arm, answer.adaptation(), fallback);
            }
            LOG.debug("{}: {} + {} tokens on {} ({} by {}{}) in {} ms ({})", id, r.promptTokens(), r.generatedTokens(), arm.key(),
                    answer.adaptation(), assignment.basis(), fallback == null ? "" : ", fallback " + fallback.label(),
                    elapsed / 1_000_000, finish);
            // an answer whose time ran out (moe.adapter.stream-timeout) ends where it is, as one whose time budget did
            boolean cut = answer.cut() || r.finishReason() == FinishReason.CANCELLED && cancel.isExpired();
            return new GenerationOutcome(id, r.text(), finish, cut, r.promptTokens(), r.generatedTokens(),
                    r.prefillNanos() / 1e6, r.decodeNanos() / 1e6, elapsed / 1e6, firstToken < 0 ? null : firstToken / 1e6,
                    assignment.policy().name(), arm.name(), answer.adaptation(), fallback, answer.routing(), recorder.all());
        }

        @Override
        public void close() {
            lease.close();
            permit.close();
            if (widePermit != null) {
                widePermit.close();
            }
        }
    }

    /**
     * A command checked and tokenised, how many of its prompt tokens later requests are likely to
     * repeat (a chat's tokens before its last message's text: a shared system prompt, a conversation's
     * earlier turns; none for a plain prompt), and whether the context, not max_tokens, bounds the answer.
     */
    private record Checked(GenerationRequest request, int repeated, boolean contextBound) {
    }

    private Checked check(GenerationCommand c) {
        boolean hasPrompt = c.prompt() != null;
        boolean hasMessages = c.messages() != null && !c.messages().isEmpty();
        if (hasPrompt && c.messages() != null) { // messages beside a prompt, even empty: which was meant?
            throw new BadParameterException("messages", "give either 'prompt' or a non-empty 'messages', not both");
        }
        if (!hasPrompt && !hasMessages) {
            boolean emptyMessages = c.messages() != null;
            throw new BadParameterException(emptyMessages ? "messages" : "prompt", "give either 'prompt' or a non-empty 'messages'"
                    + (emptyMessages ? ": 'messages' is empty" : ": neither was given"));
        }
        String param = hasPrompt ? "prompt" : "messages";
        // a JSON escape may spell half a character (a lone surrogate), which UTF-8 cannot hold: the tokenizer would read '?'
        if (hasPrompt) {
            requireWellFormed(c.prompt(), "prompt");
        } else {
            for (int i = 0; i < c.messages().size(); i++) {
                requireWellFormed(c.messages().get(i).content(), "messages[" + i + "].content");
            }
        }
        if (c.stop() != null) {
            for (String stop : c.stop()) {
                requireWellFormed(stop, "stop");
            }
        }
        if (hasPrompt ? c.prompt().isBlank() : c.messages().stream().allMatch(m -> m.content().isBlank())) {
            throw new BadParameterException(param, "the prompt is empty");
        }
        long bytes = hasPrompt ? utf8Length(c.prompt()) : c.messages().stream().mapToLong(m -> utf8Length(m.content())).sum();
        // a token stands for at most longestTokenBytes() bytes: a text that many contexts long is refused untokenised
        if (bytes >= limits.contextSize() && bytes / model.longestTokenBytes() >= limits.contextSize()) {
            throw new BadParameterException(param, BadParameterException.CONTEXT_LENGTH_EXCEEDED,
                    "the prompt has at least " + bytes / model.longestTokenBytes() + " tokens; the context holds " + limits.contextSize());
        }
        Supplier<ChatPrompt.Tokens> tokenize = () -> hasPrompt ? new ChatPrompt.Tokens(model.tokenize(c.prompt(), true, false), 0)
                : ChatPrompt.tokenize(model, c.messages());
        ChatPrompt.Tokens prompt = bytes < LONG_TEXT_BYTES ? tokenize.get() : tokenizing.run(tokenize);
        int[] tokens = prompt.tokens();
        if (tokens.length >= limits.contextSize()) {
            throw new BadParameterException(param, BadParameterException.CONTEXT_LENGTH_EXCEEDED,
                    "the prompt has " + tokens.length + " tokens; the context holds " + limits.contextSize());
        }
        var d = limits.defaults();
        int maxTokens = c.maxTokens() == null ? Math.min(d.maxTokens(), limits.maxTokens()) : c.maxTokens();
        if (maxTokens < 1 || maxTokens > limits.maxTokens()) {
            throw new BadParameterException("max_tokens", "max_tokens must be in 1.." + limits.maxTokens() + ", got " + maxTokens);
        }
        SamplingParams sampling = sampling(c.temperature() == null ? d.temperature() : c.temperature(),
                c.topK() == null ? d.topK() : c.topK(), c.topP() == null ? d.topP() : c.topP(),
                c.minP() == null ? d.minP() : c.minP(), c.seed() == null ? unseeded() : c.seed());
        // the context holds the prompt and the answer: an answer that would outgrow it ends there, as a full context
        int room = limits.contextSize() - tokens.length;
        try {
            return new Checked(new GenerationRequest(tokens, Math.min(maxTokens, room), sampling, c.stop(), false), prompt.beforeLast(),
                    maxTokens > room);
        } catch (InvalidRequestException e) {
            throw new BadParameterException("stop", e.getMessage()); // the only field left unchecked here
        }
    }

    /** A request that names no seed samples differently each time, as OpenAI's do (a fixed default made every one alike). */
    private static long unseeded() {
        return java.util.concurrent.ThreadLocalRandom.current().nextLong();
    }

    /** Texts from this size on are tokenised off the caller's thread (milliseconds of native work; below it, microseconds). */
    static final int LONG_TEXT_BYTES = 16 * 1024;

    /** Bytes of {@code text} in UTF-8 (well-formed: checked before). */
    static long utf8Length(String text) {
        long n = 0;
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            n += ch < 0x80 ? 1 : ch < 0x800 ? 2 : Character.isSurrogate(ch) ? 2 : 3; // a surrogate pair: 4 in all
        }
        return n;
    }

    /** Refuses text holding a UTF-16 surrogate without its pair (not a character: not valid Unicode). */
    public static void requireWellFormed(String text, String param) {
        if (text == null) {
            return;
        }
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (Character.isHighSurrogate(ch) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(ch)) {
                throw new BadParameterException(param, String.format("%s holds an unpaired UTF-16 surrogate (\\u%04x) at index %d: not valid Unicode text",
                        param, (int) ch, i));
            }
        }
    }

    /** More candidates than any vocabulary has is a mistake, not a setting. */
    static final int MAX_TOP_K = 1 << 20;

    private static SamplingParams sampling(double temperature, int topK, double topP, double minP, long seed) {
        if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
            throw new BadParameterException("temperature", "temperature must be in [0, " + (int) MAX_TEMPERATURE + "], got " + temperature);
        }
        if (topK < 0 || topK > MAX_TOP_K) {
            throw new BadParameterException("top_k", "top_k must be in 0.." + MAX_TOP_K + " (0 = off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new BadParameterException("top_p", "top_p must be in (0, 1], got " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new BadParameterException("min_p", "min_p must be in [0, 1], got " + minP);
        }
        return new SamplingParams(temperature, topK, topP, minP, seed);
    }

    /** The parts of a service; all but metrics are required. */
    public static final class Builder {
        private Model model;
        private SessionPool pool;
        private AdaptationRegistry strategies;
        private PolicyRouter policies;
        private Admission admission;
        private ArmGuards guards;
        private ServingMetrics metrics = ServingMetrics.NONE;
        private FeedbackLedger ledger;
        private GenerationLimits limits;

        private Builder() {
        }

        public Builder model(Model model) {
            this.model = model;
            return this;
        }

        public Builder pool(SessionPool pool) {
            this.pool = pool;
            return this;
        }

        public Builder strategies(AdaptationRegistry strategies) {
            this.strategies = strategies;
            return this;
        }

        public Builder policies(PolicyRouter policies) {
            this.policies = policies;
            return this;
        }

        public Builder admission(Admission admission) {
            this.admission = admission;
            return this;
        }

        public Builder guards(ArmGuards guards) {
            this.guards = guards;
            return this;
        }

        public Builder metrics(ServingMetrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        public Builder ledger(FeedbackLedger ledger) {
            this.ledger = ledger;
            return this;
        }

        public Builder limits(GenerationLimits limits) {
            this.limits = limits;
            return this;
        }

        public GenerationService build() {
            return new GenerationService(this);
        }
    }
}
