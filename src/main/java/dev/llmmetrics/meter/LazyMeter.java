package dev.llmmetrics.meter;

import io.micrometer.core.instrument.Meter;
import java.util.function.Supplier;

/**
 * A meter registered on its first use, so that a series appears with its first value: a model never
 * priced shows no cost of 0, a model never streamed no empty time-to-first-token histogram. After the
 * first use, {@link #get()} is one volatile read. Thread-safe.
 */
final class LazyMeter<M extends Meter> {

    private final Supplier<M> register;
    private volatile M meter;

    /** @param register registers the meter; called once */
    LazyMeter(Supplier<M> register) {
        this.register = register;
    }

    M get() {
        M registered = meter;
        return registered != null ? registered : register();
    }

    private synchronized M register() {
        if (meter == null) {
            meter = register.get();
        }
        return meter;
    }
}
