package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /events} on the real server: a batch over the limit is refused without parsing what follows
 * its first event past the limit, and malformed JSON is described in the server's own words, naming no
 * class, method or setting of the JSON library.
 */
class IngestDecodingTest {

    private static final int MAX_BATCH = 10;
    private static TestServer server;

    /** Words of the JSON library's messages that must never reach a client. */
    static final List<String> LIBRARY_WORDS = List.of("jackson", "fasterxml", "streamreadconstraints", "jsonparser",
            "jsonnode", "jsontoken", "feature", "()", "`", "redacted", "source:", "ctrl-char", "exception", "marker",
            "token 'null'", "root-level");

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("ingest.max.batch", String.valueOf(MAX_BATCH)));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Fails if {@code text}, outside the client's own text it quotes, holds a word of the JSON library's messages. */
    static void assertOwnWords(String text, String context) {
        String lower = text.replaceAll("\"[^\"]*\"", "\"\"").toLowerCase(Locale.ROOT);
        for (String word : LIBRARY_WORDS) {
            assertFalse(lower.contains(word), "\"" + word + "\" in " + text + " for " + context);
        }
    }

    @Test
    void aBatchOverTheLimitIsRefusedOnItsFirstEventPastTheLimitWithoutParsingTheRest() {
        String garbage = "this is not JSON, and parsing it would answer 400 malformed_json";
        // A body that is mostly events past the limit, then garbage that would fail any parse reaching it.
        String array = "[" + "{},".repeat(20_000) + garbage;
        HttpResponse<String> response = server.post("/events", array);
        assertEquals(413, response.statusCode(), response.body());
        assertEquals("batch_too_large", TestServer.json(response).get("error").asText());
        assertEquals("a batch holds at most " + MAX_BATCH + " events; this one holds more",
                TestServer.json(response).get("detail").asText());

        String lines = "{}\n".repeat(20_000) + garbage;
        response = server.post("/events", lines, "Content-Type", "application/x-ndjson");
        assertEquals(413, response.statusCode(), response.body());
        assertEquals("batch_too_large", TestServer.json(response).get("error").asText());

        // The same garbage within the limit is parsed, and refused as such.
        response = server.post("/events", "[" + "{},".repeat(MAX_BATCH - 1) + garbage);
        assertEquals("malformed_json", TestServer.json(response).get("error").asText(), response.body());
    }

    /**
     * An NDJSON line of JSON's white space alone (spaces, tabs, a CR before its LF) is blank and skipped; a line of
     * other characters Java calls white space (a vertical tab, a form feed, an information separator, an
     * ideographic space) is no JSON, and is refused as a JSON body holding it is, with nothing applied.
     */
    @Test
    void anNdjsonLineOfWhiteSpaceThatJsonDoesNotAllowIsMalformedNotSkipped() {
        String event = "{\"type\":\"TOOL_CALL_STARTED\",\"session_id\":\"blank-lines\"}";
        HttpResponse<String> blank = server.post("/events", event + "\n \t\r\n\r\n" + event + "\n",
                "Content-Type", "application/x-ndjson");
        assertEquals(202, blank.statusCode(), blank.body());
        assertEquals(2, TestServer.json(blank).get("accepted").asInt());
        for (String space : List.of("\u000b", "\f", "\u001f", "\u3000", " \u2028 ")) {
            String body = event + "\n" + space + "\n" + event + "\n";
            String context = HostileSupport.abbreviate(body);
            HttpResponse<String> response = server.post("/events", body, "Content-Type", "application/x-ndjson");
            assertEquals(400, response.statusCode(), context + " -> " + response.body());
            JsonNode error = HostileSupport.assertJsonError(response, context);
            assertEquals("malformed_json", error.get("error").asText(), context);
            assertTrue(error.get("detail").asText().startsWith("line 2 is not valid JSON"), context + " -> " + response.body());
        }
    }

    @Test
    void malformedJsonIsA400InTheServersOwnWords() {
        List<String[]> cases = new ArrayList<>();
        cases.add(new String[] {"[".repeat(40) + "]".repeat(40), "nesting deeper than 16 levels at line 1, column 18"});
        cases.add(new String[] {"{\"type\":\"LLM_REQUEST_STARTED\",\"messages_count\":" + "7".repeat(5000) + "}",
                "a number longer than 32 digits"});
        cases.add(new String[] {"[{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"s", "unexpected end of input at line 1, column 47"});
        cases.add(new String[] {"{\"type\":\"LLM_REQUEST_STARTED\"} trailing", "a word that is not true, false or null"});
        cases.add(new String[] {"{\"type\":\"LLM_REQUEST_STARTED\"} {}", "content after the end of the JSON value at line 1, column 32"});
        cases.add(new String[] {"{\"type\":\"X\",\"type\":\"Y\"}", "the key \"type\" appears twice"});
        cases.add(new String[] {"{\"type\":\"X\"} // comment", "a comment, which JSON does not allow"});
        cases.add(new String[] {"[NaN]", "a word that is not true, false or null"});
        cases.add(new String[] {"{'type':'X'}", "unexpected character U+0027 at line 1, column 2"});
        cases.add(new String[] {"{\"type\":\"X\u0001\"}", "a control character not escaped in a string"});
        cases.add(new String[] {"[01]", "an invalid number"});
        cases.add(new String[] {"[1,]", "unexpected character ']'"});
        cases.add(new String[] {"{]", "a closing bracket that matches no opening one"});
        cases.add(new String[] {"\"\\x\"", "an invalid escape sequence in a string"});
        for (String[] c : cases) {
            HttpResponse<String> response = server.post("/events", c[0]);
            String context = HostileSupport.abbreviate(c[0]) + " -> " + response.body();
            JsonNode error = HostileSupport.assertJsonError(response, context);
            assertEquals(400, response.statusCode(), context);
            assertEquals("malformed_json", error.get("error").asText(), context);
            String detail = error.get("detail").asText();
            assertTrue(detail.startsWith("the body is not valid JSON: " + c[1]), context);
            assertOwnWords(HostileSupport.errorText(error), context);
        }
        for (String body : HostileIngestTest.HAND_PICKED_MALFORMED) {
            for (String type : List.of("application/json", "application/x-ndjson")) {
                HttpResponse<String> response = server.post("/events", body, "Content-Type", type);
                String context = HostileSupport.abbreviate(body) + " as " + type + " -> " + response.body();
                assertOwnWords(HostileSupport.errorText(HostileSupport.assertJsonError(response, context)), context);
            }
        }
    }
}
