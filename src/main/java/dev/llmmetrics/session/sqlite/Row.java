package dev.llmmetrics.session.sqlite;

import dev.llmmetrics.session.PairFigures;
import dev.llmmetrics.session.PairTotals;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.ScoreTotals;
import dev.llmmetrics.session.SessionMetrics;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * One session's aggregates as committed: its row in the {@code session} table and its pairs. Published rows
 * are immutable; the writer replaces a row with a new one after each commit that changed it.
 *
 * @param key          the session's key in the file, never reused: each life of a session id has its own
 * @param id           the session id
 * @param lastActiveMs when the store last saw an event of the session
 * @param nextSeq      the number the session's next request record gets
 * @param records      how many request records the file holds for the session
 * @param scoresHeld   how many scores of requests (those with a correlation id) the file holds for the session
 * @param pairs        the session's (model label) pairs, in order of first use
 * @param scores       the session's score names' totals, in order of first use; never changed once published
 */
record Row(long key, String id, long lastActiveMs, long nextSeq, int records, int scoresHeld, Pair[] pairs,
           List<ScoreTotals> scores) {

    /** Requests the session finished: every one the snapshot shows is one more success or failure. */
    long requests() {
        long n = 0;
        for (Pair p : pairs) {
            n += p.totals().requests();
        }
        return n;
    }

    /**
     * The session's life, request count and score count, the records bound it is served under and the records and
     * scores of requests the file holds: a finished request or a score changes it, and so does an opening of the
     * file with a lower bound, which serves fewer of its records and scores of requests though no event came (a
     * higher one serves what the file still holds), and the bound in bytes making the session give records, or
     * scores of its one record, back on an event that finishes no request (a start, after a restart with a lower
     * {@code store.max.bytes}).
     */
    String revision(int maxRecordsPerSession) {
        return key + "-" + requests() + (scores.isEmpty() ? "" : "-" + ScoreTotals.count(scores)) + "-r"
                + maxRecordsPerSession + "-" + records + "-" + scoresHeld;
    }

    /** This row holding {@code held} scores of requests. */
    Row withScoresHeld(int held) {
        return new Row(key, id, lastActiveMs, nextSeq, records, held, pairs, scores);
    }

    SessionMetrics summary() {
        return metrics(id, lastActiveMs, pairs, List.of(), scores);
    }

    void figures(List<PairFigures> to) {
        for (Pair p : pairs) {
            to.add(p.totals().figures(id));
        }
    }

    /** A session's metrics from its pairs, whose sums are its aggregates, its records and its score totals. */
    static SessionMetrics metrics(String id, long lastActiveMs, Pair[] pairs, List<RequestRecord> records,
                                  List<ScoreTotals> scores) {
        return PairTotals.metrics(id, Instant.ofEpochMilli(lastActiveMs),
                Arrays.stream(pairs).map(Pair::totals).toList(), records, scores);
    }
}
