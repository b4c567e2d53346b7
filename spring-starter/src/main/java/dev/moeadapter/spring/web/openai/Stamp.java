package dev.moeadapter.spring.web.openai;

import tools.jackson.databind.node.NullNode;

/**
 * What every completion object and chunk of one answer starts with: its id, creation time (epoch
 * seconds), model; and whether the client asked for usage ({@code stream_options.include_usage}),
 * in which case every chunk carries {@code "usage"}: null but the last.
 */
record Stamp(String id, long created, String model, boolean includeUsage) {
    Stamp(String id, long created, String model) {
        this(id, created, model, false);
    }

    /** A chunk's usage field: JSON null where usage was asked for, else left out. */
    Object noUsage() {
        return includeUsage ? NullNode.getInstance() : null;
    }
}
