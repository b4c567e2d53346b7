package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.SamplingParams;
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
 * of its answer. Uses sequence 0 of the session.
 */
public final class ReferenceSetBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(ReferenceSetBuilder.class);

    /**
     * A labelled prompt.
     *
     * @param stop      strings that end the answer
     * @param isCorrect judges the generated text
     */
    public record Example(String id, String prompt, int maxTokens, List<String> stop, Predicate<String> isCorrect) {
        public Example {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(prompt, "prompt");
            stop = List.copyOf(stop);
            Objects.requireNonNull(isCorrect, "isCorrect");
        }
    }

    /** @param examined prompts run; @param kept answered correctly and stored */
    public record Outcome(int examined, int kept, Path file) {
    }

    private final Model model;
    private final DecodeLane session;
    private final Embedder embedder;
    private final int answerTokens;
    private final int progressEvery;

    /**
     * @param answerTokens  answer tokens stored per reference (the neighbour loss scores up to this many)
     * @param progressEvery log progress after this many prompts
     */
    public ReferenceSetBuilder(Model model, DecodeLane session, Embedder embedder, int answerTokens, int progressEvery) {
        this.model = Objects.requireNonNull(model, "model");
        this.session = Objects.requireNonNull(session, "session");
        this.embedder = Objects.requireNonNull(embedder, "embedder");
        if (session.model() != model) {
            throw new InvalidRequestException("the session belongs to another model");
        }
        if (answerTokens < 1 || answerTokens > 64) {
            throw new InvalidRequestException("answer tokens per reference must be 1..64, got " + answerTokens);
        }
        if (progressEvery < 1) {
            throw new InvalidRequestException("progress interval must be >= 1, got " + progressEvery);
        }
        C3poStrategy.REQUIREMENTS.require(model.info()); // a set for a model c3po cannot run on would be of no use
        this.answerTokens = answerTokens;
        this.progressEvery = progressEvery;
    }

    /** Runs every example and writes the correctly answered ones to {@code out}. */
    public Outcome build(List<Example> examples, Path out) {
        String sha = ModelFingerprint.sha256(model.path());
        List<ReferenceItem> items = new ArrayList<>();
        long started = System.nanoTime();
        for (int i = 0; i < examples.size(); i++) {
            run(examples.get(i)).ifPresent(items::add);
            if ((i + 1) % progressEvery == 0 || i + 1 == examples.size()) {
                double elapsed = (System.nanoTime() - started) / 1e9;
                LOG.info("c3po reference set: {}/{} prompts, {} answered correctly, {} s/prompt, about {} s left", i + 1, examples.size(),
                        items.size(), String.format("%.2f", elapsed / (i + 1)), String.format("%.0f", elapsed / (i + 1) * (examples.size() - i - 1)));
            }
        }
        ReferenceSet.write(out, new ReferenceSet.Header(sha, embedder.id(), model.info().moeLayers(), model.info().experts()), items);
        LOG.info("c3po reference set {}: kept {} of {} prompts (answered correctly)", out, items.size(), examples.size());
        return new Outcome(examples.size(), items.size(), out);
    }

    /** The reference for one example, if the model answers it correctly. */
    public Optional<ReferenceItem> run(Example example) {
        int[] prompt = model.tokenize(example.prompt());
        if (prompt.length == 0 || prompt.length >= session.contextSize()) {
            LOG.warn("c3po reference set: skipping '{}': its prompt has {} tokens (context {})", example.id(), prompt.length, session.contextSize());
            return Optional.empty();
        }
        PromptProbe.Result probe = PromptProbe.run(session, 0, prompt, embedder.usesHiddenState(), CancellationToken.none());
        session.removeTokens(0, prompt.length - 1, Integer.MAX_VALUE);
        GenerationResult answer = new Generator(session, new PrefixedDecoding(session, 0)).generate(
                new GenerationRequest(prompt, example.maxTokens(), SamplingParams.GREEDY, example.stop(), false));
        if (answer.generatedTokens() == 0 || !example.isCorrect().test(answer.text())) {
            return Optional.empty();
        }
        float[] embedding = embedder.embed(embedder.usesHiddenState() ? "" : model.detokenize(prompt), probe.meanHiddenState());
        int[] tokens = answer.tokens();
        return Optional.of(new ReferenceItem(example.id(), embedding, probe.pathway(), prompt,
                Arrays.copyOf(tokens, Math.min(answerTokens, tokens.length))));
    }
}
