package dev.llmmetrics.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ThreadFactory;

/**
 * The floor of what any proxy adds: a relay that copies bytes between each accepted connection and a new
 * connection to the upstream, reading and writing nothing else, one thread per direction. {@link ProxyBenchmark}
 * runs it as a child process beside the server, so that the metering proxy's added latency can be set beside the
 * cost of one more loopback hop on the same host: with platform threads (a thread blocked in a read is woken by
 * the kernel itself) or with virtual threads (woken through the JDK's poller and a carrier thread, as every
 * Helidon connection is).
 *
 * <pre>java -cp … dev.llmmetrics.bench.TcpRelay &lt;upstream port&gt; platform|virtual</pre>
 *
 * <p>Prints {@code relay listening on <port>} once it accepts connections.
 */
public final class TcpRelay {

    private TcpRelay() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2 || !(args[1].equals("platform") || args[1].equals("virtual"))) {
            throw new IllegalArgumentException("usage: TcpRelay <upstream port> platform|virtual");
        }
        InetSocketAddress upstream = new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(args[0]));
        ThreadFactory threads = args[1].equals("virtual")
                ? Thread.ofVirtual().name("relay-", 0).factory()
                : Thread.ofPlatform().name("relay-", 0).daemon().factory();
        try (ServerSocket listener = new ServerSocket(0, 4096, InetAddress.getLoopbackAddress())) {
            System.out.println("relay listening on " + listener.getLocalPort());
            System.out.flush();
            while (true) {
                Socket client = listener.accept();
                threads.newThread(() -> connect(client, upstream, threads)).start();
            }
        }
    }

    private static void connect(Socket client, InetSocketAddress upstream, ThreadFactory threads) {
        Socket server = new Socket();
        try {
            client.setTcpNoDelay(true);
            server.setTcpNoDelay(true);
            server.connect(upstream, 5000);
        } catch (IOException e) {
            closeQuietly(client);
            closeQuietly(server);
            return;
        }
        threads.newThread(() -> copy(server, client)).start();
        copy(client, server);
    }

    /** Copies {@code from} to {@code to} until {@code from} ends, then ends {@code to}'s output. */
    private static void copy(Socket from, Socket to) {
        byte[] buffer = new byte[8192];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int read;
            while ((read = in.read(buffer)) != -1) {
                out.write(buffer, 0, read);
            }
            to.shutdownOutput();
        } catch (IOException e) {
            // either side went away: close both, which ends the other direction's copy too
            closeQuietly(from);
            closeQuietly(to);
            return;
        }
        if (from.isOutputShutdown()) {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing left to do with it
        }
    }
}
