package dev.llmmetrics.server;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http.DirectTransportRequest;
import io.helidon.webserver.http1.Http1ConnectionListener;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Refuses, once a request's line, then its headers, are read, what they ask of the server that it does not do, before
 * the request is routed: so before it takes a slot of {@code http.max.concurrent.requests} ({@link RequestSlots})
 * and before any of its body is read or {@code 100 Continue} is sent. The answers are JSON
 * ({@link JsonErrors#directHandlers}), and the connection is closed after them.
 *
 * <ul>
 *   <li><b>A method name in another case than its own</b> ({@code delete}, {@code Get}, {@code foo}), refused from
 *       the request line alone, before the headers are read: Helidon upper-cases the method before routing, while
 *       RFC 9110 section 9.1 makes method names case-sensitive, so {@code delete} is no {@code DELETE} to a proxy in
 *       front, which may pass it where it refuses DELETE. The method as sent is read off the connection's
 *       {@link StrictChunks.Reader}. 400 {@code invalid_method}.</li>
 *   <li><b>A method no route of the server could take</b>, one other than those RFC 9110 section 9.3 defines and
 *       {@code PATCH} ({@code FOO}, {@code PROPFIND}), refused from the request line: RFC 9110 section 9.1 has an
 *       origin server answer a method it does not recognise with 501, where the routes would answer 405 with an
 *       {@code Allow}, or 404, as if another method of the path could serve it. 501 {@code not_implemented}; a
 *       method that is no token at all (empty, {@code G(T}), which Helidon passes on, 400 {@code bad_request}.</li>
 *   <li><b>A request target other than a path.</b> Helidon routes an absolute-form target
 *       ({@code GET http://evil.example/health}) by its path and drops its authority, which RFC 9112 section 3.2.2
 *       makes the host the request is for, in place of {@code Host}; the {@code Host} allow-list
 *       ({@link CrossSiteFilter}) would then judge a name the request is not for. Such a target is served only
 *       with the {@code http} or {@code https} scheme, no user information ({@code http://localhost@evil.example/},
 *       which RFC 9110 section 4.2.4 has recipients treat as an error), and an authority that is the {@code Host}
 *       header's value, as RFC 9112 section 3.2 has clients send it (the scheme's default port written or not):
 *       the allow-list's check of {@code Host} is then a check of the target's authority. An authority-form
 *       ({@code CONNECT host:port}) or asterisk-form ({@code OPTIONS *}) target is refused: the server is no proxy,
 *       and answers no request about itself as a whole. 400 {@code invalid_request_target}.</li>
 *   <li><b>An expectation other than {@code 100-continue}</b> (RFC 9110 section 10.1.1), in any case, alone or
 *       beside it: 417 {@code expectation_failed}. Helidon ignores any other, and would serve the request as if it
 *       had none.</li>
 * </ul>
 *
 * <p>Both callbacks run on the connection's thread, in order: the request's line is kept in a thread-local between
 * them. A request whose method is sent in upper case, whose target is a path and that has no {@code Expect} costs
 * a comparison of its method's letters, a look-up of its name and two more comparisons, and allocates nothing.
 */
final class RequestHeadChecks implements Http1ConnectionListener {

    private static final String HTTP = "http://";
    private static final String HTTPS = "https://";
    /** The one expectation the server meets (RFC 9110 section 10.1.1). */
    private static final String CONTINUE = "100-continue";

    /** What a request's head can be refused for: its answer's status, error code and detail. */
    enum Refusal {
        METHOD_CASE(Status.BAD_REQUEST_400, "invalid_method", "method names are case-sensitive (RFC 9110 section"
                + " 9.1) and the server's are upper case (GET, HEAD, POST, DELETE): send the method so"),
        METHOD_MALFORMED(Status.BAD_REQUEST_400, "bad_request", "the request line's method is not a token of"
                + " letters, digits and !#$%&'*+-.^_`|~ (RFC 9110 section 9.1)"),
        METHOD_UNKNOWN(Status.NOT_IMPLEMENTED_501, "not_implemented", "the server implements no such method on any"
                + " path (RFC 9110 section 15.6.2); its methods are GET, HEAD, POST and DELETE"),
        TARGET_FORM(Status.BAD_REQUEST_400, "invalid_request_target", "the request target must be a path such as"
                + " /health, or an absolute http or https URL; this server is no proxy (no CONNECT) and answers no"
                + " OPTIONS *"),
        TARGET_USERINFO(Status.BAD_REQUEST_400, "invalid_request_target", "the request target's URL has user"
                + " information before an @; send the URL without it"),
        TARGET_NOT_HOST(Status.BAD_REQUEST_400, "invalid_request_target", "the request target is an absolute URL"
                + " whose host and port are not the Host header's value; send them the same (or send the path alone)"),
        EXPECTATION(Status.EXPECTATION_FAILED_417, "expectation_failed", "the server meets no expectation but"
                + " Expect: 100-continue; send the request without the other");

        private final Status status;
        private final String code;
        private final String detail;

        Refusal(Status status, String code, String detail) {
            this.status = status;
            this.code = code;
            this.detail = detail;
        }

        Status status() {
            return status;
        }

        String code() {
            return code;
        }

        String detail() {
            return detail;
        }

        /** The refusal that {@code message}, a refused request's message as Helidon hands it on, names; or null. */
        static @Nullable Refusal named(@Nullable String message) {
            if (message != null) {
                for (Refusal refusal : values()) {
                    if (refusal.message().equals(message)) {
                        return refusal;
                    }
                }
            }
            return null;
        }

        /** The message the refusal is thrown with, which Helidon hands on to the direct handlers. */
        private String message() {
            return "llm-metrics refused the request: " + name();
        }
    }

    private final ThreadLocal<@Nullable HttpPrologue> current = new ThreadLocal<>();

    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        if (ctx.dataReader() instanceof StrictChunks.Reader reader) {
            String sent = reader.inOtherCase(prologue.method().text());
            if (sent != null) {
                throw refused(Refusal.METHOD_CASE, DirectTransportRequest.create(prologue.protocol() + "/"
                        + prologue.protocolVersion(), sent, prologue.uriPath().rawPathNoParams()));
            }
        }
        String method = prologue.method().text();
        if (!known(method)) {
            throw refused(token(method) ? Refusal.METHOD_UNKNOWN : Refusal.METHOD_MALFORMED, DirectTransportRequest.create(
                    prologue.protocol() + "/" + prologue.protocolVersion(), method, prologue.uriPath().rawPathNoParams()));
        }
        current.set(prologue);
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        HttpPrologue prologue = current.get();
        current.set(null);
        if (prologue == null) {
            return;
        }
        Refusal refusal = target(prologue.uriPath().rawPath(), headers);
        if (refusal == null && headers.contains(HeaderNames.EXPECT) && !onlyContinue(headers)) {
            refusal = Refusal.EXPECTATION;
        }
        if (refusal != null) {
            throw refused(refusal, DirectTransportRequest.create(prologue, headers));
        }
    }

    /**
     * Whether {@code method} is one HTTP defines (RFC 9110 section 9.3, and {@code PATCH}, RFC 5789): those a route
     * takes, or answers 405 naming the ones it takes instead. A method of a WebDAV or other extension is none.
     */
    private static boolean known(String method) {
        return switch (method) {
            case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH" -> true;
            default -> false;
        };
    }

    /** Whether {@code method} is a token (RFC 9110 section 5.6.2), as a method's name must be: not empty, no space. */
    private static boolean token(String method) {
        if (method.isEmpty()) {
            return false;
        }
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || "!#$%&'*+-.^_`|~".indexOf(c) >= 0)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The refusal as Helidon hands it on to the direct handlers, closing the connection after the answer; the
     * request as sent, so that an answer to a method sent as {@code head} has its body.
     */
    private static RequestException refused(Refusal refusal, DirectHandler.TransportRequest request) {
        return RequestException.builder()
                .type(DirectHandler.EventType.BAD_REQUEST)
                .status(refusal.status())
                .request(request)
                .setKeepAlive(false)
                .message(refusal.message())
                .safeMessage(true)
                .build();
    }

    /**
     * Why the request target (its query and fragment cut off) is refused, given the request's headers; null when
     * it is a path, or an absolute http(s) URL without user information whose authority is {@code Host}'s value,
     * a port that is the scheme's default, or empty, counting as none.
     */
    private static @Nullable Refusal target(String target, Headers headers) {
        if (!target.isEmpty() && target.charAt(0) == '/') {
            return null; // origin-form, nearly every request
        }
        int authority = schemeEnd(target);
        if (authority < 0) {
            return Refusal.TARGET_FORM;
        }
        int end = target.indexOf('/', authority);
        String named = end < 0 ? target.substring(authority) : target.substring(authority, end);
        if (named.indexOf('@') >= 0) {
            return Refusal.TARGET_USERINFO;
        }
        String host = headers.first(HeaderNames.HOST).orElse(null);
        if (named.isEmpty() || host == null) {
            return Refusal.TARGET_NOT_HOST;
        }
        String defaultPort = authority == HTTP.length() ? ":80" : ":443";
        return withoutPort(named, defaultPort).equalsIgnoreCase(withoutPort(host, defaultPort)) ? null
                : Refusal.TARGET_NOT_HOST;
    }

    /**
     * {@code authority} without its port when the port is empty or the scheme's default, as RFC 3986 section 6.2.3
     * normalises it: {@code localhost:80} and {@code localhost:} name the host {@code localhost} does over http.
     */
    private static String withoutPort(String authority, String defaultPort) {
        if (authority.endsWith(defaultPort)) {
            return authority.substring(0, authority.length() - defaultPort.length());
        }
        return authority.endsWith(":") ? authority.substring(0, authority.length() - 1) : authority;
    }

    /** Where the authority of an {@code http://} or {@code https://} URL starts (the scheme in any case), or -1. */
    private static int schemeEnd(String target) {
        if (target.regionMatches(true, 0, HTTP, 0, HTTP.length())) {
            return HTTP.length();
        }
        return target.regionMatches(true, 0, HTTPS, 0, HTTPS.length()) ? HTTPS.length() : -1;
    }

    /** Whether every member of every {@code Expect} line is {@code 100-continue}, in any case. */
    private static boolean onlyContinue(Headers headers) {
        for (String line : headers.all(HeaderNames.EXPECT, List::of)) {
            for (String member : line.split(",", -1)) {
                String expectation = member.strip();
                if (!expectation.isEmpty() && !expectation.equalsIgnoreCase(CONTINUE)) {
                    return false;
                }
            }
        }
        return true;
    }
}
