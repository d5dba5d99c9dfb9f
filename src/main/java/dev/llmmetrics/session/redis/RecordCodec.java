package dev.llmmetrics.session.redis;

import dev.llmmetrics.cost.CostSource;
import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.RequestScore;
import dev.llmmetrics.session.SessionStore;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A request record, or a score of a request, as one Redis list element. A record: a version and the numbers
 * separated by {@code |} (-1 for an absent one), then the model, the provider, the error type and the
 * correlation id each as its length, {@code |} and its text (-1 and no text when absent), the number of
 * attributes and each key and value as a text, then the error text, which may hold any character. A score: its
 * time in ms and value, then its correlation id, name and comment as texts. Only Java reads and writes them; the
 * scripts store them whole and count their length.
 */
final class RecordCodec {

    /** The record layout written; version 1, without correlation id and attributes, is still read. */
    private static final long VERSION = 2;
    private static final long SUCCESS = 1;
    private static final long TOOL_CALLS = 2;
    private static final long COST_REPORTED = 4;
    /** The version and the numbers: at, duration, first token, prompt, completion, total, cached, reasoning, flags, cost, status. */
    private static final int NUMBERS = 12;

    private RecordCodec() {
    }

    /** The element of a completed request that cost {@code costPicoUsd} (-1 when not known). */
    static String completed(LlmRequestCompleted e, long costPicoUsd) {
        boolean usage = e.hasUsage();
        StringBuilder b = numbers(e.timestamp().toEpochMilli(), e.durationMs(),
                e.hasTimeToFirstToken() ? e.timeToFirstTokenMs() : -1, usage ? e.promptTokens() : -1,
                usage ? e.completionTokens() : -1, usage ? e.totalTokens() : -1, e.cachedTokens(), e.reasoningTokens(),
                SUCCESS | (e.hasToolCalls() ? TOOL_CALLS : 0) | (e.hasReportedCost() ? COST_REPORTED : 0), costPicoUsd, -1);
        text(b, e.model());
        text(b, e.provider());
        text(b, null);
        correlation(b, e.correlationId(), e.attributes());
        return b.toString();
    }

    /** The element of a failed request; its error text cut as every store keeps it. */
    static String failed(LlmRequestFailed e) {
        StringBuilder b = numbers(e.timestamp().toEpochMilli(), e.hasDuration() ? e.durationMs() : 0, -1, -1, -1, -1, 0, 0,
                0, -1, e.httpStatus() == null ? -1 : e.httpStatus());
        text(b, e.model());
        text(b, e.provider());
        text(b, e.errorType() == null ? null : e.errorType().wireName());
        correlation(b, e.correlationId(), e.attributes());
        return b.append(SessionStore.keptError(e.error())).toString();
    }

    private static void correlation(StringBuilder b, @Nullable String correlationId, Map<String, String> attributes) {
        text(b, correlationId);
        b.append(attributes.size()).append('|');
        attributes.forEach((key, value) -> {
            text(b, key);
            text(b, value);
        });
    }

    /** The element of a score of the request {@code e.correlationId()}, which must be present. */
    static String score(LlmRequestScored e) {
        StringBuilder b = new StringBuilder(64).append(e.timestamp().toEpochMilli()).append('|').append(e.value()).append('|');
        text(b, e.correlationId());
        text(b, e.name());
        text(b, e.comment());
        return b.toString();
    }

    /**
     * The bytes by which an element of this layout mentions {@code correlationId}: every record that has it
     * contains them (other text of a record may too, so a record found by them is decoded to be sure).
     */
    static byte[] mention(String correlationId) {
        return ("|" + correlationId.length() + "|" + correlationId).getBytes(StandardCharsets.UTF_8);
    }

    /** Whether {@code element} contains {@code part}. */
    static boolean contains(byte[] element, byte[] part) {
        int last = element.length - part.length;
        for (int at = 0; at <= last; at++) {
            if (element[at] == part[0] && Arrays.equals(element, at, at + part.length, part, 0, part.length)) {
                return true;
            }
        }
        return false;
    }

    /** A score element's correlation id and score. */
    record Scored(String correlationId, RequestScore score) {
    }

    /**
     * The score an element holds.
     *
     * @throws IllegalStateException when the element is not one this codec wrote
     */
    static Scored decodeScore(String element) {
        try {
            return readScore(element);
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) { // a NumberFormatException too
            throw new IllegalStateException("not a score of this store", e);
        }
    }

