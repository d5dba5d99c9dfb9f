package dev.llmmetrics.event;

import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Runs a listener that may be slow or block (one that writes to a remote system, say) on a thread of its
 * own, behind a bounded queue, so that it cannot hold up the publisher or the other listeners.
 *
 * <p>The bus calls listeners on the publisher's thread; a listener subscribed through this wrapper only
 * has the event queued there. When its queue is full, the publisher waits at most {@code maxWait} for
 * room, then drops the event for this listener alone and counts it in {@link #dropped()}: that is the
 * documented bound on what a stalled listener costs a publisher. The other listeners, the store and the
 * meters are never affected. Exceptions of the wrapped listener are logged and counted in
 * {@link #failures()}.
 *
 * <pre>{@code
 * IsolatedListener exporter = IsolatedListener.of("exporter", event -> remote.send(event), 10_000, Duration.ZERO);
 * bus.subscribeToAll(exporter);
 * }</pre>
 */
public final class IsolatedListener implements EventListener, AutoCloseable {

    private static final Logger LOG = System.getLogger(IsolatedListener.class.getName());

    private final String name;
    private final EventListener delegate;
    private final ArrayBlockingQueue<Event> queue;
    private final long maxWaitNanos;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final Thread worker;
    private volatile boolean closed;

    private IsolatedListener(String name, EventListener delegate, int capacity, Duration maxWait) {
        this.name = name;
        this.delegate = delegate;
        this.queue = new ArrayBlockingQueue<>(capacity);
        // A wait past what nanoseconds count (292 years) is a wait without end.
        this.maxWaitNanos = maxWait.compareTo(Duration.ofNanos(Long.MAX_VALUE)) > 0 ? Long.MAX_VALUE : maxWait.toNanos();
        this.worker = Thread.ofVirtual().name("llm-metrics-listener-" + name).start(this::drain);
    }

    /**
     * Wraps {@code delegate}.
     *
     * @param name     names the worker thread and the log lines
     * @param capacity events queued at most; positive
     * @param maxWait  the longest a publisher waits for room before the event is dropped for this listener; not
     *                 negative, and past {@code Long.MAX_VALUE} nanoseconds a wait without end
     */
    public static IsolatedListener of(String name, EventListener delegate, int capacity, Duration maxWait) {
        Objects.requireNonNull(delegate, "delegate");
        if (capacity < 1 || maxWait == null || maxWait.isNegative()) {
            throw new IllegalArgumentException("capacity must be positive and maxWait not negative");
        }
        return new IsolatedListener(Objects.requireNonNull(name, "name"), delegate, capacity, maxWait);
    }

    @Override
    public void onEvent(Event event) {
        if (closed) {
            dropped.increment();
            return;
        }
        boolean queued;
        try {
            queued = maxWaitNanos == 0 ? queue.offer(event) : queue.offer(event, maxWaitNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            queued = false;
        }
        if (!queued) {
            dropped.increment();
        }
    }

    /** Events dropped for this listener because its queue stayed full. */
    public long dropped() {
        return dropped.sum();
    }

    /** Exceptions the wrapped listener threw. */
    public long failures() {
        return failures.sum();
    }

    /** Stops the worker; events still queued are dropped. Unsubscribe the listener first. */
    @Override
    public void close() {
        closed = true;
        worker.interrupt();
    }

    private void drain() {
        while (!closed) {
            Event event;
            try {
                event = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                delegate.onEvent(event);
            } catch (VirtualMachineError fatal) {
                throw fatal;
            } catch (Throwable failure) {
                failures.increment();
                LOG.log(Level.WARNING, () -> "Isolated listener " + name + " failed on a " + event.type() + " event", failure);
            }
        }
    }
}
