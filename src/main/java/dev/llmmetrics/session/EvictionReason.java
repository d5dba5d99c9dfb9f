package dev.llmmetrics.session;

/** Why a session left the store other than by an explicit clear. */
public enum EvictionReason {
    /** The store was full and the session was among the least recently active. */
    CAPACITY,
    /** The session saw no event for longer than the idle timeout. */
    IDLE,
    /** The store's retained data passed its bound in bytes and the session was among the least recently active. */
    MEMORY;

    /** The lower-case name used as a metric label value. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
