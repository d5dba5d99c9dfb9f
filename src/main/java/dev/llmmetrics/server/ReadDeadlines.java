package dev.llmmetrics.server;

import java.time.Duration;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Deadlines on a connection's reads of a client's bytes. A deadline belongs to the thread that starts it, the
 * connection's own; if it passes before {@link Deadline#end()}, that thread is interrupted, and the interrupt
 * closes the socket its blocked read waits on. Only reads of the request are ever under a deadline, never a
 * handler's work, so the interrupt cannot land in the session store's write.
 *
 * <p>One thread sweeps the running deadlines every {@code resolution}, so a deadline passes up to that much
 * late. Starting or ending one neither takes a lock nor wakes that thread: a timer task per deadline would
 * do both for nearly every request, since a request's deadlines end within microseconds of starting.
 */
final class ReadDeadlines implements AutoCloseable {

    private static final Duration FINEST = Duration.ofMillis(10);
    private static final Duration COARSEST = Duration.ofSeconds(1);

    private final Queue<Deadline> running = new ConcurrentLinkedQueue<>();
    private final ScheduledThreadPoolExecutor sweeper;

    /** @param resolution how late a deadline may pass; kept between 10 ms and 1 s */
    ReadDeadlines(Duration resolution) {
        long period = Math.clamp(resolution.toNanos(), FINEST.toNanos(), COARSEST.toNanos());
        sweeper = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().name("llm-metrics-read-deadlines").daemon(true).factory());
        sweeper.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.NANOSECONDS);
    }

    /** Starts a deadline {@code timeout} from now for the calling thread. */
    Deadline start(Duration timeout) {
        Deadline deadline = new Deadline(Thread.currentThread(), System.nanoTime() + timeout.toNanos());
        running.add(deadline);
        return deadline;
    }

    /** Drops the deadlines that ended and expires those that passed. */
    private void sweep() {
        long now = System.nanoTime();
        for (Iterator<Deadline> each = running.iterator(); each.hasNext(); ) {
            Deadline deadline = each.next();
            if (deadline.state.get() != Deadline.RUNNING || now - deadline.passesAt >= 0 && deadline.expire()) {
                each.remove();
            }
        }
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
    }

    /** One deadline: running until ended by its thread or expired by the sweeper, whichever comes first. */
    static final class Deadline {
        private static final int RUNNING = 0;
        private static final int ENDED = 1;
        private static final int EXPIRED = 2;

        private final AtomicInteger state = new AtomicInteger(RUNNING);
        private final Thread thread;
        private final long passesAt;

        private Deadline(Thread thread, long passesAt) {
            this.thread = thread;
            this.passesAt = passesAt;
        }

        /** Interrupts the thread unless the deadline ended first; whether it did. */
        private boolean expire() {
            if (state.compareAndSet(RUNNING, EXPIRED)) {
                thread.interrupt();
                return true;
            }
            return false;
        }

        /**
         * Ends the deadline, from its thread.
         *
         * @return {@code true} if it ended in time; {@code false} if it expired first: the thread is or will be
         *         interrupted and the connection's socket closed, so the caller must close the connection
         */
        boolean end() {
            return state.compareAndSet(RUNNING, ENDED);
        }
    }
}
