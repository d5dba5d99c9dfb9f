package dev.llmmetrics.server;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The {@code Date} header of every answer, in the IMF-fixdate form RFC 9110 section 5.6.7 has a sender generate:
 * {@code Sun, 06 Dec 2026 09:56:41 GMT}, the day in two digits, the time in GMT. Helidon writes its own with the JDK's
 * {@code RFC_1123_DATE_TIME}, which gives a day under 10 one digit ({@code Sun, 6 Dec 2026}) and, in a JVM whose
 * zone is not UTC, the zone's offset in place of {@code GMT} ({@code +0100}); it writes none where the answer already
 * has one. Formatted once a second: an answer costs a clock read and a comparison.
 */
final class HttpDate {

    private static final DateTimeFormatter IMF_FIXDATE =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);

    /** The header of one second since the epoch. */
    private record OfSecond(long second, Header header) {
    }

    private static volatile OfSecond current = of(Instant.now().getEpochSecond());

    private HttpDate() {
    }

    /** The {@code Date} header of now. */
    static Header now() {
        long second = Math.floorDiv(System.currentTimeMillis(), 1000L);
        OfSecond last = current;
        if (last.second() != second) {
            last = of(second);
            current = last; // a race writes an equal one
        }
        return last.header();
    }

    /** {@code instant} as an IMF-fixdate, to the second. */
    static String format(Instant instant) {
        return IMF_FIXDATE.format(instant);
    }

    private static OfSecond of(long second) {
        return new OfSecond(second, HeaderValues.create(HeaderNames.DATE, format(Instant.ofEpochSecond(second))));
    }
}
