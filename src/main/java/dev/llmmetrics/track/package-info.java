/**
 * Publishes the three LLM request events around an LLM call, correctly.
 *
 * <p>{@code tracker.call(sessionId, model)} describes a call; its {@link
 * dev.llmmetrics.track.CallTracker.Call#track track} wraps a blocking call, and its {@link
 * dev.llmmetrics.track.CallTracker.Call#start start} returns an {@link dev.llmmetrics.track.InFlightCall}
 * handle for streaming calls whose usage arrives at the end.
 *
 * <p>References are non-null unless marked {@code @Nullable}, which is how an absent value is written.
 */
@NullMarked
package dev.llmmetrics.track;

import org.jspecify.annotations.NullMarked;
