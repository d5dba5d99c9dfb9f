/**
 * One call that publishes the three LLM request events around an LLM call, correctly.
 *
 * <p>{@link dev.llmmetrics.track.CallTracker#track} wraps a blocking call; {@link
 * dev.llmmetrics.track.CallTracker#start} returns an {@link dev.llmmetrics.track.InFlightCall} handle
 * for streaming calls whose usage arrives at the end.
 */
package dev.llmmetrics.track;
