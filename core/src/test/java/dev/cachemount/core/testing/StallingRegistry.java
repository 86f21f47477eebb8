package dev.cachemount.core.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A registry on a loopback port that stops answering at a chosen request, as one behind a stalled
 * proxy does: the request is read, then held unanswered until the test {@linkplain #release releases}
 * it, when it is answered 503 (a failure worth a retry, so that code still running after its operation
 * ended shows itself). Until then it answers as an empty, anonymous registry: {@code /v2/}, no
 * manifests, no blobs, and uploads accepted up to their first {@code PATCH}.
 */
public final class StallingRegistry implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService threads;
  private final Predicate<String> stalls;
  private final CountDownLatch reached = new CountDownLatch(1);
  private final CountDownLatch released = new CountDownLatch(1);

  /** @param stalls which requests stall, given as {@code "METHOD /path"} */
  public StallingRegistry(Predicate<String> stalls) throws IOException {
    this.stalls = stalls;
    threads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "stalling-registry");
      t.setDaemon(true);
      return t;
    });
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(threads);
    server.createContext("/", this::handle);
    server.start();
  }

  /** A registry that answers nothing: every request stalls, the first {@code GET /v2/} included. */
  public static StallingRegistry silent() throws IOException {
    return new StallingRegistry(request -> true);
  }

  /**
   * A registry that answers the first {@code GET /v2/} (cachemount's probe for plain HTTP) and then
   * nothing: the client's requests stall on connections it holds, the authentication's first.
   */
  public static StallingRegistry afterFirstAnswer() throws IOException {
    java.util.concurrent.atomic.AtomicBoolean answered = new java.util.concurrent.atomic.AtomicBoolean();
    return new StallingRegistry(request -> !request.equals("GET /v2/") || !answered.compareAndSet(false, true));
  }

  /** A registry that stalls the upload of blob bytes ({@code PATCH} of an upload session). */
  public static StallingRegistry stallingUploads() throws IOException {
    return new StallingRegistry(request -> request.startsWith("PATCH ") && request.contains("/blobs/uploads/"));
  }

  /** {@code 127.0.0.1:PORT}. */
  public String address() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  /** Waits for a request to stall; false when none did within 20 s. */
  public boolean awaitStall() throws InterruptedException {
    return reached.await(20, TimeUnit.SECONDS);
  }

  /** Answers the stalled requests, and all later ones that would stall, with 503. */
  public void release() {
    released.countDown();
  }

  private void handle(HttpExchange x) throws IOException {
    try (x) {
      String method = x.getRequestMethod();
      String path = x.getRequestURI().getPath();
      x.getRequestBody().readAllBytes();
      x.getResponseHeaders().set("Docker-Distribution-API-Version", "registry/2.0");
      if (stalls.test(method + " " + path)) {
        reached.countDown();
        try {
          released.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        send(x, 503, "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"stalled\"}]}");
      } else if (path.equals("/v2/")) {
        send(x, 200, "{}");
      } else if (method.equals("POST") && path.endsWith("/blobs/uploads/")) {
        x.getResponseHeaders().set("Location", path + "1");
        x.getResponseHeaders().set("Range", "0-0");
        send(x, 202, null);
      } else if (method.equals("HEAD")) {
        send(x, 404, null);
      } else {
        send(x, 404, "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"not here\"}]}");
      }
    }
  }

  private static void send(HttpExchange x, int status, String json) throws IOException {
    if (json == null) {
      x.sendResponseHeaders(status, -1);
      return;
    }
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().set("Content-Type", "application/json");
    x.sendResponseHeaders(status, body.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    release();
    server.stop(0);
    threads.shutdownNow();
  }
}
