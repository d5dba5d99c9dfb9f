package dev.llmmetrics.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.LlmMetrics;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code langchain4j-core} is optional: no compiled class of the library outside
 * {@code dev.llmmetrics.langchain4j} names a LangChain4j type, so an application without it never
 * needs it.
 */
class LangChain4jStaysInTheAdapterTest {

    @Test
    void onlyTheAdapterPackagesClassesReferenceLangChain4j() throws IOException, URISyntaxException {
        Path classes = Path.of(LlmMetrics.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isDirectory(classes.resolve("dev/llmmetrics")), "the main classes at " + classes);
        List<String> referencing;
        try (Stream<Path> files = Files.walk(classes)) {
            referencing = files.filter(f -> f.toString().endsWith(".class"))
                    .filter(LangChain4jStaysInTheAdapterTest::referencesLangChain4j)
                    .map(f -> classes.relativize(f).toString().replace('\\', '/'))
                    .sorted()
                    .toList();
        }
        assertFalse(referencing.isEmpty(), "the scan finds the adapter's own references");
        assertEquals(List.of(), referencing.stream().filter(c -> !c.startsWith("dev/llmmetrics/langchain4j/")).toList());
    }

    /** Class, descriptor and string constants name LangChain4j as {@code dev/langchain4j/...} or {@code dev.langchain4j.}. */
    private static boolean referencesLangChain4j(Path classFile) {
        try {
            String constants = new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1);
            return constants.contains("dev/langchain4j/") || constants.contains("dev.langchain4j.");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
