package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.llmmetrics.server.HostileSupport.RawResponse;
import io.helidon.http.Method;
import io.helidon.http.PathMatchers;
import io.helidon.webserver.WebServer;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link HeadRoutes} adds HEAD beside a route for GET however the route is added, not only through {@code get}:
 * {@code route(Method.GET, …)} and a route for several methods, GET among them, answer HEAD too.
 */
class HeadRoutesTest {

    @Test
    void aGetRouteAddedThroughRouteOrForSeveralMethodsAnswersHeadToo() throws IOException {
        byte[] body = "body\n".getBytes(StandardCharsets.UTF_8);
        WebServer server = WebServer.builder().host("127.0.0.1").port(0)
                .routing(routing -> HeadRoutes.of(routing)
                        .route(Method.GET, "/route", (request, response) -> response.send(body))
                        .route(Method.predicate(Method.GET, Method.POST), PathMatchers.exact("/either"),
                                (request, response) -> response.send(body))
                        .route(Method.GET, (request, response) -> response.send(body)))
                .build()
                .start();
        try {
            for (String target : List.of("/route", "/either", "/any-path")) {
                try (Socket socket = new Socket("127.0.0.1", server.port())) {
                    socket.setSoTimeout(10_000);
                    socket.getOutputStream().write(HostileSupport.concat(HostileSupport.request("HEAD", target),
                            HostileSupport.request("GET", target, "Connection: close")));
                    RawResponse head = HostileSupport.readResponse(socket.getInputStream(), true);
                    RawResponse get = HostileSupport.readResponse(socket.getInputStream(), false);
                    assertEquals(200, head.status(), target);
                    assertEquals(String.valueOf(body.length), head.headers().get("content-length"), target);
                    assertEquals(0, head.body().length, target);
                    assertEquals(200, get.status(), target + ": the GET after it is read whole");
                    assertEquals("body\n", new String(get.body(), StandardCharsets.UTF_8), target);
                }
            }
        } finally {
            server.stop();
        }
    }
}
