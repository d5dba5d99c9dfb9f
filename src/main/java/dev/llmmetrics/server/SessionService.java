package dev.llmmetrics.server;

import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.session.SessionMetrics;
import dev.llmmetrics.session.SessionStore;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The sessions resource under {@code /events/metrics}: one session's metrics (in the shape {@link Json}
 * fixes, with an entity tag for conditional GETs), the list of sessions, their summaries (the session shape
 * without records, for the web view, with an entity tag too), and clearing a session from the store, on
 * {@code If-Match} only while the session is in the state its tag names.
 *
 * <p>A session id may hold any character an event accepts, {@code /} and {@code %} included, so the id is
 * read from the raw path and percent-decoded here (as strict UTF-8), not from Helidon's decoded path, in
 * which an encoded {@code /} would already split the id into segments. An id that no event could carry
 * (blank, too long, control characters, invalid UTF-8) is a 400 naming {@code session_id}.
 */
final class SessionService implements HttpService {

    /** The most ids one page of the session list holds. */
    static final int MAX_PAGE = 10_000;

    /** The most summaries one page holds, and how many it holds unless told. */
    static final int MAX_SUMMARY_PAGE = 1000;
    static final int DEFAULT_SUMMARY_PAGE = 100;

    /** Where the session id starts in the raw path, as {@link HttpApi} mounts this service. */
    private static final String SESSION_PATH = "/events/metrics/session/";

    /** About how many bytes of rendered session JSON are kept for sessions read again unchanged. */
    static final long RENDERED_BYTES = 16L << 20;

    /** The largest session JSON kept; a larger one is rendered again on each read, never held whole. */
    static final int RENDERED_BYTES_EACH = 1 << 20;

    private final SessionStore store;
    private final RenderedSessions rendered = new RenderedSessions(RENDERED_BYTES);

    SessionService(SessionStore store) {
        this.store = store;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/session/{session_id:(?s).+}", this::session)
                .delete("/session/{session_id:(?s).+}", this::clear)
                .any("/session/{session_id:(?s).+}", MethodNotAllowed.allowing(Method.GET, Method.DELETE))
                .get("/sessions", this::sessions)
                .any("/sessions", MethodNotAllowed.allowing(Method.GET))
                .get("/summaries", this::summaries)
                .any("/summaries", MethodNotAllowed.allowing(Method.GET));
    }

    private void session(ServerRequest request, ServerResponse response) {
        String id = sessionId(request);
        if (id == null) {
            noEndpoint(request, response);
            return;
        }
        String revision = store.revision(id).orElse(null);
        if (revision == null) {
            // Not held, or a store that does not tag its states: no entity tag, nothing kept.
            store.session(id).ifPresentOrElse(
                    metrics -> Json.send(response, Status.OK_200, metrics),
                    () -> notFound(request, response));
            return;
        }
        String etag = '"' + revision + '"';
        response.header(HeaderNames.ETAG, etag); // Cache-Control is no-store (ApiHeaders): a client keeps the tag itself
        if (EntityTags.matches(request.headers(), etag)) {
            response.status(Status.NOT_MODIFIED_304).send();
            return;
        }
        byte[] json = rendered.get(id, revision);
        if (json != null) {
            Json.sendRendered(response, json);
            return;
        }
        Optional<SessionMetrics> metrics = store.session(id);
        if (metrics.isEmpty()) {
            response.headers().remove(HeaderNames.ETAG);
            notFound(request, response);
            return;
        }
        // Written as it is rendered. The revision was read first, so what is rendered is that state or a later
        // one: kept under the earlier revision, it is only ever rendered again, never served for a state it does
        // not show. A large answer is not kept.
        json = Json.sendKeeping(response, Status.OK_200, metrics.get(), RENDERED_BYTES_EACH);
        if (json != null) {
            rendered.put(id, revision, json);
        }
    }

