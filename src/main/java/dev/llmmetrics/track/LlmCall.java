package dev.llmmetrics.track;

/**
 * The LLM call a {@link CallTracker} runs and times.
 *
 * @param <R> the response type
 * @param <X> the exception the call may throw; {@link CallTracker#track} rethrows it unchanged
 */
@FunctionalInterface
public interface LlmCall<R, X extends Throwable> {

    /** Makes the call. */
    R call() throws X;
}
