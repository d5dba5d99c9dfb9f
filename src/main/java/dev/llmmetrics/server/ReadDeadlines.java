package dev.llmmetrics.server;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
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
 * <p>One thread sweeps the started deadlines every {@code resolution}, so a deadline passes up to that much
 * late. Starting or ending one neither takes a lock nor wakes that thread: a timer task per deadline would
 * do both for nearly every request, since a request's deadlines end within microseconds of starting. Ended
 * deadlines wait for the next sweep; past {@link #SWEEP_AT} started since the last one, a sweep runs at
 * once, so that their number stays bounded whatever the request rate.
 */
final class ReadDeadlines implements AutoCloseable {

    /** Deadlines started since the last sweep past which the next one runs at once. */
    static final int SWEEP_AT = 16_384;

    private static final Logger LOG = System.getLogger(ReadDeadlines.class.getName());
    private static final Duration FINEST = Duration.ofMillis(10);
    private static final Duration COARSEST = Duration.ofSeconds(1);

    private final Queue<Deadline> started = new ConcurrentLinkedQueue<>();
    private final AtomicInteger sinceSweep = new AtomicInteger();
    private final int sweepAt;
    private final ScheduledThreadPoolExecutor sweeper;

    /** @param resolution how late a deadline may pass; kept between 10 ms and 1 s */
    ReadDeadlines(Duration resolution) {
        this(Duration.ofNanos(Math.clamp(resolution.toNanos(), FINEST.toNanos(), COARSEST.toNanos())), SWEEP_AT);
    }

    /** A sweep every {@code period}, and at once past {@code sweepAt} deadlines started since the last. */
    ReadDeadlines(Duration period, int sweepAt) {
        this.sweepAt = sweepAt;
        sweeper = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().name("llm-metrics-read-deadlines").daemon(true).factory());
        sweeper.scheduleAtFixedRate(this::sweep, period.toNanos(), period.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Starts a deadline {@code timeout} from now for the calling thread.
     *
     * @throws IllegalStateException once closed
     */
    Deadline start(Duration timeout) {
        if (sweeper.isShutdown()) {
            throw new IllegalStateException("the read deadlines are closed");
        }
        Deadline deadline = new Deadline(Thread.currentThread(), System.nanoTime() + timeout.toNanos());
        started.add(deadline);
        if (sinceSweep.incrementAndGet() == sweepAt) { // one starter per sweep sees the count reach it
            sweeper.execute(this::sweep);
        }
        return deadline;
    }

    /** How many deadlines wait for a sweep, ended or not. */
    int waiting() {
        return started.size();
    }

    /**
     * Drops the deadlines that ended and expires those that passed. Nothing escapes it: a sweep that threw
     * would stop the ones after it, and with them every later deadline.
     */
    private void sweep() {
        sinceSweep.set(0);
        long now = System.nanoTime();
        try {
            for (Iterator<Deadline> each = started.iterator(); each.hasNext(); ) {
                Deadline deadline = each.next();
                if (deadline.state.get() != Deadline.RUNNING || now - deadline.passesAt >= 0 && expire(deadline)) {
                    each.remove();
                }
            }
        } catch (Throwable e) {
            report("sweeping the read deadlines failed; the next sweep retries", e);
        }
    }

    private static boolean expire(Deadline deadline) {
        try {
            return deadline.expire();
        } catch (RuntimeException e) {
            report("interrupting a connection whose read deadline passed failed", e);
            return true;
        }
    }

    private static void report(String what, Throwable e) {
        try {
            LOG.log(Level.ERROR, what, e);
        } catch (Throwable ignored) {
            // out of memory, most likely: the sweeps go on all the same
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
        private final long passesAt;
        /** Cleared once ended, so that a deadline waiting for the sweep does not keep a finished thread. */
        private Thread thread;

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
            if (state.compareAndSet(RUNNING, ENDED)) {
                thread = null; // only the winner of the state reads it
                return true;
            }
            return false;
        }
    }
}
