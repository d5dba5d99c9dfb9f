package dev.llmmetrics.server.proxy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * Reads what the metering needs from an OpenAI chat completion document as its bytes pass, without keeping
 * them: a whole answer fed piece by piece as it arrives, or one streamed chunk. It notes the model, the usage
 * (cached and reasoning tokens included), whether a choice asks for tool calls, whether a streamed chunk
 * carries content, and an error's code and message.
 *
 * <p>Its memory is bounded whatever the document's size: a JSON tokenizer of its own, whose state is the
 * position in the grammar, the names of the first {@value #MAX_NAMED_DEPTH} levels of the path (each matched
 * against the few names read here, never kept as text), one bit a container up to {@value #MAX_DEPTH} deep, and
 * the text of the one string being kept, at most {@value #MAX_KEPT_BYTES} bytes (the model, an error's code or
 * message; longer ones are cut there, past what any record takes). Every other string, the answer's text
 * included, is skipped as it passes, however long. A general JSON parser holds each string whole until it ends,
 * which would make an answer of megabytes that a slow client has not read yet a copy of that size in the heap.
 *
 * <p>A UTF-8 byte order mark before the document's first byte is skipped, as some OpenAI-compatible servers
 * write one; anywhere else it is not JSON. A document that is not valid JSON (or deeper than {@value #MAX_DEPTH})
 * stops the reading; what was read stays, and the document is not {@link #cut()}: nothing says where such a document
 * ends. Whole numbers past a {@code long} are not read as numbers. Not thread-safe.
 */
final class OpenAiScanner {

    /** The most bytes of a kept string (model, error code, type or message): past all an event or record takes. */
    static final int MAX_KEPT_BYTES = 16 * 1024;
    /** The deepest nesting read; a deeper document stops the reading. */
    static final int MAX_DEPTH = 1024;
    /** Deeper than any path read here; deeper levels are counted, not named. */
    private static final int MAX_NAMED_DEPTH = 6;
    /** Longer than every name read here: a longer one is none of them. */
    private static final int MAX_NAME_BYTES = 32;

    // The names a path is made of: OTHER for any name not read here (and an object before its first name),
    // ARRAY for the elements of an array.
    private static final int OTHER = 0;
    private static final int ARRAY = 1;
    private static final int MODEL = 2;
    private static final int USAGE = 3;
    private static final int CHOICES = 4;
    private static final int MESSAGE = 5;
    private static final int DELTA = 6;
    private static final int TOOL_CALLS = 7;
    private static final int FUNCTION_CALL = 8;
    private static final int CONTENT = 9;
    private static final int REFUSAL = 10;
    private static final int REASONING_CONTENT = 11;
    private static final int REASONING = 12;
    private static final int ERROR = 13;
    private static final int CODE = 14;
    private static final int TYPE = 15;
    private static final int PROMPT_TOKENS = 16;
    private static final int COMPLETION_TOKENS = 17;
    private static final int TOTAL_TOKENS = 18;
    private static final int PROMPT_TOKENS_DETAILS = 19;
    private static final int CACHED_TOKENS = 20;
    private static final int COMPLETION_TOKENS_DETAILS = 21;
    private static final int REASONING_TOKENS = 22;
    private static final byte[][] NAMES = names("", "", "model", "usage", "choices", "message", "delta", "tool_calls",
            "function_call", "content", "refusal", "reasoning_content", "reasoning", "error", "code", "type",
            "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "cached_tokens",
            "completion_tokens_details", "reasoning_tokens");

    private static final int[] AT_MODEL = {MODEL};
    private static final int[] AT_USAGE = {USAGE};
    private static final int[] AT_CHOICES = {CHOICES};
    private static final int[] AT_ERROR = {ERROR};
    private static final int[] AT_ERROR_CODE = {ERROR, CODE};
    private static final int[] AT_ERROR_TYPE = {ERROR, TYPE};
    private static final int[] AT_ERROR_MESSAGE = {ERROR, MESSAGE};
    private static final int[] AT_TOP_MESSAGE = {MESSAGE};
    private static final int[] AT_TOP_TYPE = {TYPE};
    private static final int[] AT_MESSAGE_TOOL_CALL = {CHOICES, ARRAY, MESSAGE, TOOL_CALLS, ARRAY};
    private static final int[] AT_DELTA_TOOL_CALL = {CHOICES, ARRAY, DELTA, TOOL_CALLS, ARRAY};
    private static final int[] AT_MESSAGE_FUNCTION_CALL = {CHOICES, ARRAY, MESSAGE, FUNCTION_CALL};
    private static final int[] AT_DELTA_FUNCTION_CALL = {CHOICES, ARRAY, DELTA, FUNCTION_CALL};
    private static final int[] AT_DELTA_CONTENT = {CHOICES, ARRAY, DELTA, CONTENT};
    private static final int[] AT_DELTA_REFUSAL = {CHOICES, ARRAY, DELTA, REFUSAL};
    private static final int[] AT_DELTA_REASONING_CONTENT = {CHOICES, ARRAY, DELTA, REASONING_CONTENT};
    private static final int[] AT_DELTA_REASONING = {CHOICES, ARRAY, DELTA, REASONING};
    private static final int[] AT_PROMPT_TOKENS = {USAGE, PROMPT_TOKENS};
    private static final int[] AT_COMPLETION_TOKENS = {USAGE, COMPLETION_TOKENS};
    private static final int[] AT_TOTAL_TOKENS = {USAGE, TOTAL_TOKENS};
    private static final int[] AT_CACHED_TOKENS = {USAGE, PROMPT_TOKENS_DETAILS, CACHED_TOKENS};
    private static final int[] AT_REASONING_TOKENS = {USAGE, COMPLETION_TOKENS_DETAILS, REASONING_TOKENS};

    // Where the tokenizer is.
    private static final int VALUE = 0;        // a value (at the root: any number of them, apart by white space)
    private static final int FIRST_VALUE = 1;  // after '[': a value or ']'
    private static final int FIRST_NAME = 2;   // after '{': a name or '}'
    private static final int NAME = 3;         // after ',' in an object: a name
    private static final int COLON = 4;        // after a name
    private static final int AFTER_VALUE = 5;  // ',' or the container's end
    private static final int STRING = 6;
    private static final int ESCAPE = 7;       // after a backslash in a string
    private static final int UNICODE = 8;      // in the four hex digits of a \\u escape
    private static final int NUMBER = 9;
    private static final int LITERAL = 10;     // in true, false or null
    private static final int STOPPED = 11;     // not valid JSON, or ended: nothing more is read
    private static final int BOM = 12;         // in the UTF-8 byte order mark the document starts with

    // What the string being read is for.
    private static final int SKIPPED = 0;
    private static final int A_NAME = 1;
    private static final int THE_MODEL = 2;
    private static final int ERROR_CODE = 3;
    private static final int ERROR_TYPE = 4;
    private static final int ERROR_MESSAGE = 5;
    private static final int DELTA_CONTENT = 6;
    private static final int TOP_MESSAGE = 7;
    private static final int TOP_TYPE = 8;

    // Where a number is: after its sign, its leading zero, in its whole part, after its point, in its fraction,
    // after its e, after the exponent's sign, in the exponent.
    private static final int N_SIGN = 0;
    private static final int N_ZERO = 1;
    private static final int N_WHOLE = 2;
    private static final int N_POINT = 3;
    private static final int N_FRACTION = 4;
    private static final int N_E = 5;
    private static final int N_EXPONENT_SIGN = 6;
    private static final int N_EXPONENT = 7;
    private static final int ENDED = -1;
    private static final int NOT_A_NUMBER = -2;

    /** U+FEFF in UTF-8, which some OpenAI-compatible servers write before their answer. */
    private static final byte[] BYTE_ORDER_MARK = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
    private static final byte[] TRUE = {'t', 'r', 'u', 'e'};
    private static final byte[] FALSE = {'f', 'a', 'l', 's', 'e'};
    private static final byte[] NULL = {'n', 'u', 'l', 'l'};

    private int state = VALUE;
    /** Whether a byte of the document has been read: a byte order mark is skipped only before the first. */
    private boolean begun;
    private int bomAt;
    private int depth;
    private final int[] path = new int[MAX_NAMED_DEPTH];
    /** One bit a level open, set for an array. */
    private final long[] arrays = new long[MAX_DEPTH / Long.SIZE];

    private int stringFor;
    /** The text of the name or string being kept, as UTF-8; grown up to {@link #MAX_KEPT_BYTES}. */
    private byte[] text = new byte[64];
    private int textLength;
    private int textLimit;
    private boolean textCut;
    /** A high surrogate of a \\u escape waiting for its low one; -1 when none. */
    private int highSurrogate = -1;
    private int escapeDigits;
    private int escapeUnit;

    private int numberAt;
    private boolean negative;
    private long magnitude;
    private boolean numberOverflow;

    private byte[] literal = NULL;
    private int literalAt;

    /** Whether a top-level value has ended since the last one began. */
    private boolean rootValueEnded;
    /** Whether the document ended mid-value: see {@link #cut()}. */
    private boolean cut;

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
    /** A top-level {@code message} and {@code type}: vLLM's error shape, which has no {@code error} object. */
    private @Nullable String topMessage;
    private @Nullable String topType;

    /** Scans one whole document, such as a streamed chunk's data. */
    static OpenAiScanner scan(byte[] bytes, int offset, int length) {
        OpenAiScanner scanner = new OpenAiScanner();
        scanner.feed(bytes, offset, length);
        scanner.end();
        return scanner;
    }

    /** Reads the next piece of the document; the bytes are not kept. */
    void feed(byte[] bytes, int offset, int length) {
        int end = offset + length;
        int i = offset;
        while (i < end && state != STOPPED) {
            if (state == STRING) { // the bulk of any answer: run through the plain bytes of a string at once
                int start = i;
                byte b = bytes[i];
                while (b != '"' && b != '\\' && (b < 0 || b >= 0x20)) {
                    if (++i == end) {
                        break;
                    }
                    b = bytes[i];
                }
                if (i > start) {
                    plain(bytes, start, i - start);
                }
                if (i == end) {
                    return;
                }
            }
            if (step(bytes[i])) {
                i++;
            }
        }
    }

    /** The document's bytes have all been read. */
    void end() {
        boolean reading = state != STOPPED;
        if (state == NUMBER) {
            endNumber();
        }
        cut = reading && !(state == VALUE && rootValueEnded);
        state = STOPPED;
    }

    /** Reads one byte; whether it was taken ({@code false}: it ended a number and is read again after it). */
    private boolean step(byte b) {
        switch (state) {
            case VALUE, FIRST_VALUE -> {
                if (!begun && b == BYTE_ORDER_MARK[0]) {
                    state = BOM; // a byte order mark, allowed by RFC 8259 §8.1 to be skipped, only where it starts
                    bomAt = 1;
                } else if (!blank(b)) {
                    value(b);
                }
                begun = true;
            }
            case BOM -> {
                if (b != BYTE_ORDER_MARK[bomAt]) {
                    state = STOPPED;
                } else if (++bomAt == BYTE_ORDER_MARK.length) {
                    state = VALUE;
                }
            }
            case FIRST_NAME, NAME -> {
                if (b == '"') {
                    startString(A_NAME);
                } else if (b == '}' && state == FIRST_NAME) {
                    close();
                } else if (!blank(b)) {
                    state = STOPPED;
                }
            }
            case COLON -> {
                if (b == ':') {
                    state = VALUE;
                } else if (!blank(b)) {
                    state = STOPPED;
                }
            }
            case AFTER_VALUE -> {
                boolean inArray = inArray();
                if (b == ',') {
                    state = inArray ? VALUE : NAME;
                } else if (b == (inArray ? ']' : '}')) {
                    close();
                } else if (!blank(b)) {
                    state = STOPPED;
                }
            }
            case STRING -> {
                if (b == '"') {
                    endString();
                } else if (b == '\\') {
                    state = ESCAPE;
                } else {
                    state = STOPPED; // a control character: not JSON
                }
            }
            case ESCAPE -> escape(b);
            case UNICODE -> {
                int digit = Character.digit(b, 16);
                if (digit < 0) {
                    state = STOPPED;
                } else {
                    escapeUnit = escapeUnit << 4 | digit;
                    if (++escapeDigits == 4) {
                        unit(escapeUnit);
                        state = STRING;
                    }
                }
            }
            case NUMBER -> {
                return number(b);
            }
            case LITERAL -> {
                if (b != literal[literalAt]) {
                    state = STOPPED;
                } else if (++literalAt == literal.length) {
                    valueDone();
                }
            }
            default -> {
            }
        }
        return true;
    }

    private static boolean blank(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    /** The first byte of a value, not blank. */
    private void value(byte b) {
        if (depth == 0) {
            rootValueEnded = false; // a second document after the first one must end too
        }
        if (b == '{' || b == '[') {
            open(b == '[');
        } else if (b == ']' && state == FIRST_VALUE) {
            close();
        } else if (b == '"') {
            startString(valueString());
        } else if (b == '-' || (b >= '0' && b <= '9')) {
            state = NUMBER;
            negative = b == '-';
            magnitude = 0;
            numberOverflow = false;
            numberAt = b == '-' ? N_SIGN : b == '0' ? N_ZERO : N_WHOLE;
            if (b != '-') {
                magnitude = b - '0';
            }
        } else if (b == 't' || b == 'f' || b == 'n') {
            state = LITERAL;
            literal = b == 't' ? TRUE : b == 'f' ? FALSE : NULL;
            literalAt = 1;
        } else {
            state = STOPPED;
        }
    }

    private void open(boolean array) {
        if (depth == MAX_DEPTH) {
            state = STOPPED;
            return;
        }
        opened(array);
        if (array) {
            arrays[depth >> 6] |= 1L << depth;
        } else {
            arrays[depth >> 6] &= ~(1L << depth);
        }
        depth++;
        if (depth - 1 < MAX_NAMED_DEPTH) {
            path[depth - 1] = array ? ARRAY : OTHER;
        }
        state = array ? FIRST_VALUE : FIRST_NAME;
    }

    private void close() {
        depth--;
        valueDone();
    }

    private boolean inArray() {
        return depth > 0 && (arrays[(depth - 1) >> 6] & 1L << (depth - 1)) != 0;
    }

    private void valueDone() {
        state = depth == 0 ? VALUE : AFTER_VALUE;
        rootValueEnded |= depth == 0;
    }

    /** A container opens at {@code depth}, named by the path so far. */
    private void opened(boolean array) {
        if (at(AT_USAGE) && !array) {
            usage = true;
        } else if (at(AT_CHOICES) && array) {
            choices = 0;
        } else if (depth == 2 && path[1] == ARRAY && path[0] == CHOICES && !array) {
            choices++;
        } else if (!array && inChoice() && (at(AT_MESSAGE_TOOL_CALL) || at(AT_DELTA_TOOL_CALL)
                || at(AT_MESSAGE_FUNCTION_CALL) || at(AT_DELTA_FUNCTION_CALL))) {
            toolCalls = true;
            content = true;
        }
    }

    private boolean inChoice() {
        return depth >= 3 && path[0] == CHOICES;
    }

    /** What a string value at the current position is for. */
    private int valueString() {
        if (at(AT_MODEL)) {
            return THE_MODEL;
        } else if (at(AT_ERROR_CODE)) {
            return ERROR_CODE;
        } else if (at(AT_ERROR_TYPE)) {
            return ERROR_TYPE;
        } else if (at(AT_ERROR_MESSAGE) || at(AT_ERROR)) {
            return ERROR_MESSAGE;
        } else if (at(AT_TOP_MESSAGE)) {
            return TOP_MESSAGE;
        } else if (at(AT_TOP_TYPE)) {
            return TOP_TYPE;
        } else if (inChoice() && (at(AT_DELTA_CONTENT) || at(AT_DELTA_REFUSAL) || at(AT_DELTA_REASONING_CONTENT)
                || at(AT_DELTA_REASONING))) {
            return DELTA_CONTENT;
        }
        return SKIPPED;
    }

    private void startString(int purpose) {
        state = STRING;
        stringFor = purpose;
        textLength = 0;
        textCut = false;
        highSurrogate = -1;
        textLimit = purpose == A_NAME ? MAX_NAME_BYTES : MAX_KEPT_BYTES;
    }

    private boolean keeping() {
        return stringFor != SKIPPED && stringFor != DELTA_CONTENT;
    }

    /** Bytes of a string with no quote, backslash or control character among them. */
    private void plain(byte[] bytes, int offset, int length) {
        if (stringFor == DELTA_CONTENT) {
            content = true;
        } else if (keeping()) {
            loneSurrogate();
            for (int i = offset; i < offset + length && !textCut; i++) {
                keep(bytes[i]);
            }
        }
    }

    private void escape(byte b) {
        state = STRING;
        switch (b) {
            case '"', '\\', '/' -> unit(b);
            case 'b' -> unit('\b');
            case 'f' -> unit('\f');
            case 'n' -> unit('\n');
            case 'r' -> unit('\r');
            case 't' -> unit('\t');
            case 'u' -> {
                state = UNICODE;
                escapeDigits = 0;
                escapeUnit = 0;
            }
            default -> state = STOPPED;
        }
    }

    /** A UTF-16 unit written as an escape; a surrogate pair joined, a lone surrogate kept as U+FFFD. */
    private void unit(int unit) {
        if (stringFor == DELTA_CONTENT) {
            content = true;
        }
        if (!keeping()) {
            return;
        }
        if (highSurrogate >= 0 && Character.isLowSurrogate((char) unit)) {
            codePoint(Character.toCodePoint((char) highSurrogate, (char) unit));
            highSurrogate = -1;
            return;
        }
        loneSurrogate();
        if (Character.isHighSurrogate((char) unit)) {
            highSurrogate = unit;
        } else {
            codePoint(Character.isLowSurrogate((char) unit) ? 0xFFFD : unit);
        }
    }

    private void loneSurrogate() {
        if (highSurrogate >= 0) {
            highSurrogate = -1;
            codePoint(0xFFFD);
        }
    }

    private void codePoint(int c) {
        if (c < 0x80) {
            keep((byte) c);
        } else if (c < 0x800) {
            keep((byte) (0xC0 | c >> 6));
            keep((byte) (0x80 | c & 0x3F));
        } else if (c < 0x10000) {
            keep((byte) (0xE0 | c >> 12));
            keep((byte) (0x80 | c >> 6 & 0x3F));
            keep((byte) (0x80 | c & 0x3F));
        } else {
            keep((byte) (0xF0 | c >> 18));
            keep((byte) (0x80 | c >> 12 & 0x3F));
            keep((byte) (0x80 | c >> 6 & 0x3F));
            keep((byte) (0x80 | c & 0x3F));
        }
    }

    private void keep(byte b) {
        if (textLength == textLimit) {
            textCut = true;
            return;
        }
        if (textLength == text.length) {
            text = Arrays.copyOf(text, Math.min(textLimit, text.length * 2));
        }
        text[textLength++] = b;
    }

    private void endString() {
        loneSurrogate();
        if (stringFor == A_NAME) {
            if (depth - 1 < MAX_NAMED_DEPTH) {
                path[depth - 1] = textCut ? OTHER : name();
            }
            state = COLON;
            return;
        }
        if (keeping()) {
            String value = new String(text, 0, textCut ? wholeCharacters() : textLength, StandardCharsets.UTF_8);
            switch (stringFor) {
                case THE_MODEL -> model = value;
                case ERROR_CODE -> errorCode = value;
                case ERROR_TYPE -> errorCode = errorCode == null ? value : errorCode;
                case TOP_MESSAGE -> topMessage = value;
                case TOP_TYPE -> topType = value;
                default -> errorMessage = value;
            }
        }
        if (text.length > 4096) {
            text = new byte[64]; // a long kept string's room is not held for the rest of the document
        }
        valueDone();
    }

    /** The length of the kept text less a character its cut left incomplete. */
    private int wholeCharacters() {
        int lead = textLength - 1;
        while (lead > 0 && (text[lead] & 0xC0) == 0x80 && textLength - lead < 4) {
            lead--;
        }
        int b = text[lead] & 0xFF;
        int length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        return textLength - lead < length ? lead : textLength;
    }

    /** The name just read, as one of those read here, else {@link #OTHER}. */
    private int name() {
        for (int code = MODEL; code < NAMES.length; code++) {
            byte[] name = NAMES[code];
            if (Arrays.equals(text, 0, textLength, name, 0, name.length)) {
                return code;
            }
        }
        return OTHER;
    }

    /** The next byte in a number; whether it was taken (it was not when it ends the number). */
    private boolean number(byte b) {
        boolean digit = b >= '0' && b <= '9';
        boolean e = b == 'e' || b == 'E';
        int next = switch (numberAt) {
            case N_SIGN -> digit ? (b == '0' ? N_ZERO : N_WHOLE) : NOT_A_NUMBER;
            case N_ZERO -> b == '.' ? N_POINT : e ? N_E : digit ? NOT_A_NUMBER : ENDED;
            case N_WHOLE -> digit ? N_WHOLE : b == '.' ? N_POINT : e ? N_E : ENDED;
            case N_POINT -> digit ? N_FRACTION : NOT_A_NUMBER;
            case N_FRACTION -> digit ? N_FRACTION : e ? N_E : ENDED;
            case N_E -> digit ? N_EXPONENT : b == '+' || b == '-' ? N_EXPONENT_SIGN : NOT_A_NUMBER;
            case N_EXPONENT_SIGN -> digit ? N_EXPONENT : NOT_A_NUMBER;
            default -> digit ? N_EXPONENT : ENDED;
        };
        if (next == ENDED) {
            endNumber(); // the byte after the number is read again in the state after it
            return false;
        }
        if (next == NOT_A_NUMBER) {
            state = STOPPED;
            return true;
        }
        if (digit && (next == N_ZERO || next == N_WHOLE)) {
            wholeDigit(b - '0');
        }
        numberAt = next;
        return true;
    }

    private void wholeDigit(int digit) {
        if (!numberOverflow) {
            if (magnitude > (Long.MAX_VALUE - digit) / 10) {
                numberOverflow = true;
            } else {
                magnitude = magnitude * 10 + digit;
            }
        }
    }

    private void endNumber() {
        if (numberAt == N_SIGN || numberAt == N_POINT || numberAt == N_E || numberAt == N_EXPONENT_SIGN) {
            state = STOPPED; // cut short: not a number
            return;
        }
        if ((numberAt == N_ZERO || numberAt == N_WHOLE) && !numberOverflow) {
            wholeNumber(negative ? -magnitude : magnitude);
        }
        valueDone();
    }

    private void wholeNumber(long value) {
        if (depth < 2 || path[0] != USAGE) {
            return;
        }
        if (at(AT_PROMPT_TOKENS)) {
            promptTokens = value;
        } else if (at(AT_COMPLETION_TOKENS)) {
            completionTokens = value;
        } else if (at(AT_TOTAL_TOKENS)) {
            totalTokens = value;
        } else if (at(AT_CACHED_TOKENS)) {
            cachedTokens = value;
        } else if (at(AT_REASONING_TOKENS)) {
            reasoningTokens = value;
        }
    }

    /** Whether the value or container at the current position is at exactly {@code names} from the root. */
    private boolean at(int[] names) {
        if (depth != names.length) {
            return false;
        }
        for (int i = 0; i < names.length; i++) {
            if (names[i] != path[i]) {
                return false;
            }
        }
        return true;
    }

    private static byte[][] names(String... names) {
        byte[][] bytes = new byte[names.length][];
        for (int i = 0; i < names.length; i++) {
            bytes[i] = names[i].getBytes(StandardCharsets.US_ASCII);
        }
        return bytes;
    }

    /**
     * Whether the document, once {@link #end() ended}, was cut short: empty, or valid JSON so far and its top-level
     * value not closed. {@code false} for a whole document (white space may follow it) and for one the reading
     * stopped at (not JSON, or deeper than {@value #MAX_DEPTH}), whose end nothing shows. An answer that ends where
     * the upstream closes the connection tells a cut no other way.
     */
    boolean cut() {
        return cut;
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

    /**
     * The code of the error an error status came with: {@link #errorCode()}, else a top-level {@code type}, as vLLM
     * writes its errors ({@code {"object":"error","message":…,"type":"BadRequestError","code":400}}). Read for an
     * error status only: a successful answer's top-level fields are no error.
     */
    @Nullable String statusErrorCode() {
        return errorCode != null || errorMessage != null ? errorCode : topType;
    }

    /** The message of the error an error status came with: {@link #errorMessage()}, else a top-level {@code message}. */
    @Nullable String statusErrorMessage() {
        return errorCode != null || errorMessage != null ? errorMessage : topMessage;
    }
}
