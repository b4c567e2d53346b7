package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.routing.RoutingPlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Builds a reference set: runs labelled prompts through the model greedily, keeps those it answers
 * correctly, and records for each its embedding, its pathway (router probabilities of the last
 * prompt token in every MoE layer, from the same plain pass), its prompt tokens and the first tokens
 * of its answer (the paper's recipe). {@link #optimisingFailures} also keeps the prompts it answers
 * wrongly but correctly under a pathway fitted to their gold answer ({@link ReferencePathwayOptimiser}),
 * with that pathway and that answer. Sequence 0 of the session answers; the optimiser uses the others.
 */
public final class ReferenceSetBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(ReferenceSetBuilder.class);
    /** Answer tokens a reference stores at most. */
    public static final int MAX_ANSWER_TOKENS = 64;
    private static final int ANSWER = 0;

    /**
     * A labelled prompt.
     *
     * @param stop      strings that end the answer
     * @param isCorrect judges the generated text
     * @param gold      the gold answer's text, which an optimised pathway is fitted to; null where only
     *                  {@code isCorrect} knows the answer (such a prompt is never optimised)
     */
    public record Example(String id, String prompt, int maxTokens, List<String> stop, Predicate<String> isCorrect, String gold) {
        public Example {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(prompt, "prompt");
            stop = List.copyOf(stop);
            Objects.requireNonNull(isCorrect, "isCorrect");
        }

        /** An example without a gold text: kept only when the base answers it correctly. */
        public Example(String id, String prompt, int maxTokens, List<String> stop, Predicate<String> isCorrect) {
            this(id, prompt, maxTokens, stop, isCorrect, null);
        }
    }

    /**
     * @param examined      prompts run
     * @param keptPlain     answered correctly, stored with their plain pathway
     * @param keptOptimised answered wrongly, stored with a pathway under which they are answered correctly
     */
    public record Outcome(int examined, int keptPlain, int keptOptimised, Path file) {
        /** References written. */
        public int kept() {
            return keptPlain + keptOptimised;
        }
    }

    /** A reference, and whether its pathway was optimised. */
    private record Kept(ReferenceItem item, boolean optimised) {
    }

    private final Model model;
    private final DecodeLane session;
    private final Embedder embedder;
    private final int answerTokens;
    private final int progressEvery;
    /** Null: the paper's recipe, failures are dropped. */
    private final ReferencePathwayOptimiser optimiser;

    /**
     * @param answerTokens  answer tokens stored per reference (the neighbour loss scores up to this many)
     * @param progressEvery log progress after this many prompts
     */
    public ReferenceSetBuilder(Model model, DecodeLane session, Embedder embedder, int answerTokens, int progressEvery) {
        this(model, session, embedder, answerTokens, progressEvery, null);
    }

    private ReferenceSetBuilder(Model model, DecodeLane session, Embedder embedder, int answerTokens, int progressEvery,
                                ReferencePathwayOptimiser.Settings optimise) {
        this.model = Objects.requireNonNull(model, "model");
        this.session = Objects.requireNonNull(session, "session");
        this.embedder = Objects.requireNonNull(embedder, "embedder");
        if (session.model() != model) {
            throw new InvalidRequestException("the session belongs to another model");
        }
        if (answerTokens < 1 || answerTokens > MAX_ANSWER_TOKENS) {
            throw new InvalidRequestException("answer tokens per reference must be 1.." + MAX_ANSWER_TOKENS + ", got " + answerTokens);
        }
        if (progressEvery < 1) {
            throw new InvalidRequestException("progress interval must be >= 1, got " + progressEvery);
        }
        C3poStrategy.REQUIREMENTS.require(model.info()); // a set for a model c3po cannot run on would be of no use
        this.answerTokens = answerTokens;
        this.progressEvery = progressEvery;
        this.optimiser = optimise == null ? null : new ReferencePathwayOptimiser(session, optimise);
    }

    /**
     * This builder, also keeping the prompts answered wrongly for which {@code settings}' optimisation
     * finds a pathway that makes the answer correct. Every example then needs its gold text.
     *
     * @throws InvalidRequestException when the session has too few sequences for the optimiser
     */
    public ReferenceSetBuilder optimisingFailures(ReferencePathwayOptimiser.Settings settings) {
        return new ReferenceSetBuilder(model, session, embedder, answerTokens, progressEvery, Objects.requireNonNull(settings, "settings"));
    }

    /** Runs every example and writes the ones kept to {@code out}. */
    public Outcome build(List<Example> examples, Path out) {
        examples.forEach(this::requireGold); // before hours of work, not after
        String sha = ModelFingerprint.sha256(model.path());
        List<ReferenceItem> items = new ArrayList<>();
        int optimised = 0;
        long started = System.nanoTime();
        for (int i = 0; i < examples.size(); i++) {
            Optional<Kept> kept = examine(examples.get(i));
            if (kept.isPresent()) {
                items.add(kept.get().item());
                optimised += kept.get().optimised() ? 1 : 0;
            }
            if ((i + 1) % progressEvery == 0 || i + 1 == examples.size()) {
                double elapsed = (System.nanoTime() - started) / 1e9;
                LOG.info("c3po reference set: {}/{} prompts, {} answered correctly{}, {} s/prompt, about {} s left", i + 1, examples.size(),
                        items.size() - optimised, optimiser == null ? "" : ", " + optimised + " by an optimised pathway",
                        String.format("%.2f", elapsed / (i + 1)), String.format("%.0f", elapsed / (i + 1) * (examples.size() - i - 1)));
            }
        }
        ReferenceSet.write(out, new ReferenceSet.Header(sha, embedder.id(), model.info().moeLayers(), model.info().experts()), items);
        LOG.info("c3po reference set {}: kept {} of {} prompts ({} answered correctly{})", out, items.size(), examples.size(),
                items.size() - optimised, optimiser == null ? "" : ", " + optimised + " by an optimised pathway");
        return new Outcome(examples.size(), items.size() - optimised, optimised, out);
    }

    /** The reference for one example, if the model answers it correctly (or, when optimising failures, can be made to). */
    public Optional<ReferenceItem> run(Example example) {
        requireGold(example);
        return examine(example).map(Kept::item);
    }

    private Optional<Kept> examine(Example example) {
        int[] prompt = model.tokenize(example.prompt());
        if (prompt.length == 0 || prompt.length >= session.contextSize()) {
            LOG.warn("c3po reference set: skipping '{}': its prompt has {} tokens (context {})", example.id(), prompt.length, session.contextSize());
            return Optional.empty();
        }
        PromptProbe.Result probe = PromptProbe.run(session, ANSWER, prompt, embedder.usesHiddenState(), CancellationToken.none());
        float[] pathway = probe.pathway();
        GenerationResult answer = answer(prompt, example, RoutingPlan.EMPTY);
        boolean wrong = !correct(example, answer);
        if (wrong) {
            if (optimiser == null) {
                return Optional.empty();
            }
            int[] gold = goldTokens(model, example, prompt, answerTokens);
            if (gold.length == 0) {
                LOG.warn("c3po reference set: not optimising '{}': its gold answer does not extend the prompt's tokens", example.id());
                return Optional.empty();
            }
            ReferencePathwayOptimiser.Result r = optimiser.optimise(prompt, pathway, gold, CancellationToken.none());
            answer = answer(prompt, example, optimiser.plan(r, prompt.length - 1));
            boolean fixed = correct(example, answer);
            LOG.debug("c3po reference set: '{}' answered wrongly; gold answer loss {} -> {} under the optimised pathway, {}", example.id(),
                    String.format("%.4f", r.baseLoss()), String.format("%.4f", r.loss()), fixed ? "now answered correctly" : "still wrong");
            if (!fixed) {
                return Optional.empty();
            }
            pathway = r.pathway();
        }
        float[] embedding = embedder.embed(embedder.usesHiddenState() ? "" : model.detokenize(prompt), probe.meanHiddenState());
        int[] tokens = answer.tokens();
        return Optional.of(new Kept(new ReferenceItem(example.id(), embedding, pathway, prompt,
                Arrays.copyOf(tokens, Math.min(answerTokens, tokens.length))), wrong));
    }

    /** The greedy answer from the prompt's prefix, held by the answering sequence, under {@code plan}. */
    private GenerationResult answer(int[] prompt, Example example, RoutingPlan plan) {
        session.removeTokens(ANSWER, prompt.length - 1, Integer.MAX_VALUE);
        session.setPlan(ANSWER, plan);
        try {
            return new Generator(session, new PrefixedDecoding(session, ANSWER)).generate(
                    new GenerationRequest(prompt, example.maxTokens(), SamplingParams.GREEDY, example.stop(), false));
        } finally {
            session.setPlan(ANSWER, RoutingPlan.EMPTY);
        }
    }

    /**
     * The first {@code cap} tokens of the gold text as it continues the prompt's tokens: a text
     * tokenized on its own may differ (SentencePiece prefixes it with a space token the model never
     * generates after the prompt). None where joining the two changes the prompt's own tokens.
     */
    static int[] goldTokens(Model model, Example example, int[] prompt, int cap) {
        int[] joined = model.tokenize(example.prompt() + example.gold());
        if (joined.length <= prompt.length || !Arrays.equals(prompt, Arrays.copyOf(joined, prompt.length))) {
            return new int[0];
        }
        return Arrays.copyOfRange(joined, prompt.length, Math.min(joined.length, prompt.length + cap));
    }

    private static boolean correct(Example example, GenerationResult answer) {
        return answer.generatedTokens() > 0 && example.isCorrect().test(answer.text());
    }

    private void requireGold(Example example) {
        if (optimiser != null && example.gold() == null) {
            throw new InvalidRequestException("optimising the pathways of wrongly answered prompts needs every example's gold answer; '"
                    + example.id() + "' has none");
        }
    }
}
