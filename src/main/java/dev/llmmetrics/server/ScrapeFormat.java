package dev.llmmetrics.server;

import java.util.List;
import java.util.Locale;

/**
 * The formats {@code GET /metrics} writes, and the choice among them by the request's {@code Accept} header
 * with its q-values (RFC 9110 section 12.5.1): the format the client rates highest, never one it rates
 * {@code q=0}. Prometheus' own client library picks the first format its header merely names, refused or not.
 *
 * <p>The constants are in the order the client library prefers them when the client rates them alike. Only a
 * media type that names a format selects it, its parameters other than {@code q} aside (versions are not told
 * apart; the protobuf format must name {@code proto=io.prometheus.client.MetricFamily}, as the library requires);
 * a wildcard ({@code *}{@code /*}, {@code text/*}) stands for the default text format alone, so that a browser's
 * or a generic tool's header gets the text. A header that accepts none of the formats, or names none, gets
 * the text format too: the scrape is then answered as if it had not asked.
 */
enum ScrapeFormat {

    /** Prometheus protobuf, delimited {@code MetricFamily} messages. */
    PROTOBUF,
    /** OpenMetrics text 1.0.0. */
    OPENMETRICS,
    /** Prometheus text format 0.0.4, the default. */
    TEXT;

    /** A media range's weight when it names no q. */
    private static final int FULL = 1000;
    /** What a format that no range names weighs: less than any range's own. */
    private static final int UNNAMED = -1;

    /**
     * The format for the {@code Accept} header given in {@code lines} (none, one, or several lines, which count as
     * one list).
     *
     * @param protobuf whether the protobuf format can be written
     */
    static ScrapeFormat negotiate(List<String> lines, boolean protobuf) {
        // Weights in thousandths, UNNAMED when no range names the format; text's wildcard ranges apart.
        int[] named = {UNNAMED, UNNAMED, UNNAMED};
        int textWildcard = UNNAMED;
        int anyWildcard = UNNAMED;
        for (String line : lines) {
            int start = 0;
            while (start <= line.length()) {
                int end = rangeEnd(line, start);
                String range = line.substring(start, end).strip();
                start = end + 1;
                if (range.isEmpty()) {
                    continue;
                }
                int semicolon = range.indexOf(';');
                String type = (semicolon < 0 ? range : range.substring(0, semicolon)).strip().toLowerCase(Locale.ROOT);
                String parameters = semicolon < 0 ? "" : range.substring(semicolon + 1);
                int weight = weight(parameters);
                if (weight < 0) {
                    continue; // a malformed q: the range is left out
                }
                switch (type) {
                    case "application/vnd.google.protobuf" -> {
                        if (parameters.contains("proto=io.prometheus.client.MetricFamily")) {
                            named[PROTOBUF.ordinal()] = Math.max(named[PROTOBUF.ordinal()], weight);
                        }
                    }
                    case "application/openmetrics-text" ->
                            named[OPENMETRICS.ordinal()] = Math.max(named[OPENMETRICS.ordinal()], weight);
                    case "text/plain" -> named[TEXT.ordinal()] = Math.max(named[TEXT.ordinal()], weight);
                    case "text/*" -> textWildcard = Math.max(textWildcard, weight);
                    case "*/*" -> anyWildcard = Math.max(anyWildcard, weight);
                    default -> {
                        // Another type: none of the formats.
                    }
                }
            }
        }
        // The most specific range that matches text decides its weight.
        if (named[TEXT.ordinal()] == UNNAMED) {
            named[TEXT.ordinal()] = textWildcard != UNNAMED ? textWildcard : anyWildcard;
        }
        if (!protobuf) {
            named[PROTOBUF.ordinal()] = UNNAMED;
        }
        ScrapeFormat best = TEXT;
        int bestWeight = 0;
        for (ScrapeFormat format : values()) {
            if (named[format.ordinal()] > bestWeight) {
                best = format;
                bestWeight = named[format.ordinal()];
            }
        }
        return best;
    }

    /** Where the media range starting at {@code start} ends: at the next comma outside a quoted string. */
    private static int rangeEnd(String line, int start) {
        boolean quoted = false;
        for (int i = start; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted && c == '\\') {
                i++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                return i;
            }
        }
        return line.length();
    }

    /**
     * The range's q in thousandths, {@link #FULL} when it gives none, -1 when its q is not a qvalue
     * ({@code 0} to {@code 1} with at most three decimals).
     */
    private static int weight(String parameters) {
        int q = FULL;
        for (String parameter : parameters.split(";")) {
            int eq = parameter.indexOf('=');
            if (eq < 0 || !parameter.substring(0, eq).strip().equalsIgnoreCase("q")) {
                continue;
            }
            String value = parameter.substring(eq + 1).strip();
            if (!value.matches("0(\\.[0-9]{0,3})?|1(\\.0{0,3})?")) {
                return -1;
            }
            q = value.charAt(0) == '1' ? FULL : value.length() <= 2 ? 0
                    : Integer.parseInt((value.substring(2) + "00").substring(0, 3));
        }
        return q;
    }
}
