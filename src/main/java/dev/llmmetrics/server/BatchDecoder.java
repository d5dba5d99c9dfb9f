package dev.llmmetrics.server;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a {@code POST /events} body into one JSON tree per event, reading the body one event at a time: a
 * batch longer than the limit is refused as soon as the first event past the limit starts, without reading
 * further. Malformed JSON is a {@link BadRequest} {@code malformed_json} whose detail is written in the
 * server's own words, never the parser's, which name its classes and settings.
 */
final class BatchDecoder {

    /** Reads one value where the parser stands; the trailing content is checked here, after the last value. */
    private static final ObjectReader ELEMENT = Json.MAPPER.readerFor(JsonNode.class)
            .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /**
     * What a JSON body with a value after its value needs: producers that send several events as concatenated
     * objects or as NDJSON without its media type meet it first.
     */
    private static final String SEVERAL_EVENTS = "; several events go in a JSON array, or one a line with Content-Type"
            + " application/x-ndjson";
    /** What an NDJSON line with a value after its value needs: curl's {@code -d} drops the line feeds of a file. */
    private static final String ONE_A_LINE = "; NDJSON holds one event a line (curl -d drops a file's line feeds,"
            + " --data-binary keeps them)";

    private static final Pattern CHARACTER_CODE = Pattern.compile("\\(code (\\d+)");
    private static final Pattern QUOTED = Pattern.compile("'(.*)'");

    private BatchDecoder() {
    }

    /** The body holds more events than the batch limit; how many more is not known, as it was not read. */
    static final class TooManyEvents extends Exception {
        TooManyEvents(int maxBatch) {
            super("a batch holds at most " + maxBatch + " events; this one holds more", null, false, false);
        }
    }

