package dev.llmmetrics.server.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * What the metering reads from a chat completion request, and the body to send upstream: the client's bytes
 * unchanged, or, for a stream whose client did not ask for usage, the same request asking for it
 * ({@code stream_options.include_usage}) so that the last chunk reports the tokens. A {@code stream} or an
 * {@code include_usage} that is not a JSON boolean, or a {@code stream_options} that is not an object, is the
 * client's mistake: the body goes as written, for the upstream to answer; such a {@code stream} asks for none.
 *
 * @param model        the requested model; {@code null} when the request names none (some servers serve one)
 * @param messages     messages in the request
 * @param tools        tools offered ({@code tools}, or {@code functions} in the older shape)
 * @param stream       whether the client asked for a stream of server-sent events ({@code "stream": true})
 * @param usageAdded   whether the proxy asked for the usage chunk of a stream on the client's behalf, so that the
 *                     client is not sent it
 * @param upstreamBody the body to forward
 */
record ChatRequest(@Nullable String model, int messages, int tools, boolean stream, boolean usageAdded,
                   byte[] upstreamBody) {

    /**
     * Reads request bodies as given, numbers exactly, so that a body written again says what the client said; a
     * string as long as the body, which {@code proxy.max.body.bytes} bounds: an image sent inline is one base64
     * string, past Jackson's default of 20 million characters from 15 MB of image.
     */
    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
                    .build())
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /**
     * Reads {@code body}; with {@code askUsage}, a stream whose client did not ask for the usage is forwarded asking
     * for it.
     *
     * @throws IllegalArgumentException if the body is not a JSON object
     */
    static ChatRequest read(byte[] body, boolean askUsage) {
        JsonNode root;
        try {
            root = MAPPER.readTree(body);
        } catch (IOException e) {
            throw new IllegalArgumentException("the body is not valid JSON", e);
        }
        if (!(root instanceof ObjectNode request)) {
            throw new IllegalArgumentException("the body is not a JSON object");
        }
        JsonNode model = request.get("model");
        JsonNode tools = request.has("tools") ? request.get("tools") : request.get("functions");
        // Only JSON's true asks, as the API defines the fields: Jackson's asBoolean would read "true" and 1 as true,
        // and the proxy would then add include_usage to a request the upstream refuses, or read a "false" as not asked.
        boolean stream = request.path("stream").isBoolean() && request.path("stream").booleanValue();
        JsonNode options = request.get("stream_options");
        JsonNode include = options == null ? null : options.get("include_usage");
        boolean usageAdded = askUsage && stream && (options == null || options.isNull()
                || options.isObject() && (include == null || include.isNull() || include.isBoolean() && !include.booleanValue()));
        byte[] upstreamBody = body;
        if (usageAdded) {
            ObjectNode asking = options instanceof ObjectNode given ? given : request.putObject("stream_options");
            asking.put("include_usage", true);
            try {
                upstreamBody = MAPPER.writeValueAsBytes(request);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("a tree just read is written again", e);
            }
        }
        return new ChatRequest(model != null && model.isTextual() && !model.asText().isBlank() ? model.asText() : null,
                request.path("messages").size(), tools == null ? 0 : tools.size(), stream, usageAdded, upstreamBody);
    }
}
