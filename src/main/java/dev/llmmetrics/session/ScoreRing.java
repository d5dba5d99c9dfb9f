package dev.llmmetrics.session;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The most recent scores of one session's requests (those with a correlation id), in a ring that overwrites
 * the oldest at its bound: they are shown with the records of their correlation id, whichever came first.
 * Not thread-safe: the owning {@link SessionState} guards it.
 */
final class ScoreRing {

    /** A score's slot: its references, value and time. */
    private static final long SLOT_BYTES = 3 * RecordRing.REFERENCE + 16;

    private final int bound;
    private String[] correlationIds = new String[0];
    private String[] names = new String[0];
    private @Nullable String[] comments = new String[0];
    private double[] values = new double[0];
    private long[] timestampsMs = new long[0];
    private int head;
    private int size;
    /** What the texts held take on the heap; names are counted though the events' strings may be shared. */
    private long textBytes;

    ScoreRing(int bound) {
        this.bound = bound;
    }

    void add(String correlationId, String name, double value, @Nullable String comment, long timestampMs) {
        int slot;
        if (size < values.length) {
            slot = (head + size) % values.length;
            size++;
        } else if (values.length < bound) {
            grow();
            slot = size++;
        } else {
            slot = head;
            head = (head + 1) % values.length;
            textBytes -= RecordRing.textBytes(correlationIds[slot]) + RecordRing.textBytes(names[slot])
                    + (comments[slot] == null ? 0 : RecordRing.textBytes(comments[slot]));
        }
        correlationIds[slot] = correlationId;
        names[slot] = name;
        comments[slot] = comment;
        values[slot] = value;
        timestampsMs[slot] = timestampMs;
        textBytes += RecordRing.textBytes(correlationId) + RecordRing.textBytes(name)
                + (comment == null ? 0 : RecordRing.textBytes(comment));
    }

    /** The scores held by correlation id, each list oldest first. */
    Map<String, List<RequestScore>> byCorrelationId() {
        if (size == 0) {
            return Map.of();
        }
        Map<String, List<RequestScore>> scores = new HashMap<>();
        for (int i = 0; i < size; i++) {
            int slot = (head + i) % values.length;
            scores.computeIfAbsent(correlationIds[slot], id -> new ArrayList<>(2)).add(new RequestScore(names[slot],
                    values[slot], comments[slot], Instant.ofEpochMilli(timestampsMs[slot])));
        }
        return scores;
    }

    /** What this ring takes on the heap, about: its arrays and the texts it holds. */
    long bytes() {
        return values.length == 0 ? 0 : 5 * RecordRing.ARRAY_HEADER + SLOT_BYTES * values.length + textBytes;
    }

    /** Grows by half up to the bound; called only when full and below it, so the scores start at slot 0. */
    private void grow() {
        int capacity = (int) Math.min(bound, Math.max(values.length + 2L, values.length + (values.length >> 1)));
        correlationIds = java.util.Arrays.copyOf(correlationIds, capacity);
        names = java.util.Arrays.copyOf(names, capacity);
        comments = java.util.Arrays.copyOf(comments, capacity);
        values = java.util.Arrays.copyOf(values, capacity);
        timestampsMs = java.util.Arrays.copyOf(timestampsMs, capacity);
    }
}
