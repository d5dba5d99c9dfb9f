package dev.llmmetrics.session.redis;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The MessagePack numbers the store's values and arguments hold: integers and doubles, as Redis's Lua
 * {@code cmsgpack} writes and reads them. Written here rather than taken from msgpack-core, which reaches for
 * {@code sun.misc.Unsafe} (a warning at run time on every JDK from 24 on) for these few formats.
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
