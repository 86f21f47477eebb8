package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
  void onlyLocalhostAndLiteralsOf127Slash8AreLoopback() {
    assertTrue(RegistryRef.parse("127.0.0.1:5000/team/cache").isLoopback());
    assertTrue(RegistryRef.parse("127.1.2.254:5000/team/cache").isLoopback());
    assertTrue(RegistryRef.parse("localhost:5000/team/cache").isLoopback());
    // names that merely start with 127. are remote hosts: no plain HTTP, no credentials over it
    assertFalse(RegistryRef.parse("127.example.com:5000/team/cache").isLoopback());
    assertFalse(RegistryRef.parse("127.0.0.1.nip.io:5000/team/cache").isLoopback());
    assertFalse(RegistryRef.parse("127.0.0.256:5000/team/cache").isLoopback());
    assertFalse(RegistryRef.parse("ghcr.io/team/cache").isLoopback());
  }

  @Test
  void portIsTheRefsExplicitPortOrNone() {
    assertEquals(5000, RegistryRef.parse("localhost:5000/team/cache").port());
    assertEquals(-1, RegistryRef.parse("localhost/team/cache").port());
    assertEquals(-1, RegistryRef.parse("ghcr.io/team/cache").port());
  }

  @Test
  void anIpv6HostIsWrittenInBracketsWithAnOptionalPort() {
    RegistryRef ref = RegistryRef.parse("[::1]:5000/dep-cache:mvn");
    assertEquals("[::1]:5000", ref.registry());
    assertEquals("dep-cache", ref.repository());
    assertEquals(Optional.of("mvn"), ref.tag());
    assertEquals("[::1]", ref.hostName());
    assertEquals(5000, ref.port());
    assertTrue(ref.isLoopback());
    assertEquals("[::1]:5000/dep-cache:mvn", ref.toString());

    RegistryRef remote = RegistryRef.parse("[2001:DB8::1]/team/repo:tag");
    assertEquals("[2001:db8::1]", remote.registry());
    assertEquals("team/repo", remote.repository());
    assertEquals(-1, remote.port());
    assertFalse(remote.isLoopback());

    String digest = "sha256:" + "ab".repeat(32);
    RegistryRef pinned = RegistryRef.parse("[fe80::1]:443/cache@" + digest);
    assertEquals("[fe80::1]:443", pinned.registry());
    assertEquals(Optional.empty(), pinned.tag());
    assertEquals(digest, pinned.digest().orElseThrow().toString());
    assertEquals(443, pinned.port());
    assertEquals(Optional.empty(), RegistryRef.parse("[::1]/cache").tag());
    assertEquals(-1, RegistryRef.parse("[::1]/cache").port());
    assertTrue(RegistryRef.parse("[::1]/cache").isLoopback());
    assertTrue(RegistryRef.parse("[0:0:0:0:0:0:0:1]:5000/cache").isLoopback());
    assertTrue(RegistryRef.parse("[::ffff:127.0.0.1]:5000/cache").isLoopback(), "IPv4-mapped");
    assertFalse(RegistryRef.parse("[::]:5000/cache").isLoopback());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "[0:0:0:0:0:0:0:1]:5000    | [::1]:5000",
      "[0000::0001]              | [::1]",
      "[2001:DB8:0:0:0:0:2:1]    | [2001:db8::2:1]",
      "[2001:db8:0:0:1:0:0:1]    | [2001:db8::1:0:0:1]",
      "[2001:db8:0:1:1:1:1:1]    | [2001:db8:0:1:1:1:1:1]",
      "[2001:db8::]:443          | [2001:db8::]:443",
      "[::]                      | [::]",
      "[::FFFF:127.0.0.1]:5000   | [::ffff:127.0.0.1]:5000",
      "[fe80:0:0:0:0:0:0:a]      | [fe80::a]",
  })
  void anIpv6HostIsKeptInItsCanonicalTextSoThatOneRegistryHasOneName(String written, String canonical) {
    RegistryRef ref = RegistryRef.parse(written + "/team/cache:tag");
    assertEquals(canonical, ref.registry());
    assertEquals(RegistryRef.parse(canonical + "/team/cache:tag"), ref, "the same registry, however it is written");
    assertTrue(RegistrySettings.DEFAULT.withInsecureRegistries(java.util.Set.of(written)).allowsUnverifiedTls(RegistryRef.parse(canonical + "/x"), false),
        "--insecure-registry " + written + " names " + canonical);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      "[::1:5000/x      | registry host '[::1:5000' is not valid: the ']' closing the IPv6 address is missing",
      "[::1             | registry host '[::1' is not valid: the ']' closing the IPv6 address is missing",
      "[]:5000/x        | registry host '[]:5000' is not valid: the brackets are empty",
      "[zz::1]/x        | registry host '[zz::1]' is not valid: 'zz::1' is not an IPv6 address",
      "[1::2::3]/x      | registry host '[1::2::3]' is not valid: '1::2::3' is not an IPv6 address",
      "[127.0.0.1]/x    | registry host '[127.0.0.1]' is not valid: '127.0.0.1' is not an IPv6 address",
      "[fe80::1%lo]/x   | registry host '[fe80::1%lo]' is not valid: 'fe80::1%lo' is not an IPv6 address",
      "::1:5000/x       | registry host '::1:5000' is not valid: an IPv6 address must be in brackets",
      "2001:db8::1/x:t  | registry host '2001:db8::1' is not valid: an IPv6 address must be in brackets",
      "[::1]5000/x      | registry host '[::1]5000' is not valid: only :PORT may follow the ']'",
      "[::1]:/x         | registry host '[::1]:' is not valid: port '' is not a number from 1 to 65535",
      "[::1]:0/x        | registry host '[::1]:0' is not valid: port '0' is not a number from 1 to 65535",
      "[::1]:65536/x    | registry host '[::1]:65536' is not valid: port '65536' is not a number from 1 to 65535",
      "localhost:0/x    | registry host 'localhost:0' is not valid: port '0' is not a number from 1 to 65535",
      "r.io:99999999999/x | registry host 'r.io:99999999999' is not valid: port '99999999999' is not a number from 1 to 65535",
  })
  void aBadIpv6HostOrPortIsAUsageErrorShowingTheForm(String ref, String message) {
    CachemountException e = assertThrows(CachemountException.class, () -> RegistryRef.parse(ref));
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().startsWith("ref '" + ref + "': " + message), e.getMessage());
    String form = message.contains("port '") ? ", as in localhost:5000" : "; write [ADDRESS] or [ADDRESS]:PORT, as in ref=[::1]:5000/acme/cache";
    assertTrue(e.getMessage().endsWith(form), e.getMessage());
  }

  @Test
  void asksARegistryOnTheIpv6Loopback() throws Exception {
    InetAddress ipv6Loopback = InetAddress.getByName("::1");
    OneLineServer registry;
    try {
      registry = new OneLineServer(ipv6Loopback, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    } catch (IOException e) {
      assumeTrue(false, "no IPv6 loopback here: " + e);
      return;
    }
    try (registry) {
      RegistryRef ref = RegistryRef.parse("[::1]:" + registry.port() + "/dep-cache:mvn");
      assertTrue(PlainHttpProbe.speaksPlainHttp(ref.hostName(), ref.port(), Duration.ofSeconds(5)));
      assertTrue(registry.firstRequest().startsWith("GET /v2/ HTTP/1.1\r\nHost: [::1]:" + registry.port() + "\r\n"), registry.firstRequest());
    }
  }

  /** Answers every connection with a fixed response, counting them. */
  private static final class OneLineServer implements AutoCloseable {
    private final ServerSocket socket;
    private final Thread thread;
    private volatile int requests;
    private volatile String first = "";

    OneLineServer(String response) throws IOException {
      this(InetAddress.getLoopbackAddress(), response);
    }

    OneLineServer(InetAddress address, String response) throws IOException {
      socket = new ServerSocket(0, 10, address);
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
