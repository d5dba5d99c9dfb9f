/**
 * Turns LLM request events into per-model Micrometer meters, on any registry.
 *
 * <p>{@link dev.llmmetrics.meter.LlmMeterBinder} is a Micrometer
 * {@link io.micrometer.core.instrument.binder.MeterBinder} and an
 * {@link dev.llmmetrics.event.EventListener}: bind it to a registry and subscribe it to the four LLM request
 * event types (started, completed, failed, scored). It reads the session store (its size and evictions) and
 * never writes it.
 */
@NullMarked
package dev.llmmetrics.meter;

import org.jspecify.annotations.NullMarked;
