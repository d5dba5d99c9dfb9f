package dev.llmmetrics.session.redis;

import dev.llmmetrics.cost.ModelCatalog.Model;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.session.EvictionCounts;
import dev.llmmetrics.session.EvictionReason;
import dev.llmmetrics.session.InFlightRequests;
import dev.llmmetrics.session.LocalSessionFigures;
import dev.llmmetrics.session.PairFigures;
import dev.llmmetrics.session.PairTotals;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.RequestScore;
import dev.llmmetrics.session.ScoreTotals;
import dev.llmmetrics.session.SessionFigures;
import dev.llmmetrics.session.SessionMetrics;
import dev.llmmetrics.session.SessionScores;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.SessionStoreFactory;
import dev.llmmetrics.session.SessionsOnScrape;
import dev.llmmetrics.session.StoreUnavailableException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.net.URISyntaxException;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import javax.net.ssl.SSLException;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.jspecify.annotations.Nullable;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.Response;
import redis.clients.jedis.SslOptions;
import redis.clients.jedis.SslVerifyMode;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.exceptions.JedisNoScriptException;
import redis.clients.jedis.params.ZRangeParams;

/**
 * A {@link SessionStore} in Redis, shared by every process pointed at the same Redis: each serves every session
 * in full, and the bounds hold across them.
 *
 * <p>Keys, all under {@value #PREFIX}; a session's keys share the hash tag {@code {id}}, where the id has a
 * backslash before each backslash and closing brace in it ({@link #key}):
 * <ul>
 *   <li>{@code llm:{id}}: a hash of the session's header {@code h} (life number, last activity in ms,
 *       finished requests, records kept, scores of requests kept, scores received, size as the bound counts
 *       it, model labels, score names), one field {@code p:<label>} per model label with the pair's figures,
 *       one field {@code s:<name>} per score name with its ordinal, count, sum, minimum and maximum, and one
 *       field {@code f:<label>} per model label with requests in flight in the session, their count per bucket of
 *       start times (the newest bucket, then the counts of it and the three before it, as
 *       {@link InFlightRequests} buckets them); each
 *       value is MessagePack numbers after the layout number 2, which the scripts read in one
 *       call and which keep the hash in Redis's compact encoding;</li>
 *   <li>{@code llm:{id}:r}: a list of the most recent request records (with their correlation ids and
 *       attributes), oldest first;</li>
 *   <li>{@code llm:{id}:s}: a list of the most recent scores of requests, oldest first, as many as records;</li>
 *   <li>{@code llm:{id}:id:<event id>}: one key per applied event id, expiring after the dedupe window;</li>
 *   <li>{@code llm:sessions}: a sorted set of the session ids by last activity, the listing's and the
 *       evictions' order; {@code llm:bytes}: the sessions' summed size; {@code llm:lives}: numbers lives;</li>
 *   <li>{@code llm:requests-in-flight}: a hash of the requests in flight per model label, the sum of the sessions'
 *       {@code f:<label>}: a session's leave with it, whichever script removes it (a clear, an eviction, the
 *       idle sweep), and a bucket's once it is the idle timeout old;</li>
 *   <li>{@code llm:requests-in-flight-sessions}: a sorted set of the keys of the sessions with requests in flight,
 *       each by a bucket no later than its oldest start's, where the idle sweep finds the starts the idle timeout
 *       old of the sessions that stay active.</li>
 * </ul>
 *
 * <p>A batch is one Lua script, so one round trip and all or nothing: the script checks every event id, reads
 * the sessions, then writes, then evicts past the bounds ({@code maxSessions}, {@code maxBytes}, a hundredth of
 * the sessions bound at a time, least recently active first); a session keeps its newest
 * {@code maxRecordsPerSession} records, as many scores of requests, and exact aggregates, those of
 * {@value SessionStore#MAX_SCORE_NAMES} score names (then {@code _other}) included. {@link #evictIdle()}
 * removes the sessions idle for longer than the idle timeout, whichever process runs it, and the starts the idle
 * timeout old of the sessions it keeps. Event ids are remembered per session for the dedupe
 * window. The per-session series of this process come from a {@link LocalSessionFigures} of what it recorded,
 * so they never wait on Redis; the evictions it counts are those its own scripts made.
 *
 * <p>When Redis cannot be reached, or does not answer within the timeout, {@link #record} throws
 * {@link RecordingFailedException} and the reads {@link StoreUnavailableException}; the store reconnects by
 * itself, and {@link #notReadyBecause()} says why batches fail: Redis unreachable, refusing the store (a
 * password, a permission, a read-only replica, paused writes, its maxclients, a failed TLS handshake), or the
 * index, a counter or the requests in flight holding what the store cannot write. A batch whose answer timed
 * out was not acknowledged, yet a slow Redis may still apply it: a producer that retries with event ids is safe.
 */
public final class RedisSessionStore implements SessionStore, SessionFigures {

    /** How long a command may take unless set: 2 seconds. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

    /** The longest timeout taken: longer ones would overflow the nanoseconds the header reads count in. */
    public static final Duration MAX_TIMEOUT = Duration.ofDays(1);
    /** The prefix of every key the store writes. */
    public static final String PREFIX = "llm:";

    private static final Logger LOG = System.getLogger(RedisSessionStore.class.getName());
    private static final String INDEX = PREFIX + "sessions";
    private static final String BYTES = PREFIX + "bytes";
    private static final String LIVES = PREFIX + "lives";
    private static final String IN_FLIGHT = PREFIX + "requests-in-flight";
    private static final String IN_FLIGHT_SESSIONS = PREFIX + "requests-in-flight-sessions";
    static final byte[][] WRITE_KEYS = {bytes(INDEX), bytes(BYTES), bytes(LIVES), bytes(IN_FLIGHT),
            bytes(IN_FLIGHT_SESSIONS)};
    private static final byte[][] NO_KEYS = {};
    /** The hash field of a session's header, as layout.lua describes it. */
    private static final byte[] HEADER_FIELD = bytes("h");
    /** The first number of each stored header and figures: layout.lua's {@code LAYOUT}. */
    private static final int LAYOUT = 2;
    /**
     * The header's numbers: life, last activity, finished requests, records kept, scores of requests kept,
     * scores received, size, model labels, score names; the places of those the store reads.
     */
    private static final int HEADER_NUMBERS = 9;
    private static final int LIFE = 0;
    private static final int LAST_ACTIVE = 1;
    private static final int REQUESTS = 2;
    private static final int RECORDS_KEPT = 3;
    private static final int REQUEST_SCORES_KEPT = 4;
    private static final int SCORES = 5;
    private static final int PAIR_NUMBERS = 16;
    private static final int SCORE_NUMBERS = 5;
    /**
     * Most revisions of one session a conditional clear reads and tests, each read again once a batch changed the one
     * tested before the script removed it; past them, with batches changing the session all along, nothing is removed.
     */
    private static final int CONDITIONAL_CLEAR_ATTEMPTS = 16;
    /** Most idle sessions one script removes, so that a sweep never holds Redis long. */
    private static final int IDLE_EVICTIONS_PER_CALL = 1_000;
    /** Most connections to Redis per store: past it a caller waits, up to the timeout, for one to be free. */
    private static final int MAX_CONNECTIONS = 64;
    /**
     * How long a connection may sit unused in the pool before the store closes it, checked every
     * {@link #IDLE_CONNECTION_CHECK}: Redis closes a connection idle past its own {@code timeout}, and a call handed
     * such a connection fails (503), so the store closes its idle ones first, for every {@code timeout} of 3 s or more.
     */
    private static final Duration IDLE_CONNECTION_LIFE = Duration.ofSeconds(2);
    private static final Duration IDLE_CONNECTION_CHECK = Duration.ofSeconds(1);
    /** How many of a session's newest records a score's model is looked for in before the older ones. */
    private static final int NEWEST_RECORDS = 64;
    /** How long after a line about Redis refusing the batch script the next one may come. */
    private static final Duration REFUSAL_LOG_PERIOD = Duration.ofMinutes(1);
    /** How often the store checks the connection and reads the session count. */
    private static final Duration WATCH_PERIOD = Duration.ofMillis(500);
    static final Script RECORD = Script.load("record");
    private static final Script CLEAR = Script.load("clear");
    private static final Script IDLE = Script.load("idle");
    private static final Script READ = Script.load("read");
    private static final Script LIVES_HELD = Script.load("lives");
    private static final Script PROBE = Script.load("probe");
    /**
     * How long after a call that Redis refused for a reason of its own readiness says so: a refusal that meets
     * new connections only (its maxclients, a password changed) is seen neither by the check of the connection
     * nor by the batches on connections the store holds.
     */
    private static final Duration REFUSAL_SHOWN = Duration.ofSeconds(5);
    private static final byte[][] LIVES_KEY = {bytes(LIVES)};
    /** What record.lua says when it refuses a batch for a session of another layout. */
    private static final String LAYOUT_REFUSAL = " was written by another version of llm-metrics";

