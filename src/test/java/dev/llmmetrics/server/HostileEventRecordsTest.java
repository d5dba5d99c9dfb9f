package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.LlmMetricsConfig;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventTypes;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.track.Usage;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * The Java API under generated arguments: every event record constructor either builds a valid event or
 * throws {@link IllegalArgumentException} naming the field, never anything else, and decides exactly as
 * an oracle written from the documented limits. Every event built is published into a real
 * {@link LlmMetrics} whose Prometheus scrape must then pass {@code promtool check metrics} and both
 * parsers.
 */
class HostileEventRecordsTest {

    private static final int TRIES = 1000;

    private static PrometheusMeterRegistry registry;
    private static LlmMetrics metrics;

    @BeforeContainer
    static void start() {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // Room for every generated type name: the bound on types has its own test over HTTP.
        metrics = LlmMetrics.builder(registry).config(LlmMetricsConfig.builder().maxEventTypes(1_000_000).build()).build();
    }

    @AfterContainer
    static void stop() {
        metrics.close();
        HostileSupport.report(HostileEventRecordsTest.class.getSimpleName());
    }

    /** After each property: the scrape of everything the property published is a valid exposition. */
    @AfterProperty
    void scrapeStaysValid() {
        HostileExposition.check(registry.scrape().getBytes(StandardCharsets.UTF_8));
    }

    // ---------------------------------------------------------------------------------------------

    @Provide
    Arbitrary<String> ids() {
        return HostileArbitraries.anyIds();
    }

