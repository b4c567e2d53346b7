package dev.moeadapter.it;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** A body that stops arriving is a 408 with the JSON error, whether it declared its length or came in chunks. */
@TestPropertySource(properties = "server.tomcat.connection-timeout=1s")
class StalledBodyTest extends RunningService {

    @Test
    void aStalledBodyIsA408WithOrWithoutAContentLength() throws Exception {
        for (String framing : new String[] {"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"pro\r\n", "Content-Length: 40\r\n\r\n{\"pro"}) {
            try (Socket socket = new Socket("localhost", port)) {
                socket.setSoTimeout((int) Duration.ofSeconds(20).toMillis());
                socket.getOutputStream().write(("POST /v1/moe/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        + framing).getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                InputStream in = socket.getInputStream();
                String reply = new String(in.readNBytes(400), StandardCharsets.UTF_8); // the connection closes after the reply
                assertThat(reply).as(framing).startsWith("HTTP/1.1 408").contains("\"code\":\"request_timeout\"");
            }
        }
        assertThat(post("/v1/moe/generate", "{\"prompt\":\"still serving\",\"max_tokens\":2}").statusCode()).isEqualTo(200);
    }
}
