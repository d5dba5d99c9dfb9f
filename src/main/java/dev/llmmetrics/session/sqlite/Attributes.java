package dev.llmmetrics.session.sqlite;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A request's attributes as one text in its {@code record} row: each key and value as its length in
 * characters, a colon, then the characters ({@code 4:tier3:pro}), so that no character needs escaping.
 */
final class Attributes {

    private Attributes() {
    }

    /** The text of {@code attributes}, {@code null} for none. */
    static @Nullable String encode(Map<String, String> attributes) {
        if (attributes.isEmpty()) {
            return null;
        }
        StringBuilder text = new StringBuilder();
        attributes.forEach((k, v) -> {
            text.append(k.length()).append(':').append(k);
            text.append(v.length()).append(':').append(v);
        });
        return text.toString();
    }

    /** The attributes of a text {@link #encode} wrote; none for {@code null}. */
    static Map<String, String> decode(@Nullable String text) {
        if (text == null) {
            return Map.of();
        }
        Map<String, String> attributes = new LinkedHashMap<>();
        int[] at = {0};
        while (at[0] < text.length()) {
            String key = next(text, at);
            attributes.put(key, next(text, at));
        }
        return attributes;
    }

    private static String next(String text, int[] at) {
        int colon = text.indexOf(':', at[0]);
        int length = Integer.parseInt(text, at[0], colon, 10);
        at[0] = colon + 1 + length;
        return text.substring(colon + 1, at[0]);
    }
}
