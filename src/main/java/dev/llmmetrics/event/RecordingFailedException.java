package dev.llmmetrics.event;

/**
 * A {@link Recorder} could not apply events (its storage is full, unreachable or too slow): none of them was
 * applied, and the same events may be published again later.
 */
public final class RecordingFailedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** @param message what failed, in words a producer may be shown; no credential, no internal name */
    public RecordingFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
