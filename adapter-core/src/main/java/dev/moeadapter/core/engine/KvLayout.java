package dev.moeadapter.core.engine;

/**
 * How a session's KV cache holds its sequences. {@link #UNIFIED} (the default): one cache all
 * sequences share, so a sequence may use any free cell and sequence copies share cells; every row's
 * attention spans the cells in use by all sequences (masked). {@link #PER_SEQUENCE}: a stream of
 * {@code contextSize / sequences} cells (rounded up to 256) per sequence, as llama.cpp's server
 * keeps one per slot: a row's attention reads only its own sequence's cells, a sequence holds at
 * most its stream, and a sequence copy copies the whole stream into an empty target.
 */
public enum KvLayout {
    UNIFIED(0),
    PER_SEQUENCE(1);

    private final int nativeValue;

    KvLayout(int nativeValue) {
        this.nativeValue = nativeValue;
    }

    /** The shim's encoding: 0 unified, 1 a stream per sequence. */
    public int nativeValue() {
        return nativeValue;
    }
}
