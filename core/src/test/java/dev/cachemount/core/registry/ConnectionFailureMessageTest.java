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
}
