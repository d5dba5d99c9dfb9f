package dev.llmmetrics.http;

import io.helidon.common.uri.UriQuery;

/** Reads bounded integer query parameters, rejecting anything else with {@link BadRequest}. */
final class QueryParams {

    private QueryParams() {
    }

    /** The parameter as an int in {@code [min, max]}, or {@code defaultValue} when absent. */
    static int intParam(UriQuery query, String name, int defaultValue, int min, int max) {
        if (!query.contains(name)) {
            return defaultValue;
        }
        String raw = query.get(name);
        try {
            long value = Long.parseLong(raw.trim());
            if (value < min || value > max) {
                throw new BadRequest("invalid_parameter", name + " must be between " + min + " and " + max);
            }
            return (int) value;
        } catch (NumberFormatException e) {
            throw new BadRequest("invalid_parameter", name + " must be a whole number");
        }
    }
}
