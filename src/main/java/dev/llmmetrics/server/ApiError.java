package dev.llmmetrics.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpMediaTypes;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;

/**
 * The body of every error answer: a stable machine-readable {@code error} code, a human {@code detail},
 * and for rejected events the list of problems by event index and field.
 *
 * @param error  a short snake_case code such as {@code invalid_events}
 * @param detail what went wrong, for a human
 * @param errors the individual problems, when there are several
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record ApiError(String error, String detail, List<Problem> errors) {

    /**
     * One problem with one event of a batch.
     *
     * @param index  the event's position in the batch, from 0
     * @param field  the offending field, or {@code null} when the event as a whole is wrong
     * @param reason what is wrong with it
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Problem(int index, String field, String reason) {
    }

    /**
     * Sends the error whole, not streamed: Helidon counts a streamed answer from a filter as not sent, and
     * filters (auth, drain) answer with these errors. To a {@code HEAD} request it sends the headers alone, with
     * the body's length: Helidon would send the body, which a client reads as the start of the next answer.
     */
    static void send(ServerRequest request, ServerResponse response, Status status, String error, String detail) {
        byte[] body = Json.bytes(new ApiError(error, detail, null));
        response.status(status);
        response.header(HeaderNames.CONTENT_TYPE, HttpMediaTypes.JSON_UTF_8.text());
        if (request.prologue().method() == Method.HEAD) {
            response.header(HeaderNames.CONTENT_LENGTH, String.valueOf(body.length));
            response.send();
        } else {
            response.send(body);
        }
    }
}
