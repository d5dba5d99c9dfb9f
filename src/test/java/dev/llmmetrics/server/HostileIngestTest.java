package dev.llmmetrics.server;

import static dev.llmmetrics.server.HostileSupport.jsonString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * {@code POST /events} under generated and hand-picked hostile bodies: malformed JSON, JSON that is no
 * event, events with one wrong field (type, range, missing, extra, bad id, bad text, bad timestamp, bad
 * attributes, unknown or one type too many), invalid UTF-8, NDJSON with a broken line, empty and huge
 * batches, bodies over the limit. Each one must get a 4xx JSON error naming the problem, and leave the
 * recorded state exactly as it was; after each property the scrape passes {@code promtool} and both parsers.
 */
class HostileIngestTest {

    private static final int MAX_BODY = 65_536;
    private static final int MAX_BATCH = 50;
    private static final int MAX_TYPES = 21;
    /** Generic types seeded so that the bus is full: 4 LLM types + these 17 = {@link #MAX_TYPES}. */
    private static final List<String> SEEDED_TYPES = List.of("TOOL_CALL_STARTED", "AGENT_STEP", "HITL_APPROVED",
            "SEED_TYPE_1", "SEED_TYPE_2", "SEED_TYPE_3", "SEED_TYPE_4", "SEED_TYPE_5", "SEED_TYPE_6", "SEED_TYPE_7",
            "SEED_TYPE_8", "SEED_TYPE_9", "SEED_TYPE_10", "SEED_TYPE_11", "SEED_TYPE_12", "SEED_TYPE_13", "SEED_TYPE_14");

