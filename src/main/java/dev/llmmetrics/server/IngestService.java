package dev.llmmetrics.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.RecordingFailedException;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * {@code POST /events}: ingestion for producers outside the JVM.
 *
 * <p>The body is one event object, a JSON array of them, or NDJSON ({@code application/x-ndjson},
 * {@code application/ndjson} or {@code application/jsonl}, one
 * object per line). All or nothing: every event is decoded and validated first; if any is invalid, none
 * is published and the 400 answer lists each problem by index and field. Otherwise all are published in
 * order and the answer is 202 with their count. Bodies over the size limit get 413, batches over the
 * length limit 413 (decided on the first event past it, see {@link BatchDecoder}), a body in a charset that
 * writes ASCII otherwise than UTF-8 does (UTF-16) 415, and malformed JSON or invalid UTF-8 400. A body that
 * does not arrive whole within the body timeout closes the connection.
 */
final class IngestService implements HttpService {

    /** The media types of one JSON value per line, under the names producers send them. */
    private static final List<String> LINES = List.of("application/x-ndjson", "application/ndjson", "application/jsonl");

    /** The most a body's buffer takes before its bytes arrive: 1 MiB, the default {@code ingest.max.body.bytes}. */
    private static final int INITIAL_BODY_BUFFER = 1 << 20;

    /** Characters of JSON that a charset writing ASCII as ASCII writes as their ASCII bytes. */
    private static final String ASCII_SAMPLE = "[{\"a\":1}]\n";

    private final EventBus bus;
    private final int maxBodyBytes;
    private final int maxBatch;
    private final ReadDeadlines deadlines;
    private final Duration bodyTimeout;

    /** @param bodyTimeout the longest the body may take to arrive, under {@code deadlines} */
    IngestService(EventBus bus, int maxBodyBytes, int maxBatch, ReadDeadlines deadlines, Duration bodyTimeout) {
        this.bus = bus;
        this.maxBodyBytes = maxBodyBytes;
        this.maxBatch = maxBatch;
        this.deadlines = deadlines;
        this.bodyTimeout = bodyTimeout;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/", this::ingest)
                .any("/", MethodNotAllowed.allowing(Method.POST));
    }

