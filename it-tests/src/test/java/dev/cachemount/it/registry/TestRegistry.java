package dev.cachemount.it.registry;

import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.testcontainers.DockerClientFactory;

/**
 * A real OCI registry on loopback (CNCF distribution, the registry behind Docker's {@code registry}
 * image), so registry clients are tested against the implementation they will meet rather than
 * against a fake that only agrees with the tests' own reading of the protocol: upload sessions, auth
 * challenges, TLS and media type negotiation all come from the real program.
 *
 * <p>Runs {@code docker-registry serve} from PATH (Debian's package); where it is missing, the
 * {@code registry} image through Testcontainers if a Docker engine is reachable. Each instance has its
 * own port, configuration and storage under the given work directory, a log of everything the
 * registry printed (including its access log, one line per request) and can be stopped and restarted
 * on the same port and storage. {@link #close()}, or the JVM shutdown hook, ends the registry.
 */
public final class TestRegistry implements AutoCloseable {
  private static final String USERNAME = "cachemount";
  private static final String PASSWORD = "test-Passw0rd";
  /** The registry's {@code auth.token.service}: the {@code service} of its bearer challenge and the tokens' {@code aud}. */
  private static final String TOKEN_SERVICE = "test-registry";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(15);
  private static final Pattern SHA256_DIGEST = Pattern.compile("sha256:([0-9a-f]{64})");
  /**
   * The request in an access-log line, which distribution writes in the combined log format on stdout:
   * {@code 127.0.0.1 - - [27/Nov/2026:18:45:38 +0000] "PUT /v2/it/x/blobs/uploads/UUID?_state=...&digest=sha256%3A... HTTP/1.1" 201 0 "" "skopeo/1.9.3"}.
   */
  private static final Pattern ACCESS_LOG_REQUEST = Pattern.compile("\\] \"([A-Z]+) (\\S+) HTTP/[0-9.]+\" \\d{3} .*\"([^\"]*)\"$");
  /** The user agent of the readiness probe, whose requests {@link #countRequests} leaves out. */
  private static final String PROBE_AGENT = "cachemount-test-registry-probe";

  private final RegistryMode mode;
  private final int port;
  /** The loopback address a reference names: {@code 127.0.0.1}, or {@code [::1]} for the IPv6 loopback. */
  private final String address;
  private final Path config;
  private final Path storageRoot;
  private final Path caFile;
  private final TokenIssuer issuer;
  private final List<String> log;
  private final RegistryServer server;
  private final HttpClient probe;
  private final Thread shutdownHook;
  private boolean closed;