    /**
     * The events of a JSON body: one value, or each element of an array; empty for a blank body or an empty
     * array.
     *
     * @throws TooManyEvents on the start of the array's element number {@code maxBatch + 1}
     * @throws BadRequest    if the JSON is malformed, up to where it was read
     */
    static List<JsonNode> json(Reader body, int maxBatch) throws TooManyEvents {
        List<JsonNode> nodes = new ArrayList<>();
        JsonParser parser = null;
        try {
            parser = Json.MAPPER.createParser(body);
            JsonToken first = parser.nextToken();
            if (first == null) {
                return nodes;
            }
            if (first == JsonToken.START_ARRAY) {
                for (JsonToken token; (token = parser.nextToken()) != JsonToken.END_ARRAY; ) {
                    if (token == null) {
                        throw new JsonEOFException(parser, null, "end of input in an array");
                    }
                    if (nodes.size() == maxBatch) {
                        throw new TooManyEvents(maxBatch);
                    }
                    nodes.add(ELEMENT.readTree(parser));
                }
            } else {
                nodes.add(ELEMENT.readTree(parser));
            }
            requireEnd(parser);
            return nodes;
        } catch (JsonProcessingException e) {
            throw new BadRequest("malformed_json", "the body is not valid JSON: " + describe(e, parser, true)
                    + (e instanceof TrailingContent ? SEVERAL_EVENTS : ""));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The events of an NDJSON body, one value per line; blank lines are skipped, a line holds one value.
     *
     * @throws TooManyEvents on the line of event number {@code maxBatch + 1}, before parsing it
     * @throws BadRequest    naming the first malformed line
     */
    static List<JsonNode> lines(Reader body, int maxBatch) throws TooManyEvents {
        List<JsonNode> nodes = new ArrayList<>();
        Lines lines = new Lines(body);
        int number = 0;
        try {
            for (String line; (line = lines.next()) != null; ) {
                number++;
                if (blank(line)) {
                    continue;
                }
                if (nodes.size() == maxBatch) {
                    throw new TooManyEvents(maxBatch);
                }
                nodes.add(line(line, number));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return nodes;
    }

    /**
     * Whether a line holds JSON's white space alone (space, tab, CR): not {@link String#isBlank}, whose white space
     * takes in characters JSON refuses (a vertical tab, a form feed, the information separators, Unicode's spaces),
     * which a line then holds as malformed JSON, as a JSON body does.
     */
    private static boolean blank(String line) {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c != ' ' && c != '\t' && c != '\r') {
                return false;
            }
        }
        return true;
    }

    private static JsonNode line(String text, int number) throws IOException {
        JsonParser parser = null;
        try {
            parser = Json.MAPPER.createParser(new StringReader(text));
            parser.nextToken();
            JsonNode node = ELEMENT.readTree(parser);
            requireEnd(parser);
            return node;
        } catch (JsonProcessingException e) {
            throw new BadRequest("malformed_json", "line " + number + " is not valid JSON: " + describe(e, parser, false)
                    + (e instanceof TrailingContent ? ONE_A_LINE : ""));
        }
    }

    /** Nothing may follow the value but white space. */
    private static void requireEnd(JsonParser parser) throws IOException {
        if (parser.nextToken() != null) {
            throw new TrailingContent(parser);
        }
    }

    /** Content after the end of the value: the parser accepts it, the body does not. */
    private static final class TrailingContent extends JsonProcessingException {
        TrailingContent(JsonParser parser) {
            super("trailing content", parser.currentTokenLocation());
        }
    }

    /**
     * What is wrong with the JSON and where, in the server's words. The parser's message is only used to tell
     * the cases apart; the words are chosen here.
     */
    static String describe(JsonProcessingException e, JsonParser parser, boolean withLine) {
        String message = String.valueOf(e.getOriginalMessage());
        String what;
        if (e instanceof TrailingContent) {
            what = "content after the end of the JSON value";
        } else if (e instanceof StreamConstraintsException) {
            what = message.contains("nesting depth") ? "nesting deeper than " + Json.MAX_NESTING_DEPTH + " levels"
                    : message.startsWith("Number value length") ? "a number longer than " + Json.MAX_NUMBER_LENGTH + " digits"
                    : message.startsWith("Name length") ? "a key longer than the server accepts"
                    : message.startsWith("String value length") ? "a string longer than the server accepts"
                    : "a value larger than the server accepts";
        } else if (e instanceof JsonEOFException || message.startsWith("Unexpected end-of-input")) {
            what = "unexpected end of input";
        } else if (message.startsWith("Duplicate ")) {
            Matcher name = QUOTED.matcher(message);
            what = name.find() ? "the key " + EventJson.quoted(name.group(1)) + " appears twice" : "a key appears twice";
        } else if (message.startsWith("Unexpected close marker")) {
            what = "a closing bracket that matches no opening one";
        } else if (message.startsWith("Illegal unquoted character")) {
            what = "a control character not escaped in a string";
        } else if (message.startsWith("Illegal character")) {
            what = "a control character between values";
        } else if (message.contains("character escape")) {
            what = "an invalid escape sequence in a string";
        } else if (message.contains("surrogate")) {
            what = "an invalid escaped surrogate pair in a string";
        } else if (message.startsWith("Non-standard token") || message.startsWith("Unrecognized token")) {
            what = "a word that is not true, false or null";
        } else if (message.contains("numeric value") || message.contains("for number")) {
            what = "an invalid number";
        } else if (message.contains("comment")) {
            what = "a comment, which JSON does not allow";
        } else {
            Matcher code = CHARACTER_CODE.matcher(message);
            what = code.find() ? "unexpected character " + character(Integer.parseInt(code.group(1))) : "invalid JSON";
        }
        JsonLocation at = e.getLocation() != null ? e.getLocation() : parser != null ? parser.currentLocation() : null;
        if (at == null || at.getColumnNr() < 1) {
            return what;
        }
        if (withLine) {
            return what + " at line " + at.getLineNr() + ", column " + at.getColumnNr();
        }
        // One NDJSON line, parsed on its own: the parser starts a new line at a CR inside it, the body's lines do
        // not, so the column is counted from the start of the line.
        return what + " at column " + (at.getCharOffset() >= 0 ? at.getCharOffset() + 1 : at.getColumnNr());
    }

    private static String character(int code) {
        return code > 0x20 && code < 0x7f && code != '\'' ? "'" + (char) code + "'" : String.format("U+%04X", code);
    }

    /** Lines split on LF, a CR before it dropped, read as needed from the reader. */
    private static final class Lines {
        private final Reader in;
        private final char[] buffer = new char[8192];
        private int position;
        private int limit;
        private boolean ended;

        Lines(Reader in) {
            this.in = in;
        }

        /** The next line, or {@code null} after the last; the text after the last LF is a line too. */
        String next() throws IOException {
            if (ended) {
                return null;
            }
            StringBuilder line = new StringBuilder();
            while (true) {
                if (position == limit) {
                    limit = in.read(buffer, 0, buffer.length);
                    position = 0;
                    if (limit < 0) {
                        ended = true;
                        limit = 0;
                        return stripCr(line);
                    }
                }
                for (int i = position; i < limit; i++) {
                    if (buffer[i] == '\n') {
                        line.append(buffer, position, i - position);
                        position = i + 1;
                        return stripCr(line);
                    }
                }
                line.append(buffer, position, limit - position);
                position = limit;
            }
        }

        private static String stripCr(StringBuilder line) {
            int length = line.length();
            return length > 0 && line.charAt(length - 1) == '\r' ? line.substring(0, length - 1) : line.toString();
        }
    }
}
