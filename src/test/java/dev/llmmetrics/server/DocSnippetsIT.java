package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.cost.PriceTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * Every code block of README.md and docs/*.md that a user would copy works as written, against the real
 * server and the built artifact (so this runs after {@code mvn package}).
 *
 * <p>A block's info string says what it is, and so what is done with it:
 * <ul>
 *   <li>{@code sh}: run with bash in the repository root, {@code localhost:8001} pointing at a real server on
 *       a free port (the one with auth token {@code secret} when the block sends {@code x-internal-auth: secret},
 *       else an open one with demo traffic, the sample prices and the GenAI instruments); every curl must get
 *       a 2xx answer, and every command must succeed;</li>
 *   <li>{@code json answer}: the exact JSON the {@code sh} block before it prints (an error answer lets that
 *       block's last curl get the error's status);</li>
 *   <li>{@code python}: the file's Python blocks, in order, run as one script with {@code clients/python} on
 *       the path and {@code LLM_METRICS_URL} set; a stand-in for the OpenAI SDK (which cannot be installed
 *       here) answers like it; the server must then hold the session the script recorded;</li>
 *   <li>{@code java}: one compilation unit each, compiled in a separate Maven project that depends on the
 *       installed artifact by the README's {@code xml} dependency blocks, then run (its {@code main}) unless
 *       marked {@code java compile-only} (it calls a paid API);</li>
 *   <li>{@code json} (a price table is loaded as the server would), {@code yaml}, {@code xml}: parsed;</li>
 *   <li>{@code text}: output or prose, not run; any block marked {@code not-run} after its language (it needs
 *       Docker, runs the whole suite, or starts a server for good) is only syntax-checked when it is shell,
 *       and the scripts it names must exist.</li>
 * </ul>
 * A block without a known language fails the test. Missing tools (bash, curl, python3, mvn) fail it too.
 */
class DocSnippetsIT {

    private static final Path ROOT = Tools.repoRoot();
    private static final Pattern FENCE = Pattern.compile("^( *)```(\\S*)\\s*(.*)$");
    private static final Pattern PUBLIC_CLASS = Pattern.compile("public\\s+(?:final\\s+)?class\\s+(\\w+)");
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(120);

    private static TestServer open;
    private static TestServer secured;

    /** One fenced code block: where it is, its language, its flags ({@code not-run}, {@code answer}, ...). */
    record Snippet(Path file, int line, String language, List<String> flags, String text) {
        String where() {
            return ROOT.relativize(file) + ":" + line;
        }
    }

    @BeforeAll
    static void startServers() {
        open = TestServer.startWithDemo(Map.of("prices.path", "sample", "meters.otel.genai", "true"));
        secured = TestServer.start(Map.of("llm.metrics.auth.token", "secret"));
    }

    @AfterAll
    static void stopServers() {
        if (open != null) {
            open.close();
        }
        if (secured != null) {
            secured.close();
        }
    }

