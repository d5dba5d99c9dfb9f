package dev.llmmetrics.server;

import io.helidon.http.BadRequestException;
import io.helidon.http.HttpMediaType;
import io.helidon.http.ServerRequestHeaders;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The formats {@code GET /metrics} writes, and the choice among them by the request's {@code Accept} header
 * with its q-values (RFC 9110 section 12.5.1), as Helidon parses it: the format the client rates highest, never
 * one it rates {@code q=0} while it accepts another. Prometheus' own client library picks the first format its header merely names,
 * refused or not; Helidon's {@code bestAccepted} lets a wildcard outrank a type the client refused by name.
 *
 * <p>The constants are in the order the client library prefers them when the client rates them alike. Only a
 * media type that names a format selects it, its parameters other than {@code q} aside (versions are not told
 * apart; the protobuf format must name {@code proto=io.prometheus.client.MetricFamily}, as the library requires,
 * and no encoding but {@code delimited});
 * a wildcard ({@code *}{@code /*}, {@code text/*}) stands for the default text format alone, so that a browser's
 * or a generic tool's header gets the text. A header that accepts none of the formats, names none, or cannot be
 * parsed gets the text format: the scrape is then answered as if it had not asked.
 */
enum ScrapeFormat {

    /** Prometheus protobuf, delimited {@code MetricFamily} messages. */
    PROTOBUF,
    /** OpenMetrics text 1.0.0. */
    OPENMETRICS,
    /** Prometheus text format 0.0.4, the default. */
    TEXT;

    /** What a format that no range names weighs: less than any range's own. */
    private static final double UNNAMED = -1;

    /**
     * The format for the request's {@code Accept} header (none, one, or several lines, which count as one list).
     *
     * @param protobuf whether the protobuf format can be written
     */
    static ScrapeFormat negotiate(ServerRequestHeaders headers, boolean protobuf) {
        List<HttpMediaType> accepted;
        try {
            accepted = headers.acceptedTypes();
        } catch (BadRequestException e) {
            return TEXT; // a range Helidon cannot read, such as q=abc
        }
        double[] named = {UNNAMED, UNNAMED, UNNAMED};
        double textWildcard = UNNAMED;
        double anyWildcard = UNNAMED;
        for (HttpMediaType range : accepted) {
            double q;
            try {
                q = range.qualityFactor(); // read lazily: a header of one range is not parsed further before
            } catch (NumberFormatException e) {
                continue; // a q that is not a number: the range is left out
            }
            switch (range.mediaType().text().toLowerCase(Locale.ROOT)) { // types are case-insensitive
                case "application/vnd.google.protobuf" -> {
                    if ("io.prometheus.client.MetricFamily".equals(range.parameters().get("proto")) && delimited(range)) {
                        named[PROTOBUF.ordinal()] = Math.max(named[PROTOBUF.ordinal()], q);
                    }
                }
                case "application/openmetrics-text" -> named[OPENMETRICS.ordinal()] = Math.max(named[OPENMETRICS.ordinal()], q);
                case "text/plain" -> named[TEXT.ordinal()] = Math.max(named[TEXT.ordinal()], q);
                case "text/*" -> textWildcard = Math.max(textWildcard, q);
                case "*/*" -> anyWildcard = Math.max(anyWildcard, q);
                default -> {
                    // Another type: none of the formats.
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
        double bestWeight = 0;
        for (ScrapeFormat format : values()) {
            if (named[format.ordinal()] > bestWeight) {
                best = format;
                bestWeight = named[format.ordinal()];
            }
        }
        return best;
    }

    /**
     * Whether a protobuf range asks for the delimited messages the server writes: {@code encoding=delimited}, or no
     * encoding; the text encodings ({@code text}, {@code compact-text}) are another format.
     */
    private static boolean delimited(HttpMediaType range) {
        for (Map.Entry<String, String> parameter : range.parameters().entrySet()) {
            if ("encoding".equalsIgnoreCase(parameter.getKey())) {
                return "delimited".equalsIgnoreCase(parameter.getValue());
            }
        }
        return true;
    }
}