    private void clear(ServerRequest request, ServerResponse response) {
        String id = sessionId(request);
        if (id == null) {
            noEndpoint(request, response);
            return;
        }
        rendered.forget(id);
        Headers headers = request.headers();
        boolean conditional = headers.contains(HeaderNames.IF_MATCH) || headers.contains(HeaderNames.IF_NONE_MATCH);
        boolean cleared;
        String unmet = null; // the state that did not meet the conditions, for the 412
        try {
            if (conditional && !anyState(headers)) {
                // Without a state there is nothing to compare: the 404 it would be without the conditions (RFC 9110
                // §13.2.1). With one, it is removed only in a state that meets them, compared as the store removes it.
                boolean held = store.revision(id).isPresent();
                cleared = held && store.clear(id, revision -> meets(headers, revision));
                unmet = cleared || !held ? null : store.revision(id).orElse(null);
            } else {
                // Durable before the answer, with a durable store; If-Match: * alone is met by every state it has.
                cleared = store.clear(id);
            }
        } catch (RecordingFailedException e) {
            ApiError.send(request, response, Status.SERVICE_UNAVAILABLE_503, "store_unavailable",
                    "the session could not be cleared; nothing was cleared, retry later");
            return;
        }
        if (cleared) {
            Json.send(response, Status.OK_200, new Cleared(id, true));
            return;
        }
        if (unmet == null) {
            notFound(request, response);
            return;
        }
        response.header(HeaderNames.ETAG, '"' + unmet + '"');
        ApiError.send(request, response, Status.PRECONDITION_FAILED_412, "precondition_failed",
                "the session is not in the state If-Match or If-None-Match asks for; nothing was cleared");
    }

    /**
     * Whether every state of a session meets the request's conditions: {@code If-Match} is {@code *} (a list naming
     * it) and there is no {@code If-None-Match}. The session is then cleared while it is held, whatever events
     * change it meanwhile, as a delete without conditions is.
     */
    private static boolean anyState(Headers headers) {
        return !headers.contains(HeaderNames.IF_NONE_MATCH) && EntityTags.ifMatch(headers, "*");
    }

    /** Whether the session's state, tagged {@code revision}, meets the request's {@code If-Match} and {@code If-None-Match}. */
    private static boolean meets(Headers headers, String revision) {
        String etag = '"' + revision + '"';
        return EntityTags.ifMatch(headers, etag) && !EntityTags.matches(headers, etag);
    }

    private void sessions(ServerRequest request, ServerResponse response) {
        int limit = QueryParams.intParam(request.query(), "limit", MAX_PAGE, 0, MAX_PAGE);
        int offset = QueryParams.intParam(request.query(), "offset", 0, 0, Integer.MAX_VALUE);
        List<String> ids = store.sessionIds(offset, limit);
        Json.send(response, Status.OK_200, new SessionList(ids, ids.size(), store.sessionCount()));
    }

    /**
     * The sessions' aggregates, most recently active first, each in the session shape with an empty
     * {@code requests}: what a table of sessions needs, in one request. {@code id_contains} keeps the
     * sessions whose id contains it, ignoring case; {@code total} then counts those. An entity tag names the page's
     * bytes: {@code If-None-Match} with it gets 304 while the page is the same.
     */
    private void summaries(ServerRequest request, ServerResponse response) {
        int limit = QueryParams.intParam(request.query(), "limit", DEFAULT_SUMMARY_PAGE, 0, MAX_SUMMARY_PAGE);
        int offset = QueryParams.intParam(request.query(), "offset", 0, 0, Integer.MAX_VALUE);
        Optional<String> contains = QueryParams.stringParam(request.query(), "id_contains", Event.MAX_ID_LENGTH);
        List<String> ids;
        int total;
        if (contains.isPresent()) {
            String needle = contains.get().toLowerCase(Locale.ROOT);
            List<String> matching = store.sessionIds(0, Integer.MAX_VALUE).stream()
                    .filter(id -> id.toLowerCase(Locale.ROOT).contains(needle))
                    .toList();
            total = matching.size();
            int from = Math.min(offset, total);
            ids = matching.subList(from, (int) Math.min(total, (long) from + limit));
        } else {
            ids = store.sessionIds(offset, limit);
            total = store.sessionCount();
        }
        List<SessionMetrics> sessions = store.summaries(ids); // those gone since the ids were read left out
        SessionSummaries page = new SessionSummaries(sessions, sessions.size(), total);
        // The page's entity tag is a digest of its bytes: a page shows many sessions, of a store that gives no
        // revision of a page, and the bytes are what a client holds. Rendered twice, never held.
        String etag = Json.entityTag(page);
        response.header(HeaderNames.ETAG, etag);
        if (EntityTags.matches(request.headers(), etag)) {
            response.status(Status.NOT_MODIFIED_304).send();
            return;
        }
        Json.send(response, Status.OK_200, page);
    }

