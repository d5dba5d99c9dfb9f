/**
 * Turns LLM request events into Micrometer meters and session store updates.
 *
 * <p>{@link dev.llmmetrics.meter.SessionMetricsCollector} is a Micrometer
 * {@link io.micrometer.core.instrument.binder.MeterBinder} and an
 * {@link dev.llmmetrics.event.EventListener}: bind it to a registry, subscribe it to the three LLM
 * event types, and every event updates the per-model meters, the per-session meters and the store.
 */
package dev.llmmetrics.meter;
