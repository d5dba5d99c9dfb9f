package dev.llmmetrics.http;

import dev.llmmetrics.collect.SessionMetricsCollector;
import dev.llmmetrics.store.SessionStore;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;

/**
 * The sessions resource under {@code /events/metrics}: one session's metrics in the original design's
 * shape, the list of sessions, and clearing a session from store and meters.
 */
final class SessionService implements HttpService {

    /** The most ids one page of the session list holds. */
    static final int MAX_PAGE = 10_000;

    private final SessionStore store;
    private final SessionMetricsCollector collector;

    SessionService(SessionStore store, SessionMetricsCollector collector) {
        this.store = store;
        this.collector = collector;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/session/{session_id}", this::session)
                .delete("/session/{session_id}", this::clear)
                .get("/sessions", this::sessions);
    }

    private void session(ServerRequest request, ServerResponse response) {
        String id = request.path().pathParameters().get("session_id");
        store.session(id).ifPresentOrElse(
                metrics -> Json.send(response, Status.OK_200, metrics),
                () -> notFound(response));
    }

    private void clear(ServerRequest request, ServerResponse response) {
        String id = request.path().pathParameters().get("session_id");
        if (collector.clearSession(id)) {
            Json.send(response, Status.OK_200, new Cleared(id, true));
        } else {
            notFound(response);
        }
    }

    private void sessions(ServerRequest request, ServerResponse response) {
        int limit = QueryParams.intParam(request.query(), "limit", MAX_PAGE, 0, MAX_PAGE);
        int offset = QueryParams.intParam(request.query(), "offset", 0, 0, Integer.MAX_VALUE);
        List<String> ids = store.sessionIds(offset, limit);
        Json.send(response, Status.OK_200, new SessionList(ids, ids.size(), store.sessionCount()));
    }

    private static void notFound(ServerResponse response) {
        ApiError.send(response, Status.NOT_FOUND_404, "session_not_found", "no metrics for this session");
    }

    /**
     * @param sessions session ids, most recently active first
     * @param count    ids in this answer (the original design's field)
     * @param total    sessions held in the store
     */
    record SessionList(List<String> sessions, int count, int total) {
    }

    /** The answer to a successful DELETE. */
    record Cleared(String sessionId, boolean cleared) {
    }
}
