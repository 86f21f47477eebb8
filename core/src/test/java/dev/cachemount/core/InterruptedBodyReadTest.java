package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.cachemount.core.testing.TestTrees;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pull interrupted while the registry has sent a blob's headers and part of its body, then stalls:
 * the body is read on the caller's thread, in a socket read an interrupt does not reach, so the pull
 * went on until the read timeout (a minute) (review). Now the interrupt closes the store's
 * connections and the read fails at once; for a push, those of its {@code from=} store too.
 */
class InterruptedBodyReadTest {
  @TempDir Path dir;

  @Test
  void aPullInterruptedWhileABlobBodyStallsStops() throws Exception {
    interruptWhileABodyStalls(path -> true, (client, registry) -> client.pull(
        client.parseSpec("id=x,type=registry,ref=" + registry + "/repo,target=" + dir.resolve("target")), OperationListener.NONE));
  }

  /** The same for a push whose {@code from=} names a snapshot of another repository, read through a store of its own (review). */
  @Test
  void aPushInterruptedWhileABlobBodyOfItsFromStallsStops() throws Exception {
    interruptWhileABodyStalls(path -> path.startsWith("/v2/other/"), (client, registry) -> client.push(
        client.parseSpec("id=y,type=registry,ref=" + registry + "/repo,from=" + registry + "/other:x,target=" + dir.resolve("source")),
        OperationListener.NONE));
  }

  private interface Operation {
    void run(Cachemount client, String registry) throws Exception;
  }

  /**
   * Serves a snapshot from a layout directory, stalls the body of a blob whose path {@code stalls},
   * interrupts {@code operation}'s thread there, and checks that it stops, says so, and keeps the interrupt.
   */
  private void interruptWhileABodyStalls(java.util.function.Predicate<String> stalls, Operation operation) throws Exception {
    Path layout = dir.resolve("layout");
    TestTrees.smallFiles(dir.resolve("source"), 20, 3);
    Cachemount client = Cachemount.builder().home(dir).env(Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString())).build();
    client.push(client.parseSpec("id=x,dir=" + layout + ",target=" + dir.resolve("source")), OperationListener.NONE);

    CountDownLatch stalled = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool(r -> { Thread t = new Thread(r, "fake-registry"); t.setDaemon(true); return t; }));
    server.createContext("/", x -> serve(x, layout, stalls, stalled, release));
    server.start();
    try {
      String registry = "127.0.0.1:" + server.getAddress().getPort();
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      java.util.concurrent.atomic.AtomicBoolean interruptKept = new java.util.concurrent.atomic.AtomicBoolean();
      Thread caller = new Thread(() -> {
        try {
          operation.run(client, registry);
        } catch (Throwable t) {
          thrown.set(t);
        }
        interruptKept.set(Thread.currentThread().isInterrupted());
      }, "interrupted-caller");
      caller.setDaemon(true);
      caller.start();
      assertTrue(stalled.await(20, TimeUnit.SECONDS), "a blob's body stalled");
      Thread.sleep(200);
      long t0 = System.nanoTime();
      caller.interrupt();
      caller.join(10_000); // the read timeout is a minute
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      StackTraceElement[] where = caller.getStackTrace();
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < Math.min(25, where.length); i++) {
        sb.append("\n  at ").append(where[i]);
      }
      assertFalse(caller.isAlive(), "the operation still runs " + ms + " ms after its thread was interrupted; blocked:" + sb);
      assertTrue(thrown.get() instanceof CachemountException, String.valueOf(thrown.get()));
      assertEquals(FailureKind.OPERATIONAL, ((CachemountException) thrown.get()).kind());
      assertTrue(thrown.get().getMessage().contains("interrupted"), thrown.get().getMessage());
      assertTrue(interruptKept.get(), "the thread's interrupt is kept");
    } finally {
      release.countDown();
      server.stop(0);
    }
  }

  private static void serve(HttpExchange x, Path layout, java.util.function.Predicate<String> stalls, CountDownLatch stalled, CountDownLatch release)
      throws IOException {
    try (x) {
      x.getRequestBody().readAllBytes();
      String path = x.getRequestURI().getPath();
      x.getResponseHeaders().set("Docker-Distribution-API-Version", "registry/2.0");
      if (path.equals("/v2/")) {
        send(x, 200, "application/json", "{}".getBytes(StandardCharsets.UTF_8), false, null, null);
        return;
      }
      JsonNode index = new ObjectMapper().readTree(Files.readAllBytes(layout.resolve("index.json")));
      if (path.contains("/manifests/")) {
        String ref = path.substring(path.lastIndexOf('/') + 1);
        for (JsonNode m : index.get("manifests")) {
          JsonNode name = m.path("annotations").path("org.opencontainers.image.ref.name");
          if (ref.equals(name.asText()) || ref.equals(m.get("digest").asText())) {
            byte[] bytes = Files.readAllBytes(blob(layout, m.get("digest").asText()));
            x.getResponseHeaders().set("Docker-Content-Digest", m.get("digest").asText());
            send(x, 200, m.get("mediaType").asText(), bytes, x.getRequestMethod().equals("HEAD"), null, null);
            return;
          }
        }
        send(x, 404, "application/json", "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}".getBytes(StandardCharsets.UTF_8), false, null, null);
        return;
      }
      if (path.contains("/blobs/")) {
        String digest = path.substring(path.lastIndexOf('/') + 1);
        Path file = blob(layout, digest);
        if (!Files.exists(file)) {
          send(x, 404, "application/json", "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\"}]}".getBytes(StandardCharsets.UTF_8), false, null, null);
          return;
        }
        boolean stall = stalls.test(path);
        send(x, 200, "application/octet-stream", Files.readAllBytes(file), x.getRequestMethod().equals("HEAD"), stall ? stalled : null, stall ? release : null);
        return;
      }
      send(x, 404, "application/json", "{}".getBytes(StandardCharsets.UTF_8), false, null, null);
    }
  }

  private static Path blob(Path layout, String digest) {
    return layout.resolve("blobs").resolve("sha256").resolve(digest.substring("sha256:".length()));
  }

  /** With {@code stalled}: the headers and half the body, then nothing until released. */
  private static void send(HttpExchange x, int status, String type, byte[] body, boolean head, CountDownLatch stalled, CountDownLatch release)
      throws IOException {
    x.getResponseHeaders().set("Content-Type", type);
    if (head) {
      x.getResponseHeaders().set("Content-Length", Long.toString(body.length));
      x.sendResponseHeaders(status, -1);
      return;
    }
    x.sendResponseHeaders(status, body.length);
    OutputStream out = x.getResponseBody();
    if (stalled == null) {
      out.write(body);
      out.close();
      return;
    }
    out.write(body, 0, body.length / 2);
    out.flush();
    stalled.countDown();
    try {
      release.await(120, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
