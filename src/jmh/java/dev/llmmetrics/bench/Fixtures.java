package dev.llmmetrics.bench;

import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestStarted;
import java.time.Instant;
import java.util.Random;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Shared inputs of the benchmarks: models, session ids and events, all deterministic. */
public final class Fixtures {

    /** The five models every benchmark spreads its sessions over. */
    public static final String[] MODELS = {"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro", "llama-3.3-70b"};

    /** A fixed event timestamp, so that building events does not read the clock. */
    public static final Instant T0 = Instant.parse("2026-01-17T15:30:00Z");

    /** Held so that the level set below sticks: java.util.logging keeps loggers weakly. */
    private static Logger requestLogger;

    private Fixtures() {
    }

    /**
     * Sets the level of the collector's per-request logger ({@code dev.llmmetrics.requests}). The benchmarks
     * run it at WARNING, as the README advises for production ("turn it down to WARNING to silence them at
     * no cost"). At INFO the lines are formatted and written to a discarding stream, so the figure is the
     * cost of producing the lines without the terminal's.
     */
    public static synchronized void requestLog(String level) {
        requestLogger = Logger.getLogger("dev.llmmetrics.requests");
        requestLogger.setLevel(Level.parse(level));
        if (requestLogger.getLevel().intValue() <= Level.INFO.intValue()) {
            requestLogger.setUseParentHandlers(false);
            java.util.logging.StreamHandler discard = new java.util.logging.StreamHandler(
                    java.io.OutputStream.nullOutputStream(), new java.util.logging.SimpleFormatter());
            discard.setLevel(Level.ALL);
            requestLogger.addHandler(discard);
        }
    }

    /** {@code n} distinct UUID-shaped session ids (36 characters, as producers usually send). */
    public static String[] sessionIds(int n, long seed) {
        Random random = new Random(seed);
        String[] ids = new String[n];
        for (int i = 0; i < n; i++) {
            ids[i] = new UUID(random.nextLong(), random.nextLong()).toString();
        }
        return ids;
    }

    /** The model of the {@code i}-th session: sessions are spread round-robin over {@link #MODELS}. */
    public static String modelOf(int sessionIndex) {
        return MODELS[Math.floorMod(sessionIndex, MODELS.length)];
    }

    /**
     * A completed event with plausible numbers: 0.2 to 12 s, 50 to 4 000 prompt tokens, 10 to 1 500
     * completion tokens, a quarter of them with tool calls.
     */
    public static LlmRequestCompleted completed(String sessionId, String model, Random random) {
        int prompt = 50 + random.nextInt(3_950);
        int completion = 10 + random.nextInt(1_490);
        return LlmRequestCompleted.builder(sessionId, model).durationMs(200 + random.nextInt(11_800))
                .promptTokens(prompt).completionTokens(completion).hasToolCalls(random.nextInt(4) == 0)
                .timestamp(T0).build();
    }

    /** A started event with 1 to 40 messages and 0 to 7 tools. */
    public static LlmRequestStarted started(String sessionId, String model, Random random) {
        return LlmRequestStarted.builder(sessionId, model).messagesCount(1 + random.nextInt(40))
                .toolsCount(random.nextInt(8)).timestamp(T0).build();
    }
}
