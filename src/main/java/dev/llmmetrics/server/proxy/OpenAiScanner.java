package dev.llmmetrics.server.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.jspecify.annotations.Nullable;

/**
 * Reads what the metering needs from an OpenAI chat completion document as its bytes pass, without keeping
 * them: a whole answer fed piece by piece as it arrives, or one streamed chunk. It notes the model, the usage
 * (cached and reasoning tokens included), whether a choice asks for tool calls, whether a streamed chunk
 * carries content, and an error's code and message. A document that is not valid JSON stops the reading; what
 * was read stays. Not thread-safe.
 */
final class OpenAiScanner {

    private static final JsonFactory JSON = new JsonFactory();
    /** Deeper than any path read here; deeper levels are counted, not named. */
    private static final int MAX_NAMED_DEPTH = 6;
    private static final String ARRAY = "[]";

    private final JsonParser parser;
    private final ByteArrayFeeder feeder;
    private final String[] path = new String[MAX_NAMED_DEPTH];
    private int depth;
    private boolean broken;

    private @Nullable String model;
    private boolean usage;
    private long promptTokens = -1;
    private long completionTokens = -1;
    private long totalTokens = -1;
    private long cachedTokens;
    private long reasoningTokens;
    private boolean toolCalls;
    private boolean content;
    private int choices = -1;
    private @Nullable String errorCode;
    private @Nullable String errorMessage;

    OpenAiScanner() {
        try {
            parser = JSON.createNonBlockingByteArrayParser();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
    }

    /** Scans one whole document, such as a streamed chunk's data. */
    static OpenAiScanner scan(byte[] bytes, int offset, int length) {
        OpenAiScanner scanner = new OpenAiScanner();
        scanner.feed(bytes, offset, length);
        scanner.end();
        return scanner;
    }

    /** Reads the next piece of the document; the bytes are not kept. */
    void feed(byte[] bytes, int offset, int length) {
        if (broken || length == 0) {
            return;
        }
        try {
            feeder.feedInput(bytes, offset, offset + length);
            drain();
        } catch (IOException | RuntimeException e) {
            broken = true;
        }
    }

    /** The document is complete. */
    void end() {
        if (broken) {
            return;
        }
        try {
            feeder.endOfInput();
            drain();
            parser.close();
        } catch (IOException | RuntimeException e) {
            broken = true;
        }
    }

    private void drain() throws IOException {
        JsonToken token;
        while ((token = parser.nextToken()) != null && token != JsonToken.NOT_AVAILABLE) {
            switch (token) {
                case FIELD_NAME -> name(depth - 1, parser.currentName());
                case START_OBJECT, START_ARRAY -> {
                    opened(token == JsonToken.START_ARRAY);
                    if (depth - 1 < MAX_NAMED_DEPTH) {
                        path[depth - 1] = token == JsonToken.START_ARRAY ? ARRAY : null;
                    }
                }
                case END_OBJECT, END_ARRAY -> depth--;
                case VALUE_STRING -> string(parser.getText());
                case VALUE_NUMBER_INT -> number(parser.getLongValue());
                default -> {
                }
            }
        }
    }

    private void name(int level, String name) {
        if (level >= 0 && level < MAX_NAMED_DEPTH) {
            path[level] = name;
        }
    }

    /** A container opens at {@code depth}, named by the path so far. */
    private void opened(boolean array) {
        if (at("usage") && !array) {
            usage = true;
        } else if (at("choices") && array) {
            choices = 0;
        } else if (depth == 2 && ARRAY.equals(path[1]) && "choices".equals(path[0]) && !array) {
            choices++;
        } else if (!array && inChoice() && (at("choices", ARRAY, "message", "tool_calls", ARRAY)
                || at("choices", ARRAY, "delta", "tool_calls", ARRAY) || at("choices", ARRAY, "message", "function_call")
                || at("choices", ARRAY, "delta", "function_call"))) {
            toolCalls = true;
            content = true;
        }
        depth++;
    }

    private boolean inChoice() {
        return depth >= 3 && "choices".equals(path[0]);
    }

    private void string(String value) {
        if (at("model")) {
            model = value;
        } else if (at("error", "code") || (at("error", "type") && errorCode == null)) {
            errorCode = value;
        } else if (at("error", "message") || at("error")) {
            errorMessage = value;
        } else if (!value.isEmpty() && inChoice() && (at("choices", ARRAY, "delta", "content")
                || at("choices", ARRAY, "delta", "refusal") || at("choices", ARRAY, "delta", "reasoning_content")
                || at("choices", ARRAY, "delta", "reasoning"))) {
            content = true;
        }
    }

    private void number(long value) {
        if (depth < 2 || !"usage".equals(path[0])) {
            return;
        }
        if (at("usage", "prompt_tokens")) {
            promptTokens = value;
        } else if (at("usage", "completion_tokens")) {
            completionTokens = value;
        } else if (at("usage", "total_tokens")) {
            totalTokens = value;
        } else if (at("usage", "prompt_tokens_details", "cached_tokens")) {
            cachedTokens = value;
        } else if (at("usage", "completion_tokens_details", "reasoning_tokens")) {
            reasoningTokens = value;
        }
    }

    /** Whether the value or container at the current position is at exactly {@code names} from the root. */
    private boolean at(String... names) {
        if (depth != names.length) {
            return false;
        }
        for (int i = 0; i < names.length; i++) {
            if (!names[i].equals(path[i])) {
                return false;
            }
        }
        return true;
    }

    /** The top-level {@code model}, if the document named one. */
    @Nullable String model() {
        return model;
    }

    /** Whether the document carried a {@code usage} object. */
    boolean hasUsage() {
        return usage && promptTokens >= 0 && completionTokens >= 0;
    }

    long promptTokens() {
        return Math.max(0, promptTokens);
    }

    long completionTokens() {
        return Math.max(0, completionTokens);
    }

    /** The reported total, or the sum of prompt and completion tokens when none was reported. */
    long totalTokens() {
        return totalTokens >= 0 ? totalTokens : promptTokens() + completionTokens();
    }

    long cachedTokens() {
        return cachedTokens;
    }

    long reasoningTokens() {
        return reasoningTokens;
    }

    /** Whether a choice asked for tool calls (or a function call, in the older shape). */
    boolean hasToolCalls() {
        return toolCalls;
    }

    /** Whether a streamed chunk carries content: text, a refusal, reasoning or a tool call. */
    boolean hasContent() {
        return content;
    }

    /** Whether the document holds a {@code choices} array with no choice in it. */
    boolean hasNoChoices() {
        return choices == 0;
    }

    /** The error's {@code code}, else its {@code type}, if the document is an error. */
    @Nullable String errorCode() {
        return errorCode;
    }

    /** The error's {@code message}, if the document is an error. */
    @Nullable String errorMessage() {
        return errorMessage;
    }
}
