package dev.llmmetrics.server;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Deadlines on a connection's reads of a client's bytes. A deadline belongs to the thread that starts it, the
 * connection's own; if it passes before {@link Deadline#end()}, that thread is interrupted, and the interrupt
 * closes the socket its blocked read waits on. Only reads of the request are ever under a deadline, never a
 * handler's work, so the interrupt cannot land in the session store's write.
 */
final class ReadDeadlines implements AutoCloseable {

    private final ScheduledThreadPoolExecutor timer;

    ReadDeadlines() {
        timer = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().name("llm-metrics-read-deadlines").daemon(true).factory());
        timer.setRemoveOnCancelPolicy(true);
    }

    /** Starts a deadline {@code timeout} from now for the calling thread. */
    Deadline start(Duration timeout) {
        Deadline deadline = new Deadline(Thread.currentThread());
        deadline.task = timer.schedule(deadline::expire, timeout.toNanos(), TimeUnit.NANOSECONDS);
        return deadline;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /** One deadline: running until ended by its thread or expired by the timer, whichever comes first. */
    static final class Deadline {
        private static final int RUNNING = 0;
        private static final int ENDED = 1;
        private static final int EXPIRED = 2;

        private final AtomicInteger state = new AtomicInteger(RUNNING);
        private final Thread thread;
        private volatile ScheduledFuture<?> task;

        private Deadline(Thread thread) {
            this.thread = thread;
        }

        private void expire() {
            if (state.compareAndSet(RUNNING, EXPIRED)) {
                thread.interrupt();
            }
        }

        /**
         * Ends the deadline, from its thread.
         *
         * @return {@code true} if it ended in time; {@code false} if it expired first: the thread is or will be
         *         interrupted and the connection's socket closed, so the caller must close the connection
         */
        boolean end() {
            if (state.compareAndSet(RUNNING, ENDED)) {
                task.cancel(false);
                return true;
            }
            return false;
        }
    }
}
