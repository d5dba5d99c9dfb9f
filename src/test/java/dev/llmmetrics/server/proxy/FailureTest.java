package dev.llmmetrics.server.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.llmmetrics.event.ErrorType;
import java.io.UncheckedIOException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/**
 * The error texts of upstream calls that failed without an answer, for the exceptions the real upstreams of
 * {@code OpenAiProxyUpstreamFaultsTest} cannot raise at will: one without a message, one quoting a class name.
 */
class FailureTest {

    @Test
    void anExceptionWithoutAMessageIsNamedByItsKindInWordsNeverAsAnEndedConnection() {
        Failure failure = Failure.ofException(new IllegalStateException());
        assertEquals(ErrorType.SERVER_ERROR, failure.type());
        assertEquals("the upstream call failed: an unexpected illegal state error without a message", failure.text());
        assertEquals("the upstream call failed: the connection broke",
                Failure.ofException(new UncheckedIOException(new SocketException())).text());
        assertEquals("SSL handshake error", Failure.inWords(new SSLHandshakeException(null)));
        assertEquals("error", Failure.inWords(new RuntimeException() { }));
    }

    @Test
    void theDetailAfterAColonIsKeptLessTheClassNamesItQuotes() {
        SSLHandshakeException pkix = new SSLHandshakeException("PKIX path building failed: "
                + "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path");
        assertEquals("the upstream call failed: the TLS handshake failed: PKIX path building failed: unable to find valid "
                + "certification path", Failure.ofException(new UncheckedIOException("Failed to execute SSL handshake",
                new java.io.IOException(pkix))).text());
        assertEquals("the upstream call failed: the connection broke: Connection reset",
                Failure.ofException(new UncheckedIOException(new SocketException("Connection reset"))).text());
        assertEquals("the upstream cannot be reached (No route to host)",
                Failure.ofException(new UncheckedIOException(new NoRouteToHostException("No route to host"))).text());
    }
}
