package dev.llmmetrics.session.redis;

import java.io.ByteArrayOutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The MessagePack numbers the store's values and arguments hold: integers and doubles, as Redis's Lua
 * {@code cmsgpack} writes and reads them, and one array of numbered texts. Written here rather than taken from
 * msgpack-core, which reaches for {@code sun.misc.Unsafe} (a warning at run time on every JDK from 24 on) for
 * these few formats.
 */
final class MessagePackNumbers {

    private MessagePackNumbers() {
    }

    /** {@code values} as MessagePack integers, each in a form {@code cmsgpack} reads: 1, 5 or 9 bytes. */
    static byte[] ofLongs(long... values) {
        ByteBuffer out = ByteBuffer.allocate(9 * values.length);
        for (long v : values) {
            if (v >= 0 && v < 0x80) {
                out.put((byte) v); // positive fixint
            } else if (v == (int) v) {
                out.put((byte) 0xd2).putInt((int) v);
            } else {
                out.put((byte) 0xd3).putLong(v);
            }
        }
        return Arrays.copyOf(out.array(), out.position());
    }

    /**
     * One MessagePack array of {@code numbers.length} triples, each an integer of {@code numbers}, the text of
     * {@code texts} (UTF-8) and the integer of {@code longs} at the same place: what {@code cmsgpack.unpack} reads as
     * one table, however long.
     */
    static byte[] numberedTexts(int[] numbers, String[] texts, long[] longs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 + 32 * numbers.length);
        int size = 3 * numbers.length;
        if (size < 16) {
            out.write(0x90 | size); // fixarray
        } else if (size < 0x1_0000) {
            out.write(0xdc);
            writeBigEndian(out, size, 2);
        } else {
            out.write(0xdd);
            writeBigEndian(out, size, 4);
        }
        for (int i = 0; i < numbers.length; i++) {
            writeInteger(out, numbers[i]);
            byte[] text = texts[i].getBytes(StandardCharsets.UTF_8);
            if (text.length < 32) {
                out.write(0xa0 | text.length); // fixstr
            } else if (text.length < 0x100) {
                out.write(0xd9);
                out.write(text.length);
            } else if (text.length < 0x1_0000) {
                out.write(0xda);
                writeBigEndian(out, text.length, 2);
            } else {
                out.write(0xdb);
                writeBigEndian(out, text.length, 4);
            }
            out.writeBytes(text);
            long v = longs[i];
            if (v == (int) v) {
                writeInteger(out, (int) v);
            } else {
                out.write(0xd3);
                writeBigEndian(out, (int) (v >>> 32), 4);
                writeBigEndian(out, (int) v, 4);
            }
        }
        return out.toByteArray();
    }

    private static void writeInteger(ByteArrayOutputStream out, int v) {
        if (v >= -32 && v < 0x80) {
            out.write(v & 0xff); // positive and negative fixint
        } else {
            out.write(0xd2);
            writeBigEndian(out, v, 4);
        }
    }

    private static void writeBigEndian(ByteArrayOutputStream out, int value, int bytes) {
        for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
            out.write((value >>> shift) & 0xff);
        }
    }

    /** {@code value} as a MessagePack float 64. */
    static byte[] ofDouble(double value) {
        return ByteBuffer.allocate(9).put((byte) 0xcb).putDouble(value).array();
    }

    /**
     * The numbers of {@code value}, in order: integers of every width and floats 32 and 64.
     *
     * @throws IllegalArgumentException when it holds anything else, or ends within a number
     */
    static double[] read(byte[] value) {
        ByteBuffer in = ByteBuffer.wrap(value);
        double[] numbers = new double[value.length]; // a number takes at least one byte
        int count = 0;
        try {
            while (in.hasRemaining()) {
                int format = in.get() & 0xff;
                numbers[count++] = switch (format) {
                    case 0xca -> in.getFloat();
                    case 0xcb -> in.getDouble();
                    case 0xcc -> in.get() & 0xff;
                    case 0xcd -> in.getShort() & 0xffff;
                    case 0xce -> in.getInt() & 0xffff_ffffL;
                    case 0xcf, 0xd3 -> in.getLong(); // past 2^63 never written: the scripts count in doubles
                    case 0xd0 -> in.get();
                    case 0xd1 -> in.getShort();
                    case 0xd2 -> in.getInt();
                    default -> {
                        if (format < 0x80 || format >= 0xe0) {
                            yield (byte) format; // positive and negative fixint
                        }
                        throw new IllegalArgumentException("not a MessagePack number: format 0x" + Integer.toHexString(format));
                    }
                };
            }
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("a MessagePack number is cut short", e);
        }
        return Arrays.copyOf(numbers, count);
    }
}
