package dev.llmmetrics.server;

import io.helidon.common.uri.UriQuery;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.PathMatcher;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.ServerResponseTrailers;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRoute;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * {@code HEAD} on every {@code GET} route (RFC 9110 section 9.1: a general-purpose server must support it): rules
 * that route a {@code HEAD} to each handler of a {@code GET} route, answered as the {@code GET} would be, the same
 * status, headers and 304 or 4xx decisions, without the body. Helidon routes {@code HEAD} only where a route names
 * it, and writes whatever body a handler sends, also to a {@code HEAD}, where a client reads it as the start of the
 * next answer.
 *
 * <p>The handler writes its answer once into a response that counts the body's bytes and drops them, then sends the
 * headers with that count as {@code Content-Length} (RFC 9110 section 8.6 allows it on {@code HEAD} when it is the
 * {@code GET}'s length; a {@code GET} answer written in more than one piece, a scrape, goes in chunks and states
 * none). The {@code GET} routes are the handlers themselves, untouched.
 */
final class HeadRoutes {

    private HeadRoutes() {
    }

    /**
     * {@code rules}, with every route for {@code GET} (but one built whole), of it and of the services registered on
     * it, taking HEAD too.
     */
    static HttpRules of(HttpRules rules) {
        return rules instanceof Rules ? rules : new Rules(rules);
    }

    /**
     * The rules: a route for {@code GET} and not {@code HEAD} gets a HEAD route beside it, however it is added
     * ({@code get}, {@code route(Method.GET, …)}, a predicate of several methods), as {@code get} and the
     * {@code route} methods taking a {@link Handler} all come to the two below; everything else is {@code delegate}'s.
     * A route built whole ({@link HttpRoute}, or {@code route} with a function of the request) is left as it is.
     */
    private record Rules(HttpRules delegate) implements HttpRules {

        @Override
        public HttpRules register(HttpService... services) {
            delegate.register(Arrays.stream(services).map(HeadRoutes::service).toArray(HttpService[]::new));
            return this;
        }

        @Override
        public HttpRules register(String pathPattern, HttpService... services) {
            delegate.register(pathPattern, Arrays.stream(services).map(HeadRoutes::service).toArray(HttpService[]::new));
            return this;
        }

        @Override
        public HttpRules route(HttpRoute route) {
            delegate.route(route);
            return this;
        }

        @Override
        public HttpRules route(Predicate<Method> methods, PathMatcher path, Handler handler) {
            delegate.route(methods, path, handler);
            if (methods.test(Method.GET) && !methods.test(Method.HEAD)) {
                delegate.route(Method.predicate(Method.HEAD), path, new Head(handler));
            }
            return this;
        }

        @Override
        public HttpRules route(Method method, Handler handler) {
            delegate.route(method, handler);
            if (Method.GET.equals(method)) {
                delegate.route(Method.HEAD, new Head(handler));
            }
            return this;
        }
    }

    /** {@code service}, given rules whose {@code get} routes take HEAD too. */
    private static HttpService service(HttpService service) {
        return new HttpService() {
            @Override
            public void routing(HttpRules rules) {
                service.routing(of(rules));
            }

            @Override
            public void beforeStart() {
                service.beforeStart();
            }

            @Override
            public void afterStart(WebServer webServer) {
                service.afterStart(webServer);
            }

            @Override
            public void afterStop() {
                service.afterStop();
            }
        };
    }

    /** A GET handler answering a HEAD: it writes into a {@link Bodiless} response. */
    private record Head(Handler get) implements Handler {

        @Override
        public void handle(ServerRequest request, ServerResponse response) throws Exception {
            get.handle(request, new Bodiless(response));
        }

        @Override
        public void beforeStart() {
            get.beforeStart();
        }

        @Override
        public void afterStart(WebServer webServer) {
            get.afterStart(webServer);
        }

        @Override
        public void afterStop() {
            get.afterStop();
        }
    }

    /**
     * A response that sends {@code delegate}'s status and headers and no body: what is written to it is counted,
     * then dropped, and the count sent as {@code Content-Length}. Helidon keeps a length set before a send of no
     * bytes; a stream closed with none written would say 0.
     */
    static final class Bodiless implements ServerResponse {

        private final ServerResponse delegate;
        private @Nullable UnaryOperator<OutputStream> filter;

        Bodiless(ServerResponse delegate) {
            this.delegate = delegate;
        }

        @Override
        public ServerResponse status(Status status) {
            delegate.status(status);
            return this;
        }

        @Override
        public Status status() {
            return delegate.status();
        }

        @Override
        public ServerResponse header(Header header) {
            delegate.header(header);
            return this;
        }

        @Override
        public void send() {
            delegate.send(); // with the length a handler set, as ApiError sets it; else Helidon's 0
        }

        @Override
        public void send(byte[] bytes) {
            send(bytes, 0, bytes.length);
        }

        @Override
        public void send(byte[] bytes, int position, int length) {
            sendLength(length);
        }

        /** Only bytes: an entity Helidon would render through its media support is not counted here. */
        @Override
        public void send(Object entity) {
            if (entity instanceof byte[] bytes) {
                send(bytes);
                return;
            }
            throw new UnsupportedOperationException("a GET route that also answers HEAD sends bytes or writes to "
                    + "the output stream, not a " + entity.getClass().getName());
        }

        private void sendLength(long length) {
            delegate.header(HeaderNames.CONTENT_LENGTH, String.valueOf(length));
            delegate.send();
        }

        @Override
        public boolean isSent() {
            return delegate.isSent();
        }

        @Override
        public OutputStream outputStream() {
            OutputStream counting = new OutputStream() {
                private long count;
                private boolean closed;

                @Override
                public void write(int b) {
                    count++;
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    count += len;
                }

                @Override
                public void close() {
                    if (!closed) {
                        closed = true;
                        sendLength(count);
                    }
                }
            };
            return filter == null ? counting : filter.apply(counting);
        }

        @Override
        public long bytesWritten() {
            return delegate.bytesWritten();
        }

        @Override
        public ServerResponse beforeSend(Runnable listener) {
            delegate.beforeSend(listener);
            return this;
        }

        @Override
        public ServerResponse whenSent(Runnable listener) {
            delegate.whenSent(listener);
            return this;
        }

        @Override
        public ServerResponse reroute(String newPath) {
            delegate.reroute(newPath);
            return this;
        }

        @Override
        public ServerResponse reroute(String path, UriQuery query) {
            delegate.reroute(path, query);
            return this;
        }

        @Override
        public ServerResponse next() {
            delegate.next();
            return this;
        }

        @Override
        public ServerResponseHeaders headers() {
            return delegate.headers();
        }

        @Override
        public ServerResponseTrailers trailers() {
            return delegate.trailers();
        }

        @Override
        public ServerResponse beforeTrailers(Consumer<ServerResponseTrailers> beforeTrailers) {
            delegate.beforeTrailers(beforeTrailers);
            return this;
        }

        @Override
        public void streamResult(String result) {
            delegate.streamResult(result);
        }

        @Override
        public void streamFilter(UnaryOperator<OutputStream> filterFunction) {
            UnaryOperator<OutputStream> current = filter;
            filter = current == null ? filterFunction : out -> filterFunction.apply(current.apply(out));
        }
    }
}
