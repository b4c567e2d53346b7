package dev.moeadapter.spring.web.tomcat;

import dev.moeadapter.spring.web.ClientDeparture;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The departure check on a real Tomcat: it finds a client that left, and only while its own request lasts. */
class DepartureProbeValveTest {
    @TempDir
    Path base;
    private Tomcat tomcat;
    private int port;
    private final BlockingQueue<BooleanSupplier> checks = new LinkedBlockingQueue<>();
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void start() throws Exception {
        tomcat = new Tomcat();
        tomcat.setBaseDir(base.toString());
        tomcat.setPort(0);
        Context context = tomcat.addContext("", base.toString());
        context.getPipeline().addValve(new DepartureProbeValve());
        Tomcat.addServlet(context, "held", new HttpServlet() {
            @Override
            protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
                request.getInputStream().readAllBytes();
                checks.add(ClientDeparture.of(request));
                if (request.getRequestURI().endsWith("/async")) {
                    AsyncContext async = request.startAsync();
                    async.setTimeout(60_000);
                    Thread.ofPlatform().start(() -> {
                        awaitRelease();
                        answer(async);
                    });
                    return;
                }
                if (request.getRequestURI().endsWith("/wait")) {
                    awaitRelease();
                }
                response.getWriter().write("done");
            }
        }).setAsyncSupported(true);
        context.addServletMappingDecoded("/*", "held");
        tomcat.getConnector();
        tomcat.start();
        port = tomcat.getConnector().getLocalPort();
    }

    @AfterEach
    void stop() throws Exception {
        release.countDown();
        tomcat.stop();
        tomcat.destroy();
    }

    @Test
    void aCheckAskedAfterItsRequestEndedSaysGoneAndLeavesTheNextConnectionAlone() throws Exception {
        try (Socket first = post("/now")) {
            assertThat(statusLine(first)).contains("200");
        }
        BooleanSupplier ended = checks.take();
        try (Socket second = post("/wait")) {
            BooleanSupplier present = checks.poll(30, TimeUnit.SECONDS);
            assertThat(present).isNotNull();
            // Tomcat hands the first request's objects to the next connection: a check that still read through
            // them would read the second client's socket
            assertThat(ended.getAsBoolean()).as("the ended request's check").isTrue();
            assertThat(present.getAsBoolean()).as("the waiting request's client is there").isFalse();
            release.countDown();
            assertThat(statusLine(second)).as("the second client is answered").contains("200");
        }
    }

    @Test
    void anAsynchronousRequestsCheckFindsItsClientGoneAndEndsWithTheRequest() throws Exception {
        BooleanSupplier check;
        try (Socket client = post("/async")) {
            check = checks.poll(30, TimeUnit.SECONDS);
            assertThat(check).isNotNull();
            assertThat(check.getAsBoolean()).as("the client is there").isFalse();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        boolean gone = false;
        while (!gone && System.nanoTime() < deadline) {
            gone = check.getAsBoolean(); // the close reaches the server's socket soon after it is made
            Thread.onSpinWait();
        }
        assertThat(gone).as("the closed connection is found").isTrue();
        release.countDown();
        try (Socket next = post("/now")) {
            assertThat(statusLine(next)).as("the server answers the next client").contains("200");
        }
    }

    private void awaitRelease() {
        try {
            release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void answer(AsyncContext async) {
        try {
            async.getResponse().getWriter().write("done");
        } catch (IOException | IllegalStateException e) {
            // the client left: nothing to answer
        } finally {
            async.complete();
        }
    }

    private Socket post(String path) throws IOException {
        Socket socket = new Socket("localhost", port);
        socket.setSoTimeout(60_000);
        socket.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n"
                + "Connection: close\r\n\r\n{}").getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
        return socket;
    }

    private static String statusLine(Socket socket) throws IOException {
        String line = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8)).readLine();
        return String.valueOf(line);
    }
}
