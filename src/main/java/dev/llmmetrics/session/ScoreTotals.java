package dev.llmmetrics.session;

import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The running figures of one score name in one session, as a store keeps them: count, sum, minimum and
 * maximum. Not thread-safe: the store that owns it guards it.
 */
public final class ScoreTotals {

    private final String name;
    private long count;
    private double sum;
    private double min;
    private double max;

    /** No score yet. */
    public ScoreTotals(String name) {
        this.name = name;
    }

    /** Figures as a store reads them back. */
    public ScoreTotals(String name, long count, double sum, double min, double max) {
        this.name = name;
        this.count = count;
        this.sum = sum;
        this.min = min;
        this.max = max;
    }

    /** Adds one score. */
    public void add(double value) {
        min = count == 0 ? value : Math.min(min, value);
        max = count == 0 ? value : Math.max(max, value);
        count++;
        sum += value;
    }

    public String name() {
        return name;
    }

    public long count() {
        return count;
    }

    public double sum() {
        return sum;
    }

    public double min() {
        return min;
    }

    public double max() {
        return max;
    }

    /** A copy with the same name and figures. */
    public ScoreTotals copy() {
        return new ScoreTotals(name, count, sum, min, max);
    }

    /** The summary of these scores; at least one must have been added. */
    public ScoreSummary summary() {
        // The mean is kept within [min, max], which rounding of the sum could otherwise leave.
        return new ScoreSummary(name, count, sum, Math.clamp(sum / count, min, max), min, max);
    }

    /**
     * The totals of {@code name} in a session's {@code totals}, added at the end when new; past
     * {@link SessionStore#MAX_SCORE_NAMES} names, those of {@link SessionStore#OTHER_SCORE_NAME}.
     */
    public static ScoreTotals named(List<ScoreTotals> totals, String name) {
        ScoreTotals found = find(totals, name);
        if (found != null) {
            return found;
        }
        return totals.size() >= SessionStore.MAX_SCORE_NAMES && !name.equals(SessionStore.OTHER_SCORE_NAME)
                ? exactly(totals, SessionStore.OTHER_SCORE_NAME) : added(totals, name);
    }

    /**
     * The totals of {@code name} in {@code totals}, added at the end when new, with no bound of names: for totals
     * whose names another holder of the session's bound chose (a shared store, which kept {@code name} or put it
     * under {@link SessionStore#OTHER_SCORE_NAME}), so that they are not folded a second time.
     */
    public static ScoreTotals exactly(List<ScoreTotals> totals, String name) {
        ScoreTotals found = find(totals, name);
        return found != null ? found : added(totals, name);
    }

    private static @Nullable ScoreTotals find(List<ScoreTotals> totals, String name) {
        for (ScoreTotals t : totals) {
            if (t.name.equals(name)) {
                return t;
            }
        }
        return null;
    }

    private static ScoreTotals added(List<ScoreTotals> totals, String name) {
        ScoreTotals created = new ScoreTotals(name);
        totals.add(created);
        return created;
    }

    /** The summaries of a session's {@code totals}, in their order. */
    public static List<ScoreSummary> summaries(List<ScoreTotals> totals) {
        List<ScoreSummary> summaries = new ArrayList<>(totals.size());
        for (ScoreTotals t : totals) {
            summaries.add(t.summary());
        }
        return summaries;
    }

    /** How many scores {@code totals} count. */
    public static long count(List<ScoreTotals> totals) {
        long n = 0;
        for (ScoreTotals t : totals) {
            n += t.count;
        }
        return n;
    }
}