    private void ingest(ServerRequest request, ServerResponse response) {
        byte[] body;
        try {
            body = readBounded(request);
        } catch (UnreadableBody e) {
            // The rest of the body cannot be found in the stream: answer, then close the connection.
            response.header(HeaderValues.CONNECTION_CLOSE);
            ApiError.send(request, response, Status.BAD_REQUEST_400, "malformed_body", e.getMessage());
            return;
        }
        if (body == null) {
            // Helidon then reads and discards the rest, up to its own limit (HttpApi.SWALLOW_BYTES more), so
            // that the client, likely still sending, reads this answer rather than a reset connection; a client
            // still waiting for 100 Continue never sent it, and its connection is closed after the answer.
            if (request.headers().containsToken(HeaderValues.EXPECT_100) && !request.continueSent()) {
                response.header(HeaderValues.CONNECTION_CLOSE);
            }
            ApiError.send(request, response, Status.REQUEST_ENTITY_TOO_LARGE_413, "body_too_large",
                    "the body exceeds " + maxBodyBytes + " bytes");
            return;
        }
        String contentType = request.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
        String charset = notAsciiCompatible(contentType);
        if (charset != null) {
            ApiError.send(request, response, Status.UNSUPPORTED_MEDIA_TYPE_415, "unsupported_charset",
                    "the body must be UTF-8 (RFC 8259 section 8.1): Content-Type names charset " + charset);
            return;
        }
        String text = utf8(body);
        List<JsonNode> nodes;
        try {
            nodes = LINES.contains(mediaType(contentType))
                    ? BatchDecoder.lines(new StringReader(text), maxBatch)
                    : BatchDecoder.json(new StringReader(text), maxBatch);
        } catch (BatchDecoder.TooManyEvents e) {
            ApiError.send(request, response, Status.REQUEST_ENTITY_TOO_LARGE_413, "batch_too_large", e.getMessage());
            return;
        }
        if (nodes.isEmpty()) {
            throw new BadRequest("empty_batch", "the body holds no event");
        }
        List<Event> events = new ArrayList<>(nodes.size());
        List<ApiError.Problem> problems = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            try {
                Event event = EventJson.decode(nodes.get(i));
                if (!bus.accepts(event.type())) {
                    problems.add(new ApiError.Problem(i, "type", "too many distinct event types; not accepting " + event.type()));
                }
                events.add(event);
            } catch (EventJson.InvalidField e) {
                problems.add(new ApiError.Problem(i, e.field, e.getMessage()));
            }
        }
        if (!problems.isEmpty()) {
            Json.send(response, Status.BAD_REQUEST_400, new ApiError("invalid_events",
                    problems.size() + " of " + nodes.size() + " events are invalid; none was applied", problems));
            return;
        }
        // Room for every new type name first, all or none: a batch must never fail half published.
        List<String> types = new ArrayList<>(events.size());
        for (Event event : events) {
            types.add(event.type());
        }
        if (!bus.reserve(types)) {
            Set<String> known = bus.stats().publishedByType().keySet();
            for (int i = 0; i < events.size(); i++) {
                if (!known.contains(events.get(i).type())) {
                    problems.add(new ApiError.Problem(i, "type", "too many distinct event types; not accepting " + events.get(i).type()));
                }
            }
            Json.send(response, Status.BAD_REQUEST_400, new ApiError("invalid_events",
                    "the batch's new event types exceed the bound on distinct types; none was applied", problems));
            return;
        }
        // The store applies the batch all or none and each event_id once (durably, with a durable store,
        // before the 202); the meters see what it applied.
        List<Event> fresh;
        try {
            fresh = bus.publishAll(events);
        } catch (RecordingFailedException e) {
            ApiError.send(request, response, Status.SERVICE_UNAVAILABLE_503, "store_unavailable",
                    "the events could not be stored: retry later (an event with an event_id is applied once, "
                            + "however often it is sent)");
            return;
        }
        Json.send(response, Status.ACCEPTED_202, new Accepted(fresh.size(), events.size() - fresh.size()));
    }

    /**
     * The body, or {@code null} if it is longer than the limit.
     *
     * <p>Helidon reads the body's framing lazily, as the handler reads the stream, so a broken framing
     * (a chunk size that is not hex, a negative Content-Length, a connection closed before the declared
     * length, chunk extensions, trailer fields) surfaces here as an arbitrary runtime exception or a Helidon
     * {@link RequestException}: it is the client's fault, an {@link UnreadableBody}, answered on a connection
     * then closed. Helidon's 413 (a chunked body over the server's limit) keeps its answer. The stream is
     * closed only once read to its end: closing it earlier would block to drain a body that may never come.
     * The reads are under the body timeout: past it, the socket is closed and so is the connection, without an
     * answer.
     */
    private byte[] readBounded(ServerRequest request) throws UnreadableBody {
        ReadDeadlines.Deadline deadline = deadlines.start(bodyTimeout);
        byte[] body;
        try {
            body = readBody(request);
        } catch (UnreadableBody | RuntimeException e) {
            if (!deadline.end()) {
                throw timedOut();
            }
            throw e;
        }
        if (!deadline.end()) {
            throw timedOut();
        }
        return body;
    }

    private CloseConnectionException timedOut() {
        return new CloseConnectionException("the request body did not arrive within " + bodyTimeout);
    }

    private byte[] readBody(ServerRequest request) throws UnreadableBody {
        OptionalLong length = request.headers().contentLength();
        if (length.isPresent() && length.getAsLong() < 0) {
            throw new UnreadableBody("Content-Length must not be negative");
        }
        long declared = length.orElse(-1L);
        if (declared > maxBodyBytes) {
            return null;
        }
        // Sized by the declared length up to 1 MiB (the default bound) only: the header is a claim, and past that
        // the buffer grows with the bytes that arrive (a length near Integer.MAX_VALUE was an OutOfMemoryError)
        ByteArrayOutputStream out = new ByteArrayOutputStream(declared > 0 ? (int) Math.min(declared, INITIAL_BODY_BUFFER) : 8192);
        byte[] buffer = new byte[8192];
        try {
            InputStream in = request.content().inputStream();
            int read;
            while ((read = in.read(buffer)) != -1) {
                if ((long) out.size() + read > maxBodyBytes) { // in long: near Integer.MAX_VALUE the sum overflowed
                    return null;
                }
                out.write(buffer, 0, read);
            }
            in.close();
        } catch (RequestException e) {
            if (e.status().code() == Status.REQUEST_ENTITY_TOO_LARGE_413.code()) {
                throw e; // a chunked body past the server's limit: Helidon's 413, which closes the connection
            }
            throw unreadable(declared); // Helidon's refusal of the chunks would keep the connection
        } catch (IOException | RuntimeException e) {
            throw unreadable(declared);
        }
        return out.toByteArray();
    }

    /**
     * A body whose framing is broken, whatever Helidon threw reading it. Helidon reads neither chunk extensions
     * ({@code 5;name=value}) nor trailer fields, though RFC 9112 section 7.1 asks a recipient to ignore them: the
     * message says so. Where it stopped reading is unknown, so the connection is closed after the answer.
     */
    private static UnreadableBody unreadable(long declared) {
        return new UnreadableBody("the body could not be read as its headers declare it" + (declared >= 0
                ? " (Content-Length " + declared + ")"
                : " (chunked; chunk extensions and trailer fields are not supported)"));
    }

    /** The body's framing is broken; the message says how, for the client. */
    private static final class UnreadableBody extends Exception {
        UnreadableBody(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The media type of a {@code Content-Type} value, its parameters left out, in lower case: compared whole, so that
     * {@code application/jsonlines} or {@code application/x-ndjson-seq} is not read as the NDJSON it begins like.
     */
    static String mediaType(String contentType) {
        int parameters = contentType.indexOf(';');
        return (parameters < 0 ? contentType : contentType.substring(0, parameters)).strip().toLowerCase(Locale.ROOT);
    }

    /**
     * The {@code charset} a {@code Content-Type} value names, when it is one the server knows and that does not write
     * ASCII as ASCII (UTF-16, UTF-32): a body so written, read as the UTF-8 it must be, is NUL bytes between
     * characters, which the parser would call malformed JSON. {@code null} when the value names no charset, one not
     * known, or one that writes ASCII as ASCII (ISO-8859-1 as well as UTF-8: such a body is read as UTF-8, as any
     * body is, and refused as {@code invalid_utf8} if it is not).
     */
    static @Nullable String notAsciiCompatible(String contentType) {
        for (String parameter : contentType.split(";")) {
            int equals = parameter.indexOf('=');
            if (equals < 0 || !parameter.substring(0, equals).strip().equalsIgnoreCase("charset")) {
                continue;
            }
            String name = parameter.substring(equals + 1).strip();
            if (name.length() >= 2 && name.startsWith("\"") && name.endsWith("\"")) {
                name = name.substring(1, name.length() - 1);
            }
            Charset charset;
            try {
                charset = Charset.forName(name);
            } catch (IllegalArgumentException e) { // an illegal or unsupported name: the body is read as UTF-8
                continue;
            }
            if (!charset.canEncode() || !Arrays.equals(ASCII_SAMPLE.getBytes(charset),
                    ASCII_SAMPLE.getBytes(StandardCharsets.US_ASCII))) {
                return EventJson.quoted(name);
            }
        }
        return null;
    }

    private static String utf8(byte[] body) {
        try {
            return Utf8.decode(body);
        } catch (CharacterCodingException e) {
            throw new BadRequest("invalid_utf8", "the body is not valid UTF-8");
        }
    }

    /**
     * The answer to an accepted batch.
     *
     * @param accepted   events applied
     * @param duplicates events acknowledged but not applied, their {@code event_id} seen within the window
     */
    record Accepted(int accepted, int duplicates) {
    }
}
