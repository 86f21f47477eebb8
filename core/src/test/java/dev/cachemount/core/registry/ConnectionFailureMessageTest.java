package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import java.io.IOException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A registry that cannot be reached is named as such, whichever request was first: a refused
 * connection during jib's authentication step was reported as "authentication for pull failed".
 */
class ConnectionFailureMessageTest {
  private static final RegistryRef REF = RegistryRef.parse("127.0.0.1:5999/ci/cache");
  private static final RegistryFailures.CredentialsUsed NONE = new RegistryFailures.CredentialsUsed(Optional.empty(), Optional.empty(), false);

  @Test
  void aRefusedConnectionSaysTheRegistryWasNotReached() {
    Exception refused = new IOException("wrapped", new java.net.ConnectException("Connection refused"));
    CachemountException e = RegistryFailures.toException(REF, "authentication for pull", refused, 5, NONE);
    assertEquals(FailureKind.OPERATIONAL, e.kind());
    String m = e.getMessage();
    assertTrue(m.startsWith("registry 127.0.0.1:5999, repository ci/cache: cannot connect to 127.0.0.1:5999 after 5 tries"), m);
    assertTrue(m.contains("Connection refused") && m.contains("is the registry running, and are the ref's host and port right?"), m);
    assertFalse(m.contains("authentication for pull failed"), m);
  }

  @Test
  void anotherFailureWithoutAnAnswerKeepsItsStep() {
    Exception reset = new java.net.SocketException("Connection reset");
    String m = RegistryFailures.toException(REF, "upload of blob sha256:ab", reset, 5, NONE).getMessage();
    assertTrue(m.contains("upload of blob sha256:ab failed after 5 tries: SocketException: Connection reset; is the registry running and reachable?"), m);
  }

  /**
   * A registry that answers and sends a download on to its blob storage (a redirect) whose host cannot
   * be reached: the message named the registry as the host not reached, or as unknown, and advised
   * checking the ref, which is right.
   */
  @Test
  void aHostARedirectNamedIsNamedInsteadOfTheRegistry() {
    Exception refused = new org.apache.http.conn.HttpHostConnectException(new java.net.ConnectException("Connection refused"),
        new org.apache.http.HttpHost("127.0.0.1", 6001, "http"));
    String m = RegistryFailures.toException(REF, "download of blob sha256:ab", refused, 5, NONE).getMessage();
    assertTrue(m.contains("download of blob sha256:ab failed: the registry sent the request on (a redirect) to 127.0.0.1:6001: cannot connect to it after 5 tries"), m);
    assertTrue(m.contains("The registry itself answers"), m);
    assertFalse(m.contains("cannot connect to 127.0.0.1:5999") || m.contains("ref's host and port"), m);

    Exception unknown = new java.net.UnknownHostException("blobs.invalid: Name or service not known");
    m = RegistryFailures.toException(REF, "download of blob sha256:ab", unknown, 1, NONE).getMessage();
    assertTrue(m.contains("the registry sent the request on (a redirect) to blobs.invalid: unknown host"), m);
    assertFalse(m.contains("check the ref"), m);
  }

  @Test
  void theRegistrysOwnHostUnreachedOrUnknownIsStillTheRegistrys() {
    Exception refused = new org.apache.http.conn.HttpHostConnectException(new java.net.ConnectException("Connection refused"),
        new org.apache.http.HttpHost("127.0.0.1", 5999, "http"));
    String m = RegistryFailures.toException(REF, "fetch of manifest m2", refused, 5, NONE).getMessage();
    assertTrue(m.startsWith("registry 127.0.0.1:5999, repository ci/cache: cannot connect to 127.0.0.1:5999 after 5 tries"), m);

    RegistryRef named = RegistryRef.parse("registry.example.com/ci/cache");
    m = RegistryFailures.toException(named, "fetch of manifest m2", new java.net.UnknownHostException("registry.example.com: Name or service not known"), 1, NONE)
        .getMessage();
    assertTrue(m.contains("unknown host registry.example.com; check the ref"), m);
    Exception https = new org.apache.http.conn.HttpHostConnectException(new java.net.ConnectException("Connection refused"),
        new org.apache.http.HttpHost("registry.example.com", 443, "https"));
    m = RegistryFailures.toException(named, "fetch of manifest m2", https, 5, NONE).getMessage();
    assertTrue(m.contains("cannot connect to registry.example.com after 5 tries"), m);
  }

  /** Through the client: a manifest answered with a redirect to a port where nothing listens. */
  @Test
  void aRedirectToAClosedPortIsToldAsSuch() throws Exception {
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    try (dev.cachemount.core.testing.ScriptedRegistry server = new dev.cachemount.core.testing.ScriptedRegistry("redirecting-registry", x -> {
      x.getResponseHeaders().set("Location", "http://127.0.0.1:" + closed + x.getRequestURI().getPath());
      x.sendResponseHeaders(307, -1);
    })) {
      RegistryRef ref = RegistryRef.parse(server.host() + "/ci/cache:m2");
      RegistrySettings settings = new RegistrySettings(java.util.Set.of(), Optional.empty(), Optional.empty(), 4,
          new RetryPolicy(2, java.time.Duration.ofMillis(10), java.time.Duration.ofMillis(10), java.time.Duration.ofMillis(10)),
          java.time.Duration.ofSeconds(20));
      try (RegistryStore store = new RegistryStore(ref, settings, false, Optional.empty(), Optional.empty(),
          java.nio.file.Files.createTempDirectory("redirect-staging"), new dev.cachemount.core.testing.RecordingListener())) {
        CachemountException e = org.junit.jupiter.api.Assertions.assertThrows(CachemountException.class, () -> store.fetchManifest("m2"));
        assertEquals(FailureKind.OPERATIONAL, e.kind());
        assertTrue(e.getMessage().contains("sent the request on (a redirect) to 127.0.0.1:" + closed + ": cannot connect to it"), e.getMessage());
      }
    }
  }

  /** A registry whose redirect leads back to itself: the message said "HTTP 307" and quoted the client's exception, no more. */
  @Test
  void aRedirectThatLeadsRoundIsToldAsSuch() throws Exception {
    try (dev.cachemount.core.testing.ScriptedRegistry server = new dev.cachemount.core.testing.ScriptedRegistry("looping-registry", x -> {
      x.getResponseHeaders().set("Location", x.getRequestURI().getPath());
      x.sendResponseHeaders(307, -1);
    })) {
      RegistryRef ref = RegistryRef.parse(server.host() + "/ci/cache:m2");
      RegistrySettings settings = new RegistrySettings(java.util.Set.of(), Optional.empty(), Optional.empty(), 4,
          new RetryPolicy(2, java.time.Duration.ofMillis(10), java.time.Duration.ofMillis(10), java.time.Duration.ofMillis(10)),
          java.time.Duration.ofSeconds(20));
      try (RegistryStore store = new RegistryStore(ref, settings, false, Optional.empty(), Optional.empty(),
          java.nio.file.Files.createTempDirectory("loop-staging"), new dev.cachemount.core.testing.RecordingListener())) {
        CachemountException e = org.junit.jupiter.api.Assertions.assertThrows(CachemountException.class, () -> store.fetchManifest("m2"));
        assertEquals(FailureKind.OPERATIONAL, e.kind());
        assertTrue(e.getMessage().contains("fetch of manifest m2 failed (HTTP 307)") && e.getMessage().contains("a redirect that could not be followed")
            && e.getMessage().contains("tell its operator"), e.getMessage());
      }
    }
  }
}
