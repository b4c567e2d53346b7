package dev.moeadapter.c3po;

/**
 * A reference set was built for another model (its file hash differs) or another embedding space;
 * its pathways and embeddings mean nothing for this one.
 */
public class ReferenceSetMismatchException extends ReferenceSetException {
    public ReferenceSetMismatchException(String message) {
        super(message);
    }
}
