package dev.llmmetrics.track;

import org.jspecify.annotations.Nullable;

/**
 * The LLM call a {@link CallTracker} runs and times.
 *
 * @param <R> the response type
 * @param <X> the exception the call may throw; {@link CallTracker.Call#track} rethrows it unchanged
 */
@FunctionalInterface
public interface LlmCall<R extends @Nullable Object, X extends Throwable> {

    /** Makes the call. */
    R call() throws X;
}
