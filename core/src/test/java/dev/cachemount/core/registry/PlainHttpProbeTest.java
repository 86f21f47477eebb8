package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class PlainHttpProbeTest {
  @Test
  void onlyARegistrysAnswersToV2CountAsPlainHttp() {
    assertTrue(PlainHttpProbe.isRegistryAnswer("HTTP/1.1 200 OK"));
    assertTrue(PlainHttpProbe.isRegistryAnswer("HTTP/1.1 401 Unauthorized"));
    assertTrue(PlainHttpProbe.isRegistryAnswer("HTTP/1.0 200"));
    assertFalse(PlainHttpProbe.isRegistryAnswer("HTTP/1.0 400 Bad Request"), "what Go's TLS server answers to plain text");
    assertFalse(PlainHttpProbe.isRegistryAnswer("HTTP/1.1 404 Not Found"));
    assertFalse(PlainHttpProbe.isRegistryAnswer("\u0015\u0003\u0003"), "a TLS alert");
    assertFalse(PlainHttpProbe.isRegistryAnswer(""));
  }

  @Test
  void asksOnceAndRemembersTheAnswer() throws Exception {
    try (OneLineServer registry = new OneLineServer("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=x\r\n\r\n");
        OneLineServer tls = new OneLineServer("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")) {
      assertTrue(PlainHttpProbe.speaksPlainHttp("127.0.0.1", registry.port(), Duration.ofSeconds(5)));
      assertFalse(PlainHttpProbe.speaksPlainHttp("127.0.0.1", tls.port(), Duration.ofSeconds(5)));
      assertTrue(PlainHttpProbe.speaksPlainHttp("127.0.0.1", registry.port(), Duration.ofSeconds(5)));
      assertEquals(1, registry.requests(), "the answer is remembered for the process");
      assertTrue(registry.firstRequest().startsWith("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:" + registry.port()), registry.firstRequest());
    }
  }

  @Test
  void aServerThatSaysNothingIsNotPlainHttp() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      long started = System.nanoTime();
      assertFalse(PlainHttpProbe.speaksPlainHttp("127.0.0.1", silent.getLocalPort(), Duration.ofMillis(300)));
      assertTrue(System.nanoTime() - started < 5_000_000_000L, "the probe gives up after its timeout");
    }
  }

  @Test
  void portIsTheRefsExplicitPortOrNone() {
    assertEquals(5000, RegistryRef.parse("localhost:5000/team/cache").port());
    assertEquals(-1, RegistryRef.parse("localhost/team/cache").port());
    assertEquals(-1, RegistryRef.parse("ghcr.io/team/cache").port());
  }

  /** Answers every connection with a fixed response, counting them. */
  private static final class OneLineServer implements AutoCloseable {
    private final ServerSocket socket = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
    private final Thread thread;
    private volatile int requests;
    private volatile String first = "";

    OneLineServer(String response) throws IOException {
      thread = new Thread(() -> {
        while (!socket.isClosed()) {
          try (Socket s = socket.accept()) {
            InputStream in = s.getInputStream();
            byte[] buffer = new byte[4096];
            int n = in.read(buffer);
            if (requests++ == 0) {
              first = new String(buffer, 0, Math.max(0, n), StandardCharsets.US_ASCII);
            }
            s.getOutputStream().write(response.getBytes(StandardCharsets.US_ASCII));
          } catch (IOException e) {
            return;
          }
        }
      });
      thread.setDaemon(true);
      thread.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    int requests() {
      return requests;
    }

    String firstRequest() {
      return first;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
