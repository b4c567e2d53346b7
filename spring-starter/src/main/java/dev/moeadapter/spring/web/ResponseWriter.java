package dev.moeadapter.spring.web;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * One response's writes, made in order on a thread of their own: the generating thread only queues
 * them and goes on. With continuous batching every decode step waits for each lane's next token, so
 * a lane that wrote and flushed each token itself (system calls, a wake-up of the client) would hold
 * up the step of every other request; and a client that stops reading blocks only this thread, not
 * its generation. A platform thread: a virtual one would wait for a carrier while generating virtual
 * threads hold them all in native decodes, and the tokens would go out in bursts.
 */
final class ResponseWriter {
    private final ExecutorService thread = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("moe-response-writer").factory());

    /** Queues {@code write} after those queued before it; ignored once the response is finished. */
    void queue(Runnable write) {
        try {
            thread.execute(write);
        } catch (RejectedExecutionException finished) {
            // a keep-alive that raced the end of the response: nothing is left to keep alive
        }
    }

    /** Waits until every write queued so far has been made (or has failed). */
    void finish() {
        thread.close();
    }
}