    private static Scored readScore(String element) {
        Reader r = new Reader(element);
        long atMs = r.number();
        double value = r.decimal();
        String correlationId = r.text();
        String name = r.text();
        if (correlationId == null || name == null) {
            throw new IllegalStateException("not a score of this store");
        }
        return new Scored(correlationId, new RequestScore(name, value, r.text(), Instant.ofEpochMilli(atMs)));
    }

    private static StringBuilder numbers(long... n) {
        StringBuilder b = new StringBuilder(96);
        b.append(VERSION);
        for (long value : n) {
            b.append('|').append(value);
        }
        return b.append('|');
    }

    private static void text(StringBuilder b, @Nullable String text) {
        if (text == null) {
            b.append("-1|");
        } else {
            b.append(text.length()).append('|').append(text);
        }
    }

    /**
     * The record an element holds, with the {@code scores} of its correlation id.
     *
     * @throws IllegalStateException when the element is not one this codec wrote
     */
    static RequestRecord decode(String element, Map<String, List<RequestScore>> scores) {
        try {
            return read(element, scores);
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) { // a NumberFormatException too
            throw new IllegalStateException("not a request record of this store", e);
        }
    }

    private static RequestRecord read(String element, Map<String, List<RequestScore>> scores) {
        Reader r = new Reader(element);
        long[] n = new long[NUMBERS];
        for (int i = 0; i < NUMBERS; i++) {
            n[i] = r.number();
        }
        if (n[0] != VERSION && n[0] != 1) {
            throw new IllegalStateException("a request record of another layout (version " + n[0] + ")");
        }
        String model = r.text();
        String provider = r.text();
        String errorType = r.text();
        String correlationId = null;
        Map<String, String> attributes = Map.of();
        if (n[0] >= 2) {
            correlationId = r.text();
            int count = (int) r.number();
            if (count > 0) {
                attributes = new LinkedHashMap<>(count * 2);
                for (int i = 0; i < count; i++) {
                    attributes.put(r.text(), r.text());
                }
            }
        }
        long flags = n[9];
        boolean success = (flags & SUCCESS) != 0;
        Double costUsd = n[10] < 0 ? null : ModelPrice.usd(n[10]);
        return RequestRecord.builder(Instant.ofEpochMilli(n[1]), model == null ? "" : model)
                .durationMs(n[2])
                .timeToFirstTokenMs(n[3] < 0 ? null : n[3])
                .promptTokens(n[4] < 0 ? null : (int) n[4])
                .completionTokens(n[5] < 0 ? null : (int) n[5])
                .totalTokens(n[6] < 0 ? null : (int) n[6])
                .cachedTokens((int) n[7])
                .reasoningTokens((int) n[8])
                .success(success)
                .hasToolCalls((flags & TOOL_CALLS) != 0)
                .costUsd(costUsd)
                .costSource(costUsd == null ? null : (flags & COST_REPORTED) != 0 ? CostSource.PROVIDER : CostSource.PRICE_TABLE)
                .provider(provider)
                .errorType(errorType == null ? null : ErrorType.ofWireName(errorType).orElse(null))
                .httpStatus(n[11] < 0 ? null : (int) n[11])
                .correlationId(correlationId)
                .attributes(attributes)
                .scores(correlationId == null ? List.of() : scores.getOrDefault(correlationId, List.of()))
                .error(success ? null : element.substring(r.at))
                .build();
    }

    /** Reads an element from its start. */
    private static final class Reader {
        final String element;
        int at;

        Reader(String element) {
            this.element = element;
        }

        long number() {
            int bar = element.indexOf('|', at);
            if (bar < 0) {
                throw new IllegalStateException("not a request record of this store");
            }
            long value = Long.parseLong(element, at, bar, 10);
            at = bar + 1;
            return value;
        }

        double decimal() {
            int bar = element.indexOf('|', at);
            if (bar < 0) {
                throw new IllegalStateException("not a score of this store");
            }
            double value = Double.parseDouble(element.substring(at, bar));
            at = bar + 1;
            return value;
        }

        @Nullable String text() {
            int length = (int) number();
            if (length < 0) {
                return null;
            }
            String text = element.substring(at, at + length);
            at += length;
            return text;
        }
    }
}
