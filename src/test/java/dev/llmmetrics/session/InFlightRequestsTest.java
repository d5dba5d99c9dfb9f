package dev.llmmetrics.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InFlightRequestsTest {

    private static final Duration TIMEOUT = Duration.ofHours(1);
    /** The time of the starts and ends of the tests that do not move it. */
    private static final long NOW = 1_000_000;
    private static final long MINUTE = 60_000;

    private final ModelCatalog catalog = new ModelCatalog(PriceTable.EMPTY, 3);
    private final InFlightRequests inFlight = new InFlightRequests(catalog, TIMEOUT);

    @Test
    void aSessionCountsEachLabelItHasInFlightAndGivesThemAllBackWhenItLeaves() {
        InFlightRequests.Session session = new InFlightRequests.Session();
        InFlightRequests.Session other = new InFlightRequests.Session();
        for (String model : List.of("a", "b", "c", "b", "d", "_unknown", "c")) {
            inFlight.started(session, catalog.model(model), NOW); // d is past the catalog's 3 labels, _unknown reserved
        }
        inFlight.started(other, catalog.model("b"), NOW);
        inFlight.ended(session, catalog.model("a"), NOW, -1); // the first label's slot is free again
        inFlight.ended(session, catalog.model("a"), NOW, -1); // none left of a: takes nothing
        inFlight.started(session, catalog.model("e"), NOW);

        assertEquals(0, inFlight.count("a"));
        assertEquals(3, inFlight.count("b"));
        assertEquals(2, inFlight.count("c"));
        assertEquals(3, inFlight.count(ModelCatalog.OTHER_LABEL), "d, _unknown and e share the label");
        assertFalse(session.isEmpty());

        inFlight.left(session);
        assertTrue(session.isEmpty());
        assertEquals(1, inFlight.count("b"), "the other session's start stays");
        assertEquals(0, inFlight.count("c"));
        assertEquals(0, inFlight.count(ModelCatalog.OTHER_LABEL));
        inFlight.left(session);
        assertEquals(1, inFlight.count("b"), "a session that left holds nothing to give back twice");
    }

    @Test
    void startsAndEndsInAnyOrderMatchACountPerSessionAndLabel() {
        Random random = new Random(5);
        List<String> models = List.of("a", "b", "c", "d", "e"); // d and e share _other: an end of one ends the other
        List<String> labels = List.of("a", "b", "c", ModelCatalog.OTHER_LABEL);
        InFlightRequests.Session[] sessions = new InFlightRequests.Session[4];
        long[][] expected = new long[sessions.length][labels.size()];
        for (int i = 0; i < sessions.length; i++) {
            sessions[i] = new InFlightRequests.Session();
        }
        for (int step = 0; step < 5_000; step++) {
            int s = random.nextInt(sessions.length);
            String model = models.get(random.nextInt(models.size()));
            int l = labels.indexOf(catalog.model(model).label());
            switch (random.nextInt(7)) {
                case 0 -> {
                    inFlight.left(sessions[s]);
                    expected[s] = new long[labels.size()];
                }
                case 1, 2, 3 -> {
                    inFlight.started(sessions[s], catalog.model(model), NOW);
                    expected[s][l]++;
                }
                default -> {
                    inFlight.ended(sessions[s], catalog.model(model), NOW, -1);
                    expected[s][l] = Math.max(0, expected[s][l] - 1);
                }
            }
            for (int k = 0; k < labels.size(); k++) {
                long sum = 0;
                for (long[] session : expected) {
                    sum += session[k];
                }
                assertEquals(sum, inFlight.count(labels.get(k)), labels.get(k) + " at step " + step);
            }
        }
    }

    @Test
    void aStartWhoseEndNeverComesStopsCountingWithinTheTimeoutThoughItsSessionStaysActive() {
        InFlightRequests.Session session = new InFlightRequests.Session();
        long start = 7 * MINUTE; // not on a bucket's edge
        inFlight.started(session, catalog.model("a"), start); // its end never comes
        for (long t = start + MINUTE; t <= start + 2 * TIMEOUT.toMillis(); t += MINUTE) {
            inFlight.started(session, catalog.model("a"), t); // a call a minute, each ended at once
            inFlight.ended(session, catalog.model("a"), t, -1);
            long age = t - start;
            if (age < TIMEOUT.toMillis() * 3 / 4) {
                assertEquals(1, inFlight.count("a"), "the start counts for three quarters of the timeout at least, "
                        + age + " ms");
            } else if (age >= TIMEOUT.toMillis()) {
                assertEquals(0, inFlight.count("a"), "and the timeout at most, " + age + " ms");
            }
        }
        assertTrue(session.isEmpty());
    }

    @Test
    void anEndTakesOffTheNewestStartSoThatTheOneWhoseEndNeverCameIsLeftToExpire() {
        InFlightRequests.Session session = new InFlightRequests.Session();
        inFlight.started(session, catalog.model("a"), 0); // its end never comes
        inFlight.started(session, catalog.model("a"), 30 * MINUTE);
        inFlight.ended(session, catalog.model("a"), 40 * MINUTE, -1);
        assertEquals(1, inFlight.count("a"));
        inFlight.started(session, catalog.model("a"), 60 * MINUTE); // the start at 0 is the timeout old
        assertEquals(1, inFlight.count("a"), "the start at 0 left, the new one came");
    }

    @Test
    void aSessionNeverWithoutACallRunningLosesItsFewestRunningOnceTheTimeoutPassedWhenItsEndsSayNoDuration() {
        // a call every minute, each running 3 minutes and a half: 3 or 4 always running, never fewer than 3
        InFlightRequests.Session session = new InFlightRequests.Session();
        long run = 3 * MINUTE + MINUTE / 2;
        for (long t = 0; t <= 3 * TIMEOUT.toMillis(); t += MINUTE / 2) {
            if (t >= run && (t - run) % MINUTE == 0) {
                inFlight.ended(session, catalog.model("a"), t, -1);
            }
            if (t % MINUTE == 0) {
                inFlight.started(session, catalog.model("a"), t);
            }
            long running = Math.min(t / MINUTE + 1, t % MINUTE == 0 ? 4 : 3);
            if (t < TIMEOUT.toMillis() * 3 / 4) {
                assertEquals(running, inFlight.count("a"), t + " ms");
            } else if (t >= 2 * TIMEOUT.toMillis()) {
                // nothing tells these starts and ends from 3 starts whose end never came and calls of half a minute
                assertEquals(running - 3, inFlight.count("a"), t + " ms: the 3 taken for starts without end left");
            }
        }
    }

    @Test
    void aSessionNeverWithoutACallRunningCountsEveryCallRunningWhenItsEndsSayHowLongTheyRan() {
        // as above, each end saying its call ran 3 minutes and a half: it meets its own start's bucket
        InFlightRequests.Session session = new InFlightRequests.Session();
        long run = 3 * MINUTE + MINUTE / 2;
        for (long t = 0; t <= 3 * TIMEOUT.toMillis(); t += MINUTE / 2) {
            if (t >= run && (t - run) % MINUTE == 0) {
                inFlight.ended(session, catalog.model("a"), t, run);
            }
            if (t % MINUTE == 0) {
                inFlight.started(session, catalog.model("a"), t);
            }
            long running = Math.min(t / MINUTE + 1, t % MINUTE == 0 ? 4 : 3);
            assertEquals(running, inFlight.count("a"), t + " ms");
        }
    }

    @Test
    void anEndMeetsItsOwnStartsBucketSoTheStartWhoseEndNeverCameIsLeftToExpireWhicheverCameFirst() {
        InFlightRequests.Session session = new InFlightRequests.Session();
        inFlight.started(session, catalog.model("a"), 20 * MINUTE); // its call ends at 50 min, having run 30
        inFlight.started(session, catalog.model("a"), 35 * MINUTE); // its end never comes
        inFlight.ended(session, catalog.model("a"), 50 * MINUTE, 30 * MINUTE);
        assertEquals(1, inFlight.count("a"));
        inFlight.expire(session, 75 * MINUTE); // the timeout after the bucket of 20 min: the start at 35 counts on
        assertEquals(1, inFlight.count("a"), "the end took the start at 20 min, not the newest");
        inFlight.expire(session, 90 * MINUTE); // the timeout after the bucket of 35 min
        assertEquals(0, inFlight.count("a"));
        assertTrue(session.isEmpty());
    }

    @Test
    void anEndWhoseStartsBucketIsOverTakesNothingFromTheCallsStillRunning() {
        InFlightRequests.Session session = new InFlightRequests.Session();
        inFlight.started(session, catalog.model("a"), 0);
        inFlight.started(session, catalog.model("a"), 60 * MINUTE);
        assertEquals(1, inFlight.count("a"), "the start at 0 left with its bucket");
        inFlight.ended(session, catalog.model("a"), 70 * MINUTE, 70 * MINUTE); // the call that started at 0
        assertEquals(1, inFlight.count("a"), "the call that started at 60 min still runs");
        inFlight.ended(session, catalog.model("a"), 71 * MINUTE, 11 * MINUTE);
        assertEquals(0, inFlight.count("a"));
    }

    @Test
    void aSweepDropsTheStartsTheTimeoutOldOfEveryLabelOfASessionWithoutEvents() {
        InFlightRequests.Session session = new InFlightRequests.Session();
        InFlightRequests.Session other = new InFlightRequests.Session();
        for (String model : List.of("a", "b", "c", "d")) { // d past the catalog's 3 labels
            inFlight.started(session, catalog.model(model), 0);
        }
        inFlight.started(session, catalog.model("b"), 20 * MINUTE);
        inFlight.started(other, catalog.model("b"), 0);
        assertFalse(session.mayExpire(inFlight, 14 * MINUTE), "nothing to drop within the bucket it was expired in");
        assertTrue(session.mayExpire(inFlight, 60 * MINUTE));
        inFlight.expire(session, 60 * MINUTE - 1);
        assertEquals(Map.of("a", 1L, "b", 3L, "c", 1L, ModelCatalog.OTHER_LABEL, 1L), inFlight.byLabel(),
                "none is the timeout old yet");
        inFlight.expire(session, 60 * MINUTE);
        assertEquals(Map.of("b", 2L), inFlight.byLabel(), "the starts at 0 left; b's at 20 min and the other's stay");
        assertFalse(session.isEmpty());
        inFlight.expire(session, 80 * MINUTE);
        assertTrue(session.isEmpty());
        assertEquals(Map.of("b", 1L), inFlight.byLabel(), "the other session's start waits for its own sweep");
    }

    @Test
    void startsEndsAndSweepsOverTimeMatchTheStartsNotTheTimeoutOldLessTheEndsOfTheNewest() {
        Random random = new Random(11);
        long bucketMs = TIMEOUT.toMillis() / InFlightRequests.BUCKETS;
        List<String> models = List.of("a", "b", "c", "d", "e");
        List<String> labels = List.of("a", "b", "c", ModelCatalog.OTHER_LABEL);
        models.forEach(catalog::model); // a, b and c take the catalog's 3 labels
        InFlightRequests.Session[] sessions = new InFlightRequests.Session[4];
        // per session and label, the start times counted, as the rule says: dropped the timeout after their bucket
        List<List<List<Long>>> expected = new ArrayList<>();
        for (int i = 0; i < sessions.length; i++) {
            sessions[i] = new InFlightRequests.Session();
            List<List<Long>> session = new ArrayList<>();
            for (int k = 0; k < labels.size(); k++) {
                session.add(new ArrayList<>());
            }
            expected.add(session);
        }
        long now = 0;
        for (int step = 0; step < 20_000; step++) {
            now += random.nextInt(random.nextInt(10) == 0 ? 40 : 2) * MINUTE + random.nextInt(1000);
            int s = random.nextInt(sessions.length);
            String model = models.get(random.nextInt(models.size()));
            int l = labels.indexOf(catalog.model(model).label());
            int op = random.nextInt(8);
            if (op != 0) { // every call but a leave expires the session's starts first
                long current = Math.floorDiv(now, bucketMs);
                for (List<Long> starts : expected.get(s)) {
                    starts.removeIf(t -> Math.floorDiv(t, bucketMs) <= current - InFlightRequests.BUCKETS);
                }
            }
            List<Long> starts = expected.get(s).get(l);
            switch (op) {
                case 0 -> {
                    inFlight.left(sessions[s]);
                    expected.get(s).forEach(List::clear);
                }
                case 1 -> inFlight.expire(sessions[s], now);
                case 2, 3, 4 -> {
                    inFlight.started(sessions[s], catalog.model(model), now);
                    starts.add(now);
                }
                default -> {
                    inFlight.ended(sessions[s], catalog.model(model), now, -1);
                    if (!starts.isEmpty()) {
                        starts.remove(starts.size() - 1); // the newest: times only grow
                    }
                }
            }
            for (int k = 0; k < labels.size(); k++) {
                long sum = 0;
                for (List<List<Long>> session : expected) {
                    sum += session.get(k).size();
                }
                assertEquals(sum, inFlight.count(labels.get(k)), labels.get(k) + " at step " + step);
            }
        }
        for (InFlightRequests.Session session : sessions) {
            inFlight.expire(session, now + TIMEOUT.toMillis());
            assertTrue(session.isEmpty());
        }
        assertEquals(Map.of(), inFlight.byLabel(), "every start left the sums with its bucket");
    }
}
