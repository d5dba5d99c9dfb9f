package dev.llmmetrics.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class IdBytesTest {

    @Test
    void idsOverwrittenOldestFirstReadBackAsWrittenAcrossTheArraysEndAndItsGrowth() {
        Random random = new Random(42);
        for (int slots : new int[] {1, 2, 7, 64}) {
            IdBytes ids = new IdBytes(slots);
            String[] expected = new String[slots];
            for (int n = 0; n < 5_000; n++) {
                int slot = n % slots;
                String id = randomId(random);
                ids.put(slot, id);
                expected[slot] = id;
                for (int s = 0; s < slots; s++) {
                    assertEquals(expected[s], ids.get(s), "slot " + s + " after " + n + " ids in " + slots + " slots");
                }
                if (id != null) {
                    assertTrue(ids.is(slot, id.getBytes(StandardCharsets.UTF_8)));
                    assertFalse(ids.is(slot, (id + "x").getBytes(StandardCharsets.UTF_8)));
                    String other = id.substring(0, id.length() - 1) + (id.endsWith("a") ? "b" : "a");
                    assertFalse(ids.is(slot, other.getBytes(StandardCharsets.UTF_8)), other);
                }
            }
        }
    }

    @Test
    void newSlotsHaveNoIdAndTheBytesGrowOnlyWithWhatIsHeld() {
        IdBytes ids = new IdBytes(2);
        ids.put(0, "a".repeat(200));
        ids.slots(4);
        assertNull(ids.get(3));
        ids.put(1, "b");
        ids.put(2, "c");
        assertEquals("a".repeat(200), ids.get(0));
        long held = ids.heapBytes();
        for (int n = 0; n < 1_000; n++) {
            ids.put(n % 4, "id-" + (n % 10));
        }
        assertEquals(held, ids.heapBytes(), "short ids replacing each other need no more room");
    }

    /** No id, an ASCII one, a long one, or one with two- to four-byte characters. */
    private static String randomId(Random random) {
        return switch (random.nextInt(5)) {
            case 0 -> null;
            case 1 -> "c-" + random.nextInt(1_000_000);
            case 2 -> "x".repeat(1 + random.nextInt(255));
            case 3 -> "é€😀-" + random.nextInt(100);
            default -> Integer.toString(random.nextInt(10));
        };
    }
}
