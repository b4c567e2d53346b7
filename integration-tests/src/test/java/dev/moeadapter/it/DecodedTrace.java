package dev.moeadapter.it;

import tools.jackson.databind.JsonNode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/** A {@code routing_trace} as a client decodes it: SGLang's base64 little-endian arrays. */
record DecodedTrace(int firstToken, int tokens, List<Integer> layers, int topK, int[] experts, float[] weights) {

    static DecodedTrace of(JsonNode t) {
        List<Integer> layers = new ArrayList<>();
        t.get("layers").forEach(l -> layers.add(l.asInt()));
        return new DecodedTrace(t.get("first_token").asInt(), t.get("tokens").asInt(), layers, t.get("top_k").asInt(),
                ints(t.get("experts").asString()), floats(t.get("weights").asString()));
    }

    /** Chunks of a stream, in order, as one trace; they must follow one another without gap. */
    static DecodedTrace concat(List<DecodedTrace> chunks) {
        DecodedTrace first = chunks.getFirst();
        int tokens = 0;
        for (DecodedTrace c : chunks) {
            if (c.firstToken() != first.firstToken() + tokens) {
                throw new AssertionError("chunk at token " + c.firstToken() + " after " + (first.firstToken() + tokens) + " tokens");
            }
            tokens += c.tokens();
        }
        int width = first.layers().size() * first.topK();
        int[] experts = new int[tokens * width];
        float[] weights = new float[tokens * width];
        int at = 0;
        for (DecodedTrace c : chunks) {
            System.arraycopy(c.experts(), 0, experts, at, c.experts().length);
            System.arraycopy(c.weights(), 0, weights, at, c.weights().length);
            at += c.experts().length;
        }
        return new DecodedTrace(first.firstToken(), tokens, first.layers(), first.topK(), experts, weights);
    }

    /** The experts of row {@code token} (a position in prompt + completion) in the layer at {@code slot}. */
    int[] experts(int token, int slot) {
        int at = ((token - firstToken) * layers.size() + slot) * topK;
        return Arrays.copyOfRange(experts, at, at + topK);
    }

    static int[] ints(String base64) {
        ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
        int[] v = new int[b.remaining() / Integer.BYTES];
        b.asIntBuffer().get(v);
        return v;
    }

    static float[] floats(String base64) {
        ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / Float.BYTES];
        b.asFloatBuffer().get(v);
        return v;
    }
}
