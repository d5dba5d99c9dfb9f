package dev.llmmetrics.server.proxy;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpMediaTypes;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The proxy's own error answers, in the OpenAI API's error shape so that the SDKs raise them with their message:
 * {@code {"error":{"message":…,"type":…,"param":null,"code":…}}}. Upstream errors are passed on as they came.
 */
public final class OpenAiErrors {

    private OpenAiErrors() {
    }

    /**
     * Sends an error whole, not streamed, so that a filter may send it too; to a {@code HEAD} request the headers
     * alone, with the body's length, since Helidon would send the body after them.
     *
     * @param type    the error's type, such as {@code invalid_request_error}
     * @param code    a short snake_case code, such as {@code body_too_large}
     * @param message what went wrong, for a human
     */
    public static void send(ServerRequest request, ServerResponse response, Status status, String type, String code,
                            String message) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", message);
        error.put("type", type);
        error.put("param", null);
        error.put("code", code);
        byte[] body;
        try {
            body = ChatRequest.MAPPER.writeValueAsBytes(Map.of("error", error));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings is written", e);
        }
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
