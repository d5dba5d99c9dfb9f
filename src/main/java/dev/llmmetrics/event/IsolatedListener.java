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
 * <p>{@link #close(Duration)} stops taking events and gives the worker a bounded time to deliver those queued;
 * {@link #close()} gives it none. Every event that never reached the wrapped listener, for want of room, because it
 * came after the close, or because it was still queued when the worker stopped, is counted in {@link #dropped()}.
 *
 * <pre>{@code
 * IsolatedListener exporter = IsolatedListener.of("exporter", event -> remote.send(event), 10_000, Duration.ZERO);
 * bus.subscribeToAll(exporter);
 * }</pre>
 */
public final class IsolatedListener implements EventListener, AutoCloseable {

    private static final Logger LOG = System.getLogger(IsolatedListener.class.getName());
    /** Put in the queue by close to wake a worker waiting on it; never delivered. */
    private static final Event END = new GenericEvent("END", null);
    /** The largest capacity: the queue is an array of that many references, made at once so that queuing allocates nothing. */
    public static final int MAX_CAPACITY = 1 << 24;

    private final String name;
    private final EventListener delegate;
    private final ArrayBlockingQueue<Event> queue;
    private final long maxWaitNanos;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final Thread worker;
    /** Set by close: no event is queued from then on, and the worker ends once the queue is empty. */
    private volatile boolean closed;
    /** Set when close stops waiting: the worker delivers no more events. */
    private volatile boolean stopped;

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
     * @param capacity events queued at most; 1 to {@value #MAX_CAPACITY}
     * @param maxWait  the longest a publisher waits for room before the event is dropped for this listener; not
     *                 negative, and past {@code Long.MAX_VALUE} nanoseconds a wait without end
     */
    public static IsolatedListener of(String name, EventListener delegate, int capacity, Duration maxWait) {
        Objects.requireNonNull(delegate, "delegate");
        if (capacity < 1 || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("capacity must be 1 to " + MAX_CAPACITY + ": " + capacity);
        }
        if (maxWait == null || maxWait.isNegative()) {
            throw new IllegalArgumentException("maxWait must not be negative: " + maxWait);
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
        } else if (closed && queue.remove(event)) {
            // Queued after the close, perhaps after the worker's last look at the queue: taken back and counted,
            // unless the worker took it first. Each event is either delivered or counted.
            dropped.increment();
        }
    }

    /**
     * Events this listener never delivered: dropped because its queue stayed full, published after
     * {@link #close(Duration) close}, or still queued when the worker was stopped.
     */
    public long dropped() {
        return dropped.sum();
    }

    /** Exceptions the wrapped listener threw. */
    public long failures() {
        return failures.sum();
    }

    /**
     * Stops at once: the worker delivers no further event (the one it is delivering, if any, is interrupted) and
     * the events still queued are dropped. The same as {@code close(Duration.ZERO)}. Unsubscribe the listener
     * first.
     */
    @Override
    public void close() {
        stopTaking();
        stopWorker();
    }

    /**
     * Stops taking events, then lets the worker deliver those already queued for at most {@code drain}; past that
     * the worker is interrupted and what is still queued is dropped. Unsubscribe the listener first.
     *
     * @param drain how long to wait for the queued events to be delivered; not negative
     * @return whether every queued event was delivered (or failed in the listener) within {@code drain}
     * @throws InterruptedException when the calling thread is interrupted while it waits; the worker is then
     *                              stopped as if {@code drain} had passed
     */
    public boolean close(Duration drain) throws InterruptedException {
        if (Objects.requireNonNull(drain, "drain").isNegative()) {
            throw new IllegalArgumentException("drain must not be negative");
        }
        stopTaking();
        boolean drained = false;
        try {
            drained = worker.join(drain);
        } finally {
            if (!drained) {
                stopWorker();
            }
        }
        return drained;
    }

    private void stopTaking() {
        closed = true;
        // Wakes a worker waiting on an empty queue. When the queue is full the worker is not waiting, and it
        // sees the flag after its delivery.
        queue.offer(END);
    }

    /** Interrupts the worker, if it still runs, and drops what is still queued. */
    private void stopWorker() {
        if (worker.isAlive()) {
            stopped = true;
            worker.interrupt();
        }
        dropUndelivered();
    }

    /** Counts the events left in the queue as dropped; each event is taken either here or by the worker. */
    private void dropUndelivered() {
        for (Event left = queue.poll(); left != null; left = queue.poll()) {
            if (left != END) {
                dropped.increment();
            }
        }
    }

    private void drain() {
        while (true) {
            Event event;
            try {
                event = closed ? queue.poll() : queue.take();
            } catch (InterruptedException e) {
                if (stopped) {
                    dropUndelivered();
                    return;
                }
                continue;
            }
            if (event == null || event == END) { // only once closed
                dropUndelivered(); // events of publishers that checked the flag before the close
                return;
            }
            if (stopped) {
                dropped.increment();
                dropUndelivered();
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
