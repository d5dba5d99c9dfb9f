package dev.llmmetrics.session.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** A Lua script of this package's resources, with the SHA-1 digest Redis caches it under. */
record Script(String body, String sha) {

    /**
     * The script {@code name}.lua beside this class, with {@code layout.lua} after its first line: Redis runs
     * each script alone, with no way to share functions, so what they share is put in each. That first line is
     * the script's {@code #!lua} line with its flags, which Redis reads only there: a script that only reads
     * ({@code no-writes}) or only removes ({@code allow-oom}) runs on a Redis out of memory, and one that
     * writes is refused whole there, before its first write.
     */
    static Script load(String name) {
        String script = text(name);
        int firstLine = script.indexOf('\n') + 1;
        if (!script.startsWith("#!lua") || firstLine == 0) {
            throw new IllegalStateException(name + ".lua must begin with its #!lua line");
        }
        String body = script.substring(0, firstLine) + text("layout") + script.substring(firstLine);
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(body.getBytes(StandardCharsets.UTF_8));
            return new Script(body, HexFormat.of().formatHex(digest));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is missing from this JVM", e);
        }
    }

    private static String text(String name) {
        try (InputStream in = Script.class.getResourceAsStream(name + ".lua")) {
            if (in == null) {
                throw new IllegalStateException("no script " + name + ".lua beside " + Script.class.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
