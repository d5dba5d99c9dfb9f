package dev.llmmetrics.session;

/**
 * What one session's successful requests cost. A request of a model the price table does not know is
 * counted in {@code unpricedRequests} and left out of {@code picoUsd}: never costed at 0.
 *
 * @param pricedRequests   successful requests whose model has a price
 * @param unpricedRequests successful requests whose model has none
 * @param picoUsd          the summed cost of the priced requests, in picodollars (10<sup>-12</sup> USD); exact up
 *                         to {@link Long#MAX_VALUE} (9.2 million USD), where it stays
 */
public record SessionCost(long pricedRequests, long unpricedRequests, long picoUsd) {

    /** No successful request yet. */
    public static final SessionCost NONE = new SessionCost(0, 0, 0);

    /** Rejects negative values. */
    public SessionCost {
        if (pricedRequests < 0 || unpricedRequests < 0 || picoUsd < 0) {
            throw new IllegalArgumentException("request counts and cost must not be negative");
        }
    }
}
