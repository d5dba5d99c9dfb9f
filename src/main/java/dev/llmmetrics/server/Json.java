package dev.llmmetrics.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.SessionMetrics;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpMediaTypes;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Instant;

/**
 * The one configured {@link ObjectMapper} of the server, and the way every JSON answer is sent.
 *
 * <p>Names are snake_case; sessions and request records are written by explicit serializers so that
 * their fields keep the original design's order; instants are ISO-8601 UTC strings ending in {@code Z}.
 * Reading is strict: duplicate keys, trailing tokens and deep nesting are errors.
 */
final class Json {

    /** Deepest JSON nesting accepted in a request body. */
    static final int MAX_NESTING_DEPTH = 16;

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .addModule(new SimpleModule("llm-metrics")
                    .addSerializer(Instant.class, new InstantSerializer())
                    .addSerializer(SessionMetrics.class, new SessionMetricsSerializer())
                    .addSerializer(RequestRecord.class, new RequestRecordSerializer()))
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(MAX_NESTING_DEPTH)
                .maxNumberLength(32)
                .build());
    }

    private Json() {
    }

    /**
     * Sends {@code body} as JSON with {@code status}, written straight into the response stream: no
     * intermediate byte array to grow and copy. A body that fits Helidon's write buffer still goes out
     * with a Content-Length.
     */
    static void send(ServerResponse response, Status status, Object body) {
        response.status(status);
        response.header(HeaderNames.CONTENT_TYPE, HttpMediaTypes.JSON_UTF_8.text());
        try (OutputStream out = response.outputStream()) {
            MAPPER.writeValue(out, body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A field whose value may be absent: {@code null} then, never 0. */
    private static void writeNumberOrNull(JsonGenerator gen, String name, Number value) throws IOException {
        switch (value) {
            case null -> gen.writeNullField(name);
            case Long l -> gen.writeNumberField(name, l.longValue());
            default -> gen.writeNumberField(name, value.doubleValue());
        }
    }

    /** {@code body} as JSON bytes, for answers kept and sent again. */
    static byte[] bytes(Object body) {
        try {
            return MAPPER.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final class InstantSerializer extends com.fasterxml.jackson.databind.ser.std.StdSerializer<Instant> {
        InstantSerializer() {
            super(Instant.class);
        }

        @Override
        public void serialize(Instant value, JsonGenerator gen, com.fasterxml.jackson.databind.SerializerProvider provider)
                throws IOException {
            gen.writeString(value.toString());
        }
    }

    /**
     * The original design's session shape, field for field and in its order, then the fields added since:
     * {@code total_cost_usd}, {@code unpriced_requests}, {@code token_efficiency}, {@code total_cached_tokens},
     * {@code total_reasoning_tokens}.
     */
    private static final class SessionMetricsSerializer
            extends com.fasterxml.jackson.databind.ser.std.StdSerializer<SessionMetrics> {
        SessionMetricsSerializer() {
            super(SessionMetrics.class);
        }

        @Override
        public void serialize(SessionMetrics m, JsonGenerator gen, com.fasterxml.jackson.databind.SerializerProvider provider)
                throws IOException {
            gen.writeStartObject();
            gen.writeStringField("session_id", m.sessionId());
            gen.writeNumberField("total_requests", m.totalRequests());
            gen.writeNumberField("successful_requests", m.successfulRequests());
            gen.writeNumberField("failed_requests", m.failedRequests());
            gen.writeNumberField("total_duration_ms", m.totalDurationMs());
            gen.writeNumberField("average_duration_ms", m.averageDurationMs());
            gen.writeNumberField("total_prompt_tokens", m.totalPromptTokens());
            gen.writeNumberField("total_completion_tokens", m.totalCompletionTokens());
            gen.writeNumberField("total_tokens", m.totalTokens());
            gen.writeNumberField("average_tokens_per_request", m.averageTokensPerRequest());
            gen.writeNumberField("requests_with_tools", m.requestsWithTools());
            gen.writeArrayFieldStart("requests");
            char[] timestamp = new char[IsoInstants.MAX_LENGTH];
            for (RequestRecord r : m.requests()) {
                RequestRecordSerializer.write(r, gen, timestamp);
            }
            gen.writeEndArray();
            // Beyond the original design: after its fields, so that its clients read what they always did.
            writeNumberOrNull(gen, "total_cost_usd", m.totalCostUsd());
            gen.writeNumberField("unpriced_requests", m.cost().unpricedRequests());
            gen.writeNumberField("token_efficiency", m.tokenEfficiency());
            gen.writeNumberField("total_cached_tokens", m.totalCachedTokens());
            gen.writeNumberField("total_reasoning_tokens", m.totalReasoningTokens());
            gen.writeEndObject();
        }
    }

    /**
     * One request record of the original design, field for field and in its order, then the fields added
     * since: {@code cached_tokens}, {@code reasoning_tokens}, {@code time_to_first_token_ms}, {@code cost_usd}.
     */
    private static final class RequestRecordSerializer
            extends com.fasterxml.jackson.databind.ser.std.StdSerializer<RequestRecord> {
        RequestRecordSerializer() {
            super(RequestRecord.class);
        }

        @Override
        public void serialize(RequestRecord r, JsonGenerator gen, com.fasterxml.jackson.databind.SerializerProvider provider)
                throws IOException {
            write(r, gen, new char[IsoInstants.MAX_LENGTH]);
        }

        /** Writes {@code r}, formatting its timestamp in {@code timestamp}, a buffer the caller reuses. */
        static void write(RequestRecord r, JsonGenerator gen, char[] timestamp) throws IOException {
            gen.writeStartObject();
            gen.writeFieldName("timestamp");
            Instant at = r.timestamp();
            if (at.getNano() % 1_000_000 == 0) {
                gen.writeString(timestamp, 0, IsoInstants.format(at.toEpochMilli(), timestamp));
            } else {
                gen.writeString(at.toString());
            }
            gen.writeStringField("model", r.model());
            gen.writeNumberField("duration_ms", r.durationMs());
            gen.writeNumberField("prompt_tokens", r.promptTokens());
            gen.writeNumberField("completion_tokens", r.completionTokens());
            gen.writeNumberField("total_tokens", r.totalTokens());
            gen.writeBooleanField("has_tool_calls", r.hasToolCalls());
            gen.writeBooleanField("success", r.success());
            gen.writeStringField("error", r.error());
            // Beyond the original design, after its fields.
            gen.writeNumberField("cached_tokens", r.cachedTokens());
            gen.writeNumberField("reasoning_tokens", r.reasoningTokens());
            writeNumberOrNull(gen, "time_to_first_token_ms", r.timeToFirstTokenMs());
            writeNumberOrNull(gen, "cost_usd", r.costUsd());
            gen.writeEndObject();
        }
    }
}
