package dev.moeadapter.serving.batching;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.TokenStep;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * A request's lane in a {@link DecodeLoop}: its sequences 0..n−1 are some of the loop's session's
 * sequences. Its decodes are rows of the loop's shared steps; between a decode and the next (or
 * {@link #release}) it reads that step's outputs at its own batch indices. One thread per lane.
 *
 * <p>It follows what each of its sequences holds while that is plain (tokens from position 0 on,
 * before any position its routing plan edits or it traces): a batch's leading rows without
 * outputs that continue such a sequence and that a kept prompt already holds are not decoded but
 * shared ({@link DecodeLoop#reusePrefix}),
 * and when a plain sequence is about to be emptied, cut, edited or given back, what it holds is
 * offered for keeping ({@link DecodeLoop#keepPrefix}): a prompt, and the answer after it, which the
 * next turn of a conversation repeats.
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
    /**
     * Per row of the last decode: its index among the rows decoded, or -1 where it was shared from a
     * kept prompt instead; null when every row was decoded.
     */
    private int[] decodedIndex;
    /**
     * Per sequence: the tokens it holds, all decoded under {@link #keptUnder}'s plan, or null once it
     * holds anything else.
     */
    private final PlainTokens[] plain;
    /**
     * Per sequence: the plan its tracked rows are decoded under: empty (plain rows, those before the
     * first position its plan edits), or its plan where that edits from the first position on.
     */
    private final RoutingPlan[] keptUnder;
    private final boolean[] routed;
    /**
     * Per sequence: the first position its routing plan edits, and the first whose rows are traced (a
     * row shared instead of decoded has no trace); rows before both are plain.
     */
    private final int[] editedFrom, tracedFrom;
    /**
     * Sequences that hold a row queued ahead that this lane did not adopt, on a memory that cannot drop
     * it (a recurrent state): only emptying them is allowed until then.
     */
    private final boolean[] overrun;
    private boolean closed;
    /**
     * A model whose memory cannot roll back shares a kept sequence only whole: while a prompt's chunks
     * go on matching a longer kept one, they wait (sequence {@code deferredSeq}'s plain tokens from
     * {@code deferredFrom} on are not decoded yet) until the kept one is reached or the prompt departs
     * from it. -1: none wait.
     */
    private int deferredSeq = -1, deferredFrom;
    /** Prompt tokens later requests are likely to repeat (see {@link #keepOnTheWay}); empty: none. */
    private int[] repeated = new int[0];
    /** The row the loop queued ahead for this lane (its last pick), or null; guarded by the loop's lock. */
    DecodeLoop.Submission ahead;

    /**
     * A sequence's plain tokens, appended to in place (a decode adds a token at a time), and how many of
     * them were its prompt: what it held when its first token was picked (-1 until then, and for a
     * sequence that never picks: a probe or a copy that decodes outputs only to read them). A prefill's
     * rows with outputs do not tell it: chunked prefills ask for outputs at every chunk's end.
     */
    private static final class PlainTokens {
        int[] tokens = new int[64];
        int length;
        int prompt = -1;

        void append(Batch batch, int from, int to) {
            if (length + to - from > tokens.length) {
                tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, length + to - from));
            }
            for (int i = from; i < to; i++) {
                tokens[length++] = batch.token(i);
            }
        }
    }

    LoopLane(DecodeLoop loop, int[] ids) {
        this.loop = loop;
        this.session = loop.session();
        this.ids = ids;
        this.plain = new PlainTokens[ids.length];
        this.editedFrom = new int[ids.length];
        this.tracedFrom = new int[ids.length];
        this.routed = new boolean[ids.length];
        this.overrun = new boolean[ids.length];
        this.keptUnder = new RoutingPlan[ids.length];
        for (int i = 0; i < ids.length; i++) {
            plain[i] = new PlainTokens();
            editedFrom[i] = Integer.MAX_VALUE;
            tracedFrom[i] = Integer.MAX_VALUE;
            keptUnder[i] = RoutingPlan.EMPTY;
        }
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

    /** The batch's sequences, which must be this lane's and not overrun (see {@link #overran}). */
    private void requireHeld(Batch batch) {
        for (int i = 0; i < batch.size(); i++) {
            requireHeld(batch.sequence(i));
        }
    }

    private void requireHeld(int sequence) {
        id(sequence);
        if (overrun[sequence]) {
            throw new IllegalStateException("sequence " + sequence + " holds a row queued ahead that the lane did not take, which this "
                    + "model's memory cannot drop: it can only be emptied");
        }
    }

    /** The loop decoded {@code rows} (session sequences) ahead of this lane, which did not take them. */
    void overran(Batch rows) {
        for (int i = 0; i < rows.size(); i++) {
            overrun[local(rows.sequence(i))] = true;
        }
    }

    private int row(int batchIndex) {
        if (offset < 0) {
            throw new IllegalStateException("this lane reads no decode's outputs (none yet, or released)");
        }
        if (batchIndex < 0 || batchIndex >= size) {
            throw new InvalidRequestException("batch index " + batchIndex + " out of range 0.." + (size - 1));
        }
        int decoded = decodedIndex == null ? batchIndex : decodedIndex[batchIndex];
        if (decoded < 0) {
            throw new InvalidRequestException("batch index " + batchIndex + " has no outputs");
        }
        return offset + decoded;
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

    /** The lane's cells, and no more than a sequence's stream holds where each has its own. */
    @Override
    public int sequenceContextSize() {
        return Math.min(contextSize(), session.sequenceContextSize());
    }

    /** The rows a lane submits at a time: its share of a step (see {@link DecodeLoop}). */
    @Override
    public int batchSize() {
        return loop.laneRows();
    }

    @Override
    public int sequences() {
        return ids.length;
    }

    /**
     * Decodes the batch, sharing instead of decoding, for each of its sequences, the leading rows a
     * kept prompt under the same plan holds (rows with outputs are always decoded).
     */
    @Override
    public void decode(Batch batch) {
        loop.retractAhead(this);
        requireHeld(batch);
        int first = batch.sequence(0);
        if (deferredSeq != first || plainRows(batch, 0, first) == 0) {
            flushDeferred();
        }
        int waited = deferredSeq == first ? deferredFrom : -1; // what the first sequence holds, its later rows waiting
        deferredSeq = -1;
        release();
        size = batch.size();
        decodedIndex = null;
        boolean[] tracked = new boolean[batch.size()], shared = new boolean[batch.size()];
        BitSet seen = new BitSet();
        boolean oneSequence = true; // a prompt's own chunk: where it parts from a kept one it may keep its state (not SCMoE's two views)
        for (int i = 1; i < batch.size(); i++) {
            oneSequence &= batch.sequence(i) == first;
        }
        try {
            // each sequence's leading rows (SCMoE's weak view follows its strong one in a batch)
            for (int i = 0; i < batch.size(); i++) {
                int seq = batch.sequence(i);
                if (seen.get(seq)) {
                    continue;
                }
                seen.set(seq);
                int rows = plainRows(batch, i, seq);
                if (rows == 0) {
                    continue;
                }
                PlainTokens held = plain[seq];
                // rows before the first output may be shared; with embeddings on every row has outputs
                int before = held.length, outputs = embeddings ? 0 : Math.min(firstOutput(batch, i) - i, rows);
                int holds = i == 0 && waited >= 0 ? waited : before;
                held.append(batch, i, i + rows);
                Arrays.fill(tracked, i, i + rows, true);
                if (outputs == batch.size() && loop.keptExtends(held.tokens, held.length, keptUnder[seq])) {
                    deferredSeq = seq; // a longer kept state may still be reached: decode nothing yet
                    deferredFrom = holds;
                    decodedIndex = new int[batch.size()];
                    Arrays.fill(decodedIndex, -1);
                    return;
                }
                holds = catchUp(seq, holds, before + outputs, before, oneSequence);
                Arrays.fill(shared, i, i + Math.max(0, holds - before), true);
            }
            Batch.Builder rest = Batch.builder();
            int decoded = 0;
            for (int i = 0; i < batch.size(); i++) {
                if (!shared[i]) {
                    rest.add(batch.token(i), batch.position(i), ids[batch.sequence(i)], batch.output(i));
                    decoded++;
                }
            }
            if (decoded < batch.size()) {
                decodedIndex = new int[batch.size()];
                for (int i = 0, k = 0; i < batch.size(); i++) {
                    decodedIndex[i] = shared[i] ? -1 : k++;
                }
            }
            if (decoded > 0) {
                offset = loop.decode(this, rest.build(), embeddings);
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < batch.size(); i++) {
                if (tracked[i]) {
                    plain[batch.sequence(i)] = null; // what the sequence holds is no longer known token by token
                }
            }
            throw e;
        }
        for (int i = 0; i < batch.size(); i++) {
            if (!tracked[i]) {
                endPlain(batch.sequence(i));
            }
        }
    }

    /**
     * Names the prompt tokens that later requests are likely to repeat, {@code prompt[0, length)},
     * such as a chat's system prompt. Where the memory shares a kept state only whole, a sequence
     * decoding a prompt that begins with them keeps its state after them on the way, as where two
     * prompts part ({@link DecodeLoop#partingPoint}), so that already the next request shares them.
     */
    public void keepOnTheWay(int[] prompt, int length) {
        repeated = Arrays.copyOf(prompt, length);
    }

    /** The length of {@link #repeated} where {@code tokens[0, limit)} begin with it, else -1. */
    private int repeatedIn(int[] tokens, int limit) {
        int n = repeated.length;
        return n > 0 && n <= limit && Arrays.equals(tokens, 0, n, repeated, 0, n) ? n : -1;
    }

    /**
     * Brings sequence {@code seq}, which holds its plain tokens up to {@code holds}, up to {@code to}:
     * shares a kept prompt's cells up to {@code limit} where one holds them, and decodes the rest (rows
     * that waited for a kept state not reached), no outputs, a lane's rows per step. Where the memory
     * shares a kept state only whole, and {@code mayPart} (the rows are one prompt's own), it also
     * decodes up to where the tokens part from a kept state or end their repeated part
     * ({@link DecodeLoop#partingPoint}) and keeps its own state there. Returns what the sequence then
     * holds: {@code to}, or more where a kept prompt or a parting point covered more.
     */
    private int catchUp(int seq, int holds, int limit, int to, boolean mayPart) {
        int[] tokens = plain[seq].tokens;
        int shared = Math.max(holds, loop.reusePrefix(ids[seq], tokens, holds, limit, keptUnder[seq]));
        int parting = mayPart ? loop.partingPoint(tokens, shared, limit, keptUnder[seq], repeatedIn(tokens, limit)) : -1;
        int end = Math.max(to, parting);
        for (int start = shared; start < end; ) {
            int stop = Math.min(end, start + loop.laneRows());
            if (start < parting && parting < stop) {
                stop = parting;
            }
            loop.decode(this, Batch.noOutputs(ids[seq], start, Arrays.copyOfRange(tokens, start, stop)), false);
            release();
            if (stop == parting) {
                loop.keepPrefix(ids[seq], Arrays.copyOf(tokens, parting), parting, keptUnder[seq], true);
            }
            start = stop;
        }
        return Math.max(shared, end);
    }

    /** Before any other use of the sequences: the row queued ahead taken back, the waiting rows decoded. */
    private void settle() {
        loop.retractAhead(this);
        flushDeferred();
    }

    /** Decodes the rows that wait for a kept state (see {@link #deferredSeq}), sharing one if now reached. */
    private void flushDeferred() {
        int seq = deferredSeq;
        if (seq < 0) {
            return;
        }
        deferredSeq = -1;
        try {
            catchUp(seq, deferredFrom, plain[seq].length, plain[seq].length, true);
        } catch (RuntimeException e) {
            plain[seq] = null;
            throw e;
        }
    }

    /** The rows that wait for a kept state are not decoded: they are dropped with what their sequence held. */
    private void dropDeferred(int sequence) {
        if (deferredSeq == sequence) {
            plain[sequence].length = deferredFrom;
            deferredSeq = -1;
        }
    }

    /**
     * The step's pick happens in the loop's thread right after the step, which then queues the pick's
     * rows for the next step at once where the step allows (see {@link DecodeLoop#decodeAndPick}): the
     * next step need not wait for this lane's thread to wake, pick and submit.
     */
    @Override
    public int decodeAndPick(TokenStep step, int token, int position, boolean last) {
        flushDeferred();
        Batch batch = step.rows(token, position);
        Batch mapped = toSession(batch, 0);
        loop.retractAheadUnless(this, token, position);
        requireHeld(batch);
        int seq = batch.sequence(0);
        PlainTokens held = plainRows(batch, 0, seq) == batch.size() ? plain[seq] : null;
        boolean routes = false;
        for (int i = 0; i < batch.size(); i++) {
            routes |= routed[batch.sequence(i)];
        }
        offset = -1; // the loop releases the last step's outputs as it takes the rows
        // the routes a client asked for are final once a row is decoded: none ahead of them
        int picked = loop.decodeAndPick(this, step, token, position, last || routes, mapped);
        if (held != null) {
            if (held.prompt < 0) {
                held.prompt = held.length; // the first token picked: what the sequence held was its prompt
            }
            held.append(batch, 0, batch.size());
        } else {
            endPlain(batch, 0);
        }
        return picked;
    }

    /** The sequences of the batch's rows from {@code from} on no longer hold only plain tokens. */
    private void endPlain(Batch batch, int from) {
        for (int i = from; i < batch.size(); i++) {
            endPlain(batch.sequence(i));
        }
    }

    /** The batch's rows from {@code from} on, with the lane's sequences mapped to the session's. */
    Batch toSession(Batch batch, int from) {
        Batch.Builder mapped = Batch.builder();
        for (int i = from; i < batch.size(); i++) {
            mapped.add(batch.token(i), batch.position(i), id(batch.sequence(i)), batch.output(i));
        }
        return mapped.build();
    }

    /** Sequence {@code s} will no longer hold only plain tokens: what it holds is offered for keeping. */
    private void endPlain(int s) {
        if (plain[s] != null && plain[s].length > 1) {
            PlainTokens held = plain[s];
            loop.keepPrefix(ids[s], Arrays.copyOf(held.tokens, held.length), held.prompt < 0 ? held.length : held.prompt, keptUnder[s], false);
        }
        plain[s] = null;
    }

    /** Index of the batch's first row with outputs, or its size when none has. */
    private static int firstOutput(Batch batch, int from) {
        for (int i = from; i < batch.size(); i++) {
            if (batch.output(i)) {
                return i;
            }
        }
        return batch.size();
    }

    /**
     * How many of the batch's rows from {@code from} on continue sequence {@code seq}'s tracked tokens:
     * its rows at the positions right after what it holds, before any position its trace reads and,
     * where its rows are plain, its plan edits (SCMoE's strong view is traced, and C3PO's answer
     * edited, from the prompt's last token on).
     */
    private int plainRows(Batch batch, int from, int seq) {
        if (plain[seq] == null) {
            return 0;
        }
        int n = 0, end = keptUnder[seq].edits().isEmpty() ? Math.min(editedFrom[seq], tracedFrom[seq]) : tracedFrom[seq];
        while (from + n < batch.size() && batch.sequence(from + n) == seq && batch.position(from + n) == plain[seq].length + n
                && batch.position(from + n) < end) {
            n++;
        }
        return n;
    }

    @Override
    public void release() {
        offset = -1;
        loop.release(this); // also after a pick the loop made: see DecodeLoop#decodeAndPick
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
        settle();
        int id = id(sequence);
        requireHeld(sequence);
        return session.maxPosition(id);
    }

    @Override
    public void removeTokens(int sequence, int from, int to) {
        settle();
        int id = id(sequence);
        requireHeld(sequence);
        PlainTokens held = plain[sequence];
        if (held != null && from < held.length) {
            endPlain(sequence);
            if (to >= held.length) { // cut back to a shorter plain prefix
                held.length = Math.max(0, from);
                if (held.prompt > held.length) {
                    held.prompt = -1; // cut inside its prompt
                }
                plain[sequence] = held;
            }
        }
        session.removeTokens(id, from, to);
    }

    @Override
    public void clearSequence(int sequence) {
        loop.retractAhead(this);
        dropDeferred(sequence);
        flushDeferred();
        int id = id(sequence);
        endPlain(sequence);
        session.clearSequence(id);
        plain[sequence] = new PlainTokens();
        overrun[sequence] = false;
    }

    @Override
    public void copySequence(int source, int target, int from, int to) {
        settle();
        int s = id(source), t = id(target);
        requireHeld(source);
        endPlain(target);
        session.copySequence(s, t, from, to);
    }

    @Override
    public void setPlan(int sequence, RoutingPlan plan) {
        settle();
        session.setPlan(id(sequence), plan);
        editedFrom[sequence] = plan.edits().stream().mapToInt(e -> e.positions().from()).min().orElse(Integer.MAX_VALUE);
        trackUnder(sequence, editedFrom[sequence] == 0 ? plan : RoutingPlan.EMPTY);
    }

    /** Rows are tracked under {@code plan} from now on: those held under another one are offered for keeping, and no more tracked. */
    private void trackUnder(int sequence, RoutingPlan plan) {
        if (!plan.equals(keptUnder[sequence])) {
            if (plain[sequence] != null && plain[sequence].length > 0) {
                endPlain(sequence);
            }
            keptUnder[sequence] = plan;
        }
    }

    @Override
    public void clearPlan(int sequence) {
        settle();
        session.clearPlan(id(sequence));
        editedFrom[sequence] = Integer.MAX_VALUE;
        trackUnder(sequence, RoutingPlan.EMPTY);
    }

    @Override
    public void setTrace(int sequence, TraceSpec spec) {
        settle();
        session.setTrace(id(sequence), spec);
        tracedFrom[sequence] = spec.routes() ? 0 : spec.probabilities().isEmpty() ? Integer.MAX_VALUE : spec.probabilities().from();
        routed[sequence] = spec.routes();
    }

    /** The loop hands over a trace row of one of this lane's sequences. */
    synchronized void traced(TokenRoute r) {
        routes.add(new TokenRoute(local(r.sequence()), r.position(), r.layer(), r.experts(), r.weights()));
    }

    synchronized void traced(TokenProbabilities p) {
        probabilities.add(new TokenProbabilities(local(p.sequence()), p.position(), p.layer(), p.probabilities()));
    }

    /** Drops the trace rows of {@code rows}' sequences from {@code position} on: rows taken back. */
    synchronized void untrace(Batch rows, int position) {
        for (int i = 0; i < rows.size(); i++) {
            int s = local(rows.sequence(i));
            routes.removeIf(r -> r.sequence() == s && r.position() >= position);
            probabilities.removeIf(p -> p.sequence() == s && p.position() >= position);
        }
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
            loop.retractAhead(this); // before its sequences are offered for keeping: they hold what the lane took
            if (deferredSeq >= 0) {
                dropDeferred(deferredSeq);
            }
            for (int s = 0; s < ids.length; s++) {
                endPlain(s);
            }
            closed = true;
            offset = -1;
            loop.close(this);
        }
    }
}
