package dev.llmmetrics.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InFlightRequestsTest {

    private final ModelCatalog catalog = new ModelCatalog(PriceTable.EMPTY, 3);
    private final InFlightRequests inFlight = new InFlightRequests(catalog);

    @Test
    void aSessionCountsEachLabelItHasInFlightAndGivesThemAllBackWhenItLeaves() {
        InFlightRequests.Session session = new InFlightRequests.Session();
        InFlightRequests.Session other = new InFlightRequests.Session();
        for (String model : List.of("a", "b", "c", "b", "d", "_unknown", "c")) {
            inFlight.started(session, catalog.model(model)); // d is past the catalog's 3 labels, _unknown reserved
        }
        inFlight.started(other, catalog.model("b"));
        inFlight.ended(session, catalog.model("a")); // the first label's slot is free again
        inFlight.ended(session, catalog.model("a")); // none left of a: takes nothing
        inFlight.started(session, catalog.model("e"));

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
                    inFlight.started(sessions[s], catalog.model(model));
                    expected[s][l]++;
                }
                default -> {
                    inFlight.ended(sessions[s], catalog.model(model));
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
}