    /**
     * The session id of the request: the raw path after {@code /events/metrics/session/}, percent-decoded
     * as UTF-8, or {@code null} when that part holds a literal {@code /} (several path segments, which is
     * no endpoint: an id with a slash must encode it as {@code %2F}).
     *
     * @throws BadRequest when the id is badly encoded or could not be the id of any session
     */
    static String sessionId(ServerRequest request) {
        String raw = request.prologue().uriPath().rawPath();
        int start = raw.indexOf(SESSION_PATH); // not always 0: an absolute-form target, "//events/...", "/x/../events/..."
        String id;
        if (start >= 0) {
            String encoded = raw.substring(start + SESSION_PATH.length());
            if (encoded.indexOf('/') >= 0) {
                return null;
            }
            for (int i = 0; i < encoded.length(); i++) {
                // Helidon reads a byte past ASCII in the target as U+FFFD: "café" sent raw would name the session
                // "caf" and two U+FFFD, as would every other id of two such bytes there.
                if (encoded.charAt(i) >= 0x80) {
                    throw new BadRequest("invalid_session_id", "session_id holds " + Utf8.unescaped(encoded.charAt(i), i));
                }
            }
            id = percentDecode(encoded);
        } else {
            // Mounted elsewhere, or a request target Helidon rewrote: fall back to its decoded parameter.
            id = request.path().pathParameters().get("session_id");
            if (id.indexOf('/') >= 0) {
                return null;
            }
        }
        try {
            return Event.requireValidId("session_id", id);
        } catch (IllegalArgumentException e) {
            throw new BadRequest("invalid_session_id", e.getMessage());
        }
    }

    /**
     * Why the session id in {@code rawPath}, the target of a request Helidon refused before routing, is
     * malformed, or {@code null} when the target is no session route or its id is not at fault.
     */
    static String malformedId(String rawPath) {
        int start = rawPath.indexOf(SESSION_PATH);
        if (start < 0) {
            return null;
        }
        int query = rawPath.indexOf('?', start);
        String encoded = rawPath.substring(start + SESSION_PATH.length(), query < 0 ? rawPath.length() : query);
        if (encoded.isEmpty() || encoded.indexOf('/') >= 0) {
            return null;
        }
        String unescaped = Utf8.unescaped(encoded);
        if (unescaped != null) {
            return "session_id holds " + unescaped;
        }
        try {
            Event.requireValidId("session_id", percentDecode(encoded));
            return null;
        } catch (BadRequest | IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** Strict percent-decoding of one path segment: {@code %} must start two hex digits, the bytes must be UTF-8. */
    static String percentDecode(String encoded) {
        try {
            return Utf8.percentDecode(encoded, false);
        } catch (IllegalArgumentException e) {
            throw new BadRequest("invalid_session_id", "session_id " + e.getMessage());
        }
    }

    private static void noEndpoint(ServerRequest request, ServerResponse response) {
        ApiError.send(request, response, Status.NOT_FOUND_404, "not_found",
                "no endpoint " + request.prologue().method().text() + " " + request.prologue().uriPath().path()
                        + " (a session id holding a slash must encode it as %2F)");
    }

    private static void notFound(ServerRequest request, ServerResponse response) {
        ApiError.send(request, response, Status.NOT_FOUND_404, "session_not_found", "no metrics for this session");
    }

    /**
     * @param sessions session ids, most recently active first
     * @param count    ids in this answer
     * @param total    sessions held in the store
     */
    record SessionList(List<String> sessions, int count, int total) {
    }

    /**
     * @param sessions summaries, most recently active first, each with an empty {@code requests}
     * @param count    summaries in this answer
     * @param total    sessions held in the store (that match {@code id_contains}, when given)
     */
    record SessionSummaries(List<SessionMetrics> sessions, int count, int total) {
    }

    /** The answer to a successful DELETE. */
    record Cleared(String sessionId, boolean cleared) {
    }
}