    private final String endpoint;
    private final RedisClient client;
    /** The sessions' headers, read for concurrent callers in shared round trips. */
    private final HeaderReads headers;
    private final SessionStoreFactory.Parameters bounds;
    private final LocalSessionFigures local;
    private final EvictionCounts evicted = new EvictionCounts();
    private final ScheduledExecutorService watcher;
    private volatile boolean reachable;
    /**
     * Whether the watcher's last check found Redis answering; the watcher's alone. The log follows it, not
     * {@link #reachable}, which batches set too: a batch that failed as Redis went down, or went through as it came
     * back, before the watcher's next check, would leave that check nothing to say.
     */
    private boolean answeredLastWatch;
    /** Why the last check of the connection failed ({@code null} once one worked), for the log. */
    private volatile @Nullable String unreachableBecause;
    /**
     * Why Redis refused the last check of the connection or of the store's rights, in plain words
     * ({@link #plainly}), or {@code null} when it passed or failed for no reason Redis named.
     */
    private volatile @Nullable String refusedBecause;
    /**
     * Why the last check found a command of the scripts that the store's user may not run, else {@code null}: a
     * batch is then not sent, as Redis checks a script's commands only as the script reaches them.
     */
    private volatile @Nullable String deniedCommand;
    /**
     * The last refusal of a call by Redis for a reason of its own, and when; {@code null} once a batch or the check
     * of the connection ran, unless it meets new connections only.
     */
    private volatile @Nullable Refusal lastRefusal;
    /** Set by {@link #close()}: the store records nothing more. */
    private volatile boolean closed;
    /**
     * Whether the log said that Redis itself refuses the batch script (out of memory, no permission; not a
     * session of another layout, which {@link #checkLayout} reports) and not yet that it runs it again: nothing
     * else would tell the operator why batches get 503.
     */
    private final AtomicBoolean refusing = new AtomicBoolean();
    /** When ({@link System#nanoTime()}) the next line about a refusal may be logged. */
    private final AtomicLong nextRefusalLine = new AtomicLong(System.nanoTime());
    /** The {@code maxmemory-policy} last read, so that a policy set while the store runs is warned of once. */
    private volatile @Nullable String lastPolicy;
    /** Redis's {@code evicted_keys} last read ({@code INFO stats}), or -1 before the first read. */
    private volatile long lastEvictedKeys = -1;
    /** Checks of the connection since the policy and the evicted keys were last read. */
    private int ticks;
    /** The key of the index or of a counter that last held what the store never writes there, else null. */
    private volatile @Nullable String foreign;
    /** Whether the last check found the counter of lives; written by the watcher only, read by batches too. */
    private volatile boolean livesSeen;
    /** Whether Redis refused the last INFO (its user may not run it); read and written by the watcher. */
    private volatile boolean infoRefused;
    /** The session count as last read (every {@link #WATCH_PERIOD}, and by each script): what the scrape shows. */
    private volatile int lastCount;
    /**
     * The requests in flight per model label as last read: all of them every {@link #WATCH_PERIOD}, those a script
     * changed (a batch's starts, ends and evictions; a clear; the idle sweep) by it. A label absent has none.
     */
    private final ConcurrentHashMap<String, Long> lastInFlight = new ConcurrentHashMap<>();

    /** Makes stores on the Redis at {@code url}, with the {@linkplain #DEFAULT_TIMEOUT default timeout}. */
    public static SessionStoreFactory at(String url) {
        return at(url, DEFAULT_TIMEOUT);
    }

    /**
     * Makes stores on the Redis at {@code url} ({@code redis://host:port}, {@code rediss://} for TLS, with an
     * optional password and database number), each command given {@code timeout}.
     *
     * @throws IllegalArgumentException when the URL is not a Redis URL or the timeout is not positive or exceeds
     *                                  {@link #MAX_TIMEOUT}
     */
    public static SessionStoreFactory at(String url, Duration timeout) {
        Endpoint endpoint = endpoint(url, timeout);
        return parameters -> new RedisSessionStore(endpoint, parameters);
    }

    /** Where Redis is and how to talk to it: what a URL says, checked once. */
    private record Endpoint(String host, int port, DefaultJedisClientConfig config, Duration timeout) {
    }

    /**
     * {@code timeout}, when the store can take it: positive and at most {@link #MAX_TIMEOUT}. The one check of the
     * bound, which {@link #at(String, Duration)} applies; a caller that knows the setting the timeout came from
     * calls it first to have the refusal name that setting.
     *
     * @param name what the refusal calls the timeout, such as a configuration key
     * @throws IllegalArgumentException when it is not positive or exceeds {@link #MAX_TIMEOUT}, naming it {@code name}
     */
    public static Duration requireValidTimeout(String name, Duration timeout) {
        Objects.requireNonNull(timeout, name);
        if (!timeout.isPositive() || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException(name + " must be positive and at most " + MAX_TIMEOUT + ", was " + timeout);
        }
        return timeout;
    }

