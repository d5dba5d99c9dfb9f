package dev.llmmetrics.server.proxy;

import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.InvalidEventException;
import dev.llmmetrics.track.CallTracker;
import dev.llmmetrics.track.InFlightCall;
import dev.llmmetrics.track.Usage;
import io.helidon.http.ClientResponseHeaders;
import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.HttpMediaType;
import io.helidon.http.Headers;
import io.helidon.http.Method;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.http.WritableHeaders;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.WebClientServiceRequest;
import io.helidon.webclient.api.WebClientServiceResponse;
import io.helidon.webclient.http1.Http1Client;
import io.helidon.webclient.spi.WebClientService;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.http1.Http1ConnectionListener;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.io.OutputStream;
import java.net.URI;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.Semaphore;
import org.jspecify.annotations.Nullable;

/**
 * The metering proxy's routes under {@code /v1}: {@code POST /v1/chat/completions} is forwarded to the upstream
 * and recorded, {@code POST /v1/embeddings} and {@code GET /v1/models} are forwarded only.
 *
 * <p>A chat completion publishes STARTED before it is forwarded (or, when the request names no model, once the
 * answer does), then COMPLETED with the usage the answer reports, or FAILED with the error's type. The answer
 * is passed on as it arrives, piece by piece: a stream of server-sent events event by event, its time to first
 * token taken at the first event with content, its usage from its last chunk. For a stream whose client did not
 * ask for usage, the upstream is asked for it and the usage chunk is held back. An answer compressed although
 * the proxy asked for none is read, and passed on, decompressed ({@link AnswerCoding}). A client that goes away
 * mid-answer cancels the upstream call (its connection is closed) and the call is recorded as
 * {@code cancelled}, once the proxy has something to pass on to it. One gone while the upstream sent nothing is
 * found when the upstream call times out ({@link ClientConnections}), and recorded as {@code cancelled} rather
 * than {@code timeout}; one gone before a short answer, which the sockets' buffers take whole, is recorded as
 * answered. Upstream errors are passed on unchanged. An answer that ends where the upstream closes the
 * connection is passed on whole, and that connection never lent to another call; a successful one whose JSON
 * document had not ended, or whose stream had not sent its {@code [DONE]}, was cut by that close, and is
 * recorded and ended for the client as an answer that broke off.
 *
 * <p>Bounded: the request body ({@link ProxySettings#maxBodyBytes()}, 413 past it), the upstream calls in
 * progress ({@link ProxySettings#maxConcurrent()}, 503 past it), the connect and read timeouts (504 when no answer
 * came, a cut connection when it was under way). The client's {@code Authorization} is forwarded, or replaced
 * by the configured upstream key; it is never logged nor written in an event.
 */
public final class OpenAiProxy implements HttpService {

    /** The header carrying the proxy's access token; never forwarded. */
    public static final HeaderName ACCESS_HEADER = HeaderNames.create("x-proxy-auth");
    /** The model of a call whose request and answer both name none. */
    static final String UNKNOWN_MODEL = "unknown";

    private static final String PREFIX = "/v1";
    private static final int PIECE_BYTES = 8192;
    /**
     * Request headers that belong to this hop, that the proxy sets itself, or that carry this server's own tokens
     * (the proxy's access token, the events' {@code x-internal-auth}), which an upstream must never be given.
     */
    private static final Set<String> NOT_FORWARDED = Set.of("connection", "keep-alive", "proxy-connection",
            "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length", "expect",
            "accept-encoding", ACCESS_HEADER.lowerCase(), "x-internal-auth");
    /** Answer headers that belong to the upstream's hop. */
    private static final Set<String> NOT_PASSED_ON = Set.of("connection", "keep-alive", "proxy-connection", "te",
            "trailer", "transfer-encoding", "upgrade");

    private final ProxySettings settings;
    private final CallTracker tracker;
    private final BodyDeadlines deadlines;
    private final Runnable written;
    private final ClientConnections connections = new ClientConnections();
    /** The upstream client and the connections it keeps; replaced when one of them can no longer be trusted. */
    private volatile Http1Client upstream;
    private final Semaphore slots;
    /**
     * The request bytes held at once, one permit a byte: {@code proxy.max.body.bytes × proxy.max.concurrent}, taken
     * as a body arrives and given back when its call ends. Counted apart from {@link #slots}, so that bodies sent
     * slowly cannot hold the upstream slots.
     */
    private final Semaphore bodyBytes;
    private final HeaderName sessionHeader;