    /** A local reader configured as the server's: what it cannot read, the server must call malformed. */
    private static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static {
        STRICT.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).maxNumberLength(32).build());
    }

    private static final AtomicLong UNIQUE = new AtomicLong();

    private static TestServer server;
    private static HostileSupport.State baseline;

    @BeforeContainer
    static void start() {
        server = TestServer.start(Map.of("ingest.max.body.bytes", String.valueOf(MAX_BODY),
                "ingest.max.batch", String.valueOf(MAX_BATCH), "bus.max.types", String.valueOf(MAX_TYPES)));
        StringBuilder seed = new StringBuilder("[");
        for (String type : SEEDED_TYPES) {
            seed.append("{\"type\":\"").append(type).append("\",\"session_id\":\"seed\"},");
        }
        seed.append("{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"seed \\\"1\\\"\",\"model\":\"gpt-{4}\"},")
                .append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"seed \\\"1\\\"\",\"model\":\"gpt-{4}\",")
                .append("\"duration_ms\":1200,\"prompt_tokens\":10,\"completion_tokens\":5,\"has_tool_calls\":true},")
                .append("{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"seed-2\",\"model\":\"m=\\\\\",\"error\":\"E: x\\ny\"}]");
        server.postEvents(seed.toString());
        baseline = HostileSupport.state(server);
    }

    @AfterContainer
    static void stop() {
        HostileSupport.finish(server, HostileIngestTest.class);
    }

    @AfterProperty
    void scrapeStaysValid() {
        HostileSupport.assertUnchangedAndScrapeValid(baseline, server);
    }

    // ---------------------------------------------------------------------------------------------
    // Valid events, as ordered maps of field to raw JSON value

    enum Kind { STARTED, COMPLETED, FAILED, GENERIC }

    private static Map<String, String> base(Kind kind, String session) {
        Map<String, String> m = new LinkedHashMap<>();
        switch (kind) {
            case STARTED -> {
                m.put("type", "\"LLM_REQUEST_STARTED\"");
                m.put("session_id", jsonString(session));
                m.put("model", "\"gpt-4\"");
                m.put("messages_count", "3");
                m.put("tools_count", "1");
            }
            case COMPLETED -> {
                m.put("type", "\"LLM_REQUEST_COMPLETED\"");
                m.put("session_id", jsonString(session));
                m.put("model", "\"gpt-4\"");
                m.put("duration_ms", "1200");
                m.put("prompt_tokens", "10");
                m.put("completion_tokens", "5");
                m.put("total_tokens", "15");
                m.put("has_tool_calls", "true");
            }
            case FAILED -> {
                m.put("type", "\"LLM_REQUEST_FAILED\"");
                m.put("session_id", jsonString(session));
                m.put("model", "\"gpt-4\"");
                m.put("error", "\"TimeoutError: read\\ttimed out\\n\"");
                m.put("duration_ms", "30000");
            }
            case GENERIC -> {
                m.put("type", "\"TOOL_CALL_STARTED\"");
                m.put("session_id", jsonString(session));
                m.put("attributes", "{\"tool\":\"search\"}");
            }
        }
        m.put("correlation_id", "\"c-1\"");
        m.put("timestamp", "\"2026-01-17T15:30:00Z\"");
        return m;
    }

    private static List<String> required(Kind kind) {
        return switch (kind) {
            case STARTED -> List.of("type", "session_id", "model");
            case COMPLETED -> List.of("type", "session_id", "model", "duration_ms", "prompt_tokens", "completion_tokens");
            case FAILED -> List.of("type", "session_id", "model", "error");
            case GENERIC -> List.of("type");
        };
    }

    private static String json(Map<String, String> fields) {
        StringBuilder out = new StringBuilder("{");
        fields.forEach((k, v) -> out.append(out.length() > 1 ? "," : "").append(jsonString(k)).append(':').append(v));
        return out.append('}').toString();
    }

    private static String freshSession() {
        return "fresh-" + UNIQUE.incrementAndGet() + "-" + System.nanoTime();
    }

    /** A valid event of a new session: if any of it were applied, the session list would show it. */
    private static String companion() {
        return json(base(Kind.COMPLETED, freshSession()));
    }

    // ---------------------------------------------------------------------------------------------
    // Bad events: one mutation of a valid one, with the field the answer must name (null: malformed JSON)

    record BadEvent(String json, String field, String what) {
        boolean malformed() {
            return field == null;
        }
    }

    private static BadEvent with(Map<String, String> base, String field, String raw, String expectedField, String what) {
        Map<String, String> m = new LinkedHashMap<>(base);
        m.put(field, raw);
        return new BadEvent(json(m), expectedField, what);
    }

    private static final List<String> INT_FIELDS = List.of("messages_count", "tools_count", "prompt_tokens",
            "completion_tokens", "total_tokens");
    private static final List<String> WRONG_INTS = List.of("\"5\"", "1.5", "1.0", "1e2", "-1", "-2147483648",
            "2147483648", "9999999999", "9223372036854775808", "true", "[]", "{}", "[1]", "-0.0", "1E400", "\"\"", "\"NaN\"");
    private static final List<String> WRONG_DURATIONS = List.of("-1", "1.5", "1e3", "\"100\"", "9223372036854775807",
            "9223372036854775808", "-9223372036854775809", String.valueOf(86_400_001L), "true", "{}",
            "\"Infinity\"", "1E400", "-1E400");
    private static final List<String> WRONG_STRINGS = List.of("1", "0", "true", "false", "[]", "{}", "[\"a\"]", "1.5", "{\"a\":\"b\"}");
    private static final List<String> WRONG_TIMESTAMPS = List.of("1700000000", "\"2026-01-17T15:30:00\"", "\"2026-01-17\"",
            "\"garbage\"", "\"+999999999-12-31T23:59:59Z\"", "\"-999999999-01-01T00:00:00+18:00\"", "\"0000-12-31T23:59:59Z\"",
            "\"10000-01-01T00:00:00Z\"", "\"2026-13-01T00:00:00Z\"", "\"2026-01-17T15:30:00+25:00\"", "true", "\"\"",
            "\"2026-01-17T15:30:00Z \"", "\"2026-01-17 15:30:00Z\"");
    private static final List<String> WRONG_BOOLS = List.of("\"true\"", "1", "0", "[]", "\"yes\"", "{}");
    /** Raw attribute values and the field the answer names. */
    private static final List<Tuple.Tuple2<String, String>> WRONG_ATTRIBUTES = List.of(
            Tuple.of("[]", "attributes"), Tuple.of("\"x\"", "attributes"), Tuple.of("1", "attributes"),
            Tuple.of("true", "attributes"), Tuple.of("{\"k\":1}", "attributes.k"), Tuple.of("{\"k\":null}", "attributes.k"),
            Tuple.of("{\"k\":{}}", "attributes.k"), Tuple.of("{\"k\":[\"v\"]}", "attributes.k"),
            Tuple.of("{\"\":\"v\"}", "attributes"), Tuple.of("{\" \":\"v\"}", "attributes"),
            Tuple.of("{\"a\\u0001\":\"v\"}", "attributes"), Tuple.of("{\"k\":\"\\u0000\"}", "attributes"),
            Tuple.of("{\"k\":\"a\\rb\"}", "attributes"), Tuple.of("{\"my key\":\"a\\u0007\"}", "attributes"),
            Tuple.of("{\"myKey\":\"a\\u0007\"}", "attributes"), Tuple.of("{\"k\":\"" + "x".repeat(1025) + "\"}", "attributes"),
            Tuple.of("{\"" + "k".repeat(257) + "\":\"v\"}", "attributes"),
            Tuple.of(manyAttributes(65), "attributes"), Tuple.of(manyAttributes(300), "attributes"));
    private static final List<String> BAD_TYPES = List.of("1", "null", "\"\"", "\"lower\"", "\"Llm_Request_Started\"",
            "\"A B\"", "\"A-B\"", "\"_A\"", "\"A_\"", "\"A__B\"", "\"1A\"", "\"" + "A".repeat(65) + "\"", "[]", "{}",
            "\"LLM_REQUEST_STARTED \"", "\"\\u00c4\"", "\"A\\u0000\"", "true", "\"llm_request_completed\"");
    /** Not JSON at all in a value position. */
    private static final List<String> NON_JSON_TOKENS = List.of("NaN", "-NaN", "Infinity", "-Infinity", "+1", "01", ".5",
            "1.", "0x10", "'x'", "undefined", "1".repeat(40), "\"unterminated", "tru", "nul", "1e", "--1", "\"\\x\"",
            "\"\\u12\"", "\"a\u0001b\"");

    private static String manyAttributes(int n) {
        StringBuilder out = new StringBuilder("{");
        for (int i = 0; i < n; i++) {
            out.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
        }
        return out.append('}').toString();
    }

    private static Arbitrary<BadEvent> mutations(Kind kind) {
        Map<String, String> base = base(kind, freshSession());
        List<Arbitrary<BadEvent>> options = new ArrayList<>();
        options.add(Arbitraries.of(required(kind)).map(f -> {
            Map<String, String> m = new LinkedHashMap<>(base);
            m.remove(f);
            return new BadEvent(json(m), f, "missing " + f);
        }));
        options.add(Arbitraries.of(required(kind)).map(f -> with(base, f, "null", f, "null " + f)));
        List<String> ints = INT_FIELDS.stream().filter(base::containsKey).toList();
        if (!ints.isEmpty()) {
            options.add(Combinators.combine(Arbitraries.of(ints), Arbitraries.of(WRONG_INTS))
                    .as((f, v) -> with(base, f, v, f, "wrong int")));
        }
        if (base.containsKey("duration_ms")) {
            options.add(Arbitraries.of(WRONG_DURATIONS).map(v -> with(base, "duration_ms", v, "duration_ms", "wrong duration")));
        }
        if (base.containsKey("has_tool_calls")) {
            options.add(Arbitraries.of(WRONG_BOOLS).map(v -> with(base, "has_tool_calls", v, "has_tool_calls", "wrong bool")));
        }
        if (kind == Kind.COMPLETED) {
            // The optional parts of the prompt and the completion, and the time to the first token: wrong types,
            // and values beyond what they are part of (10 prompt tokens, 5 completion tokens, 1200 ms).
            options.add(Combinators.combine(Arbitraries.of("cached_tokens", "reasoning_tokens"), Arbitraries.of(WRONG_INTS))
                    .as((f, v) -> with(base, f, v, f, "wrong int")));
            options.add(Arbitraries.of(Tuple.of("cached_tokens", "11"), Tuple.of("reasoning_tokens", "6"),
                            Tuple.of("time_to_first_token_ms", "1201"))
                    .map(t -> with(base, t.get1(), t.get2(), t.get1(), "more than the whole it is part of")));
            options.add(Arbitraries.of(WRONG_DURATIONS).map(v -> with(base, "time_to_first_token_ms", v,
                    "time_to_first_token_ms", "wrong duration")));
        }
        List<String> strings = List.of("session_id", "model", "correlation_id", "error").stream().filter(base::containsKey).toList();
        options.add(Combinators.combine(Arbitraries.of(strings), Arbitraries.of(WRONG_STRINGS))
                .as((f, v) -> with(base, f, v, f, "wrong string")));
        options.add(Combinators.combine(Arbitraries.of(strings.stream().filter(f -> !f.equals("error")).toList()),
                HostileArbitraries.invalidIds()).as((f, id) -> with(base, f, jsonString(id), f, "invalid id")));
        if (base.containsKey("error")) {
            Arbitrary<String> badErrors = Arbitraries.oneOf(
                    Arbitraries.of("x".repeat(4097), "a\rb", "\u0000", "a\u001b[2Jb", "\u007f", "\u0085", "\uD800", "x\uDFFF",
                            "\uD83D\uDE00".repeat(2048) + "x"),
                    Combinators.combine(Arbitraries.strings().ofMaxLength(100), HostileArbitraries.forbiddenChars()
                            .filter(c -> !c.equals("\n") && !c.equals("\t"))).as((s, c) -> s + c));
            options.add(badErrors.map(e -> with(base, "error", jsonString(e), "error", "bad error text")));
        }
        options.add(Arbitraries.of(WRONG_TIMESTAMPS).map(v -> with(base, "timestamp", v, "timestamp", "bad timestamp")));
        if (base.containsKey("attributes")) {
            options.add(Arbitraries.of(WRONG_ATTRIBUTES).map(t -> with(base, "attributes", t.get1(), t.get2(), "bad attributes")));
        }
        Arbitrary<String> unknownNames = Arbitraries.oneOf(
                Arbitraries.of("surprise", "Type", "sessionId", "SESSION_ID", "session-id", "type ", "__proto__",
                        "constructor", "", " ", "\u0000", "model", "error", "attributes", "messages_count", "x".repeat(300),
                        "\uD83D\uDE00", "\"", "\\"),
                Arbitraries.strings().ofMinLength(1).ofMaxLength(30).filter(HostileSupport::validId));
        options.add(unknownNames.filter(n -> !base.containsKey(n)).map(n -> {
            Map<String, String> m = new LinkedHashMap<>(base);
            m.put(n, "1");
            return new BadEvent(json(m), n, "unknown field");
        }));
        options.add(Arbitraries.of(BAD_TYPES).map(t -> with(base, "type", t, "type", "bad type")));
        if (kind == Kind.GENERIC) {
            // A well-formed type name the bus has no room for: the bus is full.
            options.add(Arbitraries.strings().withChars("ABCDEFGHIJKLMNOPQRSTUVWXYZ").ofMinLength(1).ofMaxLength(20)
                    .map(t -> "NEW_" + t).map(t -> with(base, "type", jsonString(t), "type", "one type too many")));
        }
        options.add(Combinators.combine(Arbitraries.of(NON_JSON_TOKENS), Arbitraries.of(new ArrayList<>(base.keySet())))
                .as((token, f) -> with(base, f, token, null, "non-JSON token")));
        options.add(Arbitraries.of(new ArrayList<>(base.keySet())).map(f -> {
            String json = json(base);
            return new BadEvent(json.substring(0, json.length() - 1) + "," + jsonString(f) + ":" + base.get(f) + "}",
                    null, "duplicate key " + f);
        }));
        return Arbitraries.oneOf(options);
    }

    enum Wrapping { SINGLE, ARRAY, NDJSON }

    record Body(String text, String contentType, int index, BadEvent bad) {
    }

    @Provide
    Arbitrary<Body> badEventBodies() {
        Arbitrary<BadEvent> bad = Arbitraries.of(Kind.values()).flatMap(HostileIngestTest::mutations);
        return Combinators.combine(bad, Arbitraries.of(Wrapping.values()), Arbitraries.integers().between(0, 4),
                Arbitraries.integers().between(0, 4)).as((event, wrapping, before, after) -> {
            if (wrapping == Wrapping.SINGLE) {
                return new Body(event.json(), "application/json", 0, event);
            }
            List<String> events = new ArrayList<>();
            for (int i = 0; i < before; i++) {
                events.add(companion());
            }
            events.add(event.json());
            for (int i = 0; i < after; i++) {
                events.add(companion());
            }
            return wrapping == Wrapping.ARRAY
                    ? new Body("[" + String.join(",", events) + "]", "application/json", before, event)
                    : new Body(String.join("\n", events) + "\n", "application/x-ndjson", before, event);
        });
    }

    @Property(tries = 300)
    void anEventWithOneBadFieldIsRejectedNamingItAndNothingIsApplied(@ForAll("badEventBodies") Body body) {
        HostileSupport.count("post-bad-field");
        HttpResponse<String> response = server.post("/events", body.text(), "Content-Type", body.contentType());
        JsonNode error = HostileSupport.assertJsonError(response, body.bad().what() + ": " + body.text());
        String context = body.bad().what() + ": " + HostileSupport.abbreviate(body.text()) + " -> " + response.body();
        assertEquals(400, response.statusCode(), context);
        if (body.bad().malformed()) {
            assertEquals("malformed_json", error.get("error").asText(), context);
        } else {
            assertEquals("invalid_events", error.get("error").asText(), context);
            JsonNode problems = error.get("errors");
            assertEquals(1, problems.size(), context);
            assertEquals(body.index(), problems.get(0).get("index").asInt(), context);
            assertEquals(body.bad().field(), problems.get(0).path("field").asText(null), context);
            assertTrue(!problems.get(0).path("reason").asText().isEmpty(), context);
        }
        HostileSupport.assertUnchanged(baseline, server, body.text());
    }

    // ---------------------------------------------------------------------------------------------
    // Malformed JSON

    private static boolean strictlyParses(String text) {
        try {
            STRICT.readTree(text);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    static final List<String> HAND_PICKED_MALFORMED = List.of("{", "}", "[", "]", "[{]", "{]", "{\"type\":", "{\"type\"}",
            "{type:\"X\"}", "{'type':'X'}", "{\"type\":\"X\",}", "[{\"type\":\"X\"},]", "{\"type\":\"X\"} {\"type\":\"X\"}",
            "{\"type\":\"X\"}x", "{\"type\":\"X\"} // c", "/* c */ {\"type\":\"X\"}", "{\"type\":\"X\" /* c */}",
            "NaN", "Infinity", "-Infinity", "+1", "01", "0x1", ".5", "1.", "'x'", "\"unterminated", "\"bad \\x escape\"",
            "\"\\u12\"", "{\"\\ud800\":1}", "{\"type\":\"X\",\"type\":\"Y\"}", "[".repeat(17) + "]".repeat(17),
            "[".repeat(1000), "{\"a\":".repeat(20) + "1" + "}".repeat(20), "1".repeat(33), "-" + "1".repeat(40),
            "\"a\u0001b\"", "{\"type\":\"X\u0000\"}", "\uFEFF{\"type\":\"X\"}", "{\"type\":\"X\"}\u0000",
            "[{\"type\":\"TOOL_CALL_STARTED\"} {\"type\":\"TOOL_CALL_STARTED\"}]", "True", "NULL", "nil", "()",
            "<xml/>", "type=X", "{\"type\"=\"X\"}", "{\"type\";\"X\"}", "[1,,2]", "[,]", "{,}", "\\", "\"\\\"");

    @Provide
    Arbitrary<String> malformedJson() {
        Arbitrary<String> noise = Arbitraries.strings().withChars("{}[]\":,0123456789.eE+-truefalsn \\/'#x\u00e9\uD83D\uDE00")
                .ofMinLength(1).ofMaxLength(60);
        Arbitrary<String> valid = Arbitraries.of(Kind.values()).map(k -> json(base(k, "s")));
        Arbitrary<String> truncated = valid.flatMap(v -> Arbitraries.integers().between(1, v.length() - 1).map(n -> v.substring(0, n)));
        Arbitrary<String> deleted = valid.flatMap(v -> Arbitraries.integers().between(0, v.length() - 1)
                .map(n -> v.substring(0, n) + v.substring(n + 1)));
        Arbitrary<String> inserted = Combinators.combine(valid, Arbitraries.integers().between(0, 400),
                Arbitraries.of("{", "}", "[", "]", "\"", ":", ",", "\\", "x", "\u0000", "\u0007", "'", "/"))
                .as((v, n, c) -> v.substring(0, Math.min(n, v.length())) + c + v.substring(Math.min(n, v.length())));
        return Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.of(HAND_PICKED_MALFORMED)), Tuple.of(2, noise),
                        Tuple.of(2, truncated), Tuple.of(2, deleted), Tuple.of(2, inserted))
                .filter(s -> !s.isBlank() && !strictlyParses(s));
    }

    @Property(tries = 200)
    void malformedJsonIsRejected(@ForAll("malformedJson") String body) {
        HostileSupport.count("post-malformed-json");
        HttpResponse<String> response = server.post("/events", body);
        JsonNode error = HostileSupport.assertJsonError(response, body);
        assertEquals(400, response.statusCode(), body);
        assertEquals("malformed_json", error.get("error").asText(), HostileSupport.abbreviate(body) + " -> " + response.body());
        IngestDecodingTest.assertOwnWords(HostileSupport.errorText(error), HostileSupport.abbreviate(body));
        HostileSupport.assertUnchanged(baseline, server, body);
    }

    // ---------------------------------------------------------------------------------------------
    // Well-formed JSON that holds no valid event

    @Provide
    Arbitrary<String> nonEventJson() {
        Arbitrary<String> scalar = Arbitraries.of("null", "true", "false", "0", "-1", "1.5", "1e300", "\"\"", "\"LLM_REQUEST_STARTED\"",
                "\"{\\\"type\\\":\\\"X\\\"}\"", "[]", "{}");
        Arbitrary<String> key = Arbitraries.oneOf(Arbitraries.of("session_id", "model", "Type", "TYPE", "typ", "types", "", "data"),
                Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(8));
        Arbitrary<String> value = Arbitraries.recursive(() -> scalar, inner -> Arbitraries.oneOf(
                inner.list().ofMaxSize(3).map(l -> "[" + String.join(",", l) + "]"),
                Combinators.combine(key, inner).as((k, v) -> "{" + jsonString(k) + ":" + v + "}")), 0, 4);
        Arbitrary<String> typedWrong = Arbitraries.of("1", "null", "\"\"", "\"lower\"", "[\"X\"]", "{\"X\":1}")
                .map(t -> "{\"type\":" + t + "}");
        Arbitrary<String> element = Arbitraries.oneOf(value.filter(v -> !v.startsWith("[")), typedWrong);
        return Arbitraries.oneOf(element, element.list().ofMinSize(1).ofMaxSize(6).map(l -> "[" + String.join(",", l) + "]"))
                .filter(HostileIngestTest::strictlyParses);
    }

    @Property(tries = 150)
    void wellFormedJsonThatHoldsNoEventIsRejectedForEveryElement(@ForAll("nonEventJson") String body) throws Exception {
        HostileSupport.count("post-non-event-json");
        HttpResponse<String> response = server.post("/events", body);
        JsonNode error = HostileSupport.assertJsonError(response, body);
        assertEquals(400, response.statusCode(), body);
        JsonNode parsed = STRICT.readTree(body);
        int events = parsed.isArray() ? parsed.size() : 1;
        if (events == 0) {
            assertEquals("empty_batch", error.get("error").asText(), body);
        } else {
            assertEquals("invalid_events", error.get("error").asText(), body + " -> " + response.body());
            assertEquals(events, error.get("errors").size(), body + " -> " + response.body());
        }
        HostileSupport.assertUnchanged(baseline, server, body);
    }

    // ---------------------------------------------------------------------------------------------
    // Invalid UTF-8

    private static final List<byte[]> INVALID_UTF8 = List.of(new byte[] {(byte) 0x80}, new byte[] {(byte) 0xBF},
            new byte[] {(byte) 0xC0, (byte) 0xAF}, new byte[] {(byte) 0xC1, (byte) 0xBF}, new byte[] {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},
            new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, new byte[] {(byte) 0xED, (byte) 0xBF, (byte) 0xBF},
            new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, new byte[] {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
            new byte[] {(byte) 0xFE}, new byte[] {(byte) 0xFF}, new byte[] {(byte) 0xC3}, new byte[] {(byte) 0xE2, (byte) 0x82},
            new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0x98});

    record Utf8Case(byte[] body, String description) {
    }

    @Provide
    Arbitrary<Utf8Case> invalidUtf8Bodies() {
        // A valid event of a new session, with a broken sequence inside a string or anywhere.
        return Combinators.combine(Arbitraries.of(Kind.values()), Arbitraries.of(INVALID_UTF8), Arbitraries.integers().between(0, 400),
                Arbitraries.of(true, false)).as((kind, broken, at, inString) -> {
            String session = freshSession();
            byte[] event = json(base(kind, session)).getBytes(StandardCharsets.UTF_8);
            int position = inString ? new String(event, StandardCharsets.UTF_8).indexOf(session) + 3 : Math.min(at, event.length);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(event, 0, position);
            out.writeBytes(broken);
            out.write(event, position, event.length - position);
            return new Utf8Case(out.toByteArray(), kind + " with " + java.util.HexFormat.of().formatHex(broken) + " at " + position);
        });
    }

    @Property(tries = 120)
    void invalidUtf8IsRejected(@ForAll("invalidUtf8Bodies") Utf8Case body) {
        HostileSupport.count("post-invalid-utf8");
        HttpResponse<String> response = HostileSupport.postBytes(server, body.body(), "application/json");
        JsonNode error = HostileSupport.assertJsonError(response, body.description());
        assertEquals(400, response.statusCode(), body.description());
        assertEquals("invalid_utf8", error.get("error").asText(), body.description() + " -> " + response.body());
        HostileSupport.assertUnchanged(baseline, server, body.description());
    }

    // ---------------------------------------------------------------------------------------------
    // NDJSON with a broken line

    record NdjsonCase(String body, int brokenLine) {
    }

    @Provide
    Arbitrary<NdjsonCase> ndjsonWithABrokenLine() {
        Arbitrary<String> broken = malformedJson().map(s -> s.replace('\n', ' ').replace('\r', ' '))
                .filter(s -> !s.isBlank() && !strictlyParses(s));
        return Combinators.combine(broken, Arbitraries.integers().between(0, 6), Arbitraries.integers().between(0, 6),
                Arbitraries.of("\n", "\r\n"), Arbitraries.of(0, 0, 1, 2)).as((line, before, after, eol, blanks) -> {
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < before; i++) {
                lines.add(companion());
                for (int b = 0; b < blanks; b++) {
                    lines.add(b % 2 == 0 ? "" : "   ");
                }
            }
            int brokenLine = lines.size() + 1;
            lines.add(line);
            for (int i = 0; i < after; i++) {
                lines.add(companion());
            }
            return new NdjsonCase(String.join(eol, lines) + eol, brokenLine);
        });
    }

    @Property(tries = 120)
    void ndjsonWithABrokenLineIsRejectedNamingTheLine(@ForAll("ndjsonWithABrokenLine") NdjsonCase body) {
        HostileSupport.count("post-ndjson-broken-line");
        HttpResponse<String> response = server.post("/events", body.body(), "Content-Type", "application/x-ndjson");
        JsonNode error = HostileSupport.assertJsonError(response, body.body());
        assertEquals(400, response.statusCode(), body.body());
        assertEquals("malformed_json", error.get("error").asText(), response.body());
        assertTrue(error.get("detail").asText().startsWith("line " + body.brokenLine() + " "),
                "expected line " + body.brokenLine() + ": " + response.body() + " for " + HostileSupport.abbreviate(body.body()));
        IngestDecodingTest.assertOwnWords(HostileSupport.errorText(error), HostileSupport.abbreviate(body.body()));
        HostileSupport.assertUnchanged(baseline, server, body.body());
    }

    // ---------------------------------------------------------------------------------------------
    // Empty and huge batches, bodies over the limit

    record LimitCase(byte[] body, String contentType, boolean chunked, int status, String error, String description,
                     boolean expectContinue) {
        LimitCase(byte[] body, String contentType, boolean chunked, int status, String error, String description) {
            this(body, contentType, chunked, status, error, description, false);
        }
    }

    @Provide
    Arbitrary<LimitCase> outsideTheLimits() {
        Arbitrary<LimitCase> empty = Combinators.combine(Arbitraries.of("", " ", "\n", "\r\n\t ", "[]", "[ ]", " [\n] "),
                Arbitraries.of("application/json", "application/x-ndjson", "text/plain"), Arbitraries.of(true, false))
                .as((b, type, chunked) -> {
                    // As NDJSON, "[]" is one line holding an array (no event), and "[" alone is broken JSON.
                    String error = !type.equals("application/x-ndjson") || !b.contains("[") ? "empty_batch"
                            : b.contains("\n") ? "malformed_json" : "invalid_events";
                    return new LimitCase(b.getBytes(StandardCharsets.UTF_8), type, chunked, 400, error,
                            "empty " + jsonString(b) + " as " + type);
                });
        Arbitrary<LimitCase> tooMany = Combinators.combine(Arbitraries.integers().between(MAX_BATCH + 1, 3 * MAX_BATCH),
                Arbitraries.of(true, false), Arbitraries.of(true, false)).as((n, ndjson, chunked) -> {
            List<String> events = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                events.add(companion());
            }
            String text = ndjson ? String.join("\n", events) : "[" + String.join(",", events) + "]";
            return new LimitCase(text.getBytes(StandardCharsets.UTF_8), ndjson ? "application/x-ndjson" : "application/json",
                    chunked, 413, "batch_too_large", n + " events");
        });
        Arbitrary<LimitCase> tooBig = Combinators.combine(Arbitraries.integers().between(MAX_BODY + 1, 3 * MAX_BODY),
                Arbitraries.of("padding", "string", "array"), Arbitraries.of(true, false)).as((size, how, chunked) -> {
            String event = companion();
            String text = switch (how) {
                case "padding" -> event + " ".repeat(Math.max(0, size - event.length()));
                case "string" -> "{\"type\":\"TOOL_CALL_STARTED\",\"attributes\":{\"k\":\"" + "x".repeat(size) + "\"}}";
                default -> "[" + (event + ",").repeat(size / event.length() + 1) + event + "]";
            };
            return new LimitCase(text.getBytes(StandardCharsets.UTF_8), "application/json", chunked, 413, "body_too_large",
                    text.length() + " bytes by " + how);
        });
        // Beyond what the server swallows after a 413 it closes without reading: a client that waits for
        // 100-continue still gets the answer before sending the body.
        Arbitrary<LimitCase> huge = Arbitraries.integers().between(MAX_BODY + 2 * 1024 * 1024 + 1, MAX_BODY + 3 * 1024 * 1024)
                .map(size -> new LimitCase(" ".repeat(size).getBytes(StandardCharsets.UTF_8), "application/json", false, 413,
                        "body_too_large", size + " bytes, Expect: 100-continue", true));
        return Arbitraries.frequencyOf(Tuple.of(4, empty), Tuple.of(4, tooMany), Tuple.of(4, tooBig), Tuple.of(1, huge));
    }

    @Property(tries = 80)
    void emptyAndOversizedBatchesAndBodiesAreRejected(@ForAll("outsideTheLimits") LimitCase body) {
        HostileSupport.count("post-batch-and-body-limits");
        HttpRequest.BodyPublisher publisher = body.chunked()
                ? HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body.body()))
                : HttpRequest.BodyPublishers.ofByteArray(body.body());
        HttpResponse<String> response = server.send(HttpRequest.newBuilder(server.uri("/events"))
                .expectContinue(body.expectContinue()).header("Content-Type", body.contentType()).POST(publisher));
        String context = body.description() + (body.chunked() ? " (chunked)" : "") + " -> " + response.statusCode() + " " + response.body();
        JsonNode error = HostileSupport.assertJsonError(response, context);
        assertEquals(body.status(), response.statusCode(), context);
        assertEquals(body.error(), error.get("error").asText(), context);
        HostileSupport.assertUnchanged(baseline, server, body.description());
    }

    // ---------------------------------------------------------------------------------------------
    // Every hand-picked input, every run

    @Example
    void everyHandPickedMalformedBodyIsRejected() {
        for (String body : HAND_PICKED_MALFORMED) {
            HostileSupport.count("post-hand-picked");
            HttpResponse<String> response = server.post("/events", body);
            JsonNode error = HostileSupport.assertJsonError(response, body);
            assertEquals(400, response.statusCode(), body);
            assertTrue(List.of("malformed_json", "invalid_events").contains(error.get("error").asText()),
                    HostileSupport.abbreviate(body) + " -> " + response.body());
        }
        HostileSupport.assertUnchanged(baseline, server, "hand-picked malformed bodies");
    }

    @Example
    void everyHandPickedInvalidIdIsRejectedInEveryIdField() {
        for (String id : HostileArbitraries.HAND_PICKED_INVALID) {
            for (Kind kind : Kind.values()) {
                for (String field : List.of("session_id", "model", "correlation_id")) {
                    Map<String, String> base = base(kind, freshSession());
                    if (!base.containsKey(field) && !field.equals("correlation_id")) {
                        continue;
                    }
                    HostileSupport.count("post-hand-picked");
                    String body = with(base, field, jsonString(id), field, "invalid id").json();
                    HttpResponse<String> response = server.post("/events", body);
                    JsonNode error = HostileSupport.assertJsonError(response, body);
                    assertEquals("invalid_events", error.get("error").asText(), body);
                    assertEquals(field, error.get("errors").get(0).get("field").asText(), body + " -> " + response.body());
                }
            }
        }
        HostileSupport.assertUnchanged(baseline, server, "hand-picked invalid ids");
    }
}
