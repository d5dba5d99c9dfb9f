package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The Dockerfile's image builds only what runs and runs it as a user other than root. There is no Docker
 * engine here, so the build stage's own COPY and RUN steps are carried out, in order, in a directory of
 * their own with the real Maven and a fresh local repository filled from this build's, and from Maven
 * Central as the image's empty one would be: the jar and its libraries come out, and no test dependency is
 * ever downloaded, no test compiled.
 */
class DockerImageBuildTest {

    private static final Path ROOT = Tools.repoRoot();

    @Test
    void theBuildStageBuildsTheServerWithoutDownloadingOrCompilingAnyTestDependency(@TempDir Path dir) throws Exception {
        String mvn = Tools.executable("mvn", "bin/test needs Maven (Debian's maven).");
        Path build = Files.createDirectories(dir.resolve("build"));
        Path repository = dir.resolve("repository");
        Path settings = dir.resolve("settings.xml");
        // This build's repository first; Maven Central, as in the image, for what this build has not needed
        // yet: the package phase's plugins, which run after the tests.
        String thisBuild = Path.of(System.getProperty("llmmetrics.localRepository",
                System.getProperty("user.home") + "/.m2/repository")).toUri().toString();
        String entry = """
                <%1$s><id>this-build</id><url>%2$s</url><snapshots><enabled>false</enabled></snapshots></%1$s>""";
        Files.writeString(settings, """
                <settings><profiles><profile><id>this-build</id>
                <repositories>%s</repositories><pluginRepositories>%s</pluginRepositories>
                </profile></profiles><activeProfiles><activeProfile>this-build</activeProfile></activeProfiles></settings>
                """.formatted(entry.formatted("repository", thisBuild), entry.formatted("pluginRepository", thisBuild)));
        // `mvn` in the RUN steps is the real one, pointed at the fresh repository.
        Path shims = Files.createDirectories(dir.resolve("shims"));
        Files.writeString(shims.resolve("mvn"), "#!/bin/sh\nexec '" + mvn + "' -s '" + settings + "' -Dmaven.repo.local='"
                + repository + "' \"$@\"\n");
        Files.setPosixFilePermissions(shims.resolve("mvn"), PosixFilePermissions.fromString("rwxr-xr-x"));

        List<String> steps = buildStage();
        assertTrue(steps.stream().anyMatch(s -> s.startsWith("RUN ") && s.contains(" package")), "the build stage packages: " + steps);
        for (String step : steps) {
            if (step.startsWith("COPY ")) {
                String[] parts = step.substring(5).strip().split("\\s+");
                assertEquals(2, parts.length, step);
                copy(ROOT.resolve(parts[0]), parts[1].equals("./") ? build.resolve(ROOT.resolve(parts[0]).getFileName().toString())
                        : build.resolve(parts[1]));
            } else if (step.startsWith("RUN ")) {
                ProcessBuilder run = new ProcessBuilder("sh", "-c", step.substring(4)).directory(build.toFile()).redirectErrorStream(true);
                run.environment().put("PATH", shims + ":" + System.getenv("PATH"));
                run.environment().put("JAVA_HOME", System.getProperty("java.home"));
                run.environment().put("MAVEN_OPTS", "-Djansi.noreset=true");
                Process process = run.start();
                String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(process.waitFor(5, TimeUnit.MINUTES), step);
                assertEquals(0, process.exitValue(), step + "\n" + output);
            }
        }
        assertTrue(Files.isRegularFile(build.resolve("target/llm-metrics.jar")), "the image's jar");
        assertTrue(Files.isDirectory(build.resolve("target/libs")), "the image's libraries");
        assertFalse(Files.exists(build.resolve("src/test")), "the test sources are not copied into the build");
        assertFalse(Files.exists(build.resolve("target/test-classes")), "no test is compiled");

        List<String> testDependencies = testDependencies();
        assertTrue(testDependencies.size() >= 5, "the pom's test dependencies: " + testDependencies);
        List<String> downloaded = new ArrayList<>();
        for (String dependency : testDependencies) {
            String[] ga = dependency.split(":");
            Path artifact = repository.resolve(ga[0].replace('.', '/')).resolve(ga[1]);
            if (Files.exists(artifact)) {
                try (Stream<Path> files = Files.walk(artifact)) {
                    if (files.anyMatch(f -> f.toString().endsWith(".jar"))) {
                        downloaded.add(dependency);
                    }
                }
            }
        }
        assertEquals(List.of(), downloaded, "test dependencies the image build downloaded");
    }

