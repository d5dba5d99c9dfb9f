package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelCatalog.Model;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.CostSource;
import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The most recent request records of one session, in a ring of fixed-width rows.
 *
 * <p>Each record is four {@code long}s in one array, so that writing one touches the fewest cache lines: the
 * timestamp and the model's {@link ModelCatalog} number; the duration, the time to first token and flags
 * (success, tool calls, no usage, reported cost, a total apart from the sum, a failure's error type); the prompt
 * and completion tokens, or a failure's HTTP status; the cost. Side arrays appear only once a session needs
 * them: total tokens other than the prompt and completion tokens' sum, cached and reasoning tokens, providers,
 * the names of models past the catalog's numbered ones, error texts and correlation ids as bytes
 * ({@link TextBytes}), and attributes. The arrays grow
 * by half up to the bound, so a short session does not pay for a long one; when full, the oldest record is
 * overwritten. Not thread-safe: the owning {@link SessionState} guards it.
 *
 * <p>Attributes stay the event's own map: a read hands it out as it is, where bytes would be decoded into new
 * strings by every read, and a session at the attributes' bounds holds tens of megabytes of them.
 */
final class RecordRing {

    private static final int INITIAL_CAPACITY = 2;
    private static final int WIDTH = 4;
    /** Row word 0: the timestamp less {@link #MIN_TIMESTAMP_MS} (49 bits), then the model's number plus one. */
    private static final long MIN_TIMESTAMP_MS = Event.MIN_TIMESTAMP.toEpochMilli();
    private static final int MODEL_SHIFT = 49;
    /** Row word 1: the duration, the time to first token plus one (0 when unknown), then the flags. */
    private static final int DURATION_BITS = 27;
    private static final long DURATION_MASK = (1L << DURATION_BITS) - 1;
    private static final int FLAGS_SHIFT = 2 * DURATION_BITS;
    private static final long SUCCESS = 1;
    private static final long TOOL_CALLS = 1 << 1;
    /** Set when the response reported no token usage (every failure): the token counts are then absent. */
    private static final long NO_USAGE = 1 << 2;
    /** Set when the cost is the one the provider reported, not the price table's. */
    private static final long COST_REPORTED = 1 << 3;
    /** Set when the total tokens are not the prompt and completion tokens' sum: they are in {@link #totals}. */
    private static final long TOTAL_APART = 1 << 4;
    /** A failure's {@link ErrorType} ordinal plus one (0: not known), four bits. */
    private static final int ERROR_TYPE_SHIFT = 5;
    private static final long ERROR_TYPE_MASK = 0xF;
    /** Row word 2: the prompt tokens and, above them, the completion tokens; a failure's HTTP status (0: none). */
    private static final int COMPLETION_SHIFT = 31;
    private static final long TOKENS_MASK = Integer.MAX_VALUE;
    /** Heap layout figures of a 64-bit JVM with compressed references, for {@link #bytes()}. */
    static final long ARRAY_HEADER = 16;
    static final long REFERENCE = 4;
    static final long STRING_HEADER = 40;

    static {
        // The layout's fields hold every value an event may carry: both durations plus one, the flags in the
        // ten bits left above them, the accepted timestamps, and the catalog's model numbers.
        assert Event.MAX_DURATION_MS + 1 <= DURATION_MASK && ERROR_TYPE_SHIFT + 4 <= 64 - FLAGS_SHIFT;
        assert Event.MAX_TIMESTAMP.toEpochMilli() - MIN_TIMESTAMP_MS < 1L << MODEL_SHIFT;
        assert ModelCatalog.MAX_NUMBERED < 1 << (63 - MODEL_SHIFT);
    }

    private final int bound;
    private long[] rows;
    /** Records the arrays hold: {@code rows.length / WIDTH}, kept beside {@link #head} so a write reads no array header. */
    private int capacity;
    /** Names of models without a number, per slot; {@code null} until a record has one. */
    private String[] unnumbered;
    /** Providers the events named, per slot; {@code null} until a record has one. */
    private String[] providers;
    /** Each record's error text, per slot; {@code null} until a record has one. */
    private @Nullable TextBytes errors;
    /** What the attributes held take on the heap ({@link #attributeBytes}). */
    private long heldAttributeBytes;
    /** What the arrays take, kept as they are made or grown so that {@link #bytes()} reads none of them. */
    private long arrayBytes;
    /** Cached and reasoning tokens packed, per slot; {@code null} until a record has some. */
    private long[] parts;
    /** Total tokens of the records flagged {@link #TOTAL_APART}, per slot; {@code null} until a record is. */
    private int[] totals;
    /** Each record's correlation id, per slot; {@code null} until a record has one. */
    private @Nullable TextBytes correlationIds;
    /** Each record's attributes, per slot; {@code null} until a record has some. */
    private Map<String, String>[] attributes;
    /** Index of the oldest record. */
    private int head;
    private int size;

    RecordRing(int bound) {
        this.bound = bound;
        capacity = Math.min(INITIAL_CAPACITY, bound);
        rows = new long[capacity * WIDTH];
        arrayBytes = countArrays();
    }

    /**
     * Adds a completed request, overwriting the oldest record when the ring is at its bound.
     *
     * @param model       the event's model; its name is kept only when it has no number
     * @param costPicoUsd what the request cost, or -1 when not known
     */
    void completed(LlmRequestCompleted e, Model model, long costPicoUsd) {
        boolean usage = e.hasUsage();
        boolean totalApart = usage && e.totalTokens() != (long) e.promptTokens() + e.completionTokens();
        long flags = SUCCESS | (e.hasToolCalls() ? TOOL_CALLS : 0) | (usage ? 0 : NO_USAGE)
                | (e.hasReportedCost() ? COST_REPORTED : 0) | (totalApart ? TOTAL_APART : 0);
        long tokens = usage ? e.promptTokens() | (long) e.completionTokens() << COMPLETION_SHIFT : 0;
        int slot = add(e.timestamp().toEpochMilli(), model, e.durationMs(),
                e.hasTimeToFirstToken() ? e.timeToFirstTokenMs() : -1, flags, tokens, costPicoUsd, null, e.provider(),
                e.correlationId(), e.attributes());
        if ((e.cachedTokens() | e.reasoningTokens()) != 0 && parts == null) {
            parts = new long[capacity];
            arrayBytes = countArrays();
        }
        if (parts != null) {
            parts[slot] = ((long) e.cachedTokens() << 32) | (e.reasoningTokens() & 0xFFFF_FFFFL);
        }
        if (totalApart && totals == null) {
            totals = new int[capacity];
            arrayBytes = countArrays();
        }
        if (totalApart) {
            totals[slot] = e.totalTokens();
        }
    }

    /**
     * Adds a failed request, overwriting the oldest record when the ring is at its bound.
     *
     * @param model the event's model; its name is kept only when it has no number
     * @param error the error text to keep
     */
    void failed(LlmRequestFailed e, Model model, String error) {
        long flags = NO_USAGE | (e.errorType() == null ? 0 : (e.errorType().ordinal() + 1L) << ERROR_TYPE_SHIFT);
        int slot = add(e.timestamp().toEpochMilli(), model, e.hasDuration() ? e.durationMs() : 0L, -1, flags,
                e.httpStatus() == null ? 0 : e.httpStatus(), -1, error, e.provider(), e.correlationId(),
                e.attributes());
        if (parts != null) {
            parts[slot] = 0;
        }
    }

    /**
     * Writes the row and the side arrays every record has a slot in; returns the record's slot.
     *
     * @param tokens      row word 2: the prompt and completion tokens, or a failure's HTTP status
     * @param costPicoUsd what the request cost, or -1 when not known
     */
    private int add(long timestampMs, Model model, long durationMs, long firstTokenMs, long flags, long tokens,
                    long costPicoUsd, @Nullable String error, @Nullable String provider,
                    @Nullable String correlationId, Map<String, String> attributes) {
        int modelId = model.number();
        int slot;
        if (size < capacity) {
            slot = wrap(head + size);
            size++;
        } else if (capacity < bound) {
            grow();
            slot = size++;
        } else {
            slot = head;
            head = wrap(head + 1);
        }
        int row = slot * WIDTH;
        rows[row] = (timestampMs - MIN_TIMESTAMP_MS) | (modelId + 1L) << MODEL_SHIFT;
        rows[row + 1] = durationMs | (firstTokenMs + 1) << DURATION_BITS | flags << FLAGS_SHIFT;
        rows[row + 2] = tokens;
        rows[row + 3] = costPicoUsd + 1;
        if (modelId < 0 && unnumbered == null) {
            unnumbered = new String[capacity];
            arrayBytes = countArrays();
        }
        if (unnumbered != null) {
            unnumbered[slot] = modelId < 0 ? shared(model.name(), unnumbered[previous(slot)]) : null;
        }
        if (provider != null && providers == null) {
            providers = new String[capacity];
            arrayBytes = countArrays();
        }
        if (providers != null) {
            providers[slot] = shared(provider, providers[previous(slot)]);
        }
        if (error != null && errors == null) {
            errors = new TextBytes(capacity);
        }
        if (errors != null) {
            errors.put(slot, error);
        }
        if (correlationId != null && correlationIds == null) {
            correlationIds = new TextBytes(capacity);
        }
        if (correlationIds != null) {
            correlationIds.put(slot, correlationId);
        }
        if (!attributes.isEmpty() && this.attributes == null) {
            this.attributes = newMaps(capacity);
            arrayBytes = countArrays();
        }
        if (this.attributes != null) {
            Map<String, String> replaced = this.attributes[slot];
            heldAttributeBytes += attributeBytes(attributes) - (replaced == null ? 0 : attributeBytes(replaced));
            this.attributes[slot] = attributes.isEmpty() ? null : attributes;
        }
        return slot;
    }

    /**
     * Drops the oldest record, with what it holds beside its row (its texts, attributes and names), so that a
     * session larger than the store's byte bound by itself can give room back; the totals are the pairs'.
     *
     * @return whether there was a record to drop
     */
    boolean dropOldest() {
        if (size == 0) {
            return false;
        }
        int slot = head;
        if (unnumbered != null) {
            unnumbered[slot] = null;
        }
        if (providers != null) {
            providers[slot] = null;
        }
        if (errors != null) {
            errors.put(slot, null); // the oldest record's text is the oldest the array holds
        }
        if (correlationIds != null) {
            correlationIds.put(slot, null);
        }
        if (attributes != null && attributes[slot] != null) {
            heldAttributeBytes -= attributeBytes(attributes[slot]);
            attributes[slot] = null;
        }
        head = wrap(head + 1);
        size--;
        return true;
    }

    /** The most records the ring holds. */
    int bound() {
        return bound;
    }

    /** How many records the ring holds. */
    int size() {
        return size;
    }

    /** The slot of the record written before the one in {@code slot}, when there is one. */
    private int previous(int slot) {
        return slot == 0 ? capacity - 1 : slot - 1;
    }

    /**
     * {@code text}, or the equal string the record written before holds: a session's records mostly share their
     * provider and model, and a string only one record keeps is copied by every young collection while it lives.
     */
    private static @Nullable String shared(@Nullable String text, @Nullable String before) {
        return text != null && text.equals(before) ? before : text;
    }

    /** The model of the most recent record with {@code correlationId}, or {@code null} when none is held. */
    @Nullable String modelOf(String correlationId, ModelCatalog catalog) {
        if (correlationIds == null) {
            return null;
        }
        if (!StandardCharsets.UTF_8.newEncoder().canEncode(correlationId)) {
            return null; // a lone surrogate, which no event's id holds and getBytes would turn into '?'
        }
        byte[] utf8 = correlationId.getBytes(StandardCharsets.UTF_8);
        for (int i = size - 1; i >= 0; i--) {
            int slot = wrap(head + i);
            if (correlationIds.is(slot, utf8)) {
                return modelName(slot, catalog);
            }
        }
        return null;
    }

    private String modelName(int slot, ModelCatalog catalog) {
        int modelNumber = (int) (rows[slot * WIDTH] >>> MODEL_SHIFT);
        return modelNumber == 0 ? unnumbered[slot] : catalog.model(modelNumber - 1).name();
    }

    /** What a record's attributes take on the heap, about: the map's table and the strings. */
    static long attributeBytes(Map<String, String> attributes) {
        if (attributes.isEmpty()) {
            return 0;
        }
        long bytes = ARRAY_HEADER + STRING_HEADER;
        for (Map.Entry<String, String> e : attributes.entrySet()) {
            bytes += 2 * REFERENCE + textBytes(e.getKey()) + textBytes(e.getValue());
        }
        return bytes;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String>[] newMaps(int length) {
        return (Map<String, String>[]) new Map<?, ?>[length];
    }

    /**
     * The records, oldest first, their model names read in {@code catalog}, each with the {@code scores} of its
     * correlation id.
     */
    List<RequestRecord> toList(ModelCatalog catalog, Map<String, List<RequestScore>> scores) {
        List<RequestRecord> list = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            int slot = wrap(head + i);
            int row = slot * WIDTH;
            long durations = rows[row + 1];
            long tokens = rows[row + 2];
            long costPlusOne = rows[row + 3];
            long flags = durations >>> FLAGS_SHIFT;
            long part = parts == null ? 0 : parts[slot];
            int prompt = (int) (tokens & TOKENS_MASK);
            int completion = (int) (tokens >>> COMPLETION_SHIFT);
            int cached = (int) (part >>> 32);
            boolean success = (flags & SUCCESS) != 0;
            String model = modelName(slot, catalog);
            String correlationId = correlationIds == null ? null : correlationIds.get(slot);
            Map<String, String> attributesOfSlot = attributes == null ? null : attributes[slot];
            long firstTokenPlusOne = (durations >>> DURATION_BITS) & DURATION_MASK;
            boolean usage = (flags & NO_USAGE) == 0;
            int total = (flags & TOTAL_APART) != 0 ? totals[slot] : prompt + completion;
            int errorType = (int) ((flags >>> ERROR_TYPE_SHIFT) & ERROR_TYPE_MASK);
            int httpStatus = success ? 0 : (int) tokens;
            long timestampMs = MIN_TIMESTAMP_MS + (rows[row] & ((1L << MODEL_SHIFT) - 1));
            list.add(RequestRecord.builder(Instant.ofEpochMilli(timestampMs), model)
                    .durationMs(durations & DURATION_MASK)
                    .promptTokens(usage ? prompt : null)
                    .completionTokens(usage ? completion : null)
                    .totalTokens(usage ? total : null)
                    .hasToolCalls((flags & TOOL_CALLS) != 0)
                    .success(success)
                    .error(errors == null ? null : errors.get(slot))
                    .cachedTokens(cached)
                    .reasoningTokens((int) part)
                    .timeToFirstTokenMs(firstTokenPlusOne == 0 ? null : firstTokenPlusOne - 1)
                    .costUsd(costPlusOne == 0 ? null : ModelPrice.usd(costPlusOne - 1))
                    .costSource(costPlusOne == 0 ? null
                            : (flags & COST_REPORTED) != 0 ? CostSource.PROVIDER : CostSource.PRICE_TABLE)
                    .provider(providers == null ? null : providers[slot])
                    .errorType(errorType == 0 ? null : ErrorType.values()[errorType - 1])
                    .httpStatus(httpStatus == 0 ? null : httpStatus)
                    .correlationId(correlationId)
                    .attributes(attributesOfSlot == null ? Map.of() : attributesOfSlot)
                    .scores(correlationId == null ? List.of() : scores.getOrDefault(correlationId, List.of()))
                    .build());
        }
        return list;
    }

    /** {@code index} (below twice the capacity) as a slot: a subtraction where a remainder would divide. */
    private int wrap(int index) {
        return index < capacity ? index : index - capacity;
    }

    /** What this ring takes on the heap, about: its arrays with the model names, the texts' bytes, the attributes. */
    long bytes() {
        return arrayBytes + heldAttributeBytes + (correlationIds == null ? 0 : correlationIds.heapBytes())
                + (errors == null ? 0 : errors.heapBytes());
    }

    private long countArrays() {
        long bytes = ARRAY_HEADER + 8L * rows.length;
        if (parts != null) {
            bytes += ARRAY_HEADER + 8L * parts.length;
        }
        if (totals != null) {
            bytes += ARRAY_HEADER + 4L * totals.length;
        }
        if (providers != null) {
            // The names are the events' own strings, one per record at most: counted at their bound.
            bytes += ARRAY_HEADER + (REFERENCE + STRING_HEADER + Event.MAX_PROVIDER_LENGTH) * (long) providers.length;
        }
        if (attributes != null) {
            bytes += ARRAY_HEADER + REFERENCE * (long) attributes.length;
        }
        if (unnumbered != null) {
            // The names are the events' own strings, one per record at most: counted at the ids' bound.
            bytes += ARRAY_HEADER + (REFERENCE + STRING_HEADER + 256L) * unnumbered.length;
        }
        return bytes;
    }

    /** A string's heap size: its header and array, one byte a character when all are Latin-1, else two. */
    static long textBytes(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) > 0xFF) {
                return STRING_HEADER + 2L * text.length();
            }
        }
        return STRING_HEADER + text.length();
    }

    /**
     * Called only when the ring is full and below its bound: the records move, oldest first, to the front of
     * arrays half as large again (they start elsewhere only after {@link #dropOldest}).
     */
    private void grow() {
        int oldCapacity = capacity;
        int newCapacity = (int) Math.min(bound, Math.max(oldCapacity + 1L, oldCapacity + (oldCapacity >> 1)));
        rows = unrolled(rows, WIDTH, newCapacity);
        if (unnumbered != null) {
            unnumbered = unrolled(unnumbered, newCapacity);
        }
        if (errors != null) {
            errors.slots(newCapacity, head);
        }
        if (providers != null) {
            providers = unrolled(providers, newCapacity);
        }
        if (parts != null) {
            parts = unrolled(parts, 1, newCapacity);
        }
        if (totals != null) {
            totals = unrolled(totals, newCapacity);
        }
        if (correlationIds != null) {
            correlationIds.slots(newCapacity, head);
        }
        if (attributes != null) {
            attributes = unrolled(attributes, newCapacity);
        }
        capacity = newCapacity;
        head = 0;
        arrayBytes = countArrays();
    }

    /** The full ring's {@code width}-wide entries in {@code array}, oldest first, in an array of {@code slots} entries. */
    private long[] unrolled(long[] array, int width, int slots) {
        long[] copy = new long[slots * width];
        System.arraycopy(array, head * width, copy, 0, (capacity - head) * width);
        System.arraycopy(array, 0, copy, (capacity - head) * width, head * width);
        return copy;
    }

    /** The full ring's entries in {@code array}, oldest first, in an array of {@code slots} entries. */
    private int[] unrolled(int[] array, int slots) {
        int[] copy = new int[slots];
        System.arraycopy(array, head, copy, 0, capacity - head);
        System.arraycopy(array, 0, copy, capacity - head, head);
        return copy;
    }

    /** The full ring's entries in {@code array}, oldest first, in an array of {@code slots} entries. */
    private <T> T[] unrolled(T[] array, int slots) {
        T[] copy = Arrays.copyOf(array, slots);
        System.arraycopy(array, head, copy, 0, capacity - head);
        System.arraycopy(array, 0, copy, capacity - head, head);
        return copy;
    }
}
