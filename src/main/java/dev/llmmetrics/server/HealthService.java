package dev.llmmetrics.server;

import dev.llmmetrics.session.SessionStore;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * {@code GET /health}: liveness, 200 whenever the server answers; {@code GET /health/ready}: readiness, 503 while
 * the session store cannot be reached (a store on a server), so that a load balancer sends events elsewhere.
 */
final class HealthService implements HttpService {

    private final SessionStore store;

    HealthService(SessionStore store) {
        this.store = store;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::health)
                .any("/", MethodNotAllowed.allowing(Method.GET))
                .get("/ready", this::ready)
                .any("/ready", MethodNotAllowed.allowing(Method.GET));
    }

    private void ready(ServerRequest request, ServerResponse response) {
        if (store.ready()) {
            Json.send(response, Status.OK_200, new Readiness("UP", null));
        } else {
            Json.send(response, Status.SERVICE_UNAVAILABLE_503, new Readiness("DOWN",
                    "the session store cannot be reached; events get 503 store_unavailable until it can"));
        }
    }

    private void health(ServerRequest request, ServerResponse response) {
        Json.send(response, Status.OK_200, new Health("UP", store.sessionCount()));
    }

    /** The readiness answer; {@code reason} says why it is not ready. */
    record Readiness(String status, @org.jspecify.annotations.Nullable String reason) {
    }

    /** The health answer. */
    record Health(String status, int sessions) {
    }
}