    /**
     * The build context is what the build stage copies, nothing more: .dockerignore leaves out everything but
     * those sources, so the .env file with the bundle's token and a durable store's data/ (hundreds of MB) never
     * go to the Docker daemon, and a source the build stage comes to copy must be let in here too.
     */
    @Test
    void theBuildContextHoldsOnlyWhatTheBuildStageCopies() throws IOException {
        List<String> patterns = Files.readAllLines(ROOT.resolve(".dockerignore")).stream().map(String::strip)
                .filter(line -> !line.isEmpty() && !line.startsWith("#")).toList();
        List<String> copied = new ArrayList<>();
        for (String step : buildStage()) {
            if (step.startsWith("COPY ")) {
                copied.add("!" + step.substring(5).strip().split("\\s+")[0]);
            }
        }
        List<String> expected = new ArrayList<>(List.of("*"));
        expected.addAll(copied);
        assertEquals(expected, patterns, ".dockerignore: everything left out, then each source the build stage copies let in");
    }

    @Test
    void theImageRunsAsAUserOtherThanRoot() throws IOException {
        List<String> lines = Files.readAllLines(ROOT.resolve("Dockerfile"));
        int lastFrom = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("FROM ")) {
                lastFrom = i;
            }
        }
        String user = null;
        boolean created = false;
        for (String line : lines.subList(lastFrom, lines.size())) {
            if (line.startsWith("USER ")) {
                user = line.substring(5).strip();
            }
            created |= line.startsWith("RUN ") && line.contains("useradd") && user == null;
        }
        assertTrue(user != null && !user.equals("root") && !user.equals("0") && !user.startsWith("0:"),
                "the run stage's last USER: " + user);
        assertTrue(created, "the run stage creates its user before switching to it");
    }

    /** The build stage's COPY and RUN instructions, continuation lines joined. */
    private static List<String> buildStage() throws IOException {
        List<String> steps = new ArrayList<>();
        boolean inBuild = false;
        StringBuilder current = null;
        for (String line : Files.readAllLines(ROOT.resolve("Dockerfile"))) {
            if (line.startsWith("FROM ")) {
                inBuild = line.contains(" AS build");
                continue;
            }
            if (!inBuild || line.startsWith("#") || line.isBlank() && current == null) {
                continue;
            }
            if (current == null) {
                current = new StringBuilder();
            }
            boolean continues = line.endsWith("\\");
            current.append(continues ? line.substring(0, line.length() - 1) : line).append(' ');
            if (!continues) {
                String step = current.toString().strip();
                if (step.startsWith("COPY ") || step.startsWith("RUN ")) {
                    steps.add(step);
                } else if (!step.startsWith("WORKDIR ")) {
                    fail("a build-stage instruction this test does not carry out: " + step);
                }
                current = null;
            }
        }
        return steps;
    }

    /** groupId:artifactId of every dependency the pom scopes to the tests. */
    private static List<String> testDependencies() throws Exception {
        NodeList dependencies = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(ROOT.resolve("pom.xml").toFile()).getElementsByTagName("dependency");
        List<String> test = new ArrayList<>();
        for (int i = 0; i < dependencies.getLength(); i++) {
            Element dependency = (Element) dependencies.item(i);
            if ("test".equals(text(dependency, "scope"))) {
                test.add(text(dependency, "groupId") + ":" + text(dependency, "artifactId"));
            }
        }
        return test;
    }

    private static String text(Element element, String child) {
        NodeList nodes = element.getElementsByTagName(child);
        return nodes.getLength() == 0 ? null : nodes.item(0).getTextContent().strip();
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(path, target);
                }
            }
        }
    }
}
