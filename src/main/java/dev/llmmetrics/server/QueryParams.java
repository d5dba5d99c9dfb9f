package dev.llmmetrics.server;

import io.helidon.common.uri.UriQuery;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Reads bounded query parameters, rejecting anything else with {@link BadRequest}. */
final class QueryParams {

    /** Enough digits for any int; more is out of range whatever they are. */
    private static final int MAX_DIGITS = 10;

    private QueryParams() {
    }

    /**
     * The parameter as an int in {@code [min, max]}, or {@code defaultValue} when absent. Only plain ASCII
     * digits are accepted: no sign, no spaces, no other characters, and the parameter at most once
     * ({@code ?limit} without a value counts as given, with an empty value).
     */
    static int intParam(UriQuery query, String name, int defaultValue, int min, int max) {
        List<String> values = values(query, name);
        if (values.isEmpty()) {
            return defaultValue;
        }
        if (values.size() > 1) {
            throw new BadRequest("invalid_parameter", name + " must be given at most once");
        }
        String raw = values.get(0);
        if (raw.isEmpty() || !isAsciiDigits(raw)) {
            throw new BadRequest("invalid_parameter", name + " must be a whole number from " + min + " to " + max);
        }
        if (raw.length() > MAX_DIGITS) {
            throw new BadRequest("invalid_parameter", name + " must be between " + min + " and " + max);
        }
        long value = Long.parseLong(raw);
        if (value < min || value > max) {
            throw new BadRequest("invalid_parameter", name + " must be between " + min + " and " + max);
        }
        return (int) value;
    }

    /**
     * The parameter's value, or empty when absent; given at most once, at most {@code maxLength} characters,
     * no control characters. An empty value ({@code ?name=} or {@code ?name}) counts as absent.
     */
    static Optional<String> stringParam(UriQuery query, String name, int maxLength) {
        List<String> values = values(query, name);
        if (values.isEmpty()) {
            return Optional.empty();
        }
        if (values.size() > 1) {
            throw new BadRequest("invalid_parameter", name + " must be given at most once");
        }
        String value = values.get(0);
        if (value.length() > maxLength) {
            throw new BadRequest("invalid_parameter", name + " must be at most " + maxLength + " characters");
        }
        for (int i = 0; i < value.length(); i++) {
            if (Character.isISOControl(value.charAt(i))) {
                throw new BadRequest("invalid_parameter", name + " must not contain control characters");
            }
        }
        return value.isEmpty() ? Optional.empty() : Optional.of(value);
    }

    /**
     * Every value given for {@code name} with {@code =}, in order, empty ones too ({@code ?name=}); a {@code name}
     * without {@code =} is left out, as the Prometheus client's exporters read their repeated {@code name[]}. At most
     * {@code maxCount} values of at most {@code maxLength} characters each.
     */
    static List<String> repeatedParam(UriQuery query, String name, int maxCount, int maxLength) {
        List<String> values = new ArrayList<>();
        String raw = query.rawValue();
        if (raw == null || raw.isEmpty()) {
            return values;
        }
        for (String pair : raw.split("&", -1)) {
            int eq = pair.indexOf('=');
            if (eq >= 0 && name.equals(decode(pair.substring(0, eq)))) {
                if (values.size() == maxCount) {
                    throw new BadRequest("invalid_parameter", name + " must be given at most " + maxCount + " times");
                }
                String value = decode(pair.substring(eq + 1));
                if (value.length() > maxLength) {
                    throw new BadRequest("invalid_parameter", "each " + name + " must be at most " + maxLength + " characters");
                }
                values.add(value);
            }
        }
        return values;
    }

    /**
     * Every value given for {@code name}, read from the raw query: Helidon's parsed query drops a name
     * given without {@code =} from the values as soon as the name also has one, which would hide a
     * duplicate.
     */
    private static List<String> values(UriQuery query, String name) {
        String raw = query.rawValue();
        List<String> values = new ArrayList<>(1);
        if (raw == null || raw.isEmpty()) {
            return values;
        }
        for (String pair : raw.split("&", -1)) {
            int eq = pair.indexOf('=');
            if (name.equals(decode(eq < 0 ? pair : pair.substring(0, eq)))) {
                values.add(eq < 0 ? "" : decode(pair.substring(eq + 1)));
            }
        }
        return values;
    }

    private static String decode(String raw) {
        try {
            return Utf8.percentDecode(raw, true);
        } catch (IllegalArgumentException e) {
            throw new BadRequest("invalid_parameter", "the query " + e.getMessage());
        }
    }

    private static boolean isAsciiDigits(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }
}
