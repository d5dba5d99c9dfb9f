package dev.llmmetrics.server;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import com.fasterxml.jackson.databind.util.StdConverter;
import dev.llmmetrics.cost.CostSource;
import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.RequestScore;
import dev.llmmetrics.session.ScoreSummary;
import dev.llmmetrics.session.SessionMetrics;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpMediaTypes;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The one configured {@link ObjectMapper} of the server, and the way every JSON answer is sent.
 *
 * <p>Names are snake_case; instants are written as {@link Instant#toString()} writes them (ISO-8601 UTC,
 * {@code 2026-01-17T15:30:00Z}, with milliseconds when they are not zero). The field order of a session and
 * of its request records is a contract its clients parse: mix-ins fix it here, so that the library's types
 * carry no Jackson annotation. Reading is strict: duplicate keys, trailing tokens and deep nesting are errors.
 */
final class Json {

    private static final Logger LOG = System.getLogger(Json.class.getName());

    /** Deepest JSON nesting accepted in a request body. */
    static final int MAX_NESTING_DEPTH = 16;

    /** Most digits of a number accepted in a request body. */
    static final int MAX_NUMBER_LENGTH = 32;

    /** The most bytes of an answer rendered before that one write hands to the socket ({@link #sendRendered}). */
    static final int PIECE_BYTES = 64 * 1024;

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .addMixIn(SessionMetrics.class, SessionMetricsMixIn.class)
            .addMixIn(RequestRecord.class, RequestRecordMixIn.class)
            .addMixIn(ErrorType.class, WireNameMixIn.class)
            .addMixIn(CostSource.class, WireNameMixIn.class)
            .addMixIn(RequestScore.class, RequestScoreMixIn.class)
            .addMixIn(ScoreSummary.class, ScoreSummaryMixIn.class)
            .addModule(new SimpleModule("llm-metrics").addSerializer(Instant.class, ToStringSerializer.instance))
            .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET) // the answer's line feed follows the value
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(MAX_NESTING_DEPTH)
                .maxNumberLength(MAX_NUMBER_LENGTH)
                .build());
    }

    private Json() {
    }

    /**
     * Sends {@code body} as JSON with {@code status}, written straight into the response stream: no
     * intermediate byte array to grow and copy. A body that fits Helidon's write buffer still goes out
     * with a Content-Length. Every JSON answer ends with a line feed, as a text file does, so that a
     * shell prompt after {@code curl} starts on its own line.
     */
    static void send(ServerResponse response, Status status, Object body) {
        sendKeeping(response, status, body, -1);
    }

    /**
     * Sends {@code body} as {@link #send} does and gives back the bytes sent when they come to at most
     * {@code keepAtMost}, for an answer kept and sent again; {@code null} past it (or with a negative
     * {@code keepAtMost}, when nothing is kept). The copy is dropped as soon as
     * it would pass the bound, so a large answer (a session of many records with large attributes) is only
     * ever held a write buffer at a time, however many clients read it at once.
     */
    static byte @Nullable [] sendKeeping(ServerResponse response, Status status, Object body, int keepAtMost) {
        response.status(status);
        response.header(HeaderNames.CONTENT_TYPE, HttpMediaTypes.JSON_UTF_8.text());
        KeptCopy copy = new KeptCopy(response.outputStream(), keepAtMost);
        try (copy) {
            MAPPER.writeValue(copy, body);
            copy.write('\n');
        } catch (IOException | RuntimeException e) {
            CloseConnectionException gone = copy.connectionFailed;
            if (gone != null) {
                // Jackson wraps what the stream threw; unwrapped, Helidon closes the connection and logs it at TRACE.
                LOG.log(Level.DEBUG, "The client's connection closed before its answer was written whole: {0}",
                        gone.getMessage());
                throw gone;
            }
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
        return copy.bytes();
    }

    /**
     * What is written, passed on to {@code target} and copied while the copy stays within {@code limit}. It keeps
     * what the target threw when the client's connection failed (Helidon's {@link CloseConnectionException}, a reset
     * or a broken pipe), which Jackson would otherwise hand on wrapped as a failure to serialize.
     */
    private static final class KeptCopy extends OutputStream {
        private final OutputStream target;
        private final int limit;
        private @Nullable ByteArrayOutputStream copy;
        private @Nullable CloseConnectionException connectionFailed;

        /** With a negative {@code limit}, nothing is copied. */
        KeptCopy(OutputStream target, int limit) {
            this.target = target;
            this.limit = limit;
            this.copy = limit < 0 ? null : new ByteArrayOutputStream();
        }

        @Override
        public void write(int b) throws IOException {
            try {
                target.write(b);
            } catch (CloseConnectionException e) {
                connectionFailed = e;
                throw e;
            }
            ByteArrayOutputStream kept = room(1);
            if (kept != null) {
                kept.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                target.write(b, off, len);
            } catch (CloseConnectionException e) {
                connectionFailed = e;
                throw e;
            }
            ByteArrayOutputStream kept = room(len);
            if (kept != null) {
                kept.write(b, off, len);
            }
        }

        /** The copy, when {@code more} bytes still fit in it; from the first that do not, none. */
        private @Nullable ByteArrayOutputStream room(int more) {
            if (copy != null && copy.size() + more > limit) {
                copy = null;
            }
            return copy;
        }

        /**
         * Nothing: Jackson flushes once the value is written, which would make Helidon send the headers then,
         * without a Content-Length. What is left goes out when the stream is closed (or its buffer is full).
         */
        @Override
        public void flush() {
        }

        /** Closes the target, which sends what it still holds. */
        @Override
        public void close() throws IOException {
            try {
                target.close();
            } catch (CloseConnectionException e) {
                connectionFailed = e;
                throw e;
            }
        }

        byte @Nullable [] bytes() {
            return copy == null ? null : copy.toByteArray();
        }
    }

    /**
     * Sends {@code json}, a JSON answer rendered before, with its length; past {@link #PIECE_BYTES}, through the
     * response stream a piece at a time. {@link WriteDeadlines} times each write on its own: a kept session of up to
     * a megabyte sent as one write would have to be read whole within the write timeout.
     */
    static void sendRendered(ServerResponse response, byte[] json) {
        response.header(HeaderNames.CONTENT_TYPE, HttpMediaTypes.JSON_UTF_8.text());
        if (json.length <= PIECE_BYTES) {
            response.send(json);
            return;
        }
        response.header(HeaderNames.CONTENT_LENGTH, String.valueOf(json.length));
        try (OutputStream out = response.outputStream()) {
            for (int at = 0; at < json.length; at += PIECE_BYTES) {
                out.write(json, at, Math.min(PIECE_BYTES, json.length - at));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A strong entity tag of {@code body} as {@link #send} writes it: a digest of those bytes (128 bits of their
     * SHA-256), rendered into the digest and not held. The same bytes have the same tag, whatever the store, on every
     * replica and across restarts; other bytes another, so a tag never answers 304 for an answer that changed.
     */
    static String entityTag(Object body) {
        MessageDigest sha256;
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every Java platform has SHA-256
        }
        try (OutputStream digest = new DigestOutputStream(OutputStream.nullOutputStream(), sha256)) {
            MAPPER.writeValue(digest, body);
            digest.write('\n');
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return '"' + Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(sha256.digest(), 16)) + '"';
    }

    /** {@code body} as JSON bytes ending with a line feed, for answers sent whole (the error bodies). */
    static byte[] bytes(Object body) {
        try {
            byte[] json = MAPPER.writeValueAsBytes(body);
            byte[] line = Arrays.copyOf(json, json.length + 1);
            line[json.length] = '\n';
            return line;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A session is written as its {@link SessionView}. */
    @JsonSerialize(converter = SessionView.Of.class)
    private abstract static class SessionMetricsMixIn {
    }

    /**
     * A request record's fields, in the order its clients read them; its attributes in the order of their keys, so
     * that a state is the same bytes in every process (the record's map iterates in an order each JVM draws anew),
     * as its entity tag, kept across a restart in durable mode and shared by replicas, says.
     */
    @JsonPropertyOrder({"timestamp", "model", "duration_ms", "prompt_tokens", "completion_tokens", "total_tokens",
            "has_tool_calls", "success", "error", "cached_tokens", "reasoning_tokens", "time_to_first_token_ms",
            "cost_usd", "cost_source", "provider", "error_type", "http_status", "correlation_id", "attributes",
            "scores"})
    private abstract static class RequestRecordMixIn {
        @JsonFormat(with = JsonFormat.Feature.WRITE_SORTED_MAP_ENTRIES)
        abstract Map<String, String> attributes();
    }

    /** An enum of the library's vocabularies is written by its wire name, such as {@code rate_limit}. */
    private abstract static class WireNameMixIn {
        @JsonValue
        abstract String wireName();
    }

    /** A request's score: name, value, comment, timestamp. */
    @JsonPropertyOrder({"name", "value", "comment", "timestamp"})
    private abstract static class RequestScoreMixIn {
    }

    /** A session's summary of one score name: its count, mean, minimum and maximum; the sum is left out. */
    @JsonPropertyOrder({"name", "count", "mean", "min", "max"})
    @JsonIgnoreProperties("sum")
    private abstract static class ScoreSummaryMixIn {
    }

    /**
     * The JSON shape of a {@link SessionMetrics}: its fields in the order of the components, the order its
     * clients read them in. The averages, the cost and the token efficiency are the session's derived values;
     * {@code last_active} is not written.
     */
    record SessionView(String sessionId, long totalRequests, long successfulRequests, long failedRequests,
                       long totalDurationMs, double averageDurationMs, long totalPromptTokens,
                       long totalCompletionTokens, long totalTokens, double averageTokensPerRequest,
                       long requestsWithTools, List<RequestRecord> requests, Double totalCostUsd,
                       long unpricedRequests, double tokenEfficiency, long totalCachedTokens,
                       long totalReasoningTokens, long requestsWithoutUsage, List<ScoreSummary> scores) {

        static SessionView of(SessionMetrics m) {
            return new SessionView(m.sessionId(), m.totalRequests(), m.successfulRequests(), m.failedRequests(),
                    m.totalDurationMs(), m.averageDurationMs(), m.totalPromptTokens(), m.totalCompletionTokens(),
                    m.totalTokens(), m.averageTokensPerRequest(), m.requestsWithTools(), m.requests(),
                    m.totalCostUsd(), m.cost().unpricedRequests(), m.tokenEfficiency(), m.totalCachedTokens(),
                    m.totalReasoningTokens(), m.requestsWithoutUsage(), m.scores());
        }

        /** {@link #of} as the converter the session's mix-in names. */
        static final class Of extends StdConverter<SessionMetrics, SessionView> {
            @Override
            public SessionView convert(SessionMetrics metrics) {
                return of(metrics);
            }
        }
    }
}
