package dev.llmmetrics.server;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;

/** Strict UTF-8 for what clients send: invalid bytes are an error to report, never replaced by U+FFFD. */
final class Utf8 {

    private Utf8() {
    }

    /**
     * {@code bytes} as UTF-8.
     *
     * @throws CharacterCodingException if they are not valid UTF-8
     */
    static String decode(byte[] bytes) throws CharacterCodingException {
        // A new decoder reports malformed and unmappable input; String's constructors would replace it.
        return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
    }
}
