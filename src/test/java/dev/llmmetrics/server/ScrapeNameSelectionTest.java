package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /metrics?name[]=…} selects families as the Prometheus client's exporters do, in every format the route
 * writes, over real HTTP: a family is on the answer when one of the names starts with its name.
 */
class ScrapeNameSelectionTest {

    private static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0";
    private static final String PROTOBUF = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
    /** {@code name[]} as a client must send it: the brackets percent-encoded, as Prometheus sends them. */
    private static final String NAME = "name%5B%5D=";

    private final TestServer server = TestServer.start();

    @BeforeEach
    void seed() {
        server.postEvents(SessionEndpointsTest.seedSessionJson());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void theTextFormatHoldsTheFamiliesTheNamesSelectWithSuffixOrWithout() {
        HttpResponse<String> response = server.get("/metrics?" + NAME + "llm_requests_total&" + NAME + "llm_session_tokens&"
                + NAME + "llm_request_duration_seconds_bucket&" + NAME + "llm_sessions_metered");
        assertEquals(200, response.statusCode());
        assertEquals(Set.of("llm_requests_total", "llm_session_tokens", "llm_request_duration_seconds", "llm_sessions_metered"),
                textFamilies(response.body()));
        PrometheusText scrape = PrometheusText.parse(response.body());
        assertEquals(14, scrape.value("llm_requests_total", "model", "gpt-4", "outcome", "success"));
        assertEquals(1, scrape.value("llm_sessions_metered"));
        assertTrue(scrape.samples().stream().allMatch(s -> s.name().startsWith("llm_requests_total")
                        || s.name().startsWith("llm_session_tokens_") || s.name().startsWith("llm_request_duration_seconds_")
                        || s.name().equals("llm_sessions_metered")),
                "only the samples of the selected families: " + response.body());
    }

    @Test
    void aNameSelectsEveryFamilyWhoseNameItStartsWithAsInClientJava() {
        // llm_session_request_duration_seconds_max starts with the summary's name as well as being the gauge's.
        HttpResponse<String> response = server.get("/metrics?" + NAME + "llm_session_request_duration_seconds_max");
        assertEquals(Set.of("llm_session_request_duration_seconds", "llm_session_request_duration_seconds_max"),
                textFamilies(response.body()));
        assertEquals(Set.of("llm_session_requests_total"), textFamilies(server.get("/metrics?" + NAME + "llm_session_requests").body()));
    }

    @Test
    void openMetricsHoldsTheSelectedFamiliesAndItsEof() {
        HttpResponse<String> response = server.get("/metrics?" + NAME + "llm_requests_total&" + NAME + "llm_session_requests_total",
                "Accept", OPENMETRICS);
        assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("application/openmetrics-text"));
        assertEquals(Set.of("llm_requests", "llm_session_requests"), textFamilies(response.body()));
        assertTrue(response.body().endsWith("# EOF\n"), response.body());
    }

