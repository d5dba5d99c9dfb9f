package dev.llmmetrics.session.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The MessagePack numbers codec, on the forms Redis's cmsgpack writes and on what it must refuse. */
class MessagePackNumbersTest {

    @Test
    void readsEveryIntegerAndFloatFormat() {
        byte[] value = {
            0x05,                                     // positive fixint 5
            (byte) 0xff,                              // negative fixint -1
            (byte) 0xcc, (byte) 0xc8,                 // uint 8: 200
            (byte) 0xcd, (byte) 0xea, 0x60,           // uint 16: 60000
            (byte) 0xce, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, // uint 32: 2^32 - 1
            (byte) 0xcf, 0, 0x06, 0x61, (byte) 0xa2, (byte) 0xe0, (byte) 0xd4, (byte) 0xfc, 0x00, // uint 64: 1796202044914688
            (byte) 0xd0, (byte) 0x80,                 // int 8: -128
            (byte) 0xd1, (byte) 0x80, 0x00,           // int 16: -32768
            (byte) 0xd2, (byte) 0x80, 0, 0, 0,        // int 32: -2^31
            (byte) 0xd3, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xfe, // -2
            (byte) 0xca, 0x3f, 0x00, 0, 0,            // float 32: 0.5
            (byte) 0xcb, 0x3f, (byte) 0xb9, (byte) 0x99, (byte) 0x99, (byte) 0x99, (byte) 0x99, (byte) 0x99, (byte) 0x9a, // 0.1
        };
        assertArrayEquals(new double[] {5, -1, 200, 60_000, 4_294_967_295L, 1_796_202_044_914_688L, -128, -32_768,
                Integer.MIN_VALUE, -2, 0.5, 0.1}, MessagePackNumbers.read(value));
    }

    @Test
    void readsBackWhatItWrites() {
        long[] longs = {0, 127, 128, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 1L << 52, -(1L << 52)};
        double[] expected = new double[longs.length];
        for (int i = 0; i < longs.length; i++) {
            expected[i] = longs[i];
        }
        assertArrayEquals(expected, MessagePackNumbers.read(MessagePackNumbers.ofLongs(longs)));
        assertArrayEquals(new double[] {4.9e-324}, MessagePackNumbers.read(MessagePackNumbers.ofDouble(4.9e-324)));
    }

    @Test
    void refusesWhatIsNotANumberAndANumberCutShort() {
        assertThrows(IllegalArgumentException.class, () -> MessagePackNumbers.read(new byte[] {(byte) 0xa1, 'x'}));
        assertThrows(IllegalArgumentException.class, () -> MessagePackNumbers.read(new byte[] {0x01, (byte) 0xc0})); // nil
        assertThrows(IllegalArgumentException.class, () -> MessagePackNumbers.read(new byte[] {(byte) 0xcb, 0x3f}));
    }
}
