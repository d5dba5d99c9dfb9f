package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.session.sqlite.SqliteFiles;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Durable mode's bound in bytes on the real server: what it counts, and what it leaves to its own bounds. */
class DurableStoreBoundsTest {

    @TempDir
    Path dir;

    /**
     * A restart with a lower {@code store.max.records} serves fewer records, and fewer scores of requests, of a
     * session no event has changed since: its entity tag changes with what it serves, so that a client polling
     * with {@code If-None-Match} (the web view) gets the session as it now is, not a 304 for what it held before.
     */
    @Test
    void aSessionServedWithFewerRecordsAfterARestartWithALowerRecordBoundHasANewEntityTag() {
        String path = dir.resolve("sessions.db").toString();
        StringBuilder batch = new StringBuilder("[");
        for (int i = 0; i < 5; i++) {
            batch.append(i == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"records\",")
                    .append("\"model\":\"m\",\"duration_ms\":").append(i).append("},{\"type\":\"LLM_REQUEST_SCORED\",")
                    .append("\"session_id\":\"scores\",\"correlation_id\":\"c\",\"name\":\"q\",\"value\":").append(i).append('}');
        }
        batch.append(",{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"scores\",\"model\":\"m\",\"duration_ms\":1,")
                .append("\"correlation_id\":\"c\"}]");
        Map<String, String> tags = new java.util.HashMap<>();
        try (TestServer server = TestServer.start(Map.of("store.backend", "sqlite", "store.sqlite.path", path))) {
            server.postEvents(batch.toString());
            for (String id : new String[] {"records", "scores"}) {
                tags.put(id, server.get("/events/metrics/session/" + id).headers().firstValue("ETag").orElseThrow());
            }
        }
        try (TestServer server = TestServer.start(Map.of("store.backend", "sqlite", "store.sqlite.path", path,
                "store.max.records", "2"))) {
            var records = server.get("/events/metrics/session/records", "If-None-Match", tags.get("records"));
            assertEquals(200, records.statusCode(), "the records the session served before are not all served now");
            assertEquals(2, TestServer.json(records).get("requests").size());
            var scores = server.get("/events/metrics/session/scores", "If-None-Match", tags.get("scores"));
            assertEquals(200, scores.statusCode(), "the scores of its request it served before are not all served now");
            assertEquals(2, TestServer.json(scores).get("requests").get(0).get("scores").size());
        }
    }

    /**
     * A restart with a lower {@code store.max.bytes} leaves the one session larger than it to give room back by
     * itself at its next event, one that finishes no request (a start): it then serves fewer records, and its entity
     * tag changes with them, so that a client polling with {@code If-None-Match} is not answered 304 for the
     * records it held before.
     */
    @Test
    void aSessionThatGaveRecordsBackToALowerBoundInBytesOnAStartHasANewEntityTag() {
        String path = dir.resolve("sessions.db").toString();
        String value = "x".repeat(1024);
        String tag;
        int before;
        try (TestServer server = TestServer.start(Map.of("store.backend", "sqlite", "store.sqlite.path", path))) {
            for (int post = 0; post < 3; post++) {
                StringBuilder batch = new StringBuilder("[");
                for (int i = 0; i < 14; i++) {
                    batch.append(i == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"large\",")
                            .append("\"model\":\"m\",\"duration_ms\":1,\"attributes\":{");
                    for (int a = 0; a < 64; a++) {
                        batch.append(a == 0 ? "" : ",").append("\"k").append(a).append("\":\"").append(value).append('"');
                    }
                    batch.append("}}");
                }
                server.postEvents(batch.append(']').toString());
            }
            var session = server.get("/events/metrics/session/large");
            tag = session.headers().firstValue("ETag").orElseThrow();
            before = TestServer.json(session).get("requests").size();
        }
        try (TestServer server = TestServer.start(Map.of("store.backend", "sqlite", "store.sqlite.path", path,
                "store.max.bytes", Integer.toString(1 << 20)))) {
            server.postEvents("[{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"large\",\"model\":\"m\"}]");
            var session = server.get("/events/metrics/session/large", "If-None-Match", tag);
            assertEquals(200, session.statusCode(), "the records it served before are not all served now");
            assertTrue(TestServer.json(session).get("requests").size() < before,
                    before + " records before, " + TestServer.json(session).get("requests").size() + " now");
        }
    }