    @Test
    void everyBlockHasALanguageThisTestKnows() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Snippet s : snippets()) {
            boolean known = switch (s.language()) {
                case "sh", "python", "java", "xml", "json", "yaml", "text" -> true;
                default -> s.flags().contains("not-run");
            };
            if (!known) {
                problems.add(s.where() + ": ```" + s.language() + " is not tested; name a language this test runs, or mark it text or not-run");
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void shellBlocksRunAgainstTheRealServerAndPrintTheDocumentedAnswers() throws Exception {
        List<String> problems = new ArrayList<>();
        List<Snippet> all = snippets();
        for (int i = 0; i < all.size(); i++) {
            Snippet s = all.get(i);
            if (!s.language().equals("sh")) {
                continue;
            }
            if (s.flags().contains("not-run")) {
                problems.addAll(checkNotRun(s));
                continue;
            }
            Snippet answer = i + 1 < all.size() && all.get(i + 1).flags().contains("answer")
                    && all.get(i + 1).file().equals(s.file()) ? all.get(i + 1) : null;
            problems.addAll(runShell(s, answer));
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void pythonBlocksRecordTheirCallsOnTheRealServer() throws Exception {
        String python = Tools.executable("python3", "bin/test needs python3 (Debian's python3).");
        Map<Path, StringBuilder> scripts = new LinkedHashMap<>();
        for (Snippet s : snippets()) {
            if (s.language().equals("python") && !s.flags().contains("not-run")) {
                scripts.computeIfAbsent(s.file(), f -> new StringBuilder()).append("# ").append(s.where()).append('\n')
                        .append(s.text()).append('\n');
            }
        }
        assertFalse(scripts.isEmpty(), "the README has a Python example");
        String stubs = ROOT.resolve("src/test/resources/snippets").toString();
        for (Map.Entry<Path, StringBuilder> script : scripts.entrySet()) {
            Tools.Finished result = run(List.of(python, "-c", script.getValue().toString()), ROOT, Map.of(
                    "PYTHONPATH", ROOT.resolve("clients/python") + ":" + stubs,
                    "LLM_METRICS_URL", "http://127.0.0.1:" + open.running().port()));
            assertEquals(0, result.exitCode(), "the Python of " + ROOT.relativize(script.getKey()) + ":\n" + result);
        }
        Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            var response = open.get("/events/metrics/session/session-1");
            assertEquals(200, response.statusCode(), "the session the README's Python recorded: " + response.body());
            JsonNode session = TestServer.JSON.readTree(response.body());
            assertTrue(session.get("total_requests").asLong() >= 1, response.body());
            assertEquals("gpt-4o-mini", session.get("requests").get(0).get("model").asText(), response.body());
        });
    }

    @Test
    void javaBlocksCompileAndRunInAConsumerProjectAgainstTheInstalledArtifact(@TempDir Path work) throws Exception {
        String mvn = Tools.executable("mvn", "bin/test needs Maven (Debian's maven).");
        Path jar = ROOT.resolve("target/llm-metrics.jar");
        assertTrue(Files.isRegularFile(jar), "mvn package builds " + jar + " before this test");

        // The README's dependency blocks, exactly: the coordinates a user copies.
        List<String> dependencies = new ArrayList<>();
        List<Snippet> javaBlocks = new ArrayList<>();
        for (Snippet s : snippets()) {
            if (s.language().equals("xml") && s.file().equals(ROOT.resolve("README.md")) && s.text().contains("<dependency>")) {
                dependencies.add(s.text());
            } else if (s.language().equals("java")) {
                javaBlocks.add(s);
            }
        }
        assertTrue(dependencies.stream().anyMatch(d -> d.contains("<artifactId>llm-metrics</artifactId>")),
                "the README gives llm-metrics' Maven coordinates");

        // A local repository of its own, filled from the build's (a file repository, so offline) and, for what
        // that lacks, from Maven Central; the artifact is installed into it as `mvn install` would.
        Path repo = work.resolve("repository");
        Path settings = work.resolve("settings.xml");
        Files.writeString(settings, settings(Path.of(System.getProperty("llmmetrics.localRepository",
                System.getProperty("user.home") + "/.m2/repository"))));
        List<String> maven = List.of(mvn, "-B", "-ntp", "-q", "-s", settings.toString(), "-Dmaven.repo.local=" + repo);
        Tools.Finished install = run(concat(maven, List.of("org.apache.maven.plugins:maven-install-plugin:3.1.4:install-file",
                "-Dfile=" + jar, "-DpomFile=" + ROOT.resolve("pom.xml"))), ROOT, Map.of());
        assertEquals(0, install.exitCode(), "installing the artifact:\n" + install);

        Path project = work.resolve("consumer");
        Path sources = project.resolve("src/main/java");
        Files.createDirectories(sources);
        Files.writeString(project.resolve("pom.xml"), consumerPom(dependencies));
        Map<String, Snippet> classes = new LinkedHashMap<>();
        for (Snippet s : javaBlocks) {
            Matcher m = PUBLIC_CLASS.matcher(s.text());
            if (!m.find()) {
                fail(s.where() + ": a Java block is a whole compilation unit (imports and a public class), so that it compiles as copied");
            }
            if (classes.put(m.group(1), s) != null) {
                fail(s.where() + ": class " + m.group(1) + " is in two blocks");
            }
            Files.writeString(sources.resolve(m.group(1) + ".java"), s.text());
        }
        Tools.Finished compile = run(concat(maven, List.of("compile",
                "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath", "-Dmdep.outputFile=classpath.txt")),
                project, Map.of());
        assertEquals(0, compile.exitCode(), "the README's and docs' Java against the installed artifact:\n" + compile);

        String classpath = project.resolve("target/classes") + java.io.File.pathSeparator
                + Files.readString(project.resolve("classpath.txt")).strip();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Snippet> c : classes.entrySet()) {
            if (c.getValue().flags().contains("compile-only")) {
                continue;
            }
            Tools.Finished main = run(List.of(java, "-cp", classpath, c.getKey()), project, Map.of());
            if (main.exitCode() != 0) {
                problems.add(c.getValue().where() + " " + c.getKey() + ":\n" + main);
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void jsonYamlAndXmlBlocksParse() throws Exception {
        List<String> problems = new ArrayList<>();
        for (Snippet s : snippets()) {
            try {
                switch (s.language()) {
                    case "json" -> {
                        JsonNode node = TestServer.JSON.readTree(s.text());
                        if (node.has("models") && node.get("models").isObject()) {
                            Path table = Files.createTempFile("prices", ".json");
                            Files.writeString(table, s.text());
                            try {
                                assertFalse(PriceTable.load(table).isEmpty(), "a price table with prices");
                            } finally {
                                Files.delete(table);
                            }
                        }
                    }
                    case "yaml" -> new Yaml().load(s.text());
                    case "xml" -> DocumentBuilderFactory // a block may hold several elements: parsed side by side
                            .newInstance().newDocumentBuilder()
                            .parse(new java.io.ByteArrayInputStream(("<blocks>" + s.text() + "</blocks>").getBytes(StandardCharsets.UTF_8)));
                    default -> {
                    }
                }
            } catch (Exception | AssertionError e) {
                problems.add(s.where() + " (" + s.language() + "): " + e.getMessage());
            }
        }
        assertEquals(List.of(), problems);
    }

    // --- Shell ----------------------------------------------------------------------------------------------

    private static List<String> checkNotRun(Snippet s) throws Exception {
        List<String> problems = new ArrayList<>();
        Tools.Finished syntax = run(List.of(bash(), "-n", "-c", s.text()), ROOT, Map.of());
        if (syntax.exitCode() != 0) {
            problems.add(s.where() + ": not valid shell:\n" + syntax);
        }
        Matcher script = Pattern.compile("(?m)^\\s*(?:\\./)?((?:bin|prometheus|grafana)/[\\w./-]+)").matcher(s.text());
        while (script.find()) {
            Path path = ROOT.resolve(script.group(1));
            if (!Files.isExecutable(path)) {
                problems.add(s.where() + ": names " + script.group(1) + ", which is not an executable file of the repository");
            }
        }
        return problems;
    }

    private static List<String> runShell(Snippet s, Snippet answer) throws Exception {
        TestServer server = s.text().contains("x-internal-auth: secret") ? secured : open;
        Path statuses = Files.createTempFile("curl", ".status");
        try {
            // curl's body goes to the block's stdout as usual; its status code, written by -w, to the side file.
            String prelude = """
                    set -euo pipefail
                    curl() { command curl --max-time 30 --write-out '%%{stderr}%%{http_code}\\n' "$@" 2>>'%s'; }
                    """.formatted(statuses);
            String body = s.text().replace("localhost:8001", "127.0.0.1:" + server.running().port());
            Tools.Finished result = run(List.of(bash(), "-c", prelude + body), ROOT, Map.of("LLM_METRICS_TOKEN", "snippet-test-token"));
            List<String> problems = new ArrayList<>();
            List<String> codes = Files.readAllLines(statuses).stream().map(String::strip)
                    .filter(line -> line.matches("\\d{3}")).toList();
            boolean errorAnswer = answer != null && TestServer.JSON.readTree(answer.text()).has("error");
            for (int i = 0; i < codes.size(); i++) {
                boolean last = i == codes.size() - 1;
                if (!codes.get(i).startsWith("2") && !(last && errorAnswer)) {
                    problems.add(s.where() + ": a curl got " + codes.get(i) + "\n" + result);
                }
            }
            if (result.exitCode() != 0) {
                problems.add(s.where() + ": exit " + result.exitCode() + "\n" + result);
            }
            if (answer != null) {
                JsonNode expected = TestServer.JSON.readTree(answer.text());
                JsonNode actual;
                try {
                    actual = TestServer.JSON.readTree(result.stdout());
                } catch (IOException e) {
                    actual = null;
                }
                if (!expected.equals(actual)) {
                    problems.add(answer.where() + ": the documented answer\n" + expected + "\nis not what the server answers\n"
                            + result.stdout());
                }
            }
            return problems;
        } finally {
            Files.deleteIfExists(statuses);
        }
    }

    private static String bash() {
        return Tools.executable("bash", "The snippet test runs shell blocks with bash.");
    }

    // --- Maven consumer project -----------------------------------------------------------------------------

    private static String settings(Path buildRepository) {
        return """
                <settings>
                  <profiles>
                    <profile>
                      <id>build-repository-first</id>
                      <repositories>
                        <repository><id>central</id><url>%1$s</url></repository>
                        <repository><id>maven-central</id><url>https://repo.maven.apache.org/maven2</url></repository>
                      </repositories>
                      <pluginRepositories>
                        <pluginRepository><id>central</id><url>%1$s</url></pluginRepository>
                        <pluginRepository><id>maven-central</id><url>https://repo.maven.apache.org/maven2</url></pluginRepository>
                      </pluginRepositories>
                    </profile>
                  </profiles>
                  <activeProfiles><activeProfile>build-repository-first</activeProfile></activeProfiles>
                </settings>
                """.formatted(buildRepository.toUri());
    }

    private static String consumerPom(List<String> dependencies) {
        return """
                <?xml version="1.0" encoding="UTF-8"?>
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <modelVersion>4.0.0</modelVersion>
                  <groupId>example</groupId>
                  <artifactId>consumer</artifactId>
                  <version>1</version>
                  <properties>
                    <maven.compiler.release>21</maven.compiler.release>
                    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
                  </properties>
                  <dependencies>
                %s
                  </dependencies>
                  <build>
                    <plugins>
                      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
                      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-compiler-plugin</artifactId><version>3.14.0</version></plugin>
                    </plugins>
                  </build>
                </project>
                """.formatted(String.join("\n", dependencies));
    }

    // --- Blocks ---------------------------------------------------------------------------------------------

    /** The fenced blocks of README.md and docs/*.md, in file order. */
    static List<Snippet> snippets() throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(ROOT.resolve("README.md"));
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        List<Snippet> snippets = new ArrayList<>();
        for (Path file : files) {
            List<String> lines = Files.readAllLines(file);
            for (int i = 0; i < lines.size(); i++) {
                Matcher open = FENCE.matcher(lines.get(i));
                if (!open.matches()) {
                    continue;
                }
                int indent = open.group(1).length();
                StringBuilder text = new StringBuilder();
                int start = i + 1;
                for (i++; i < lines.size() && !lines.get(i).strip().equals("```"); i++) {
                    String line = lines.get(i);
                    text.append(line.length() >= indent && line.substring(0, indent).isBlank() ? line.substring(indent) : line.strip())
                            .append('\n');
                }
                List<String> flags = open.group(3).isBlank() ? List.of() : List.of(open.group(3).strip().split("\\s+"));
                snippets.add(new Snippet(file, start, open.group(2), flags, text.toString()));
            }
        }
        return snippets;
    }

    // --- Processes ------------------------------------------------------------------------------------------

    private static Tools.Finished run(List<String> command, Path directory, Map<String, String> environment) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile());
        builder.environment().putAll(environment);
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        builder.environment().put("MAVEN_OPTS", "-Djansi.noreset=true");
        return Tools.finish(command, builder.start(), COMMAND_TIMEOUT);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
