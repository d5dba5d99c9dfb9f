package dev.llmmetrics.server;

/** A client error detected by a handler; the routing's error handler answers it with a 400 JSON body. */
final class BadRequest extends RuntimeException {

    private final String code;

    BadRequest(String code, String detail) {
        super(detail, null, false, false);
        this.code = code;
    }

    String code() {
        return code;
    }
}
