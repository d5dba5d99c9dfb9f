package dev.llmmetrics.meter;

import dev.llmmetrics.cost.ModelCatalog;
import java.time.Duration;

/**
 * Meter names (Micrometer's dotted form; Prometheus shows them with underscores and unit suffixes),
 * tag keys and histogram boundaries of the per-model meters: the one place each is declared.
 */
public final class MeterNames {

    public static final String REQUESTS = "llm.requests";
    public static final String REQUEST_DURATION = "llm.request.duration";
    public static final String TOKENS = "llm.tokens";
    public static final String REQUESTS_IN_FLIGHT = "llm.requests.in.flight";
    public static final String REQUEST_MESSAGES = "llm.request.messages";
    public static final String REQUEST_TOOLS = "llm.request.tools";
    public static final String TOOL_CALL_REQUESTS = "llm.tool.call.requests";
    public static final String COST = "llm.cost.usd";
    public static final String UNPRICED_REQUESTS = "llm.unpriced.requests";
    public static final String REQUEST_ERRORS = "llm.request.errors";
    public static final String CACHED_TOKENS = "llm.cached.tokens";
    public static final String REASONING_TOKENS = "llm.reasoning.tokens";
    public static final String TIME_TO_FIRST_TOKEN = "llm.time.to.first.token";
    public static final String TIME_PER_OUTPUT_TOKEN = "llm.time.per.output.token";

    public static final String SCORE = "llm.score";

    public static final String SESSIONS_ACTIVE = "llm.sessions.active";
    public static final String SESSIONS_EVICTED = "llm.sessions.evicted";

    public static final String TAG_SESSION = "session";
    public static final String TAG_MODEL = "model";
    public static final String TAG_OUTCOME = "outcome";
    public static final String TAG_TYPE = "type";
    public static final String TAG_REASON = "reason";
    public static final String TAG_ERROR_TYPE = "error_type";
    public static final String TAG_NAME = "name";

    public static final String OUTCOME_SUCCESS = "success";
    public static final String OUTCOME_FAILURE = "failure";
    public static final String TYPE_PROMPT = "prompt";
    public static final String TYPE_COMPLETION = "completion";

    public static final String UNIT_TOKENS = "tokens";
    public static final String UNIT_MESSAGES = "messages";
    public static final String UNIT_TOOLS = "tools";

    /** The model label of per-model meters once the bound on distinct models is reached. */
    public static final String OTHER_MODEL = ModelCatalog.OTHER_LABEL;

    /**
     * The model label of a score whose request the store did not hold when the score came: a score of a whole
     * session, one that came before its request finished, or one whose request's record was no longer kept. A
     * reserved label: a model of that name is counted under {@link #OTHER_MODEL}.
     */
    public static final String UNKNOWN_MODEL = ModelCatalog.UNKNOWN_LABEL;

    /**
     * Score buckets: 1, 2, 3, 4, 5 and 10, for ratings on scales of 1 to 5 or 10. Micrometer counts a value in
     * the bucket of its ceiling, so only whole-number boundaries count exactly; grades from 0 to 1 and yes/no
     * verdicts (1 or 0) are read by their mean, {@code _sum / _count}.
     */
    static final double[] SCORE_BUCKETS = {1, 2, 3, 4, 5, 10};

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
