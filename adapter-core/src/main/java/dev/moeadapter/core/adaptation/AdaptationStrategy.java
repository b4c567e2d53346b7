package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;

/**
 * A test-time adaptation method. It receives a request and a session reserved for it, may decode
 * whatever it needs on the session's sequences (neighbours, perturbed copies, a weak view), sets
 * routing plans, and produces the answer.
 */
public interface AdaptationStrategy {
    /** Short name used in policies, metrics and reports, e.g. "none", "scmoe". */
    String name();

    /** How many sequences of the session one request needs. */
    int sequencesNeeded();

    GenerationResult generate(Session session, GenerationRequest request, TokenListener listener, CancellationToken cancel);
}
