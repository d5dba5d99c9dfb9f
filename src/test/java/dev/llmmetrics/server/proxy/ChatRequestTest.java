package dev.llmmetrics.server.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ChatRequestTest {

    /**
     * An image sent inline is one base64 string: past 15 MB of image it is longer than the 20 million characters
     * Jackson reads by default, and a request within a raised {@code proxy.max.body.bytes} got 400 "the body is not
     * valid JSON". The body's limit bounds such a string; the request is read, and forwarded asking for the usage.
     */
    @Test
    void aRequestWithAStringPastJacksonsDefaultLengthIsRead() {
        String image = "data:image/png;base64," + "A".repeat(20_000_001);
        byte[] body = ("{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                + "\"image_url\",\"image_url\":{\"url\":\"" + image + "\"}}]}]}").getBytes(StandardCharsets.UTF_8);
        ChatRequest request = ChatRequest.read(body, true);
        assertEquals("gpt-4o", request.model());
        assertEquals(1, request.messages());
        assertTrue(request.usageAdded());
        String forwarded = new String(request.upstreamBody(), StandardCharsets.UTF_8);
        assertTrue(forwarded.contains(image), "the image forwarded whole");
        assertArrayEquals(body, ChatRequest.read(body, false).upstreamBody());
    }
}
