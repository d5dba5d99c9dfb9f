package dev.llmmetrics.server;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/** Strict UTF-8 for what clients send: invalid bytes are an error to report, never replaced by U+FFFD. */
final class Utf8 {

    /** What String's decoding puts in place of each invalid sequence. */
    private static final char REPLACEMENT = '\uFFFD';

    private Utf8() {
    }

    /**
     * The first character of {@code part}, the raw path of a request target, that RFC 3986 lets appear there only
     * percent-encoded ({@code [ ] { } | \ ^ ` " < >}), described as {@link #unescaped(char, int)} does, or
     * {@code null} when there is none. Helidon refuses such a path before routing; this says which character.
     * Characters past ASCII are not looked for: Helidon reads each of their bytes as U+FFFD and lets the path
     * through, so a request it refused with one in its path was refused for something else.
     */
    static @Nullable String unescaped(String part) {
        for (int i = 0; i < part.length(); i++) {
            char c = part.charAt(i);
            boolean allowed = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
                    || "-._~!$&'()*+,;=:@/?%".indexOf(c) >= 0;
            if (!allowed) {
                return unescaped(c, i);
            }
        }
        return null;
    }

    /**
     * {@code c}, at {@code index} of a request target's path or query where it may appear only percent-encoded,
     * described for an error message: {@code "[" at index 4, which must be sent percent-encoded (%5B)}. A
     * character past ASCII (which Helidon reads as U+FFFD) is named as such.
     */
    static String unescaped(char c, int index) {
        String what = c > 0x20 && c < 0x7f ? "\"" + c + "\"" : c < 0x80 ? String.format("U+%04X", (int) c)
                : "a character past ASCII";
        String how = c < 0x80 ? String.format(" (%%%02X)", (int) c) : " (its UTF-8 bytes, each as %XX)";
        return what + " at index " + index + ", which must be sent percent-encoded" + how;
    }

    /**
     * {@code bytes} as UTF-8.
     *
     * @throws CharacterCodingException if they are not valid UTF-8
     */
    static String decode(byte[] bytes) throws CharacterCodingException {
        // String's constructor replaces each invalid sequence by U+FFFD, and is the faster decoder by far: where
        // its result holds no U+FFFD nothing was replaced. Otherwise a decoder that reports what is malformed
        // decides, since the body may hold a U+FFFD of its own.
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (text.indexOf(REPLACEMENT) < 0) {
            return text;
        }
        return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
    }

    /**
     * {@code encoded} percent-decoded strictly: {@code %} must start two hex digits and the bytes must be UTF-8;
     * with {@code plusIsSpace} (a query), {@code +} is a space. A character past Latin-1, which a request line
     * read byte for byte does not hold, counts as its UTF-8 bytes.
     *
     * @throws IllegalArgumentException saying what is wrong, as a predicate ("is not …")
     */
    static String percentDecode(String encoded, boolean plusIsSpace) {
        if (encoded.indexOf('%') < 0 && encoded.indexOf('+') < 0 && encoded.chars().allMatch(c -> c < 0x80)) {
            return encoded;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(encoded.length());
        for (int i = 0; i < encoded.length(); i++) {
            char c = encoded.charAt(i);
            if (c == '%') {
                int high = i + 1 < encoded.length() ? Character.digit(encoded.charAt(i + 1), 16) : -1;
                int low = i + 2 < encoded.length() ? Character.digit(encoded.charAt(i + 2), 16) : -1;
                if (high < 0 || low < 0) {
                    throw new IllegalArgumentException("is not validly percent-encoded (at index " + i + ")");
                }
                bytes.write(high << 4 | low);
                i += 2;
            } else if (c == '+' && plusIsSpace) {
                bytes.write(' ');
            } else if (c < 0x100) {
                bytes.write(c); // the request line is read byte for byte
            } else {
                byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(utf8, 0, utf8.length);
            }
        }
        try {
            return decode(bytes.toByteArray());
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("is not valid UTF-8 once percent-decoded");
        }
    }
}
