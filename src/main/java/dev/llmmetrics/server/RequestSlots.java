package dev.llmmetrics.server;

import io.helidon.common.concurrency.limits.Limit;
import io.helidon.common.concurrency.limits.LimitAlgorithm;
import io.helidon.webserver.http.ServerRequest;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The cap on requests handled at once ({@code http.max.concurrent.requests}), as Helidon's concurrency limit: a
 * request past it gets Helidon's 503, answered {@code overloaded}. It does what Helidon's fixed limit does, and one
 * thing more: a request whose answer is sent can give its slot back before Helidon ends the request, with
 * {@link #giveBack(ServerRequest)}, so that what the server still reads of a body it did not need (to discard it,
 * at the client's pace) holds a connection but no slot. A slot is given back once, whichever comes first.
 */
final class RequestSlots implements Limit {

    private final int permits;
    private final Semaphore free;

    /** @param permits the most requests handled at once; positive */
    RequestSlots(int permits) {
        if (permits < 1) {
            throw new IllegalArgumentException("permits must be positive, was " + permits);
        }
        this.permits = permits;
        this.free = new Semaphore(permits);
    }

    /**
     * Gives back the slot of {@code request}, handled on the calling thread, if it holds one of these slots; Helidon's
     * own release at the request's end then does nothing.
     */
    static void giveBack(ServerRequest request) {
        if (request.context().get(LimitAlgorithm.Outcome.class).orElse(null) instanceof LimitAlgorithm.Outcome.Accepted accepted
                && accepted.token() instanceof Slot slot && slot.holder == Thread.currentThread()) {
            slot.giveBack();
        }
    }

    @Override
    @SuppressWarnings("removal") // the one acquiring method Limit leaves abstract; Helidon wraps it in an outcome
    public Optional<Token> tryAcquire(boolean wait) {
        return free.tryAcquire() ? Optional.of(new Slot(free, Thread.currentThread())) : Optional.empty();
    }

    @Override
    @SuppressWarnings("removal")
    public Optional<Token> tryAcquire() {
        return tryAcquire(true);
    }

    @Override
    public Limit copy() {
        return new RequestSlots(permits);
    }

    @Override
    public String name() {
        return "llm-metrics";
    }

    @Override
    public String type() {
        return "fixed";
    }

    /** One request's slot, given back at most once however often it is released. */
    private static final class Slot extends AtomicBoolean implements Token {
        private final Semaphore free;
        /** The thread that handles the request, which alone may give the slot back early. */
        private final Thread holder;

        Slot(Semaphore free, Thread holder) {
            this.free = free;
            this.holder = holder;
        }

        void giveBack() {
            if (compareAndSet(false, true)) {
                free.release();
            }
        }

        @Override
        public void dropped() {
            giveBack();
        }

        @Override
        public void ignore() {
            giveBack();
        }

        @Override
        public void success() {
            giveBack();
        }
    }
}
