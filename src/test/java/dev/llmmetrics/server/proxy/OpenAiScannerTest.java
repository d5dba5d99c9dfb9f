package dev.llmmetrics.server.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The scanner's reading of documents the real upstreams of the proxy tests do not send: every split of a
 * document into two pieces and byte by byte reads as the whole, escapes in names and values, numbers it does not
 * take as token counts, and documents it stops reading.
 */
class OpenAiScannerTest {

    private static final String COMPLETION = """
            {"id":"c1","object":"chat.completion","model":"gpt-\\u00e9\\ud83d\\ude00\\"x\\"","choices":[{"index":0,\
            "message":{"role":"assistant","content":"a \\\\ \\"quoted\\" text\\n","tool_calls":[{"id":"t","type":"function",\
            "function":{"name":"f","arguments":"{\\"a\\":[1,2.5e-3,true,false,null]}"}}]},"finish_reason":"tool_calls"}],\
            "usage":{"prompt_tokens":120,"completion_tokens":45,"total_tokens":165,\
            "prompt_tokens_details":{"cached_tokens":100},"completion_tokens_details":{"reasoning_tokens":20}},\
            "extra":{"deep":[[[[[[[{"model":"not this one"}]]]]]]]}}""";

    private static final String ERROR = """
            {"error":{"message":"bad \\u0000 key\\tthere","type":"invalid_request_error","code":"content_policy_violation"}}""";

    private static final String CHUNK = """
            {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"reasoning":"\\u2713"}}]}""";

    private record Read(String model, boolean usage, long prompt, long completion, long total, long cached,
                        long reasoning, boolean toolCalls, boolean content, boolean noChoices, String errorCode,
                        String errorMessage) {
        static Read of(OpenAiScanner s) {
            return new Read(s.model(), s.hasUsage(), s.promptTokens(), s.completionTokens(), s.totalTokens(),
                    s.cachedTokens(), s.reasoningTokens(), s.hasToolCalls(), s.hasContent(), s.hasNoChoices(),
                    s.errorCode(), s.errorMessage());
        }
    }

    private static Read whole(String document) {
        byte[] bytes = document.getBytes(StandardCharsets.UTF_8);
        return Read.of(OpenAiScanner.scan(bytes, 0, bytes.length));
    }

    @Test
    void aDocumentReadsTheSameWholeInTwoPiecesAtEverySplitAndByteByByte() {
        for (String document : List.of(COMPLETION, ERROR, CHUNK)) {
            byte[] bytes = document.getBytes(StandardCharsets.UTF_8);
            Read expected = whole(document);
            for (int split = 0; split <= bytes.length; split++) {
                OpenAiScanner scanner = new OpenAiScanner();
                scanner.feed(bytes, 0, split);
                scanner.feed(bytes, split, bytes.length - split);
                scanner.end();
                assertEquals(expected, Read.of(scanner), "split at " + split);
            }
            OpenAiScanner scanner = new OpenAiScanner();
            for (int i = 0; i < bytes.length; i++) {
                scanner.feed(bytes, i, 1);
            }
            scanner.end();
            assertEquals(expected, Read.of(scanner), "byte by byte");
        }
    }

    @Test
    void escapesInValuesAreDecodedAndTheTopLevelModelAndUsageAreRead() {
        Read completion = whole(COMPLETION);
        assertEquals("gpt-\u00e9\ud83d\ude00\"x\"", completion.model());
        assertEquals(new Read("gpt-\u00e9\ud83d\ude00\"x\"", true, 120, 45, 165, 100, 20, true, true, false, null, null),
                completion);
        assertEquals(new Read(null, false, 0, 0, 0, 0, 0, false, false, false, "content_policy_violation",
                "bad \u0000 key\tthere"), whole(ERROR));
        assertTrue(whole(CHUNK).content(), "an escaped character is content");
        assertFalse(whole(CHUNK.replace("\\u2713", "")).content(), "an empty string is not");
        assertEquals("model", whole("{\"mod\\u0065l\":\"model\"}").model(), "a name written with an escape");
        assertEquals("\ufffdx", whole("{\"model\":\"\\ud83dx\"}").model(), "a lone surrogate");
    }

