package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** GET /metrics: content negotiation and descriptions on every meter, over real HTTP. */
class ScrapeEndpointTest {

    private final TestServer server = TestServer.start();

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void theDefaultFormatIsPrometheusText004WithHelpOnEveryMetric() {
        server.postEvents(SessionEndpointsTest.seedSessionJson());
        HttpResponse<String> response = server.get("/metrics");
        assertEquals(200, response.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", response.headers().firstValue("Content-Type").orElseThrow());
        String body = response.body();
        for (String family : new String[] {"llm_session_requests_total", "llm_session_request_duration_seconds",
                "llm_session_tokens", "llm_session_tool_call_requests_total", "llm_requests_total",
                "llm_request_duration_seconds", "llm_tokens", "llm_requests_in_flight", "llm_request_messages",
                "llm_request_tools", "llm_sessions_active", "llm_sessions_metered", "llm_sessions_evicted_total"}) {
            String base = family.endsWith("_total") ? family.substring(0, family.length() - "_total".length()) : family;
            assertTrue(body.contains("# HELP " + family + " ") || body.contains("# HELP " + base + " "), "no HELP for " + family);
        }
        PrometheusText scrape = PrometheusText.parse(body);
        assertEquals(14, scrape.value("llm_requests_total", "model", "gpt-4", "outcome", "success"));
    }

    @Test
    void openMetricsIsServedWhenTheAcceptHeaderAsksForIt() {
        HttpResponse<String> response = server.get("/metrics", "Accept",
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("application/openmetrics-text"));
        assertTrue(response.body().endsWith("# EOF\n"));
    }

    @Test
    void theAcceptHeadersQValuesChooseTheFormatAndAFormatRatedQ0IsNeverServed() {
        server.postEvents(SessionEndpointsTest.seedSessionJson());
        String text = "text/plain; version=0.0.4";
        String openMetrics = "application/openmetrics-text; version=1.0.0";
        String protobuf = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily";
        String proto = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("application/openmetrics-text;q=0, text/plain", text);
        cases.put("application/openmetrics-text; Q=0.000", text);
        cases.put("Application/OpenMetrics-Text;q=0.9, text/plain;q=0.5", openMetrics);
        cases.put("application/openmetrics-text;q=0.2, text/plain;q=0.8", text);
        cases.put("text/plain;q=0.2, application/openmetrics-text;q=0.8", openMetrics);
        cases.put("application/openmetrics-text;q=abc, text/plain;q=0.1", text);
        cases.put("application/openmetrics-text;q=abc", text);
        cases.put("text/plain;q=x", text);
        cases.put(proto + ";q=0, text/plain", text);
        cases.put(proto + ";q=0, application/openmetrics-text;q=0.5", openMetrics);
        // The protobuf text encodings are not the delimited messages the server writes: not that format.
        cases.put(protobuf + ";encoding=text, text/plain;q=0.5", text);
        cases.put(protobuf + ";encoding=compact-text, application/openmetrics-text;q=0.5", openMetrics);
        cases.put(protobuf + ";Encoding=Delimited, text/plain;q=0.5", protobuf);
        cases.put("application/openmetrics-text;q=0.5, */*", text);
        cases.put("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", text);
        cases.put("*/*", text);
        // Prometheus 3's own headers, without and with protobuf first in scrape_protocols.
        cases.put("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;"
                + "version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,"
                + "*/*;q=0.1", openMetrics);
        cases.put(proto + ";q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
                protobuf);
        for (Map.Entry<String, String> c : cases.entrySet()) {
            HttpResponse<String> response = server.get("/metrics", "Accept", c.getKey());
            String contentType = response.headers().firstValue("Content-Type").orElseThrow();
            assertEquals(200, response.statusCode(), c.getKey());
            assertTrue(contentType.startsWith(c.getValue()), "Accept: " + c.getKey() + " -> " + contentType);
            assertEquals(c.getValue().equals(openMetrics), response.body().endsWith("# EOF\n"), c.getKey());
            assertTrue(response.body().contains("llm_session_requests"), "the per-session families in every format: " + c.getKey());
        }
        HttpResponse<String> twoLines = server.get("/metrics", "Accept", "application/openmetrics-text;q=0", "Accept", "text/plain");
        assertTrue(twoLines.headers().firstValue("Content-Type").orElseThrow().startsWith(text), "Accept on two lines is one list");
    }

    @Test
    void everyScrapeNamesAcceptInVarySinceItsFormatFollowsThatHeader() {
        for (String accept : new String[] {"text/plain", "application/openmetrics-text",
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"}) {
            HttpResponse<byte[]> response = server.getBytes("/metrics", "Accept", accept);
            assertEquals(200, response.statusCode(), accept);
            assertEquals(List.of("Accept"), response.headers().allValues("Vary"), accept);
        }
        assertEquals(List.of("Accept"), server.get("/metrics").headers().allValues("Vary"), "without Accept too");
    }

    @Test
    void withScrapeGzipTheScrapeIsGzippedWhenAcceptEncodingAsksForItAndReadsAsTheSameSeries() throws IOException {
        try (TestServer server = TestServer.start(Map.of("http.scrape.gzip", "true"))) {
            assertGzippedAsAsked(server);
        }
    }

    @Test
    void byDefaultTheScrapeIsSentAsItIsWhateverAcceptEncodingAsks() {
        server.postEvents(SessionEndpointsTest.seedSessionJson());
        HttpResponse<String> response = server.get("/metrics", "Accept-Encoding", "gzip");
        assertTrue(response.headers().firstValue("Content-Encoding").isEmpty());
        assertEquals(14, PrometheusText.parse(response.body()).value("llm_requests_total", "model", "gpt-4", "outcome", "success"));
    }

    private static void assertGzippedAsAsked(TestServer server) throws IOException {
        server.postEvents(SessionEndpointsTest.seedSessionJson());
        Map<String, Boolean> cases = new LinkedHashMap<>();
        cases.put("gzip", true);
        cases.put("GZip", true);
        cases.put("x-gzip", true);
        cases.put("br, gzip;q=0.5, deflate", true);
        cases.put("*", true);
        cases.put("identity, *;q=0.1", true);
        cases.put("gzip;q=0", false);
        cases.put("gzip;Q=0.000", false);
        cases.put("*, gzip;q=0", false);
        cases.put("gzip;q=abc", false);
        cases.put("gzip;q=2", false);
        cases.put("identity", false);
        cases.put("br, deflate", false);
        cases.put("*;q=0", false);
        cases.put(",,;,", false);
        for (Map.Entry<String, Boolean> c : cases.entrySet()) {
            HttpResponse<byte[]> response = server.getBytes("/metrics", "Accept-Encoding", c.getKey());
            assertEquals(200, response.statusCode(), c.getKey());
            assertEquals(c.getValue(), response.headers().firstValue("Content-Encoding").filter("gzip"::equals).isPresent(), c.getKey());
            assertEquals("Accept, Accept-Encoding", response.headers().firstValue("Vary").orElseThrow(), c.getKey());
            String body = c.getValue() ? gunzip(response.body()) : new String(response.body(), StandardCharsets.UTF_8);
            PrometheusText scrape = PrometheusText.parse(body);
            assertEquals(14, scrape.value("llm_requests_total", "model", "gpt-4", "outcome", "success"), c.getKey());
            assertTrue(body.contains("llm_session_requests_total{"), c.getKey());
        }
        HttpResponse<byte[]> openMetrics = server.getBytes("/metrics", "Accept-Encoding", "gzip", "Accept", "application/openmetrics-text");
        assertTrue(gunzip(openMetrics.body()).endsWith("# EOF\n"), "OpenMetrics, gzipped, still ends with its # EOF");
        HttpResponse<byte[]> protobuf = server.getBytes("/metrics", "Accept-Encoding", "gzip",
                "Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited");
        assertEquals("gzip", protobuf.headers().firstValue("Content-Encoding").orElseThrow());
        assertTrue(gunzip(protobuf.body()).contains("llm_requests_total"), "the protobuf messages, gzipped");
    }

    private static String gunzip(byte[] body) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
