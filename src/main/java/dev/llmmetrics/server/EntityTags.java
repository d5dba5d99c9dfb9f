package dev.llmmetrics.server;

import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import java.util.List;

/**
 * Conditional requests: whether a request's {@code If-None-Match} already names the entity tag of the answer, and
 * whether its {@code If-Match} names the tag of the state it would change.
 */
final class EntityTags {

    private EntityTags() {
    }

    /**
     * Whether the {@code If-None-Match} header of {@code headers} names {@code etag} or is {@code *}. Every
     * line of the header counts, each a comma-separated list, and tags compare weakly ({@code W/} is
     * ignored), as RFC 9110 asks for {@code If-None-Match}.
     */
    static boolean matches(Headers headers, String etag) {
        for (String line : headers.all(HeaderNames.IF_NONE_MATCH, List::of)) {
            for (String tag : line.split(",")) {
                String candidate = tag.strip();
                if (candidate.startsWith("W/")) {
                    candidate = candidate.substring(2);
                }
                if (candidate.equals("*") || candidate.equals(etag)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Whether the {@code If-Match} header of {@code headers} is absent, is {@code *} or names {@code etag}. Tags
     * compare strongly (a {@code W/} tag matches nothing), as RFC 9110 asks for {@code If-Match}.
     */
    static boolean ifMatch(Headers headers, String etag) {
        List<String> lines = headers.all(HeaderNames.IF_MATCH, List::of);
        if (lines.isEmpty()) {
            return true;
        }
        for (String line : lines) {
            for (String tag : line.split(",")) {
                String candidate = tag.strip();
                if (candidate.equals("*") || candidate.equals(etag)) {
                    return true;
                }
            }
        }
        return false;
    }
}
