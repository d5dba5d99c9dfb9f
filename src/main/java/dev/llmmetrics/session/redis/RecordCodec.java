package dev.llmmetrics.session.redis;

import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.session.RequestRecord;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * A request record as one Redis list element: a version, the numbers separated by {@code |}, the model's length,
 * then the model and the error text, which may hold any character. Only Java reads and writes it; the scripts
 * store it whole and count its length.
 */
final class RecordCodec {

    private static final String VERSION = "1";
    private static final int SUCCESS = 1;
    private static final int TOOL_CALLS = 2;
    /** The version and the numbers before the model's length. */
    private static final int NUMBERS = 11;

    private RecordCodec() {
    }

    /**
     * The element of one finished request.
     *
     * @param firstTokenMs time to the first token, or -1 when unknown
     * @param costPicoUsd  what it cost in picodollars, or -1 when its model has no price
     * @param error        what went wrong, {@code null} for a success
     */
    static String encode(long atMs, String model, long durationMs, long firstTokenMs, int promptTokens,
                         int completionTokens, int totalTokens, int cachedTokens, int reasoningTokens,
                         boolean success, boolean toolCalls, long costPicoUsd, @Nullable String error) {
        StringBuilder b = new StringBuilder(64 + model.length() + (error == null ? 0 : error.length()));
        b.append(VERSION).append('|').append(atMs).append('|').append(durationMs).append('|').append(firstTokenMs)
                .append('|').append(promptTokens).append('|').append(completionTokens).append('|').append(totalTokens)
                .append('|').append(cachedTokens).append('|').append(reasoningTokens).append('|')
                .append((success ? SUCCESS : 0) | (toolCalls ? TOOL_CALLS : 0)).append('|').append(costPicoUsd)
                .append('|').append(model.length()).append('|').append(model);
        if (error != null) {
            b.append(error);
        }
        return b.toString();
    }

    /**
     * The record an element holds.
     *
     * @throws IllegalStateException when the element is not one this codec wrote
     */
    static RequestRecord decode(String element) {
        long[] n = new long[NUMBERS + 1];
        int at = 0;
        for (int i = 0; i <= NUMBERS; i++) {
            int bar = element.indexOf('|', at);
            if (bar < 0) {
                throw new IllegalStateException("not a request record of this store");
            }
            n[i] = Long.parseLong(element, at, bar, 10);
            at = bar + 1;
        }
        if (n[0] != 1) {
            throw new IllegalStateException("a request record of a newer store (version " + n[0] + ")");
        }
        int modelEnd = at + (int) n[NUMBERS];
        String model = element.substring(at, modelEnd);
        boolean success = (n[9] & SUCCESS) != 0;
        return RequestRecord.builder(Instant.ofEpochMilli(n[1]), model)
                .durationMs(n[2])
                .timeToFirstTokenMs(n[3] < 0 ? null : n[3])
                .promptTokens((int) n[4])
                .completionTokens((int) n[5])
                .totalTokens((int) n[6])
                .cachedTokens((int) n[7])
                .reasoningTokens((int) n[8])
                .success(success)
                .hasToolCalls((n[9] & TOOL_CALLS) != 0)
                .costUsd(n[10] < 0 ? null : ModelPrice.usd(n[10]))
                .error(success ? null : element.substring(modelEnd))
                .build();
    }
}
