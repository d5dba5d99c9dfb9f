package dev.llmmetrics.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A shared secret compared in constant time: both sides are hashed with SHA-256 first, so neither the
 * content nor the length of the expected value leaks through timing. {@link #toString()} never shows it.
 */
final class Secret {

    private final byte[] digest;

    Secret(String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("a secret must not be empty");
        }
        this.digest = sha256(value);
    }

    /** Whether {@code candidate} is the secret; {@code null} never is. */
    boolean matches(String candidate) {
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
