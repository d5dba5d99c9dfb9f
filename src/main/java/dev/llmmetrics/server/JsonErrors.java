package dev.llmmetrics.server;

import dev.llmmetrics.session.StoreUnavailableException;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.HttpException;
import io.helidon.http.HttpMediaTypes;
import io.helidon.http.Method;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every error the server sends is JSON, never a stack trace or an internal class name: errors thrown
 * by handlers go through the routing's error handlers, and errors Helidon detects before routing (a
 * malformed request line, a body over the server's limit) through the listener's direct handlers.
 */
final class JsonErrors {

    private static final Logger LOG = System.getLogger(JsonErrors.class.getName());

    /** RFC 6585 section 5; Helidon has no constant for it. */
    static final Status HEADER_FIELDS_TOO_LARGE_431 = Status.create(431, "Request Header Fields Too Large");

    /** The messages of Helidon's refusals of a request that names a Content-Encoding. */
    private static final Set<String> CONTENT_ENCODING_REFUSED = Set.of("Unsupported content encoding",
            "Content-Encoding header present when content encoding is disabled");

    /** How the message of Helidon's refusal of a query it cannot decode begins (its segment's name). */
    private static final String QUERY_REFUSED = "Query ";

    /**
     * The end of the message of Helidon's refusal of a character a query may hold only percent-encoded: where it
     * is, and the character ({@code 'x'}, or {@code 0xfffd} for one past ASCII).
     */
    private static final Pattern QUERY_CHAR_REFUSED =
            Pattern.compile("^Query contains invalid char.*, index: (\\d{1,9}), char: (?:'(.)'|0x([0-9a-f]{1,4}))$");

    /** The message of the exception Helidon's header parser throws past the headers' size limit. */
    private static final String HEADERS_TOO_LARGE = "Header size exceeded";

    private JsonErrors() {
    }

    /**
     * Registers the error handlers and, for unmatched routes, the JSON 404; a request whose absolute target has an
     * empty path ({@code GET http://host:port}), which Helidon routes by that empty path, is routed again as one
     * for {@code /}, as RFC 9112 section 3.2.2 has clients send it.
     */
    static void register(HttpRouting.Builder routing) {
        routing.error(BadRequest.class, (req, res, e) -> ApiError.send(req, res, Status.BAD_REQUEST_400, e.code(), e.getMessage()))
                .error(HttpException.class, JsonErrors::httpException)
                .error(StoreUnavailableException.class, (req, res, e) -> ApiError.send(req, res,
                        Status.SERVICE_UNAVAILABLE_503, "store_unavailable", "the session store cannot be read now; retry later"))
                .error(Throwable.class, JsonErrors::unexpected)
                .any((req, res) -> {
                    if (req.path().path().isEmpty()) {
                        res.reroute("/", req.query());
                    } else {
                        ApiError.send(req, res, Status.NOT_FOUND_404, "not_found",
                                "no endpoint " + req.prologue().method().text() + " " + req.path().path());
                    }
                });
    }

