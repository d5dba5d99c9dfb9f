package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The server as its own process, the way {@code java -jar} runs it: environment overrides, the first
 * INFO line, a start refused on a port in use, and a graceful stop on SIGTERM that lets an in-flight
 * request finish.
 */
class ServerProcessTest {

    private ChildServer child;
    private Process process;
    private List<String> output;

    @AfterEach
    void kill() throws InterruptedException {
        if (child != null) {
            child.close();
        }
    }

    /** Starts Main in a child JVM with the given environment; returns its port. */
    private int startChild(String... env) throws IOException, InterruptedException {
        child = ChildServer.main(env);
        process = child.process;
        output = child.output;
        return child.port;
    }

    @Test
    void environmentVariablesOverrideTheConfigurationAndTheFirstInfoLineGivesTheAddress() throws Exception {
        int port = startChild("SERVER_PORT", "0", "STORE_MAX_SESSIONS", "2");
        assertTrue(port > 0 && port != 8001);
        String firstInfo = output.stream().filter(l -> l.contains(" INFO ")).findFirst().orElseThrow();
        assertTrue(ChildServer.LISTENING.matcher(firstInfo).find(), "first INFO line: " + firstInfo);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> output.stream()
                .anyMatch(l -> l.contains("WARNING") && l.contains("LLM_METRICS_AUTH_TOKEN is not set")));

        HttpClient client = HttpClient.newHttpClient();
        for (String session : List.of("a", "b", "c")) {
            String body = "{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"" + session + "\",\"model\":\"m\"}";
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/events"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(202, r.statusCode());
        }
        HttpResponse<String> sessions = client.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/events/metrics/sessions")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(2, TestServer.JSON.readTree(sessions.body()).get("count").asInt(), "STORE_MAX_SESSIONS=2 applies");
    }

    @Test
    void aPortInUseStopsTheStartWithExitCodeTwoAndSaysWhichPort() throws Exception {
        int taken = startChild();
        ChildServer.Exited second = ChildServer.mainToExit(List.of(), "SERVER_PORT", String.valueOf(taken));
        String said = second.output();
        assertEquals(2, second.code(), said);
        assertTrue(said.contains("llm-metrics cannot start: cannot listen on 127.0.0.1:" + taken + " "), said);
        assertFalse(said.contains("listening on"), said);
        assertFalse(said.contains("Exception") || said.contains("\tat "), "one line, no stack trace: " + said);
        assertTrue(child.process.isAlive(), "the server holding the port is untouched");
    }

    @Test
    void anAddressThisHostDoesNotHaveIsNamedAsSuchNotAsAPortInUse() throws Exception {
        // 192.0.2.1 is TEST-NET-1 (RFC 5737): no interface of this host has it. The port is free.
        ChildServer.Exited exited = ChildServer.mainToExit(List.of(), "SERVER_HOST", "192.0.2.1", "SERVER_PORT", "18790",
                "LLM_METRICS_AUTH_TOKEN", "t");
        String said = exited.output();
        assertEquals(2, exited.code(), said);
        assertTrue(said.contains("cannot listen on 192.0.2.1:18790 "), said);
        assertFalse(said.contains("set SERVER_PORT to a free port"), "the port is free, the address is the problem: " + said);
        assertTrue(said.contains("SERVER_HOST"), said);
    }

    @Test
    void aProxySettingRefusedAtStartLeavesNoStoreFileBehind(@TempDir Path dir) throws Exception {
        // The proxy's settings were read once the store was open: the refusal left a SQLite file, its log and lock
        Path file = dir.resolve("sessions.db");
        ChildServer.Exited exited = ChildServer.mainToExit(List.of(), "STORE_BACKEND", "sqlite",
                "STORE_SQLITE_PATH", file.toString(), "PROXY_MAX_CONCURRENT", "5");
        String said = exited.output();
        assertEquals(2, exited.code(), said);
        assertTrue(said.contains("llm-metrics cannot start: proxy.max.concurrent (PROXY_MAX_CONCURRENT) is set but the"
                + " proxy is off"), said);
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(), left.toList(), "nothing opened before the refusal");
        }
    }

    @ParameterizedTest(name = "SERVER_PORT={0}")
    @ValueSource(strings = {"abc", "-1", "70000", " 8001"})
    void aPortThatIsNotAPortNumberStopsTheStartWithOneLineAndExitCodeTwo(String port) throws Exception {
        ChildServer.Exited exited = ChildServer.mainToExit(List.of(), "SERVER_PORT", port);
        String said = exited.output();
        assertEquals(2, exited.code(), said);
        assertTrue(said.contains("llm-metrics cannot start: ") && said.contains("SERVER_PORT"), said);
        assertFalse(said.contains("listening on"), "not a random port instead: " + said);
        assertFalse(said.contains("Exception") || said.contains("\tat "), "one line, no stack trace: " + said);
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({"INGEST_DEDUPE_WINDOW, 10m, PT", "HTTP_BODY_TIMEOUT, 5, PT", "STORE_MAX_SESSIONS, abc, whole number",
        "INGEST_MAX_BODY_BYTES, 1MB, whole number", "STORE_MAX_SESSIONS, 99999999999, out of its range",
        "STORE_MAX_BYTES, 99999999999999999999, out of its range"})
    void aSettingItsTypeCannotReadStopsTheStartWithOneLineNamingTheVariableAndTheExpectedForm(
            String variable, String value, String expected) throws Exception {
        ChildServer.Exited exited = ChildServer.mainToExit(List.of(), variable, value);
        String said = exited.output();
        assertEquals(2, exited.code(), said);
        assertTrue(said.contains("llm-metrics cannot start: ") && said.contains(variable)
                && said.contains("'" + value + "'") && said.contains(expected), said);
        assertFalse(said.contains("listening on"), said);
        assertFalse(said.contains("Exception") || said.contains("\tat "), "one line, no stack trace: " + said);
    }

    @Test
    void sigtermLetsAnInFlightRequestFinishThenExits() throws Exception {
        int port = startChild("SERVER_PORT", "0");
        byte[] body = ("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":5,"
                + "\"prompt_tokens\":1,\"completion_tokens\":1}]").getBytes(StandardCharsets.UTF_8);
        byte[] head = ("POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write(head);
            out.write(body, 0, body.length / 2);
            out.flush();
            Thread.sleep(500);

            process.destroy();
            Thread.sleep(500);
            out.write(body, body.length / 2, body.length - body.length / 2);
            out.flush();

            String statusLine = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
            assertEquals("HTTP/1.1 202 Accepted", statusLine, () -> "server output: " + String.join("\n", output));
        }
        assertTrue(process.waitFor(20, TimeUnit.SECONDS), "the server exits after SIGTERM");
        assertEquals(143, process.exitValue(), "exit status of a JVM ended by SIGTERM");
        assertTrue(output.stream().noneMatch(l -> l.contains("SEVERE")), () -> String.join("\n", output));
    }
}
