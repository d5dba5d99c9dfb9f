package dev.llmmetrics.server;

import dev.llmmetrics.session.SessionStore;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/** {@code GET /health}: liveness and readiness; the server is ready as soon as it answers. */
final class HealthService implements HttpService {

    private final SessionStore store;

    HealthService(SessionStore store) {
        this.store = store;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::health);
    }

    private void health(ServerRequest request, ServerResponse response) {
        Json.send(response, Status.OK_200, new Health("UP", store.sessionCount()));
    }

    /** The health answer. */
    record Health(String status, int sessions) {
    }
}
