package dev.moeadapter.spring.web;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.serving.routing.RoutedExperts;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;

/**
 * An answer's routing on the wire, in SGLang's encoding ({@code return_routed_experts}): base64 of
 * little-endian int32 {@code experts} [tokens, layers, top_k], and float32 {@code weights} of the
 * same shape; entries a layer did not route, or a token's unused expert slots, are −1.
 * {@code first_token} is the position of the first row in prompt + completion (0 for a whole
 * answer; a streamed chunk carries the rows that produced its text). {@code coverage} says per
 * layer which rows it routed ([from, to) ranges) and how: a layer that runs for output rows only
 * misses the others; a hash-routed layer ({@code router: false}) shows the experts its token ids
 * chose.
 */
public record RoutingTrace(@JsonProperty("first_token") int firstToken, int tokens, List<Integer> layers,
                           @JsonProperty("top_k") int topK, String experts, String weights, List<Coverage> coverage,
                           List<Probabilities> probabilities) {

    public record Coverage(int layer, boolean router, @JsonProperty("output_rows_only") boolean outputRowsOnly, List<int[]> rows) {
    }

    /** Router probabilities of one layer: base64 of little-endian float32 [tokens, experts], −1 in rows it did not route. */
    public record Probabilities(int layer, int experts, String data) {
    }

    /** The wire form, or null for null. */
    public static RoutingTrace of(RoutedExperts r) {
        if (r == null) {
            return null;
        }
        return new RoutingTrace(r.firstRow(), r.rows(), r.layers(), r.topK(), ints(r.experts()), floats(r.weights()),
                r.coverage().stream().map(c -> new Coverage(c.layer(), c.hasRouter(), c.outputRowsOnly(),
                        c.spans().stream().map(s -> new int[] {s.from(), s.to()}).toList())).toList(),
                r.probabilities().stream().map(p -> new Probabilities(p.layer(), p.experts(), floats(p.values()))).toList());
    }

    private static String ints(int[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return Base64.getEncoder().encodeToString(b.array());
    }

    private static String floats(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return Base64.getEncoder().encodeToString(b.array());
    }
}
