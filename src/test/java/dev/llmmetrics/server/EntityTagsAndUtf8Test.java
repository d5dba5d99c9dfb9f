package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.WritableHeaders;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EntityTagsAndUtf8Test {

    private static final String ETAG = "\"abc\"";

    private static Headers ifNoneMatch(String... lines) {
        WritableHeaders<?> headers = WritableHeaders.create();
        for (String line : lines) {
            headers.add(HeaderNames.IF_NONE_MATCH, line);
        }
        return headers;
    }

    @Test
    void ifNoneMatchNamesTheTagItselfWeaklyInAListOnAnyLineOrAsAStar() {
        assertTrue(EntityTags.matches(ifNoneMatch(ETAG), ETAG));
        assertTrue(EntityTags.matches(ifNoneMatch("W/" + ETAG), ETAG));
        assertTrue(EntityTags.matches(ifNoneMatch("\"other\" ,  W/" + ETAG), ETAG));
        assertTrue(EntityTags.matches(ifNoneMatch("\"other\"", ETAG), ETAG), "a second header line counts");
        assertTrue(EntityTags.matches(ifNoneMatch("*"), ETAG));
        assertFalse(EntityTags.matches(ifNoneMatch(), ETAG));
        assertFalse(EntityTags.matches(ifNoneMatch("\"other\""), ETAG));
        assertFalse(EntityTags.matches(ifNoneMatch("abc"), ETAG), "unquoted is another tag");
        assertFalse(EntityTags.matches(ifNoneMatch("\"ABC\""), ETAG), "tags compare case included");
    }

    @Test
    void ifMatchIsMetWhenAbsentAStarOrTheTagItselfComparedStrongly() {
        assertTrue(EntityTags.ifMatch(ifMatch(), ETAG), "no If-Match asks nothing");
        assertTrue(EntityTags.ifMatch(ifMatch(ETAG), ETAG));
        assertTrue(EntityTags.ifMatch(ifMatch("*"), ETAG));
        assertTrue(EntityTags.ifMatch(ifMatch("\"other\" , " + ETAG), ETAG));
        assertTrue(EntityTags.ifMatch(ifMatch("\"other\"", ETAG), ETAG), "a second header line counts");
        assertFalse(EntityTags.ifMatch(ifMatch("W/" + ETAG), ETAG), "a weak tag never matches strongly");
        assertFalse(EntityTags.ifMatch(ifMatch("\"other\""), ETAG));
        assertFalse(EntityTags.ifMatch(ifMatch(""), ETAG), "an empty list names no tag");
    }

    private static Headers ifMatch(String... lines) {
        WritableHeaders<?> headers = WritableHeaders.create();
        for (String line : lines) {
            headers.add(HeaderNames.IF_MATCH, line);
        }
        return headers;
    }

    @Test
    void utf8IsDecodedStrictlyNeverWithReplacementCharacters() throws CharacterCodingException {
        assertEquals("é/€/😀", Utf8.decode("é/€/😀".getBytes(StandardCharsets.UTF_8)));
        assertEquals("a\uFFFDb", Utf8.decode("a\uFFFDb".getBytes(StandardCharsets.UTF_8)), "a replacement character sent as such");
        for (byte[] invalid : new byte[][] {{(byte) 0xff}, {(byte) 0xc3}, {(byte) 0xc0, (byte) 0x80},
                {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {'a', (byte) 0x80}, {(byte) 0xef, (byte) 0xbf, (byte) 0xbd, (byte) 0x80}}) {
            assertThrows(CharacterCodingException.class, () -> Utf8.decode(invalid));
        }
    }
}
