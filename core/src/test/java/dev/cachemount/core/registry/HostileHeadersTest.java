package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.testing.RecordingListener;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registry (or a proxy in front of it) whose answer's headers are enormous: one header line of 64 MiB,
 * or 20,000 header lines, before a well-formed manifest. Apache's client has no bound on either by
 * default, and read them into memory: sent without end, they filled the heap (the command failed as out
 * of memory) or, sent slowly, kept the command going for ever, as bytes kept coming. Now such an answer
 * fails the request after a bounded read.
 */
class HostileHeadersTest {
  private static final byte[] MANIFEST = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;

  /** What the registry writes between its status line and the blank line that ends the headers. */
  interface Headers {
    void write(OutputStream out) throws IOException;
  }

  /** Serves {@code /v2/} as a registry does, and every other request with {@code headers} and {@link #MANIFEST}. */
  private static final class RawRegistry implements AutoCloseable {
    final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    final AtomicLong headerBytes = new AtomicLong();
    final Thread accepting;

    RawRegistry(Headers headers) throws IOException {
      accepting = new Thread(() -> {
        while (!socket.isClosed()) {
          try {
            Socket s = socket.accept();
            Thread t = new Thread(() -> answer(s, headers), "hostile-headers-connection");
            t.setDaemon(true);
            t.start();
          } catch (IOException closed) {
            return;
          }
        }
      }, "hostile-headers-registry");
      accepting.setDaemon(true);
      accepting.start();
    }

    private void answer(Socket s, Headers headers) {
      try (s; InputStream in = s.getInputStream(); OutputStream out = new java.io.BufferedOutputStream(s.getOutputStream(), 1 << 16)) {
        while (true) {
          StringBuilder request = new StringBuilder();
          while (!request.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
              return;
            }
            request.append((char) b);
          }
          if (request.toString().startsWith("GET /v2/ ")) {
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDocker-Distribution-API-Version: registry/2.0\r\n\r\n{}".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            continue;
          }
          out.write("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n".getBytes(StandardCharsets.US_ASCII));
          headers.write(new java.io.FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
              out.write(b, off, len);
              headerBytes.addAndGet(len);
            }
          });
          out.write(("Content-Length: " + MANIFEST.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          out.write(MANIFEST);
          out.flush();
        }
      } catch (IOException hungUp) {
        // the client closed the connection
      }
    }

    String host() {
      return "127.0.0.1:" + socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private CachemountException fetchFails(Headers headers) throws IOException {
    try (RawRegistry registry = new RawRegistry(headers)) {
      RegistryRef ref = RegistryRef.parse(registry.host() + "/team/b:m2");
      RegistrySettings settings = new RegistrySettings(Set.of(), Optional.empty(), Optional.empty(), 4,
          new RetryPolicy(2, Duration.ofMillis(10), Duration.ofMillis(10), Duration.ofMillis(10)), Duration.ofSeconds(20));
      try (RegistryStore store = new RegistryStore(ref, settings, false, Optional.empty(), Optional.empty(), dir, new RecordingListener())) {
        CachemountException e = assertThrows(CachemountException.class, () -> store.fetchManifest("m2"),
            () -> "an answer with " + registry.headerBytes.get() + " bytes of headers was taken");
        assertTrue(registry.headerBytes.get() < 2L * (64L << 20), registry.headerBytes.get() + " bytes of headers sent");
        return e;
      }
    }
  }

  @Test
  void aHeaderLineOf64MiBFailsTheRequest() throws IOException {
    CachemountException e = fetchFails(out -> {
      out.write("X-Long: ".getBytes(StandardCharsets.US_ASCII));
      byte[] a = new byte[1 << 16];
      java.util.Arrays.fill(a, (byte) 'a');
      for (int i = 0; i < 1024; i++) {
        out.write(a);
      }
      out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    });
    assertEquals(FailureKind.OPERATIONAL, e.kind());
    assertTrue(e.getMessage().contains("fetch of manifest m2 failed after 2 tries") && e.getMessage().contains("line length"), e.getMessage());
  }

  @Test
  void twentyThousandHeaderLinesFailTheRequest() throws IOException {
    CachemountException e = fetchFails(out -> {
      for (int i = 0; i < 20_000; i++) {
        out.write(("X-H" + i + ": v\r\n").getBytes(StandardCharsets.US_ASCII));
      }
    });
    assertEquals(FailureKind.OPERATIONAL, e.kind());
    assertTrue(e.getMessage().contains("fetch of manifest m2 failed after 2 tries") && e.getMessage().contains("header count"), e.getMessage());
  }
}
