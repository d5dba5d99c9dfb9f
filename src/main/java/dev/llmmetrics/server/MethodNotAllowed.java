package dev.llmmetrics.server;

import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The answer to a request for a path that exists, with a method it does not take: 405 with the
 * {@code Allow} header RFC 9110 (section 15.5.6) requires, and a JSON body like every error. A service
 * registers one with {@code any(path, ...)} after the routes of each of its paths.
 */
final class MethodNotAllowed implements Handler {

    private final String allow;

    private MethodNotAllowed(String allow) {
        this.allow = allow;
    }

    /**
     * A 405 answer naming {@code methods}, the ones the path takes, and {@code HEAD} after {@code GET}: every
     * {@code GET} route of these paths takes it ({@link HeadRoutes}).
     */
    static MethodNotAllowed allowing(Method... methods) {
        return new MethodNotAllowed(Arrays.stream(methods)
                .flatMap(m -> m == Method.GET ? Stream.of(Method.GET, Method.HEAD) : Stream.of(m))
                .map(Method::text).collect(Collectors.joining(", ")));
    }

    @Override
    public void handle(ServerRequest request, ServerResponse response) {
        response.header(HeaderNames.ALLOW, allow);
        ApiError.send(request, response, Status.METHOD_NOT_ALLOWED_405, "method_not_allowed",
                request.prologue().method().text() + " is not allowed here; allowed: " + allow);
    }
}
