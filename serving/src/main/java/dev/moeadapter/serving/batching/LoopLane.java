package dev.moeadapter.serving.batching;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * A request's lane in a {@link DecodeLoop}: its sequences 0..n−1 are some of the loop's session's
 * sequences. Its decodes are rows of the loop's shared steps; between a decode and the next (or
 * {@link #release}) it reads that step's outputs at its own batch indices. One thread per lane.
 */
public final class LoopLane implements DecodeLane, AutoCloseable {
    private final DecodeLoop loop;
    private final Session session;
    private final int[] ids;
    private final List<TokenRoute> routes = new ArrayList<>();
    private final List<TokenProbabilities> probabilities = new ArrayList<>();
    private volatile boolean aborted;
    private boolean embeddings;
    /** Where this lane's rows start in the step it reads, or -1 when it reads none. */
    private int offset = -1;
    private int size;
    private boolean closed;

    LoopLane(DecodeLoop loop, int[] ids) {
        this.loop = loop;
        this.session = loop.session();
        this.ids = ids;
    }

    int[] sequenceIds() {
        return ids;
    }

    boolean aborted() {
        return aborted;
    }

    private int id(int sequence) {
        if (sequence < 0 || sequence >= ids.length) {
            throw new InvalidRequestException("sequence " + sequence + " out of range 0.." + (ids.length - 1) + " of this lane");
        }
        return ids[sequence];
    }

    private int row(int batchIndex) {
        if (offset < 0) {
            throw new IllegalStateException("this lane reads no decode's outputs (none yet, or released)");
        }
        if (batchIndex < 0 || batchIndex >= size) {
            throw new InvalidRequestException("batch index " + batchIndex + " out of range 0.." + (size - 1));
        }
        return offset + batchIndex;
    }

    @Override
    public Model model() {
        return session.model();
    }

    /** The KV cells of the lane's sequences: a sequence holds at most its share of the session's. */
    @Override
    public int contextSize() {
        return session.contextSize() / session.sequences() * ids.length;
    }

    @Override
    public int batchSize() {
        return session.batchSize();
    }

    @Override
    public int sequences() {
        return ids.length;
    }

    @Override
    public void decode(Batch batch) {
        Batch.Builder mapped = Batch.builder();
        for (int i = 0; i < batch.size(); i++) {
            mapped.add(batch.token(i), batch.position(i), id(batch.sequence(i)), batch.output(i));
        }
        offset = -1;
        size = batch.size();
        offset = loop.decode(this, mapped.build(), embeddings);
    }

    @Override
    public void release() {
        if (offset >= 0) {
            offset = -1;
            loop.release(this);
        }
    }

    @Override
    public float[] logits(int batchIndex) {
        return session.logits(row(batchIndex));
    }

    @Override
    public void setEmbeddings(boolean on) {
        embeddings = on;
    }

    @Override
    public float[] embedding(int batchIndex) {
        return session.embedding(row(batchIndex));
    }

    @Override
    public int argmax(int batchIndex) {
        return session.argmax(row(batchIndex));
    }

    @Override
    public float[] nll(int[] batchIndices, int[] targets) {
        int[] rows = new int[batchIndices.length];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = row(batchIndices[i]);
        }
        return session.nll(rows, targets);
    }

    @Override
    public int sample(Sampler sampler, int batchIndex) {
        return session.sample(sampler, row(batchIndex));
    }

    @Override
    public int pickContrast(Sampler sampler, int strongIndex, int weakIndex, float alpha, float beta) {
        return session.pickContrast(sampler, row(strongIndex), row(weakIndex), alpha, beta);
    }

    @Override
    public float[] contrastScores(int strongIndex, int weakIndex, float alpha, float beta) {
        return session.contrastScores(row(strongIndex), row(weakIndex), alpha, beta);
    }

    @Override
    public int maxPosition(int sequence) {
        return session.maxPosition(id(sequence));
    }

    @Override
    public void removeTokens(int sequence, int from, int to) {
        session.removeTokens(id(sequence), from, to);
    }

    @Override
    public void clearSequence(int sequence) {
        session.clearSequence(id(sequence));
    }

    @Override
    public void copySequence(int source, int target, int from, int to) {
        session.copySequence(id(source), id(target), from, to);
    }

    @Override
    public void setPlan(int sequence, RoutingPlan plan) {
        session.setPlan(id(sequence), plan);
    }

    @Override
    public void clearPlan(int sequence) {
        session.clearPlan(id(sequence));
    }

    @Override
    public void setTrace(int sequence, TraceSpec spec) {
        session.setTrace(id(sequence), spec);
    }

    /** The loop hands over a trace row of one of this lane's sequences. */
    synchronized void traced(TokenRoute r) {
        routes.add(new TokenRoute(local(r.sequence()), r.position(), r.layer(), r.experts(), r.weights()));
    }

    synchronized void traced(TokenProbabilities p) {
        probabilities.add(new TokenProbabilities(local(p.sequence()), p.position(), p.layer(), p.probabilities()));
    }

    private int local(int sessionSequence) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == sessionSequence) {
                return i;
            }
        }
        throw new IllegalStateException("sequence " + sessionSequence + " is not this lane's");
    }

    @Override
    public synchronized RouterTrace drainTrace() {
        RouterTrace t = new RouterTrace(List.copyOf(routes), List.copyOf(probabilities));
        routes.clear();
        probabilities.clear();
        return t;
    }

    @Override
    public void abortDecode() {
        aborted = true;
        loop.abort(this);
    }

    @Override
    public void clearAbort() {
        aborted = false;
    }

    /** Gives the lane's sequences back to the loop, emptied. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            offset = -1;
            loop.close(this);
        }
    }
}
