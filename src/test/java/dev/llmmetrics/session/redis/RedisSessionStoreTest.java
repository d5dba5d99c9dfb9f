package dev.llmmetrics.session.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.session.EvictionReason;
import dev.llmmetrics.session.PairFigures;
import dev.llmmetrics.session.ScoreSummary;
import dev.llmmetrics.session.SessionMetrics;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.SessionStoreContractTest;
import dev.llmmetrics.session.SessionStoreFactory;
import dev.llmmetrics.session.StoreUnavailableException;
import dev.llmmetrics.testing.LogCapture;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

/** The store contract, held by the Redis store on a real redis-server, emptied before each test. */
class RedisSessionStoreTest extends SessionStoreContractTest {

    @RegisterExtension
    static final RedisProcess redis = RedisProcess.emptiedBeforeEachTest();
    private final List<RedisSessionStore> opened = new ArrayList<>();

    @Override
    protected SessionStore newStore(int maxSessions, int maxRecords, Duration idleTimeout, InstantSource clock,
                                    PriceTable prices) {
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(30)).create(
                new SessionStoreFactory.Parameters(maxSessions, maxRecords, Integer.MAX_VALUE, Long.MAX_VALUE,
                        idleTimeout, Duration.ofMinutes(10), 100_000, clock, new ModelCatalog(prices, 200)));
        opened.add(store);
        return store;
    }

    /** This process's figures sit beside Redis: a clear racing a batch leaves them until the sweep. */
    @Override
    protected boolean figuresAreTheStoresOwnTable() {
        return false;
    }

    @AfterEach
    void closeStores() {
        opened.forEach(RedisSessionStore::close);
    }

    @Test
    void attributesAndScoresCountTowardTheBoundInBytesAndGoWithTheirSession() {
        AtomicLong millis = clockAtStart();
        long bound = 2L << 20;
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(30)).create(
                new SessionStoreFactory.Parameters(10_000, 1_000, 16, bound, Duration.ofHours(1), Duration.ofMinutes(10),
                        100_000, () -> Instant.ofEpochMilli(millis.get()), new ModelCatalog(PriceTable.EMPTY, 200)));
        opened.add(store);
        attributesAndScoresCountTowardTheBound(store, store::retainedBytes, millis, bound);
        assertEquals("0", redis.cli("EXISTS", "llm:{s19}:s"), "its scores went with it");
    }

    @Test
    void aSessionLargerThanTheBoundByItselfDropsItsOldestRecordsAndScoresToStayWithinIt() {
        long bound = 1L << 20;
        RedisSessionStore store = boundedInBytes(bound);
        int first = aSessionLargerThanTheBoundKeepsItsNewestRecordsWithinIt(store, store::retainedBytes, bound);
        assertEquals(0, store.evictions(EvictionReason.MEMORY), "the session gave room back itself");
        assertEquals(String.valueOf(800 - first), redis.cli("LLEN", "llm:{large}:r"), "the list holds what the JSON shows");
        store.clear("large");
        assertEquals(0, store.retainedBytes(), "what the session still counted goes with it");
    }

    @Test
    void aSessionPastTheBoundDropsTheScoresOfTheRecordsItDrops() {
        long bound = 512L << 10;
        RedisSessionStore store = boundedInBytes(bound);
        aSessionPastTheBoundKeepsTheScoresOfTheRecordsItKeeps(store, store::retainedBytes, bound);
        assertEquals(redis.cli("LLEN", "llm:{graded}:r"), redis.cli("LLEN", "llm:{graded}:s"),
                "as many scores held as records, one each");
    }

    @Test
    void aSessionGivingRecordsOrScoresBackToTheBoundInBytesOnAStartHasANewRevision() {
        aSessionGivingRecordsOrScoresBackToTheBoundOnAStartHasANewRevision(boundedInBytes(1L << 20));
    }

    /** A store of the default bounds but {@code maxBytes}, on the system clock. */
    private RedisSessionStore boundedInBytes(long maxBytes) {
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(30)).create(
                new SessionStoreFactory.Parameters(10_000, 1_000, 16, maxBytes, Duration.ofHours(1), Duration.ofMinutes(10),
                        100_000, Clock.systemUTC(), new ModelCatalog(PriceTable.EMPTY, 200)));
        opened.add(store);
        return store;
    }

    @Test
    void aSessionPastItsRecordBoundCountsTheBytesOfWhatItKeepsAsDocumented() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(5, millis);
        for (int i = 0; i < 12; i++) { // records of different sizes, dropped one batch at a time
            store.record(List.of(LlmRequestCompleted.builder("a", i % 2 == 0 ? "m" : "another-model")
                    .correlationId("c" + "x".repeat(i * 7)).durationMs(i).build()));
            millis.addAndGet(1);
        }
        List<Event> many = new ArrayList<>(); // more than the bound in one batch
        for (int i = 0; i < 8; i++) {
            many.add(LlmRequestCompleted.builder("a", "m").correlationId("d" + "y".repeat(i * 5)).build());
            many.add(LlmRequestScored.builder("a", "grade", i).correlationId("d" + "y".repeat(i * 5)).build());
        }
        store.record(many);

        // docs/replicas.md: 240 bytes and the key names, each figures field and value plus 16, each record plus 16
        String key = "llm:{a}";
        long counted = 240 + 3L * key.length();
        try (Jedis jedis = new Jedis(URI.create(redis.url()))) {
            for (Map.Entry<byte[], byte[]> field : jedis.hgetAll(key.getBytes(StandardCharsets.UTF_8)).entrySet()) {
                if (!Arrays.equals(field.getKey(), new byte[] {'h'})) {
                    counted += field.getKey().length + field.getValue().length + 16;
                }
            }
            for (String list : List.of(":r", ":s")) {
                List<byte[]> elements = jedis.lrange((key + list).getBytes(StandardCharsets.UTF_8), 0, -1);
                assertEquals(5, elements.size(), list);
                for (byte[] element : elements) {
                    counted += element.length + 16;
                }
            }
        }
        assertEquals(counted, store.retainedBytes());
    }

    @Test
    void aRedisOutOfMemoryRefusesEveryBatchWholeYetLetsSessionsBeRemoved() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(30)).create(
                new SessionStoreFactory.Parameters(10, 2, 16, Long.MAX_VALUE, Duration.ofMinutes(1),
                        Duration.ofMinutes(10), 100_000, () -> Instant.ofEpochMilli(millis.get()),
                        new ModelCatalog(PriceTable.EMPTY, 200)));
        opened.add(store);
        for (int i = 0; i < 3; i++) { // "full" at its bound of two records: its next batch first drops its oldest
            store.record(List.of(LlmRequestCompleted.builder("full", "m").durationMs(i + 1).build()));
        }
        store.record(List.of(LlmRequestCompleted.builder("idle", "m").durationMs(1).build()));
        SessionMetrics before = store.session("full").orElseThrow();
        long bytesBefore = store.retainedBytes();
        try (Jedis jedis = new Jedis(URI.create(redis.url()))) {
            jedis.configSet("maxmemory", Long.toString(usedMemory(jedis) - 100_000)); // past it, with noeviction
            try {
                assertTrue(refused(() -> jedis.set("probe", "1")), "Redis is out of memory");

                List<Event> batch = new ArrayList<>(List.of(LlmRequestCompleted.builder("full", "m").durationMs(9).build()));
                for (int i = 0; i < 50; i++) {
                    batch.add(LlmRequestCompleted.builder("new-" + i, "m").durationMs(1).build());
                }
                try (LogCapture log = LogCapture.of(RedisSessionStore.class)) {
                    assertThrows(RecordingFailedException.class, () -> store.record(batch));
                    assertThrows(RecordingFailedException.class, () -> store.record(batch.subList(0, 1)),
                            "a batch whose first write only removes a record is refused too");
                    assertEquals(1, log.lines(Level.WARNING).size(), "one warning for the episode: " + log.lines(Level.INFO));
                    assertTrue(log.lines(Level.WARNING).getFirst().contains("refuses the batch script (OOM"),
                            log.lines(Level.WARNING).getFirst());
                    assertTrue(log.lines(Level.WARNING).getFirst().contains("raise its maxmemory"),
                            "what to do: " + log.lines(Level.WARNING).getFirst());
                    assertEquals(List.of(), log.withTrace());
                }
                assertEquals(before, store.session("full").orElseThrow(), "nothing of either batch applied");
                assertEquals(List.of("full", "idle"), store.sessionIds(0, 100).stream().sorted().toList());
                assertEquals(bytesBefore, store.retainedBytes());

                assertTrue(store.clear("full"), "a DELETE frees memory, so it runs");
                millis.addAndGet(Duration.ofMinutes(2).toMillis());
                assertEquals(1, store.evictIdle(), "so does the idle sweep");
                assertEquals(List.of(), store.sessionIds(0, 100));
                assertEquals(0, store.retainedBytes());
            } finally {
                jedis.configSet("maxmemory", "0");
            }
            try (LogCapture log = LogCapture.of(RedisSessionStore.class)) {
                assertEquals(1, store.record(List.of(LlmRequestStarted.builder("later", "m").build())).size());
                assertEquals(List.of("INFO Redis at " + store.endpoint() + " runs the batch script again"),
                        log.lines(Level.INFO));
                log.clear();
                jedis.configSet("maxmemory", Long.toString(usedMemory(jedis) - 100_000));
                try { // a Redis at its bound refuses and takes batches by turns as keys expire: no line each time
                    assertThrows(RecordingFailedException.class,
                            () -> store.record(List.of(LlmRequestStarted.builder("refused", "m").build())));
                } finally {
                    jedis.configSet("maxmemory", "0");
                }
                assertEquals(1, store.record(List.of(LlmRequestStarted.builder("later", "m").build())).size());
                assertEquals(List.of(), log.lines(Level.INFO), "at most a line a minute");
            }
        }
    }

    private static long usedMemory(Jedis jedis) {
        for (String line : jedis.info("memory").split("\\R")) {
            if (line.startsWith("used_memory:")) {
                return Long.parseLong(line.substring("used_memory:".length()));
            }
        }
        throw new AssertionError("no used_memory in INFO memory");
    }

    private static boolean refused(Runnable write) {
        try {
            write.run();
            return false;
        } catch (JedisDataException e) {
            assertTrue(e.getMessage().startsWith("OOM"), e.getMessage());
            return true;
        }
    }

    @Test
    void aRedisThatRefusesTheCredentialsIsLoggedWithItsReasonNotThePassword() {
        redis.cli("CONFIG", "SET", "requirepass", "right-secret");
        try (LogCapture log = LogCapture.of(RedisSessionStore.class)) {
            RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(
                    redis.url().replace("//", "//:wrong-secret@"), Duration.ofSeconds(5)).create(parameters());
            opened.add(store);
            assertFalse(store.ready());
            List<String> warnings = log.lines(Level.WARNING);
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.getFirst().contains("WRONGPASS"), warnings.getFirst());
            assertFalse(warnings.getFirst().contains("secret"), warnings.getFirst());
        } finally {
            redis.cli("-a", "right-secret", "--no-auth-warning", "CONFIG", "SET", "requirepass", "");
        }
    }

    @Test
    void aPasswordMissingOrWrongAndAUserDeniedTheStoresCommandsMakeItNotReadyNamingTheCauseInPlainWords()
            throws Exception {
        redis.cli("CONFIG", "SET", "requirepass", "pw");
        try {
            for (var url : Map.of("", "authentication required", ":wrong@", "authentication failed").entrySet()) {
                RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(
                        redis.url().replace("//", "//" + url.getKey()), Duration.ofSeconds(5)).create(parameters());
                opened.add(store);
                assertNotReadySaying(store, url.getValue());
                assertThrows(RecordingFailedException.class, () -> store.record(oneCallOfA()));
            }
            RedisSessionStore right = (RedisSessionStore) RedisSessionStore.at(redis.url().replace("//", "//:pw@"),
                    Duration.ofSeconds(5)).create(parameters());
            opened.add(right);
            assertTrue(right.ready(), right.notReadyBecause().toString());
            assertEquals(1, right.record(oneCallOfA()).size());

            // A password set while the store runs meets its new connections
            redis.cli("-a", "pw", "--no-auth-warning", "CONFIG", "SET", "requirepass", "pw2");
            redis.cli("-a", "pw2", "--no-auth-warning", "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
            assertNotReadySaying(right, "authentication failed");
            redis.cli("-a", "pw2", "--no-auth-warning", "CONFIG", "SET", "requirepass", "pw");
            awaitReady(right, true);

            for (String denied : List.of("-@scripting", "-evalsha", "-hset")) {
                redis.cli("-a", "pw", "--no-auth-warning", "ACL", "SETUSER", "app", "reset", "on", ">apw", "~*",
                        "+@all", denied);
                RedisSessionStore app = (RedisSessionStore) RedisSessionStore.at(
                        redis.url().replace("//", "//app:apw@"), Duration.ofSeconds(5)).create(parameters());
                opened.add(app);
                assertNotReadySaying(app, "permission denied");
                if (denied.equals("-hset")) {
                    assertTrue(app.notReadyBecause().orElseThrow().contains("HSET"), app.notReadyBecause().orElseThrow());
                }
                assertThrows(RecordingFailedException.class, () -> app.record(
                        List.of(LlmRequestCompleted.builder("h", "m").durationMs(1).eventId("e-h").build())));
                assertEquals("0", redis.cli("-a", "pw", "--no-auth-warning", "EXISTS", "llm:{h}", "llm:{h}:id:e-h"),
                        "nothing of the refused batch is written, with " + denied);
                redis.cli("-a", "pw", "--no-auth-warning", "ACL", "SETUSER", "app", "+@all");
                awaitReady(app, true);
                assertEquals(1, app.record(oneCallOfA()).size(), "a user with the right commands records, with " + denied);
            }
        } finally {
            for (String password : List.of("pw", "pw2")) {
                redis.cli("-a", password, "--no-auth-warning", "ACL", "DELUSER", "app");
                redis.cli("-a", password, "--no-auth-warning", "CONFIG", "SET", "requirepass", "");
            }
        }
    }

    @Test
    void aReadOnlyReplicaPausedWritesAndMaxclientsMakeTheStoreNotReadyNamingTheCauseAndItRecoversByItself()
            throws Exception {
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(1))
                .create(parameters());
        opened.add(store);
        assertEquals(1, store.record(oneCallOfA()).size());
        try (RedisProcess primary = RedisProcess.start("no")) {
            redis.cli("REPLICAOF", "127.0.0.1", Integer.toString(primary.port()));
            try {
                awaitReady(store, false);
                assertNotReadySaying(store, "read-only replica");
                assertThrows(RecordingFailedException.class, () -> store.record(oneCallOfA()));
            } finally {
                redis.cli("REPLICAOF", "NO", "ONE");
            }
            awaitReady(store, true);
            assertEquals(1, store.record(oneCallOfA()).size());
        }

        redis.cli("CLIENT", "PAUSE", "3000", "WRITE");
        assertThrows(RecordingFailedException.class, () -> store.record(oneCallOfA()));
        assertNotReadySaying(store, "did not answer within store.redis.timeout");
        Thread.sleep(2_500);
        awaitReady(store, true);
        assertEquals(1, store.record(oneCallOfA()).size());

        try (Jedis admin = new Jedis(URI.create(redis.url()))) {
            admin.ping();
            admin.configSet("maxclients", admin.info("clients").lines().filter(l -> l.startsWith("connected_clients:"))
                    .findFirst().orElseThrow().substring("connected_clients:".length()).trim());
            try {
                assertTrue(concurrentBatches(store, "crowded", 16) > 0, "batches that need a new connection fail");
                assertNotReadySaying(store, "maxclients");
            } finally {
                admin.configSet("maxclients", "10000");
            }
            assertEquals(0, concurrentBatches(store, "after", 16));
            long deadline = System.nanoTime() + 10_000_000_000L; // named for 5 s after the last refusal
            while (!store.ready() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(store.ready(), store.notReadyBecause().toString());
        }
    }

    @Test
    void theStoreWorksOverTlsWithACaTheJvmIsToldAboutAndRefusesACertificateThatDoesNotNameItsHost() throws Exception {
        Path dir = Files.createTempDirectory("llm-metrics-tls-");
        openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=llm-metrics test CA",
                "-keyout", "ca.key", "-out", "ca.crt");
        for (String name : List.of("localhost", "elsewhere.example")) {
            openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", name + ".key",
                    "-out", name + ".csr");
            Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=DNS:" + name + "\n");
            openssl(dir, "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                    "-days", "2", "-extfile", name + ".ext", "-out", name + ".crt");
        }
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (var in = Files.newInputStream(dir.resolve("ca.crt"))) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        Path trustStore = dir.resolve("trust.p12");
        try (var out = Files.newOutputStream(trustStore)) {
            trust.store(out, "changeit".toCharArray());
        }
        // What an operator gives the server's JVM (JAVA_OPTS), as docs/configuration.md says
        Map<String, String> properties = Map.of("javax.net.ssl.trustStore", trustStore.toString(),
                "javax.net.ssl.trustStorePassword", "changeit", "javax.net.ssl.trustStoreType", "PKCS12");
        Map<String, String> before = new java.util.HashMap<>();
        properties.keySet().forEach(key -> before.put(key, System.getProperty(key)));
        properties.forEach(System::setProperty);
        try (RedisProcess named = RedisProcess.startWithTls(dir.resolve("localhost.crt"), dir.resolve("localhost.key"),
                dir.resolve("ca.crt"));
             RedisProcess misnamed = RedisProcess.startWithTls(dir.resolve("elsewhere.example.crt"),
                     dir.resolve("elsewhere.example.key"), dir.resolve("ca.crt"))) {
            RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(named.tlsUrl("localhost"),
                    Duration.ofSeconds(5)).create(parameters());
            opened.add(store);
            assertTrue(store.ready(), store.notReadyBecause().toString());
            assertEquals(1, store.record(oneCallOfA()).size());
            assertEquals(1, store.session("a").orElseThrow().totalRequests());
            assertEquals("1", named.cli("ZCARD", "llm:sessions"), "written over TLS");

            RedisSessionStore wrongHost = (RedisSessionStore) RedisSessionStore.at(misnamed.tlsUrl("localhost"),
                    Duration.ofSeconds(5)).create(parameters());
            opened.add(wrongHost);
            assertNotReadySaying(wrongHost, "certificate");
            assertThrows(RecordingFailedException.class, () -> wrongHost.record(oneCallOfA()));
            assertEquals("0", misnamed.cli("DBSIZE"));
        } finally {
            before.forEach((key, value) -> {
                if (value == null) {
                    System.clearProperty(key);
                } else {
                    System.setProperty(key, value);
                }
            });
        }
    }

    private static void openssl(Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes());
        assertEquals(0, process.waitFor(), "openssl " + String.join(" ", args) + ": " + out);
    }

    /**
     * That {@code store} is not ready, saying {@code cause} in words without a library's names, within 5 seconds
     * (a closed connection is first "cannot be reached", until the next check of the connection says why).
     */
    private static void assertNotReadySaying(RedisSessionStore store, String cause) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!store.notReadyBecause().orElse("").contains(cause) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        String because = store.notReadyBecause().orElse("ready");
        assertTrue(because.contains(cause), because);
        assertFalse(because.contains("Jedis") || because.contains("Exception") || because.contains("redis.clients"), because);
        assertFalse(store.ready());
    }

    @Test
    void aTimeoutOutOfItsBoundIsRefusedByTheStoreUnderTheNameItsCallerGives() {
        // the store's one check: RedisSessionStore.at applies it, the server calls it first to name its key
        assertEquals("the Redis timeout must be positive and at most PT24H, was PT0S", assertThrows(
                IllegalArgumentException.class, () -> RedisSessionStore.at(redis.url(), Duration.ZERO)).getMessage());
        assertEquals("store.redis.timeout must be positive and at most PT24H, was PT24H0.001S", assertThrows(
                IllegalArgumentException.class, () -> RedisSessionStore.requireValidTimeout("store.redis.timeout",
                        RedisSessionStore.MAX_TIMEOUT.plusMillis(1))).getMessage());
        assertEquals(RedisSessionStore.MAX_TIMEOUT, RedisSessionStore.requireValidTimeout("t", RedisSessionStore.MAX_TIMEOUT));
    }

    @Test
    void aRedisUrlIsReadWithItsPasswordItsDatabaseAndAHostNameWithAnUnderscore() {
        redis.cli("CONFIG", "SET", "requirepass", "pass_word@:x");
        try {
            RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(
                    redis.url().replace("//", "//:pass_word%40%3Ax@") + "/3", Duration.ofSeconds(5)).create(parameters());
            opened.add(store);
            assertEquals(1, store.record(List.of(LlmRequestStarted.builder("a", "m").build())).size());
            assertEquals("1", redis.cli("-a", "pass_word@:x", "--no-auth-warning", "-n", "3", "EXISTS", "llm:{a}"),
                    "in database 3");
            assertEquals("0", redis.cli("-a", "pass_word@:x", "--no-auth-warning", "EXISTS", "llm:{a}"));
        } finally {
            redis.cli("-a", "pass_word@:x", "--no-auth-warning", "CONFIG", "SET", "requirepass", "");
        }

        try (LogCapture log = LogCapture.of(RedisSessionStore.class)) { // a Docker service name: no such host here
            RedisSessionStore named = (RedisSessionStore) RedisSessionStore.at("redis://user:p_w@llm_redis_1:6390/2",
                    Duration.ofMillis(500)).create(parameters());
            opened.add(named);
            assertEquals("llm_redis_1:6390", named.endpoint());
            assertFalse(named.ready());
            assertTrue(log.lines(Level.WARNING).getFirst().contains("llm_redis_1"), log.lines(Level.WARNING).toString());
            assertTrue(log.lines(Level.WARNING).getFirst().contains("UnknownHostException: llm_redis_1"),
                    "an unknown host, not only Jedis's \"Failed to create socket\": " + log.lines(Level.WARNING));
            assertTrue(log.lines(Level.WARNING).getFirst().endsWith("set store.redis.url (STORE_REDIS_URL) to where it"
                    + " runs"), "what to do: " + log.lines(Level.WARNING));
        }

        for (String url : List.of("http://127.0.0.1:6379", "redis:///0", "redis://:hunter2@127.0.0.1/first",
                "redis://:hunter@2@127.0.0.1/first")) {
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> RedisSessionStore.at(url));
            assertFalse(refused.getMessage().contains("hunter") || refused.getMessage().contains("2@"), refused.getMessage());
        }
    }

    @Test
    void aRightTakenAwayAfterTheStoresLastCheckRefusesTheBatchScriptBeforeItsFirstWrite() {
        List<Event> events = List.of(LlmRequestStarted.builder("acl", "m").eventId("e-start").build(),
                LlmRequestCompleted.builder("acl", "m").durationMs(1).eventId("e-end").build());
        RedisSessionStore.Batch batch = new RedisSessionStore.Batch(events, parameters());
        try {
            // What a right removed within the 500 ms before the store's next check meets: the batch script runs.
            for (String denied : List.of("-hset", "-rpush", "-zadd", "-hdel")) {
                redis.cli("ACL", "SETUSER", "app", "reset", "on", ">apw", "~*", "+@all", denied);
                try (Jedis app = new Jedis(URI.create(redis.url().replace("//", "//app:apw@")))) {
                    JedisDataException refused = assertThrows(JedisDataException.class, () -> app.eval(
                            RedisSessionStore.RECORD.body().getBytes(StandardCharsets.UTF_8),
                            List.of(RedisSessionStore.WRITE_KEYS), List.of(batch.args)));
                    assertTrue(refused.getMessage().startsWith("NOPERM") && refused.getMessage()
                            .contains(denied.substring(1).toUpperCase()), refused.getMessage());
                }
                assertEquals("0", redis.cli("EXISTS", "llm:{acl}", "llm:{acl}:r", "llm:{acl}:id:e-start",
                        "llm:{acl}:id:e-end", "llm:sessions", "llm:lives", "llm:requests-in-flight"),
                        "nothing written, so that a retry of the batch applies it, with " + denied);
            }
        } finally {
            redis.cli("ACL", "DELUSER", "app");
        }
    }

    private static SessionStoreFactory.Parameters parameters() {
        return new SessionStoreFactory.Parameters(10, 10, 16, Long.MAX_VALUE, Duration.ofHours(1), Duration.ofMinutes(10),
                100_000, Instant::now, new ModelCatalog(PriceTable.EMPTY, 200));
    }

    @Test
    void afterRedisRestartsOnlyTheCallsInFlightAtTheFirstFailureMeetConnectionsOfTheOldProcess() throws Exception {
        RedisSessionStore store = boundedTo(10_000, clockAtStart());
        assertEquals(0, concurrentBatches(store, "before", 32), "the pool holds many connections");
        redis.kill();
        redis.startAgain();

        concurrentBatches(store, "first", 16); // some may be sent on connections of the killed process: 503
        for (int round = 0; round < 3; round++) {
            assertEquals(0, concurrentBatches(store, "round-" + round, 16),
                    "a failed connection drops the other idle ones, rather than fail later callers one by one");
        }
        assertTrue(store.ready());
    }

    @Test
    void aRedisStoppedAndStartedAgainUnderLoadIsLoggedOnceAsItStopsAndOnceAsItAnswersAgainWithoutATrace()
            throws Exception {
        RedisSessionStore store = boundedTo(10_000, clockAtStart());
        store.record(List.of(LlmRequestStarted.builder("before", "m").build()));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger recorded = new AtomicInteger();
        try (LogCapture log = LogCapture.of(RedisSessionStore.class)) {
            try (ExecutorService load = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int t = 0; t < 4; t++) {
                    String prefix = "load-" + t + "-";
                    load.submit(() -> {
                        // Batches meet Redis gone, and back, before the store's watcher does.
                        for (int i = 0; !stop.get(); i++) {
                            try {
                                store.record(List.of(LlmRequestStarted.builder(prefix + i, "m").build()));
                                recorded.incrementAndGet();
                            } catch (RecordingFailedException e) {
                                failed.incrementAndGet();
                            }
                            Thread.sleep(5);
                        }
                        return null;
                    });
                }
                Thread.sleep(300);
                redis.kill();
                Thread.sleep(1_500); // three checks of the watcher
                int recordedBeforeRestart = recorded.get();
                redis.startAgain();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (recorded.get() < recordedBeforeRestart + 20 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                Thread.sleep(1_000);
                stop.set(true);
            }
            assertTrue(failed.get() > 0, "batches failed while Redis was down");
            List<String> said = log.lines(Level.INFO).stream()
                    .filter(line -> line.contains("does not answer") || line.endsWith(" answers")).toList();
            assertEquals(2, said.size(), log.lines(Level.INFO).toString());
            assertTrue(said.get(0).startsWith("WARNING Redis at " + store.endpoint() + " does not answer ("), said.get(0));
            assertEquals("INFO Redis at " + store.endpoint() + " answers", said.get(1));
            assertEquals(List.of(), log.withTrace(), "a Redis that stops is an operator's to mend: no stack trace");
            assertTrue(store.ready());
        }
    }

    /** Records one start each from {@code callers} virtual threads at once; returns how many failed. */
    @Test
    void connectionsLeftIdleAreClosedBeforeRedisIdleTimeoutClosesThemUnderTheCallsOfTheNextBurst() throws Exception {
        // With Redis's timeout set, the batches after each quiet spell were sent on connections Redis had closed:
        // 2 to 7 of 8 concurrent batches got 503 after each pause of 4 s with timeout 1.
        redis.cli("CONFIG", "SET", "timeout", "4");
        try {
            RedisSessionStore store = boundedTo(10_000, clockAtStart());
            assertEquals(0, concurrentBatches(store, "busy", 16), "the pool holds many connections");
            Thread.sleep(5_500); // past Redis's idle timeout
            assertEquals(0, concurrentBatches(store, "after-quiet", 16));
            assertTrue(store.ready());
        } finally {
            redis.cli("CONFIG", "SET", "timeout", "0");
        }
    }

    private static int concurrentBatches(RedisSessionStore store, String prefix, int callers) throws Exception {
        List<Future<Boolean>> done = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < callers; c++) {
                String session = prefix + "-" + c;
                done.add(threads.submit(() -> {
                    try {
                        store.record(List.of(LlmRequestStarted.builder(session, "m").build()));
                        return true;
                    } catch (RecordingFailedException e) {
                        return false;
                    }
                }));
            }
        }
        int failed = 0;
        for (Future<Boolean> f : done) {
            failed += f.get() ? 0 : 1;
        }
        return failed;
    }

    @Test
    void theVersionCheckOfTheLogAcceptsSevenAndLaterAndNamesOlderOnes() {
        assertTrue(RedisSessionStore.loadsTheScripts("7.0.15"));
        assertTrue(RedisSessionStore.loadsTheScripts("8.2.1"));
        assertTrue(RedisSessionStore.loadsTheScripts("255.255.255"), "an unstable build");
        assertTrue(RedisSessionStore.loadsTheScripts("unknown"), "unreadable: the script decides");
        assertFalse(RedisSessionStore.loadsTheScripts("6.2.14"));
        assertFalse(RedisSessionStore.loadsTheScripts("6.0.16"));
        assertFalse(RedisSessionStore.loadsTheScripts("5"));
    }

    @Test
    void startsCarriedByAnotherEventOfTheirSessionAreLeftOutOfTheScriptYetAppliedInTheirPlace() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        List<Event> events = List.of(
                LlmRequestStarted.builder("a", "m").build(),
                LlmRequestStarted.builder("b", "m").build(), // b's only events: the first is sent
                LlmRequestStarted.builder("b", "m").build(),
                LlmRequestCompleted.builder("a", "m").durationMs(5).build(), // carries a's starts
                LlmRequestStarted.builder("a", "m").eventId("e1").build(), // has an id: sent, checked
                new GenericEvent("AGENT_STEP", "c"),
                LlmRequestStarted.builder("a", "m").build());
        RedisSessionStore.Batch batch = new RedisSessionStore.Batch(events, new SessionStoreFactory.Parameters(10, 10,
                16, Long.MAX_VALUE, Duration.ofHours(1), Duration.ofMinutes(10), 100_000,
                () -> Instant.ofEpochMilli(millis.get()), new ModelCatalog(PriceTable.EMPTY, 200)));
        assertArrayEquals(new int[] {3, -1, 1, -1, -1, -1, 3}, batch.carriers);
        assertEquals(RedisSessionStore.Batch.HEADER + 4 * RedisSessionStore.Batch.FIELDS, batch.args.length,
                "four events sent");

        assertEquals(events, store.record(events), "every event applied, in the batch's order");
        assertEquals(List.of(), store.record(events.subList(4, 5)), "the start with an id was checked: not applied again");
        assertEquals(List.of("a", "b"), store.sessionIds(0, 10).stream().sorted().toList());
        assertEquals(1, store.session("a").orElseThrow().totalRequests());
    }

    @Test
    void thisProcesssFiguresOfASessionEvictedAndMadeAgainCountItsNewLifeOnly() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(30)).create(
                new SessionStoreFactory.Parameters(10, 10, 16, 1, Duration.ofHours(1), Duration.ofMinutes(10),
                        100_000, () -> Instant.ofEpochMilli(millis.get()), new ModelCatalog(PriceTable.EMPTY, 200)));
        opened.add(store);
        store.record(oneCallOfA());
        millis.addAndGet(1_000);
        store.record(List.of(LlmRequestCompleted.builder("b", "m").durationMs(1).build())); // a evicted: 1 byte
        millis.addAndGet(1_000);
        store.record(oneCallOfA()); // a's new life

        assertEquals(1, store.session("a").orElseThrow().totalRequests());
        List<PairFigures> a = store.mostRecentPairs(10, 100).stream().filter(p -> p.sessionId().equals("a")).toList();
        assertEquals(1, a.size());
        assertEquals(1, a.getFirst().successes(), "the series count what the session's JSON shows");
    }

    /**
     * A scrape reading this replica's figures while a batch of a session is being added sees all of the batch's
     * requests of the session or none, as the session JSON does: never a session half-counted.
     */
    @Test
    void aScrapeDuringABatchShowsAllOfItsRequestsOfASessionOrNone() throws Exception {
        RedisSessionStore store = boundedTo(10, clockAtStart());
        int batch = 200;
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            events.add(i % 2 == 0 ? LlmRequestCompleted.builder("a", "m" + (i % 4)).durationMs(1).build()
                    : LlmRequestFailed.builder("a", "m" + (i % 4)).error("e").build());
        }
        AtomicBoolean recording = new AtomicBoolean(true);
        List<Long> torn = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread scraper = Thread.ofPlatform().start(() -> {
            while (recording.get()) {
                long requests = store.mostRecentPairs(10, 100).stream()
                        .mapToLong(p -> p.successes() + p.failures()).sum();
                if (requests % batch != 0) {
                    torn.add(requests);
                }
            }
        });
        try {
            for (int b = 0; b < 300 && torn.isEmpty(); b++) {
                store.record(events);
            }
        } finally {
            recording.set(false);
            scraper.join();
        }
        assertEquals(List.of(), torn, "requests of a session on a scrape: all of a batch's or none");
    }

    /**
     * A session the bounds evict in a batch of this replica leaves its per-session series with the batch, as it
     * leaves the store, not at the next sweep; below a tenth past the sessions bound the watcher does not ask.
     */
    @Test
    void aSessionThisReplicasBatchEvictsPastTheSessionsOrTheBytesBoundLeavesItsFiguresAtOnce() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore capacity = store(20, 10, 16, Long.MAX_VALUE, 200, millis);
        for (int i = 0; i <= 20; i++) {
            capacity.record(List.of(LlmRequestCompleted.builder("s" + i, "m").durationMs(1).build()));
            millis.addAndGet(1_000);
        }
        assertEquals(1, capacity.evictions(EvictionReason.CAPACITY));
        assertTrue(capacity.session("s0").isEmpty());
        assertEquals(0, successesOf("s0", capacity), "the scrape shows no session the store evicted");
        assertEquals(1, successesOf("s1", capacity));

        redis.cli("FLUSHALL");
        RedisSessionStore memory = store(10, 10, 16, 1, 200, millis); // 1 byte: each session evicts the one before
        memory.record(oneCallOfA());
        millis.addAndGet(1_000);
        memory.record(List.of(LlmRequestCompleted.builder("b", "m").durationMs(1).build()));
        assertEquals(1, memory.evictions(EvictionReason.MEMORY));
        assertTrue(memory.session("a").isEmpty());
        assertEquals(0, successesOf("a", memory), "the scrape shows no session the store evicted");
        assertEquals(1, successesOf("b", memory));

        millis.addAndGet(1_000); // a batch of two sessions: past the bytes bound it evicts the older of its own
        memory.record(List.of(LlmRequestCompleted.builder("c", "m").durationMs(1).build(),
                LlmRequestCompleted.builder("d", "m").durationMs(1).build()));
        List<String> held = memory.sessionIds(0, 10);
        for (String session : List.of("b", "c", "d")) {
            assertEquals(held.contains(session) ? 1 : 0, successesOf(session, memory), session + " held: " + held);
        }
    }

    @Test
    void aSessionClearedAndBegunAgainThroughAnotherReplicaLeavesThisReplicasFiguresOfItsEarlierLifeAtTheSweep() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore one = boundedTo(10, millis);
        RedisSessionStore two = boundedTo(10, millis);
        for (int i = 0; i < 5; i++) {
            two.record(oneCallOfA());
        }
        one.clear("a");
        millis.addAndGet(1_000);
        for (int i = 0; i < 3; i++) {
            one.record(oneCallOfA());
        }
        two.evictIdle();
        one.evictIdle();

        assertEquals(3, one.session("a").orElseThrow().totalRequests());
        assertEquals(3, successesOf("a", one) + successesOf("a", two),
                "the replicas' series sum to the session Redis holds, not to its earlier life as well");
    }

    @Test
    void aReplicaKeepsItsFiguresOfASessionStillActiveThroughAnotherPastItsOwnIdleTimeout() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore one = boundedTo(10, millis);
        RedisSessionStore two = boundedTo(10, millis);
        two.record(oneCallOfA());
        for (int minute = 0; minute < 70; minute += 10) { // an hour and more of activity through the other replica
            millis.addAndGet(Duration.ofMinutes(10).toMillis());
            one.record(oneCallOfA());
            two.evictIdle();
            one.evictIdle();
        }

        assertEquals(8, one.session("a").orElseThrow().totalRequests());
        assertEquals(8, successesOf("a", one) + successesOf("a", two),
                "the request the first replica counted stays in the sum while Redis holds the session");
    }

    /**
     * A replica holding figures of more sessions than {@code store.max.sessions}, because Redis evicted some of
     * them past the bound, keeps those of a session Redis still holds, active through another replica, however long
     * ago it recorded into it: the sessions Redis no longer holds leave its figures instead, within a second, so that
     * the sum over the replicas stays what the session's JSON shows.
     */
    @Test
    void aReplicaPastTheSessionBoundKeepsItsFiguresOfASessionRedisHoldsAndDropsThoseRedisEvicted() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore one = store(3, 10, 16, Long.MAX_VALUE, 200, millis);
        RedisSessionStore two = store(3, 10, 16, Long.MAX_VALUE, 200, millis);
        for (String session : new String[] {"s", "n1", "n2"}) {
            one.record(List.of(LlmRequestCompleted.builder(session, "m").durationMs(1).build()));
            millis.addAndGet(1_000);
        }
        two.record(List.of(LlmRequestCompleted.builder("s", "m").durationMs(1).build())); // s active through two
        millis.addAndGet(1_000);
        one.record(List.of(LlmRequestCompleted.builder("n3", "m").durationMs(1).build())); // Redis evicts n1

        assertEquals(List.of("n3", "s", "n2"), one.sessionIds(0, 10));
        assertEquals(2, successesOf("s", one) + successesOf("s", two), "the replicas' series sum to the session's JSON");
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> successesOf("n1", one) == 0);
        assertEquals(2, successesOf("s", one) + successesOf("s", two));
        assertEquals(1, successesOf("n3", one));
    }

    @Test
    void theSessionCountAnswersAtOnceWhileRedisDoesNotAnswer() throws Exception {
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(2)).create(
                new SessionStoreFactory.Parameters(10, 10, 16, Long.MAX_VALUE, Duration.ofHours(1),
                        Duration.ofMinutes(10), 100_000, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 200)));
        opened.add(store);
        store.record(oneCallOfA());
        redis.pause();
        try {
            long started = System.nanoTime();
            int count = store.sessionCount(); // what the scrape's llm_sessions_active and GET /health read
            long tookMs = (System.nanoTime() - started) / 1_000_000;
            assertEquals(1, count);
            assertTrue(tookMs < 500, "the session count waited " + tookMs + " ms on a Redis that does not answer");
        } finally {
            redis.resume();
        }
    }

    @Test
    void aReplicaWithALowerRecordsBoundThatTrimsTheRecordsChangesTheRevision() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore three = boundedTo(3, millis);
        RedisSessionStore one = boundedTo(1, millis);
        List<Event> events = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            events.add(LlmRequestCompleted.builder("a", "m").durationMs(1).correlationId("c" + i).build());
        }
        three.record(events);
        String before = three.revision("a").orElseThrow();
        assertEquals(3, three.session("a").orElseThrow().requests().size());

        millis.addAndGet(1_000);
        one.record(List.of(LlmRequestStarted.builder("a", "m").build())); // trims the records to 1
        assertEquals(1, three.session("a").orElseThrow().requests().size());
        assertTrue(!before.equals(three.revision("a").orElseThrow()),
                "the session JSON changed, so must its revision (the ETag and the rendered JSON kept under it)");
    }

    @Test
    void aRedisThatEvictsKeysUnderMemoryPressureIsWarnedOfAtStart() {
        redis.cli("CONFIG", "SET", "maxmemory-policy", "volatile-lru");
        redis.cli("CONFIG", "SET", "appendonly", "yes"); // else that is warned of too
        try (LogCapture log = LogCapture.of(RedisSessionStore.class)) {
            boundedTo(10, new AtomicLong());
            List<String> warnings = log.lines(Level.WARNING);
            assertTrue(warnings.stream().anyMatch(w -> w.contains("maxmemory-policy volatile-lru")),
                    "a volatile-lru Redis evicts the event ids, so a retried batch is applied twice: " + warnings);
            log.clear();
            redis.cli("CONFIG", "SET", "maxmemory-policy", "noeviction");
            boundedTo(10, new AtomicLong());
            assertEquals(List.of(), log.lines(Level.WARNING));
        } finally {
            redis.cli("CONFIG", "SET", "maxmemory-policy", "noeviction");
            redis.cli("CONFIG", "SET", "appendonly", "no");
        }
    }

    @Test
    void aPolicyThatEvictsSetWhileTheStoreRunsAndTheKeysRedisEvictsAreLogged() throws Exception {
        redis.cli("CONFIG", "SET", "appendonly", "yes"); // else that is warned of too
        try (LogCapture log = LogCapture.of(RedisSessionStore.class)) {
            RedisSessionStore store = store(10_000, 10, 16, Long.MAX_VALUE, 200, clockAtStart());
            assertEquals(List.of(), log.lines(Level.WARNING));
            redis.cli("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
            awaitLine(log, Level.WARNING, "maxmemory-policy allkeys-lru");
            long used = Long.parseLong(redis.cli("INFO", "memory").lines()
                    .filter(line -> line.startsWith("used_memory:")).findFirst().orElseThrow().substring(12).trim());
            redis.cli("CONFIG", "SET", "maxmemory", Long.toString(used + 1_000_000));
            String text = "x".repeat(1_000);
            for (int i = 0; i < 2_000; i++) {
                try {
                    store.record(List.of(LlmRequestFailed.builder("s" + i, "m").error(text).durationMs(1L).build()));
                } catch (RecordingFailedException e) {
                    // a Redis at its bound with little left to evict refuses some
                }
            }
            awaitLine(log, Level.SEVERE, "evicted");
        } finally {
            redis.cli("CONFIG", "SET", "maxmemory", "0");
            redis.cli("CONFIG", "SET", "maxmemory-policy", "noeviction");
            redis.cli("CONFIG", "SET", "appendonly", "no");
        }
    }

    @Test
    void aKeyOfTheIndexOrTheCountersThatTheStoreCannotWriteMakesItNotReadyNamingTheKey() throws Exception {
        RedisSessionStore store = boundedTo(10, clockAtStart());
        store.record(oneCallOfA());
        for (List<String> write : List.of(List.of("SET", "llm:bytes", "abc"), List.of("LPUSH", "llm:lives", "x"),
                List.of("SET", "llm:sessions", "x"), List.of("SET", "llm:requests-in-flight", "x"))) {
            String key = write.get(1);
            String dump = redis.cli("GET", key);
            String members = redis.cli("ZRANGE", "llm:sessions", "0", "-1", "WITHSCORES");
            redis.cli("DEL", key);
            redis.cli(write.toArray(String[]::new));
            awaitReady(store, false);
            assertTrue(store.notReadyBecause().orElseThrow().contains(key), store.notReadyBecause().orElseThrow());
            redis.cli("DEL", key);
            if (key.equals("llm:sessions")) {
                String[] pair = members.split("\n");
                redis.cli("ZADD", key, pair[1], pair[0]);
            } else if (!key.equals("llm:requests-in-flight")) { // absent: no request is in flight
                redis.cli("SET", key, dump);
            }
            awaitReady(store, true);
        }
    }

    @Test
    void aRedisEmptiedUnderTheStoreIsLogged() throws Exception {
        emptiedUnderTheStoreIsLogged(store -> { });
    }

    @Test
    void aRedisEmptiedUnderTheStoreIsLoggedWhenABatchMakesItsCounterOfLivesAgainBeforeTheNextCheck() throws Exception {
        // Under load a batch follows at once: before the next check, it makes llm:lives again.
        emptiedUnderTheStoreIsLogged(store -> store.record(List.of(LlmRequestCompleted.builder("b", "m").durationMs(1).build())));
    }

    /** Redis emptied under a store that held a session, then {@code afterFlush}: the store's log says the data is lost. */
    private void emptiedUnderTheStoreIsLogged(Consumer<RedisSessionStore> afterFlush) throws Exception {
        try (LogCapture log = LogCapture.of(RedisSessionStore.class)) {
            RedisSessionStore store = boundedTo(10, clockAtStart());
            store.record(oneCallOfA());
            Thread.sleep(700); // a check of the connection sees the store's keys
            redis.cli("FLUSHALL");
            afterFlush.accept(store);
            awaitLine(log, Level.WARNING, "lost");
        }
    }

    @Test
    void aUserDeniedInfoIsWarnedOfAsTheChecksOfPersistenceAndEvictionsCannotRun() throws Exception {
        redis.cli("ACL", "SETUSER", "noinfo", "on", ">pw", "~llm:*", "+@all", "-info");
        try (LogCapture log = LogCapture.of(RedisSessionStore.class)) {
            RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(
                    redis.url().replace("redis://", "redis://noinfo:pw@"), Duration.ofSeconds(30)).create(
                    new SessionStoreFactory.Parameters(10, 10, 16, Long.MAX_VALUE, Duration.ofHours(1),
                            Duration.ofMinutes(10), 100_000, () -> Instant.ofEpochMilli(clockAtStart().get()),
                            new ModelCatalog(PriceTable.EMPTY, 200)));
            opened.add(store);
            awaitLine(log, Level.WARNING, "cannot warn of appendonly no");
            assertEquals(1, store.record(oneCallOfA()).size(), "a warning, not a refusal");
            redis.cli("ACL", "SETUSER", "noinfo", "+info");
            awaitLine(log, Level.INFO, "read INFO again");
        } finally {
            redis.cli("ACL", "DELUSER", "noinfo");
        }
    }

    @Test
    void aRedisWithoutAnAppendOnlyFileIsWarnedOfAtStartAndWhenItIsTurnedOff() throws Exception {
        try (LogCapture log = LogCapture.of(RedisSessionStore.class)) {
            redis.cli("CONFIG", "SET", "appendonly", "no");
            RedisSessionStore store = boundedTo(10, clockAtStart());
            awaitLine(log, Level.WARNING, "writes no append-only file");
            redis.cli("CONFIG", "SET", "appendonly", "yes");
            awaitLine(log, Level.INFO, "writes its append-only file again");
            int warnings = log.lines(Level.WARNING).size();
            redis.cli("CONFIG", "SET", "appendonly", "no");
            awaitLine(log, Level.WARNING, "writes no append-only file", warnings);
            assertEquals(1, store.record(oneCallOfA()).size(), "a warning, not a refusal: persistence is the operator's choice");
        } finally {
            redis.cli("CONFIG", "SET", "appendonly", "no"); // as the class's Redis runs
        }
    }

    private static void awaitReady(RedisSessionStore store, boolean ready) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (store.ready() != ready) {
            assertTrue(System.nanoTime() < deadline, "ready() stays " + !ready + ": " + store.notReadyBecause());
            Thread.sleep(50);
        }
    }

    /** Waits up to 5 seconds for a line of at least {@code level} in the log that contains {@code text}. */
    private static void awaitLine(LogCapture log, Level level, String text) throws InterruptedException {
        awaitLine(log, level, text, 0);
    }

    /** As {@link #awaitLine(LogCapture, Level, String)}, among the lines of that level after the first {@code skipped}. */
    private static void awaitLine(LogCapture log, Level level, String text, int skipped) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (log.lines(level).stream().skip(skipped).noneMatch(line -> line.contains(text))) {
            assertTrue(System.nanoTime() < deadline, "no line with " + text + ": " + log.lines(Level.INFO));
            Thread.sleep(50);
        }
    }

    @Test
    void afterRedisLostItsDataTheReplicasCountTheSessionsNewLives() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore one = boundedTo(10, millis);
        RedisSessionStore two = boundedTo(10, millis);
        for (int i = 0; i < 3; i++) {
            one.record(oneCallOfA());
            two.record(oneCallOfA());
        }
        redis.cli("FLUSHALL"); // a restart without persistence, a failover to a replica that lagged: lives start again
        for (int i = 0; i < 4; i++) {
            millis.addAndGet(1_000);
            one.record(oneCallOfA());
            two.record(oneCallOfA());
            one.evictIdle();
            two.evictIdle();
        }

        assertEquals(8, one.session("a").orElseThrow().totalRequests());
        assertEquals(8, successesOf("a", one) + successesOf("a", two),
                "the replicas count the session Redis holds, not the one it lost");
    }

    private static long successesOf(String session, RedisSessionStore store) {
        return store.mostRecentPairs(100, 1_000).stream().filter(p -> p.sessionId().equals(session))
                .mapToLong(PairFigures::successes).sum();
    }

    @Test
    void aLowerRecordsBoundTrimsTheScoresOfRequestsAndTheirCountTogether() {
        AtomicLong millis = clockAtStart();
        // Two replicas on one Redis, one keeping 3 records and scores of requests per session, one keeping 1.
        RedisSessionStore three = boundedTo(3, millis);
        RedisSessionStore one = boundedTo(1, millis);
        List<Event> events = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            events.add(LlmRequestCompleted.builder("a", "m").durationMs(1).correlationId("c" + i).build());
            events.add(LlmRequestScored.builder("a", "q", i).correlationId("c" + i).build());
        }
        three.record(events);
        assertEquals("3", header("llm:{a}", SCORES_KEPT));

        millis.addAndGet(1_000);
        one.record(List.of(LlmRequestStarted.builder("a", "m").build())); // trims both lists to 1
        assertEquals("1", redis.cli("LLEN", "llm:{a}:s"));
        assertEquals("1", header("llm:{a}", SCORES_KEPT), "the count of the scores kept follows the list");
        assertEquals("1", header("llm:{a}", RECORDS_KEPT));

        millis.addAndGet(1_000);
        three.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).correlationId("c4").build(),
                LlmRequestScored.builder("a", "q", 4).correlationId("c4").build()));
        assertEquals("2", redis.cli("LLEN", "llm:{a}:s"), "c3's score is kept beside c4's");
        assertEquals("2", header("llm:{a}", SCORES_KEPT));
        assertEquals(List.of(1, 1), three.session("a").orElseThrow().requests().stream()
                .map(r -> r.scores().size()).toList(), "c3 and c4 keep their scores");
    }

    @Test
    void aSessionWrittenInAnotherLayoutIsRefusedWithoutTouchingTheOthers() {
        AtomicLong millis = clockAtStart();
        boundedTo(10, millis).record(oneCallOfA());
        textLayoutSession("old", 300);
        redis.cli("HSET", "llm:{started}", "life", "2", "last", "2"); // a session of only a start, in text too
        redis.cli("ZADD", "llm:sessions", "2", "started");
        RedisSessionStore store;
        try (LogCapture log = LogCapture.of(RedisSessionStore.class)) {
            store = boundedTo(10, millis);
            assertTrue(log.lines(Level.WARNING).stream().anyMatch(line -> line.contains("written by another version")),
                    "a store starting on them warns");
        }

        for (String model : List.of("m", "another model")) {
            assertThrows(RecordingFailedException.class, () -> store.record(List.of(
                    LlmRequestCompleted.builder("old", model).durationMs(1).build(),
                    LlmRequestCompleted.builder("a", "m").durationMs(1).build())));
        }
        assertThrows(RecordingFailedException.class, () -> store.record(LlmRequestStarted.builder("started", "m").build()));
        assertThrows(StoreUnavailableException.class, () -> store.session("old"));
        assertThrows(StoreUnavailableException.class, () -> store.session("started"));
        assertEquals(1, store.session("a").orElseThrow().totalRequests(), "the refused batch left a unchanged");
        assertEquals("1,0,0,1,1,0,0,0,0,0,0,0,0,0,0,0", redis.cli("HGET", "llm:{old}", "p:m"), "and the old session");
        store.record(oneCallOfA());
        assertEquals(2, store.session("a").orElseThrow().totalRequests());
    }

    @Test
    void recordsOrScoresOfAnotherLayoutMakeTheSessionUnavailableNamingTheirKeyAndLeaveItsSummary() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).correlationId("c1").build(),
                LlmRequestScored.builder("a", "quality", 1).correlationId("c1").build()));
        String record = redis.cli("LINDEX", "llm:{a}:r", "0");
        String score = redis.cli("LINDEX", "llm:{a}:s", "0");
        for (String element : List.of("9" + record.substring(1), "2|x|", "2|1|1|-1|1|1|2|0|0|1|-1|-1|99|m|", "")) {
            redis.cli("RPUSH", "llm:{a}:r", element);
            StoreUnavailableException e = assertThrows(StoreUnavailableException.class, () -> store.session("a"),
                    "a record " + element);
            assertTrue(e.getMessage().contains("llm:{a}:r"), e.getMessage());
            assertEquals(Optional.of("m"), store.requestModel("a", "c1"), "the readable record still names its model");
            assertEquals(1, store.summary("a").orElseThrow().totalRequests(), "the figures are still read");
            redis.cli("RPOP", "llm:{a}:r");
        }
        redis.cli("RPUSH", "llm:{a}:s", score.substring(0, score.indexOf('|')) + "|not a number|");
        StoreUnavailableException e = assertThrows(StoreUnavailableException.class, () -> store.session("a"));
        assertTrue(e.getMessage().contains("llm:{a}:s"), e.getMessage());
        redis.cli("RPOP", "llm:{a}:s");
        assertEquals(1, store.session("a").orElseThrow().requests().getFirst().scores().size(), "readable again");
    }

    @Test
    void aSessionKeyOfAnotherTypeMakesItsSummaryAndAPageOfSummariesUnavailable() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(oneCallOfA());
        redis.cli("SET", "llm:{odd}", "not a hash");
        assertThrows(StoreUnavailableException.class, () -> store.summary("odd"));
        assertThrows(StoreUnavailableException.class, () -> store.summaries(List.of("a", "odd")));
        assertEquals(1, store.summaries(List.of("a")).getFirst().totalRequests(), "and the pool still answers");
    }

    @Test
    void moreThanAThousandScoreNamesInOneBatchFoldPastTheirBound() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        List<Event> batch = scoresOfX(1100);
        assertEquals(1100, store.record(batch).size());
        assertCountsAddUp(store, "x");
        assertEquals(1084, scoreCount(store, "x", SessionStore.OTHER_SCORE_NAME));
        millis.addAndGet(1_000);
        store.record(batch);
        assertCountsAddUp(store, "x");
        assertEquals(2168, scoreCount(store, "x", SessionStore.OTHER_SCORE_NAME));
    }

    @Test
    void aFieldOfAnotherLayoutPastTheFirstThousandTheBatchNamesRefusesIt() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(List.of(LlmRequestScored.builder("x", "first", 1).build()));
        redis.cli("HSET", "llm:{x}", "s:n1050", "1,1,1,1,1");
        millis.addAndGet(1_000);
        List<Event> batch = new ArrayList<>();
        batch.add(LlmRequestCompleted.builder("a", "m").durationMs(1).eventId("e-a").build());
        batch.addAll(scoresOfX(1100));
        assertThrows(RecordingFailedException.class, () -> store.record(batch));
        assertNothingOfAApplied(store);
    }

    @Test
    void aBatchThatWouldFoldIntoAnOtherScoreOfAnotherLayoutAppliesNothing() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(scoresOfX(SessionStore.MAX_SCORE_NAMES));
        redis.cli("HSET", "llm:{x}", "s:_other", "1,1,1,1,1");
        millis.addAndGet(1_000);
        assertThrows(RecordingFailedException.class, () -> store.record(List.of(
                LlmRequestCompleted.builder("a", "m").durationMs(1).eventId("e-a").build(),
                LlmRequestScored.builder("x", "seventeenth", 1).build())));
        assertNothingOfAApplied(store);
    }

    @Test
    void theIdleSweepOfASessionOfAnotherLayoutGivesBackItsBytes() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        textLayoutSession("old", 300);
        millis.addAndGet(Duration.ofHours(2).toMillis());
        store.evictIdle();
        assertEquals("0", redis.cli("EXISTS", "llm:{old}"));
        assertEquals(0, store.retainedBytes());
    }

    /** Replicas of different bounds and catalogs, random batches: no pair or score name is ever overwritten. */
    @Test
    void noFoldIntoOtherEverOverwritesFiguresAcrossReplicasOfDifferentBounds() {
        AtomicLong millis = clockAtStart();
        Random random = new Random(32);
        // models per session and labels in the catalog: _other comes from either bound
        RedisSessionStore[] stores = {foldingAt(4, 200, millis), foldingAt(8, 200, millis), foldingAt(2, 3, millis),
                foldingAt(16, 1, millis), foldingAt(5, 6, millis)};
        for (int round = 0; round < 200; round++) {
            List<Event> batch = new ArrayList<>();
            int n = 1 + random.nextInt(30);
            for (int e = 0; e < n; e++) {
                String session = "s" + random.nextInt(3);
                int r = random.nextInt(10);
                if (r < 6) {
                    String model = r == 0 ? ModelCatalog.OTHER_LABEL : "m" + random.nextInt(25);
                    batch.add(LlmRequestCompleted.builder(session, model).durationMs(1).build());
                } else {
                    batch.add(LlmRequestScored.builder(session, "n" + random.nextInt(40), 1).build());
                }
            }
            millis.addAndGet(10);
            RedisSessionStore store = stores[random.nextInt(stores.length)];
            store.record(batch);
            for (int k = 0; k < 3; k++) {
                assertCountsAddUp(store, "s" + k);
            }
        }
    }

    /** Scores of session x, one each of the names n0, n1, and so on. */
    private static List<Event> scoresOfX(int names) {
        List<Event> scores = new ArrayList<>(names);
        for (int i = 0; i < names; i++) {
            scores.add(LlmRequestScored.builder("x", "n" + i, 1).build());
        }
        return scores;
    }

    /** A session as a version that kept its figures as text wrote it, its size counted in {@code llm:bytes}. */
    private static void textLayoutSession(String id, long bytes) {
        redis.cli("HSET", "llm:{" + id + "}", "life", "1", "last", "1", "req", "1", "n", "1", "b", Long.toString(bytes),
                "p:m", "1,0,0,1,1,0,0,0,0,0,0,0,0,0,0,0");
        redis.cli("ZADD", "llm:sessions", "1", id);
        redis.cli("INCRBY", "llm:bytes", Long.toString(bytes));
    }

    /**
     * Session x with a call of model m in this layout and a pair n in text, as an older replica still running
     * during an upgrade writes it; then a second later.
     */
    private static void sessionXWithATextPairN(RedisSessionStore store, AtomicLong millis) {
        store.record(List.of(LlmRequestCompleted.builder("x", "m").durationMs(1).build()));
        redis.cli("HSET", "llm:{x}", "p:n", "1,0,0,1,1,0,0,0,0,0,0,0,0,0,0,0");
        millis.addAndGet(1_000);
    }

    /** Neither the event of session a, id e-a, of a refused batch is applied, nor its id remembered. */
    private static void assertNothingOfAApplied(RedisSessionStore store) {
        assertEquals("0", redis.cli("EXISTS", "llm:{a}:id:e-a"), "the refused batch remembers no event id");
        assertTrue(store.session("a").isEmpty(), "and applies none of its events");
    }

    /**
     * The requests of the session's pairs add up to its header's count of finished requests, and the counts of
     * its score names to its count of scores: no figures were written over (the revision carries the counts).
     */
    private static void assertCountsAddUp(RedisSessionStore store, String sessionId) {
        store.revision(sessionId).ifPresent(revision -> {
            String[] counts = revision.split("-"); // life, requests, scores, records kept, scores of requests kept
            SessionMetrics session = store.session(sessionId).orElseThrow();
            assertEquals(Long.parseLong(counts[1]), session.totalRequests(), sessionId + "'s requests");
            assertEquals(Long.parseLong(counts[2]), session.scores().stream().mapToLong(ScoreSummary::count).sum(),
                    sessionId + "'s scores");
        });
    }

    private static long scoreCount(RedisSessionStore store, String sessionId, String name) {
        return store.session(sessionId).orElseThrow().scores().stream().filter(s -> s.name().equals(name))
                .mapToLong(ScoreSummary::count).sum();
    }

    private RedisSessionStore foldingAt(int maxModels, int catalogLabels, AtomicLong millis) {
        return store(100, 10, maxModels, Long.MAX_VALUE, catalogLabels, millis);
    }

    /** Places in a session's header (layout.lua), from 1: life, last activity, finished requests, records kept, ... */
    private static final int RECORDS_KEPT = 4;
    private static final int SCORES_KEPT = 5;

    @Test
    void clearingASessionOfAnotherLayoutGivesBackItsBytes() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        // A session as the text layout left it, its size counted in llm:bytes as that version counted it.
        textLayoutSession("old", 300);

        assertTrue(store.clear("old"));
        assertEquals(0, store.retainedBytes(), "the cleared session's size leaves the sum");
    }

    @Test
    void aSessionOfLayoutOneWithoutItsOwnRequestsInFlightIsRefusedAndGivesBackItsBytesWhenCleared() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        // As layout 1 wrote it: the same numbers after the layout number 1, its starts counted in llm:requests-in-flight alone.
        redis.cli("EVAL", "redis.call('HSET', KEYS[1], 'h', cmsgpack.pack(1, 5, 1, 0, 0, 0, 0, 300, 0, 0))", "1",
                "llm:{old}");
        redis.cli("ZADD", "llm:sessions", "1", "old");
        redis.cli("INCRBY", "llm:bytes", "300");
        assertThrows(RecordingFailedException.class, () -> store.record(LlmRequestStarted.builder("old", "m").build()));
        assertThrows(StoreUnavailableException.class, () -> store.session("old"));
        assertEquals("0", redis.cli("EXISTS", "llm:requests-in-flight"), "the refused start counted nowhere");
        assertTrue(store.clear("old"));
        assertEquals(0, store.retainedBytes(), "the cleared session's size leaves the sum");
    }

    @Test
    void theRequestsInFlightOfLayoutTwoDoNotExpireWithTheCountsLayoutOneLeft() throws Exception {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        // As layout 1 left llm:in-flight: counts of no session, expiring after the idle timeout without a start or
        // an end (here 400 ms of it left). The database was not emptied, as a layout-1 session may not be either.
        redis.cli("HSET", "llm:in-flight", "m", "2");
        redis.cli("PEXPIRE", "llm:in-flight", "400");
        store.record(List.of(LlmRequestStarted.builder("a", "m").build()));
        assertEquals(1, store.inFlight("m"), "layout 1's counts of no session are not layout 2's");
        Thread.sleep(1_200); // past the expiry, and the check every 500 ms read the sum again
        assertEquals(1, store.inFlight("m"), "a's start leaves with a, not with an expiry layout 1 set");
        assertEquals("-1", redis.cli("PTTL", "llm:requests-in-flight"));
        assertTrue(store.clear("a"));
        assertEquals(0, store.inFlight("m"));
    }

    @Test
    void evictingASessionOfAnotherLayoutGivesBackItsBytesToTheMemoryBound() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = store(100, 10, 16, 10_000, 200, millis);
        textLayoutSession("old", 9500);
        for (int i = 0; i < 5; i++) {
            millis.addAndGet(1_000);
            store.record(List.of(LlmRequestCompleted.builder("s" + i, "m").durationMs(1).build()));
        }
        assertEquals("0", redis.cli("EXISTS", "llm:{old}"), "the old session was evicted first");
        assertEquals(5, store.sessionIds(0, 100).size(), "five small sessions fit in 10 000 bytes: "
                + redis.cli("GET", "llm:bytes") + " bytes counted");
    }

    @Test
    void aBatchRefusedForAFieldOfAnotherLayoutAppliesNothingAndItsEventsApplyOnRetry() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        sessionXWithATextPairN(store, millis);
        Event ofA = LlmRequestCompleted.builder("a", "m").durationMs(1).eventId("e-a").build();
        Event ofX = LlmRequestCompleted.builder("x", "n").durationMs(1).eventId("e-x").build();
        for (List<Event> batch : List.of(List.of(ofA, ofX), List.of(ofX, ofA))) { // the refused session last, first
            assertThrows(RecordingFailedException.class, () -> store.record(batch));
            assertNothingOfAApplied(store);
        }
        assertEquals(List.of(ofA), store.record(List.of(ofA)), "a's event, never applied, is applied on its retry");
    }

    @Test
    void aBatchThatWouldFoldIntoAnOtherPairOfAnotherLayoutAppliesNothing() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        List<Event> sixteenModels = new ArrayList<>();
        for (int m = 0; m < 16; m++) {
            sixteenModels.add(LlmRequestCompleted.builder("x", "m" + m).durationMs(1).build());
        }
        store.record(sixteenModels);
        redis.cli("HSET", "llm:{x}", "p:_other", "1,0,0,1,1,0,0,0,0,0,0,0,0,0,0,0");
        millis.addAndGet(1_000);
        assertThrows(RecordingFailedException.class, () -> store.record(List.of(
                LlmRequestCompleted.builder("a", "m").durationMs(1).eventId("e-a").build(),
                LlmRequestCompleted.builder("x", "a seventeenth model").durationMs(1).build())));
        assertNothingOfAApplied(store);
    }

    /** The {@code number}th number of the session's header, as Redis's Lua prints it. */
    private static String header(String key, int number) {
        return redis.cli("EVAL", "return tostring((select(" + (number + 1) + ", cmsgpack.unpack("
                + "redis.call('HGET', KEYS[1], 'h')))))", "1", key);
    }

    /** A completed call of session {@code a}, as one batch. */
    @Test
    void figuresOfThisLayoutThatCannotHoldTogetherMakeTheSessionUnavailableNotAFailure() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).build(),
                LlmRequestScored.builder("a", "quality", 1).build()));
        // Numbers of the right layout and count that no batch writes: more requests without usage than
        // successes, and a score's minimum above its maximum.
        for (String write : List.of(
                "redis.call('HSET', KEYS[1], 'p:m', cmsgpack.pack(2, 1,0,0,1,1,0,0,0,0,0,0,0,0,0,0,-1))",
                "redis.call('HSET', KEYS[1], 's:quality', cmsgpack.pack(2, 0,1,1,1,-1))")) {
            redis.cli("EVAL", write, "1", "llm:{a}");
            assertThrows(StoreUnavailableException.class, () -> store.session("a"), write);
            assertThrows(StoreUnavailableException.class, () -> store.summary("a"), write);
            assertThrows(StoreUnavailableException.class, () -> store.summaries(List.of("a")), write);
            assertTrue(store.clear("a"), "a clear removes it");
            store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).build(),
                    LlmRequestScored.builder("a", "quality", 1).build()));
        }
    }

    @Test
    void aSessionWhoseRecordsListWasDeletedIsShrunkPastItsBoundWithoutFailingHalfway() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore roomy = store(100, 10, 16, Long.MAX_VALUE, 200, millis);
        String text = "x".repeat(500);
        for (int i = 0; i < 3; i++) {
            roomy.record(List.of(LlmRequestFailed.builder("a", "m").error(text).durationMs(1L).build()));
        }
        redis.cli("DEL", "llm:{a}:r", "llm:{a}:s"); // by someone else: the header still counts their records
        RedisSessionStore tight = store(100, 10, 16, 1_000, 200, millis);
        Event next = LlmRequestFailed.builder("a", "m").error(text).durationMs(1L).eventId("e-a").build();

        assertEquals(List.of(next), tight.record(List.of(next)));
        SessionMetrics session = tight.session("a").orElseThrow();
        assertEquals(4, session.totalRequests(), "the totals stay exact");
        assertTrue(session.requests().size() <= 1, "and what is left of the records is at most the newest");
    }

    @Test
    void aScoresListOfAnotherTypeThatABatchShrinksPastItsBoundIsPassedOverWithoutFailingHalfway() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore roomy = store(100, 10, 16, Long.MAX_VALUE, 200, millis);
        String text = "x".repeat(500);
        for (int i = 0; i < 3; i++) {
            roomy.record(List.of(LlmRequestFailed.builder("a", "m").error(text).durationMs(1L).correlationId("c" + i).build(),
                    LlmRequestScored.builder("a", "quality", 1).correlationId("c" + i).build()));
        }
        redis.cli("DEL", "llm:{a}:s");
        redis.cli("SET", "llm:{a}:s", "x"); // by someone else; the batch below adds no score of a request
        RedisSessionStore tight = store(100, 10, 16, 1_000, 200, millis);
        Event next = LlmRequestFailed.builder("a", "m").error(text).durationMs(1L).eventId("e-a").build();

        assertEquals(List.of(next), tight.record(List.of(next)));
        assertEquals(4, tight.summary("a").orElseThrow().totalRequests(), "the totals stay exact");
    }

    @Test
    void figuresOfThisLayoutWithTooFewNumbersRefuseTheBatchBeforeItsFirstWrite() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        List<Event> first = List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).build(),
                LlmRequestScored.builder("a", "quality", 1).build());
        List<Event> batch = List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).eventId("e-a").build(),
                LlmRequestScored.builder("a", "quality", 1).eventId("e-s").build());
        for (String field : List.of("p:m", "s:quality", "h")) {
            store.record(first);
            redis.cli("EVAL", "redis.call('HSET', KEYS[1], ARGV[1], cmsgpack.pack(2, 1, 2))", "1", "llm:{a}", field);
            assertThrows(RecordingFailedException.class, () -> store.record(batch), field);
            assertEquals("0", redis.cli("EXISTS", "llm:{a}:id:e-a", "llm:{a}:id:e-s"),
                    "the refused batch remembers no event id, with " + field);
            assertEquals("1", redis.cli("LLEN", "llm:{a}:r"), "and adds no record, with " + field);
            assertTrue(store.clear("a"));
        }
        assertEquals(batch, store.record(batch), "its events, never applied, apply on their retry");
    }

    @Test
    void figuresOfThisLayoutThatAreNoWholeNumbersRefuseTheBatchBeforeItsFirstWrite() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        List<Event> first = List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).build(),
                LlmRequestScored.builder("a", "quality", 1).build());
        // Session b comes first in the batch: its writes would come before the script met a's figures.
        List<Event> batch = List.of(LlmRequestStarted.builder("b", "n").eventId("e-b").build(),
                LlmRequestCompleted.builder("a", "m").durationMs(1).eventId("e-a").build(),
                LlmRequestScored.builder("a", "quality", 1).eventId("e-s").build());
        // The right count of numbers, the layout number first, but one of them a text, or a fraction where a count
        // goes to Redis (LPOP's): each failed the script after its first writes.
        Map<String, String> values = Map.of(
                "h: a text", "redis.call('HSET', KEYS[1], 'h', cmsgpack.pack(2, 5, 1, 'x', 1, 0, 1, 300, 1, 1))",
                "h: records kept 9.5", "redis.call('HSET', KEYS[1], 'h', cmsgpack.pack(2, 5, 1, 1, 9.5, 0, 1, 300, 1, 1))",
                "p:m: a text", "redis.call('HSET', KEYS[1], 'p:m', cmsgpack.pack(2, 'x',0,0,1,1,0,0,0,0,0,0,0,0,0,0,0))",
                "s:quality: a text", "redis.call('HSET', KEYS[1], 's:quality', cmsgpack.pack(2, 0, 'x', 1, 1, 1))");
        for (Map.Entry<String, String> value : values.entrySet()) {
            store.record(first);
            redis.cli("EVAL", value.getValue(), "1", "llm:{a}");
            assertThrows(RecordingFailedException.class, () -> store.record(batch), value.getKey());
            assertEquals("0", redis.cli("EXISTS", "llm:{a}:id:e-a", "llm:{a}:id:e-s", "llm:{b}:id:e-b", "llm:{b}"),
                    "the refused batch remembers no event id and writes no session, with " + value.getKey());
            assertEquals("1", redis.cli("LLEN", "llm:{a}:r"), "and adds no record, with " + value.getKey());
            assertEquals(0, store.inFlight("n"), "nor a request in flight, with " + value.getKey());
            assertTrue(store.clear("a"));
        }
        assertEquals(batch, store.record(batch), "its events, never applied, apply on their retry");
        assertEquals(1, store.inFlight("n"), "b's start among them");
        // A pair's sum past 2^53 is a whole number all the same (four million calls of 2^31 prompt tokens make one).
        redis.cli("EVAL", "redis.call('HSET', KEYS[1], 'p:m', cmsgpack.pack(2, 1,0,0,1,1,2^60,2^31,0,0,2^60,0,0,0,0,0,0))",
                "1", "llm:{a}");
        Event more = LlmRequestCompleted.builder("a", "m").durationMs(1).eventId("e-more").build();
        assertEquals(List.of(more), store.record(List.of(more)));
    }

    @Test
    void anIdleTimeoutAndADedupeWindowOfLongMaxValueMillisecondsApplyABatchWholeAndAcknowledgeIt() {
        AtomicLong millis = clockAtStart();
        Duration longest = Duration.ofMillis(Long.MAX_VALUE);
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(30)).create(
                new SessionStoreFactory.Parameters(10, 10, 16, Long.MAX_VALUE, longest, longest, 100_000,
                        () -> Instant.ofEpochMilli(millis.get()), new ModelCatalog(PriceTable.EMPTY, 200)));
        opened.add(store);
        List<Event> batch = List.of(LlmRequestStarted.builder("a", "m").eventId("e-1").build(),
                LlmRequestStarted.builder("a", "m").eventId("e-2").build(),
                LlmRequestCompleted.builder("a", "m").durationMs(1).eventId("e-3").build());
        // Each of 10^17 ms and Long.MAX_VALUE ms made Redis refuse SET … PX or PEXPIRE, the latter after every write.
        assertEquals(batch, store.record(batch), "acknowledged, not refused after its writes");
        assertEquals(1, store.inFlight("m"));
        assertEquals("-1", redis.cli("PTTL", "llm:requests-in-flight"),
                "the requests in flight never expire: they leave with their sessions");
        assertTrue(Long.parseLong(redis.cli("PTTL", "llm:{a}:id:e-1")) > Duration.ofDays(365L * 1000).toMillis(),
                "an event id too");
        assertEquals(List.of(), store.record(batch), "and its retry is recognised as applied");
    }

    @Test
    void theListsOfASessionWhoseHashRedisEvictedAreRemovedWhenTheSessionStartsAgain() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).correlationId("c1").build(),
                LlmRequestCompleted.builder("a", "m").durationMs(2).correlationId("c2").build(),
                LlmRequestScored.builder("a", "quality", 1).correlationId("c1").build()));
        // An evicting maxmemory-policy takes keys one by one: here the session's hash, its lists left behind.
        redis.cli("DEL", "llm:{a}");
        store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(3).correlationId("c3").build()));
        assertEquals("1", redis.cli("LLEN", "llm:{a}:r"), "the new life's record alone");
        assertEquals("0", redis.cli("EXISTS", "llm:{a}:s"), "no score of the evicted life");
        SessionMetrics a = store.session("a").orElseThrow();
        assertEquals(1, a.totalRequests());
        assertEquals(1, a.requests().size());
        assertEquals(List.of(), a.requests().getFirst().scores());
    }

    @Test
    void aRequestStartedThroughOneProcessAndEndedThroughAnotherIsInFlightInNeither() throws InterruptedException {
        AtomicLong millis = clockAtStart();
        RedisSessionStore first = boundedTo(10, millis);
        RedisSessionStore second = boundedTo(10, millis);
        for (int i = 0; i < 10; i++) {
            first.record(List.of(LlmRequestStarted.builder("s" + i, "m").build()));
        }
        assertEquals(10, first.inFlight("m"), "at once through the process that recorded them");
        awaitInFlight(second, "m", 10);
        for (int i = 0; i < 9; i++) {
            second.record(List.of(LlmRequestCompleted.builder("s" + i, "m").durationMs(1).build()));
        }
        assertEquals(1, second.inFlight("m"), "s9's end never comes");
        awaitInFlight(first, "m", 1);
        millis.addAndGet(Duration.ofHours(1).plusSeconds(1).toMillis());
        assertEquals(10, second.evictIdle());
        assertEquals(0, second.inFlight("m"), "s9's start left with its session, idle");
        awaitInFlight(first, "m", 0);
        assertEquals("0", redis.cli("EXISTS", "llm:requests-in-flight"), "no count of 0 is kept");
    }

    @Test
    void aSessionsRequestsInFlightLeaveWithItForEveryReplicaWhicheverReplicaRemovesIt() throws InterruptedException {
        AtomicLong millis = clockAtStart();
        RedisSessionStore one = boundedTo(10, millis);
        RedisSessionStore two = boundedTo(10, millis);
        one.record(List.of(LlmRequestStarted.builder("a", "m").build(), LlmRequestStarted.builder("a", "m").build()));
        two.record(List.of(LlmRequestStarted.builder("a", "m").build())); // the same session through the other
        assertEquals(3, two.inFlight("m"));
        awaitInFlight(one, "m", 3);
        assertTrue(two.clear("a"));
        assertEquals(0, two.inFlight("m"), "a's starts left with it, cleared through the other replica");
        awaitInFlight(one, "m", 0);

        one.record(List.of(LlmRequestStarted.builder("b", "m").build()));
        assertEquals(1, one.inFlight("m"));
        awaitInFlight(two, "m", 1);
        millis.addAndGet(Duration.ofHours(1).plusSeconds(1).toMillis());
        assertEquals(1, two.evictIdle());
        assertEquals(0, two.inFlight("m"), "b's start left with it, evicted idle through the other replica");
        awaitInFlight(one, "m", 0);

        one.record(List.of(LlmRequestStarted.builder("c", "m").build()));
        awaitInFlight(two, "m", 1);
        millis.addAndGet(1_000);
        List<Event> tenMore = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            tenMore.add(LlmRequestStarted.builder("d" + i, "n").build());
        }
        two.record(tenMore);
        assertTrue(two.session("c").isEmpty(), "c, the least recently active, was evicted for the tenth");
        assertEquals(0, two.inFlight("m"), "c's start left with it, evicted by the other replica's batch");
        awaitInFlight(one, "m", 0);
        assertEquals(10, two.inFlight("n"), "the sessions kept keep theirs");
        assertEquals("0", redis.cli("HEXISTS", "llm:requests-in-flight", "m"), "no count of 0 is kept");
    }

    @Test
    void sessionsEvictedPastTheMemoryBoundTakeTheirRequestsInFlightAlong() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = store(100, 10, 16, 3_000, 200, millis);
        for (int i = 0; i < 20; i++) {
            millis.addAndGet(1_000);
            store.record(List.of(LlmRequestStarted.builder("s" + i, "m").build()));
        }
        assertTrue(store.evictions(EvictionReason.MEMORY) > 0, "the bound evicted some");
        int held = store.sessionIds(0, 100).size();
        assertEquals(held, store.inFlight("m"), "one start in each session held, none of those evicted");
        assertEquals(Integer.toString(held), redis.cli("HGET", "llm:requests-in-flight", "m"));
    }

    @Test
    void aSessionsRequestsInFlightCountTowardItsBytesAndGoWithIt() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).build()));
        long before = Long.parseLong(redis.cli("GET", "llm:bytes"));
        store.record(List.of(LlmRequestStarted.builder("a", "m").eventId("e-1").build()));
        // field f:m (3 bytes), its value the layout number, the bucket of the start (a 32-bit number: 5 bytes) and
        // the counts of the four buckets (4 bytes), and what each field takes beside them
        assertEquals(before + 3 + 10 + 16, Long.parseLong(redis.cli("GET", "llm:bytes")));
        store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).eventId("e-2").build()));
        assertEquals("0", redis.cli("HEXISTS", "llm:{a}", "f:m"),
                "a label no longer in flight in the session is removed");
        store.record(List.of(LlmRequestStarted.builder("a", "m").eventId("e-3").build(),
                LlmRequestStarted.builder("b", "n").eventId("e-4").build()));
        assertTrue(store.clear("a"));
        assertTrue(store.clear("b"));
        assertEquals("0", redis.cli("GET", "llm:bytes"), "every session's bytes given back");
        assertEquals(0, store.inFlight("m"));
        assertEquals(0, store.inFlight("n"));
    }

    @Test
    void theIdleSweepDropsTheStartsTheIdleTimeoutOldOfAnActiveSessionAndGivesTheirBytesBack() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(List.of(LlmRequestStarted.builder("a", "m").build(), LlmRequestStarted.builder("a", "o").build()));
        millis.addAndGet(Duration.ofMinutes(50).toMillis());
        // a stays active without a start or end of m: only the sweep sees its start
        store.record(List.of(LlmRequestCompleted.builder("a", "n").durationMs(1).build(),
                LlmRequestStarted.builder("a", "o").build()));
        assertEquals("1", redis.cli("ZCARD", "llm:requests-in-flight-sessions"), "a holds requests in flight");
        long held = Long.parseLong(redis.cli("GET", "llm:bytes"));
        millis.addAndGet(Duration.ofMinutes(11).toMillis());
        assertEquals(0, store.evictIdle(), "a is active");
        assertEquals(Map.of("o", 1L), store.inFlightByLabel(), "a's starts of the first hour left, its later one stays");
        assertEquals("0", redis.cli("HEXISTS", "llm:{a}", "f:m"), "a label no longer in flight is removed");
        // field f:m (3 bytes), its value (10 bytes), and what each field takes beside them; o's value as long as before
        assertEquals(held - 3 - 10 - 16, Long.parseLong(redis.cli("GET", "llm:bytes")), "the bytes of m's count given back");
        assertEquals("1", redis.cli("ZCARD", "llm:requests-in-flight-sessions"), "o's later start is still in flight");

        millis.addAndGet(Duration.ofMinutes(45).toMillis());
        store.record(List.of(LlmRequestCompleted.builder("a", "n").durationMs(1).build()));
        held = Long.parseLong(redis.cli("GET", "llm:bytes"));
        assertEquals(0, store.evictIdle());
        assertEquals(Map.of(), store.inFlightByLabel());
        assertEquals(held - 3 - 10 - 16, Long.parseLong(redis.cli("GET", "llm:bytes")));
        assertEquals("0", redis.cli("EXISTS", "llm:requests-in-flight-sessions", "llm:requests-in-flight"));
        assertTrue(store.clear("a"));
        assertEquals("0", redis.cli("GET", "llm:bytes"), "every session's bytes given back");
    }

    @Test
    void aBatchNamesItsSessionsWithRequestsInFlightInOneCommandEachByItsOldestStart() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        long first = millis.get() / Duration.ofMinutes(15).toMillis(); // a bucket: a quarter of the hour's idle timeout
        store.record(List.of(LlmRequestStarted.builder("a", "m").build()));
        millis.addAndGet(Duration.ofMinutes(20).toMillis());
        redis.cli("CONFIG", "RESETSTAT");
        store.record(List.of(LlmRequestStarted.builder("a", "m").build(), LlmRequestStarted.builder("b", "m").build(),
                LlmRequestStarted.builder("c", "n").build()));
        assertEquals("calls=2", redis.cli("INFO", "commandstats").lines().filter(l -> l.startsWith("cmdstat_zadd:"))
                .map(l -> l.substring(l.indexOf(':') + 1, l.indexOf(','))).findFirst().orElse("none"),
                "one ZADD names the three sessions, one more puts them in the index");
        String named = "llm:requests-in-flight-sessions";
        assertEquals(Long.toString(first), redis.cli("ZSCORE", named, "llm:{a}"), "a by its first start, the older");
        assertEquals(Long.toString(first + 1), redis.cli("ZSCORE", named, "llm:{b}"));
        assertEquals(Long.toString(first + 1), redis.cli("ZSCORE", named, "llm:{c}"));

        millis.addAndGet(Duration.ofMinutes(45).toMillis()); // a's first start the idle timeout old, the others not
        assertEquals(0, store.evictIdle());
        assertEquals(Map.of("m", 2L, "n", 1L), store.inFlightByLabel(), "a's first start left, every later one stays");
        assertEquals(Long.toString(first + 1), redis.cli("ZSCORE", named, "llm:{a}"), "a by its start left");
    }

    @Test
    void aStartNamesItsSessionAgainWhenTheSetOfSessionsWithRequestsInFlightIsGone() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        long first = millis.get() / Duration.ofMinutes(15).toMillis();
        store.record(List.of(LlmRequestStarted.builder("a", "m").eventId("s-1").build()));
        store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(5).eventId("c-1").build()));
        redis.cli("DEL", "llm:requests-in-flight-sessions"); // by someone else
        millis.addAndGet(Duration.ofMinutes(20).toMillis());
        store.record(List.of(LlmRequestStarted.builder("a", "m").eventId("s-2").build()));
        assertEquals(Long.toString(first + 1), redis.cli("ZSCORE", "llm:requests-in-flight-sessions", "llm:{a}"));
    }

    @Test
    void aSessionLeftOutOfTheSetOfSessionsWithRequestsInFlightIsNamedAgainSoThatTheSweepShedsItsStartWhoseEndNeverCame() {
        for (String removal : List.of("the set deleted, then made again by another session", "the session taken out")) {
            redis.cli("FLUSHALL");
            AtomicLong millis = clockAtStart();
            RedisSessionStore store = boundedTo(10, millis);
            store.record(List.of(LlmRequestStarted.builder("a", "m").build(), // its end never comes
                    LlmRequestStarted.builder("a", "n").build()));
            store.record(List.of(LlmRequestCompleted.builder("a", "n").durationMs(5).build()));
            // by someone else, while the set names another session
            if (removal.startsWith("the set")) {
                redis.cli("DEL", "llm:requests-in-flight-sessions");
                store.record(List.of(LlmRequestStarted.builder("b", "x").build()));
            } else {
                store.record(List.of(LlmRequestStarted.builder("b", "x").build()));
                redis.cli("ZREM", "llm:requests-in-flight-sessions", "llm:{a}");
            }
            for (int call = 0; call < 4; call++) { // a stays active, with calls of n only
                millis.addAndGet(Duration.ofMinutes(20).toMillis());
                store.record(List.of(LlmRequestStarted.builder("a", "n").build()));
                store.record(List.of(LlmRequestCompleted.builder("a", "n").durationMs(5).build()));
            }
            store.evictIdle();
            assertEquals(0, store.inFlight("m"), removal + ": a's start of m, 80 minutes old, left at the sweep");
        }
    }

    @Test
    void aStartNamesASessionWhoseCountInFlightAVersionWithoutBucketsWrote() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        long first = millis.get() / Duration.ofMinutes(15).toMillis();
        store.record(List.of(LlmRequestCompleted.builder("a", "n").durationMs(1).build(),
                LlmRequestStarted.builder("b", "m").build()));
        // a count alone, as versions before the buckets wrote it: they named no session
        redis.cli("EVAL", "redis.call('HSET', KEYS[1], 'f:m', cmsgpack.pack(2, 1))", "1", "llm:{a}");
        store.record(List.of(LlmRequestStarted.builder("a", "m").build()));
        assertEquals(Long.toString(first), redis.cli("ZSCORE", "llm:requests-in-flight-sessions", "llm:{a}"));
    }

    @Test
    void requestsInFlightOfASessionThatNoBatchWritesRefuseTheBatchBeforeItsFirstWriteAndCountAsNoneWhenItGoes() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(List.of(LlmRequestStarted.builder("a", "m").build()));
        // Session b comes first in the batch: its writes would come before the script met a's count.
        List<Event> batch = List.of(LlmRequestStarted.builder("b", "n").eventId("e-b").build(),
                LlmRequestCompleted.builder("a", "m").durationMs(1).eventId("e-a").build());
        for (String value : List.of("cmsgpack.pack(2, 'x')", "cmsgpack.pack(2, '5')", "cmsgpack.pack(2, -1)",
                "cmsgpack.pack(2, 1.5)", "cmsgpack.pack(2, 2^53)", "cmsgpack.pack(2, 1, 2)", "cmsgpack.pack(2)", "'2'",
                "cmsgpack.pack(1, 1)", "cmsgpack.pack(3, 1)")) {
            redis.cli("EVAL", "redis.call('HSET', KEYS[1], 'f:m', " + value + ")", "1", "llm:{a}");
            assertThrows(RecordingFailedException.class, () -> store.record(batch), value);
            assertEquals("0", redis.cli("EXISTS", "llm:{a}:id:e-a", "llm:{b}:id:e-b", "llm:{b}"),
                    "the refused batch remembers no event id and writes no session, with " + value);
            assertEquals("1", redis.cli("HGET", "llm:requests-in-flight", "m"), "nor changes a count in flight, with " + value);
        }
        assertTrue(store.clear("a"), "a clear removes the session");
        assertEquals(1, store.inFlight("m"), "its count no batch wrote taking nothing off");
        redis.cli("DEL", "llm:requests-in-flight");
        store.record(List.of(LlmRequestStarted.builder("a", "m").build()));
        assertEquals(batch, store.record(batch), "its events, never applied, apply on their retry");
        assertEquals(0, store.inFlight("m"));
        assertEquals(1, store.inFlight("n"));
    }

    @Test
    void aCountInFlightAtTheLargestTheScriptsAcceptGoesNoHigherSoThatTheyAcceptItAgain() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(List.of(LlmRequestStarted.builder("a", "m").build()));
        // Set by someone else: the largest count a batch reads (2^53 - 1), the sum as large.
        redis.cli("EVAL", "redis.call('HSET', KEYS[1], 'f:m', cmsgpack.pack(2, 2^53 - 1))", "1", "llm:{a}");
        redis.cli("HSET", "llm:requests-in-flight", "m", "9007199254740991");
        store.record(List.of(LlmRequestStarted.builder("a", "m").build()));
        assertEquals(1, store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).build())).size(),
                "the batch after it is not refused for a count the batch before wrote");
        assertEquals("9007199254740990", redis.cli("HGET", "llm:requests-in-flight", "m"));
    }

    @Test
    void manyStartsAndEndsOfLongModelNamesInOneBatchCountEachOnce() {
        // Room for the batch's 107 sessions: an evicted session's requests in flight would leave with it.
        RedisSessionStore store = store(200, 10, 16, Long.MAX_VALUE, 200, clockAtStart());
        String wide = "\u00e9".repeat(Event.MAX_ID_LENGTH); // 512 bytes of UTF-8
        String longer = "m".repeat(40);
        List<Event> batch = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            batch.add(LlmRequestStarted.builder("s" + i % 7, i % 2 == 0 ? wide : longer).eventId("start-" + i).build());
        }
        for (int i = 0; i < 100; i++) { // whole calls: each start carried by its end, and left out with it
            batch.add(LlmRequestStarted.builder("whole-" + i, wide).build());
            batch.add(LlmRequestCompleted.builder("whole-" + i, wide).durationMs(1).build());
        }
        for (int i = 0; i < 50; i++) {
            batch.add(LlmRequestCompleted.builder("s" + i % 7, longer).durationMs(1).eventId("end-" + i).build());
        }
        store.record(batch);
        assertEquals(150, store.inFlight(wide));
        assertEquals(100, store.inFlight(longer));
        assertEquals("150", redis.cli("HGET", "llm:requests-in-flight", wide));
    }

    @Test
    void aCountInFlightThatIsNoIntegerCountsAsNoneAndIsWrittenAnew() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        redis.cli("HSET", "llm:requests-in-flight", "m", "lots", "n", "-3", "o", "1e300");
        // a's start and end of n: the count held is taken as 0, one added and taken off again
        store.record(List.of(LlmRequestStarted.builder("a", "m").build(),
                LlmRequestStarted.builder("a", "n").eventId("e-n").build(),
                LlmRequestCompleted.builder("a", "n").eventId("e-n-end").build(),
                LlmRequestStarted.builder("a", "o").build()));
        assertEquals(1, store.inFlight("m"));
        assertEquals(0, store.inFlight("n"));
        assertEquals(1, store.inFlight("o"));
        assertEquals("1", redis.cli("HGET", "llm:requests-in-flight", "m"));
        assertEquals("0", redis.cli("HEXISTS", "llm:requests-in-flight", "n"));
        // Texts Lua's tonumber reads as numbers, which the processes read as none: none for the script too.
        List<String> labels = List.of("p", "q", "r", "s");
        redis.cli("HSET", "llm:requests-in-flight", "p", "1e3", "q", " 7", "r", "0x10", "s", "5.0");
        store.record(labels.stream().map(label -> (Event) LlmRequestStarted.builder("a", label).build()).toList());
        for (String label : labels) {
            assertEquals(1, store.inFlight(label), label);
            assertEquals("1", redis.cli("HGET", "llm:requests-in-flight", label), label);
        }
    }

    /** Waits, a few seconds at most, for {@code store}'s check of Redis to read {@code expected} requests of {@code label}. */
    private static void awaitInFlight(RedisSessionStore store, String label, long expected) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (store.inFlight(label) != expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(expected, store.inFlight(label), "read within the check period");
    }

    @Test
    void aKeyOfTheStoreHoldingWhatTheStoreNeverWritesRefusesTheBatchBeforeItsFirstWrite() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(List.of(LlmRequestCompleted.builder("b", "m").durationMs(1).build()));
        List<Event> batch = List.of(
                LlmRequestCompleted.builder("a", "m").durationMs(1).correlationId("c1").eventId("e-a").build(),
                LlmRequestScored.builder("a", "quality", 1).correlationId("c1").eventId("e-s").build());
        String bytes = redis.cli("GET", "llm:bytes");
        String lives = redis.cli("GET", "llm:lives");
        // What someone else may leave at a key of the store: Redis keeps a script's writes up to a failing one.
        List<List<String>> foreign = List.of(List.of("SET", "llm:bytes", "abc"), List.of("LPUSH", "llm:bytes", "x"),
                List.of("SET", "llm:lives", "1.5"), List.of("HSET", "llm:lives", "f", "v"),
                List.of("SET", "llm:sessions", "x"), List.of("SET", "llm:{a}:r", "x"),
                List.of("HSET", "llm:{a}:s", "f", "v"), List.of("SET", "llm:requests-in-flight", "x"));
        for (List<String> write : foreign) {
            String key = write.get(1);
            redis.cli("DEL", key);
            redis.cli(write.toArray(String[]::new));
            assertThrows(RecordingFailedException.class, () -> store.record(batch), "with " + write);
            assertEquals("0", redis.cli("EXISTS", "llm:{a}", "llm:{a}:id:e-a", "llm:{a}:id:e-s"),
                    "the refused batch wrote neither session a nor its event ids, with " + write);
            if (!key.equals("llm:sessions")) {
                assertEquals("b", redis.cli("ZRANGE", "llm:sessions", "0", "-1"), "with " + write);
            }
            redis.cli("DEL", key);
            if (key.equals("llm:bytes")) {
                redis.cli("SET", key, bytes);
            } else if (key.equals("llm:lives")) {
                redis.cli("SET", key, lives);
            } else if (key.equals("llm:sessions")) {
                redis.cli("ZADD", key, Long.toString(millis.get()), "b");
            }
        }
        assertEquals(batch, store.record(batch), "the batch, never applied, is applied once the keys are the store's");
        assertEquals(1, store.session("a").orElseThrow().requests().getFirst().scores().size());
    }

    @Test
    void aCountedListReplacedByAnotherTypeRefusesTheBatchBeforeItsFirstWriteAndItsRetryApplies() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = boundedTo(10, millis);
        store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).correlationId("c1").build(),
                LlmRequestScored.builder("a", "quality", 1).correlationId("c1").build()));
        // b's writes and the event ids come before a's lists are written: a refusal there would keep them
        List<Event> batch = List.of(LlmRequestCompleted.builder("b", "m").durationMs(1).eventId("e-b").build(),
                LlmRequestCompleted.builder("a", "m").durationMs(1).correlationId("c2").eventId("e-a").build(),
                LlmRequestScored.builder("a", "quality", 1).correlationId("c2").eventId("e-s").build());
        String header = redis.cli("HGET", "llm:{a}", "h");
        for (List<String> write : List.of(List.of("SET", "llm:{a}:r", "x"), List.of("HSET", "llm:{a}:s", "f", "v"),
                List.of("SADD", "llm:{a}:r", "x"))) {
            String key = write.get(1);
            redis.cli("RENAME", key, "kept");
            redis.cli(write.toArray(String[]::new));
            RecordingFailedException refused = assertThrows(RecordingFailedException.class, () -> store.record(batch),
                    "with " + write);
            assertTrue(refused.getMessage().contains("FOREIGN " + key), "naming the key: " + refused.getMessage());
            assertEquals("0", redis.cli("EXISTS", "llm:{b}", "llm:{b}:id:e-b", "llm:{a}:id:e-a", "llm:{a}:id:e-s"),
                    "the refused batch wrote neither session b nor an event id, with " + write);
            assertEquals("1", redis.cli("ZCARD", "llm:sessions"), "nor the index, with " + write);
            assertEquals(header, redis.cli("HGET", "llm:{a}", "h"), "nor session a, with " + write);
            redis.cli("DEL", key);
            redis.cli("RENAME", "kept", key);
        }
        assertEquals(batch, store.record(batch), "the batch, never applied, is applied once the list is the store's");
        assertEquals(2, store.session("a").orElseThrow().requests().size());
        assertEquals(1, store.session("b").orElseThrow().totalRequests());
    }

    @Test
    void aClearOrAnEvictionMeetingAForeignKeyEitherRemovesItOrChangesNothing() {
        AtomicLong millis = clockAtStart();
        RedisSessionStore store = store(2, 10, 16, Long.MAX_VALUE, 200, millis);
        store.record(oneCallOfA());
        String bytes = redis.cli("GET", "llm:bytes");
        redis.cli("SET", "llm:bytes", "abc");
        assertThrows(RecordingFailedException.class, () -> store.clear("a"));
        assertEquals("1", redis.cli("ZCARD", "llm:sessions"), "the refused clear left the index");
        assertEquals(1, store.session("a").orElseThrow().totalRequests(), "and the session");
        redis.cli("SET", "llm:bytes", bytes);

        // A session in the index whose hash is of another type: evicted past the bound, with its key, as nothing.
        redis.cli("SET", "llm:{odd}", "x");
        redis.cli("ZADD", "llm:sessions", "1", "odd");
        millis.addAndGet(1_000);
        store.record(List.of(LlmRequestCompleted.builder("c", "m").durationMs(1).build()));
        assertEquals("0", redis.cli("EXISTS", "llm:{odd}"));
        assertEquals(2, store.sessionIds(0, 10).size());
        assertEquals(2 * Long.parseLong(bytes), store.retainedBytes(), "a and c, alike, and the foreign key as nothing");
        redis.cli("SET", "llm:{odd2}", "x");
        redis.cli("ZADD", "llm:sessions", "2", "odd2");
        assertTrue(store.clear("odd2"), "a clear removes what sits at a session's key");
        assertEquals("0", redis.cli("EXISTS", "llm:{odd2}"));
    }

    private static List<Event> oneCallOfA() {
        return List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).build());
    }

    /** The milliseconds a test's stores read as their clock, from a fixed instant on. */
    private static AtomicLong clockAtStart() {
        return new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
    }

    private RedisSessionStore boundedTo(int maxRecords, AtomicLong millis) {
        return store(10, maxRecords, 16, Long.MAX_VALUE, 200, millis);
    }

    /** A store on the test's Redis with these bounds, an hour's idle timeout and a catalog of no prices. */
    private RedisSessionStore store(int maxSessions, int maxRecords, int maxModels, long maxBytes, int catalogLabels,
                                    AtomicLong millis) {
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(30)).create(
                new SessionStoreFactory.Parameters(maxSessions, maxRecords, maxModels, maxBytes, Duration.ofHours(1),
                        Duration.ofMinutes(10), 100_000, () -> Instant.ofEpochMilli(millis.get()),
                        new ModelCatalog(PriceTable.EMPTY, catalogLabels)));
        opened.add(store);
        return store;
    }
}