  private TestRegistry(RegistryMode mode, String address, int port, Path config, Path storageRoot, Path caFile, TokenIssuer issuer,
      List<String> log, RegistryServer server) throws IOException, GeneralSecurityException {
    this.mode = mode;
    this.address = address;
    this.port = port;
    this.config = config;
    this.storageRoot = storageRoot;
    this.caFile = caFile;
    this.issuer = issuer;
    this.log = log;
    this.server = server;
    HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1));
    if (caFile != null) {
      client.sslContext(TestCertificates.trusting(caFile));
    }
    this.probe = client.build();
    this.shutdownHook = new Thread(server::stop, "stop test registry on " + host());
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /**
   * Starts a registry in {@code mode} with its configuration, credentials, certificates and storage in
   * {@code workDir}, and returns once it answers {@code GET /v2/}.
   *
   * @throws IllegalStateException if neither the {@code docker-registry} binary nor a Docker engine is
   *     available (the message says what to install), or the registry did not come up (with its log)
   */
  public static TestRegistry start(RegistryMode mode, Path workDir) throws IOException {
    return start(mode, workDir, false);
  }

  /**
   * Starts a registry as {@link #start} does, listening on the IPv6 loopback {@code [::1]}: with the
   * {@code docker-registry} binary only (not in TLS mode, whose certificate names 127.0.0.1).
   *
   * @throws IllegalStateException if the binary is not on PATH or the machine has no IPv6 loopback
   */
  public static TestRegistry startOnIpv6Loopback(RegistryMode mode, Path workDir) throws IOException {
    if (mode == RegistryMode.TLS) {
      throw new IllegalArgumentException("the test certificate names 127.0.0.1 and localhost only");
    }
    if (onPath("docker-registry").isEmpty()) {
      throw new IllegalStateException("a registry on [::1] needs the docker-registry binary: apt-get install -y docker-registry");
    }
    return start(mode, workDir, true);
  }

  private static TestRegistry start(RegistryMode mode, Path workDir, boolean ipv6) throws IOException {
    Path dir = Files.createDirectories(workDir.toAbsolutePath());
    Optional<Path> binary = onPath("docker-registry");
    // only touch Testcontainers where it is needed: it looks for a Docker engine when first used
    if (binary.isEmpty() && !DockerClientFactory.instance().isDockerAvailable()) {
      throw new IllegalStateException("No registry to test against: docker-registry is not on PATH and no Docker"
          + " engine is reachable for the registry image. Install it with `apt-get install -y docker-registry`"
          + " (Debian's package of the CNCF distribution registry, /usr/bin/docker-registry), or run a Docker"
          + " engine that Testcontainers can reach.");
    }
    String address = ipv6 ? "[::1]" : "127.0.0.1";
    int port = freeLoopbackPort(ipv6 ? "::1" : "127.0.0.1");
    String listen = binary.isPresent() ? address + ":" + port : "0.0.0.0:" + RegistryContainer.CONTAINER_PORT;
    Path storageRoot = Files.createDirectories(dir.resolve("storage"));
    Path config = dir.resolve("config.yml");
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    RegistryServer server = binary.isPresent()
        ? new RegistryProcess(binary.get(), config, log::add)
        : new RegistryContainer(dir, config, port, log::add);
    StringBuilder yaml = baseConfig(storageRoot, listen);
    Path caFile = null;
    TokenIssuer issuer = null;
    TestRegistry registry;
    try {
      switch (mode) {
        case PLAIN -> { }
        case TLS -> caFile = configureTls(dir, yaml);
        case BASIC -> configureHtpasswd(dir, yaml);
        case TOKEN -> issuer = configureToken(dir, yaml);
      }
      Files.writeString(config, yaml, StandardCharsets.UTF_8);
      registry = new TestRegistry(mode, address, port, config, storageRoot, caFile, issuer, log, server);
    } catch (GeneralSecurityException e) {
      closeIfStarted(issuer);
      throw new IllegalStateException("cannot make the test registry's keys and certificates", e);
    } catch (IOException | RuntimeException e) {
      closeIfStarted(issuer);
      throw e;
    }
    try {
      registry.launch();
    } catch (IOException | RuntimeException e) {
      registry.close();
      throw e;
    }
    return registry;
  }

  /** {@code 127.0.0.1:PORT} (or {@code [::1]:PORT}), as a registry reference's host part. */
  public String host() {
    return address + ":" + port;
  }

  public int port() {
    return port;
  }

  /** {@code https://127.0.0.1:PORT} in {@link RegistryMode#TLS}, {@code http://127.0.0.1:PORT} otherwise. */
  public URI baseUri() {
    return URI.create((mode == RegistryMode.TLS ? "https://" : "http://") + host());
  }

  public RegistryMode mode() {
    return mode;
  }

  /** The PEM of the CA that signed the server certificate, in {@link RegistryMode#TLS} only. */
  public Optional<Path> caFile() {
    return Optional.ofNullable(caFile);
  }

  /** The user the registry (BASIC) or its token issuer (TOKEN) accepts; unused in the other modes. */
  public String username() {
    return USERNAME;
  }

  /** The password of {@link #username()}. */
  public String password() {
    return PASSWORD;
  }

  /** The registry's filesystem storage root, which survives {@link #stop()} and {@link #restart()}. */
  public Path storageRoot() {
    return storageRoot;
  }

  /** The file holding a blob's bytes in storage; the registry serves it as it is, so a test can corrupt it. */
  public Path blobFile(String digest) {
    Matcher sha256 = SHA256_DIGEST.matcher(digest);
    if (!sha256.matches()) {
      throw new IllegalArgumentException("not a sha256 digest (sha256: and 64 lowercase hex digits): " + digest);
    }
    String hex = sha256.group(1);
    return storageRoot.resolve("docker/registry/v2/blobs/sha256").resolve(hex.substring(0, 2)).resolve(hex).resolve("data");
  }

  /** A copy of every line the registry printed since start or {@link #clearLog()}: its access log and its own log. */
  public List<String> logLines() {
    synchronized (log) {
      return List.copyOf(log);
    }
  }

  /**
   * Forgets the log so far. The registry writes a request's access-log line once it has answered, and
   * a thread of this harness reads its output: the line of a request a client just finished may still
   * be on its way, and would count after the clear. So the log is cut after a marked request's line
   * ({@link #syncLog}).
   */
  public void clearLog() {
    int upToMark = syncLog();
    synchronized (log) {
      log.subList(0, Math.min(upToMark, log.size())).clear();
    }
  }

  /**
   * Sends a marked request and waits for its access-log line, which comes after the lines of every
   * request answered before it was sent; returns the number of log lines up to and with it (all
   * lines when the registry does not answer, stopped by the test: nothing more will arrive). A line
   * that does not come within 5 s fails the test that asked.
   */
  private int syncLog() {
    String mark = "cachemount-log-mark-" + java.util.UUID.randomUUID();
    HttpRequest request = HttpRequest.newBuilder(baseUri().resolve("/v2/?" + mark))
        .header("User-Agent", PROBE_AGENT).timeout(Duration.ofSeconds(2)).build();
    try {
      probe.send(request, HttpResponse.BodyHandlers.discarding());
      Instant deadline = Instant.now().plusSeconds(5);
      while (Instant.now().isBefore(deadline)) {
        synchronized (log) {
          for (int i = log.size() - 1; i >= 0; i--) {
            if (log.get(i).contains(mark)) {
              return i + 1;
            }
          }
        }
        Thread.sleep(5);
      }
    } catch (IOException stopped) {
      // not answering: nothing more will arrive
      synchronized (log) {
        return log.size();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the test registry's access log", e);
    }
    // Counting now could miss requests whose lines are still on their way: say so rather than guess.
    throw new IllegalStateException("the test registry answered a marked request, but its access-log line did not arrive within 5 s");
  }

  /**
   * How many requests in the access log (since start or {@link #clearLog()}, the harness's own
   * requests left out) had this method and a request target matching {@code pathRegex} in full,
   * query string included: e.g. <code>countRequests("PUT", ".*&#47;blobs/uploads/.*")</code> counts
   * completed blob uploads. Every request answered before the call counts ({@link #syncLog}).
   */
  public long countRequests(String method, String pathRegex) {
    Pattern path = Pattern.compile(pathRegex);
    int upToMark = syncLog();
    List<String> lines;
    synchronized (log) {
      lines = List.copyOf(log.subList(0, Math.min(upToMark, log.size())));
    }
    return lines.stream()
        .map(ACCESS_LOG_REQUEST::matcher)
        .filter(Matcher::find)
        .filter(request -> !request.group(3).equals(PROBE_AGENT))
        .filter(request -> request.group(1).equals(method) && path.matcher(request.group(2)).matches())
        .count();
  }

  /** The token server of a {@link RegistryMode#TOKEN} registry. */
  public TokenIssuer issuer() {
    if (issuer == null) {
      throw new IllegalStateException("only a TOKEN registry has a token issuer; this one is " + mode);
    }
    return issuer;
  }

  /** Ends the registry and waits until it has ended; its port, configuration and storage are kept for {@link #restart()}. */
  public synchronized void stop() {
    server.stop();
  }

  /** Stops the registry if it runs, starts it again on the same port and storage, and waits until it answers. */
  public synchronized void restart() throws IOException {
    if (closed) {
      throw new IllegalStateException("the test registry on " + host() + " is closed");
    }
    server.stop();
    launch();
  }

  /**
   * Restarts the registry with deletes allowed or not ({@code storage.delete.enabled}; started: allowed).
   * Most production registries run without them, or delete only through an API of their own.
   */
  public synchronized void restartAllowingDeletes(boolean allowed) throws IOException {
    String yaml = Files.readString(config);
    String on = "  delete:\n    enabled: true\n";
    String off = "  delete:\n    enabled: false\n";
    if (!yaml.contains(on) && !yaml.contains(off)) {
      throw new IllegalStateException("the test registry's configuration no longer says whether deletes are allowed: " + config);
    }
    Files.writeString(config, allowed ? yaml.replace(off, on) : yaml.replace(on, off));
    restart();
  }

  /** Ends the registry and its token issuer; calling it again does nothing. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      server.stop();
    } finally {
      closeIfStarted(issuer);
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException shuttingDown) {
        // the JVM is exiting: the hook is running or will run, and stopping twice is harmless
      }
    }
  }

  private void launch() throws IOException {
    server.start();
    Instant deadline = Instant.now().plus(READY_TIMEOUT);
    HttpRequest request = HttpRequest.newBuilder(baseUri().resolve("/v2/"))
        .header("User-Agent", PROBE_AGENT).timeout(Duration.ofSeconds(2)).build();
    String lastAnswer = "none";
    while (true) {
      if (!server.isRunning()) {
        throw new IllegalStateException("the " + mode + " registry on " + host() + " ended before answering GET /v2/"
            + " (configuration " + config + "); its log:\n" + String.join("\n", logLines()));
      }
      try {
        int status = probe.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        if (status == 200 || status == 401) {
          return;
        }
        lastAnswer = "status " + status;
      } catch (IOException notListeningYet) {
        lastAnswer = notListeningYet.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted waiting for the registry on " + host());
      }
      if (Instant.now().isAfter(deadline)) {
        throw new IllegalStateException("the " + mode + " registry on " + host() + " did not answer GET /v2/ with"
            + " 200 or 401 within " + READY_TIMEOUT.toSeconds() + " s (last answer: " + lastAnswer + "; configuration "
            + config + "); its log:\n" + String.join("\n", logLines()));
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted waiting for the registry on " + host());
      }
    }
  }

  /** The configuration every mode shares; it ends in the {@code http} section, which {@link #configureTls} extends. */
  private static StringBuilder baseConfig(Path storageRoot, String listen) {
    return new StringBuilder()
        .append("version: 0.1\n")
        .append("log:\n  level: info\n  accesslog:\n    disabled: false\n")
        .append("storage:\n  filesystem:\n    rootdirectory: ").append(quoted(storageRoot)).append('\n')
        .append("  delete:\n    enabled: true\n")
        .append("http:\n  addr: ").append(quoted(listen)).append('\n')
        // fixed, as production deployments set it: upload URLs handed out before restart() stay valid
        .append("  secret: \"cachemount-test-registry\"\n");
  }

  /** Writes a CA and a server certificate it signed; returns the CA's PEM file. */
  private static Path configureTls(Path dir, StringBuilder yaml) throws IOException, GeneralSecurityException {
    Path tls = Files.createDirectories(dir.resolve("tls"));
    TestCertificates.Issued ca = TestCertificates.certificateAuthority("cachemount test CA");
    TestCertificates.Issued server = TestCertificates.server(ca);
    Path caFile = tls.resolve("ca.pem");
    TestCertificates.writeCertificatePem(caFile, ca.certificate());
    TestCertificates.writeCertificatePem(tls.resolve("server.pem"), server.certificate());
    TestCertificates.writePrivateKeyPem(tls.resolve("server-key.pem"), server.keyPair());
    yaml.append("  tls:\n")
        .append("    certificate: ").append(quoted(tls.resolve("server.pem"))).append('\n')
        .append("    key: ").append(quoted(tls.resolve("server-key.pem"))).append('\n');
    return caFile;
  }

  private static void configureHtpasswd(Path dir, StringBuilder yaml) throws IOException {
    Path htpasswd = Files.createDirectories(dir.resolve("auth")).resolve("htpasswd");
    byte[] salt = new byte[16];
    new SecureRandom().nextBytes(salt);
    // cost 4, the least bcrypt allows: the registry checks the hash on every request
    Files.writeString(htpasswd, USERNAME + ":" + OpenBSDBCrypt.generate(PASSWORD.toCharArray(), salt, 4) + "\n");
    yaml.append("auth:\n  htpasswd:\n    realm: \"cachemount-test\"\n    path: ").append(quoted(htpasswd)).append('\n');
  }

  private static TokenIssuer configureToken(Path dir, StringBuilder yaml) throws IOException, GeneralSecurityException {
    Path bundle = Files.createDirectories(dir.resolve("auth")).resolve("token-signer.pem");
    TokenIssuer issuer = TokenIssuer.start(TOKEN_SERVICE, USERNAME, PASSWORD);
    try {
      TestCertificates.writeCertificatePem(bundle, issuer.signingCertificate());
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      issuer.close();
      throw e;
    }
    yaml.append("auth:\n  token:\n")
        .append("    realm: ").append(quoted(issuer.realm())).append('\n')
        .append("    service: ").append(quoted(TOKEN_SERVICE)).append('\n')
        .append("    issuer: ").append(quoted(TokenIssuer.ISSUER)).append('\n')
        .append("    rootcertbundle: ").append(quoted(bundle)).append('\n');
    return issuer;
  }

  private static void closeIfStarted(TokenIssuer issuer) {
    if (issuer != null) {
      issuer.close();
    }
  }

  /** A YAML double-quoted scalar, so paths and URLs are taken literally. */
  private static String quoted(Object value) {
    return "\"" + value.toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static Optional<Path> onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
        return Optional.of(Path.of(dir, program));
      }
    }
    return Optional.empty();
  }

  /** A port free now on {@code address}; another process could take it before the registry binds it, which is unlikely enough in tests. */
  private static int freeLoopbackPort(String address) throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(address))) {
      return socket.getLocalPort();
    }
  }
}
