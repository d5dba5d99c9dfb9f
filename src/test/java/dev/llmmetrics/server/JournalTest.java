package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalTest {

    @TempDir
    Path dir;

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> replayAll(Path dir) throws IOException {
        try (Journal journal = Journal.open(dir, 4096, Duration.ofMillis(1))) {
            List<String> records = new ArrayList<>();
            journal.replay(b -> records.add(new String(b, StandardCharsets.UTF_8)));
            return records;
        }
    }

    @Test
    void everyAcknowledgedAppendFromManyThreadsIsReplayedAfterReopening() throws Exception {
        int threads = 4;
        int perThread = 500;
        try (Journal journal = Journal.open(dir, 16 * 1024, Duration.ofMillis(2))) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        journal.append(bytes(thread + ":" + i));
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
            pool.shutdown();
        }
        List<String> records = replayAll(dir);
        assertEquals(threads * perThread, records.size());
        assertEquals(threads * perThread, new HashSet<>(records).size());
        for (int t = 0; t < threads; t++) {
            String prefix = t + ":";
            List<Integer> order = records.stream().filter(r -> r.startsWith(prefix))
                    .map(r -> Integer.parseInt(r.substring(prefix.length()))).toList();
            assertEquals(perThread, order.size());
            for (int i = 0; i < perThread; i++) {
                assertEquals(i, order.get(i), "one thread's records keep their order");
            }
        }
    }

    @Test
    void aTornLastRecordIsSkippedAndTheRestReplayed() throws Exception {
        try (Journal journal = Journal.open(dir, 1 << 20, Duration.ZERO)) {
            journal.append(bytes("one"));
            journal.append(bytes("two"));
        }
        Path segment;
        try (Stream<Path> files = Files.list(dir)) {
            segment = files.filter(p -> {
                try {
                    return Files.size(p) > 0;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).findFirst().orElseThrow();
        }
        Files.write(segment, new byte[] {0, 0, 0, 50, 1, 2, 3, 4, 'p', 'a', 'r'}, StandardOpenOption.APPEND);
        assertEquals(List.of("one", "two"), replayAll(dir));

        byte[] corrupt = Files.readAllBytes(segment);
        corrupt[corrupt.length - 12] ^= 0x55;
        Files.write(segment, corrupt);
        assertEquals(List.of("one"), replayAll(dir), "a checksum mismatch ends the segment too");
    }

    @Test
    void compactionKeepsWhatTheCallerKeepsAndAppendsGoOn() throws Exception {
        try (Journal journal = Journal.open(dir, 1024, Duration.ZERO)) {
            for (int i = 0; i < 300; i++) {
                journal.append(bytes((i % 3 == 0 ? "keep-" : "drop-") + i));
            }
            long before = journal.sizeBytes();
            long shrunk = journal.compact(b -> new String(b, StandardCharsets.UTF_8).startsWith("keep-") ? b : null);
            assertTrue(shrunk > 0 && journal.sizeBytes() < before);
            journal.append(bytes("keep-after"));
        }
        List<String> records = replayAll(dir);
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < 300; i += 3) {
            expected.add("keep-" + i);
        }
        assertTrue(records.containsAll(expected));
        assertTrue(records.contains("keep-after"));
        // Frames of about 16 bytes, segments sealed past 1024: the one segment still open during compaction
        // holds at most 64 records, and only those can still include dropped ones.
        long dropped = records.stream().filter(r -> r.startsWith("drop-")).count();
        assertTrue(dropped < 64, "only the segment open during compaction keeps dropped records, found " + dropped);
    }

    @Test
    void aClosedJournalRefusesAppends() throws Exception {
        Journal journal = Journal.open(dir, 4096, Duration.ZERO);
        journal.close();
        assertThrows(IOException.class, () -> journal.append(bytes("late")));
    }
}
