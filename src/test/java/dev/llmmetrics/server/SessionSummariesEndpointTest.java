package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmmetrics.CoarseClock;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** GET /events/metrics/summaries: the sessions table of the web view in one request. */
class SessionSummariesEndpointTest {

    private final TestServer server = TestServer.start();

    @AfterEach
    void stop() {
        server.close();
    }

    private void post(String sessionId) {
        server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":" + TestServer.JSON.valueToTree(sessionId)
                + ",\"model\":\"m\",\"duration_ms\":5,\"prompt_tokens\":1,\"completion_tokens\":1}]");
        nextMillisecond();
    }

    /** Waits for the store's clock to move on: the next session gets a later activity date, a definite order. */
    private static void nextMillisecond() {
        long now = CoarseClock.system().millis();
        Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1))
                .until(() -> CoarseClock.system().millis() > now);
    }

    private static List<String> ids(JsonNode summaries) {
        List<String> ids = new ArrayList<>();
        summaries.get("sessions").forEach(s -> ids.add(s.get("session_id").asText()));
        return ids;
    }

    @Test
    void eachSummaryIsTheSessionJsonWithoutItsRecordsMostRecentlyActiveFirst() {
        server.postEvents(SessionEndpointsTest.seedSessionJson());
        nextMillisecond();
        post("other");

        JsonNode summaries = TestServer.json(server.get("/events/metrics/summaries"));
        assertEquals(List.of("other", "abc-123"), ids(summaries));
        assertEquals(2, summaries.get("count").asInt());
        assertEquals(2, summaries.get("total").asInt());
        for (JsonNode summary : summaries.get("sessions")) {
            assertEquals(0, summary.get("requests").size());
            ObjectNode session = (ObjectNode) TestServer.json(
                    server.get("/events/metrics/session/" + summary.get("session_id").asText()));
            session.remove("requests");
            ObjectNode withoutRecords = ((ObjectNode) summary).deepCopy();
            withoutRecords.remove("requests");
            assertEquals(session, withoutRecords);
        }
        JsonNode seed = summaries.get("sessions").get(1);
        assertEquals(15, seed.get("total_requests").asLong());
        assertEquals(1, seed.get("failed_requests").asLong());
    }

    @Test
    void aPageOfSummariesHasAnEntityTagThatAnswers304UntilThePageChanges() {
        post("tag-a");
        post("tag-b");
        post("other");
        String page = "/events/metrics/summaries?id_contains=tag";
        HttpResponse<String> first = server.get(page);
        assertEquals(200, first.statusCode());
        String etag = first.headers().firstValue("ETag").orElseThrow();
        assertTrue(etag.matches("\"[A-Za-z0-9_-]{22}\""), etag);
        assertEquals(etag, server.get(page).headers().firstValue("ETag").orElseThrow(), "the same page, the same tag");

        HttpResponse<String> notModified = server.get(page, "If-None-Match", etag);
        assertEquals(304, notModified.statusCode());
        assertEquals("", notModified.body());
        assertEquals(etag, notModified.headers().firstValue("ETag").orElseThrow());
        assertEquals(304, server.get(page, "If-None-Match", "\"other\", W/" + etag).statusCode(), "a list, compared weakly");
        assertEquals(200, server.get("/events/metrics/summaries", "If-None-Match", etag).statusCode(), "another page");
        assertEquals(200, server.get(page + "&limit=1", "If-None-Match", etag).statusCode(), "another page");

        post("other"); // a session the page does not show: the page is the same
        assertEquals(304, server.get(page, "If-None-Match", etag).statusCode());

        post("tag-a"); // a session on the page: its figures and the order change
        HttpResponse<String> changed = server.get(page, "If-None-Match", etag);
        assertEquals(200, changed.statusCode());
        assertEquals(List.of("tag-a", "tag-b"), ids(TestServer.json(changed)));
        String next = changed.headers().firstValue("ETag").orElseThrow();
        assertTrue(!next.equals(etag), next);

        server.delete("/events/metrics/session/tag-b");
        HttpResponse<String> cleared = server.get(page, "If-None-Match", next);
        assertEquals(200, cleared.statusCode(), "a session cleared off the page");
        assertEquals(List.of("tag-a"), ids(TestServer.json(cleared)));
    }

    @Test
    void limitOffsetAndAnIdFilterIgnoringCasePageTheMatchingSessions() {
        for (String id : List.of("Alpha-1", "beta-1", "alpha-2", "<img src=x onerror=alert(1)>", "ALPHA-3")) {
            post(id);
        }
        assertEquals(List.of("ALPHA-3", "<img src=x onerror=alert(1)>"),
                ids(TestServer.json(server.get("/events/metrics/summaries?limit=2"))));

        JsonNode alpha = TestServer.json(server.get("/events/metrics/summaries?id_contains=aLpHa&limit=2&offset=1"));
        assertEquals(List.of("alpha-2", "Alpha-1"), ids(alpha));
        assertEquals(2, alpha.get("count").asInt());
        assertEquals(3, alpha.get("total").asInt());

        String hostile = URLEncoder.encode("<img", StandardCharsets.UTF_8);
        assertEquals(List.of("<img src=x onerror=alert(1)>"),
                ids(TestServer.json(server.get("/events/metrics/summaries?id_contains=" + hostile))));
        assertEquals(0, TestServer.json(server.get("/events/metrics/summaries?id_contains=zzz")).get("total").asInt());
        assertEquals(5, TestServer.json(server.get("/events/metrics/summaries?id_contains=")).get("total").asInt());
        // In a query '+' is a space and a percent-escaped UTF-8 sequence is its character.
        post("open ai \u4e00");
        assertEquals(List.of("open ai \u4e00"),
                ids(TestServer.json(server.get("/events/metrics/summaries?id_contains=n+ai+%E4%B8%80"))));
    }

    @Test
    void badPagingOrFilterParametersAreA400() {
        // Percent-escapes that are not UTF-8 (a lone byte, a surrogate, an overlong form) are refused, not replaced.
        for (String bad : List.of("limit=1001", "limit=-1", "offset=x", "id_contains=a&id_contains=b", "id_contains=%01",
                "id_contains=" + "x".repeat(257), "id_contains=%ff", "id_contains=%ed%a0%80", "id_contains=%c0%af",
                "id_contains=%e4%b8")) {
            HttpResponse<String> response = server.get("/events/metrics/summaries?" + bad);
            assertEquals(400, response.statusCode(), bad);
            assertEquals("invalid_parameter", TestServer.json(response).get("error").asText(), bad);
        }
        assertTrue(server.get("/events/metrics/summaries?limit=1000").statusCode() == 200);
    }
}
