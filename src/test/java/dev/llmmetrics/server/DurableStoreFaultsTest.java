package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.session.SessionStoreFactory;
import dev.llmmetrics.session.sqlite.SqliteSessionStore;
import dev.llmmetrics.session.sqlite.Tmpfs;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durable mode (the SQLite store) against the real server process: a full disk, readiness while the store
 * cannot write and after (the file deleted, made immutable, locked by another process, damaged under the running
 * server), {@code kill -9} and SIGTERM under load, {@code DELETE} racing {@code POST} across a restart, and files at the path
 * that are not a store.
 */
class DurableStoreFaultsTest {

    @TempDir
    Path dir;

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static ChildServer start(Path file) throws Exception {
        return ChildServer.mainWithJvmArgs(List.of("--enable-native-access=ALL-UNNAMED"),
                "STORE_BACKEND", "sqlite", "STORE_SQLITE_PATH", file.toString());
    }

    /** One batch of {@code events} completed requests of one session, each with its event id. */
    private static String batch(String session, int events, int errorChars) {
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < events; i++) {
            if (errorChars > 0) {
                body.append("{\"type\":\"LLM_REQUEST_FAILED\",\"event_id\":\"").append(session).append('-').append(i)
                        .append("\",\"session_id\":\"").append(session).append("\",\"model\":\"m\",\"error\":\"")
                        .append("x".repeat(errorChars)).append("\"}\n");
            } else {
                body.append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"event_id\":\"").append(session).append('-').append(i)
                        .append("\",\"session_id\":\"").append(session)
                        .append("\",\"model\":\"m\",\"duration_ms\":3,\"prompt_tokens\":2,\"completion_tokens\":1}\n");
            }
        }
        return body.toString();
    }

    private HttpResponse<String> post(ChildServer server, String body) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(server.base() + "/events"))
                .header("Content-Type", "application/x-ndjson").timeout(Duration.ofSeconds(20))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(ChildServer server, String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(server.base() + path)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> delete(ChildServer server, String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(server.base() + path)).timeout(Duration.ofSeconds(20))
                .DELETE().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A session's {@code total_requests}, 0 when the server does not hold it. */
    private long requests(ChildServer server, String session) throws IOException, InterruptedException {
        HttpResponse<String> r = get(server, "/events/metrics/session/" + session);
        assertTrue(r.statusCode() == 200 || r.statusCode() == 404, r.body());
        return r.statusCode() == 404 ? 0 : TestServer.JSON.readTree(r.body()).get("total_requests").asLong();
    }

    private static void kill(ChildServer server) throws InterruptedException {
        server.process.destroyForcibly();
        assertTrue(server.process.waitFor(10, TimeUnit.SECONDS));
    }

    @Test
    void aServerKilledWithSigkillLeavesNoCopyOfTheSqliteNativeLibraryInTheTemporaryDirectory() throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path file = dir.resolve("sessions.db");
        for (int start = 0; start < 2; start++) {
            ChildServer server = ChildServer.mainWithJvmArgs(List.of("--enable-native-access=ALL-UNNAMED",
                    "-Djava.io.tmpdir=" + tmp), "STORE_BACKEND", "sqlite", "STORE_SQLITE_PATH", file.toString());
            try {
                assertEquals(202, post(server, batch("start-" + start, 5, 0)).statusCode());
                assertEquals(5, requests(server, "start-" + start), "the library loaded and in use");
            } finally {
                kill(server);
            }
            try (Stream<Path> left = Files.list(tmp)) {
                assertEquals(List.of(), left.map(p -> p.getFileName().toString()).toList(),
                        "nothing left in the temporary directory after SIGKILL " + (start + 1));
            }
        }
    }

    @Test
    void aFullDiskRefusesBatchesWithNothingAppliedAndEveryAcknowledgedBatchSurvivesKillAndRestartOnce() throws Exception {
        try (Tmpfs disk = Tmpfs.mount(dir.resolve("disk"), "8m")) {
            Path file = disk.dir().resolve("sessions.db");
            List<String> acknowledged = new ArrayList<>();
            List<String> refused = new ArrayList<>();
            int serial = 0;
            try (ChildServer server = start(file)) {
                for (; serial < 10; serial++) {
                    assertEquals(202, post(server, batch("before-" + serial, 20, 1_000)).statusCode());
                    acknowledged.add("before-" + serial);
                }
                disk.fill();
                for (int tries = 0; tries < 300 && refused.size() < 3; tries++, serial++) {
                    String session = "full-" + serial;
                    HttpResponse<String> r = post(server, batch(session, 20, 1_000));
                    if (r.statusCode() == 202) {
                        acknowledged.add(session); // the log had room still
                    } else {
                        assertEquals(503, r.statusCode(), r.body());
                        assertEquals("store_unavailable", TestServer.JSON.readTree(r.body()).get("error").asText());
                        assertEquals(0, requests(server, session), "nothing of a refused batch is applied");
                        refused.add(session);
                    }
                }
                assertEquals(3, refused.size(), "a full disk refuses batches");
                HttpResponse<String> clear = delete(server, "/events/metrics/session/" + acknowledged.get(0));
                assertEquals(503, clear.statusCode(), "a clear the store cannot write: " + clear.body());
                assertEquals("store_unavailable", TestServer.JSON.readTree(clear.body()).get("error").asText());
                assertEquals(20, requests(server, acknowledged.get(0)), "nothing was cleared");

                disk.free();
                for (int i = 0; i < 10; i++, serial++) {
                    HttpResponse<String> r = post(server, batch("after-" + serial, 20, 1_000));
                    assertEquals(202, r.statusCode(), "ingestion resumes by itself: " + r.body());
                    acknowledged.add("after-" + serial);
                }
                kill(server);
            }
            try (ChildServer restarted = start(file)) {
                long present = 0;
                for (String session : acknowledged) {
                    long n = requests(restarted, session);
                    assertEquals(20, n, session + " was acknowledged: exactly once");
                    present += n;
                }
                for (String session : refused) {
                    assertEquals(0, requests(restarted, session), session + " was refused");
                }
                JsonNode list = TestServer.JSON.readTree(get(restarted, "/events/metrics/sessions").body());
                assertEquals(acknowledged.size(), list.get("total").asInt());
                JsonNode retry = TestServer.JSON.readTree(post(restarted, batch(acknowledged.get(0), 20, 1_000)).body());
                assertEquals(0, retry.get("accepted").asInt(), "a retry after the restart is recognised");
                System.out.printf("disk full: %d batches of 20 acknowledged (%d events present after kill -9 and "
                        + "restart), %d refused with 503 (none present)%n", acknowledged.size(), present, refused.size());
            }
        }
    }

    /** Ten batches of 20 events, each acknowledged: what the store holds before its disk fills. */
    private void postTenBatches(ChildServer server) throws IOException, InterruptedException {
        for (int i = 0; i < 10; i++) {
            assertEquals(202, post(server, batch("before-" + i, 20, 1_000)).statusCode());
        }
    }

    /** Fills the disk, then posts batches until one is refused with 503, 50 at most; whether one was. */
    private boolean fillUntilRefused(ChildServer server, Tmpfs disk, String prefix) throws IOException, InterruptedException {
        disk.fill();
        for (int i = 0; i < 50; i++) {
            HttpResponse<String> r = post(server, batch(prefix + i, 20, 1_000));
            if (r.statusCode() == 503) {
                return true;
            }
            assertEquals(202, r.statusCode(), r.body());
        }
        return false;
    }

    @Test
    void aDiskThatFillsAndFreesByTurnsIsWarnedAboutOnceAMinuteNotAtEachTurn() throws Exception {
        try (Tmpfs disk = Tmpfs.mount(dir.resolve("disk"), "8m"); ChildServer server = start(disk.dir().resolve("sessions.db"))) {
            postTenBatches(server);
            // The disk fills and frees by turns: each turn the store stops writing, then writes again.
            int stops = 0;
            int resumes = 0;
            for (int turn = 0; turn < 3; turn++) {
                if (fillUntilRefused(server, disk, "full-" + turn + "-")) {
                    stops++;
                }
                disk.free();
                HttpResponse<String> r = post(server, batch("freed-" + turn, 20, 1_000));
                assertEquals(202, r.statusCode(), r.body());
                resumes++;
            }
            assertTrue(stops >= 3 && resumes >= 3, "the store stopped " + stops + " times and resumed " + resumes);
            long warnings = server.output.stream().filter(l -> l.contains("cannot write")).count();
            long resumed = server.output.stream().filter(l -> l.contains("writes again")).count();
            // The first stop, then the second (within the minute: stops by turns, logged once), nothing after.
            assertEquals(2, warnings, server.log());
            assertEquals(1, resumed, server.log());
            System.out.printf("fill and free by turns: %d stops, %d resumes, %d warning and %d 'writes again' line(s)%n",
                    stops, resumes, warnings, resumed);
        }
    }

    @Test
    void whileTheStoreRefusesBatchesTheLogDoesNotEndWithWritesAgain() throws Exception {
        try (Tmpfs disk = Tmpfs.mount(dir.resolve("disk"), "8m"); ChildServer server = start(disk.dir().resolve("sessions.db"))) {
            postTenBatches(server);
            int refused = 0;
            for (int turn = 0; turn < 2; turn++) {
                if (fillUntilRefused(server, disk, "full-" + turn + "-")) {
                    refused++;
                }
                if (turn == 0) {
                    disk.free();
                    assertEquals(202, post(server, batch("freed", 20, 1_000)).statusCode());
                }
            }
            assertEquals(2, refused, "the store stopped twice");
            // The disk is full again and stays full: every batch is refused, for as long as it stays so.
            assertEquals(503, post(server, batch("still-full", 20, 1_000)).statusCode());
            String last = server.output.stream().filter(l -> l.contains("cannot write") || l.contains("writes again"))
                    .reduce((a, b) -> b).orElse("");
            assertTrue(last.contains("cannot write"), "the store refuses every batch, yet the last thing the log says about"
                    + " it is: " + last + "\n" + server.log());
        }
    }

    /** Posts {@code batch} and checks that it is refused, 503 {@code store_unavailable}: nothing of it applied. */
    private void assertRefused(ChildServer server, String batch) throws IOException, InterruptedException {
        HttpResponse<String> refused = post(server, batch);
        assertEquals(503, refused.statusCode(), refused.body());
        assertEquals("store_unavailable", TestServer.JSON.readTree(refused.body()).get("error").asText());
    }

    /** {@code GET /health/ready}: its status code and its reason, {@code null} when it has none. */
    private Ready ready(ChildServer server) throws IOException, InterruptedException {
        HttpResponse<String> r = get(server, "/health/ready");
        JsonNode reason = TestServer.JSON.readTree(r.body()).get("reason");
        return new Ready(r.statusCode(), reason == null || reason.isNull() ? null : reason.asText());
    }

    private record Ready(int status, String reason) {
    }

    /** Asserts that readiness stays 503 for {@code seconds}, long enough for the store's checks of each idle second. */
    private void staysUnready(ChildServer server, int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            assertEquals(503, ready(server).status(), "still not ready");
            Thread.sleep(200);
        }
    }

    @Test
    void aFullDiskMakesTheServerUnreadyWithItsReasonAndReadyAgainWithoutTrafficOnceRoomIsFreed() throws Exception {
        try (Tmpfs disk = Tmpfs.mount(dir.resolve("disk"), "8m"); ChildServer server = start(disk.dir().resolve("sessions.db"))) {
            postTenBatches(server);
            assertEquals(new Ready(200, null), ready(server));
            // The disk filled but for 256 KiB, and a batch of about 700 KiB: the store writes the log's pages
            // until the disk is full, and is refused.
            Path spare = disk.dir().resolve("spare");
            Files.write(spare, new byte[256 << 10]);
            disk.fill();
            Files.delete(spare);
            assertRefused(server, batch("large", 600, 1_000));

            Ready full = ready(server);
            assertEquals(503, full.status());
            assertEquals("the session store's disk is full: it writes again once the disk has room; events get 503"
                    + " store_unavailable meanwhile", full.reason());
            assertEquals(200, get(server, "/health").statusCode(), "liveness stays 200");
            // The store tries to write each idle second, yet not while the disk is as full: the log's pages that the
            // refused transaction wrote past its end have room for a small commit, and readiness would come back
            // while every batch like the refused one is refused.
            staysUnready(server, 3);
            assertEquals(503, post(server, batch("large-again", 600, 1_000)).statusCode());

            disk.free();
            Awaitility.await("ready again, no event sent").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100)).until(() -> ready(server).status() == 200);
            assertEquals(new Ready(200, null), ready(server));
            assertEquals(202, post(server, batch("freed", 20, 1_000)).statusCode());
            assertEquals(20, requests(server, "freed"));
        }
    }

    @Test
    void aStartOnAFullDiskIsUnreadyBeforeAnyBatchAndReadyAgainWithoutTrafficOnceRoomIsFreed() throws Exception {
        try (Tmpfs disk = Tmpfs.mount(dir.resolve("disk"), "8m")) {
            Path file = disk.dir().resolve("sessions.db");
            try (ChildServer server = start(file)) {
                postTenBatches(server);
                assertTrue(fillUntilRefused(server, disk, "full-"), "the disk filled");
                kill(server);
            }
            try (ChildServer restarted = start(file)) {
                Ready full = ready(restarted);
                assertEquals(503, full.status(), "no batch was refused yet, but none would fit: " + full.reason());
                assertEquals("the session store's disk is full: it writes again once the disk has room; events get 503"
                        + " store_unavailable meanwhile", full.reason());
                staysUnready(restarted, 3);
                assertEquals(20, requests(restarted, "before-0"), "what was acknowledged is served");

                disk.free();
                Awaitility.await("ready again, no event sent").atMost(Duration.ofSeconds(10))
                        .pollInterval(Duration.ofMillis(100)).until(() -> ready(restarted).status() == 200);
                assertEquals(202, post(restarted, batch("freed", 20, 1_000)).statusCode());
            }
        }
    }

    /** The server's log so far has no stack trace: a fault of the storage is an operator's, said in one line. */
    private static void assertNoStackTrace(ChildServer server) {
        assertTrue(server.output.stream().noneMatch(line -> line.startsWith("\tat ")), server.log());
    }

    @Test
    void aStoreFileDeletedUnderTheServerMakesItUnreadyWithoutTrafficUntilARestart() throws Exception {
        Path file = dir.resolve("sessions.db");
        try (ChildServer server = start(file)) {
            assertEquals(202, post(server, batch("before", 20, 0)).statusCode());
            Files.delete(file);
            Awaitility.await("not ready, no event sent").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100)).until(() -> ready(server).status() == 503);
            assertEquals("the session store's file was removed or replaced while the server had it open: only a restart"
                    + " opens the file at its path; events get 503 store_unavailable meanwhile", ready(server).reason());
            assertEquals(200, get(server, "/health").statusCode(), "liveness stays 200");
            assertRefused(server, batch("after", 20, 0));
            staysUnready(server, 3);
            assertNoStackTrace(server);
        }
        try (ChildServer restarted = start(file)) {
            assertEquals(new Ready(200, null), ready(restarted));
            assertEquals(202, post(restarted, batch("restarted", 20, 0)).statusCode());
        }
    }

    @Test
    void aWriteAheadLogDeletedUnderTheServerIsNoticedNoBatchIsAcknowledgedIntoItAndWhatItHeldIsKept() throws Exception {
        Path file = dir.resolve("sessions.db");
        Path wal = dir.resolve("sessions.db-wal");
        try (ChildServer server = start(file)) {
            assertEquals(202, post(server, batch("before", 20, 0)).statusCode());
            assertTrue(Files.exists(wal), "the write-ahead log beside the file");
            // SQLite would go on appending commits to the unlinked log, which no restart reads.
            Files.delete(wal);
            assertRefused(server, batch("after", 20, 0));
            Awaitility.await("not ready").atMost(Duration.ofSeconds(3))
                    .pollInterval(Duration.ofMillis(100)).until(() -> ready(server).status() == 503);
            assertEquals("the session store's write-ahead log was removed or replaced while the server had it open: what"
                    + " it held is copied into the file, and only a restart opens a new log; events get 503"
                    + " store_unavailable meanwhile", ready(server).reason());
            assertRefused(server, batch("later", 20, 0));
            staysUnready(server, 2);
            assertNoStackTrace(server);
            kill(server);
        }
        try (ChildServer restarted = start(file)) {
            assertEquals(20, requests(restarted, "before"), "acknowledged before the log was removed: kept");
            assertEquals(0, requests(restarted, "after"));
            assertEquals(0, requests(restarted, "later"));
            assertEquals(202, post(restarted, batch("restarted", 20, 0)).statusCode());
            assertEquals(20, requests(restarted, "restarted"));
        }
    }

    @Test
    void aLogFileMadeImmutableMakesTheServerUnreadyAndReadyAgainWithoutTrafficOnceWritable() throws Exception {
        Path file = dir.resolve("sessions.db");
        Path wal = dir.resolve("sessions.db-wal");
        try (ChildServer server = start(file)) {
            assertEquals(202, post(server, batch("before", 20, 0)).statusCode());
            chattr("+i", wal);
            try {
                assertRefused(server, batch("immutable", 20, 0));
                Ready unwritable = ready(server);
                assertEquals(503, unwritable.status());
                assertEquals("the session store's file cannot be written (read-only, or an I/O error): it is tried again"
                        + " every second; events get 503 store_unavailable meanwhile", unwritable.reason());
                assertEquals(200, get(server, "/health").statusCode(), "liveness stays 200");
                staysUnready(server, 3);
            } finally {
                chattr("-i", wal);
            }
            Awaitility.await("ready again, no event sent").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100)).until(() -> ready(server).status() == 200);
            assertEquals(202, post(server, batch("writable", 20, 0)).statusCode());
            assertEquals(20, requests(server, "writable"));
        }
    }

    @Test
    void aDatabaseFileMadeImmutableMakesTheServerUnreadyWithinSecondsAndRefusesBatchesUntilWritable() throws Exception {
        Path file = dir.resolve("sessions.db");
        try (ChildServer server = start(file)) {
            assertEquals(202, post(server, batch("before", 20, 0)).statusCode());
            chattr("+i", file);
            try {
                // The commits would still reach the write-ahead log, and no checkpoint the file: noticed without traffic.
                Awaitility.await("not ready, no event sent").atMost(Duration.ofSeconds(3))
                        .pollInterval(Duration.ofMillis(100)).until(() -> ready(server).status() == 503);
                assertEquals("the session store's file cannot be written (read-only, or an I/O error): it is tried again"
                        + " every second; events get 503 store_unavailable meanwhile", ready(server).reason());
                assertRefused(server, batch("immutable", 20, 0));
                assertEquals(0, requests(server, "immutable"), "nothing of the refused batch applied");
                staysUnready(server, 2);
            } finally {
                chattr("-i", file);
            }
            Awaitility.await("ready again, no event sent").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100)).until(() -> ready(server).status() == 200);
            assertEquals(202, post(server, batch("writable", 20, 0)).statusCode());
            assertEquals(20, requests(server, "writable"));
            assertEquals(0, requests(server, "immutable"));
        }
    }

    @Test
    void aWriteLockHeldByAnotherProcessMakesTheServerUnreadyPromptlyNamingTheLockAndBatchesAre503WithinTheLockWait()
            throws Exception {
        Path file = dir.resolve("sessions.db");
        try (ChildServer server = start(file)) {
            assertEquals(202, post(server, batch("before", 20, 0)).statusCode());
            Process holder = holdWriteLock(file);
            try {
                Awaitility.await("not ready, no event sent").atMost(Duration.ofSeconds(3))
                        .pollInterval(Duration.ofMillis(100)).until(() -> timedReady(server).status() == 503);
                assertEquals("the session store's file is locked by another process (a write transaction held open): it"
                        + " writes again once the lock is let go, tried every second; events get 503 store_unavailable"
                        + " meanwhile", timedReady(server).reason());
                long start = System.nanoTime();
                assertRefused(server, batch("locked", 20, 0));
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertTrue(millis < 2_000, "refused soon once the lock is known, not after the 10 s lock wait: " + millis + " ms");
                assertEquals(0, requests(server, "locked"), "nothing of the refused batch applied");
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (System.nanoTime() < end) {
                    assertEquals(503, timedReady(server).status(), "still not ready");
                }
            } finally {
                holder.getOutputStream().close();
                assertTrue(holder.waitFor(10, TimeUnit.SECONDS));
            }
            Awaitility.await("ready again, no event sent").atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(100)).until(() -> ready(server).status() == 200);
            assertEquals(202, post(server, batch("unlocked", 20, 0)).statusCode());
            assertEquals(20, requests(server, "unlocked"));
            assertEquals(0, requests(server, "locked"));
        }
    }

    @Test
    void aBatchOfOnlyRetriedEventsThatTakesTheLockOnceItIsLetGoMakesTheServerReadyAgainAtOnce() throws Exception {
        Path file = dir.resolve("sessions.db");
        try (ChildServer server = start(file)) {
            String retried = batch("retried", 20, 0);
            assertEquals(202, post(server, retried).statusCode());
            Process holder = holdWriteLock(file);
            try {
                Awaitility.await("not ready, no event sent").atMost(Duration.ofSeconds(3))
                        .pollInterval(Duration.ofMillis(100)).until(() -> timedReady(server).status() == 503);
                // A client retrying the same batch without pause: the store is never a second without a job.
                assertEquals(503, post(server, retried).statusCode(), "refused while the lock is held");
            } finally {
                holder.getOutputStream().close();
                assertTrue(holder.waitFor(10, TimeUnit.SECONDS));
            }
            HttpResponse<String> again = post(server, retried);
            assertEquals(202, again.statusCode(), again.body());
            assertEquals(20, TestServer.JSON.readTree(again.body()).get("duplicates").asInt(), again.body());
            Ready ready = timedReady(server);
            assertEquals(200, ready.status(), "the batch took the lock, so it is free: " + ready.reason());
            assertEquals(20, requests(server, "retried"));
        }
    }

    @Test
    void aBatchThatMeetsALockHeldOpenBeforeAnIdleCheckMakesTheServerUnreadyWhileItWaits() throws Exception {
        Path file = dir.resolve("sessions.db");
        try (ChildServer server = start(file); ExecutorService pool = Executors.newSingleThreadExecutor()) {
            assertEquals(202, post(server, batch("before", 20, 0)).statusCode());
            // Taken within the second after a commit, before the writer's idle check: the next batch meets it first.
            Process holder = holdWriteLock(file);
            try {
                Future<HttpResponse<String>> waiting = pool.submit(() -> post(server, batch("locked", 20, 0)));
                Awaitility.await("not ready while the batch waits for the lock").atMost(Duration.ofSeconds(3))
                        .pollInterval(Duration.ofMillis(100)).until(() -> timedReady(server).status() == 503);
                assertTrue(!waiting.isDone(), "the batch still waits for the lock");
                assertEquals("the session store's file is locked by another process (a write transaction held open): it"
                        + " writes again once the lock is let go, tried every second; events get 503 store_unavailable"
                        + " meanwhile", timedReady(server).reason());
                HttpResponse<String> refused = waiting.get(20, TimeUnit.SECONDS);
                assertEquals(503, refused.statusCode(), refused.body());
                assertEquals("store_unavailable", TestServer.JSON.readTree(refused.body()).get("error").asText());
                assertEquals(503, timedReady(server).status(), "still not ready once the batch was refused");
            } finally {
                holder.getOutputStream().close();
                assertTrue(holder.waitFor(10, TimeUnit.SECONDS));
            }
            Awaitility.await("ready again, no event sent").atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(100)).until(() -> ready(server).status() == 200);
            assertEquals(0, requests(server, "locked"), "nothing of the refused batch applied");
            assertEquals(20, requests(server, "before"));
        }
    }

    @Test
    void aServerStartedOnAFileWhoseWriteLockIsHeldOpenIsUnreadyFromItsFirstAnswer() throws Exception {
        Path file = dir.resolve("sessions.db");
        try (ChildServer server = start(file)) {
            assertEquals(202, post(server, batch("before", 20, 0)).statusCode());
        }
        Process holder = holdWriteLock(file);
        try {
            try (ChildServer server = start(file)) {
                Ready first = timedReady(server);
                assertEquals(new Ready(503, "the session store's file is locked by another process (a write transaction"
                        + " held open): it writes again once the lock is let go, tried every second; events get 503"
                        + " store_unavailable meanwhile"), first);
                assertEquals(20, requests(server, "before"), "the sessions are served meanwhile");
                holder.getOutputStream().close();
                assertTrue(holder.waitFor(10, TimeUnit.SECONDS));
                Awaitility.await("ready once the lock is let go, no event sent").atMost(Duration.ofSeconds(5))
                        .pollInterval(Duration.ofMillis(100)).until(() -> ready(server).status() == 200);
                assertEquals(202, post(server, batch("after", 20, 0)).statusCode());
            }
        } finally {
            holder.destroy();
        }
    }

    @Test
    void aWriteLockTakenInShortBurstsByAnotherProcessNeitherRefusesABatchNorMakesTheServerUnready() throws Exception {
        Path file = dir.resolve("sessions.db");
        try (ChildServer server = start(file)) {
            assertEquals(202, post(server, batch("before", 20, 0)).statusCode());
            // Another SQLite client writing by turns: the lock held 200 ms of every 300 ms, met by most idle checks.
            Process bursts = lockInBursts(file, 200, 100, 8);
            List<String> posted = new ArrayList<>();
            try {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(7);
                long nextPost = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500); // idle seconds between
                while (System.nanoTime() < end) {
                    Ready ready = ready(server);
                    assertEquals(200, ready.status(), "ready while the lock is only taken briefly: " + ready.reason());
                    if (System.nanoTime() >= nextPost) {
                        String session = "burst-" + posted.size();
                        HttpResponse<String> r = post(server, batch(session, 20, 0));
                        assertEquals(202, r.statusCode(), r.body());
                        posted.add(session);
                        nextPost = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500);
                    }
                    Thread.sleep(100);
                }
            } finally {
                assertTrue(bursts.waitFor(15, TimeUnit.SECONDS), "the bursts end");
            }
            assertEquals(0, bursts.exitValue(), "the other process took and let go the lock by turns throughout");
            assertTrue(posted.size() >= 3, "batches posted: " + posted);
            for (String session : posted) {
                assertEquals(20, requests(server, session), session);
            }
            assertEquals(0, server.output.stream().filter(l -> l.contains("cannot write")).count(), server.log());
        }
    }

    /**
     * A python3 process taking the write lock on {@code file} ({@code BEGIN IMMEDIATE}) for {@code heldMillis}, then
     * letting it go for {@code freeMillis}, by turns for {@code seconds}; returned once it first took the lock.
     */
    private static Process lockInBursts(Path file, int heldMillis, int freeMillis, int seconds) throws IOException {
        Process p = new ProcessBuilder("python3", "-c", """
                import sqlite3, sys, time
                c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
                held, free = float(sys.argv[2]) / 1000, float(sys.argv[3]) / 1000
                end = time.monotonic() + float(sys.argv[4])
                first = True
                while time.monotonic() < end:
                    c.execute("BEGIN IMMEDIATE")
                    if first:
                        print("locked", flush=True)
                        first = False
                    time.sleep(held)
                    c.execute("COMMIT")
                    time.sleep(free)
                """, file.toString(), String.valueOf(heldMillis), String.valueOf(freeMillis), String.valueOf(seconds))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String line = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
        assertEquals("locked", line, "the other process takes the lock");
        return p;
    }

    /**
     * {@link #ready}, asserting that the probe does not wait for the store's lock: a probe that tried the lock would
     * take the writer's brief wait for it (500 ms) every time, so one of three probes in a row must answer within it.
     * Three, not one, as a loaded machine may hold up any single answer for as long.
     */
    private Ready timedReady(ChildServer server) throws IOException, InterruptedException {
        List<Long> took = new ArrayList<>();
        for (int probe = 0; probe < 3; probe++) {
            long start = System.nanoTime();
            Ready ready = ready(server);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            if (millis < 500) {
                return ready;
            }
            took.add(millis);
        }
        throw new AssertionError("/health/ready answered in " + took + " ms, never within 500 ms");
    }

    /** A python3 process holding {@code BEGIN EXCLUSIVE} on {@code file} until its standard input is closed. */
    private static Process holdWriteLock(Path file) throws IOException {
        Process p = new ProcessBuilder("python3", "-c", """
                import sqlite3, sys
                c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
                c.execute("BEGIN EXCLUSIVE")
                print("locked", flush=True)
                sys.stdin.read()
                c.execute("ROLLBACK")
                """, file.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String line = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
        assertEquals("locked", line, "the other process holds the lock");
        return p;
    }

    private static void chattr(String flag, Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "chattr " + flag + " failed: " + output);
    }

    @Test
    void afterKillDuringLoadEveryAcknowledgedBatchIsPresentOnceAndEveryOtherWholeOrNotAtAll() throws Exception {
        Path file = dir.resolve("sessions.db");
        int events = 50;
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        Set<String> attempted = ConcurrentHashMap.newKeySet();
        try (ChildServer server = start(file)) {
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger serial = new AtomicInteger();
            List<Thread> producers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                producers.add(Thread.ofPlatform().start(() -> {
                    while (running.get()) {
                        String session = "load-" + serial.incrementAndGet();
                        attempted.add(session);
                        try {
                            if (post(server, batch(session, events, 0)).statusCode() == 202) {
                                acknowledged.add(session);
                            }
                        } catch (IOException | InterruptedException e) {
                            return; // the server is gone
                        }
                    }
                }));
            }
            // Past the 32 768 records at which the store freezes its table of recent records and folds it by
            // session: the kill comes while, or soon after, records are folded.
            int pastAFold = 32_768 / events + 15;
            Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(5))
                    .until(() -> acknowledged.size() >= pastAFold);
            kill(server);
            running.set(false);
            for (Thread producer : producers) {
                producer.join(20_000);
            }
        }
        try (ChildServer restarted = start(file)) {
            int unacknowledgedPresent = assertAcknowledgedOnceAndOthersWholeOrNone(restarted, attempted, acknowledged,
                    events);
            long present = (long) (acknowledged.size() + unacknowledgedPresent) * events;
            String one = acknowledged.iterator().next();
            PrometheusText scrape = PrometheusText.parse(get(restarted, "/metrics").body());
            assertEquals(events, (long) scrape.sum("llm_session_requests_total", "session", one),
                    "the per-session series resume from the file");
            System.out.printf("kill -9 under 4 producers: %d batches of %d acknowledged, %d attempted; after restart "
                            + "%d events present (%d acknowledged batches whole, %d unacknowledged batches whole)%n",
                    acknowledged.size(), events, attempted.size(), present, acknowledged.size(), unacknowledgedPresent);
        }
    }

    /**
     * SIGTERM while producers post: every batch gets 202 or 503 {@code shutting_down}, or finds the connection
     * closed (sent as the server stopped listening, never an answer cut short); after a restart every acknowledged
     * batch is present once and every other whole or not at all.
     */
    @Test
    void afterSigtermDuringLoadEveryAcknowledgedBatchIsPresentOnceAndEveryOtherWholeOrNotAtAll() throws Exception {
        Path file = dir.resolve("sessions.db");
        int events = 50;
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        Set<String> attempted = ConcurrentHashMap.newKeySet();
        Set<String> otherAnswers = ConcurrentHashMap.newKeySet();
        try (ChildServer server = start(file)) {
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger serial = new AtomicInteger();
            List<Thread> producers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                producers.add(Thread.ofPlatform().start(() -> {
                    while (running.get()) {
                        String session = "term-" + serial.incrementAndGet();
                        attempted.add(session);
                        try {
                            HttpResponse<String> r = post(server, batch(session, events, 0));
                            if (r.statusCode() == 202) {
                                acknowledged.add(session);
                            } else if (r.statusCode() != 503 || !r.body().contains("\"shutting_down\"")) {
                                otherAnswers.add(r.statusCode() + " " + r.body());
                            }
                        } catch (IOException e) {
                            if (!server.process.isAlive()) {
                                return; // the server is gone
                            }
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }));
            }
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5))
                    .until(() -> acknowledged.size() >= 100);
            server.process.destroy(); // SIGTERM
            assertTrue(server.process.waitFor(30, TimeUnit.SECONDS), "the server exits after SIGTERM");
            running.set(false);
            for (Thread producer : producers) {
                producer.join(20_000);
            }
            assertEquals(143, server.process.exitValue());
            assertEquals(Set.of(), otherAnswers, "every batch acknowledged or refused as the server shuts down");
            assertTrue(server.output.stream().noneMatch(l -> l.contains("SEVERE")), server::log);
        }
        try (ChildServer restarted = start(file)) {
            assertAcknowledgedOnceAndOthersWholeOrNone(restarted, attempted, acknowledged, events);
        }
    }

    /**
     * After a restart, each acknowledged session holds its batch of {@code events} once, every other attempted one
     * all of it or nothing, and the store no session beyond them; returns how many unacknowledged batches are there.
     */
    private int assertAcknowledgedOnceAndOthersWholeOrNone(ChildServer restarted, Set<String> attempted,
            Set<String> acknowledged, int events) throws IOException, InterruptedException {
        long present = 0;
        int unacknowledgedPresent = 0;
        for (String session : attempted) {
            long n = requests(restarted, session);
            if (acknowledged.contains(session)) {
                assertEquals(events, n, session + " was acknowledged: exactly once");
            } else {
                assertTrue(n == 0 || n == events, session + " is all or nothing, found " + n);
                unacknowledgedPresent += n == events ? 1 : 0;
            }
            present += n;
        }
        JsonNode list = TestServer.JSON.readTree(get(restarted, "/events/metrics/sessions").body());
        assertEquals(present / events, list.get("total").asLong(), "no session beyond those counted");
        return unacknowledgedPresent;
    }

    @Test
    void afterDeletesRacePostsTheStateAfterKillAndRestartIsTheStateBefore() throws Exception {
        Path file = dir.resolve("sessions.db");
        int sessions = 60;
        Map<String, String> before;
        try (ChildServer server = start(file)) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> work = new ArrayList<>();
                for (int s = 0; s < sessions; s++) {
                    String session = "race-" + s;
                    String body = batch(session, 100, 0);
                    CountDownLatch go = new CountDownLatch(2);
                    work.add(pool.submit(() -> {
                        go.countDown();
                        go.await();
                        assertEquals(202, post(server, body).statusCode());
                        return null;
                    }));
                    work.add(pool.submit(() -> {
                        go.countDown();
                        go.await();
                        int status = delete(server, "/events/metrics/session/" + session).statusCode();
                        assertTrue(status == 200 || status == 404, "DELETE answered " + status);
                        return null;
                    }));
                }
                for (Future<?> f : work) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            before = state(server);
            kill(server);
        }
        try (ChildServer restarted = start(file)) {
            Map<String, String> after = state(restarted);
            assertEquals(before.keySet(), after.keySet(), "the same sessions");
            assertEquals(before, after, "each session's JSON, records included");
            long held = before.size();
            System.out.printf("DELETE racing POST: %d of %d sessions held before kill -9, the same %d with equal JSON "
                    + "after restart%n", held, sessions, after.size());
            assertTrue(held > 0 && held <= sessions);
        }
    }

    /** Every session the server holds, by id, with its JSON. */
    private Map<String, String> state(ChildServer server) throws IOException, InterruptedException {
        JsonNode list = TestServer.JSON.readTree(get(server, "/events/metrics/sessions").body());
        Map<String, String> state = new TreeMap<>();
        for (JsonNode id : list.get("sessions")) {
            HttpResponse<String> r = get(server, "/events/metrics/session/" + id.asText());
            assertEquals(200, r.statusCode());
            state.put(id.asText(), r.body());
        }
        assertEquals(list.get("total").asInt(), state.size());
        return state;
    }

    @Test
    void aFileAtThePathThatIsNotAStoreStopsTheStartNamingItAndIsLeftUnchanged() throws Exception {
        Path foreign = dir.resolve("foreign.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + foreign); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer TEXT, amount REAL)");
            s.execute("INSERT INTO invoices (customer, amount) VALUES ('acme', 12.5), ('initech', 99.0)");
        }
        Path garbage = dir.resolve("garbage.db");
        byte[] noise = new byte[64 * 1024];
        new Random(11).nextBytes(noise);
        Files.write(garbage, noise);
        Path damaged = dir.resolve("damaged.db");
        damagedStore(damaged);

        for (Path file : List.of(foreign, garbage, damaged)) {
            byte[] bytes = Files.readAllBytes(file);
            Set<Path> beside = listing(dir);
            ChildServer.Exited exited = run(file);
            assertEquals(2, exited.code(), file + ": " + exited.output());
            assertTrue(exited.output().contains("llm-metrics cannot start: ") && exited.output().contains(file.toString()),
                    exited.output());
            assertArrayEquals(bytes, Files.readAllBytes(file), file + " is unchanged");
            assertEquals(beside, listing(dir), "nothing written beside " + file);
            System.out.printf("%s: exit %d, %s%n", file.getFileName(), exited.code(),
                    exited.output().lines().filter(l -> l.contains("cannot start")).findFirst().orElse(""));
        }
    }

    /** A store of a few hundred sessions, closed, then three of the pages it uses overwritten. */
    private static void damagedStore(Path file) throws IOException, SQLException {
        soundStore(file);
        damage(file);
    }

    /** A store of 300 sessions ({@code session-0} to {@code session-299}) of 20 records each, closed, its pages all in use. */
    private static void soundStore(Path file) throws IOException, SQLException {
        try (SqliteSessionStore store = SqliteSessionStore.open(file, new SessionStoreFactory.Parameters(1_000, 100, 8,
                Long.MAX_VALUE, Duration.ofHours(1), Duration.ofMinutes(10), 1_000, InstantSource.system(),
                new ModelCatalog(PriceTable.EMPTY, 10)), SqliteSessionStore.Durability.PROCESS_CRASH)) {
            for (int s = 0; s < 300; s++) {
                List<Event> batch = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    batch.add(LlmRequestCompleted.builder("session-" + s, "m").durationMs(5).promptTokens(3).build());
                }
                store.record(batch);
            }
        }
        Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".lock"));
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("VACUUM"); // no free pages: the damaged ones below are in use
        }
    }

    /** Overwrites three pages in the middle of {@code file} with garbage. */
    private static void damage(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        for (int i = bytes.length / 2; i < bytes.length / 2 + 3 * 4096; i++) {
            bytes[i] = (byte) 0x5A;
        }
        Files.write(file, bytes);
    }

    @Test
    void aStoreDamagedUnderTheRunningServerIsUnreadyAndItsDamagedSessionsAre503NamingTheFileOnceInTheLog()
            throws Exception {
        Path file = dir.resolve("sessions.db");
        soundStore(file);
        try (ChildServer server = start(file)) {
            assertEquals(new Ready(200, null), ready(server), "the file passed the quick check at the start");
            damage(file);
            int unavailable = 0;
            for (int s = 0; s < 300; s++) {
                HttpResponse<String> r = get(server, "/events/metrics/session/session-" + s);
                assertTrue(r.statusCode() == 200 || r.statusCode() == 503, r.statusCode() + " " + r.body());
                if (r.statusCode() == 503) {
                    unavailable++;
                    JsonNode error = TestServer.JSON.readTree(r.body());
                    assertEquals("store_unavailable", error.get("error").asText(), r.body());
                    assertTrue(!r.body().toUpperCase(java.util.Locale.ROOT).contains("SQLITE")
                            && !r.body().contains("Exception") && !r.body().contains(file.toString()), r.body());
                }
            }
            assertTrue(unavailable > 0, "some sessions are on the damaged pages");
            Ready damaged = ready(server);
            assertEquals(new Ready(503, "the session store's file is damaged (SQLite found a page it cannot read): stop"
                    + " the server and restore the file; a restart refuses it until then; events get 503"
                    + " store_unavailable meanwhile"), damaged);
            assertRefused(server, batch("after-damage", 20, 0));
            staysUnready(server, 2);
            String log = server.log();
            long said = log.lines().filter(l -> l.contains("The SQLite session store " + file + " is damaged")).count();
            assertEquals(1, said, log);
            System.out.printf("%d of 300 sessions on damaged pages%n", unavailable);
        }
    }

    private static Set<Path> listing(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return new HashSet<>(files.toList());
        }
    }

    /** The server on {@code file}, run to its end (it should not start). */
    private static ChildServer.Exited run(Path file) throws Exception {
        return ChildServer.mainToExit(List.of("--enable-native-access=ALL-UNNAMED"), "STORE_BACKEND", "sqlite",
                "STORE_SQLITE_PATH", file.toString());
    }
}