    /**
     * A session of one request graded 3 000 times with long comments, after a restart with a lower
     * {@code store.max.bytes}, gives scores of its lone request back at its next start (its one record stays): it
     * then serves fewer scores, and its entity tag changes with them, so that a client polling with
     * {@code If-None-Match} is not answered 304, nor sent the rendering kept from before, for the scores it held.
     */
    @Test
    void aSessionThatGaveScoresOfItsLoneRequestBackToALowerBoundInBytesOnAStartHasANewEntityTag() {
        String path = dir.resolve("sessions.db").toString();
        String comment = "x".repeat(1024);
        String tag;
        int before;
        try (TestServer server = TestServer.start(Map.of("store.backend", "sqlite", "store.sqlite.path", path,
                "store.max.records", "3000"))) {
            server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"graded\",\"model\":\"m\","
                    + "\"duration_ms\":1,\"correlation_id\":\"c\"}]");
            for (int post = 0; post < 15; post++) {
                StringBuilder batch = new StringBuilder("[");
                for (int i = 0; i < 200; i++) {
                    batch.append(i == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"graded\",")
                            .append("\"correlation_id\":\"c\",\"name\":\"q\",\"value\":1,\"comment\":\"")
                            .append(comment).append("\"}");
                }
                server.postEvents(batch.append(']').toString());
            }
            var session = server.get("/events/metrics/session/graded");
            tag = session.headers().firstValue("ETag").orElseThrow();
            before = TestServer.json(session).get("requests").get(0).get("scores").size();
        }
        try (TestServer server = TestServer.start(Map.of("store.backend", "sqlite", "store.sqlite.path", path,
                "store.max.records", "3000", "store.max.bytes", Integer.toString(1 << 20)))) {
            server.get("/events/metrics/session/graded"); // rendered, and kept, as it is before the start
            server.postEvents("[{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"graded\",\"model\":\"m\"}]");
            var session = server.get("/events/metrics/session/graded", "If-None-Match", tag);
            assertEquals(200, session.statusCode(), "the scores it served before are not all served now");
            JsonNode requests = TestServer.json(session).get("requests");
            assertEquals(1, requests.size(), "its one record stays");
            assertTrue(requests.get(0).get("scores").size() < before,
                    before + " scores before, " + requests.get(0).get("scores").size() + " now");
            var again = server.get("/events/metrics/session/graded");
            assertEquals(requests.get(0).get("scores").size(),
                    TestServer.json(again).get("requests").get(0).get("scores").size(), "served as it now is");
        }
    }

    @Test
    void eventIdsFillingMoreThanTheBoundInBytesEvictNoSessionWhileTheSessionsOwnDataStillDoes() {
        try (TestServer server = TestServer.start(Map.of("store.backend", "sqlite",
                "store.sqlite.path", dir.resolve("sessions.db").toString(), "store.max.bytes", String.valueOf(1 << 20)))) {
            // 30 000 events with 36-character ids over 5 sessions: the ids' rows take about 1.5 MiB, the
            // sessions (their 1 000 newest records each) far less than the bound.
            for (int b = 0; b < 60; b++) {
                StringBuilder batch = new StringBuilder("[");
                for (int i = 0; i < 500; i++) {
                    batch.append(i == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"event_id\":\"")
                            .append(UUID.nameUUIDFromBytes(new byte[] {(byte) b, (byte) (i >> 8), (byte) i}))
                            .append("\",\"session_id\":\"s").append(i % 5)
                            .append("\",\"model\":\"m\",\"duration_ms\":3,\"prompt_tokens\":2,\"completion_tokens\":1}");
                }
                server.postEvents(batch.append(']').toString());
            }
            JsonNode sessions = TestServer.json(server.get("/events/metrics/sessions"));
            assertEquals(5, sessions.get("total").asInt(), "every session is held: " + sessions);
            for (int s = 0; s < 5; s++) {
                assertEquals(6_000, TestServer.json(server.get("/events/metrics/session/s" + s))
                        .get("total_requests").asLong());
            }
            assertEquals(0, server.scrape().value("llm_sessions_evicted_total", "reason", "memory"));

            // The sessions' own data past the bound: the least recently active go, the newest stays whole.
            String error = "\u4e00".repeat(1_000);
            for (int s = 0; s < 20; s++) {
                StringBuilder batch = new StringBuilder("[");
                for (int i = 0; i < 50; i++) {
                    batch.append(i == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"big-")
                            .append(s).append("\",\"model\":\"m\",\"error\":\"").append(error).append(i).append("\"}");
                }
                server.postEvents(batch.append(']').toString());
            }
            assertTrue(server.scrape().value("llm_sessions_evicted_total", "reason", "memory") > 0, "evicted for bytes");
            assertEquals(404, server.get("/events/metrics/session/s0").statusCode(), "the least recently active went");
            assertEquals(50, TestServer.json(server.get("/events/metrics/session/big-19")).get("total_requests").asLong());
        }
    }

    /**
     * 40 sessions of records of 1 to 3 KB (attributes, a correlation id, error texts) fill most of the bound as
     * they are written; a clean stop folds them into the table of records by session, and the next start counts
     * them again: every session still fits, and the first event after the start evicts none of them.
     */
    @Test
    void sessionsOfLargeRecordsThatFitTheBoundInBytesAreAllKeptAcrossACleanRestart() throws Exception {
        Path file = dir.resolve("sessions.db");
        long bound = 4L << 20;
        Map<String, String> settings = Map.of("store.backend", "sqlite", "store.sqlite.path", file.toString(),
                "store.max.bytes", String.valueOf(bound));
        Random random = new Random(17);
        long used;
        try (TestServer server = TestServer.start(settings)) {
            for (int s = 0; s < 40; s++) {
                StringBuilder batch = new StringBuilder("[");
                for (int i = 0; i < 25; i++) {
                    int size = 1_000 + random.nextInt(2_000);
                    batch.append(i == 0 ? "" : ",").append(i % 5 == 4
                            ? "{\"type\":\"LLM_REQUEST_FAILED\",\"error\":\"" + "e".repeat(size / 4) + "\""
                            : "{\"type\":\"LLM_REQUEST_COMPLETED\",\"duration_ms\":3,\"prompt_tokens\":2,"
                                    + "\"completion_tokens\":1")
                            .append(",\"session_id\":\"s").append(s).append("\",\"model\":\"m\",\"correlation_id\":\"")
                            .append(UUID.nameUUIDFromBytes(new byte[] {(byte) s, (byte) i})).append("\",\"attributes\":{")
                            .append("\"prompt\":\"").append("p".repeat(size / 3)).append("\",")
                            .append("\"context\":\"").append("c".repeat(size / 3)).append("\",")
                            .append("\"answer\":\"").append("a".repeat(size / 3)).append("\"}}");
                }
                server.postEvents(batch.append(']').toString());
            }
            assertEquals(40, TestServer.json(server.get("/events/metrics/sessions")).get("total").asInt());
            assertEquals(0, server.scrape().value("llm_sessions_evicted_total", "reason", "memory"));
            used = SqliteFiles.pagesInUse(file);
        }
        assertTrue(used > bound * 6 / 10 && used <= bound, "the sessions fill most of the bound: " + used);
        long folded = SqliteFiles.pagesInUse(file);
        assertTrue(folded <= used * 11 / 10, "folded, the records take about the pages they took as written: "
                + used + " bytes, then " + folded);

        try (TestServer server = TestServer.start(settings)) {
            server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"after\",\"model\":\"m\","
                    + "\"duration_ms\":3}]");
            assertEquals(0, server.scrape().value("llm_sessions_evicted_total", "reason", "memory"), "none evicted");
            assertEquals(41, TestServer.json(server.get("/events/metrics/sessions")).get("total").asInt());
            for (int s = 0; s < 40; s++) {
                JsonNode session = TestServer.json(server.get("/events/metrics/session/s" + s));
                assertEquals(25, session.get("total_requests").asLong(), "s" + s);
            }
        }
    }

}
