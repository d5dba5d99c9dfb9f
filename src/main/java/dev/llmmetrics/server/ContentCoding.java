package dev.llmmetrics.server;

import io.helidon.http.HeaderNames;
import io.helidon.http.ServerRequestHeaders;
import java.util.List;
import java.util.Locale;

/**
 * Whether a response may be sent gzip-compressed, by the request's {@code Accept-Encoding} (RFC 9110 §12.5.3).
 *
 * <p>Only {@code gzip} (or its alias {@code x-gzip}) rated above {@code q=0} selects it, or {@code *} above 0 when
 * the header does not name gzip; no header, {@code identity}, or a header that cannot be read means the answer as
 * it is. Helidon's own content encoding (its gzip module, found on the class path) would compress every route's
 * answers and decode compressed request bodies, which the server refuses; only the scrape is compressed, so the
 * header is read here.
 */
final class ContentCoding {

    private ContentCoding() {
    }

    /** Whether the request accepts a gzip-compressed answer. */
    static boolean acceptsGzip(ServerRequestHeaders headers) {
        double gzip = -1;
        double any = -1;
        for (String line : headers.all(HeaderNames.ACCEPT_ENCODING, List::of)) {
            for (String element : line.split(",", -1)) {
                String[] parts = element.split(";", -1);
                String coding = parts[0].strip().toLowerCase(Locale.ROOT);
                double q = quality(parts);
                if (q < 0) {
                    continue; // a q that is not one: the coding is left out
                }
                if (coding.equals("gzip") || coding.equals("x-gzip")) {
                    gzip = Math.max(gzip, q);
                } else if (coding.equals("*")) {
                    any = Math.max(any, q);
                }
            }
        }
        return gzip >= 0 ? gzip > 0 : any > 0;
    }

    /** The element's q-value, 1 without one, -1 when it is not a number from 0 to 1. */
    private static double quality(String[] parts) {
        for (int i = 1; i < parts.length; i++) {
            String parameter = parts[i].strip();
            if (parameter.length() > 2 && (parameter.charAt(0) == 'q' || parameter.charAt(0) == 'Q') && parameter.charAt(1) == '=') {
                try {
                    double q = Double.parseDouble(parameter.substring(2).strip());
                    return q >= 0 && q <= 1 ? q : -1;
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return 1;
    }
}
