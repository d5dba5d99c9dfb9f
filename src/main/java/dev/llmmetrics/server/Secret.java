package dev.llmmetrics.server;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A shared secret compared in constant time: both sides are hashed with SHA-256 first, so neither the
 * content nor the length of the expected value leaks through timing. {@link #toString()} never shows it.
 */
final class Secret {

    private static final String BEARER = "Bearer ";

    private final byte[] digest;

    Secret(String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("a secret must not be empty");
        }
        this.digest = sha256(value);
    }

    /**
     * The value of a header that carries a credential, or {@code null} when it is absent or given more than once:
     * a proxy in front may check or strip one copy while the server would read another, so an ambiguous
     * credential counts as none.
     */
    static @Nullable String credential(Headers headers, HeaderName name) {
        List<String> values = headers.all(name, List::of);
        return values.size() == 1 ? values.getFirst() : null;
    }

    /**
     * The token of an {@code Authorization: Bearer <token>} header given once (the scheme in any case), or
     * {@code null} when there is none.
     */
    static @Nullable String bearer(Headers headers) {
        String authorization = credential(headers, HeaderNames.AUTHORIZATION);
        return authorization != null && authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())
                ? authorization.substring(BEARER.length()).strip() : null;
    }

    /** Whether {@code candidate} is the secret; {@code null} never is. */
    boolean matches(@Nullable String candidate) {
        return candidate != null && MessageDigest.isEqual(digest, sha256(candidate));
    }

    @Override
    public String toString() {
        return "Secret[****]";
    }

    private static byte[] sha256(String value) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