    @Test
    void numbersThatAreNotWholeOrPastALongAreNotTokenCounts() {
        Read read = whole("{\"usage\":{\"prompt_tokens\":1e3,\"completion_tokens\":2,\"total_tokens\":"
                + "100000000000000000000000000000,\"prompt_tokens_details\":{\"cached_tokens\":1.0}}}");
        assertFalse(read.usage(), "no prompt tokens: " + read);
        read = whole("{\"usage\":{\"prompt_tokens\":-0,\"completion_tokens\":9223372036854775807,\"total_tokens\":"
                + "100000000000000000000000000000}}");
        assertEquals(Long.MAX_VALUE, read.completion());
        assertEquals(Long.MAX_VALUE, read.total(), "a total past a long is not read: the sum is taken");
    }

    @Test
    void aDocumentThatIsNotJsonStopsTheReadingKeepingWhatWasRead() {
        for (String broken : List.of("{\"model\":\"m\",x,\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
                "{\"model\":\"m\"]\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
                "{\"model\":\"m\",\"a\":01,\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
                "{\"model\":\"m\",\"a\":tru,\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
                "{\"model\":\"m\",\"a\":\"\u0001\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
                "{\"model\":\"m\",\"a\":" + "[".repeat(OpenAiScanner.MAX_DEPTH) + "]".repeat(OpenAiScanner.MAX_DEPTH)
                        + ",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}")) {
            Read read = whole(broken);
            assertEquals("m", read.model(), broken);
            assertFalse(read.usage(), broken);
        }
        String deepButWithin = "{\"a\":" + "[".repeat(OpenAiScanner.MAX_DEPTH - 1) + "]".repeat(OpenAiScanner.MAX_DEPTH - 1)
                + ",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}";
        assertTrue(whole(deepButWithin).usage());
        assertNull(whole("data: [DONE]").model());
    }

    @Test
    void aKeptStringIsCutAtItsBoundAndALongTextIsSkippedWhateverItsLength() {
        String model = "\u4e2d".repeat(10_000);
        Read read = whole("{\"model\":\"" + model + "\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}");
        assertEquals(OpenAiScanner.MAX_KEPT_BYTES / 3, read.model().length(), "cut at whole characters here");
        assertTrue(model.startsWith(read.model()));
        assertTrue(read.usage());

        OpenAiScanner scanner = new OpenAiScanner();
        byte[] head = "{\"model\":\"m\",\"choices\":[{\"message\":{\"content\":\"".getBytes(StandardCharsets.UTF_8);
        scanner.feed(head, 0, head.length);
        byte[] text = new byte[8192];
        java.util.Arrays.fill(text, (byte) 'a');
        for (int i = 0; i < 4096; i++) { // 32 MiB of text
            scanner.feed(text, 0, text.length);
        }
        byte[] tail = "\"}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}".getBytes(StandardCharsets.UTF_8);
        scanner.feed(tail, 0, tail.length);
        scanner.end();
        assertEquals(new Read("m", true, 3, 4, 7, 0, 0, false, false, false, null, null), Read.of(scanner));
    }

    private static boolean cut(String document) {
        byte[] bytes = document.getBytes(StandardCharsets.UTF_8);
        return OpenAiScanner.scan(bytes, 0, bytes.length).cut();
    }

    @Test
    void aDocumentIsCutWhenItEndsBeforeItsTopLevelValueClosesAndNotWhenItIsWholeOrNotJson() {
        for (String document : List.of(COMPLETION, ERROR, CHUNK)) {
            assertFalse(cut(document), document);
            assertFalse(cut(" \r\n" + document + "\n "), "blanks around it: " + document);
            byte[] bytes = document.getBytes(StandardCharsets.UTF_8);
            for (int at = 0; at < bytes.length; at++) {
                OpenAiScanner scanner = new OpenAiScanner();
                scanner.feed(bytes, 0, at);
                scanner.end();
                assertTrue(scanner.cut(), "cut at " + at + " of " + document);
            }
        }
        assertFalse(cut("42"), "a number at the top level ends with the document");
        assertTrue(cut("-"), "a number cut at its sign");
        assertTrue(cut(""), "nothing");
        // Where the reading stops, nothing says where the document ends: not taken as cut.
        assertFalse(cut("{\"a\":1} x"), "not JSON after it");
        assertFalse(cut(COMPLETION.strip().substring(0, COMPLETION.strip().length() - 1) + ",\"x\":NaN}"),
                "NaN, which some writers write");
        assertFalse(cut("{\"a\":NaN"), "a document no longer read is not known to be cut");
        assertFalse(cut("[".repeat(OpenAiScanner.MAX_DEPTH + 1) + "]".repeat(OpenAiScanner.MAX_DEPTH + 1)),
                "deeper than the reader goes");
    }
}
