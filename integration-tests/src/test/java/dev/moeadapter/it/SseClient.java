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

    SseClient(int port, String path, String body) throws IOException {
        socket = send(port, path, body);
        in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        String statusLine = in.readLine();
        status = Integer.parseInt(statusLine.split(" ")[1]);
        for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
            // headers
        }
    }

    /** A connection that has sent a POST of {@code body} and not read anything yet. */
    static Socket send(int port, String path, String body) throws IOException {
        Socket socket = new Socket("localhost", port);
        socket.setSoTimeout(60_000); // a hang fails the test instead of blocking it
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Accept: text/event-stream\r\nConnection: close\r\nContent-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.write(bytes);
        out.flush();
        return socket;
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

    /** The rest of the response as text (chunk sizes included), e.g. a refusal's body. */
    String remaining() throws IOException {
        StringBuilder b = new StringBuilder();
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            b.append(line).append('\n');
        }
        return b.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
