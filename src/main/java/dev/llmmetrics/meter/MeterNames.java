package dev.llmmetrics.meter;

import java.time.Duration;

/**
 * Meter names (Micrometer's dotted form; Prometheus shows them with underscores and unit suffixes),
 * tag keys and histogram boundaries. The README's meter list mirrors this class.
 */
final class MeterNames {

    static final String SESSION_REQUESTS = "llm.session.requests";
    static final String SESSION_REQUEST_DURATION = "llm.session.request.duration";
    static final String SESSION_TOKENS = "llm.session.tokens";
    static final String SESSION_TOOL_CALL_REQUESTS = "llm.session.tool.call.requests";
    static final String SESSION_COST = "llm.session.cost.usd";

    static final String REQUESTS = "llm.requests";
    static final String REQUEST_DURATION = "llm.request.duration";
    static final String TOKENS = "llm.tokens";
    static final String REQUESTS_IN_FLIGHT = "llm.requests.in.flight";
    static final String REQUEST_MESSAGES = "llm.request.messages";
    static final String REQUEST_TOOLS = "llm.request.tools";
    static final String COST = "llm.cost.usd";
    static final String UNPRICED_REQUESTS = "llm.unpriced.requests";
    static final String CACHED_TOKENS = "llm.cached.tokens";
    static final String REASONING_TOKENS = "llm.reasoning.tokens";
    static final String TIME_TO_FIRST_TOKEN = "llm.time.to.first.token";
    static final String TIME_PER_OUTPUT_TOKEN = "llm.time.per.output.token";

    static final String SESSIONS_ACTIVE = "llm.sessions.active";
    static final String SESSIONS_METERED = "llm.sessions.metered";
    static final String SESSIONS_EVICTED = "llm.sessions.evicted";

    static final String TAG_SESSION = "session";
    static final String TAG_MODEL = "model";
    static final String TAG_OUTCOME = "outcome";
    static final String TAG_TYPE = "type";
    static final String TAG_REASON = "reason";

    static final String OUTCOME_SUCCESS = "success";
    static final String OUTCOME_FAILURE = "failure";
    static final String TYPE_PROMPT = "prompt";
    static final String TYPE_COMPLETION = "completion";

    static final String UNIT_TOKENS = "tokens";
    static final String UNIT_MESSAGES = "messages";
    static final String UNIT_TOOLS = "tools";

    /** The model label of per-model meters once the bound on distinct models is reached. */
    static final String OTHER_MODEL = "_other";

    /**
     * Latency buckets: the OpenTelemetry GenAI advisory boundaries for
     * {@code gen_ai.client.operation.duration}, 0.01 s doubling to 81.92 s.
     */
    static final Duration[] DURATION_BUCKETS = doubling(Duration.ofMillis(10), 14);

    /** Token buckets: powers of 4 from 1 to 4^13 = 67 108 864, the GenAI advisory token boundaries. */
    static final double[] TOKEN_BUCKETS = powersOfFour(14);

    /**
     * Time-per-output-token buckets: 1 ms doubling to 8.192 s. Decoding takes a few to a few hundred
     * milliseconds per token, below the latency buckets' first boundary of 10 ms.
     */
    static final Duration[] PER_TOKEN_BUCKETS = doubling(Duration.ofMillis(1), 14);

    private MeterNames() {
    }

    private static Duration[] doubling(Duration first, int count) {
        Duration[] buckets = new Duration[count];
        for (int i = 0; i < count; i++) {
            buckets[i] = first.multipliedBy(1L << i);
        }
        return buckets;
    }

    private static double[] powersOfFour(int count) {
        double[] buckets = new double[count];
        for (int i = 0; i < count; i++) {
            buckets[i] = Math.pow(4, i);
        }
        return buckets;
    }
}
