package dev.cachemount.core.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;

/**
 * A registry on a loopback port whose answers a test writes: {@code GET /v2/} is answered 200 (an
 * anonymous registry), every other request goes to the test's {@link Answers}, which closes nothing.
 */
public final class ScriptedRegistry implements AutoCloseable {
  /** Answers one request (other than {@code /v2/}); the exchange is closed after it. */
  public interface Answers {
    void answer(HttpExchange x) throws IOException;
  }

  private final HttpServer server;

  public ScriptedRegistry(String threadName, Answers answers) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, threadName);
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/", x -> {
      try (x) {
        x.getResponseHeaders().set("Docker-Distribution-API-Version", "registry/2.0");
        if (x.getRequestURI().getPath().equals("/v2/")) {
          x.sendResponseHeaders(200, -1);
        } else {
          answers.answer(x);
        }
      }
    });
    server.start();
  }

  /** {@code 127.0.0.1:PORT}. */
  public String host() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