    /**
     * @param settings  the upstream, the bounds and the session header
     * @param tracker   publishes the calls' events
     * @param deadlines bounds how long a request body may take to arrive
     * @param written   told on the connection's thread each time a relayed piece has reached the client, so that
     *                  the server's write timeout does not count the wait for the upstream's next bytes
     */
    public OpenAiProxy(ProxySettings settings, CallTracker tracker, BodyDeadlines deadlines, Runnable written) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.tracker = Objects.requireNonNull(tracker, "tracker");
        this.deadlines = Objects.requireNonNull(deadlines, "deadlines");
        this.written = Objects.requireNonNull(written, "written");
        this.slots = new Semaphore(settings.maxConcurrent());
        this.bodyBytes = new Semaphore((int) Math.min(Integer.MAX_VALUE, (long) settings.maxBodyBytes() * settings.maxConcurrent()));
        this.sessionHeader = HeaderNames.create(settings.sessionHeader());
        this.upstream = upstreamClient(settings);
    }

    private static Http1Client upstreamClient(ProxySettings settings) {
        return Http1Client.builder()
                .connectTimeout(settings.connectTimeout())
                .readTimeout(settings.readTimeout())
                .followRedirects(false)
                .sendExpectContinue(false)
                .shareConnectionCache(false)
                .connectionCacheSize(settings.maxConcurrent())
                .addService(OpenAiProxy::closingAnAnswerThatEndsAtTheClose)
                .build();
    }

    /**
     * Marks an answer whose body ends where the upstream closes the connection ({@link #endsAtClose}), a chunked
     * one that declares trailer fields ({@code Trailer}), or a 204 or 304 that declares a length or a transfer coding
     * ({@link #framesABody}), as {@code Connection: close}, so that the HTTP client closes that connection with the
     * answer rather than lend it to another call. It keeps one whose answer declares no length as if that answer had
     * no body: the next call would get a connection the upstream closed, or, after an answer left half read (its
     * client gone, a timeout), the rest of that answer as its own. It reads a chunked body up to its last chunk and
     * leaves the trailer fields after it unread: the next call would read them as its answer's status line. A 204 or
     * 304 has no body, which the proxy does not read, but an upstream that frames one may have sent it.
     */
    private static WebClientServiceResponse closingAnAnswerThatEndsAtTheClose(WebClientService.Chain chain,
            WebClientServiceRequest request) {
        WebClientServiceResponse answer = chain.proceed(request);
        int status = answer.status().code();
        boolean trailers = answer.headers().contains(HeaderNames.TRAILER)
                && answer.headers().containsToken(HeaderValues.TRANSFER_ENCODING_CHUNKED);
        boolean closing = hasNoBody(status) ? framesABody(answer.headers())
                : status >= 200 && (endsAtClose(answer.headers()) || trailers);
        if (!closing || answer.headers().containsToken(HeaderValues.CONNECTION_CLOSE)) {
            return answer;
        }
        WritableHeaders<?> headers = WritableHeaders.create(answer.headers());
        headers.set(HeaderValues.CONNECTION_CLOSE);
        return WebClientServiceResponse.builder().from(answer).headers(ClientResponseHeaders.create(headers)).build();
    }

    /**
     * Whether an answer with these headers ends where the upstream closes the connection: one with neither a
     * {@code Content-Length} nor a chunked {@code Transfer-Encoding} (RFC 9112 §6.3, rule 8).
     */
    private static boolean endsAtClose(Headers headers) {
        return !headers.contains(HeaderNames.CONTENT_LENGTH) && !headers.containsToken(HeaderValues.TRANSFER_ENCODING_CHUNKED);
    }

    /**
     * Whether this answer's body ends where the upstream closes the connection: {@link #endsAtClose} headers on an
     * answer whose status allows a body. A 204 or 304 has none whatever its headers, so an empty one is whole, not
     * cut at the close.
     */
    private static boolean endsAtClose(HttpClientResponse answer) {
        return !hasNoBody(answer.status().code()) && endsAtClose(answer.headers());
    }

    /**
     * Whether an answer with this status has no body whatever its headers say: a 204 or 304 (RFC 9110 §15.3.5,
     * §15.4.5; RFC 9112 §6.3). A 304 may carry the {@code Content-Length} a 200 would have had, and a
     * {@code Transfer-Encoding} (RFC 9112 §6.1): the HTTP client would read a body by either, or until the close
     * without them, waiting for bytes that never come, so the proxy never reads one.
     */
    private static boolean hasNoBody(int status) {
        return status == 204 || status == 304;
    }

    /** Whether these headers frame a body: a {@code Transfer-Encoding}, or a {@code Content-Length} other than 0. */
    private static boolean framesABody(Headers headers) {
        return headers.contains(HeaderNames.TRANSFER_ENCODING)
                || !headers.all(HeaderNames.CONTENT_LENGTH, List::of).stream().map(String::strip).allMatch("0"::equals);
    }

    /** Whether the answer's type is {@code text/event-stream}, which says the body is a stream whatever it holds. */
    private static boolean isEventStream(Headers headers) {
        return contentType(headers).map(type -> type.mediaType().type().equalsIgnoreCase("text")
                && type.mediaType().subtype().equalsIgnoreCase("event-stream")).orElse(false);
    }

    /**
     * The answer's {@code Content-Type}; none when it names no media type the HTTP library can parse (such as
     * {@code ;;;}), which it would throw for: such an answer is read, and passed on, as one of no type.
     */
    private static Optional<HttpMediaType> contentType(Headers headers) {
        try {
            return headers.contentType();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/chat/completions", this::chat)
                .any("/chat/completions", allowing(Method.POST))
                .post("/embeddings", this::forward)
                .any("/embeddings", allowing(Method.POST))
                .get("/models", this::forward)
                .any("/models", allowing(Method.GET))
                .any((request, response) -> OpenAiErrors.send(request, response, Status.NOT_FOUND_404,
                        "invalid_request_error", "not_found", "the proxy does not forward "
                                + request.prologue().method().text() + " " + request.prologue().uriPath().path()));
    }

    /**
     * The answer to a proxied path asked with a method it does not take: 405 with {@code Allow}, as every
     * route of the server answers, in the OpenAI error shape as the proxy's other errors; not forwarded.
     */
    private static Handler allowing(Method method) {
        return (request, response) -> {
            response.header(HeaderNames.ALLOW, method.text());
            OpenAiErrors.send(request, response, Status.METHOD_NOT_ALLOWED_405, "invalid_request_error", "method_not_allowed",
                    request.prologue().method().text() + " is not allowed here; allowed: " + method.text());
        };
    }

    /**
     * The listener to register on the server's HTTP/1.1 connections, through which the proxy tells whether a
     * client whose upstream call timed out had left by then.
     */
    public Http1ConnectionListener clientConnections() {
        return connections;
    }

    /** Closes the upstream connections kept for reuse. */
    public void close() {
        upstream.closeResource();
    }

    private void forward(ServerRequest request, ServerResponse response) {
        withSlot(request, response, request.prologue().method() == Method.GET ? Body.NONE : readBody(request, response),
                this::forwardPlain);
    }

    /** A proxied call, given its request body. */
    private interface Call {
        void run(ServerRequest request, ServerResponse response, byte[] body);
    }

    /**
     * Runs {@code call} holding one of the upstream slots, or answers 503 when none is free; either way gives the
     * body's bytes back to {@link #bodyBytes} at the end. Nothing when {@code body} is {@code null} (answered).
     */
    private void withSlot(ServerRequest request, ServerResponse response, @Nullable Body body, Call call) {
        if (body == null) {
            return;
        }
        try {
            if (!slots.tryAcquire()) {
                overloaded(request, response);
                return;
            }
            try {
                call.run(request, response, body.bytes());
            } finally {
                slots.release();
            }
        } finally {
            bodyBytes.release(body.held());
        }
    }

    private void forwardPlain(ServerRequest request, ServerResponse response, byte[] body) {
        try (HttpClientResponse answer = send(request, body)) {
            Passed out = new Passed(response, () -> passHead(answer, response, true, false));
            try {
                pump(answer, out, new Relay() {
                    @Override
                    public void piece(OutputStream out, byte[] bytes, int offset, int length) {
                        write(out, bytes, offset, length);
                    }
                });
                out.begin();
            } catch (BrokenAnswer e) {
                if (out.begun()) {
                    throw e;
                }
                answerFailure(request, response, e.failure.hiding(credential(request)));
            }
        } catch (NoAnswer e) {
            answerFailure(request, response, e.failure);
        } catch (ClientGone | BrokenAnswer e) {
            throw new CloseConnectionException("the forwarded answer did not reach the client whole");
        }
    }

    /**
     * The client's answer, begun (the upstream's status and headers set, the body's stream taken) only when its first
     * byte is written, or when the answer ends: until then nothing of it has reached the client, and an answer that
     * breaks off before its first byte can still be answered with the proxy's error.
     */
    private static final class Passed extends OutputStream {
        private final ServerResponse response;
        private final Runnable head;
        private @Nullable OutputStream out;

        Passed(ServerResponse response, Runnable head) {
            this.response = response;
            this.head = head;
        }

        /** Begins the answer, if not begun. */
        OutputStream begin() {
            if (out == null) {
                head.run();
                out = response.outputStream();
            }
            return out;
        }

        boolean begun() {
            return out != null;
        }

        @Override
        public void write(int b) throws IOException {
            begin().write(b);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            begin().write(bytes, offset, length);
        }

        /** Flushes what was written; nothing before the first byte, so that the head is not sent before it. */
        @Override
        public void flush() throws IOException {
            if (out != null) {
                out.flush();
            }
        }
    }

    private void chat(ServerRequest request, ServerResponse response) {
        withSlot(request, response, readBody(request, response), this::meterChat);
    }

    private void meterChat(ServerRequest request, ServerResponse response, byte[] body) {
        ChatRequest chat;
        try {
            chat = ChatRequest.read(body, settings.streamUsage());
        } catch (IllegalArgumentException e) {
            OpenAiErrors.send(request, response, Status.BAD_REQUEST_400, "invalid_request_error", "invalid_body", e.getMessage());
            return;
        }
        List<String> named = request.headers().all(sessionHeader, List::of);
        String session = named.isEmpty() || named.getFirst().isBlank() ? settings.fallbackSession()
                : named.getFirst().strip();
        String unreadable = named.size() > 1 ? "it is sent " + named.size() + " times, and a call has one session"
                : session.indexOf('\uFFFD') >= 0 ? "it holds a byte past ASCII at index " + session.indexOf('\uFFFD')
                        + ", which the server reads as U+FFFD, as it would other ids' bytes: send ASCII"
                : null;
        if (unreadable != null) {
            OpenAiErrors.send(request, response, Status.BAD_REQUEST_400, "invalid_request_error", "invalid_session_id",
                    "the " + settings.sessionHeader() + " header cannot be recorded: " + unreadable);
            return;
        }
        Metered call = new Metered(session, chat, tracker.nanoTime());
        try {
            if (chat.model() != null) {
                call.started(chat.model());
            } else {
                // STARTED waits for the answer's model; the session id is checked before anything is forwarded.
                Event.requireValidId("sessionId", session);
            }
        } catch (InvalidEventException e) {
            // The code names the field in the API's words, as the session routes do; the message, what the client sent.
            boolean ofSession = e.field().equals("sessionId");
            String what = ofSession ? settings.sessionHeader() : e.field();
            OpenAiErrors.send(request, response, Status.BAD_REQUEST_400, "invalid_request_error",
                    ofSession ? "invalid_session_id" : "invalid_" + e.field(),
                    "the " + what + (ofSession ? " header" : "") + " cannot be recorded: " + e.messageNaming(what));
            return;
        }
        try {
            forwardChat(request, response, chat, call);
        } catch (RuntimeException e) {
            // Every way out of forwardChat ends the call; one it did not foresee must not leave it in flight.
            call.started(null).fail(new Failure(ErrorType.SERVER_ERROR, "the proxy could not pass the answer on", null)
                    .forEvent());
            throw e;
        }
    }

    private void forwardChat(ServerRequest request, ServerResponse response, ChatRequest chat, Metered call) {
        HttpClientResponse answer;
        try {
            answer = send(request, chat.upstreamBody());
        } catch (NoAnswer e) {
            ClientConnections.Presence client = e.failure.type() == ErrorType.TIMEOUT ? connections.probe()
                    : ClientConnections.Presence.THERE;
            call.started(null).fail((client == ClientConnections.Presence.GONE ? Failure.clientLeft(e.failure)
                    : e.failure).forEvent());
            failBeforeAnswer(request, response, e.failure, client);
            return;
        }
        int status = answer.status().code();
        // A successful answer to a streamed request is read as a stream unless it says it is JSON (an upstream
        // that does not stream): some send their events as text/plain or with no type at all. One that says it
        // is an event stream is read as one whatever the request said: a lenient upstream streams for a "stream"
        // the proxy does not read as true ("True", "yes").
        boolean stream = status / 100 == 2 && (isEventStream(answer.headers()) || chat.stream()
                && !contentType(answer.headers())
                .map(type -> type.mediaType().subtype().toLowerCase(Locale.ROOT).endsWith("json")).orElse(false));
        boolean holdUsage = stream && chat.usageAdded();
        OpenAiScanner document = new OpenAiScanner();
        StreamReading chunks = new StreamReading(call, holdUsage, isEventStream(answer.headers()));
        // A 204 or 304 has no body to decompress: its Content-Encoding is the representation's, passed on.
        AnswerCoding coding = hasNoBody(status) ? AnswerCoding.IDENTITY : AnswerCoding.of(answer.headers());
        Passed out = new Passed(response, () -> passHead(answer, response, !holdUsage && !coding.decoded(), coding.decoded()));
        try (answer; AnswerCoding.Body body = coding.body(answer.inputStream())) {
            pump(answer, body.in(), out, stream ? chunks : new Relay() {
                @Override
                public void piece(OutputStream out, byte[] bytes, int offset, int length) {
                    write(out, bytes, offset, length);
                    document.feed(bytes, offset, length);
                }
            });
            if (stream) {
                chunks.end(out);
                flush(out); // the last event, written at the end, reaches the client before a cut closes it
            } else {
                document.end();
            }
            if (status / 100 == 2 && endsAtClose(answer) && coding != AnswerCoding.OTHER
                    && (stream ? chunks.cut() : document.cut())) {
                // The close is all that ends such an answer, so one cut short ends the same way: what was sent says.
                // One in a coding the proxy does not read says nothing, and is passed on whole.
                throw new BrokenAnswer(stream && chunks.error != null
                        ? Failure.inStream(chunks.error.errorCode(), chunks.error.errorMessage())
                        : Failure.cutAtClose(stream && !chunks.oneDocument()));
            }
            out.begin(); // an answer with no body, such as a 204, still has its head
        } catch (ClientGone e) {
            call.started(stream ? chunks.model : document.model()).fail(Failure.CLIENT_GONE.forEvent());
            throw new CloseConnectionException("the client disconnected during the answer");
        } catch (BrokenAnswer e) {
            ClientConnections.Presence client = e.failure.type() == ErrorType.TIMEOUT ? connections.probe()
                    : ClientConnections.Presence.THERE;
            Failure failure = e.failure.hiding(credential(request));
            call.started(stream ? chunks.model : document.model())
                    .fail((client == ClientConnections.Presence.GONE ? Failure.clientLeft(e.failure) : failure).forEvent());
            if (out.begun()) {
                throw new CloseConnectionException("the upstream answer broke off");
            }
            // Nothing of the answer reached the client: it gets the proxy's error, as when no answer came.
            failBeforeAnswer(request, response, failure, client);
            return;
        }
        if (status / 100 != 2) {
            call.started(document.model()).fail(Failure.ofStatus(status, document.statusErrorCode(), document.statusErrorMessage())
                    .hiding(credential(request)).forEvent());
        } else if (stream && chunks.error != null) {
            call.started(chunks.model).fail(Failure.inStream(chunks.error.errorCode(), chunks.error.errorMessage())
                    .hiding(credential(request)).forEvent());
        } else if (stream && chunks.documentError() != null) {
            OpenAiScanner error = Objects.requireNonNull(chunks.documentError());
            call.started(chunks.model).fail(Failure.inAnswer(error.errorCode(), error.errorMessage())
                    .hiding(credential(request)).forEvent());
        } else if (stream) {
            call.started(chunks.model).complete(chunks.usage());
        } else if (document.errorCode() != null || document.errorMessage() != null) {
            call.started(document.model()).fail(Failure.inAnswer(document.errorCode(), document.errorMessage())
                    .hiding(credential(request)).forEvent());
        } else {
            call.started(document.model()).complete(usage(document, document.hasToolCalls()));
        }
    }

    /** One chat completion being metered: its STARTED event goes out when its model is known. */
    private final class Metered {
        private final String session;
        private final ChatRequest chat;
        private final long beginNanos;
        private @Nullable InFlightCall call;

        Metered(String session, ChatRequest chat, long beginNanos) {
            this.session = session;
            this.chat = chat;
            this.beginNanos = beginNanos;
        }

        /**
         * The call, STARTED published: under the request's model, else {@code answerModel}, else
         * {@value #UNKNOWN_MODEL}.
         *
         * @throws InvalidEventException if the session id or the request's model cannot be recorded
         */
        InFlightCall started(@Nullable String answerModel) {
            if (call == null) {
                String model = chat.model() != null ? chat.model() : answerModel != null ? answerModel : UNKNOWN_MODEL;
                try {
                    call = start(model);
                } catch (InvalidEventException e) {
                    if (chat.model() != null || model.equals(UNKNOWN_MODEL)) {
                        throw e;
                    }
                    call = start(UNKNOWN_MODEL); // the answer's model name is not one the events accept
                }
            }
            return call;
        }

        private InFlightCall start(String model) {
            return tracker.call(session, model).messages(chat.messages()).tools(chat.tools()).startedAt(beginNanos)
                    .start();
        }
    }

    /** Reads a stream of chat completion chunks event by event, passing each on unless it is the held usage chunk. */
    private final class StreamReading implements Relay, SseEvents.Sink {
        private final Metered call;
        private final boolean holdUsage;
        private final SseEvents events = new SseEvents(this);
        private @Nullable OutputStream out;
        private @Nullable String model;
        private @Nullable OpenAiScanner usage;
        /** The first chunk before {@code [DONE]} that carried an error object: a stream that answered 200, then failed. */
        private @Nullable OpenAiScanner error;
        private boolean toolCalls;
        /** Whether the {@code data: [DONE]} that ends the stream came. */
        private boolean done;
        private boolean first = true;
        /** Whether any byte of the body came, and any event with a {@code data:} line: see {@link #cut()}. */
        private boolean anyBytes;
        private boolean anyData;
        /**
         * The body read as one JSON document, while no event data came, when its type is not
         * {@code text/event-stream}: an upstream that does not stream may answer whole as {@code text/plain}; null
         * for an event stream.
         */
        private final @Nullable OpenAiScanner whole;

        StreamReading(Metered call, boolean holdUsage, boolean eventStream) {
            this.call = call;
            this.holdUsage = holdUsage;
            this.whole = eventStream ? null : new OpenAiScanner();
        }

        @Override
        public void piece(OutputStream out, byte[] bytes, int offset, int length) {
            this.out = out;
            anyBytes |= length > 0;
            if (whole != null && !anyData) {
                whole.feed(bytes, offset, length);
            }
            events.feed(bytes, offset, length);
        }

        /**
         * Whether the stream, ended by the upstream's close, was cut short: no {@code data: [DONE]} came, and the
         * answer is an event stream (its type says so), or events with data came, or nothing came, or the body is
         * a JSON document whose top-level value did not close ({@link OpenAiScanner#cut()}). Otherwise a body with
         * no event data is no event stream (a whole JSON answer sent as {@code text/plain}): not taken as cut. An
         * event stream of comments only (keep-alive pings) is one cut before its first data.
         */
        boolean cut() {
            return !done && (whole == null || anyData || !anyBytes || whole.cut());
        }

        /** Whether the body was read as one JSON document: no event data came, and its type is no event stream. */
        boolean oneDocument() {
            return whole != null && !anyData && anyBytes;
        }

        void end(OutputStream out) {
            this.out = out;
            events.end();
            if (whole != null) {
                whole.end();
                if (!anyData && model == null) {
                    model = whole.model();
                }
            }
        }

        @Override
        public void event(byte[] bytes, int offset, int length) {
            Read chunk = read(bytes, offset, length);
            done |= SseEvents.isDone(bytes, offset + chunk.mark, length - chunk.mark);
            if (chunk.scanner.hasUsage()) {
                usage = chunk.scanner;
                if (holdUsage && chunk.scanner.hasNoChoices()) {
                    return;
                }
            }
            write(Objects.requireNonNull(out), bytes, offset, length);
        }

        /**
         * Reads an event, or the first piece of one too long to be held (a delta of megabytes): its model, whether
         * it carries content (the first token, timed when it arrives) or a tool call, and its error object. The
         * stream's first event is read past a byte order mark before it, as the format says; passed on with it.
         */
        private Read read(byte[] bytes, int offset, int length) {
            int mark = first ? SseEvents.byteOrderMark(bytes, offset, length) : 0;
            first = false;
            anyData = anyData || SseEvents.hasData(bytes, offset + mark, length - mark);
            OpenAiScanner chunk = SseEvents.scanData(bytes, offset + mark, length - mark);
            if (model == null) {
                model = chunk.model();
            }
            if (chunk.hasContent()) {
                call.started(model).firstToken();
            }
            toolCalls |= chunk.hasToolCalls();
            // After [DONE] the SDKs read nothing more: an error sent then is one the client never saw.
            if (error == null && !done && (chunk.errorCode() != null || chunk.errorMessage() != null)) {
                error = chunk;
            }
            return new Read(chunk, mark);
        }

        @Override
        public void piece(byte[] bytes, int offset, int length, boolean eventStart) {
            if (eventStart) {
                read(bytes, offset, length); // its usage, if any, is past what is read, and it is passed on
            }
            write(Objects.requireNonNull(out), bytes, offset, length);
        }

        /** A body that was one JSON document rather than events, if that document is an error object. */
        @Nullable OpenAiScanner documentError() {
            return oneDocument() && whole != null && (whole.errorCode() != null || whole.errorMessage() != null)
                    ? whole : null;
        }

        /** The usage of the last chunk that had one, or of a body that was one JSON document rather than events. */
        Usage usage() {
            if (usage == null && !anyData && whole != null && whole.hasUsage()) {
                return OpenAiProxy.usage(whole, whole.hasToolCalls());
            }
            return usage == null ? Usage.NONE.withToolCalls(toolCalls) : OpenAiProxy.usage(usage, toolCalls);
        }
    }

    /** An event as read, and the length of the byte order mark before it. */
    private record Read(OpenAiScanner scanner, int mark) {
    }

    /** What to do with each piece of an answer's body as it arrives. */
    private interface Relay {
        void piece(OutputStream out, byte[] bytes, int offset, int length);
    }

    /**
     * Passes the answer's body on as it arrives, flushing after each piece, then finishes the answer. A body that
     * ends where the upstream closes the connection ({@link #endsAtClose}) ends when the HTTP client finds no more
     * bytes, which it reports as bytes missing.
     *
     * @throws ClientGone   if the client could not be written to
     * @throws BrokenAnswer if the upstream's body broke off or timed out
     */
    private void pump(HttpClientResponse answer, OutputStream out, Relay relay) {
        pump(answer, answer.inputStream(), out, relay);
    }

    /** {@link #pump(HttpClientResponse, OutputStream, Relay)} of the answer's body as {@code in} reads it. */
    private void pump(HttpClientResponse answer, InputStream in, OutputStream out, Relay relay) {
        if (hasNoBody(answer.status().code())) {
            return;
        }
        boolean endsAtClose = endsAtClose(answer);
        byte[] buffer = new byte[PIECE_BYTES];
        while (true) {
            int read;
            try {
                read = in.read(buffer);
            } catch (IOException | RuntimeException e) {
                if (!endsAtClose || !Failure.endedByTheUpstream(e)) {
                    throw new BrokenAnswer(Failure.ofException(e));
                }
                read = -1;
            }
            if (read < 0) {
                break;
            }
            relay.piece(out, buffer, 0, read);
            try {
                out.flush();
            } catch (IOException | RuntimeException e) {
                throw new ClientGone();
            }
            written.run();
        }
    }

    private static void flush(OutputStream out) {
        try {
            out.flush();
        } catch (IOException | RuntimeException e) {
            throw new ClientGone();
        }
    }

    private static void write(OutputStream out, byte[] bytes, int offset, int length) {
        try {
            out.write(bytes, offset, length);
        } catch (IOException | RuntimeException e) {
            throw new ClientGone();
        }
    }

    private static Usage usage(OpenAiScanner answer, boolean toolCalls) {
        if (!answer.hasUsage()) {
            return Usage.NONE.withToolCalls(toolCalls); // no usage, not zero tokens
        }
        int prompt = tokens(answer.promptTokens());
        int completion = tokens(answer.completionTokens());
        return new Usage(prompt, completion, tokens(answer.totalTokens()), toolCalls,
                Math.min(prompt, tokens(answer.cachedTokens())), Math.min(completion, tokens(answer.reasoningTokens())),
                null, null, 0);
    }

    private static int tokens(long count) {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, count));
    }

    /**
     * Sends the request upstream with the client's headers, less this hop's, the access token and, when an
     * upstream key is set, the client's {@code Authorization}; asks for the answer uncompressed, so that its
     * usage can be read.
     *
     * @throws NoAnswer if the upstream could not be reached or did not answer in time
     */
    private HttpClientResponse send(ServerRequest request, byte[] body) {
        String query = request.query().rawValue();
        URI target = URI.create(settings.upstream() + request.prologue().uriPath().path().substring(PREFIX.length())
                + (query.isEmpty() ? "" : "?" + query));
        Set<String> connectionTokens = connectionTokens(request);
        Http1Client client = upstream;
        HttpClientResponse answer;
        try {
            answer = client.method(request.prologue().method()).uri(target)
                    .headers(headers -> {
                        for (Header header : request.headers()) {
                            String name = header.headerName().lowerCase();
                            if (!NOT_FORWARDED.contains(name) && !connectionTokens.contains(name)
                                    && !(name.equals("authorization") && settings.upstreamKey().isPresent())) {
                                headers.set(header);
                            }
                        }
                        headers.set(HeaderNames.ACCEPT_ENCODING, "identity");
                        settings.upstreamKey().ifPresent(key -> headers.set(HeaderNames.AUTHORIZATION, "Bearer " + key));
                    })
                    .submit(body);
        } catch (RuntimeException e) {
            throw new NoAnswer(Failure.ofException(e).hiding(credential(request)));
        }
        String unreadable = answer.status().code() < 200
                ? "the upstream sent an interim answer (" + answer.status().code() + "), which the proxy cannot read past"
                : hasNoBody(answer.status().code()) ? null // its body, which it has none of, is never read
                : answer.headers().contains(HeaderNames.CONTENT_LENGTH) && answer.headers().contains(HeaderNames.TRANSFER_ENCODING)
                ? "the upstream's answer declared both a Content-Length and a Transfer-Encoding" // its end unknown: RFC 9112 6.3
                : transferCoding(answer.headers()) instanceof String coding
                ? "the upstream's answer has a transfer coding the proxy did not ask for (" + coding + ")"
                : null;
        if (unreadable != null) {
            discard(client, answer);
            throw new NoAnswer(new Failure(ErrorType.SERVER_ERROR, unreadable, null));
        }
        return answer;
    }

    /**
     * The first transfer coding other than {@code chunked} (and {@code identity}, no coding) that an answer's
     * {@code Transfer-Encoding} names, else {@code null}. The proxy sends no {@code TE}, so an upstream may apply no
     * other (RFC 9112 §6.1); the HTTP client removes only the chunks, and a coding such as {@code gzip} belongs to the
     * upstream's hop, whose header is not passed on: its bytes would reach the client as a body nothing tells it how
     * to read.
     */
    private static @Nullable String transferCoding(Headers headers) {
        for (String value : headers.all(HeaderNames.TRANSFER_ENCODING, List::of)) {
            for (String token : value.split(",")) {
                int parameters = token.indexOf(';');
                String coding = (parameters < 0 ? token : token.substring(0, parameters)).strip().toLowerCase(Locale.ROOT);
                if (!coding.isEmpty() && !coding.equals("chunked") && !coding.equals("identity")) {
                    return coding;
                }
            }
        }
        return null;
    }

    /**
     * Drops the connection of an answer whose end is not known, or that cannot be passed on, so that its bytes past
     * the end the HTTP client would take can never become another call's answer. The client keeps such a connection for reuse when it
     * thinks the answer read, and offers no way to close one connection, so the proxy moves to a new client and
     * closes the old one's idle connections with it; calls in progress on the old one finish undisturbed.
     */
    private void discard(Http1Client client, HttpClientResponse answer) {
        synchronized (this) {
            if (upstream == client) {
                upstream = upstreamClient(settings);
            }
        }
        answer.close();
        client.closeResource();
    }

    /**
     * The credential the upstream was given, which its error texts may quote: the upstream key, else the client's
     * {@code Authorization} token (after its scheme) or {@code api-key} / {@code x-api-key}. One shorter than eight
     * characters (a placeholder such as {@code EMPTY}) is left, as hiding it would blank ordinary words.
     */
    private Optional<String> credential(ServerRequest request) {
        Optional<String> given = settings.upstreamKey().or(() -> request.headers().first(HeaderNames.AUTHORIZATION)
                .map(String::strip).map(value -> value.indexOf(' ') > 0 ? value.substring(value.indexOf(' ') + 1) : value)
                .or(() -> request.headers().first(HeaderNames.create("api-key")))
                .or(() -> request.headers().first(HeaderNames.create("x-api-key"))));
        return given.map(String::strip).filter(token -> token.length() >= 8);
    }

    private static Set<String> connectionTokens(ServerRequest request) {
        return connectionTokens(request.headers());
    }

    /** The field names a message's {@code Connection} header lists, lower case: fields of its hop (RFC 9110 §7.6.1). */
    private static Set<String> connectionTokens(Headers message) {
        Set<String> tokens = new HashSet<>();
        for (String value : message.all(HeaderNames.CONNECTION, List::of)) {
            for (String token : value.split(",")) {
                tokens.add(token.strip().toLowerCase(Locale.ROOT));
            }
        }
        return tokens;
    }

    /**
     * The answer's status and headers, less the upstream hop's own (those of {@link #NOT_PASSED_ON} and those its
     * {@code Connection} header names), its length unless the body is passed whole, and its
     * {@code Content-Encoding} when the body is passed on decompressed.
     */
    private static void passHead(HttpClientResponse answer, ServerResponse response, boolean bodyUnchanged, boolean decoded) {
        response.status(Status.create(answer.status().code(), answer.status().reasonPhrase()));
        Set<String> hop = connectionTokens(answer.headers());
        for (Header header : answer.headers()) {
            String name = header.headerName().lowerCase();
            if (!NOT_PASSED_ON.contains(name) && !hop.contains(name) && (bodyUnchanged || !name.equals("content-length"))
                    && !(decoded && name.equals("content-encoding"))) {
                response.header(header);
            }
        }
    }

    /**
     * Answers a chat completion of which nothing reached the client with the proxy's 502 or 504, with
     * {@code Connection: close} unless the client was found there ({@link ClientConnections#probe}: a read of its
     * connection may still wait).
     */
    private static void failBeforeAnswer(ServerRequest request, ServerResponse response, Failure failure,
            ClientConnections.Presence client) {
        if (client != ClientConnections.Presence.THERE) {
            response.header(HeaderValues.CONNECTION_CLOSE);
        }
        try {
            answerFailure(request, response, failure); // a client that closed only its sending side reads it
        } catch (UncheckedIOException gone) {
            throw new CloseConnectionException("the client disconnected while the upstream gave no answer");
        }
    }

    private static void answerFailure(ServerRequest request, ServerResponse response, Failure failure) {
        boolean timeout = failure.type() == ErrorType.TIMEOUT;
        OpenAiErrors.send(request, response, timeout ? Status.GATEWAY_TIMEOUT_504 : Status.BAD_GATEWAY_502, "upstream_error",
                timeout ? "upstream_timeout" : "upstream_unreachable", failure.text());
    }

    private void overloaded(ServerRequest request, ServerResponse response) {
        overloaded(request, response, "the proxy has " + settings.maxConcurrent()
                + " upstream calls in progress, as many as it allows; retry later");
    }

    private static void overloaded(ServerRequest request, ServerResponse response, String message) {
        response.header(HeaderNames.RETRY_AFTER, "1");
        OpenAiErrors.send(request, response, Status.SERVICE_UNAVAILABLE_503, "proxy_overloaded", "too_many_upstream_calls",
                message);
    }

    /** A request body as read, and the bytes of {@link #bodyBytes} it holds until its call ends. */
    private record Body(byte[] bytes, int held) {
        static final Body NONE = new Body(new byte[0], 0);
    }

    /**
     * The request body, read whole within the body timeout, each piece counted against {@link #bodyBytes} as it
     * arrives; {@code null} once answered 413 (longer than the limit), 400 (its framing broken) or 503 (the
     * bodies held at once at their bound: the rest of this one is read and discarded first, so that the client
     * reads the answer). A client waiting for {@code 100 Continue} gets the 413, or the 503 when its declared
     * length is more than the bound has free, before it is asked for the body. Bytes that have not come take
     * nothing, so a body sent slowly holds only what it sent, and no upstream slot.
     */
    private @Nullable Body readBody(ServerRequest request, ServerResponse response) {
        OptionalLong declared = request.headers().contentLength();
        // A client waiting for 100 Continue is sent it when the body is first read: one refused before never sends
        // its body (RFC 9110 10.1.1), and the connection, where it may still come, is closed after the answer.
        boolean expecting = request.headers().containsToken(HeaderValues.EXPECT_100) && !request.continueSent();
        if (declared.isPresent() && declared.getAsLong() > settings.maxBodyBytes()) {
            if (expecting) {
                response.header(HeaderValues.CONNECTION_CLOSE);
            }
            tooLarge(request, response);
            return null;
        }
        if (declared.isPresent() && declared.getAsLong() > bodyBytes.availablePermits() && expecting) {
            response.header(HeaderValues.CONNECTION_CLOSE);
            bodiesFull(request, response); // the bodies' bound has no room for this one now
            return null;
        }
        BodyDeadlines.Deadline deadline = deadlines.start();
        ByteArrayOutputStream body = new ByteArrayOutputStream(PIECE_BYTES);
        long size = 0;
        int held = 0;
        boolean kept = true;
        boolean tooLarge = false;
        boolean handedOver = false;
        try {
            try {
                InputStream in = request.content().inputStream();
                byte[] buffer = new byte[PIECE_BYTES];
                int read;
                while ((read = in.read(buffer)) != -1) {
                    size += read;
                    if (size > settings.maxBodyBytes()) {
                        tooLarge = true;
                        break;
                    }
                    if (kept && bodyBytes.tryAcquire(read)) {
                        held += read;
                        body.write(buffer, 0, read);
                    } else if (kept) { // past the bound: the rest is read only to be discarded
                        kept = false;
                        bodyBytes.release(held);
                        held = 0;
                        body = new ByteArrayOutputStream(0);
                    }
                }
                // Closed only once read to its end or past the limit (closing drains what is left, which a 413
                // swallows): closed after a broken framing, it would wait to drain a body that never comes.
                in.close();
            } catch (IOException | RuntimeException e) {
                if (!deadline.end()) { // an interrupt may be on its way: this connection must not serve another request
                    throw new CloseConnectionException("the request body did not arrive within the body timeout");
                }
                if (e instanceof RequestException refused
                        && refused.status().code() == Status.REQUEST_ENTITY_TOO_LARGE_413.code()) {
                    throw refused; // a chunked body past the server's limit: Helidon's 413, which closes the connection
                }
                // Any other refusal of Helidon's (chunk extensions, trailer fields, which it does not read) would keep
                // the connection, though where it stopped reading is unknown: closed after this answer.
                response.header(HeaderNames.CONNECTION, "close");
                OpenAiErrors.send(request, response, Status.BAD_REQUEST_400, "invalid_request_error", "malformed_body",
                        "the body could not be read as its headers declare it" + (declared.isPresent() ? ""
                                : " (chunked; chunk extensions and trailer fields are not supported)"));
                return null;
            }
            if (!deadline.end()) {
                throw new CloseConnectionException("the request body did not arrive within the body timeout");
            }
            if (tooLarge) {
                tooLarge(request, response);
                return null;
            }
            if (!kept) {
                bodiesFull(request, response);
                return null;
            }
            handedOver = true;
            return new Body(body.toByteArray(), held);
        } finally {
            if (!handedOver) {
                bodyBytes.release(held);
            }
        }
    }

    private static void bodiesFull(ServerRequest request, ServerResponse response) {
        overloaded(request, response, "the proxy holds as many request bytes as it allows (proxy.max.body.bytes × "
                + "proxy.max.concurrent); retry later");
    }

    private void tooLarge(ServerRequest request, ServerResponse response) {
        OpenAiErrors.send(request, response, Status.REQUEST_ENTITY_TOO_LARGE_413, "invalid_request_error", "body_too_large",
                "the body exceeds the proxy's " + settings.maxBodyBytes() + " bytes (proxy.max.body.bytes)");
    }

    /** The upstream gave no answer: it could not be reached, or not in time. */
    private static final class NoAnswer extends RuntimeException {
        private final Failure failure;

        NoAnswer(Failure failure) {
            super(failure.text(), null, false, false);
            this.failure = failure;
        }
    }

    /** The upstream's answer broke off, or its next bytes did not come in time. */
    private static final class BrokenAnswer extends RuntimeException {
        private final Failure failure;

        BrokenAnswer(Failure failure) {
            super(failure.text(), null, false, false);
            this.failure = failure;
        }
    }

    /** The client could not be written to: it went away. */
    private static final class ClientGone extends RuntimeException {
        ClientGone() {
            super("the client went away", null, false, false);
        }
    }
}
