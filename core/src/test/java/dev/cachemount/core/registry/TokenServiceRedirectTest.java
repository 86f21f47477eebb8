package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.testing.RecordingListener;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A token service (the realm of a registry's {@code Bearer} challenge) that answers with a redirect
 * that cannot be followed (one that leads back to itself, or has no {@code Location}): the service's
 * trouble, exit 1, not a refusal of the credentials (exit 3, "log in"), which no login would change.
 */
class TokenServiceRedirectTest {
  @TempDir Path dir;
  private HttpServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  @Test
  void aTokenServiceWhoseRedirectsGoRoundIsNotARefusalOfTheCredentials() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    String base = "http://127.0.0.1:" + server.getAddress().getPort();
    server.createContext("/", x -> {
      try (x) {
        String path = x.getRequestURI().getPath();
        if (path.startsWith("/token")) {
          x.getResponseHeaders().set("Location", base + "/token/again");
          x.sendResponseHeaders(302, -1);
        } else {
          x.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"" + base + "/token\",service=\"test\"");
          x.sendResponseHeaders(401, -1);
        }
      }
    });
    server.start();
    RegistryRef ref = RegistryRef.parse("127.0.0.1:" + server.getAddress().getPort() + "/team/b:m2");
    RegistrySettings settings = new RegistrySettings(Set.of(), Optional.empty(), Optional.empty(), 4,
        new RetryPolicy(2, Duration.ofMillis(10), Duration.ofMillis(10), Duration.ofMillis(10)), Duration.ofSeconds(20));
    CachemountException e;
    try (RegistryStore store = new RegistryStore(ref, settings, false, Optional.empty(), Optional.empty(), dir, new RecordingListener())) {
      e = assertThrows(CachemountException.class, () -> store.fetchManifest("m2"));
    }
    assertEquals(FailureKind.OPERATIONAL, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("token service") && e.getMessage().contains("HTTP 302") && e.getMessage().contains("were not refused"),
        e.getMessage());
  }

  /**
   * A realm that is no http(s) URL ({@code file:}, a host that is none): retried five times and told as
   * "is the token service up? Try again later", for a service no retry reaches. Now one try, and the
   * message says what is wrong with the realm.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"file:///etc/passwd", "http://[::zz]/token"})
  void aRealmThatCannotBeAskedIsToldAsSuchAndNotRetried(String realm) throws IOException {
    java.util.concurrent.atomic.AtomicInteger challenges = new java.util.concurrent.atomic.AtomicInteger();
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", x -> {
      try (x) {
        challenges.incrementAndGet();
        x.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"test\"");
        x.sendResponseHeaders(401, -1);
      }
    });
    server.start();
    RegistryRef ref = RegistryRef.parse("127.0.0.1:" + server.getAddress().getPort() + "/team/b:m2");
    RegistrySettings settings = new RegistrySettings(Set.of(), Optional.empty(), Optional.empty(), 4,
        new RetryPolicy(5, Duration.ofMillis(10), Duration.ofMillis(10), Duration.ofMillis(10)), Duration.ofSeconds(20));
    CachemountException e;
    try (RegistryStore store = new RegistryStore(ref, settings, false, Optional.empty(), Optional.empty(), dir, new RecordingListener())) {
      e = assertThrows(CachemountException.class, () -> store.fetchManifest("m2"));
    }
    assertEquals(FailureKind.OPERATIONAL, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("its realm is not an http(s) URL this client can ask") && e.getMessage().contains("were not refused")
        && !e.getMessage().contains("Try again later") && !e.getMessage().contains("after 5 tries"), e.getMessage());
  }
}
