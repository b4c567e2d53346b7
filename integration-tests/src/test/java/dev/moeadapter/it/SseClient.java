package dev.moeadapter.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A streaming client on a plain socket, so that a test sees exactly what arrived and when, and can
 * leave mid-answer by closing the connection, as a browser tab or a killed process does.
 */
final class SseClient implements AutoCloseable {
    private final Socket socket;
    private final BufferedReader in;
    final int status;

    SseClient(int port, String path, String body, String... headers) throws IOException {
        socket = new Socket("localhost", port);
        socket.setSoTimeout(60_000); // a hang fails the test instead of blocking it
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        StringBuilder request = new StringBuilder("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Accept: text/event-stream\r\nContent-Length: " + bytes.length + "\r\n");
        for (int i = 0; i < headers.length; i += 2) {
            request.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
        }
        OutputStream out = socket.getOutputStream();
        out.write(request.append("\r\n").toString().getBytes(StandardCharsets.UTF_8));
        out.write(bytes);
        out.flush();
        in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        String statusLine = in.readLine();
        status = Integer.parseInt(statusLine.split(" ")[1]);
        for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
            // headers
        }
    }

    /** The next {@code data:} payload (JSON or [DONE]), skipping chunk sizes, blank lines and comments; null at the end. */
    String nextData() throws IOException {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.startsWith("data: ")) {
                return line.substring("data: ".length());
            }
        }
        return null;
    }

    /** Every remaining {@code data:} payload. */
    List<String> rest() throws IOException {
        List<String> all = new ArrayList<>();
        for (String d = nextData(); d != null && !d.equals("[DONE]"); d = nextData()) {
            all.add(d);
        }
        return all;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
