package dev.llmmetrics.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.llmmetrics.event.LlmRequestCompleted;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The figures of one process whose sessions live in a shared store: what it shows as the store drops lives. */
class LocalSessionFiguresTest {

    private final AtomicLong millis = new AtomicLong(1_000_000);
    private final LocalSessionFigures figures = new LocalSessionFigures(10, () -> Instant.ofEpochMilli(millis.get()));

    private void completed(String session, long life) {
        millis.addAndGet(1_000);
        figures.add(session, life, "m", LlmRequestCompleted.builder(session, "m").durationMs(1).build(), -1, false);
    }

    private List<String> onTheScrape(int maxSessions) {
        return figures.mostRecent(maxSessions, 100).pairs().stream().map(p -> p.sessionId() + "=" + p.successes())
                .toList();
    }

    /**
     * A batch the shared store applied before a DELETE removed its session may add its figures after the DELETE
     * forgot the session's: they are of a life that is gone, and stay off the scrape; a later life counts.
     */
    @Test
    void aRequestOfALifeTheStoreNoLongerHoldsAddedAfterItWasForgottenIsNotCounted() {
        completed("a", 7);
        figures.forgetGone("a", 7);
        completed("a", 7); // the overtaken batch
        figures.forgetGone("b", 9); // forgotten before this process added anything of it
        completed("b", 9);
        assertEquals(List.of(), onTheScrape(10));

        completed("a", 8);
        completed("b", 10);
        assertEquals(List.of("b=1", "a=1"), onTheScrape(10), "a new life counts from its first request");
    }

    @Test
    void aForgottenSessionTakesNoPlaceOfTheSessionsOnTheScrape() {
        completed("kept", 1);
        completed("gone", 2);
        figures.forgetGone("gone", 2);
        assertEquals(List.of("kept=1"), onTheScrape(1));
        assertEquals(1, figures.mostRecent(1, 100).sessions());
    }
}
