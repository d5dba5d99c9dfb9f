package dev.llmmetrics.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TextBytesTest {

    @Test
    void idsOverwrittenOldestFirstReadBackAsWrittenAcrossTheArraysEndAndItsGrowth() {
        Random random = new Random(42);
        for (int slots : new int[] {1, 2, 7, 64}) {
            TextBytes ids = new TextBytes(slots);
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
    void newSlotsHaveNoTextAndTheBytesFollowWhatIsHeldBothWays() {
        TextBytes ids = new TextBytes(2);
        ids.put(0, "a".repeat(200));
        ids.slots(4, 0);
        assertNull(ids.get(3));
        ids.put(1, "b");
        ids.put(2, "c");
        assertEquals("a".repeat(200), ids.get(0));
        long held = ids.heapBytes();
        assertTrue(held > 200, "the long text takes its room: " + held);
        for (int n = 0; n < 1_000; n++) {
            ids.put(n % 4, "id-" + (n % 10));
        }
        long shortOnes = ids.heapBytes();
        assertTrue(shortOnes < held - 150, "the long text gave its room back: " + held + " -> " + shortOnes);
        for (int n = 0; n < 1_000; n++) {
            ids.put(n % 4, "id-" + (n % 10));
            assertEquals(shortOnes, ids.heapBytes(), "short texts replacing each other need no more room, nor less");
        }
    }

    @Test
    void anEmptyTextHeldWhenTheArrayIsFullSurvivesItsShrinking() {
        TextBytes texts = new TextBytes(3);
        texts.put(0, "e".repeat(39)); // the array grows to exactly this
        texts.put(1, "");
        texts.put(2, "c");
        texts.put(0, ""); // frees the 39 bytes: the array shrinks, the empty text moves with the others
        assertEquals("", texts.get(0));
        assertEquals("", texts.get(1));
        assertEquals("c", texts.get(2));
        assertTrue(texts.is(1, new byte[0]));
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
