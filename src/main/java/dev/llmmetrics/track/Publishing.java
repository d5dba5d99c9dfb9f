package dev.llmmetrics.track;

import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.RecordingFailedException;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Publishes the tracker's events so that metrics never break the call they measure: an event the store
 * could not record is dropped, counted, and logged at most once a minute, and the caller's call goes on.
 */
final class Publishing {

    private static final Logger LOG = System.getLogger(CallTracker.class.getName());
    private static final long LOG_INTERVAL_NANOS = 60_000_000_000L;
    private static final LongAdder DROPPED = new LongAdder();
    private static final AtomicLong LAST_LOG_NANOS = new AtomicLong(System.nanoTime() - LOG_INTERVAL_NANOS);

    private Publishing() {
    }

    static void publish(EventBus bus, Event event) {
        try {
            bus.publish(event);
        } catch (RecordingFailedException e) {
            DROPPED.increment();
            long now = System.nanoTime();
            long last = LAST_LOG_NANOS.get();
            if (now - last >= LOG_INTERVAL_NANOS && LAST_LOG_NANOS.compareAndSet(last, now)) {
                LOG.log(Level.WARNING, "LLM call events could not be recorded and were dropped ({0} so far): {1}",
                        DROPPED.sum(), e.getMessage());
            }
        }
    }

    /** Events dropped since the process started because the store could not record them. */
    static long dropped() {
        return DROPPED.sum();
    }
}
