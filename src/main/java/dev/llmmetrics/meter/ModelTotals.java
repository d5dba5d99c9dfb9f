package dev.llmmetrics.meter;

/**
 * Totals of one model since start, read from its meters.
 *
 * @param model                 the model label ({@code _other} gathers the models past the bound)
 * @param requests              requests that completed or failed
 * @param successfulRequests    requests that completed
 * @param failedRequests        requests that failed
 * @param promptTokens          prompt tokens of the completed requests
 * @param completionTokens      completion tokens of the completed requests
 * @param successDurationSeconds summed duration of the completed requests, in seconds
 * @param inFlight              requests started and not yet finished, as the session store counts them
 */
public record ModelTotals(String model, long requests, long successfulRequests, long failedRequests,
                          long promptTokens, long completionTokens, double successDurationSeconds, long inFlight) {
}
