package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Reader;
import java.io.StringReader;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The batch limit is enforced while reading: the decoder stops at the start of the first event past the
 * limit, never reading, let alone parsing, the rest of the body.
 */
class BatchDecoderTest {

    private static final int LIMIT = 5;

    /** Hands out {@code text}, then fails any further read: reading past it is the bug this test finds. */
    private static Reader thenFail(String text) {
        return new Reader() {
            private final StringReader in = new StringReader(text);

            @Override
            public int read(char[] buffer, int offset, int length) throws java.io.IOException {
                int n = in.read(buffer, offset, length);
                if (n < 0) {
                    throw new AssertionError("read past the first event beyond the limit");
                }
                return n;
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void aJsonArrayIsNotReadPastTheFirstEventBeyondTheLimit() {
        // The array's elements up to the start of element LIMIT + 1; any read after that fails.
        assertThrows(BatchDecoder.TooManyEvents.class, () -> BatchDecoder.json(thenFail("[" + "{},".repeat(LIMIT) + "{"), LIMIT));
        assertThrows(BatchDecoder.TooManyEvents.class, () -> BatchDecoder.json(thenFail("[" + "1,".repeat(LIMIT + 1)), LIMIT));
    }

    @Test
    void ndjsonIsNotReadPastTheLineOfTheFirstEventBeyondTheLimit() {
        assertThrows(BatchDecoder.TooManyEvents.class,
                () -> BatchDecoder.lines(thenFail("{}\n\n".repeat(LIMIT) + "{\n"), LIMIT));
    }

    @Test
    void whatFollowsTheFirstEventBeyondTheLimitIsNeverParsed() throws BatchDecoder.TooManyEvents {
        // Garbage after the limit + 1st event would be malformed JSON if it were parsed.
        assertThrows(BatchDecoder.TooManyEvents.class,
                () -> BatchDecoder.json(new StringReader("[" + "{},".repeat(LIMIT + 1) + "not json at all"), LIMIT));
        assertThrows(BatchDecoder.TooManyEvents.class,
                () -> BatchDecoder.lines(new StringReader("{}\n".repeat(LIMIT + 1) + "not json at all\n"), LIMIT));
        // Garbage before it is.
        BadRequest before = assertThrows(BadRequest.class,
                () -> BatchDecoder.json(new StringReader("[" + "{},".repeat(LIMIT - 1) + "not json"), LIMIT));
        assertEquals("malformed_json", before.code());
    }

    @Test
    void upToTheLimitEveryEventIsReturnedInOrder() throws BatchDecoder.TooManyEvents {
        List<JsonNode> array = BatchDecoder.json(new StringReader("[{\"n\":1},{\"n\":2},{\"n\":3},{\"n\":4},{\"n\":5}]"), LIMIT);
        assertEquals(List.of(1, 2, 3, 4, 5), array.stream().map(n -> n.get("n").asInt()).toList());
        assertEquals(1, BatchDecoder.json(new StringReader(" {\"n\":1} "), LIMIT).size());
        assertEquals(List.of(), BatchDecoder.json(new StringReader(" [ ] "), LIMIT));
        assertEquals(List.of(), BatchDecoder.json(new StringReader("  "), LIMIT));
        List<JsonNode> lines = BatchDecoder.lines(new StringReader("{\"n\":1}\r\n\n {\"n\":2}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}"), LIMIT);
        assertEquals(List.of(1, 2, 3, 4, 5), lines.stream().map(n -> n.get("n").asInt()).toList());
    }

    @Test
    void malformedJsonIsDescribedWithItsPlace() {
        assertEquals("the body is not valid JSON: unexpected end of input at line 2, column 9",
                assertThrows(BadRequest.class, () -> BatchDecoder.json(new StringReader("[{},\n{\"type\":"), LIMIT)).getMessage());
        assertEquals("the body is not valid JSON: content after the end of the JSON value at line 1, column 4; several"
                        + " events go in a JSON array, or one a line with Content-Type application/x-ndjson",
                assertThrows(BadRequest.class, () -> BatchDecoder.json(new StringReader("{} {}"), LIMIT)).getMessage());
        assertEquals("line 1 is not valid JSON: content after the end of the JSON value at column 3; NDJSON holds one"
                        + " event a line (curl -d drops a file's line feeds, --data-binary keeps them)",
                assertThrows(BadRequest.class, () -> BatchDecoder.lines(new StringReader("{}{}"), LIMIT)).getMessage());
        assertEquals("line 2 is not valid JSON: the key \"a\" appears twice at column 12",
                assertThrows(BadRequest.class, () -> BatchDecoder.lines(new StringReader("{}\n{\"a\":1, \"a\":2}"), LIMIT)).getMessage());
    }
}