    @Test
    void protobufHoldsTheSelectedFamilies() {
        HttpResponse<byte[]> response = server.getBytes("/metrics?" + NAME + "llm_requests_total&" + NAME
                + "llm_session_tokens&" + NAME + "llm_sessions_metered", "Accept", PROTOBUF);
        assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("application/vnd.google.protobuf"));
        assertEquals(Set.of("llm_requests_total", "llm_session_tokens", "llm_sessions_metered"), protobufFamilies(response.body()));
    }

    @Test
    void aGzippedScrapeHoldsTheSelectedFamiliesInEveryFormat() throws IOException {
        try (TestServer gzip = TestServer.start(Map.of("http.scrape.gzip", "true"))) {
            gzip.postEvents(SessionEndpointsTest.seedSessionJson());
            String query = "/metrics?" + NAME + "llm_requests_total&" + NAME + "llm_session_requests_total";
            HttpResponse<byte[]> text = gzip.getBytes(query, "Accept-Encoding", "gzip");
            assertEquals("gzip", text.headers().firstValue("Content-Encoding").orElseThrow());
            assertEquals(Set.of("llm_requests_total", "llm_session_requests_total"), textFamilies(new String(gunzip(text.body()), StandardCharsets.UTF_8)));
            HttpResponse<byte[]> openMetrics = gzip.getBytes(query, "Accept-Encoding", "gzip", "Accept", OPENMETRICS);
            assertEquals(Set.of("llm_requests", "llm_session_requests"), textFamilies(new String(gunzip(openMetrics.body()), StandardCharsets.UTF_8)));
            HttpResponse<byte[]> protobuf = gzip.getBytes(query, "Accept-Encoding", "gzip", "Accept", PROTOBUF);
            assertEquals(Set.of("llm_requests_total", "llm_session_requests_total"),
                    protobufFamilies(gunzip(protobuf.body())));
        }
    }

    @Test
    void namesThatSelectNoFamilyGiveAnEmptyAnswerInEveryFormat() {
        for (String query : new String[] {NAME + "no_such_family", NAME + "llm", NAME}) {
            HttpResponse<String> text = server.get("/metrics?" + query);
            assertEquals(200, text.statusCode(), query);
            assertEquals("", text.body(), query);
            assertEquals("# EOF\n", server.get("/metrics?" + query, "Accept", OPENMETRICS).body(), query);
            HttpResponse<byte[]> protobuf = server.getBytes("/metrics?" + query, "Accept", PROTOBUF);
            assertEquals(200, protobuf.statusCode(), query);
            assertEquals(0, protobuf.body().length, query);
        }
    }

    @Test
    void aNameWithoutAValueIsIgnoredAsInClientJava() {
        Set<String> families = textFamilies(server.get("/metrics?name%5B%5D").body());
        assertTrue(families.containsAll(Set.of("llm_requests_total", "llm_session_requests_total", "llm_sessions_metered",
                "jvm_memory_used_bytes")), "every family: " + families);
        assertEquals(Set.of("llm_sessions_metered"),
                textFamilies(server.get("/metrics?name%5B%5D&" + NAME + "llm_sessions_metered").body()));
    }

    @Test
    void pastItsBoundsNameIsRefusedWithA400NamingTheBound() {
        String atMost = IntStream.range(0, ScrapeService.MAX_NAMES).mapToObj(i -> NAME + "llm_requests_total")
                .collect(Collectors.joining("&"));
        assertEquals(Set.of("llm_requests_total"), textFamilies(server.get("/metrics?" + atMost).body()));
        assertRefused(server.get("/metrics?" + atMost + "&" + NAME + "llm_tokens"),
                "name[] must be given at most " + ScrapeService.MAX_NAMES + " times");

        String longest = "llm_requests_total" + "x".repeat(ScrapeService.MAX_NAME_LENGTH - "llm_requests_total".length());
        assertEquals(Set.of("llm_requests_total"), textFamilies(server.get("/metrics?" + NAME + longest).body()),
                "a name longer than the family's still selects it");
        assertRefused(server.get("/metrics?" + NAME + longest + "x"),
                "each name[] must be at most " + ScrapeService.MAX_NAME_LENGTH + " characters");
    }

    /**
     * A name selects the families whose names it starts with, and every family the server writes is named in the
     * classic set, {@code [a-zA-Z_:][a-zA-Z0-9_:]*}: a name whose first character is outside it, a control character
     * or another, selects nothing whatever follows, and is refused naming name[]. Past a family's name any character
     * is ignored, as client_java ignores it.
     */
    @Test
    void aNameThatCannotBeginWithAnyFamilysNameIsRefusedWithA400() {
        Set<String> every = textFamilies(server.get("/metrics").body());
        assertTrue(every.stream().allMatch(family -> family.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")),
                "every family's name is in the classic set: " + every);

        String refused = "each name[] must start with a letter, '_' or ':', as every family's name does";
        for (String value : new String[] {"%00", "%0A", "%7F", "%0Allm_requests_total", "%09llm_requests_total", "%C2%85",
                "+llm_requests_total", "%20", "0llm", "-llm", ".llm", "%C3%BCber", "%F0%9F%98%80"}) {
            assertRefused(server.get("/metrics?" + NAME + value), refused);
            assertRefused(server.get("/metrics?" + NAME + "llm_requests_total&" + NAME + value), refused);
            assertEquals(400, server.get("/metrics?" + NAME + value, "Accept", PROTOBUF).statusCode(), value);
        }

        for (String first : new String[] {"a", "Z", "_", ":"}) {
            HttpResponse<String> selectsNothing = server.get("/metrics?" + NAME + first + "%00");
            assertEquals(200, selectsNothing.statusCode(), first);
            assertEquals("", selectsNothing.body(), first);
        }
        assertEquals(Set.of("llm_requests_total"), textFamilies(server.get("/metrics?" + NAME + "llm_requests_total%0A").body()),
                "past the family's name, a control character is ignored as client_java ignores it");
        assertEquals(Set.of("llm_requests_total"), textFamilies(server.get("/metrics?" + NAME + "llm_requests_total.%C3%BC").body()));
    }

    /**
     * The request line's 4095 bytes bound the names together before their own bounds do, as the docs say: every
     * family the server writes, each named, fits in one request line, while 16 names of the longest length, within
     * name[]'s bounds, do not and get 414.
     */
    @Test
    void theRequestLineHoldsEveryFamilysNameButNotAHundredNamesOfTheLongestLength() {
        Set<String> every = textFamilies(server.get("/metrics").body());
        String eachNamed = every.stream().map(family -> NAME + family).collect(Collectors.joining("&"));
        HttpResponse<String> all = server.get("/metrics?" + eachNamed);
        assertEquals(200, all.statusCode(), all.body());
        assertEquals(every, textFamilies(all.body()));

        String longest = IntStream.range(0, 16).mapToObj(i -> NAME + "x".repeat(ScrapeService.MAX_NAME_LENGTH))
                .collect(Collectors.joining("&"));
        HttpResponse<String> tooLong = server.get("/metrics?" + longest);
        assertEquals(414, tooLong.statusCode(), tooLong.body());
        assertEquals("uri_too_long", TestServer.json(tooLong).path("error").asText());
    }

    private static void assertRefused(HttpResponse<String> response, String detail) {
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("application/json"));
        JsonNode error = TestServer.json(response);
        assertEquals("invalid_parameter", error.path("error").asText());
        assertEquals(detail, error.path("detail").asText());
    }

    /** The names of the families in a text or OpenMetrics answer, from their {@code # TYPE} lines. */
    private static Set<String> textFamilies(String body) {
        return body.lines().filter(l -> l.startsWith("# TYPE ")).map(l -> l.split(" ")[2])
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /**
     * The names of the families in delimited {@code MetricFamily} messages: each a varint length, then the message,
     * whose field 1 (tag {@code 0x0a}) is the family's name.
     */
    private static Set<String> protobufFamilies(byte[] body) {
        Set<String> names = new TreeSet<>();
        int[] at = {0};
        while (at[0] < body.length) {
            int length = varint(body, at);
            int end = at[0] + length;
            assertEquals(0x0a, body[at[0]++], "a MetricFamily starts with its name");
            int nameLength = varint(body, at);
            names.add(new String(body, at[0], nameLength, StandardCharsets.UTF_8));
            at[0] = end;
        }
        return names;
    }

    private static int varint(byte[] bytes, int[] at) {
        int value = 0;
        for (int shift = 0; ; shift += 7) {
            byte b = bytes[at[0]++];
            value |= (b & 0x7f) << shift;
            if (b >= 0) {
                return value;
            }
        }
    }

    private static byte[] gunzip(byte[] body) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
            return in.readAllBytes();
        }
    }
}
