package dev.llmmetrics.server.proxy;

import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.InflaterInputStream;
import java.util.zip.ZipException;
import org.jspecify.annotations.Nullable;

/**
 * The content coding of an upstream's answer to a chat completion. The proxy asks for {@code identity}; an upstream
 * (or a proxy before it) that compresses anyway with {@code gzip} or {@code deflate} is decompressed with the
 * JDK's zlib, so that the model and usage are read and the client gets the plain answer it was sent for (the
 * proxy had replaced its {@code Accept-Encoding}). Any other coding is passed on as it came, and read as nothing.
 */
enum AnswerCoding {

    /** No coding, or {@code identity}: read as it comes. */
    IDENTITY,
    /** {@code gzip} (or {@code x-gzip}): decompressed. */
    GZIP,
    /** {@code deflate}, the zlib format (RFC 9110 §8.4.1.2): decompressed. */
    DEFLATE,
    /** Another coding ({@code br}, {@code zstd}, several in turn): passed on as it came. */
    OTHER;

    /** The coding of an answer with these headers. */
    static AnswerCoding of(Headers headers) {
        List<String> codings = new ArrayList<>();
        for (String line : headers.all(HeaderNames.CONTENT_ENCODING, List::of)) {
            for (String coding : line.split(",", -1)) {
                String name = coding.strip().toLowerCase(Locale.ROOT);
                if (!name.isEmpty() && !name.equals("identity")) {
                    codings.add(name);
                }
            }
        }
        if (codings.isEmpty()) {
            return IDENTITY;
        }
        if (codings.size() > 1) {
            return OTHER;
        }
        return switch (codings.getFirst()) {
            case "gzip", "x-gzip" -> GZIP;
            case "deflate" -> DEFLATE;
            default -> OTHER;
        };
    }

    /** Whether the proxy decompresses such an answer, passing it on without its {@code Content-Encoding}. */
    boolean decoded() {
        return this == GZIP || this == DEFLATE;
    }

    /**
     * The body as the proxy reads it: {@code raw} itself, or its decompression, begun at the first read (a gzip
     * header waits for its bytes, which the read's own handling of a late or broken answer then covers).
     */
    Body body(InputStream raw) {
        return decoded() ? new Body(new Decompressing(raw, this)) : new Body(raw);
    }

    /**
     * An answer's body as the proxy reads it. Closing it releases what decompressing holds (the inflater's native
     * memory), never the upstream connection, which the answer's own close returns or drops.
     */
    static final class Body implements AutoCloseable {
        private final InputStream in;

        private Body(InputStream in) {
            this.in = in;
        }

        InputStream in() {
            return in;
        }

        @Override
        public void close() {
            if (in instanceof Decompressing decompressing) {
                decompressing.release();
            }
        }
    }

    private static final class Decompressing extends InputStream {
        private final InputStream raw;
        private final AnswerCoding coding;
        private @Nullable InflaterInputStream decompressed;
        /**
         * Whether the raw body ended as its framing says (its length, its last chunk): the HTTP client reports one
         * cut by the upstream's close as bytes missing instead.
         */
        private boolean rawEnded;
        /** Whether the raw body was empty: nothing to decompress, an empty answer, as an empty body in any coding. */
        private boolean empty;

        Decompressing(InputStream raw, AnswerCoding coding) {
            this.raw = raw;
            this.coding = coding;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            if (empty) {
                return -1;
            }
            try {
                if (decompressed == null) {
                    PushbackInputStream shielded = new PushbackInputStream(new FilterInputStream(raw) {
                        @Override
                        public int read() throws IOException {
                            int read = super.read();
                            rawEnded |= read < 0;
                            return read;
                        }

                        @Override
                        public int read(byte[] bytes, int at, int length) throws IOException {
                            int read = super.read(bytes, at, length);
                            rawEnded |= read < 0;
                            return read;
                        }

                        @Override
                        public void close() {
                            // the connection is the answer's to close
                        }
                    }, 1);
                    int first = shielded.read();
                    if (first < 0) {
                        empty = true;
                        return -1;
                    }
                    shielded.unread(first);
                    decompressed = coding == GZIP ? new GZIPInputStream(shielded, 8 * 1024) : new InflaterInputStream(shielded);
                }
                return decompressed.read(buffer, offset, length);
            } catch (ZipException e) {
                throw cannotBeDecompressed(e.getMessage());
            } catch (EOFException e) {
                if (!rawEnded) {
                    throw e; // the upstream's close cut the body: told as such
                }
                // The body ended whole by its framing, its compressed data short of their end: not a close.
                throw cannotBeDecompressed("its compressed data ends before its body does");
            }
        }

        private ZipException cannotBeDecompressed(@Nullable String why) {
            return new ZipException("its " + coding.name().toLowerCase(Locale.ROOT) + " body cannot be decompressed ("
                    + why + ")");
        }

        /** Ends the inflater; the raw body is left to the answer. */
        void release() {
            if (decompressed != null) {
                try {
                    decompressed.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e); // not thrown: the shielded stream's close does nothing
                }
            }
        }
    }
}
