package dev.llmmetrics.session.sqlite;

import dev.llmmetrics.session.PairTotals;

/**
 * One (session, model label) pair as its row in the {@code pair} table holds it: its place among the
 * session's pairs and its figures. The writer changes a copy it made for its transaction; a pair published in
 * a {@link Row} is never changed again, so readers need no lock.
 */
record Pair(int ordinal, PairTotals totals) {

    Pair(int ordinal, String label) {
        this(ordinal, new PairTotals(label));
    }

    String label() {
        return totals.label();
    }

    Pair copy() {
        return new Pair(ordinal, totals.copy());
    }
}
