package dev.llmmetrics.server;

import dev.llmmetrics.session.SessionStore;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;

/**
 * {@code GET /health}: liveness, 200 whenever the server answers; {@code GET /health/ready}: readiness, 503 while
 * the session store cannot record (a store on a server it cannot reach, a store in a file it cannot write), with
 * the store's reason, so that a load balancer sends events elsewhere. Both answer {@code HEAD} too
 * ({@link HeadRoutes}), as uptime monitors ask by default.
 */
final class HealthService implements HttpService {

    private static final Readiness UP = new Readiness("UP", null);

    private final SessionStore store;

    HealthService(SessionStore store) {
        this.store = store;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", (request, response) -> Json.send(response, Status.OK_200, health()))
                .any("/", MethodNotAllowed.allowing(Method.GET))
                .get("/ready", (request, response) -> {
                    Readiness readiness = readiness();
                    Json.send(response, readiness.httpStatus(), readiness);
                })
                .any("/ready", MethodNotAllowed.allowing(Method.GET));
    }

    private Readiness readiness() {
        return store.notReadyBecause().map(because -> new Readiness("DOWN",
                because + "; events get 503 store_unavailable meanwhile")).orElse(UP);
    }

    private Health health() {
        return new Health("UP", store.sessionCount());
    }

    /** The readiness answer; {@code reason} says why it is not ready. */
    record Readiness(String status, @org.jspecify.annotations.Nullable String reason) {

        /** 200 when up, 503 when not. */
        Status httpStatus() {
            return reason == null ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503;
        }
    }

    /** The health answer. */
    record Health(String status, int sessions) {
    }
}
