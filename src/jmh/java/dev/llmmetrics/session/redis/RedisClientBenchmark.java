package dev.llmmetrics.session.redis;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.session.SessionStoreFactory;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import redis.clients.jedis.ConnectionPoolConfig;

/**
 * The Redis client chosen for {@link RedisSessionStore}: Lettuce (one connection shared by every caller, which
 * pipelines their commands) against Jedis (its RedisClient, a pool of 16 connections, one per caller at a time), 16 threads as
 * 16 HTTP connections would be, each running the store's real batch script (100 events, 50 sessions of 1000)
 * or its read script (one session). Needs a redis-server at {@code -Dbench.redis=host:port} (default
 * 127.0.0.1:6391), which it empties. Run with {@code bin/bench jmh RedisClientBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(16)
@Fork(1)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 10)
public class RedisClientBenchmark {

    @Param({"lettuce", "jedis"})
    public String client;

    /**
     * How a batch's calls are shaped: {@code whole}, each call's STARTED and COMPLETED in the batch (the start
     * carried by its end); {@code split}, the STARTED of 50 calls and the COMPLETED of 50 others, as a client that
     * sends its events as they happen posts them.
     */
    @Param({"whole"})
    public String calls;

    private static final int BATCHES = 64;
    private final AtomicInteger next = new AtomicInteger();
    private byte[][][] batches;
    private RedisClient lettuce;
    private StatefulRedisConnection<byte[], byte[]> connection;
    private RedisCommands<byte[], byte[]> commands;
    private redis.clients.jedis.RedisClient jedis;
    private Script read;

    @Setup(Level.Trial)
    public void setUp() {
        String[] hostPort = System.getProperty("bench.redis", "127.0.0.1:6391").split(":");
        SessionStoreFactory.Parameters bounds = new SessionStoreFactory.Parameters(10_000, 1000, 8, Long.MAX_VALUE,
                Duration.ofHours(1), Duration.ofMinutes(10), 100_000, InstantSource.system(),
                new ModelCatalog(PriceTable.EMPTY, 200));
        String[] models = {"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro", "llama-3.3-70b"};
        batches = new byte[BATCHES][][];
        for (int b = 0; b < BATCHES; b++) {
            List<Event> events = new ArrayList<>();
            for (int k = 0; k < 50; k++) {
                int n = (b * 50 + k) % 1000;
                String session = String.format("post-session-%06d", n);
                String model = models[n % models.length];
                String started = calls.equals("whole") ? session : String.format("post-session-%06d", (n + 500) % 1000);
                events.add(LlmRequestStarted.builder(started, model).messagesCount(4).toolsCount(1).build());
                events.add(LlmRequestCompleted.builder(session, model).durationMs(200 + n).promptTokens(50 + n)
                        .completionTokens(10 + n).totalTokens(60 + 2 * n).hasToolCalls(n % 4 == 0).build());
            }
            batches[b] = new RedisSessionStore.Batch(events, bounds).args;
        }
        read = Script.load("read");
        lettuce = RedisClient.create("redis://" + hostPort[0] + ":" + hostPort[1]);
        connection = lettuce.connect(ByteArrayCodec.INSTANCE);
        commands = connection.sync();
        commands.flushall();
        commands.scriptLoad(RedisSessionStore.RECORD.body());
        commands.scriptLoad(read.body());
        ConnectionPoolConfig pool = new ConnectionPoolConfig();
        pool.setMaxTotal(16);
        pool.setMaxIdle(16);
        jedis = (redis.clients.jedis.RedisClient) redis.clients.jedis.RedisClient.builder()
                .hostAndPort(hostPort[0], Integer.parseInt(hostPort[1])).poolConfig(pool).build();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        jedis.close();
        connection.close();
        lettuce.shutdown();
    }

    /** One batch of 100 events through the store's script. */
    @Benchmark
    public Object recordBatch() {
        byte[][] args = batches[Math.floorMod(next.getAndIncrement(), BATCHES)];
        return client.equals("lettuce")
                ? commands.evalsha(RedisSessionStore.RECORD.sha(), ScriptOutputType.MULTI, RedisSessionStore.WRITE_KEYS, args)
                : jedis.evalsha(RedisSessionStore.bytes(RedisSessionStore.RECORD.sha()), Arrays.asList(RedisSessionStore.WRITE_KEYS),
                        Arrays.asList(args));
    }

    /** One session's hash and records through the store's read script. */
    @Benchmark
    public Object readSession() {
        byte[] key = RedisSessionStore.bytes(String.format("llm:{post-session-%06d}", Math.floorMod(next.getAndIncrement(), 1000)));
        return client.equals("lettuce")
                ? commands.evalsha(read.sha(), ScriptOutputType.MULTI, new byte[0][], key)
                : jedis.evalsha(RedisSessionStore.bytes(read.sha()), List.of(), List.of(key));
    }
}