    @Provide
    Arbitrary<Integer> counts() {
        return Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.of(Integer.MIN_VALUE, -1, 0, 1, Integer.MAX_VALUE),
                Arbitraries.integers().between(0, 100_000));
    }

    @Provide
    Arbitrary<Long> durations() {
        return Arbitraries.oneOf(Arbitraries.longs(), Arbitraries.longs().between(0, 600_000),
                Arbitraries.of(Long.MIN_VALUE, -1L, 0L, 1L, Event.MAX_DURATION_MS, Event.MAX_DURATION_MS + 1, Long.MAX_VALUE));
    }

    @Provide
    Arbitrary<Long> optionalDurations() {
        return Arbitraries.oneOf(durations(), Arbitraries.just(null));
    }

    @Provide
    Arbitrary<Instant> timestamps() {
        long min = Event.MIN_TIMESTAMP.getEpochSecond();
        long max = Event.MAX_TIMESTAMP.getEpochSecond();
        return Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(null)),
                Tuple.of(3, Arbitraries.longs().between(min - 100, max + 100).map(Instant::ofEpochSecond)),
                Tuple.of(2, Arbitraries.of(Instant.MIN, Instant.MAX, Instant.EPOCH, Event.MIN_TIMESTAMP,
                        Event.MAX_TIMESTAMP, Event.MIN_TIMESTAMP.minusNanos(1), Event.MAX_TIMESTAMP.plusNanos(1),
                        Instant.parse("2026-01-17T15:30:00Z"))));
    }

    @Provide
    Arbitrary<String> errors() {
        return Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(null)),
                Tuple.of(3, HostileArbitraries.anyIds()),
                Tuple.of(2, Arbitraries.of("", "line1\nline2\tx", "x".repeat(4096), "x".repeat(4097), "a\r\nb",
                        "java.io.IOException: \u0000", "\uD83D\uDE00".repeat(2048), "\uD83D\uDE00".repeat(2048) + "!")),
                Tuple.of(2, Arbitraries.strings().withCharRange('\u0000', '\u00FF').withChars('\uD800', '\uDC00', '\n', '\t')
                        .ofMaxLength(5000)));
    }

    @Provide
    Arbitrary<String> types() {
        return Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.of(EventTypes.LLM_REQUEST_STARTED, EventTypes.LLM_REQUEST_COMPLETED,
                        EventTypes.LLM_REQUEST_FAILED, "TOOL_CALL_STARTED", "AGENT_STEP", "HITL_APPROVED", "X", "A1_B2",
                        "A".repeat(64), "A".repeat(65), "", "lower", "Lower_Case", "A__B", "_A", "A_", "1A", "A-B", "A B",
                        "\u00C4", "A\u0000", "A\n", "TOOL_CALL_STARTED ", null)),
                Tuple.of(3, Arbitraries.strings().withChars("ABCXYZ019_a -\u00C4").ofMinLength(0).ofMaxLength(70)));
    }

    @Provide
    Arbitrary<Map<String, String>> attributes() {
        Arbitrary<String> keys = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(12)),
                Tuple.of(2, HostileArbitraries.anyIds()));
        Arbitrary<String> values = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.strings().ofMaxLength(40)),
                Tuple.of(1, Arbitraries.of("x".repeat(1024), "x".repeat(1025), "a\nb\tc", "a\rb", "\u0000", "\uD800", "")),
                Tuple.of(1, Arbitraries.just(null)));
        Arbitrary<Map<String, String>> small = Arbitraries.entries(keys, values).list().ofMaxSize(6).map(entries -> {
            Map<String, String> map = new HashMap<>(); // allows null keys and values
            entries.forEach(e -> map.put(e.getKey(), e.getValue()));
            return map;
        });
        Arbitrary<Map<String, String>> sized = Arbitraries.of(63, 64, 65, 200).map(n -> {
            Map<String, String> map = new HashMap<>();
            for (int i = 0; i < n; i++) {
                map.put("k" + i, "v");
            }
            return map;
        });
        return Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(null)), Tuple.of(1, Arbitraries.just(Map.of())),
                Tuple.of(6, small), Tuple.of(1, sized));
    }

    // ---------------------------------------------------------------------------------------------

    @Property(tries = TRIES)
    void startedIsBuiltOrRejectedWithIllegalArgument(@ForAll("ids") String session, @ForAll("ids") String model,
                                                     @ForAll("counts") int messages, @ForAll("counts") int tools,
                                                     @ForAll("optionalIds") String correlation,
                                                     @ForAll("timestamps") Instant timestamp) {
        boolean valid = HostileSupport.validId(session) && HostileSupport.validId(model) && messages >= 0 && tools >= 0
                && optionalIdOk(correlation) && timestampOk(timestamp);
        decide(valid, () -> LlmRequestStarted.builder(session, model).messagesCount(messages).toolsCount(tools)
                .correlationId(correlation).timestamp(timestamp).build(),
                List.of("sessionId", "model", "messagesCount", "toolsCount", "correlationId", "timestamp"));
    }

    @Property(tries = TRIES)
    void completedIsBuiltOrRejectedWithIllegalArgument(@ForAll("ids") String session, @ForAll("ids") String model,
                                                       @ForAll("durations") long duration, @ForAll("counts") int prompt,
                                                       @ForAll("counts") int completion, @ForAll("counts") int total,
                                                       @ForAll boolean tools, @ForAll("optionalIds") String correlation,
                                                       @ForAll("timestamps") Instant timestamp) {
        boolean valid = HostileSupport.validId(session) && HostileSupport.validId(model) && durationOk(duration)
                && prompt >= 0 && completion >= 0 && total >= 0 && optionalIdOk(correlation) && timestampOk(timestamp);
        decide(valid, () -> LlmRequestCompleted.builder(session, model).durationMs(duration).promptTokens(prompt)
                .completionTokens(completion).totalTokens(total).hasToolCalls(tools).correlationId(correlation)
                .timestamp(timestamp).build(),
                List.of("sessionId", "model", "durationMs", "promptTokens", "completionTokens", "totalTokens",
                        "correlationId", "timestamp"));
    }

    @Property(tries = TRIES)
    void failedIsBuiltOrRejectedWithIllegalArgument(@ForAll("ids") String session, @ForAll("ids") String model,
                                                    @ForAll("errors") String error, @ForAll("optionalIds") String correlation,
                                                    @ForAll("timestamps") Instant timestamp,
                                                    @ForAll("optionalDurations") Long duration) {
        boolean valid = HostileSupport.validId(session) && HostileSupport.validId(model)
                && HostileSupport.validText(error, LlmRequestFailed.MAX_ERROR_LENGTH) && optionalIdOk(correlation)
                && timestampOk(timestamp) && (duration == null || durationOk(duration));
        decide(valid, () -> LlmRequestFailed.builder(session, model).error(error).correlationId(correlation)
                .timestamp(timestamp).durationMs(duration).build(),
                List.of("sessionId", "model", "error", "correlationId", "timestamp", "durationMs"));
    }

    @Property(tries = TRIES)
    void genericIsBuiltOrRejectedWithIllegalArgument(@ForAll("types") String type, @ForAll("optionalIds") String session,
                                                     @ForAll("optionalIds") String correlation,
                                                     @ForAll("timestamps") Instant timestamp,
                                                     @ForAll("attributes") Map<String, String> attributes) {
        boolean typeOk = type != null && type.matches("[A-Z][A-Z0-9]*(_[A-Z0-9]+)*") && type.length() <= 64
                && !List.of("LLM_REQUEST_STARTED", "LLM_REQUEST_COMPLETED", "LLM_REQUEST_FAILED").contains(type);
        boolean attributesOk = attributes == null || (attributes.size() <= GenericEvent.MAX_ATTRIBUTES
                && attributes.entrySet().stream().allMatch(e -> HostileSupport.validId(e.getKey())
                && HostileSupport.validText(e.getValue(), GenericEvent.MAX_ATTRIBUTE_LENGTH)));
        boolean valid = typeOk && optionalIdOk(session) && optionalIdOk(correlation) && timestampOk(timestamp) && attributesOk;
        decide(valid, () -> new GenericEvent(type, session, correlation, timestamp, attributes),
                List.of("type", "sessionId", "correlationId", "timestamp", "attributes"));
    }

    @Property(tries = TRIES)
    void requireValidIdAgreesWithTheOracle(@ForAll("ids") String id) {
        HostileSupport.count("java-api");
        try {
            assertEquals(id, Event.requireValidId("session_id", id));
            assertTrue(HostileSupport.validId(id), "accepted an invalid id: " + HostileSupport.abbreviate(id));
        } catch (IllegalArgumentException e) {
            assertFalse(HostileSupport.validId(id), "rejected a valid id: " + HostileSupport.abbreviate(id) + ": " + e.getMessage());
            assertTrue(e.getMessage().startsWith("session_id "), e.getMessage());
        }
    }

    /**
     * {@code Usage} (package {@code track}, outside this suite's fixes) throws {@link ArithmeticException}
     * from {@code Usage.of} when prompt plus completion tokens exceed {@code int}: enable once fixed.
     */
    @Property(tries = TRIES)
    void usageIsBuiltOrRejectedWithIllegalArgument(@ForAll("counts") int prompt, @ForAll("counts") int completion,
                                                   @ForAll boolean tools) {
        HostileSupport.count("java-api");
        try {
            Usage usage = Usage.of(prompt, completion, tools);
            assertTrue(usage.totalTokens() >= 0);
        } catch (IllegalArgumentException e) {
            assertTrue(prompt < 0 || completion < 0 || (long) prompt + completion > Integer.MAX_VALUE);
        }
    }

    /**
     * Durations each valid, together past what Micrometer's timers hold: a timer's total is a sum of
     * nanoseconds in a {@code long}, which wraps to a negative {@code _sum} (package {@code collect}, outside
     * this suite's fixes). Enable once the collector saturates or bounds what it records.
     */
    @Example
    void durationSumsNeverWrapNegative() {
        PrometheusMeterRegistry own = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (LlmMetrics m = LlmMetrics.builder(own).build()) {
            for (int i = 0; i < 2; i++) {
                m.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(Event.MAX_DURATION_MS)
                        .promptTokens(1).completionTokens(1).build());
            }
            for (HostileExposition.Sample s : HostileExposition.parse(own.scrape().getBytes(StandardCharsets.UTF_8))) {
                if (s.name().startsWith("llm_") && s.name().endsWith("_sum")) {
                    assertTrue(s.value() >= 0, "negative sum: " + s);
                }
            }
            assertTrue(m.store().session("s").orElseThrow().totalDurationMs() >= 0);
        }
    }

    @Provide
    Arbitrary<String> optionalIds() {
        return Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(null)), Tuple.of(3, HostileArbitraries.anyIds()));
    }

    // ---------------------------------------------------------------------------------------------

    private static boolean optionalIdOk(String id) {
        return id == null || HostileSupport.validId(id);
    }

    private static boolean durationOk(long duration) {
        return duration >= 0 && duration <= 86_400_000L; // one day, written out: an oracle independent of Event
    }

    private static boolean timestampOk(Instant t) {
        return t == null || (t.getEpochSecond() >= Instant.parse("0001-01-01T00:00:00Z").getEpochSecond()
                && !t.isAfter(Instant.parse("9999-12-31T23:59:59.999999999Z")));
    }

    /**
     * Builds the event: it must succeed exactly when the oracle says so, fail only with an
     * IllegalArgumentException whose message starts with one of the fields, and what it builds is published.
     */
    private static void decide(boolean valid, Supplier<Event> build, List<String> fields) {
        HostileSupport.count("java-api");
        Statistics.label("oracle").collect(valid ? "valid" : "invalid");
        Event event;
        try {
            event = build.get();
        } catch (IllegalArgumentException e) {
            assertFalse(valid, "rejected valid arguments: " + e.getMessage());
            String message = e.getMessage();
            assertNotNull(message);
            assertTrue(fields.stream().anyMatch(f -> message.startsWith(f + " ") || message.startsWith(f + "."))
                            || message.startsWith("attributes ") || message.startsWith("type "),
                    "the message does not name the field: " + message);
            return;
        }
        assertTrue(valid, "built an event from invalid arguments: " + event);
        assertNotNull(event.timestamp());
        assertNotNull(event.type());
        metrics.bus().publish(event);
    }
}
