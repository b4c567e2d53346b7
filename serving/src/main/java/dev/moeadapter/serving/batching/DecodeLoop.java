package dev.moeadapter.serving.batching;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeOutputs;
import dev.moeadapter.core.engine.KvLayout;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.TokenStep;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.PlainDecoding;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One decode loop over one session: requests decode through {@link LoopLane}s, each holding some of
 * the session's sequences, and every step decodes the rows all waiting lanes submitted as one
 * llama.cpp batch, each row under its own sequence's routing plan. A step starts once no lane still
 * reads the outputs of the previous one (a lane reads until it {@link LoopLane#release releases}
 * them or submits again) and at least one lane waits.
 *
 * <p>The bound on how much one request delays the others is in rows: a lane submits at most
 * {@code laneRows} rows at a time (its {@link LoopLane#batchSize()}, which every method honours by
 * chunking its prompts, perturbed copies and neighbour evaluations), and the session's batch holds
 * {@code laneRows} for each of its lanes, so every step takes every waiting submission. A lane's
 * rows therefore wait for at most the one step in flight, and an adapting request adds at most
 * {@code laneRows} rows to any step: that is chunked prefill with a token budget per lane and step.
 *
 * <p>Prompt prefixes are reused across requests: the last sequences of the session hold the prompts
 * of recent requests ({@code prefixSlots} of them), and a lane whose sequence starts with the same
 * tokens shares their KV cells (a llama.cpp sequence copy, no decode) instead of decoding them again,
 * so a system prompt that every request repeats is prefilled once. Only tokens decoded before any
 * traced position are kept or reused (a shared row is not decoded, so it could not be traced), and
 * only between sequences under the same routing plan: plain rows (those before the first position a
 * plan edits), or rows under a plan that edits from the first position on, such as SCMoE's weak view,
 * which the next request with the same weak routing and prompt shares.
 *
 * <p>Next tokens are picked in the loop's thread: a lane that decodes a scheme's {@link TokenStep}
 * (plain decoding, SCMoE's two views) has its pick made right after the step, greedy or sampled, and
 * the loop queues the pick's rows for the next step itself, so that step need not wait for the
 * lane's thread to wake and submit. That thread meanwhile streams the token and then adopts
 * the queued rows; the loop runs at most one token ahead of it (it continues only rows the lane asked
 * for), and rows the lane does not adopt (it stopped: a stop string, a departed client) are taken
 * out of its sequences before the lane does anything else (a recurrent state cannot drop them: the
 * sequence is then only to be emptied). No row is queued for an end of generation. A sampled pick
 * made ahead after its generation ended, and so closed its sampler, is refused by the sampler.
 *
 * <p>Lanes hold slots: the session's lane sequences form groups, and a lane's sequence j is the lowest
 * free one of group j (its first is its slot). The first {@link #NARROW_SEQUENCES} groups have a
 * sequence for every slot; the others, which only rerouting's probe copies and C3PO's neighbour
 * evaluations use, one for each of {@code wideSlots} wide lanes, since every sequence costs a KV
 * stream of its own. A step's rows go in order of sequence, so the requests' first sequences follow
 * each other, and the second ones (SCMoE's weak views) follow those without gaps: a KV stream per
 * sequence needs that, since llama.cpp puts only sequences with consecutive ids into one ubatch there.
 */
public final class DecodeLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DecodeLoop.class);
    /** Sequences every lane may hold: a plain answer's, and SCMoE's two views; a lane holding more is a wide one. */
    public static final int NARROW_SEQUENCES = 2;

    private final Session session;
    private final ReentrantLock lock = new ReentrantLock();
    /** The loop's thread waits on it for work: a submission, or the last reader's release. */
    private final Condition work = lock.newCondition();
    private final Deque<Submission> waiting = new ArrayDeque<>();
    private final Set<LoopLane> reading = new HashSet<>();
    /**
     * Free lane sequences. A lane holds one of each group it uses, so while group 0 (the slots) has
     * a free one, every narrow group has, and while a wide group has one, every wide group has.
     */
    private final BitSet free = new BitSet();
    private final int slots, wideSlots, laneSequences;
    private final LoopLane[] laneOf;
    private final Thread thread;
    private final AtomicLong steps = new AtomicLong(), rows = new AtomicLong(), rowsAhead = new AtomicLong();
    /** Nanoseconds the loop's thread spent in steps (decoding, picking). */
    private final AtomicLong busyNanos = new AtomicLong();
    /**
     * Nanoseconds rows were ready while a lane still read the last step's outputs (the next step waited
     * for a request's thread), and since when they are now (-1: they are not); guarded by the lock.
     */
    private long stalledNanos, stalledSince = -1;
    /** Picks made ahead of a lane whose thread had not asked for them when their step ended: its next row skips a step. */
    private final AtomicLong picksUnclaimed = new AtomicLong();
    private final int laneRows;
    /**
     * Whether a sequence can be cut back to any prefix, or share one: an attention cache only. A
     * recurrent state (hybrid and recurrent models) sums up every token its sequence holds and is
     * copied whole: such a model's loop keeps a sequence only while it holds exactly the kept tokens
     * and shares a kept one only whole (a conversation's next turn repeats the previous prompt and
     * answer; where a prompt parts from a kept one, after a system prompt, it keeps its state there on
     * the way: {@link #partingPoint}). A row it queued ahead and its lane did not adopt cannot be taken back there: the lane's
     * sequence is marked as overrun instead (see {@link LoopLane}).
     */
    private final boolean rollsBack;
    /** Recent prompts, each held by a sequence of its own, most recently used first. */
    private final List<Prefix> prefixes = new ArrayList<>();
    private long reusedTokens;
    private int maxStepRows, maxLaneRows;
    private long maxStepsWaited;
    private boolean closed;
    /** Told each decoded step's rows and time; called in the loop's thread, so it must not block. */
    private volatile StepObserver stepObserver = (stepRows, nanos) -> {
    };

    /** What a step decoded, for a metric's distributions: its rows and its time in nanoseconds. */
    @FunctionalInterface
    public interface StepObserver {
        void stepDecoded(int rows, long nanos);
    }

    /**
     * A kept prompt: its tokens, held by sequence {@code sequence} of the session, decoded under
     * {@code plan} (empty: plain rows), of which the first {@code prompt} were its request's prompt (the
     * rest its answer); {@code parting}: kept where two prompts part (see {@link #partingPoint}), so
     * that prompts extending it do not take its place.
     */
    private static final class Prefix {
        final int sequence;
        int[] tokens = new int[0];
        int prompt;
        RoutingPlan plan = RoutingPlan.EMPTY;
        boolean parting;

        Prefix(int sequence) {
            this.sequence = sequence;
        }
    }

    /**
     * A loop whose every lane may be a wide one: the session's sequences but the prefix slots make lane
     * slots of {@code laneSequences} each.
     *
     * @param laneSequences most sequences one lane holds
     * @param laneRows      most rows one lane submits at a time; the session's batch must hold that many
     *                      for each of its lanes
     * @param prefixSlots   sequences, the session's last ones, that keep recent prompts for reuse (0: none)
     */
    public DecodeLoop(Session session, int laneSequences, int laneRows, int prefixSlots) {
        this(session, laneSequences, (session.sequences() - prefixSlots) / Math.max(1, laneSequences), laneRows, prefixSlots);
    }

    /**
     * A loop of which at most {@code wideSlots} lanes hold more than {@link #NARROW_SEQUENCES}
     * sequences: the session's sequences but the prefix slots are {@link #laneSequencesFor} its lanes.
     */
    public DecodeLoop(Session session, int laneSequences, int wideSlots, int laneRows, int prefixSlots) {
        if (laneRows < 1 || laneRows > session.batchSize()) {
            throw new IllegalArgumentException("rows per lane must lie in 1.." + session.batchSize() + ": " + laneRows);
        }
        if (prefixSlots < 0 || prefixSlots >= session.sequences()) {
            throw new IllegalArgumentException("prefix slots must lie in 0.." + (session.sequences() - 1) + ": " + prefixSlots);
        }
        int sequences = session.sequences() - prefixSlots;
        if (laneSequences < 1 || laneSequences > sequences) {
            throw new IllegalArgumentException("sequences per lane must lie in 1.." + sequences + ": " + laneSequences);
        }
        this.session = session;
        this.rollsBack = session.model().info().memory().rollsBackToAnyPrefix();
        this.laneRows = laneRows;
        this.laneSequences = laneSequences;
        int narrow = Math.min(laneSequences, NARROW_SEQUENCES), wideExtra = laneSequences - narrow;
        this.slots = (sequences - Math.max(0, wideSlots) * wideExtra) / narrow;
        if (wideSlots < (wideExtra > 0 ? 1 : 0) || slots < 1 || wideSlots > slots) {
            throw new IllegalArgumentException("wide lanes must lie in " + (wideExtra > 0 ? 1 : 0) + ".." + Math.max(0, slots) + ": " + wideSlots);
        }
        this.wideSlots = wideExtra > 0 ? wideSlots : 0;
        this.laneOf = new LoopLane[sequences];
        free.set(0, groupStart(laneSequences));
        // a third sequence for a second fresh decode: a lane's second, or a second prefix slot
        int third = sequences > 1 ? 1 : prefixSlots > 1 ? sequences + 1 : -1;
        if (prefixSlots > 0 && !rollsBack && !wholeCopiesContinue(session, 0, sequences, third)) {
            LOG.info("no prompts kept for prefix reuse: a copy of a whole sequence of {} does not continue as its source",
                    session.model().info().architecture());
        } else {
            for (int i = 0; i < prefixSlots; i++) {
                prefixes.add(new Prefix(sequences + i));
            }
        }
        thread = Thread.ofPlatform().name("moe-decode-loop").daemon().start(this::run);
    }

    /**
     * Whether a sequence copied whole goes on as a decode of the same tokens does, as the loop uses a
     * copy (kept from a request's sequence, which is then emptied, and copied on into another one's):
     * llama.cpp loses part of some caches on the way (DeepSeek-V4's in the version this engine bundles:
     * logits up to 1 apart from the first token on). Decodes a text on sequence {@code a}, copies it to
     * {@code b} and back, emptying each source, decodes the text afresh on {@code b} and on {@code c},
     * then the same tokens on all three. The copy passes where its logits lie no further from the fresh
     * decode's than twice as far as the second fresh decode's do: in one KV cache a sequence in other
     * cells is summed in another order (on a 435 MB Qwen3-Next with llama.cpp's default kernels 6e-4 of
     * the logits' scale apart), which a lost cache exceeds many times. Without {@code c} (-1), bit for
     * bit. Empties all three.
     */
    private static boolean wholeCopiesContinue(Session session, int a, int b, int c) {
        int[] all = session.model().tokenize("Once upon a time, in a land far away, there lived a robot who counted the stars every night.");
        int[] text = Arrays.copyOf(all, Math.max(1, Math.min(all.length, session.sequenceContextSize() - 8)));
        int[] fresh = c < 0 ? new int[] {b} : new int[] {b, c};
        try {
            new PlainDecoding(session, a).prefill(text, CancellationToken.none());
            session.copySequence(a, b, 0, text.length);
            session.clearSequence(a);
            session.copySequence(b, a, 0, text.length);
            session.clearSequence(b);
            for (int s : fresh) {
                new PlainDecoding(session, s).prefill(text, CancellationToken.none());
            }
            float copied = 0, second = 0, scale = 0;
            for (int k = 0; k < 8; k++) {
                int token = text[k % text.length];
                session.decode(Batch.of(a, text.length + k, new int[] {token}));
                float[] ofCopy = session.logits(0);
                session.decode(Batch.of(b, text.length + k, new int[] {token}));
                float[] ofFresh = session.logits(0);
                float[] ofSecond = ofFresh;
                if (c >= 0) {
                    session.decode(Batch.of(c, text.length + k, new int[] {token}));
                    ofSecond = session.logits(0);
                }
                for (int v = 0; v < ofFresh.length; v++) {
                    scale = Math.max(scale, Math.abs(ofFresh[v]));
                    copied = Math.max(copied, Math.abs(ofCopy[v] - ofFresh[v]));
                    second = Math.max(second, Math.abs(ofSecond[v] - ofFresh[v]));
                }
            }
            LOG.info("a whole sequence copy continues {} of the logits' scale from a fresh decode of the same tokens, a second fresh decode {}",
                    copied / Math.max(scale, 1e-6f), second / Math.max(scale, 1e-6f));
            return copied <= 2 * second;
        } catch (RuntimeException e) {
            LOG.warn("checking that a whole sequence copy continues as its source failed ({}): no prompts kept", e.toString());
            return false;
        } finally {
            session.clearSequence(a);
            for (int s : fresh) {
                session.clearSequence(s);
            }
        }
    }

    Session session() {
        return session;
    }

    /** A lane of {@code sequences} of the session's sequences (at most a slot's); refused when no slot is free. */
    public LoopLane open(int sequences) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the decode loop is closed");
            }
            if (sequences < 1 || sequences > laneSequences) {
                throw new InvalidRequestException("a lane holds 1.." + laneSequences + " sequences, not " + sequences);
            }
            int slot = free.nextSetBit(0);
            if (slot < 0 || slot >= slots) {
                throw new InvalidRequestException("a lane does not fit: all " + slots + " lane slots are taken");
            }
            if (sequences > NARROW_SEQUENCES && free.nextSetBit(groupStart(NARROW_SEQUENCES)) < 0) {
                throw new InvalidRequestException("a lane of " + sequences + " sequences does not fit: all " + wideSlots
                        + " wide lanes are taken");
            }
            int[] ids = new int[sequences];
            for (int j = 0; j < sequences; j++) {
                ids[j] = free.nextSetBit(groupStart(j));
                free.clear(ids[j]);
            }
            LoopLane lane = new LoopLane(this, ids);
            for (int s : ids) {
                laneOf[s] = lane;
                session.clearSequence(s);
                session.clearPlan(s);
            }
            return lane;
        } finally {
            lock.unlock();
        }
    }

    /** The first sequence of group {@code j} (of {@code laneSequences}: the end of the lane sequences). */
    private int groupStart(int j) {
        int narrow = Math.min(j, NARROW_SEQUENCES);
        return narrow * slots + (j - narrow) * wideSlots;
    }

    /**
     * Lane sequences a loop of {@code lanes} lanes of at most {@code laneSequences} sequences needs,
     * at most {@code wideLanes} of them holding more than {@link #NARROW_SEQUENCES}.
     */
    public static int laneSequencesFor(int lanes, int laneSequences, int wideLanes) {
        int narrow = Math.min(laneSequences, NARROW_SEQUENCES);
        return Math.addExact(Math.multiplyExact(lanes, narrow), Math.multiplyExact(wideLanes, laneSequences - narrow));
    }

    /** Lanes that may hold more than {@link #NARROW_SEQUENCES} sequences at once (0 where no lane may). */
    public int wideSlots() {
        return wideSlots;
    }

    /** Tells {@code observer} the rows and the time of every step decoded from now on. */
    public void observeSteps(StepObserver observer) {
        stepObserver = Objects.requireNonNull(observer);
    }

    /** Lane sequences no lane holds. */
    public int freeSequences() {
        lock.lock();
        try {
            return free.cardinality();
        } finally {
            lock.unlock();
        }
    }

    /** Lane slots no lane holds: lanes that can open now (a wide one only while a wide lane is free too). */
    public int freeSlots() {
        lock.lock();
        try {
            return free.get(0, slots).cardinality();
        } finally {
            lock.unlock();
        }
    }

    /** Most rows one lane submits at a time: the rows one request can add to a step. */
    public int laneRows() {
        return laneRows;
    }

    /**
     * What the loop did so far: steps and rows; the most rows one step held and one lane added to a
     * step; the most steps a submission waited for (1: only the step in flight); lanes held, and
     * lanes whose rows wait for the next step; prompt tokens shared from kept prompts; rows the loop
     * queued ahead of their lanes (see {@link #decodeAndPick}), and picks whose lane had not asked for
     * them by the end of their step; the loop thread's time in steps, and waiting for a lane's thread
     * to read a step's outputs while other rows were ready.
     */
    public record Stats(long steps, long rows, int maxStepRows, int maxLaneRows, long maxStepsWaited, int lanesHeld, int lanesWaiting,
                        long reusedTokens, long rowsAhead, long picksUnclaimed, Duration busy, Duration stalled) {
    }

    public Stats stats() {
        lock.lock();
        try {
            Set<LoopLane> held = new HashSet<>();
            for (LoopLane lane : laneOf) {
                if (lane != null) {
                    held.add(lane);
                }
            }
            return new Stats(steps.get(), rows.get(), maxStepRows, maxLaneRows, maxStepsWaited, held.size(), waiting.size(), reusedTokens,
                    rowsAhead.get(), picksUnclaimed.get(), Duration.ofNanos(busyNanos.get()), Duration.ofNanos(stalledNanos));
        } finally {
            lock.unlock();
        }
    }

    /** A lane's rows, mapped to the session's sequences, waiting for a step. */
    final class Submission {
        final LoopLane lane;
        final Batch batch;
        final boolean embeddings;
        final long submittedAt;
        /** Its lane's thread waits on it until a step decoded the rows (each wakes only its own). */
        final Condition ready = lock.newCondition();
        int offset = -1;
        RuntimeException failure;
        boolean done;
        /** With a step, the loop picks from the rows (see {@link #decodeAndPick}): the token they decode at position. */
        TokenStep step;
        int token, position, picked = -1;
        RuntimeException pickFailure;
        /** Whether the lane's thread asked for these rows (rows queued ahead are not, yet), and for the last pick. */
        boolean adopted, last;

        Submission(LoopLane lane, Batch batch, boolean embeddings, long submittedAt) {
            this.lane = lane;
            this.batch = batch;
            this.embeddings = embeddings;
            this.submittedAt = submittedAt;
        }

        void pick(TokenStep step, int token, int position) {
            this.step = step;
            this.token = token;
            this.position = position;
        }
    }

    /** Queues {@code batch} and waits until a step decoded it; the lane then reads its outputs. */
    int decode(LoopLane lane, Batch batch, boolean embeddings) {
        checkLaneRows(batch);
        lock.lock();
        try {
            reading.remove(lane);
            updateStall();
            if (lane.aborted()) {
                throw new CancelledException("decode aborted");
            }
            // the step count read under the lock: read before it, a step could end meanwhile and count as waited
            Submission s = new Submission(lane, batch, embeddings, steps.get());
            waiting.add(s);
            updateStall();
            work.signal();
            while (!s.done) {
                s.ready.awaitUninterruptibly();
            }
            if (s.failure != null) {
                throw s.failure;
            }
            return s.offset; // the step made the lane a reader: no step starts until it releases

        } finally {
            lock.unlock();
        }
    }

    /**
     * Decodes {@code rows} ({@code step}'s rows for {@code token} at {@code position}, mapped to the
     * session's sequences) and returns the token {@code step} picks from them, picked in the loop's
     * thread. Where the step allows and the lane's thread has not fallen behind, the loop then queues
     * the pick's rows for the next step itself, ahead of the lane, which adopts them when it asks for
     * them: one token ahead at most, since only rows the lane asked for are continued.
     */
    int decodeAndPick(LoopLane lane, TokenStep step, int token, int position, boolean last, Batch rows) {
        checkLaneRows(rows);
        lock.lock();
        try {
            if (reading.remove(lane) && reading.isEmpty()) {
                work.signal();
            }
            updateStall();
            Submission s = lane.ahead;
            lane.ahead = null;
            if (s != null && (s.token != token || s.position != position)) {
                throw new IllegalStateException("rows queued ahead of the lane were not taken back");
            }
            if (lane.aborted()) {
                throw new CancelledException("decode aborted");
            }
            if (s == null) {
                s = new Submission(lane, rows, false, steps.get());
                s.pick(step, token, position);
                waiting.add(s);
                work.signal();
            }
            updateStall();
            s.adopted = true;
            s.last = last;
            while (!s.done) {
                s.ready.awaitUninterruptibly();
            }
            if (s.failure != null) {
                throw s.failure;
            }
            return s.picked;
        } finally {
            lock.unlock();
        }
    }

    private void checkLaneRows(Batch batch) {
        if (batch.size() > laneRows) {
            throw new InvalidRequestException("batch of " + batch.size() + " tokens exceeds a lane's batch size " + laneRows);
        }
    }

    /**
     * Takes back the row queued ahead of {@code lane}, if any: out of the queue, or out of its sequence
     * once decoded. The lane's sequences then hold what its thread asked for, no more.
     */
    void retractAhead(LoopLane lane) {
        retractAheadUnless(lane, -1, -1);
    }

    /** {@link #retractAhead}, unless the rows queued ahead decode {@code token} at {@code position}. */
    void retractAheadUnless(LoopLane lane, int token, int position) {
        Submission ahead;
        lock.lock();
        try {
            ahead = lane.ahead;
            if (ahead == null || ahead.token == token && ahead.position == position) {
                return;
            }
            lane.ahead = null;
            if (waiting.remove(ahead)) {
                updateStall();
                return;
            }
            while (!ahead.done && !closed) {
                ahead.ready.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
        if (ahead.failure == null || ahead.failure == ahead.pickFailure) { // decoded, if not picked from
            if (rollsBack) {
                for (int i = 0; i < ahead.batch.size(); i++) {
                    session.removeTokens(ahead.batch.sequence(i), ahead.position, Integer.MAX_VALUE);
                }
            } else {
                lane.overran(ahead.batch); // a recurrent state cannot drop a token: the lane may only empty these sequences
            }
            lane.untrace(ahead.batch, ahead.position);
        }
    }

    /**
     * Gives positions [from, k) of session sequence {@code sequence} the cells of the kept prompt,
     * decoded under the same {@code plan}, that shares the longest prefix with {@code tokens[0, limit)}
     * (the sequence's tokens so far, then those it is about to decode); returns k, or {@code from} when
     * none shares more.
     */
    int reusePrefix(int sequence, int[] tokens, int from, int limit, RoutingPlan plan) {
        lock.lock();
        try {
            Prefix best = null;
            int longest = from;
            for (Prefix p : prefixes) {
                if (!p.plan.equals(plan)) {
                    continue;
                }
                int common = commonPrefix(p.tokens, tokens, limit);
                if (common > longest && (rollsBack || common == p.tokens.length)) {
                    longest = common;
                    best = p;
                }
            }
            if (best != null) {
                if (from > 0 && (session.kvLayout() == KvLayout.PER_SEQUENCE || !rollsBack)) {
                    // a stream or a recurrent state is copied whole, into an empty sequence: the kept one holds the same [0, from) too
                    session.clearSequence(sequence);
                    session.copySequence(best.sequence, sequence, 0, longest);
                } else {
                    session.copySequence(best.sequence, sequence, from, longest);
                }
                reusedTokens += longest - from;
                prefixes.remove(best);
                prefixes.addFirst(best);
            }
            return longest;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether a kept state longer than {@code tokens[0, length)} begins with them: where the memory
     * cannot roll back it is shared only whole, so the lane waits for the rest of its prompt.
     */
    boolean keptExtends(int[] tokens, int length, RoutingPlan plan) {
        if (rollsBack) {
            return false;
        }
        lock.lock();
        try {
            for (Prefix p : prefixes) {
                if (p.plan.equals(plan) && p.tokens.length > length && commonPrefix(p.tokens, tokens, length) == length) {
                    return true;
                }
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Where the memory cannot roll back (a kept state is shared only whole): the position at which
     * {@code tokens[0, limit)} part from the kept state under the same plan they follow furthest, or
     * {@code repeated} (where their part that later requests are likely to repeat ends, -1 if none is
     * known), whichever lies further, when that lies beyond {@code from} (what the sequence already
     * holds) and covers at least half of them; else -1. Two prompts after the same system prompt part
     * there: the lane keeps its state at that position on the way (see {@link #keepPrefix}), which
     * every later prompt that follows as far then shares whole.
     */
    int partingPoint(int[] tokens, int from, int limit, RoutingPlan plan, int repeated) {
        if (rollsBack) {
            return -1;
        }
        lock.lock();
        try {
            int best = repeated > from && repeated < limit && 2 * repeated >= limit ? repeated : -1;
            for (Prefix p : prefixes) {
                if (p.plan.equals(plan)) {
                    int common = commonPrefix(p.tokens, tokens, limit);
                    if (common < p.tokens.length && common > Math.max(from, best) && 2 * common >= limit) {
                        best = common;
                    }
                }
            }
            return best;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Keeps session sequence {@code sequence}'s prompt {@code tokens} (its first {@code prompt} a request's
     * prompt, the rest its answer), decoded under {@code plan} (the loop's from now on), for reuse: in
     * place of the kept prompt under the same plan whose whole prompt it repeats and that repeats its own
     * (the same prompt, another answer: a sampled one, or a greedy one that a near-tie or another batch
     * turned; the one sharing most), else in a free slot if there is one, else in place of the kept
     * prompt under the same plan it repeats at least half of (a longer or newer prompt after the same
     * system prompt), else of the least recently used one (for a prompt under a plan, the least recently
     * used one under a plan: plain prompts serve every request). Sharing less, such as only the
     * beginning-of-text token, every prompt would replace the same one; and were a prompt's answers each
     * kept apart, even in free slots, they would push the other prompts out (a prompt under a plan
     * never displaces a plain one, so plain duplicates would leave SCMoE's weak views too few). A state kept
     * where two prompts part ({@code parting}) is not replaced by tokens that extend it: it serves
     * requests that they, shared only whole, cannot; where it is the only candidate, these tokens are
     * not kept.
     */
    void keepPrefix(int sequence, int[] tokens, int prompt, RoutingPlan plan, boolean parting) {
        lock.lock();
        try {
            if (prefixes.isEmpty() || !rollsBack && session.maxPosition(sequence) != tokens.length - 1) {
                return; // a recurrent state is kept only holding exactly these tokens, none decoded after them
            }
            Prefix target = null;
            boolean free = prefixes.getLast().tokens.length == 0; // free slots stay last: none was used yet
            int most = 0;
            for (Prefix p : prefixes) {
                if (!p.plan.equals(plan)) {
                    continue;
                }
                int common = commonPrefix(p.tokens, tokens, tokens.length);
                if (common == tokens.length && (rollsBack || common == p.tokens.length)) {
                    return; // already kept, whole (a recurrent state only as long as these)
                }
                boolean samePrompt = common >= Math.max(p.prompt, prompt);
                if (common > most && (samePrompt || !free && 2 * common >= p.tokens.length) && !extendsParting(p, tokens)) {
                    most = common;
                    target = p;
                }
            }
            if (target == null && free) {
                target = prefixes.getLast();
            } else if (target == null) {
                // the least recently used one that these tokens do not extend from a parting point; a prompt
                // under a plan serves only requests under the same plan: it never displaces a plain one
                for (Prefix p : prefixes) {
                    if ((plan.edits().isEmpty() || !p.plan.edits().isEmpty()) && !extendsParting(p, tokens)) {
                        target = p;
                    }
                }
                if (target == null) {
                    return;
                }
            }
            session.clearSequence(target.sequence);
            session.copySequence(sequence, target.sequence, 0, tokens.length);
            target.tokens = tokens;
            target.prompt = Math.min(prompt, tokens.length);
            target.plan = plan;
            target.parting = parting;
            prefixes.remove(target);
            prefixes.addFirst(target);
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code p} is a state kept where prompts part that {@code tokens} extend (and so could not serve in its place). */
    private static boolean extendsParting(Prefix p, int[] tokens) {
        return p.parting && p.tokens.length < tokens.length && commonPrefix(p.tokens, tokens, tokens.length) == p.tokens.length;
    }

    /** Length of the common prefix of {@code a} and {@code b[0, bLength)}. */
    private static int commonPrefix(int[] a, int[] b, int bLength) {
        int n = Math.min(a.length, bLength), i = Arrays.mismatch(a, 0, n, b, 0, n);
        return i < 0 ? n : i;
    }

    /** Starts or ends a stall (rows ready, a lane still reading) after the queue or the readers changed; under the lock. */
    private void updateStall() {
        boolean stalled = !waiting.isEmpty() && !reading.isEmpty();
        if (stalled && stalledSince < 0) {
            stalledSince = System.nanoTime();
        } else if (!stalled && stalledSince >= 0) {
            stalledNanos += System.nanoTime() - stalledSince;
            stalledSince = -1;
        }
    }

    /** The lane will not read the last step's outputs again. */
    void release(LoopLane lane) {
        lock.lock();
        try {
            if (reading.remove(lane) && reading.isEmpty()) {
                work.signal();
            }
            updateStall();
        } finally {
            lock.unlock();
        }
    }

    /** Stops the lane's waiting or next submission (not a step in flight: its rows finish, then it fails). */
    void abort(LoopLane lane) {
        lock.lock();
        try {
            for (Submission s : waiting) {
                if (s.lane == lane) {
                    waiting.remove(s);
                    s.failure = new CancelledException("decode aborted");
                    s.done = true;
                    s.ready.signal();
                    break;
                }
            }
            updateStall();
        } finally {
            lock.unlock();
        }
    }

    /** Returns the lane's sequences, emptied, to the free ones. */
    void close(LoopLane lane) {
        retractAhead(lane); // rows a step decodes now: its sequences are emptied after
        lock.lock();
        try {
            reading.remove(lane);
            waiting.removeIf(s -> s.lane == lane);
            updateStall();
            for (int s : lane.sequenceIds()) {
                session.clearSequence(s);
                session.clearPlan(s);
                session.setTrace(s, TraceSpec.OFF);
                laneOf[s] = null;
                free.set(s);
            }
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        while (true) {
            List<Submission> step = new ArrayList<>();
            lock.lock();
            try {
                while (!closed && (waiting.isEmpty() || !reading.isEmpty())) {
                    work.awaitUninterruptibly();
                }
                if (closed) {
                    return;
                }
                int size = 0;
                while (!waiting.isEmpty() && size + waiting.peek().batch.size() <= session.batchSize()) {
                    Submission s = waiting.poll();
                    size += s.batch.size();
                    step.add(s);
                    maxLaneRows = Math.max(maxLaneRows, s.batch.size());
                    maxStepsWaited = Math.max(maxStepsWaited, steps.get() - s.submittedAt);
                }
                maxStepRows = Math.max(maxStepRows, size);
            } finally {
                lock.unlock();
            }
            long start = System.nanoTime();
            decodeStep(step, start);
            busyNanos.addAndGet(System.nanoTime() - start);
        }
    }

    /** Decodes {@code step}, which started at {@code start} (System.nanoTime), and wakes its lanes. */
    private void decodeStep(List<Submission> step, long start) {
        step.sort(Comparator.comparingInt(s -> s.batch.sequence(0))); // lanes by slot: see the class comment
        Batch.Builder all = Batch.builder();
        boolean embeddings = false;
        for (Submission s : step) {
            Batch b = s.batch;
            s.offset = all.size();
            for (int i = 0; i < b.size(); i++) {
                all.add(b.token(i), b.position(i), b.sequence(i), b.output(i));
            }
            embeddings |= s.embeddings;
        }
        RuntimeException failure = null;
        int decoded = 0;
        try {
            session.setEmbeddings(embeddings);
            session.decode(all.build());
            for (Submission s : step) {
                if (s.step != null) {
                    try {
                        s.picked = s.step.pick(new Outputs(s.offset));
                    } catch (RuntimeException e) {
                        s.pickFailure = e;
                    }
                }
            }
            distribute(session.drainTrace());
            decoded = all.size();
        } catch (InvalidRequestException e) {
            // the batch was refused before any native work: fail the lanes whose rows are wrong, decode the rest
            List<Submission> valid = new ArrayList<>();
            for (Submission s : step) {
                try {
                    session.check(s.batch);
                    valid.add(s);
                } catch (InvalidRequestException wrong) {
                    finish(List.of(s), wrong, 0, start);
                }
            }
            if (valid.size() < step.size()) {
                if (!valid.isEmpty()) {
                    decodeStep(valid, start);
                }
                return;
            }
            failure = e;
        } catch (RuntimeException e) {
            LOG.warn("a decode step of {} lanes failed: {}", step.size(), e.toString());
            failure = e;
        }
        finish(step, failure, decoded, start);
    }

    /**
     * Counts a step that started at {@code start} and decoded {@code decoded} rows (0: none), tells the
     * step observer, and wakes its lanes: with {@code failure},
     * or as readers of the step's outputs. Counted under the lock with the rest, so that {@link #stats}
     * never shows a step whose lanes are not woken yet.
     */
    private void finish(List<Submission> step, RuntimeException failure, int decoded, long start) {
        lock.lock();
        try {
            if (decoded > 0) {
                steps.incrementAndGet();
                rows.addAndGet(decoded);
                stepObserver.stepDecoded(decoded, System.nanoTime() - start);
            }
            for (Submission s : step) {
                s.failure = failure != null ? failure : s.lane.aborted() ? new CancelledException("decode aborted") : s.pickFailure;
                s.done = true;
                boolean asked = s.step == null || s.adopted; // rows queued ahead and not adopted yet: no one waits
                if (!asked) {
                    picksUnclaimed.incrementAndGet();
                }
                if (s.failure == null && asked && (s.step == null || !queueAhead(s))) {
                    // before any next step can start, not when the lane's thread wakes: it reads the outputs,
                    // or it has its pick and submits its next rows after (steps stay in lockstep)
                    reading.add(s.lane);
                }
                s.ready.signal();
            }
            updateStall();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Queues the rows of the pick of {@code s}, a submission its lane asked for, if its step allows and
     * the lane is still there; returns whether it did.
     */
    private boolean queueAhead(Submission s) {
        LoopLane lane = s.lane;
        int position = s.position + 1;
        if (s.last || lane.ahead != null || laneOf[s.batch.sequence(0)] != lane
                || position >= lane.sequenceContextSize() || session.model().isEndOfGeneration(s.picked)) {
            return false; // an end of generation is never decoded: the answer ends there
        }
        Submission next = new Submission(lane, lane.toSession(s.step.rows(s.picked, position), 0), false, steps.get());
        next.pick(s.step, s.picked, position);
        lane.ahead = next;
        rowsAhead.addAndGet(next.batch.size());
        waiting.add(next);
        work.signal();
        return true;
    }

    /** A submission's output rows, read in the loop's thread. */
    private final class Outputs implements DecodeOutputs {
        private final int offset;

        Outputs(int offset) {
            this.offset = offset;
        }

        @Override
        public float[] logits(int batchIndex) {
            return session.logits(offset + batchIndex);
        }

        @Override
        public int argmax(int batchIndex) {
            return session.argmax(offset + batchIndex);
        }

        @Override
        public int sample(Sampler sampler, int batchIndex) {
            return session.sample(sampler, offset + batchIndex);
        }

        @Override
        public int pickContrast(Sampler sampler, int strongIndex, int weakIndex, float alpha, float beta) {
            return session.pickContrast(sampler, offset + strongIndex, offset + weakIndex, alpha, beta);
        }

        @Override
        public float[] contrastScores(int strongIndex, int weakIndex, float alpha, float beta) {
            return session.contrastScores(offset + strongIndex, offset + weakIndex, alpha, beta);
        }
    }

    /** Each lane gets the trace rows of its own sequences. */
    private void distribute(RouterTrace trace) {
        for (TokenRoute r : trace.routes()) {
            LoopLane lane = laneOf[r.sequence()];
            if (lane != null) {
                lane.traced(r);
            }
        }
        for (TokenProbabilities p : trace.probabilities()) {
            LoopLane lane = laneOf[p.sequence()];
            if (lane != null) {
                lane.traced(p);
            }
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            work.signal();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
