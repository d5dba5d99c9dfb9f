/**
 * llm-metrics inside an application: {@link dev.llmmetrics.LlmMetrics} wires the event bus, the call
 * tracker, the session store and the meters; {@link dev.llmmetrics.LlmMetricsConfig} holds their bounds.
 *
 * <p>Data flows one way: a producer publishes an event on the bus, and the bus hands it to independent
 * listeners, the session store ({@code dev.llmmetrics.session}) and the per-model meters
 * ({@code dev.llmmetrics.meter}). Readers pull: the per-session series ({@code dev.llmmetrics.prometheus})
 * and the server's JSON read the store.
 *
 * <p>Absence is said one way in every package: nothing is {@code null} unless annotated {@code @Nullable}
 * (each package is {@code @NullMarked}); a lookup that may find nothing returns an {@code Optional}, and a part of
 * a value that may be absent (an event's correlation id, a model's price) is a {@code @Nullable} component.
 */
@NullMarked
package dev.llmmetrics;

import org.jspecify.annotations.NullMarked;
