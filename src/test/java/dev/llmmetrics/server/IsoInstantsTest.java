package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llmmetrics.event.Event;
import java.time.Instant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IsoInstantsTest {

    private static String format(long epochMilli) {
        char[] out = new char[IsoInstants.MAX_LENGTH];
        return new String(out, 0, IsoInstants.format(epochMilli, out));
    }

    private static void sameAsInstant(long epochMilli) {
        assertEquals(Instant.ofEpochMilli(epochMilli).toString(), format(epochMilli), () -> "epoch ms " + epochMilli);
    }

    @Test
    void writesWhatInstantToStringWritesAtTheEdgesOfTheAcceptedYearsAndAroundLeapDays() {
        long first = Event.MIN_TIMESTAMP.toEpochMilli();
        long last = Event.MAX_TIMESTAMP.toEpochMilli();
        for (long edge : new long[]{first, first + 1, last, last - 1, 0, -1, 1, 999, 1000,
                Instant.parse("2000-02-29T23:59:59.999Z").toEpochMilli(), Instant.parse("1900-03-01T00:00:00Z").toEpochMilli(),
                Instant.parse("2024-12-31T23:59:59.120Z").toEpochMilli(), Instant.parse("2026-01-17T15:30:00Z").toEpochMilli()}) {
            sameAsInstant(edge);
        }
    }

    @Test
    void writesWhatInstantToStringWritesForAMillionInstantsAcrossTheAcceptedYears() {
        long first = Event.MIN_TIMESTAMP.toEpochMilli();
        long last = Event.MAX_TIMESTAMP.toEpochMilli();
        SplittableRandom random = new SplittableRandom(17);
        for (int i = 0; i < 1_000_000; i++) {
            long ms = random.nextLong(first, last + 1);
            sameAsInstant(i % 4 == 0 ? ms - Math.floorMod(ms, 1000) : ms);
        }
    }

    @Test
    void refusesYearsOutsideOneToNineThousandNineHundredNinetyNine() {
        assertThrows(IllegalArgumentException.class, () -> format(Event.MIN_TIMESTAMP.toEpochMilli() - 1));
        assertThrows(IllegalArgumentException.class, () -> format(Event.MAX_TIMESTAMP.toEpochMilli() + 1));
    }
}
