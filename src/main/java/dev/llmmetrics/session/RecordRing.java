package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelPrice;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The most recent request records of one session, in a ring of fixed-width rows.
 *
 * <p>Each record is four {@code long}s in one array (timestamp, duration and time to first token packed,
 * prompt and completion tokens packed, total tokens, the model's number in the store's {@link ModelNames}
 * and flags packed), 32 bytes; the error texts get an array only once the session has a failure, the
 * cached and reasoning token counts one {@code long} per record only once the session reports any, and the
 * model names an array only once the session uses a model past the store's numbered ones. The arrays grow by half up to the bound, so that a short
 * session does not pay for a long one; when full, the oldest record is overwritten. Not thread-safe: the
 * owning {@link SessionState} guards it.
 */
final class RecordRing {

    private static final int INITIAL_CAPACITY = 2;
    private static final int WIDTH = 4;
    private static final long SUCCESS = 1;
    private static final long TOOL_CALLS = 2;
    private static final long LOW_32 = 0xFFFF_FFFFL;
    /** The model's number plus one (0: the name is in {@link #unnumbered}) sits above the two flags. */
    private static final int MODEL_SHIFT = 2;
    private static final long MODEL_MASK = 0x7FF;

    private final int bound;
    private long[] rows;
    /** Names of models without a number, per slot; {@code null} until a record has one. */
    private String[] unnumbered;
    private String[] errors;
    /** Cached and reasoning tokens packed, per slot; {@code null} until a record has some. */
    private long[] parts;
    /** Index of the oldest record. */
    private int head;
    private int size;

    RecordRing(int bound) {
        this.bound = bound;
        int capacity = Math.min(INITIAL_CAPACITY, bound);
        rows = new long[capacity * WIDTH];
    }

    /**
     * Adds a record, overwriting the oldest when the ring is at its bound.
     *
     * @param modelId      the model's number in the store's {@link ModelNames}, or -1 when it has none
     * @param model        the model's name, kept only when it has no number
     * @param firstTokenMs time to first token, or -1 when unknown; at most {@code durationMs}
     */
    void add(long timestampMs, int modelId, String model, long durationMs, long firstTokenMs, int prompt,
             int completion, int total, int cached, int reasoning, boolean success, boolean toolCalls, String error) {
        int slot;
        if (size < capacity()) {
            slot = (head + size) % capacity();
            size++;
        } else if (capacity() < bound) {
            grow();
            slot = size++;
        } else {
            slot = head;
            head = (head + 1) % capacity();
        }
        int row = slot * WIDTH;
        rows[row] = timestampMs;
        // Both at most Event.MAX_DURATION_MS, below 2^31: the duration in the low half, the time to first
        // token plus one (0 when unknown) in the high half.
        rows[row + 1] = ((firstTokenMs + 1) << 32) | durationMs;
        rows[row + 2] = ((long) prompt << 32) | (completion & LOW_32);
        rows[row + 3] = ((long) total << 32) | ((modelId + 1L) << MODEL_SHIFT) | (success ? SUCCESS : 0)
                | (toolCalls ? TOOL_CALLS : 0);
        if (modelId < 0 && unnumbered == null) {
            unnumbered = new String[capacity()];
        }
        if (unnumbered != null) {
            unnumbered[slot] = modelId < 0 ? model : null;
        }
        if (error != null && errors == null) {
            errors = new String[capacity()];
        }
        if (errors != null) {
            errors[slot] = error;
        }
        if ((cached | reasoning) != 0 && parts == null) {
            parts = new long[capacity()];
        }
        if (parts != null) {
            parts[slot] = ((long) cached << 32) | (reasoning & LOW_32);
        }
    }

    /** The records, oldest first, their models and the successful ones' prices read in {@code names}. */
    List<RequestRecord> toList(ModelNames names) {
        List<RequestRecord> list = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            int slot = (head + i) % capacity();
            int row = slot * WIDTH;
            long durations = rows[row + 1];
            long tokens = rows[row + 2];
            long totalAndFlags = rows[row + 3];
            long part = parts == null ? 0 : parts[slot];
            int prompt = (int) (tokens >>> 32);
            int completion = (int) tokens;
            int cached = (int) (part >>> 32);
            boolean success = (totalAndFlags & SUCCESS) != 0;
            int modelNumber = (int) ((totalAndFlags >>> MODEL_SHIFT) & MODEL_MASK);
            String model = modelNumber == 0 ? unnumbered[slot] : names.name(modelNumber - 1);
            long firstTokenPlusOne = durations >>> 32;
            ModelPrice price = success ? names.price(modelNumber - 1, model) : null;
            list.add(new RequestRecord(Instant.ofEpochMilli(rows[row]), model, durations & LOW_32,
                    prompt, completion, (int) (totalAndFlags >>> 32),
                    (totalAndFlags & TOOL_CALLS) != 0, success, errors == null ? null : errors[slot],
                    cached, (int) part, firstTokenPlusOne == 0 ? null : firstTokenPlusOne - 1,
                    price == null ? null : ModelPrice.usd(price.costPicoUsd(prompt, cached, completion))));
        }
        return list;
    }

    private int capacity() {
        return rows.length / WIDTH;
    }

    /**
     * Called only when the ring is full and below its bound. The head moves only once the ring is at its
     * bound, so here the records still start at slot 0 and a plain copy keeps their order.
     */
    private void grow() {
        int oldCapacity = capacity();
        int newCapacity = (int) Math.min(bound, Math.max(oldCapacity + 1L, oldCapacity + (oldCapacity >> 1)));
        rows = Arrays.copyOf(rows, newCapacity * WIDTH);
        if (unnumbered != null) {
            unnumbered = Arrays.copyOf(unnumbered, newCapacity);
        }
        if (errors != null) {
            errors = Arrays.copyOf(errors, newCapacity);
        }
        if (parts != null) {
            parts = Arrays.copyOf(parts, newCapacity);
        }
    }
}