    private static Endpoint endpoint(String url, Duration timeout) {
        requireValidTimeout("the Redis timeout", timeout);
        String trimmed = url.trim();
        URI uri;
        try {
            uri = new URI(trimmed);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a Redis URL (redis://host:port): " + redacted(trimmed), e);
        }
        String scheme = uri.getScheme();
        if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
            throw new IllegalArgumentException("not a Redis URL (redis://host:port): " + redacted(trimmed));
        }
        String host = uri.getHost();
        String authority = uri.getRawAuthority();
        if (host == null && authority != null && authority.indexOf('_') >= 0) {
            // java.net.URI takes no host name with '_', as a Docker service name may have: parsed with '-' there
            int hostStart = authority.lastIndexOf('@') + 1;
            int at = scheme.length() + "://".length(); // where the raw authority starts
            String swapped = authority.substring(0, hostStart) + authority.substring(hostStart).replace('_', '-');
            try {
                uri = new URI(trimmed.substring(0, at) + swapped + trimmed.substring(at + authority.length()));
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("not a Redis URL (redis://host:port): " + redacted(trimmed), e);
            }
            host = uri.getHost() == null ? null : authority.substring(hostStart, hostStart + uri.getHost().length());
        }
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("the Redis URL names no host: " + redacted(trimmed));
        }
        DefaultJedisClientConfig.Builder config = DefaultJedisClientConfig.builder();
        int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        config.connectionTimeoutMillis(millis).socketTimeoutMillis(millis).clientName("llm-metrics");
        if (scheme.equals("rediss")) {
            // The JVM's trust store (javax.net.ssl.trustStore when set), and the certificate must name the host
            config.sslOptions(SslOptions.builder().sslVerifyMode(SslVerifyMode.FULL).build());
        }
        String userInfo = uri.getUserInfo();
        if (userInfo != null && !userInfo.isEmpty()) {
            int colon = userInfo.indexOf(':');
            if (colon < 0) {
                config.password(userInfo);
            } else {
                if (colon > 0) {
                    config.user(userInfo.substring(0, colon));
                }
                config.password(userInfo.substring(colon + 1));
            }
        }
        String path = uri.getPath();
        if (path != null && path.length() > 1) {
            try {
                config.database(Integer.parseInt(path.substring(1)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("the Redis URL's path must be a database number: " + redacted(trimmed), e);
            }
        }
        return new Endpoint(host, uri.getPort() < 0 ? 6379 : uri.getPort(), config.build(), timeout);
    }

    /** The URL without its password, fit for a message or a log line. */
    private static String redacted(String url) {
        return url.replaceFirst("//[^/]*@", "//***@");
    }

    private RedisSessionStore(Endpoint endpoint, SessionStoreFactory.Parameters bounds) {
        this.bounds = bounds;
        this.endpoint = endpoint.host() + ":" + endpoint.port();
        // Redis holds at most maxSessions sessions; the figures of those it evicted or another process cleared stay
        // here until the watcher or the sweep forgets them, so the table's own bound, which drops the least recently
        // recorded, is twice that: it is not a session Redis still holds, active through other processes, that goes.
        this.local = new LocalSessionFigures((int) Math.min(2L * bounds.maxSessions(), Integer.MAX_VALUE),
                bounds.clock());
        // A pool of connections, one per concurrent caller: a connection is made when one is needed and none
        // is free, so that nothing is queued while Redis is unreachable (a caller fails at once, or at the
        // timeout), and a broken one is dropped; a caller waits for a free one at most the timeout.
        GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
        pool.setMaxTotal(MAX_CONNECTIONS);
        pool.setMaxIdle(MAX_CONNECTIONS);
        pool.setMaxWait(endpoint.timeout());
        pool.setJmxEnabled(false);
        // Closed unasked once idle for a while, before Redis's idle timeout closes them under the pool. Not tested
        // with a PING instead: a failed test is logged with its stack trace.
        pool.setMinEvictableIdleDuration(IDLE_CONNECTION_LIFE);
        pool.setTimeBetweenEvictionRuns(IDLE_CONNECTION_CHECK);
        pool.setNumTestsPerEvictionRun(MAX_CONNECTIONS);
        pool.setTestWhileIdle(false);
        this.client = RedisClient.builder().hostAndPort(endpoint.host(), endpoint.port()).clientConfig(endpoint.config())
                .poolConfig(pool).build();
        this.headers = new HeaderReads(client, HEADER_FIELD, endpoint.timeout());
        watch();
        if (!reachable) {
            LOG.log(Level.WARNING, "Redis at {0} is unreachable ({1}); the store keeps trying and is not ready until then:"
                    + " start Redis there, or set store.redis.url (STORE_REDIS_URL) to where it runs", this.endpoint,
                    unreachableBecause);
        }
        this.watcher = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform()
                .name("llm-metrics-redis-watcher").daemon(true).factory());
        watcher.scheduleWithFixedDelay(this::watch, WATCH_PERIOD.toMillis(), WATCH_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
    }

    // ------------------------------------------------------------------------------------------ writes

    @Override
    public List<Event> record(List<? extends Event> events) {
        if (closed) {
            throw new RecordingFailedException("the session store is closed", new IllegalStateException("closed"));
        }
        if (events.isEmpty()) {
            return List.of();
        }
        String denied = deniedCommand;
        if (denied != null) { // Redis would refuse the script at that command, after its first writes
            throw new RecordingFailedException("the events could not be recorded: " + denied, null);
        }
        Batch batch = new Batch(events, bounds);
        List<Object> result;
        try {
            result = run(RECORD, WRITE_KEYS, batch.args);
        } catch (JedisException e) {
            String message = failure("the events could not be recorded", e);
            note(e);
            if (e instanceof JedisDataException && !String.valueOf(e.getMessage()).contains(LAYOUT_REFUSAL)) {
                refused(e);
            }
            throw new RecordingFailedException(message, e);
        }
        Refusal refusal = lastRefusal;
        if (refusal != null && !refusal.newConnections()) {
            lastRefusal = null; // a batch on a connection it holds says nothing of new ones
        }
        if (refusing.get() && refusing.compareAndSet(true, false)) {
            LOG.log(Level.INFO, "Redis at {0} runs the batch script again", endpoint);
        }
        List<?> appliedNumbers = (List<?>) result.get(0);
        List<?> foldedNumbers = (List<?>) result.get(1);
        List<?> lives = (List<?>) result.get(5);
        List<?> inFlight = (List<?>) result.get(6);
        if ((Long) result.get(7) == 1 && livesSeen) {
            // Under load a batch makes the counter anew before the next check could find it missing.
            warnOfLostLives();
        }
        noteInFlight(inFlight);
        evicted.add(EvictionReason.CAPACITY, (Long) result.get(2));
        evicted.add(EvictionReason.MEMORY, (Long) result.get(3));
        lastCount = ((Long) result.get(4)).intValue();
        int n = events.size();
        boolean[] folded = new boolean[n];
        for (Object number : foldedNumbers) {
            folded[batch.eventAt(((Long) number).intValue())] = true;
        }
        boolean[] appliedAt = new boolean[n];
        long[] lifeAt = new long[n];
        for (int k = 0; k < appliedNumbers.size(); k++) {
            int i = batch.eventAt(((Long) appliedNumbers.get(k)).intValue());
            appliedAt[i] = true;
            lifeAt[i] = (Long) lives.get(k);
        }
        List<Event> applied = new ArrayList<>(n);
        // Each session's figures of the batch, added at once, so that a scrape shows the batch whole or not at all.
        Map<String, List<LocalSessionFigures.Figure>> figures = new LinkedHashMap<>();
        Map<String, Long> lifeOf = new HashMap<>();
        for (int i = 0; i < n; i++) {
            int carrier = batch.carriers[i];
            if (!appliedAt[carrier < 0 ? i : carrier]) {
                continue;
            }
            Event event = events.get(i);
            applied.add(event);
            LocalSessionFigures.Figure figure = switch (event) {
                case LlmRequestCompleted c -> LocalSessionFigures.Figure.request(folded[i] ? OTHER : batch.labels[i], c,
                        batch.costs[i], folded[i] || batch.unlabelled[i]);
                case LlmRequestFailed f -> LocalSessionFigures.Figure.request(folded[i] ? OTHER : batch.labels[i], null,
                        -1, folded[i] || batch.unlabelled[i]);
                case LlmRequestScored s -> LocalSessionFigures.Figure.score(
                        folded[i] ? SessionStore.OTHER_SCORE_NAME : s.name(), s.value());
                default -> null; // starts and generic events have no figures
            };
            if (figure != null) {
                lifeOf.putIfAbsent(event.sessionId(), lifeAt[i]); // the script gives a session one life a batch
                figures.computeIfAbsent(event.sessionId(), id -> new ArrayList<>()).add(figure);
            }
        }
        for (Map.Entry<String, List<LocalSessionFigures.Figure>> e : figures.entrySet()) {
            local.addAll(e.getKey(), lifeOf.get(e.getKey()), e.getValue());
        }
        long livesCounter = (Long) result.get(9);
        for (Object id : (List<?>) result.get(8)) {
            // At once, rather than at the sweep: the scrape drops what the store no longer holds; after the batch's
            // figures, which may be of a session the batch itself evicted. No mark of the lives gone is kept for a
            // session this process has no figures of (other replicas' sessions would fill the table): the least
            // recently active, it has no batch of this process still to add.
            local.forget(text(id), livesCounter);
        }
        return applied;
    }

    private static final String OTHER = dev.llmmetrics.cost.ModelCatalog.OTHER_LABEL;

    /**
     * Removes the session from Redis, for every process.
     *
     * @throws RecordingFailedException when Redis could not be reached; then the session is unchanged
     */
    @Override
    public boolean clear(String sessionId) {
        return clear(sessionId, new byte[0][]);
    }

    /**
     * Removes the session from Redis, for every process, when its revision meets {@code condition}: the revision read
     * is tested here, and the script removes the session only while its header still has that revision's numbers; a
     * revision a batch changed meanwhile is read and tested again, up to {@value #CONDITIONAL_CLEAR_ATTEMPTS} times.
     */
    @Override
    public boolean clear(String sessionId, Predicate<String> condition) {
        for (int attempt = 0; attempt < CONDITIONAL_CLEAR_ATTEMPTS; attempt++) {
            Optional<String> revision = revision(sessionId);
            if (revision.isEmpty() || !condition.test(revision.get())) {
                return false;
            }
            if (clearAt(sessionId, revision.get())) {
                return true;
            }
        }
        return false;
    }

    /** Removes the session while its header has the numbers {@code revision} names; whether it did. */
    private boolean clearAt(String sessionId, String revision) {
        String[] numbers = revision.split("-", -1);
        if (numbers.length != 5) {
            return false; // not a revision of this store: no session has it
        }
        byte[][] expected = new byte[numbers.length][];
        for (int i = 0; i < numbers.length; i++) {
            String n = numbers[i];
            if (n.isEmpty() || n.length() > 16 || n.length() > 1 && n.charAt(0) == '0'
                    || !n.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return false; // not as revision writes a number: the script compares numbers, not texts
            }
            expected[i] = bytes(n);
        }
        return clear(sessionId, expected);
    }

    /** Runs the clear script, given the revision's numbers or none; whether the session was removed. */
    private boolean clear(String sessionId, byte[][] revision) {
        byte[][] args = new byte[2 + revision.length][];
        args[0] = bytes(key(sessionId));
        args[1] = bytes(sessionId);
        System.arraycopy(revision, 0, args, 2, revision.length);
        List<Object> result;
        try {
            result = run(CLEAR, WRITE_KEYS, args);
        } catch (JedisException e) {
            note(e);
            throw new RecordingFailedException(failure("the session could not be cleared", e), e);
        }
        lastCount = ((Long) result.get(1)).intValue();
        if (result.size() > 4) {
            return false; // not held with that revision: left as it is, this process's figures of it too
        }
        if ((Long) result.get(0) == 1) {
            local.forgetGone(sessionId, (Long) result.get(2)); // a batch of this process may not have added its figures yet
        } else {
            local.forget(sessionId, (Long) result.get(2));
        }
        noteInFlight((List<?>) result.get(3));
        return (Long) result.get(0) == 1;
    }

    /**
     * Removes the sessions idle for longer than the idle timeout from Redis, a bounded number per script, with as
     * many sessions' starts the idle timeout old ({@code llm:requests-in-flight-sessions}), and forgets this
     * process's figures of the lives Redis no longer holds: a session cleared or evicted (by any
     * process), or begun again in a later life. Figures of a session Redis still holds in the same life stay,
     * however long ago this process last counted into it, so that the sum over the processes stays whole. While
     * Redis is unreachable it only forgets this process's figures of the sessions it has not seen within the
     * timeout, and returns 0.
     */
    @Override
    public int evictIdle() {
        long now = bounds.clock().millis();
        long cutoff = now - bounds.idleTimeout().toMillis();
        if (!reachable) {
            local.removeIdle(cutoff);
            return 0;
        }
        int total = 0;
        try {
            while (true) {
                List<Object> result = run(IDLE, WRITE_KEYS, bytes(PREFIX), bytes(Long.toString(cutoff)),
                        bytes(Integer.toString(IDLE_EVICTIONS_PER_CALL)), bytes(Long.toString(now)),
                        bytes(Long.toString(InFlightRequests.bucketMs(bounds.idleTimeout()))));
                int removed = ((Long) result.get(0)).intValue();
                lastCount = ((Long) result.get(1)).intValue();
                noteInFlight((List<?>) result.get(2));
                int expired = ((Long) result.get(3)).intValue();
                total += removed;
                evicted.add(EvictionReason.IDLE, removed);
                if (removed < IDLE_EVICTIONS_PER_CALL && expired < IDLE_EVICTIONS_PER_CALL) {
                    break;
                }
            }
            forgetWhatRedisDropped();
        } catch (JedisException e) {
            LOG.log(Level.WARNING, "The idle sweep of Redis at {0} failed; trying again at the next period: {1}",
                    endpoint, e.getMessage());
        }
        return total;
    }

    /**
     * Forgets this process's figures of the lives Redis no longer holds: of the sessions it does not hold (another
     * process cleared or evicted them), and of the earlier lives of those it holds in a later life.
     */
    private void forgetWhatRedisDropped() {
        List<String> ids = local.sessionIds();
        for (int from = 0; from < ids.size(); from += 1_000) {
            List<String> chunk = ids.subList(from, Math.min(ids.size(), from + 1_000));
            List<Object> result = run(LIVES_HELD, LIVES_KEY,
                    chunk.stream().map(id -> bytes(key(id))).toArray(byte[][]::new));
            long counter = (Long) result.get(0);
            List<?> lives = (List<?>) result.get(1);
            for (int i = 0; i < chunk.size(); i++) {
                long life = (Long) lives.get(i);
                // Not held: every life up to the counter is gone. Held: the lives before its own are.
                local.forget(chunk.get(i), life == 0 ? counter : life - 1);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ reads

    /**
     * @throws StoreUnavailableException when Redis could not be read, or holds the session's figures, records or
     *                                   scores in a layout this version does not read
     */
    @Override
    public Optional<SessionMetrics> session(String sessionId) {
        List<Object> result;
        try {
            result = run(READ, NO_KEYS, bytes(key(sessionId)));
        } catch (JedisException e) {
            throw unavailable(e);
        }
        List<?> hash = (List<?>) result.get(0);
        if (hash.isEmpty()) {
            return Optional.empty();
        }
        Map<String, List<RequestScore>> scores = new HashMap<>();
        try {
            for (Object element : (List<?>) result.get(2)) {
                RecordCodec.Scored scored = RecordCodec.decodeScore(text(element));
                scores.computeIfAbsent(scored.correlationId(), id -> new ArrayList<>(2)).add(scored.score());
            }
        } catch (IllegalStateException e) {
            throw anotherLayout(key(sessionId) + ":s");
        }
        List<?> elements = (List<?>) result.get(1);
        List<RequestRecord> records = new ArrayList<>(elements.size());
        try {
            for (Object element : elements) {
                records.add(RecordCodec.decode(text(element), scores));
            }
        } catch (IllegalStateException e) {
            throw anotherLayout(key(sessionId) + ":r");
        }
        return Optional.of(metrics(sessionId, hash, records));
    }

    /** @throws StoreUnavailableException when Redis could not be read */
    @Override
    public Optional<SessionMetrics> summary(String sessionId) {
        Map<byte[], byte[]> hash;
        try {
            hash = client.hgetAll(bytes(key(sessionId)));
        } catch (JedisException e) {
            throw unavailable(e);
        }
        return summary(sessionId, hash);
    }

    /**
     * Reads the sessions' hashes in one pipelined round trip.
     *
     * @throws StoreUnavailableException when Redis could not be read
     */
    @Override
    public List<SessionMetrics> summaries(List<String> sessionIds) {
        List<Response<Map<byte[], byte[]>>> hashes = new ArrayList<>(sessionIds.size());
        List<SessionMetrics> summaries = new ArrayList<>(sessionIds.size());
        try (AbstractPipeline pipeline = client.pipelined()) {
            for (String id : sessionIds) {
                hashes.add(pipeline.hgetAll(bytes(key(id))));
            }
            pipeline.sync();
            for (int i = 0; i < sessionIds.size(); i++) {
                summary(sessionIds.get(i), hashes.get(i).get()).ifPresent(summaries::add); // get: a command's error
            }
        } catch (JedisException e) {
            throw unavailable(e);
        }
        return summaries;
    }

    private static Optional<SessionMetrics> summary(String sessionId, Map<byte[], byte[]> hash) {
        if (hash.isEmpty()) {
            return Optional.empty();
        }
        List<byte[]> flat = new ArrayList<>(hash.size() * 2);
        hash.forEach((field, value) -> {
            flat.add(field);
            flat.add(value);
        });
        return Optional.of(metrics(sessionId, flat, List.of()));
    }

    /**
     * The session's life, request count, score count, records kept and scores of requests kept: a new life, a
     * finished request or a score changes it, and so does a process with a lower {@code maxRecordsPerSession}
     * that trims the records or the scores of requests on an event that adds neither (a start).
     */
    @Override
    public Optional<String> revision(String sessionId) {
        String key = key(sessionId);
        byte[] header;
        try {
            header = headers.read(bytes(key));
        } catch (JedisException e) {
            throw unavailable(e);
        }
        if (header == null) {
            return Optional.empty();
        }
        double[] h = numbers(header, HEADER_NUMBERS, key);
        return Optional.of((long) h[LIFE] + "-" + (long) h[REQUESTS] + "-" + (long) h[SCORES] + "-"
                + (long) h[RECORDS_KEPT] + "-" + (long) h[REQUEST_SCORES_KEPT]);
    }

    /**
     * The model of the session's most recent record with {@code correlationId}, read from Redis; empty when
     * Redis holds none, and when it cannot be read (the score meters then count the score under no model
     * rather than lose it). Records of a layout this version does not read are passed over.
     */
    @Override
    public Optional<String> requestModel(String sessionId, String correlationId) {
        byte[] key = bytes(key(sessionId) + ":r");
        byte[] mention = RecordCodec.mention(correlationId);
        try {
            // A score mostly grades a recent request: the newest records first, then older ones a page at a time,
            // so that a session whose records are large is never read whole into the heap.
            for (long end = -1; ; end -= NEWEST_RECORDS) {
                List<byte[]> page = client.lrange(key, end - NEWEST_RECORDS + 1, end);
                Optional<String> model = requestModel(page, mention, correlationId);
                if (model.isPresent() || page.size() < NEWEST_RECORDS) {
                    return model;
                }
            }
        } catch (JedisException e) {
            failure("the model of a scored request could not be read", e);
            return Optional.empty();
        }
    }

    /**
     * The model of the newest of {@code elements} with {@code correlationId}; only those that mention it are
     * decoded. Records of a layout this version does not read are passed over.
     */
    private static Optional<String> requestModel(List<byte[]> elements, byte[] mention, String correlationId) {
        Map<String, List<RequestScore>> noScores = Map.of();
        for (int i = elements.size() - 1; i >= 0; i--) {
            byte[] element = elements.get(i);
            if (!RecordCodec.contains(element, mention)) {
                continue;
            }
            RequestRecord record;
            try {
                record = RecordCodec.decode(text(element), noScores);
            } catch (IllegalStateException e) {
                continue;
            }
            if (correlationId.equals(record.correlationId())) {
                return Optional.of(record.model());
            }
        }
        return Optional.empty();
    }

    @Override
    public List<String> sessionIds(int offset, int limit) {
        if (offset < 0 || limit < 0) {
            throw new IllegalArgumentException("offset and limit must not be negative");
        }
        if (limit == 0) {
            return List.of();
        }
        try {
            return client.zrange(INDEX, ZRangeParams.zrangeParams(offset, (long) offset + limit - 1).rev());
        } catch (JedisException e) {
            throw unavailable(e);
        }
    }

    /**
     * How many sessions Redis holds, as last read: by the check every {@code 500 ms} and by each script of this
     * process. It never asks Redis itself, so that the scrape ({@code llm_sessions_active}) and {@code GET /health}
     * answer at once while Redis is slow or stopped.
     */
    @Override
    public int sessionCount() {
        return lastCount;
    }

    /**
     * The requests of {@code label} in flight through every process on this Redis, as last read: by the check every
     * {@code 500 ms} and by each script of this process. Like {@link #sessionCount()}, it never asks Redis itself.
     * A session's requests in flight leave with it, whichever process clears or evicts it.
     */
    @Override
    public long inFlight(String label) {
        return lastInFlight.getOrDefault(label, 0L);
    }

    /** Every label's requests in flight through every process on this Redis, as last read (see {@link #inFlight}). */
    @Override
    public Map<String, Long> inFlightByLabel() {
        return new TreeMap<>(lastInFlight);
    }

    /** Takes the counts Redis holds as the last read; a count the scripts did not write counts as none. */
    private void readInFlight(Map<String, String> held) {
        lastInFlight.keySet().retainAll(held.keySet());
        held.forEach((label, count) -> noteInFlight(label, counter(count) ? Long.parseLong(count) : 0));
    }

    /** Takes the counts a script wrote: labels, each followed by its count. */
    private void noteInFlight(List<?> labelsAndCounts) {
        for (int k = 0; k + 1 < labelsAndCounts.size(); k += 2) {
            noteInFlight(text(labelsAndCounts.get(k)), (Long) labelsAndCounts.get(k + 1));
        }
    }

    private void noteInFlight(String label, long count) {
        if (count > 0) {
            lastInFlight.put(label, count);
        } else {
            lastInFlight.remove(label);
        }
    }

    @Override
    public long evictions(EvictionReason reason) {
        return evicted.count(reason);
    }

    /** Whether {@link #notReadyBecause} has nothing to say; answers at once. */
    @Override
    public boolean ready() {
        return notReadyBecause().isEmpty();
    }

    /**
     * Why batches get 503, in plain words, answering at once: Redis refused the last check for a reason it named
     * (a password, a permission, a read-only replica, writes paused, no persistence) or refused a call so within
     * {@link #REFUSAL_SHOWN} (its maxclients, met by new connections only), Redis cannot be reached while the last
     * exchange with it failed, or a key of the index or the counters holds what the store never writes there.
     */
    @Override
    public Optional<String> notReadyBecause() {
        if (closed) {
            return Optional.of("the session store is closed");
        }
        String refused = refusedBecause;
        if (refused != null) {
            return Optional.of("the session store cannot be used: " + refused);
        }
        Refusal refusal = lastRefusal;
        if (refusal != null && System.nanoTime() - refusal.atNanos() < REFUSAL_SHOWN.toNanos()) {
            return Optional.of("the session store cannot be used: " + refusal.because());
        }
        if (!reachable) {
            return Optional.of("the session store cannot be reached");
        }
        String key = foreign;
        return key == null ? Optional.empty() : Optional.of("the session store cannot write: Redis holds at " + key
                + " what llm-metrics never writes there, until that key is deleted");
    }

    @Override
    public List<PairFigures> mostRecentPairs(int maxSessions, int maxPairs) {
        return local.mostRecentPairs(maxSessions, maxPairs);
    }

    @Override
    public SessionsOnScrape mostRecent(int maxSessions, int maxPairs) {
        return local.mostRecent(maxSessions, maxPairs);
    }

    @Override
    public List<SessionScores> scores(List<String> sessionIds) {
        return local.scores(sessionIds);
    }

    @Override
    public long modelOverflows() {
        return local.modelOverflows();
    }

    /** What the sessions take in Redis as the bound in bytes counts them, summed over all processes. */
    public long retainedBytes() {
        try {
            String value = client.get(BYTES);
            return value == null ? 0 : Long.parseLong(value);
        } catch (JedisException e) {
            throw unavailable(e);
        }
    }

    /** The host and port of the Redis, without credentials. */
    public String endpoint() {
        return endpoint;
    }

    // ------------------------------------------------------------------------------------------ connection

    /**
     * The session's hash key: its id between braces, with a backslash before each backslash and closing brace
     * in it, so that no id's keys read as another's (the session <code>a}:id:x</code> against the event id
     * <code>x}</code> of the session {@code a}). The scripts write it the same way.
     */
    private static String key(String sessionId) {
        String id = sessionId.indexOf('\\') < 0 && sessionId.indexOf('}') < 0 ? sessionId
                : sessionId.replace("\\", "\\\\").replace("}", "\\}");
        return PREFIX + "{" + id + "}";
    }

    /**
     * Runs a script by its digest, sending its body when Redis does not have it (a restarted Redis). Arguments
     * and answers are bytes: the stored figures are binary.
     */
    @SuppressWarnings("unchecked")
    private List<Object> run(Script script, byte[][] keys, byte[]... args) {
        return (List<Object>) call(script, keys, args);
    }

    /** Runs a script as {@link #run} does; its answer as Redis gave it. */
    private Object call(Script script, byte[][] keys, byte[]... args) {
        List<byte[]> keyList = Arrays.asList(keys);
        List<byte[]> argList = Arrays.asList(args);
        Object result;
        try {
            try {
                result = client.evalsha(bytes(script.sha()), keyList, argList);
            } catch (JedisNoScriptException e) {
                result = client.eval(bytes(script.body()), keyList, argList);
            }
        } catch (JedisDataException e) {
            throw e; // Redis answered: an error of the script or of Redis (out of memory), not of the connection
        } catch (JedisException e) {
            lost(e);
            throw e;
        }
        reachable = true;
        return result;
    }

    /**
     * Logs a refusal by Redis itself, at most once a {@link #REFUSAL_LOG_PERIOD}: a Redis at its memory bound
     * may refuse and accept batches by turns as keys expire.
     */
    private void refused(JedisException e) {
        long now = System.nanoTime();
        long allowed = nextRefusalLine.get();
        if (now - allowed >= 0 && nextRefusalLine.compareAndSet(allowed, now + REFUSAL_LOG_PERIOD.toNanos())) {
            refusing.set(true);
            String message = String.valueOf(e.getMessage());
            LOG.log(Level.WARNING, "Redis at {0} refuses the batch script ({1}): batches get 503 until it runs it "
                    + "again{2}", endpoint, message, message.startsWith("OOM")
                    ? "; raise its maxmemory, or free memory in it (DELETE /events/metrics/session/{session_id}"
                            + " frees a session)" : "");
        }
    }

    private String failure(String what, JedisException e) {
        String message = what + ": Redis at " + endpoint + (e instanceof JedisDataException
                ? " refused it (" + e.getMessage() + ")" : " is unreachable or did not answer in time");
        LOG.log(Level.DEBUG, message, e);
        return message;
    }

    /**
     * A refusal of a call by Redis and when it came, for readiness: {@code because} in plain words; whether it meets
     * only new connections (maxclients, a password changed), which the check of the connection does not make.
     */
    private record Refusal(String because, long atNanos, boolean newConnections) {
    }

    /** Keeps a refusal of a batch, a clear or a read by Redis for a reason of its own, for readiness to say. */
    private void note(JedisException e) {
        Reason reason = reasonOf(e);
        if (reason != null) {
            lastRefusal = new Refusal(reason.words(), System.nanoTime(), reason.newConnections());
        }
    }

    /**
     * Why Redis refused an exchange, in plain words, and whether only new connections meet it (its maxclients, a
     * password asked for or changed), which the check of the connection, on a connection the store holds, does not.
     */
    private record Reason(String words, boolean newConnections) {
    }

    /** The words of {@link #reasonOf}, or {@code null} when it names no reason. */
    static @Nullable String plainly(JedisException e) {
        Reason reason = reasonOf(e);
        return reason == null ? null : reason.words();
    }

    /**
     * What a failed exchange says of Redis, in plain words for readiness and without a library's names: why Redis
     * refused it (a password, a permission, its maxclients, a read-only replica, its persistence, its loading), or
     * that it did not answer in time; {@code null} when the connection failed otherwise (refused, closed), which
     * readiness calls unreachable, or when Redis refused it for what a key holds (said elsewhere).
     */
    private static @Nullable Reason reasonOf(JedisException e) {
        if (timedOut(e)) {
            return new Reason("Redis did not answer within store.redis.timeout (busy, or its clients paused with CLIENT "
                    + "PAUSE)", false);
        }
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            String m = String.valueOf(cause.getMessage());
            if (cause instanceof SSLException) {
                return new Reason("the TLS handshake with Redis failed: its certificate is not trusted by the JVM's trust "
                        + "store or does not name the host of store.redis.url, or Redis does not speak TLS there", false);
            } else if (m.startsWith("NOAUTH")) {
                return new Reason("Redis refuses the store: authentication required, and store.redis.url gives no "
                        + "password", true);
            } else if (m.startsWith("WRONGPASS")) {
                return new Reason("Redis refuses the store: authentication failed for the user and password of "
                        + "store.redis.url", true);
            } else if (m.startsWith("NOPERM")) {
                int script = m.indexOf(" script: "); // where Redis names the script that was refused
                String detail = m.substring("NOPERM".length(), script < 0 ? m.length() : script).trim();
                return new Reason("Redis refuses the store: permission denied to its user (ACL: " + detail
                        + "); grant the user the commands and keys of docs/replicas.md", false);
            } else if (m.startsWith("ERR max number of clients reached")) {
                return new Reason("Redis refuses new connections: it has as many clients as its maxclients allows", true);
            } else if (m.startsWith("READONLY")) {
                return new Reason("Redis refuses writes: it is a read-only replica; point store.redis.url at the primary", false);
            } else if (m.startsWith("MISCONF")) {
                return new Reason("Redis refuses writes: it cannot persist its data (MISCONF; see the Redis log)", false);
            } else if (m.startsWith("BUSY")) {
                return new Reason("Redis is busy running a script and answers nothing else until it ends", false);
            } else if (m.startsWith("LOADING")) {
                return new Reason("Redis is loading its data set and answers nothing else until it is done", false);
            }
        }
        return null;
    }

    private StoreUnavailableException unavailable(JedisException e) {
        if (e instanceof JedisConnectionException) {
            lost(e);
        }
        note(e);
        return new StoreUnavailableException(failure("the session store could not be read", e), e);
    }

    /**
     * After an exchange with Redis failed. When its connection was closed, not merely slow or all taken, Redis
     * may have restarted or closed the others too (its idle timeout, {@code CLIENT KILL}): the idle ones go,
     * rather than fail the next callers one by one.
     */
    private void lost(JedisException e) {
        reachable = false;
        if (e instanceof JedisConnectionException && !timedOut(e)) {
            client.getPool().clear();
        }
    }

    /**
     * Jedis's message of {@code e}, which names the host, never the password, with that of its root cause when it has
     * one: "Failed to create socket." alone does not tell an unknown host from a refused connection.
     */
    static String withRootCause(JedisException e) {
        String message = String.valueOf(e.getMessage());
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root == e || root.getMessage() == null || message.contains(root.getMessage())) {
            return message;
        }
        return (message.endsWith(".") ? message.substring(0, message.length() - 1) : message) + ": "
                + root.getClass().getSimpleName() + ": " + root.getMessage();
    }

    private static boolean timedOut(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** Checks that Redis answers, reading the session count, at start and then every {@link #WATCH_PERIOD}. */
    private void watch() {
        boolean was = answeredLastWatch;
        boolean answers;
        String before = refusedBecause;
        try {
            readIndexAndCounters();
            answers = true;
            reachable = true;
            unreachableBecause = null;
            refusedBecause = probe();
            Refusal refusal = lastRefusal;
            if (refusedBecause == null && refusal != null && !refusal.newConnections()) {
                lastRefusal = null; // the probe meets what refused that call: it ended
            }
        } catch (JedisException e) {
            answers = false;
            lost(e);
            unreachableBecause = withRootCause(e);
            refusedBecause = plainly(e);
        }
        answeredLastWatch = answers;
        if (answers && local.size() > bounds.maxSessions() + bounds.maxSessions() / 10) {
            // Figures of more sessions than Redis holds: forget those of the sessions it no longer holds now, rather
            // than at the sweep, before the table's own bound drops one it still holds (a tenth over the bound at
            // least, so that sessions evicted one by one at the bound are not all asked about each time).
            try {
                forgetWhatRedisDropped();
            } catch (JedisException e) {
                LOG.log(Level.DEBUG, "Reading which sessions Redis holds failed; the next check tries again", e);
            }
        }
        String now = refusedBecause;
        if (answers && now != null && !now.equals(before)) {
            LOG.log(Level.WARNING, "Redis at {0} answers, but: {1}; batches get 503 until that ends", endpoint, now);
        } else if (answers && now == null && before != null) {
            LOG.log(Level.INFO, "Redis at {0} runs the store''s scripts again", endpoint);
        }
        if (was != answers) {
            if (!answers) {
                LOG.log(Level.WARNING, "Redis at {0} does not answer ({1}): batches get 503 until it does", endpoint,
                        unreachableBecause);
            } else {
                LOG.log(Level.INFO, "Redis at {0} answers", endpoint);
                checkVersion();
                lastPolicy = null;
                lastEvictedKeys = -1;
                lastAppendOnly = null;
                checkEvictions();
                checkPersistence();
                checkLayout();
            }
        } else if (answers && ++ticks >= EVICTION_CHECK_TICKS) {
            checkEvictions();
            checkPersistence();
        }
    }

    /**
     * Whether Redis wrote an append-only file at the last check, {@code null} before the first since it last
     * answered; read and written by the watcher only.
     */
    private @Nullable Boolean lastAppendOnly;

    /**
     * Warns, at start, when Redis answers again and when someone turns it off, that Redis writes no append-only
     * file: a restart of Redis then loses every batch acknowledged since its last snapshot, and nothing else would
     * tell the operator; says so when it is on again.
     */
    private void checkPersistence() {
        String enabled = info("persistence", "aof_enabled");
        if (enabled == null) {
            return;
        }
        boolean on = enabled.equals("1");
        Boolean before = lastAppendOnly;
        lastAppendOnly = on;
        if (!on && !Boolean.FALSE.equals(before)) {
            LOG.log(Level.WARNING, "Redis at {0} writes no append-only file (appendonly no): a restart of Redis loses "
                    + "every batch acknowledged since its last snapshot; set appendonly yes and appendfsync always "
                    + "(see docs/replicas.md)", endpoint);
        } else if (on && Boolean.FALSE.equals(before)) {
            LOG.log(Level.INFO, "Redis at {0} writes its append-only file again", endpoint);
        }
    }

    /**
     * Runs probe.lua: why Redis refuses the batch script though it answers, in plain words, else {@code null}.
     * Redis refuses or holds the probe where it refuses or holds a batch (a read-only replica, writes paused, no
     * persistence, a user without the right to run scripts or one of their commands), so readiness can say so.
     *
     * @throws JedisException when the probe's connection failed or it did not answer in time
     */
    private @Nullable String probe() {
        Object denied;
        try {
            denied = call(PROBE, WRITE_KEYS, bytes(PREFIX));
        } catch (JedisDataException e) {
            deniedCommand = null; // the batch script meets the same refusal before it runs
            String plain = plainly(e);
            String redisSays = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            return plain != null ? plain : "Redis refuses the store's scripts (" + redisSays + ")";
        }
        String command = denied == null ? "" : text(denied);
        deniedCommand = command.isEmpty() ? null : "Redis refuses the store: permission denied to its user for "
                + command + " (ACL); grant the user the commands and keys of docs/replicas.md";
        return deniedCommand;
    }

    /**
     * Reads the session count and the requests in flight, and checks that the index, the two counters and the
     * requests in flight hold what the store writes there, in one round trip: a key of another type, or a counter
     * that is no integer (someone else set it), refuses every batch, so the store is not ready until it is deleted
     * ({@link #notReadyBecause}). Says in the log when the counter of lives, which nothing of the store removes, is
     * gone: Redis lost the store's data.
     *
     * @throws JedisException when Redis could not be reached or refused the commands themselves
     */
    private void readIndexAndCounters() {
        Response<Long> count;
        Response<String> bytes;
        Response<String> lives;
        Response<Map<String, String>> inFlight;
        try (AbstractPipeline pipeline = client.pipelined()) {
            count = pipeline.zcard(INDEX);
            bytes = pipeline.get(BYTES);
            lives = pipeline.get(LIVES);
            inFlight = pipeline.hgetAll(IN_FLIGHT);
            pipeline.sync();
        }
        String foreignKey = null;
        Long sessions = held(count, INDEX);
        if (sessions == null) {
            foreignKey = INDEX;
        } else {
            lastCount = (int) Math.min(Integer.MAX_VALUE, sessions);
        }
        if (!counter(held(bytes, BYTES))) {
            foreignKey = BYTES;
        }
        Map<String, String> flying = held(inFlight, IN_FLIGHT);
        if (flying == null) {
            foreignKey = IN_FLIGHT;
        } else {
            readInFlight(flying);
        }
        String life = held(lives, LIVES);
        if (!counter(life)) {
            foreignKey = LIVES;
        } else if (life == null && livesSeen) {
            warnOfLostLives();
        }
        livesSeen = life != null;
        String before = foreign;
        foreign = foreignKey;
        if (foreignKey != null && !foreignKey.equals(before)) {
            LOG.log(Level.WARNING, "Redis at {0} holds at {1} what llm-metrics never writes there: batches, DELETE "
                    + "and the idle sweep are refused until that key is deleted", endpoint, foreignKey);
        }
    }

    /** Says in the log that Redis lost the store's data, seen from the counter of lives, which the store never removes. */
    private void warnOfLostLives() {
        LOG.log(Level.WARNING, "Redis at {0} no longer holds {1}, which the store never removes: its data was "
                + "emptied (FLUSHALL, FLUSHDB, a restart without persistence, or eviction), and the sessions and "
                + "acknowledged events it held are lost", endpoint, LIVES);
    }

    /**
     * The value of a pipelined command; {@code null} when Redis refused it for the key's type (marked by
     * {@link #WRONG_TYPE}, a non-integer counter by any other text).
     */
    @SuppressWarnings("unchecked")
    private static <T> @Nullable T held(Response<T> response, String key) {
        try {
            return response.get();
        } catch (JedisDataException e) {
            if (String.valueOf(e.getMessage()).startsWith("WRONGTYPE")) {
                return key.equals(INDEX) || key.equals(IN_FLIGHT) ? null : (T) WRONG_TYPE;
            }
            throw e;
        }
    }

    /** What {@link #held} gives for a counter of another type: no integer. */
    private static final String WRONG_TYPE = "WRONGTYPE";

    /** Whether a counter's value is one the scripts can add to: absent, or an integer as they write it. */
    private static boolean counter(@Nullable String value) {
        return value == null || value.matches("-?[0-9]{1,18}");
    }

    /** Every how many checks of the connection the policy and the evicted keys are read: once a second. */
    private static final int EVICTION_CHECK_TICKS = 2;

    /**
     * Warns when Redis's {@code maxmemory-policy} is not {@code noeviction}, at start, when Redis answers again and
     * when someone sets it while the store runs; and says, as an error, when Redis evicted keys since the last
     * check: under such a policy Redis drops keys of the store silently, so acknowledged events are lost, and
     * nothing else would tell the operator.
     */
    private void checkEvictions() {
        ticks = 0;
        String policy = evictionPolicy();
        if (policy != null && !policy.equals(lastPolicy)) {
            lastPolicy = policy;
            warnOfEvictionPolicy(policy);
        }
        String evicted = info("stats", "evicted_keys");
        if (evicted == null) {
            return;
        }
        long now;
        try {
            now = Long.parseLong(evicted);
        } catch (NumberFormatException e) {
            return;
        }
        long before = lastEvictedKeys;
        lastEvictedKeys = now;
        if (before >= 0 && now > before) {
            unloggedEvictions += now - before;
        }
        long clock = System.nanoTime();
        if (unloggedEvictions > 0 && clock - nextEvictionLine >= 0) {
            nextEvictionLine = clock + REFUSAL_LOG_PERIOD.toNanos();
            LOG.log(Level.ERROR, "Redis at {0} evicted {1} keys (maxmemory-policy {2}): those of the store lose "
                    + "acknowledged events, event ids or parts of sessions without a word; set maxmemory-policy "
                    + "noeviction and a maxmemory above store.max.bytes (see docs/replicas.md)", endpoint,
                    Long.toString(unloggedEvictions), policy);
            unloggedEvictions = 0;
        }
    }

    /** Keys Redis evicted that no line has counted yet; read and written by the watcher only. */
    private long unloggedEvictions;
    /** When ({@link System#nanoTime()}) the next line about evicted keys may be logged: once a minute at most. */
    private long nextEvictionLine = System.nanoTime();

    /**
     * Warns when Redis may evict keys under memory pressure: the store needs {@code maxmemory-policy noeviction}.
     * A {@code volatile-*} policy drops the event ids first (they expire), so a retried batch is applied twice;
     * an {@code allkeys-*} policy drops parts of sessions and of the index.
     */
    private void warnOfEvictionPolicy(String policy) {
        if (!policy.equals("noeviction")) {
            LOG.log(Level.WARNING, "Redis at {0} has maxmemory-policy {1}: under memory pressure it evicts the keys "
                    + "of the store (event ids first, so that a retried batch is applied twice, or parts of sessions); "
                    + "set maxmemory-policy noeviction, so that a full Redis refuses batches (503) instead", endpoint, policy);
        }
    }

    /**
     * Warns when the least or the most recently active session was written in another layout (by another
     * version of llm-metrics, whose sessions are the oldest after an upgrade): their batches are refused and
     * their reads fail until the database is emptied.
     */
    private void checkLayout() {
        try {
            List<String> ends = new ArrayList<>(client.zrange(INDEX, 0, 0));
            ends.addAll(client.zrange(INDEX, -1, -1));
            for (String id : ends) {
                byte[] key = bytes(key(id));
                byte[] header = client.hget(key, HEADER_FIELD);
                if (header == null ? client.exists(key) : header.length == 0 || header[0] != (byte) LAYOUT) {
                    LOG.log(Level.WARNING, "Redis at {0} holds sessions written by another version of llm-metrics: "
                            + "their batches get 503 and their reads fail until the database is emptied "
                            + "(see docs/replicas.md)", endpoint);
                    return;
                }
            }
        } catch (JedisException e) {
            failure("the layout of the sessions could not be checked", e);
        }
    }

    /**
     * Says in the log when Redis is older than 7.0: it cannot load the store's scripts ({@code #!lua} lines), so
     * batches, session reads and DELETE fail, and nothing else would tell the operator why.
     */
    private void checkVersion() {
        String version = info("server", "redis_version");
        if (version != null && !loadsTheScripts(version)) {
            LOG.log(Level.ERROR, "Redis at {0} is version {1}: the session store needs Redis 7.0 or later, and until it "
                    + "has one, batches, session reads and DELETE get 503", endpoint, version);
        }
    }

    /** Whether a Redis of {@code version} (such as {@code 7.0.15}) loads the store's scripts: 7.0 or later. */
    static boolean loadsTheScripts(String version) {
        int dot = version.indexOf('.');
        try {
            return Integer.parseInt(dot < 0 ? version : version.substring(0, dot)) >= 7;
        } catch (NumberFormatException e) {
            return true; // a version this check cannot read: the script itself decides
        }
    }

    /** Redis's {@code maxmemory-policy} as {@code INFO memory} tells it, or {@code null} when it cannot be read. */
    @Nullable String evictionPolicy() {
        return info("memory", "maxmemory_policy");
    }

    /** A field of an {@code INFO} section, or {@code null} when it cannot be read. */
    private @Nullable String info(String section, String field) {
        String prefix = field + ":";
        try {
            String info = client.info(section);
            if (infoRefused) {
                infoRefused = false;
                LOG.log(Level.INFO, "Redis at {0} lets the store read INFO again", endpoint);
            }
            for (String line : info.split("\r?\n")) {
                if (line.startsWith(prefix)) {
                    return line.substring(prefix.length()).trim();
                }
            }
        } catch (JedisDataException e) {
            String message = failure("INFO " + section + " could not be read", e);
            if (!infoRefused) {
                infoRefused = true;
                LOG.log(Level.WARNING, "{0}: the store cannot warn of appendonly no, an evicting maxmemory-policy or "
                        + "keys Redis evicted, each of which loses acknowledged events; grant its user INFO "
                        + "(see docs/replicas.md)", message);
            }
        } catch (JedisException e) {
            failure("INFO " + section + " could not be read", e);
        }
        return null;
    }

    /** Stops watching and closes the connections. */
    @Override
    public void close() {
        closed = true;
        watcher.shutdownNow();
        client.close();
    }

    @Override
    public String toString() {
        return "RedisSessionStore[" + endpoint + "]";
    }

    // ------------------------------------------------------------------------------------------ values

    /**
     * A session's snapshot from its hash's fields and values, alternating, and its records.
     *
     * @throws StoreUnavailableException when the hash is of another layout, or holds numbers of this layout that
     *                                   no batch writes (someone else set them), which no snapshot can hold
     */
    private static SessionMetrics metrics(String sessionId, List<?> hash, List<RequestRecord> records) {
        try {
            return snapshot(sessionId, hash, records);
        } catch (IllegalArgumentException | ArithmeticException | DateTimeException e) {
            throw anotherLayout(key(sessionId));
        }
    }

    private static SessionMetrics snapshot(String sessionId, List<?> hash, List<RequestRecord> records) {
        String key = key(sessionId);
        long lastActiveMs = -1;
        List<PairTotals> pairs = new ArrayList<>(2);
        List<Object> scoreFields = new ArrayList<>(0);
        for (int i = 0; i < hash.size(); i += 2) {
            String field = text(hash.get(i));
            byte[] value = (byte[]) hash.get(i + 1);
            if (field.equals("h")) {
                lastActiveMs = (long) numbers(value, HEADER_NUMBERS, key)[LAST_ACTIVE];
            } else if (field.startsWith("p:")) {
                pairs.add(pair(field.substring(2), numbers(value, PAIR_NUMBERS, key)));
            } else if (field.startsWith("s:")) {
                scoreFields.add(field.substring(2));
                scoreFields.add(numbers(value, SCORE_NUMBERS, key));
            } // and f:<label>, the session's requests in flight, which the store reads summed (llm:requests-in-flight)
        }
        if (lastActiveMs < 0) {
            throw anotherLayout(key); // a hash without a header
        }
        return PairTotals.metrics(sessionId, Instant.ofEpochMilli(lastActiveMs), pairs, records, scoreTotals(scoreFields));
    }

    /**
     * The score names' totals in order of first use, from their names and stored figures, alternating: ordinal,
     * count, sum, minimum, maximum.
     */
    private static List<ScoreTotals> scoreTotals(List<Object> namesAndFigures) {
        record Stored(long ordinal, ScoreTotals totals) {
        }
        List<Stored> stored = new ArrayList<>(namesAndFigures.size() / 2);
        for (int i = 0; i < namesAndFigures.size(); i += 2) {
            double[] f = (double[]) namesAndFigures.get(i + 1);
            stored.add(new Stored((long) f[0], new ScoreTotals((String) namesAndFigures.get(i), (long) f[1], f[2], f[3], f[4])));
        }
        stored.sort(Comparator.comparingLong(Stored::ordinal));
        return stored.stream().map(Stored::totals).toList();
    }

    /**
     * A pair from its stored figures: the {@link PairTotals.Figure}s up to {@code PRICED_REQUESTS} in their order,
     * the cost in whole dollars and the rest in picodollars, then the requests without usage.
     */
    private static PairTotals pair(String label, double[] n) {
        PairTotals pair = new PairTotals(label);
        PairTotals.Figure[] figures = PairTotals.Figure.values();
        int cost = PairTotals.Figure.COST_PICO_USD.ordinal();
        for (int i = 0; i < cost; i++) {
            pair.set(figures[i], (long) n[i]);
        }
        long dollars = (long) n[cost];
        long pico = (long) n[cost + 1];
        boolean past = dollars > Long.MAX_VALUE / PICO || dollars == Long.MAX_VALUE / PICO && pico > Long.MAX_VALUE % PICO;
        pair.set(PairTotals.Figure.COST_PICO_USD, past ? Long.MAX_VALUE : dollars * PICO + pico);
        pair.set(PairTotals.Figure.NO_USAGE_REQUESTS, (long) n[cost + 2]);
        return pair;
    }

    /**
     * The {@code count} numbers of a stored header or figures: MessagePack numbers after the layout number. All
     * are exact as doubles: the scripts compute in Lua's doubles.
     *
     * @throws StoreUnavailableException when the value is of another layout (written by another version)
     */
    private static double[] numbers(byte[] value, int count, String key) {
        try {
            double[] numbers = MessagePackNumbers.read(value);
            if (numbers.length == 1 + count && numbers[0] == LAYOUT) {
                return Arrays.copyOfRange(numbers, 1, numbers.length);
            }
        } catch (IllegalArgumentException e) {
            // of another layout, as below
        }
        throw anotherLayout(key);
    }

    private static StoreUnavailableException anotherLayout(String key) {
        return new StoreUnavailableException("Redis holds " + key + " in a layout this version of llm-metrics "
                + "does not read; empty the Redis database (see docs/replicas.md)", null);
    }

    /** {@code text} as the UTF-8 bytes Redis is sent. */
    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** A bulk string of a script's answer as text. */
    private static String text(Object bulk) {
        return new String((byte[]) bulk, StandardCharsets.UTF_8);
    }

    private static final long PICO = 1_000_000_000_000L;

    /**
     * The script's arguments for a batch, with each event's model label and cost kept for this process's figures.
     *
     * <p>A start only marks its session active, which any other event of the session in the batch does too. So a
     * start without an event id is left out of the script when another event of its session without one (always
     * applied: only ids are checked against earlier batches) is sent, its carrier; it is applied with it.
     */
    static final class Batch {
        /** The script's arguments per event; record.lua reads them in this order. */
        static final int FIELDS = 6;
        /** The script's arguments before the events'. */
        static final int HEADER = 11;
        /**
         * The longest expiry the script is given, about 35 700 years: the dedupe window may be up to
         * {@code Long.MAX_VALUE} ms, but the script hands it to {@code SET … PX} as a Lua number,
         * which Redis receives as {@code 1e+17} from 10^17 ms on and refuses (and past {@code Long.MAX_VALUE} minus
         * now in any form), after the batch's writes; an expiry this far off is never reached either way.
         */
        static final long MAX_EXPIRY_MS = 1L << 50;
        private static final byte[] EMPTY = {};
        private static final byte[] STARTED = bytes("S");
        private static final byte[] COMPLETED = bytes("C");
        private static final byte[] FAILED = bytes("F");
        private static final byte[] SCORED = bytes("R");
        private static final byte[] GENERIC = bytes("G");
        final SessionStoreFactory.Parameters bounds;
        final byte[][] args;
        /** Each completed or failed event's model label; {@code null} for the other kinds. */
        final @Nullable String[] labels;
        /** Whether each completed or failed event's model is past the catalog's labels ({@link Model#overflowed}). */
        final boolean[] unlabelled;
        final long[] costs;
        /** Per event, the index of the event whose applying applies it when it is left out, else -1. */
        final int[] carriers;
        /** The index of each event sent, in the order the script numbers them from 1. */
        private final int[] sent;

        Batch(List<? extends Event> events, SessionStoreFactory.Parameters bounds) {
            this.bounds = bounds;
            int n = events.size();
            labels = new String[n];
            unlabelled = new boolean[n];
            costs = new long[n];
            carriers = carriers(events);
            int count = 0;
            sent = new int[n];
            int[] numbers = new int[n];
            for (int i = 0; i < n; i++) {
                if (carriers[i] < 0) {
                    sent[count++] = i;
                    numbers[i] = count;
                }
            }
            args = new byte[HEADER + FIELDS * count][];
            args[0] = bytes(Long.toString(bounds.clock().millis()));
            args[1] = bytes(Integer.toString(bounds.maxSessions()));
            args[2] = bytes(Integer.toString(bounds.maxRecordsPerSession()));
            args[3] = bytes(Integer.toString(bounds.maxModelsPerSession()));
            args[4] = bytes(Long.toString(bounds.maxBytes()));
            args[5] = bytes(Long.toString(Math.min(bounds.dedupeWindow().toMillis(), MAX_EXPIRY_MS)));
            args[6] = bytes(Integer.toString(count));
            args[7] = bytes(PREFIX);
            args[8] = bytes(Integer.toString(SessionStore.MAX_SCORE_NAMES));
            args[9] = startsAndEnds(events, numbers);
            args[10] = bytes(Long.toString(InFlightRequests.bucketMs(bounds.idleTimeout())));
            for (int k = 0; k < count; k++) {
                put(sent[k], events.get(sent[k]), HEADER + FIELDS * k);
            }
        }

        /**
         * The batch's starts and ends of requests in its order, as record.lua counts them in flight: per start or
         * end, the number of the event sent whose applying applies it (a start left out goes with its carrier),
         * positive for a start and negative for an end, the model's label, and how long an end's call ran in ms (-1
         * for a start, and for an end that does not say). A start followed, among its label's,
         * by an end of the same number (a call whose start its end carries) is left out with that end: applied
         * together, they leave the count as it was, whatever it was.
         */
        private byte[] startsAndEnds(List<? extends Event> events, int[] numbers) {
            int n = events.size();
            int[] signed = new int[n];
            String[] labels = new String[n];
            long[] durations = new long[n];
            int[] below = new int[n]; // the op under each in its label's stack, -1 for none
            boolean[] kept = new boolean[n];
            Map<String, Integer> top = new HashMap<>();
            int count = 0;
            for (int i = 0; i < n; i++) {
                Event event = events.get(i);
                boolean start = event instanceof LlmRequestStarted;
                String model = switch (event) {
                    case LlmRequestStarted s -> s.model();
                    case LlmRequestCompleted c -> c.model();
                    case LlmRequestFailed f -> f.model();
                    default -> null;
                };
                if (model == null) {
                    continue;
                }
                int number = numbers[carriers[i] < 0 ? i : carriers[i]];
                String label = bounds.catalog().model(model).label();
                Integer under = top.get(label);
                if (!start && under != null && signed[under] == number) {
                    kept[under] = false; // the start this end cancels
                    count--;
                    if (below[under] < 0) {
                        top.remove(label);
                    } else {
                        top.put(label, below[under]);
                    }
                    continue;
                }
                signed[i] = start ? number : -number;
                labels[i] = label;
                durations[i] = switch (event) {
                    case LlmRequestCompleted c -> c.durationMs();
                    case LlmRequestFailed f when f.hasDuration() -> f.durationMs();
                    default -> -1;
                };
                below[i] = under == null ? -1 : under;
                kept[i] = true;
                count++;
                top.put(label, i);
            }
            int[] keptNumbers = new int[count];
            String[] keptLabels = new String[count];
            long[] keptDurations = new long[count];
            for (int i = 0, k = 0; i < n; i++) {
                if (kept[i]) {
                    keptNumbers[k] = signed[i];
                    keptDurations[k] = durations[i];
                    keptLabels[k++] = labels[i];
                }
            }
            return MessagePackNumbers.numberedTexts(keptNumbers, keptLabels, keptDurations);
        }

        /** The index in the batch of the event the script numbers {@code number} (from 1). */
        int eventAt(int number) {
            return sent[number - 1];
        }

        /**
         * Per event, its carrier when it is a start left out, else -1: the session's first completed, failed or
         * scored event without an event id, or, when it has none, its first start without one, which is sent.
         */
        private static int[] carriers(List<? extends Event> events) {
            int n = events.size();
            int[] carriers = new int[n];
            Arrays.fill(carriers, -1);
            Map<String, Integer> carrierOf = null;
            for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < n; i++) {
                    Event event = events.get(i);
                    boolean start = event instanceof LlmRequestStarted;
                    if (event.eventId() != null || event instanceof GenericEvent || start != (pass == 1)) {
                        continue;
                    }
                    if (carrierOf == null) {
                        carrierOf = new HashMap<>();
                    }
                    Integer carrier = carrierOf.putIfAbsent(event.sessionId(), i);
                    if (start && carrier != null) {
                        carriers[i] = carrier;
                    }
                }
            }
            return carriers;
        }

        /**
         * Writes one event's arguments: session id, event id, kind, name, figures (MessagePack numbers, which the
         * script reads in one call) and encoded record.
         */
        private void put(int i, Event event, int at) {
            String sessionId = event.sessionId();
            String eventId = event.eventId();
            byte[] kind;
            String name = "";
            byte[] numbers = EMPTY;
            String record = "";
            long cost = -1;
            switch (event) {
                case LlmRequestCompleted c -> {
                    Model model = bounds.catalog().model(c.model());
                    kind = COMPLETED;
                    name = labels[i] = model.label();
                    unlabelled[i] = model.overflowed(model.label());
                    cost = model.costPicoUsd(c);
                    numbers = completedFigures(c, cost);
                    record = RecordCodec.completed(c, cost);
                }
                case LlmRequestFailed f -> {
                    kind = FAILED;
                    Model model = bounds.catalog().model(f.model());
                    name = labels[i] = model.label();
                    unlabelled[i] = model.overflowed(model.label());
                    record = RecordCodec.failed(f);
                }
                case LlmRequestStarted s -> kind = STARTED;
                case LlmRequestScored s -> {
                    kind = SCORED;
                    name = s.name();
                    numbers = MessagePackNumbers.ofDouble(s.value());
                    record = s.correlationId() == null ? "" : RecordCodec.score(s);
                }
                case GenericEvent g -> kind = GENERIC;
            }
            costs[i] = cost;
            args[at] = sessionId == null ? EMPTY : bytes(sessionId);
            args[at + 1] = eventId == null ? EMPTY : bytes(eventId);
            args[at + 2] = kind;
            args[at + 3] = name.isEmpty() ? EMPTY : bytes(name);
            args[at + 4] = numbers;
            args[at + 5] = record.isEmpty() ? EMPTY : bytes(record);
        }

        /**
         * A completed request's figures in record.lua's order: duration, prompt, completion, total, cached and
         * reasoning tokens (0 without usage), tool calls, costed, cost in whole dollars and the rest in
         * picodollars, usage reported. Each is exact as a double: the cost is split so that no part reaches 2^53.
         */
        private static byte[] completedFigures(LlmRequestCompleted c, long cost) {
            boolean usage = c.hasUsage();
            return MessagePackNumbers.ofLongs(c.durationMs(),
                    usage ? c.promptTokens() : 0, usage ? c.completionTokens() : 0, usage ? c.totalTokens() : 0,
                    usage ? c.cachedTokens() : 0, usage ? c.reasoningTokens() : 0,
                    c.hasToolCalls() ? 1 : 0,
                    cost >= 0 ? 1 : 0, cost >= 0 ? cost / PICO : 0, cost >= 0 ? cost % PICO : 0,
                    usage ? 1 : 0);
        }
    }
}
