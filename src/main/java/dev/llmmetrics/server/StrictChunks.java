package dev.llmmetrics.server;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PeerInfo;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ListenerContext;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.Router;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import org.jspecify.annotations.Nullable;

/**
 * Helidon's HTTP/1.1 connections, reading chunked request bodies as RFC 9112 section 7.1 frames them. Helidon's
 * parser reads a chunk size with {@link Integer#parseUnsignedInt(String, int)}, which takes a leading {@code +},
 * and skips the two bytes after a chunk's data without looking at them: {@code +2} was a size and
 * {@code 2\r\n{}XX0\r\n\r\n} the body {@code {}}, where a proxy in front may read another length and pass a
 * second request hidden in the body. Each connection reads through a {@link Reader} that refuses both; the
 * refusal reaches the handler reading the body as a broken body (400 {@code malformed_body}, connection closed).
 * The reader also shows a request's method as sent ({@link Reader#inOtherCase(String)}), which Helidon's parser
 * upper-cases before anything else sees it.
 */
final class StrictChunks implements ServerConnectionSelector {

    private final ServerConnectionSelector http1;

    StrictChunks(Http1Config config) {
        this.http1 = Http1ConnectionSelector.builder().config(config).build();
    }

    @Override
    public int bytesToIdentifyConnection() {
        return http1.bytesToIdentifyConnection();
    }

    @Override
    public Support supports(BufferData request) {
        return http1.supports(request);
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return http1.supportedApplicationProtocols();
    }

    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        return http1.connection(new Context(ctx, new Reader(ctx.dataReader())));
    }

    /**
     * The connection's bytes, as read by Helidon's parser, which calls {@link #readLine()} only for a chunk-size
     * line and the empty line after the last chunk, then {@link #readBuffer(int)} for a chunk's data and
     * {@link #skip(int)} for the line end after it: a line must be hex digits alone, and the two bytes after a
     * chunk's data CRLF. The parser reads a request line, and a {@code Connection} header's value, with
     * {@link #readBytes(int)}: the last bytes so read are kept (the array the parser gets, no copy), the request
     * line's when Helidon hands on its prologue.
     */
    static final class Reader extends DataReader {

        private boolean chunkDataNext;
        private boolean lineEndNext;
        private byte @Nullable [] lastLine;

        // Helidon marks DataReader's constructors for removal in favour of DataReader.create, which cannot be
        // subclassed; its parser still skips the two bytes after a chunk's data unread, so this reader stays
        // until Helidon checks them itself or offers another hook (RequestFramingTest fails if it goes).
        @SuppressWarnings("removal")
        Reader(DataReader socket) {
            super(() -> {
                if (socket.available() == 0) {
                    socket.pullData();
                }
                return socket.readBytes(socket.available());
            });
        }

        @Override
        public String readLine() throws IncorrectNewLineException {
            String line = super.readLine(); // which skips the line's end
            for (int i = 0; i < line.length(); i++) {
                if (Character.digit(line.charAt(i), 16) < 0 || line.charAt(i) > 'f') {
                    throw new MalformedChunk("a chunk size must be hex digits alone");
                }
            }
            chunkDataNext = !line.isEmpty() && !line.chars().allMatch(c -> c == '0');
            return line;
        }

        @Override
        public byte[] readBytes(int length) {
            byte[] line = super.readBytes(length);
            lastLine = line;
            return line;
        }

        /**
         * The first word of the line last read with {@link #readBytes(int)} when it is {@code token} with some of
         * its letters in the other case ({@code delete} for {@code DELETE}); null when it is {@code token} as given,
         * or another word. Read when Helidon hands on a request's prologue, whose method it upper-cased: this tells
         * the method the client sent. Allocates only for the word it returns.
         */
        @Nullable String inOtherCase(String token) {
            byte[] line = lastLine;
            int length = token.length();
            if (line == null || line.length <= length || line[length] != ' ') {
                return null;
            }
            boolean otherCase = false;
            for (int i = 0; i < length; i++) {
                int sent = line[i];
                char known = token.charAt(i);
                if (sent != known) {
                    if ((sent ^ 0x20) != known || !(sent >= 'a' && sent <= 'z' || sent >= 'A' && sent <= 'Z')) {
                        return null;
                    }
                    otherCase = true;
                }
            }
            return otherCase ? new String(line, 0, length, StandardCharsets.US_ASCII) : null;
        }

        @Override
        public BufferData readBuffer(int length) {
            boolean chunkData = chunkDataNext;
            chunkDataNext = false;
            BufferData data = super.readBuffer(length); // which skips what it reads
            lineEndNext = chunkData;
            return data;
        }

        @Override
        public void skip(int length) {
            if (lineEndNext) {
                lineEndNext = false;
                byte[] end = super.readBytes(length);
                if (length != 2 || end[0] != '\r' || end[1] != '\n') {
                    throw new MalformedChunk("a chunk's data must end with CRLF");
                }
                return;
            }
            super.skip(length);
        }
    }

    /** A chunked body framed otherwise than RFC 9112 section 7.1 says. */
    static final class MalformedChunk extends RuntimeException {
        MalformedChunk(String message) {
            super(message, null, false, false);
        }
    }

    /** The connection Helidon made, but for the reader of its bytes. */
    private record Context(ConnectionContext connection, DataReader reader) implements ConnectionContext {

        @Override
        public DataReader dataReader() {
            return reader;
        }

        @Override
        public ListenerContext listenerContext() {
            return connection.listenerContext();
        }

        @Override
        public ExecutorService executor() {
            return connection.executor();
        }

        @Override
        public DataWriter dataWriter() {
            return connection.dataWriter();
        }

        @Override
        public Router router() {
            return connection.router();
        }

        @Override
        public Optional<ProxyProtocolData> proxyProtocolData() {
            return connection.proxyProtocolData();
        }

        @Override
        public HelidonSocket serverSocket() {
            return connection.serverSocket();
        }

        @Override
        public PeerInfo remotePeer() {
            return connection.remotePeer();
        }

        @Override
        public PeerInfo localPeer() {
            return connection.localPeer();
        }

        @Override
        public boolean isSecure() {
            return connection.isSecure();
        }

        @Override
        public String socketId() {
            return connection.socketId();
        }

        @Override
        public String childSocketId() {
            return connection.childSocketId();
        }
    }
}
