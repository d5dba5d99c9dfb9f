package dev.llmmetrics.session;

import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;

/**
 * The per-request log lines, written by the store as it applies an event, so that the session totals they
 * quote are the ones the event produced. Off unless the logger {@value #LOGGER} is at INFO; free text is cut
 * to {@value #MAX_TEXT} characters.
 */
final class RequestLog {

    /** The logger of the per-request lines. */
    static final String LOGGER = "dev.llmmetrics.requests";
    /** Longest error text written into a line. */
    static final int MAX_TEXT = 200;

    private static final Logger LOG = System.getLogger(LOGGER);

    private RequestLog() {
    }

    /** The tokens of a completed request as the log line gives them. */
    private static String tokens(LlmRequestCompleted e) {
        return e.hasUsage() ? e.totalTokens() + " tokens" : "no token usage";
    }

    /** Logs {@code event} and, for a finished request, its session's totals; call under the session's monitor. */
    static void logged(Event event, SessionState session) {
        if (!LOG.isLoggable(Level.INFO)) {
            return;
        }
        switch (event) {
            case LlmRequestStarted e -> LOG.log(Level.INFO, "LLM request started for session {0}", e.sessionId());
            case LlmRequestCompleted e -> {
                LOG.log(Level.INFO, "LLM request completed for session {0}: {1}ms, {2}",
                        e.sessionId(), String.valueOf(e.durationMs()), tokens(e));
                totals(session);
            }
            case LlmRequestFailed e -> {
                String error = e.error().length() > MAX_TEXT ? e.error().substring(0, MAX_TEXT) + "…" : e.error();
                LOG.log(Level.INFO, "LLM request failed for session {0}: {1}", e.sessionId(), error);
                totals(session);
            }
            default -> {
                // Generic events are not a session's requests.
            }
        }
    }

    private static void totals(SessionState session) {
        SessionMetrics m = session.summary();
        LOG.log(Level.INFO, "Session {0} metrics updated: {1} requests, {2} tokens", session.id,
                String.valueOf(m.totalRequests()), String.valueOf(m.totalTokens()));
    }
}
