package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.testing.RecordingListener;
import dev.cachemount.core.testing.ScriptedRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registry (or a proxy in front of it) that answers an error with a body of no end, or a very long
 * one: google-http-client reads an error's body whole into a string, so such a body filled the heap
 * and the command failed as out of memory, telling the user to give the JVM more. The body is now read
 * to a bounded length, and the failure is the registry's, with its status.
 */
class EndlessErrorBodyTest {
  /** Long enough that reading it whole shows; the client may read a few socket buffers of it, not this. */
  private static final long LONG_BODY = 256L << 20;

  @TempDir Path dir;
  private ScriptedRegistry server;
  private final AtomicLong sent = new AtomicLong();

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  /** A registry that answers every request but {@code /v2/} with {@code status} and a long JSON error body. */
  private RegistryRef registry(int status) throws IOException {
    server = new ScriptedRegistry("endless-error-registry", x -> {
      x.getResponseHeaders().set("Content-Type", "application/json");
      x.sendResponseHeaders(status, 0); // chunked: no length, as a body without end has
      byte[] start = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"".getBytes(StandardCharsets.UTF_8);
      byte[] filler = new byte[64 << 10];
      java.util.Arrays.fill(filler, (byte) 'x');
      try (OutputStream out = x.getResponseBody()) {
        out.write(start);
        for (long left = LONG_BODY; left > 0; left -= filler.length) {
          out.write(filler);
          sent.addAndGet(filler.length);
        }
      } catch (IOException hungUp) {
        // the client closed the connection
      }
    });
    return RegistryRef.parse(server.host() + "/team/b:m2");
  }

  private static RegistrySettings settings() {
    return new RegistrySettings(Set.of(), Optional.empty(), Optional.empty(), 4,
        new RetryPolicy(2, Duration.ofMillis(10), Duration.ofMillis(10), Duration.ofMillis(10)), Duration.ofSeconds(20));
  }

  @Test
  void aManifestAnswered404WithABodyWithoutEndIsAMissAfterABoundedRead() throws IOException {
    RegistryRef ref = registry(404);
    try (RegistryStore store = new RegistryStore(ref, settings(), false, Optional.empty(), Optional.empty(), dir, new RecordingListener())) {
      assertEquals(Optional.empty(), store.fetchManifest("m2"));
    }
    assertTrue(sent.get() < 32L << 20, "the client read " + sent.get() + " bytes of an error's body");
  }

  @Test
  void aManifestAnswered500WithABodyWithoutEndFailsNamingTheStatusAfterABoundedRead() throws IOException {
    RegistryRef ref = registry(500);
    CachemountException e;
    try (RegistryStore store = new RegistryStore(ref, settings(), false, Optional.empty(), Optional.empty(), dir, new RecordingListener())) {
      e = assertThrows(CachemountException.class, () -> store.fetchManifest("m2"));
    }
    assertEquals(FailureKind.OPERATIONAL, e.kind());
    assertTrue(e.getMessage().contains("fetch of manifest m2 failed (HTTP 500) after 2 tries"), e.getMessage());
    assertTrue(e.getMessage().length() < 2000, "the message quotes at most the start of the body: " + e.getMessage().length() + " characters");
    assertFalse(e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("memory"), e.getMessage());
    // Two tries, each reading a bounded part.
    assertTrue(sent.get() < 64L << 20, "the client read " + sent.get() + " bytes of two errors' bodies");
  }
}
