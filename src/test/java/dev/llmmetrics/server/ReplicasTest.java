package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.session.redis.RedisProcess;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.yaml.snakeyaml.Yaml;

/**
 * Two server processes sharing one real {@code redis-server} (append-only file synced at every write) and one
 * real Prometheus scraping both, as docker-compose.replicas.yml runs them: a session posted alternately to both
 * is whole and identical from either, the scrape sums right across instances (each replica's per-session series
 * its own figures, scores included), a DELETE through one is seen by
 * the other, and Redis killed mid-load then restarted loses no acknowledged event while both answer 503, stay
 * scrapeable and recover without a restart.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicasTest {

    private static final Path ROOT = Tools.repoRoot();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static RedisProcess redis;
    private static ChildServer one;
    private static ChildServer two;
    private static Process prometheus;
    private static Path workDir;
    private static String prometheusBase;

    @BeforeAll
    static void start() throws Exception {
        redis = RedisProcess.start("always");
        one = replica();
        two = replica();
        workDir = Files.createTempDirectory("llm-metrics-replicas-");
        Files.writeString(workDir.resolve("prometheus.yml"), prometheusConfig());
        copyRules(workDir.resolve("rules"));
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        prometheusBase = "http://127.0.0.1:" + port;
        prometheus = new ProcessBuilder(Tools.executable("prometheus", "bin/test installs Debian's 'prometheus' package."),
                "--config.file=" + workDir.resolve("prometheus.yml"), "--storage.tsdb.path=" + workDir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(workDir.resolve("prometheus.log").toFile()).start();
        Awaitility.await("Prometheus ready").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .ignoreExceptions().until(() -> get(prometheusBase + "/-/ready").statusCode() == 200);
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {one, two}) {
            if (c != null) {
                c.close();
            }
        }
        if (prometheus != null) {
            prometheus.destroy();
            prometheus.waitFor(10, TimeUnit.SECONDS);
        }
        if (redis != null) {
            redis.close();
        }
        if (workDir != null) {
            Tools.deleteTree(workDir);
        }
    }

    private static ChildServer replica() throws Exception {
        return ChildServer.main("STORE_BACKEND", "redis", "STORE_REDIS_URL", redis.url(), "STORE_REDIS_TIMEOUT", "PT5S");
    }

    /** The shipped replicas configuration, scraping both children every second. */
    @SuppressWarnings("unchecked")
    private static String prometheusConfig() throws IOException {
        Map<String, Object> config = new Yaml().load(Files.readString(ROOT.resolve("prometheus/prometheus-replicas.yml")));
        Map<String, Object> global = (Map<String, Object>) config.get("global");
        global.put("scrape_interval", "1s");
        global.put("scrape_timeout", "1s");
        global.put("evaluation_interval", "1s");
        Map<String, Object> job = ((List<Map<String, Object>>) config.get("scrape_configs")).get(0);
        job.put("scrape_interval", "1s");
        ((List<Map<String, Object>>) job.get("static_configs")).get(0)
                .put("targets", List.of("127.0.0.1:" + one.port, "127.0.0.1:" + two.port));
        return new Yaml().dump(config);
    }

    private static void copyRules(Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(ROOT.resolve("prometheus/rules"))) {
            for (Path file : files.toList()) {
                Files.copy(file, to.resolve(file.getFileName()));
            }
        }
    }

    @Test
    @Order(1)
    void aSessionPostedAlternatelyToBothReplicasIsWholeFromEitherAndTheScrapeSumsAcrossInstances() throws Exception {
        String session = "shared-session";
        Map<String, Long> finishedByModel = new TreeMap<>();
        List<String> models = new ArrayList<>();
        long tokens = 0;
        long failed = 0;
        for (int batch = 0; batch < 40; batch++) {
            StringBuilder body = new StringBuilder();
            for (int i = 0; i < 5; i++) {
                int n = batch * 5 + i;
                String model = n % 3 == 0 ? "replica-model-b" : "replica-model-a";
                if (n % 7 == 6) {
                    body.append(event("LLM_REQUEST_FAILED", session, model, "\"error\":\"boom " + n + "\""));
                    failed++;
                } else {
                    body.append(event("LLM_REQUEST_COMPLETED", session, model, "\"duration_ms\":" + (10 + n)
                            + ",\"prompt_tokens\":" + n + ",\"completion_tokens\":2"));
                    tokens += n + 2;
                }
                finishedByModel.merge(model, 1L, Long::sum);
                models.add(model);
            }
            HttpResponse<String> r = post(batch % 2 == 0 ? one : two, body.toString());
            assertEquals(202, r.statusCode(), r.body());
        }

        HttpResponse<String> fromOne = get(one.base() + "/events/metrics/session/" + session);
        HttpResponse<String> fromTwo = get(two.base() + "/events/metrics/session/" + session);
        assertEquals(200, fromOne.statusCode(), fromOne.body());
        assertEquals(fromOne.body(), fromTwo.body(), "the same JSON from either replica");
        assertEquals(fromOne.headers().firstValue("ETag"), fromTwo.headers().firstValue("ETag"));
        JsonNode json = TestServer.JSON.readTree(fromOne.body());
        assertEquals(200, json.get("total_requests").asLong());
        assertEquals(failed, json.get("failed_requests").asLong());
        assertEquals(tokens, json.get("total_tokens").asLong());
        List<String> recorded = new ArrayList<>();
        json.get("requests").forEach(r -> recorded.add(r.get("model").asText()));
        assertEquals(models, recorded, "every request, in the order sent, whichever replica took it");

        // Prometheus: the per-model counters and the per-session series of both replicas sum to what was sent.
        Awaitility.await("the scrape sums both replicas").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                .untilAsserted(() -> {
                    assertEquals(finishedByModel, valuesBy("sum by (model) (llm_requests_total{model=~\"replica-model-.*\"})", "model"));
                    assertEquals(Map.of(session, 200L), valuesBy("sum by (session) (llm_session_requests_total{session=\""
                            + session + "\"})", "session"));
                    assertEquals(2, query("count by (instance) (llm_requests_total{model=\"replica-model-a\"})").size(),
                            "both replicas counted part of it");
                });

        // Every recording rule and every dashboard panel on llm_* series aggregates across instance.
        Awaitility.await("the rules evaluated").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                .until(() -> !query("model:llm_requests:rate5m{model=\"replica-model-a\"}").isEmpty());
        List<String> perInstance = new ArrayList<>();
        int checked = 0;
        for (PrometheusBundleTest.Rule rule : PrometheusBundleTest.rules()) {
            if (rule.record() != null) {
                checked++;
                for (JsonNode series : query(rule.record())) {
                    if (series.get("metric").has("instance")) {
                        perInstance.add("rule " + rule.record() + ": " + series.get("metric"));
                    }
                }
            }
        }
        for (PrometheusBundleTest.Expression e : PrometheusBundleTest.dashboardExpressions()) {
            if (e.kind() != PrometheusBundleTest.Kind.PANEL || !e.expr().contains("llm_")) {
                continue;
            }
            checked++;
            String expr = PrometheusBundleTest.substitute(e.expr(), session, new ArrayList<>());
            for (JsonNode series : query(expr)) {
                if (series.get("metric").has("instance")) {
                    perInstance.add(e.where() + ": " + series.get("metric"));
                }
            }
        }
        assertTrue(checked > 10, "rules and panels checked: " + checked);
        assertEquals(List.of(), perInstance, "series split by instance where the bundle should sum replicas");
    }

    @Test
    @Order(2)
    void eachReplicaShowsThePerSessionScoresItRecordedAndTheirSumOverReplicasIsTheSessions() throws Exception {
        String session = "scored-shared";
        String scoredOnly = "scored-on-two-only";
        // one takes the request, three scores and 14 more names (15 of the session's 16), two two more of the same
        // name, the 16th name and one past it, which Redis sums under _other for the session whichever replica took it
        StringBuilder toOne = new StringBuilder(event("LLM_REQUEST_COMPLETED", session, "m",
                "\"duration_ms\":5,\"correlation_id\":\"c1\"")).append(score(session, "quality", "0.5"))
                .append(score(session, "quality", "0.25")).append(score(session, "quality", "1"));
        Map<String, Long> expected = new TreeMap<>(Map.of("quality", 5L, "thumbs", 1L, "_other", 1L));
        for (int i = 0; i < 14; i++) {
            toOne.append(score(session, "n" + i, "1"));
            expected.put("n" + i, 1L);
        }
        assertEquals(202, post(one, toOne.toString()).statusCode());
        assertEquals(202, post(two, score(session, "quality", "2") + score(session, "quality", "3")
                + score(session, "thumbs", "1") + score(session, "late", "4") + score(scoredOnly, "quality", "0.75"))
                .statusCode());

        PrometheusText fromOne = PrometheusText.parse(get(one.base() + "/metrics").body());
        PrometheusText fromTwo = PrometheusText.parse(get(two.base() + "/metrics").body());
        assertEquals(3, fromOne.value("llm_session_score_count", "session", session, "name", "quality"));
        assertEquals(1.75, fromOne.value("llm_session_score_sum", "session", session, "name", "quality"), 1e-9);
        assertFalse(fromOne.has("llm_session_score_count", "session", session, "name", "thumbs"), "two's name only");
        assertFalse(fromOne.has("llm_session_score_count", "session", scoredOnly), "one recorded nothing of it");
        assertEquals(2, fromTwo.value("llm_session_score_count", "session", session, "name", "quality"));
        assertEquals(5, fromTwo.value("llm_session_score_sum", "session", session, "name", "quality"), 1e-9);
        assertEquals(1, fromTwo.value("llm_session_score_count", "session", session, "name", "thumbs"));
        assertEquals(4, fromTwo.value("llm_session_score_sum", "session", session, "name", "_other"), 1e-9);
        assertFalse(fromTwo.has("llm_session_score_count", "session", session, "name", "late"),
                "past the session's 16 names, counted by one and two together, under _other as in the session JSON");
        assertEquals(1, fromTwo.value("llm_session_score_count", "session", scoredOnly, "name", "quality"),
                "scores a replica recorded of a session whose requests went elsewhere, or nowhere");
        assertFalse(fromTwo.has("llm_session_requests_total", "session", session), "two recorded no request of it");

        JsonNode json = TestServer.JSON.readTree(get(two.base() + "/events/metrics/session/" + session).body());
        Map<String, Long> inJson = new TreeMap<>();
        json.get("scores").forEach(summary -> inJson.put(summary.get("name").asText(), summary.get("count").asLong()));
        assertEquals(expected, inJson);
        Awaitility.await("the scrape sums the scores of both replicas").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(500)).untilAsserted(() -> assertEquals(expected,
                        valuesBy("sum by (name) (llm_session_score_count{session=\"" + session + "\"})", "name"),
                        "every score once, under the name the session JSON counts it under"));

        // A clear drops the replica's own series of the session at once, as the in-memory store's do; the other
        // replica's figures of the cleared life go with its next event of the session's new life (or its next sweep).
        assertEquals(200, delete(one, "/events/metrics/session/" + session).statusCode());
        assertFalse(PrometheusText.parse(get(one.base() + "/metrics").body()).has("llm_session_score_count", "session", session));
        assertEquals(202, post(two, score(session, "quality", "0.5")).statusCode());
        List<PrometheusText.Sample> again = PrometheusText.parse(get(two.base() + "/metrics").body())
                .find("llm_session_score_count", "session", session);
        assertEquals(1, again.size(), "the new life's one name: " + again);
        assertEquals(1, again.get(0).value(), "the new life's one score, none of the cleared life's");
    }

    @Test
    @Order(2)
    void aReplicaCountsAScoreUnderTheNameRedisKeptEvenWhenItHoldsFewerOfTheSessionsNamesThanRedis() throws Exception {
        String session = "names-split";
        assertEquals(202, post(one, score(session, "n00", "1")).statusCode());
        // Redis then holds n00 to n15, the session's 16 names: n16 goes under _other. Two holds n01 to n15 and _other,
        // 16 names of its own, and must still count the next n00 under n00, as Redis does.
        StringBuilder toTwo = new StringBuilder();
        for (int i = 1; i <= 16; i++) {
            toTwo.append(score(session, "n%02d".formatted(i), "1"));
        }
        assertEquals(202, post(two, toTwo.toString()).statusCode());
        assertEquals(202, post(two, score(session, "n00", "1")).statusCode());

        Map<String, Long> inJson = new TreeMap<>();
        TestServer.JSON.readTree(get(two.base() + "/events/metrics/session/" + session).body()).get("scores")
                .forEach(summary -> inJson.put(summary.get("name").asText(), summary.get("count").asLong()));
        assertEquals(2, inJson.get("n00"));
        assertEquals(1, inJson.get("_other"));
        Map<String, Long> summed = new TreeMap<>();
        for (ChildServer replica : List.of(one, two)) {
            for (PrometheusText.Sample sample : PrometheusText.parse(get(replica.base() + "/metrics").body())
                    .find("llm_session_score_count", "session", session)) {
                summed.merge(sample.labels().get("name"), (long) sample.value(), Long::sum);
            }
        }
        assertEquals(inJson, summed, "the replicas' series sum to the session JSON, name by name");
    }

    @Test
    @Order(3)
    void aCallStartedThroughOneReplicaAndEndedThroughTheOtherIsInFlightOnNeither() throws Exception {
        StringBuilder starts = new StringBuilder();
        StringBuilder ends = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            starts.append(event("LLM_REQUEST_STARTED", "flight-" + i, "flight-model", "\"messages_count\":1"));
            ends.append(event("LLM_REQUEST_COMPLETED", "flight-" + i, "flight-model", "\"duration_ms\":5"));
        }
        assertEquals(202, post(one, starts.toString()).statusCode());
        assertEquals(10, inFlightOnTheScrape(one), "at once on the replica that took the starts");
        Awaitility.await("Prometheus sees the calls in flight").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(500))
                .untilAsserted(() -> assertEquals(Map.of("flight-model", 10L),
                        valuesBy("max by (model) (llm_requests_in_flight{model=\"flight-model\"})", "model")));

        assertEquals(202, post(two, ends.toString()).statusCode());
        assertEquals(0, inFlightOnTheScrape(two), "at once on the replica that took the ends");
        Awaitility.await("the other replica reads the ends").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(100)).untilAsserted(() -> assertEquals(0, inFlightOnTheScrape(one)));
    }

    /** The {@code llm_requests_in_flight} of {@code flight-model} on {@code server}'s scrape. */
    private static long inFlightOnTheScrape(ChildServer server) throws Exception {
        String scrape = get(server.base() + "/metrics").body();
        Matcher line = Pattern.compile("(?m)^llm_requests_in_flight\\{model=\"flight-model\"} (\\S+)$").matcher(scrape);
        assertTrue(line.find(), "the gauge is on the scrape");
        return Math.round(Double.parseDouble(line.group(1)));
    }

    @Test
    @Order(3)
    void aModelOnlyTheOtherReplicaSawIsListedWithItsRequestsInFlightInTheJsonViews() throws Exception {
        StringBuilder starts = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            starts.append(event("LLM_REQUEST_STARTED", "elsewhere-" + i, "elsewhere-model", "\"messages_count\":1"));
        }
        assertEquals(202, post(one, starts.toString()).statusCode());
        Awaitility.await("the other replica reads the starts").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
                    JsonNode totals = TestServer.JSON.readTree(get(two.base() + "/events/metrics").body());
                    JsonNode model = totals.get("llm_by_model").get("elsewhere-model");
                    assertTrue(model != null, "listed: " + totals);
                    assertEquals(3, model.get("in_flight").asLong());
                    assertEquals(0, model.get("total_requests").asLong(), "no request of it through this replica");
                    assertTrue(totals.get("llm").get("in_flight").asLong() >= 3, "and in the total: " + totals);
                    JsonNode rates = TestServer.JSON.readTree(get(two.base() + "/events/metrics/models").body());
                    JsonNode rate = null;
                    for (JsonNode r : rates.get("models")) {
                        rate = r.get("model").asText().equals("elsewhere-model") ? r : rate;
                    }
                    assertTrue(rate != null, "listed: " + rates);
                    assertEquals(3, rate.get("in_flight").asLong());
                    assertEquals(0, rate.get("requests").asLong(), "no request of it here: " + rate);
                    assertTrue(rate.get("p50_latency_ms").isNull(), "nor a latency: " + rate);
                });
        assertFalse(get(two.base() + "/metrics").body().contains("elsewhere-model"), "the other replica has no meters of it");
    }

    @Test
    @Order(3)
    void aDeleteThroughOneReplicaIsSeenByTheOther() throws Exception {
        assertEquals(202, post(one, event("LLM_REQUEST_COMPLETED", "to-delete", "m",
                "\"duration_ms\":5,\"prompt_tokens\":1,\"completion_tokens\":1")).statusCode());
        assertEquals(200, get(two.base() + "/events/metrics/session/to-delete").statusCode());
        HttpResponse<String> deleted = delete(two, "/events/metrics/session/to-delete");
        assertEquals(200, deleted.statusCode(), deleted.body());
        assertEquals(404, get(one.base() + "/events/metrics/session/to-delete").statusCode());
        JsonNode list = TestServer.JSON.readTree(get(one.base() + "/events/metrics/sessions").body());
        list.get("sessions").forEach(id -> assertFalse(id.asText().equals("to-delete")));
        assertEquals(404, delete(one, "/events/metrics/session/to-delete").statusCode(), "already gone for both");
    }

    @Test
    @Order(4)
    void redisKilledMidLoadLosesNoAcknowledgedEventAndBothReplicasRecoverWithoutRestart() throws Exception {
        int producers = 4;
        int perBatch = 10;
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong acknowledged = new AtomicLong();
        AtomicInteger refused = new AtomicInteger();
        AtomicLong duplicates = new AtomicLong();
        AtomicLong slowestRefusalMs = new AtomicLong();
        Map<String, AtomicLong> ackedBySession = new ConcurrentHashMap<>();
        AtomicLong ackedAfterRestart = new AtomicLong();
        AtomicBoolean restarted = new AtomicBoolean();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < producers; t++) {
            String session = "outage-" + t;
            AtomicLong acked = ackedBySession.computeIfAbsent(session, s -> new AtomicLong());
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int serial = 0; running.get(); serial++) {
                        StringBuilder body = new StringBuilder();
                        for (int i = 0; i < perBatch; i++) {
                            body.append(event("LLM_REQUEST_COMPLETED", session, "outage-model", "\"event_id\":\"" + session
                                    + "-" + serial + "-" + i + "\",\"duration_ms\":3,\"prompt_tokens\":1,\"completion_tokens\":1"));
                        }
                        // The same batch, with its event ids, until a replica acknowledges it.
                        for (int attempt = 0; ; attempt++) {
                            ChildServer replica = (serial + attempt) % 2 == 0 ? one : two;
                            long started = System.nanoTime();
                            try {
                                HttpResponse<String> r = post(replica, body.toString());
                                if (r.statusCode() == 202) {
                                    // The batch is recorded: applied now, or (a retry of a batch Redis applied
                                    // before its answer was lost) recognised by its event ids as applied before.
                                    JsonNode answer = TestServer.JSON.readTree(r.body());
                                    long recorded = answer.get("accepted").asLong() + answer.get("duplicates").asLong();
                                    assertEquals(perBatch, recorded, r.body());
                                    duplicates.addAndGet(answer.get("duplicates").asLong());
                                    acknowledged.addAndGet(recorded);
                                    acked.addAndGet(recorded);
                                    if (restarted.get()) {
                                        ackedAfterRestart.addAndGet(recorded);
                                    }
                                    break;
                                }
                                assertEquals(503, r.statusCode(), r.body());
                                assertEquals("store_unavailable", TestServer.JSON.readTree(r.body()).get("error").asText());
                                refused.incrementAndGet();
                                slowestRefusalMs.accumulateAndGet(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), Math::max);
                            } catch (IOException | InterruptedException e) {
                                fail("a replica did not answer: " + e);
                            }
                            sleep(20);
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> acknowledged.get() >= 2_000);
        redis.kill();
        long killedAt = System.nanoTime();
        for (ChildServer replica : List.of(one, two)) {
            Awaitility.await("readiness 503").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .until(() -> get(replica.base() + "/health/ready").statusCode() == 503);
            assertEquals(200, get(replica.base() + "/health").statusCode(), "liveness stays 200");
            long scrapeStarted = System.nanoTime();
            HttpResponse<String> scrape = get(replica.base() + "/metrics");
            assertEquals(200, scrape.statusCode());
            assertTrue(scrape.body().contains("llm_requests_total{model=\"outage-model\""), "the scrape keeps its series");
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - scrapeStarted) < 2_000, "the scrape does not wait on Redis");
        }
        Awaitility.await("503s while Redis is down").atMost(Duration.ofSeconds(10)).until(() -> refused.get() >= 20);
        long downMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);

        redis.startAgain();
        long restartedAt = System.nanoTime();
        restarted.set(true);
        for (ChildServer replica : List.of(one, two)) {
            Awaitility.await("ready again").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                    .until(() -> get(replica.base() + "/health/ready").statusCode() == 200);
        }
        long recoveryMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt);
        Awaitility.await("ingestion resumes").atMost(Duration.ofSeconds(30)).until(() -> ackedAfterRestart.get() >= 1_000);
        running.set(false);
        for (Thread thread : threads) {
            thread.join(60_000);
            assertFalse(thread.isAlive());
        }

        assertEquals(List.of(), errors, "the producers saw only 202 and 503 store_unavailable");
        long present = 0;
        for (Map.Entry<String, AtomicLong> e : ackedBySession.entrySet()) {
            JsonNode s = TestServer.JSON.readTree(get(two.base() + "/events/metrics/session/" + e.getKey()).body());
            long n = s.get("total_requests").asLong();
            assertEquals(e.getValue().get(), n, e.getKey() + ": acknowledged events vs present");
            present += n;
        }
        assertEquals(acknowledged.get(), present);
        System.out.printf("Redis kill -9 mid-load: %d events acknowledged, %d present (difference 0; %d events of "
                        + "retried batches recognised as applied before their answer was lost); %d batches refused with "
                        + "503 over %d ms down (slowest refusal %d ms); both replicas ready %d ms after Redis restarted%n",
                acknowledged.get(), present, duplicates.get(), refused.get(), downMs, slowestRefusalMs.get(), recoveryMs);
    }

    // --- helpers -------------------------------------------------------------------------------------------

    private static String event(String type, String session, String model, String more) {
        return "{\"type\":\"" + type + "\",\"session_id\":\"" + session + "\",\"model\":\"" + model + "\"," + more + "}\n";
    }

    private static String score(String session, String name, String value) {
        return "{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"" + session + "\",\"correlation_id\":\"c1\",\"name\":\""
                + name + "\",\"value\":" + value + "}\n";
    }

    private static HttpResponse<String> post(ChildServer server, String ndjson) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(server.base() + "/events"))
                .header("Content-Type", "application/x-ndjson").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(ndjson)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> delete(ChildServer server, String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(server.base() + path)).timeout(Duration.ofSeconds(30))
                .DELETE().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The result series of an instant query. */
    private static List<JsonNode> query(String expr) throws Exception {
        HttpResponse<String> r = get(prometheusBase + "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
        JsonNode body = TestServer.JSON.readTree(r.body());
        assertEquals("success", body.path("status").asText(), expr + " → " + r.body());
        List<JsonNode> series = new ArrayList<>();
        body.path("data").path("result").forEach(series::add);
        series.sort(Comparator.comparing(JsonNode::toString));
        return series;
    }

    /** The values of a query's series, by the value of {@code label}. */
    private static Map<String, Long> valuesBy(String expr, String label) throws Exception {
        Map<String, Long> values = new TreeMap<>();
        for (JsonNode series : query(expr)) {
            values.put(series.get("metric").get(label).asText(), Math.round(series.get("value").get(1).asDouble()));
        }
        return values;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