    /**
     * Direct handlers answering Helidon's own pre-routing errors in JSON; with {@code proxy}, those of a request
     * for a {@code /v1} path in the OpenAI error shape, as the metering proxy's own errors, so that the SDKs
     * raise them with their message.
     */
    static DirectHandlers directHandlers(boolean proxy) {
        DirectHandler json = (request, eventType, status, headers, message) ->
                direct(request, eventType, status, headers, message, proxy && isProxied(request.path()));
        DirectHandlers.Builder builder = DirectHandlers.builder();
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            builder.addHandler(type, json);
        }
        return builder.build();
    }

    private static void httpException(ServerRequest request, ServerResponse response, HttpException e) {
        Status status = e.status();
        if (status.code() >= 500) {
            unexpected(request, response, e);
            return;
        }
        ApiError.send(request, response, status, code(status), status.reasonPhrase());
    }

    private static void unexpected(ServerRequest request, ServerResponse response, Throwable e) {
        LOG.log(Level.ERROR, "Unexpected failure answering " + request.prologue().method().text() + " "
                + request.path().path(), e);
        if (!response.isSent()) {
            ApiError.send(request, response, Status.INTERNAL_SERVER_ERROR_500, "internal_error",
                    "the server failed to answer; the failure is logged");
        }
    }

    /** Whether the request target names the proxy's paths: {@code /v1}, or below it, with or without a query. */
    static boolean isProxied(String path) {
        return path.startsWith("/v1/") || path.equals("/v1") || path.startsWith("/v1?");
    }

    private static DirectHandler.TransportResponse direct(DirectHandler.TransportRequest request,
                                                          DirectHandler.EventType eventType, Status status,
                                                          ServerResponseHeaders headers, String message,
                                                          boolean openAiShape) {
        String error;
        String detail;
        String malformedId = eventType == DirectHandler.EventType.BAD_REQUEST ? SessionService.malformedId(request.path()) : null;
        RequestHeadChecks.Refusal refusal = RequestHeadChecks.Refusal.named(message);
        if (refusal != null) {
            // The server's own refusal of what a request's line or headers ask (RequestHeadChecks).
            status = refusal.status();
            error = refusal.code();
            detail = refusal.detail();
        } else if (ambiguousFraming(request.headers())) {
            // RFC 9112 section 6.3: a length that cannot be determined is a 400, and the connection is closed
            // (Helidon closes after every direct answer). Helidon answers an unknown transfer coding with 501.
            status = Status.BAD_REQUEST_400;
            error = "invalid_framing";
            detail = "the body's length is ambiguous: Content-Length with Transfer-Encoding, several Content-Length "
                    + "values, or a transfer coding other than chunked";
        } else if (status.code() == Status.SERVICE_UNAVAILABLE_503.code()) {
            // Past http.max.concurrent.requests, Helidon refuses the request and closes its connection.
            error = "overloaded";
            detail = "the server is handling as many requests as it allows; retry later";
            headers.set(HeaderNames.RETRY_AFTER, "1");
        } else if (status.code() == Status.REQUEST_ENTITY_TOO_LARGE_413.code()) {
            error = "body_too_large";
            detail = "the body exceeds the server's size limit";
        } else if (status.code() == Status.REQUEST_URI_TOO_LONG_414.code()) {
            error = "uri_too_long";
            detail = "the request target is longer than the server accepts";
        } else if (status.code() == 431 || eventType == DirectHandler.EventType.BAD_REQUEST
                && HEADERS_TOO_LARGE.equals(message)) {
            // Helidon refuses headers past its limit (max-headers-size, 16 KiB) as a plain 400, telling it
            // only by this message, which reaches here because the listener includes messages (it is never
            // sent: every body here is written from the codes above).
            status = HEADER_FIELDS_TOO_LARGE_431;
            error = "headers_too_large";
            detail = "the request headers are larger than the server accepts";
        } else if (status.code() == Status.HTTP_VERSION_NOT_SUPPORTED_505.code()) {
            // A client error, not a server failure: the request names a protocol version this server
            // does not speak (Helidon answers HTTP/1.0 so). 505 is meant for major versions.
            status = Status.BAD_REQUEST_400;
            error = "http_version_not_supported";
            detail = "the server speaks HTTP/1.1 only";
        } else if (eventType == DirectHandler.EventType.BAD_REQUEST && CONTENT_ENCODING_REFUSED.contains(message)) {
            // Helidon reads no content coding here (no decoder on the listener): a body sent compressed, or any
            // Content-Encoding at all, is refused before routing; RFC 9110 section 15.5.16 makes that a 415.
            status = Status.UNSUPPORTED_MEDIA_TYPE_415;
            error = "unsupported_content_encoding";
            detail = "the server reads a body as it is sent: send it without Content-Encoding (not compressed)";
        } else if (malformedId != null) {
            // Helidon refuses a badly percent-encoded path (%zz, a lone %) before routing: on a session
            // route the id is at fault, and the answer says so as the route would.
            error = "invalid_session_id";
            detail = malformedId;
        } else if (eventType == DirectHandler.EventType.BAD_REQUEST && message != null
                && message.startsWith(QUERY_REFUSED)) {
            // Likewise a query Helidon cannot decode (its UriValidationException names the query first): a
            // parameter is at fault, and the answer says so as a route would, without Helidon's words.
            // Helidon refuses a character that must be percent-encoded ("[" in ?name[]=x) the same way: its message
            // names the character and where, in the query (the transport request's path holds none of it).
            Matcher refused = QUERY_CHAR_REFUSED.matcher(message);
            error = "invalid_parameter";
            detail = refused.find()
                    ? "the query holds " + Utf8.unescaped(refusedChar(refused), Integer.parseInt(refused.group(1)))
                    : "the query is not validly percent-encoded UTF-8";
        } else if (eventType == DirectHandler.EventType.BAD_REQUEST && Utf8.unescaped(request.path()) != null) {
            // Likewise a path (Helidon's message does not say why): the path is checked before the headers are read.
            error = "bad_request";
            detail = "the request target's path holds " + Utf8.unescaped(request.path());
        } else if (eventType == DirectHandler.EventType.BAD_REQUEST) {
            error = "bad_request";
            detail = "the request is malformed";
        } else if (eventType == DirectHandler.EventType.INTERNAL_ERROR && status.code() == 500
                && request == DirectHandler.TransportRequest.empty()) {
            // Helidon failed before it could read a request line and headers it would route (for example a
            // method token with non-ASCII bytes): the bytes the client sent are at fault, not the server.
            status = Status.BAD_REQUEST_400;
            error = "bad_request";
            detail = "the request is malformed";
        } else {
            error = code(status);
            detail = status.reasonPhrase();
        }
        byte[] body;
        if (openAiShape) {
            Map<String, Object> openAi = new LinkedHashMap<>();
            openAi.put("message", detail);
            openAi.put("type", status.code() >= 500 ? "server_error" : "invalid_request_error");
            openAi.put("param", null);
            openAi.put("code", error);
            body = Json.bytes(Map.of("error", openAi));
        } else {
            body = Json.bytes(new ApiError(error, detail, null));
        }
        headers.set(HeaderNames.CONTENT_TYPE, HttpMediaTypes.JSON_UTF_8.text());
        headers.set(ApiHeaders.NOSNIFF);
        headers.set(ApiHeaders.NO_STORE);
        headers.set(HttpDate.now());
        DirectHandler.TransportResponse.Builder answer = DirectHandler.TransportResponse.builder()
                .status(status)
                .headers(headers)
                .keepAlive(eventType.keepAlive());
        if (!Method.HEAD.text().equals(request.method())) {
            answer.entity(body); // a HEAD answer has none; Helidon then says Content-Length: 0
        }
        return answer.build();
    }

    /** The character {@link #QUERY_CHAR_REFUSED} matched. */
    private static char refusedChar(Matcher refused) {
        return refused.group(2) != null ? refused.group(2).charAt(0) : (char) Integer.parseInt(refused.group(3), 16);
    }

    /**
     * Whether the request's framing leaves its body's length undetermined (RFC 9112 section 6.3): a
     * Transfer-Encoding beside a Content-Length, a Transfer-Encoding other than exactly {@code chunked}, or
     * a Content-Length with several values.
     */
    static boolean ambiguousFraming(Headers headers) {
        List<String> lengths = headers.all(HeaderNames.CONTENT_LENGTH, List::of);
        if (lengths.size() > 1 || lengths.stream().anyMatch(v -> v.indexOf(',') >= 0)) {
            return true;
        }
        List<String> codings = new ArrayList<>();
        for (String line : headers.all(HeaderNames.TRANSFER_ENCODING, List::of)) {
            for (String coding : line.split(",")) {
                codings.add(coding.strip().toLowerCase(Locale.ROOT));
            }
        }
        return !codings.isEmpty() && (!lengths.isEmpty() || !codings.equals(List.of("chunked")));
    }

    private static String code(Status status) {
        return status.reasonPhrase().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_").replaceAll("^_|_$", "");
    }
}
