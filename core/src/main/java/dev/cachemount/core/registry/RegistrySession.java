package dev.cachemount.core.registry;

import com.google.api.client.http.HttpTransport;
import com.google.api.client.http.apache.v2.ApacheHttpTransport;
import com.google.api.client.util.SslUtils;
import com.google.cloud.tools.jib.api.Credential;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryException;
import com.google.cloud.tools.jib.event.EventHandlers;
import com.google.cloud.tools.jib.http.Authorization;
import com.google.cloud.tools.jib.http.FailoverHttpClient;
import com.google.cloud.tools.jib.http.JibHttpAccess;
import com.google.cloud.tools.jib.http.Request;
import com.google.cloud.tools.jib.http.Response;
import com.google.cloud.tools.jib.http.ResponseException;
import com.google.cloud.tools.jib.registry.RegistryClient;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.Version;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.lang.reflect.Field;
import java.net.ProxySelector;
import java.net.URL;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import org.apache.http.HttpHost;
import org.apache.http.config.ConnectionConfig;
import org.apache.http.config.MessageConstraints;
import org.apache.http.conn.routing.HttpRoutePlanner;
import org.apache.http.conn.socket.LayeredConnectionSocketFactory;
import org.apache.http.conn.ssl.NoopHostnameVerifier;
import org.apache.http.conn.ssl.SSLConnectionSocketFactory;
import org.apache.http.conn.util.PublicSuffixMatcher;
import org.apache.http.impl.client.HttpClientBuilder;
import org.apache.http.impl.conn.SystemDefaultRoutePlanner;

/**
 * One repository of one registry, as this process talks to it: jib-core's {@link RegistryClient}s
 * (authenticated for pull, or for push, possibly with pull access to a repository blobs are mounted
 * from), the HTTP client under them, and the retry policy every request goes through.
 *
 * <p>jib-core authenticates: a {@code WWW-Authenticate: Basic} challenge gets the credentials; a
 * {@code Bearer} challenge sends them to the token realm it names and the token to this registry only,
 * and a token that expires mid-push is refreshed on the 401. Requests jib-core does not offer (a
 * manifest's raw bytes, a blob as a bounded stream) go through the same HTTP client with the client's
 * current authorization; redirects (to blob storage) drop the Authorization header.
 */
final class RegistrySession implements Closeable {
  static final String USER_AGENT = "cachemount/" + Version.get();
  /** How long the plain-HTTP probe of a registry on this machine may take; a loopback answer takes a millisecond. */
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

  private final RegistryRef ref;
  private final RegistrySettings settings;
  private final Optional<RegistryCredential> credential;
  private final Optional<String> helperFailure;
  /** Set once jib-core went over to plain HTTP for a registry not on this machine: it then sends no credentials. */
  private volatile boolean credentialsWithheld;
  private final FailoverHttpClient http;
  private final EventHandlers events;
  private final OperationListener listener;
  private final boolean unverifiedTls;
  private RegistryClient reader;
  private RegistryClient writer;
  private final Map<String, RegistryClient> mountingWriters = new HashMap<>();
  private final RequestThreads requests = new RequestThreads();
  /**
   * Set by {@link #close}: the operation has ended. A request still running then (its caller was
   * interrupted and left it) neither retries nor reports anything: the operation's listener may be
   * a host's logger, closed by now.
   */
  private volatile boolean closed;

  RegistrySession(RegistryRef ref, RegistrySettings settings, boolean specInsecure, CredentialLookup lookup, OperationListener listener) {
    this.ref = ref;
    this.settings = settings;
    this.credential = lookup.credential();
    this.helperFailure = lookup.helperFailure();
    this.listener = listener;
    this.unverifiedTls = settings.allowsUnverifiedTls(ref, specInsecure);
    boolean plainHttp = unverifiedTls || ref.isLoopback();
    SSLContext tls = settings.caFile().map(TlsTrust::withCaFile).orElse(null);
    // A registry on this machine without a CA of its own is asked in plain HTTP first (see PlainHttpProbe).
    Duration probeTimeout = PROBE_TIMEOUT.compareTo(settings.timeout()) < 0 ? PROBE_TIMEOUT : settings.timeout();
    HttpRoutePlanner routes = ref.isLoopback() && tls == null && ref.port() > 0
        ? plainFirst(ref, probeTimeout)
        : new SystemDefaultRoutePlanner(ProxySelector.getDefault());
    int connections = connectionsPerHost(settings.parallelTransfers());
    Supplier<HttpTransport> secure = shared(() -> transport(new LazyTlsSockets(
        () -> tls == null ? SSLConnectionSocketFactory.getSystemSocketFactory() : new SSLConnectionSocketFactory(tls)), routes, connections));
    // jib-core's failover goes HTTPS, then HTTPS unverified, then HTTP. A loopback registry may speak
    // plain HTTP, but its TLS, when it has some, is verified: only a host named insecure skips that.
    Supplier<HttpTransport> unverified = !unverifiedTls ? secure : shared(() -> transport(new LazyTlsSockets(() -> {
      try {
        return new SSLConnectionSocketFactory(SslUtils.trustAllSSLContext(), NoopHostnameVerifier.INSTANCE);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("this JDK offers no TLS", e);
      }
    }), routes, connections));
    // Credentials over plain HTTP only to this machine, as the issue of record says; elsewhere jib-core
    // refuses to send them and the request fails with a message saying so.
    this.http = JibHttpAccess.newClient(plainHttp, ref.isLoopback(), this::log, secure, unverified);
    this.events = EventHandlers.builder().add(LogEvent.class, this::log).build();
  }

  /**
   * One transport for every request of the session. jib-core's client asks its factory for a new
   * transport on every request (and shuts them all down at the end): a new Apache client each time,
   * with its own connection pool, so no connection was ever reused and every request paid for a new
   * client and a new connection. The Apache client is thread-safe; shutting it down twice is harmless.
   */
  /** For the builder's cookie rules, which are never used: cookies are off. */
  private static final PublicSuffixMatcher NO_PUBLIC_SUFFIXES = new PublicSuffixMatcher(List.of(), List.of());

  private static Supplier<HttpTransport> shared(Supplier<HttpTransport> make) {
    return new Supplier<>() {
      private HttpTransport transport;

      @Override
      public synchronized HttpTransport get() {
        if (transport == null) {
          transport = make.get();
        }
        return transport;
      }
    };
  }

  /**
   * google-http-client's default Apache client ({@code ApacheHttpTransport.newDefaultHttpClientBuilder()}),
   * built here so that its TLS sockets and routes are ours: that builder makes a TLS context at once.
   * Two differences: no cookies (Docker's, containerd's and skopeo's registry clients keep none, so no
   * registry relies on them), and so no public suffix list, which the builder otherwise parses at once
   * (13,000 lines, a sixth of a short command's HTTP set-up) for its cookie rules. TLS host names are
   * still checked against the list: the TLS socket factories load it themselves, when TLS is used.
   * An answer closed before its end costs a bounded number of bytes ({@link AbandonedBodies}).
   */
  /**
   * How many connections to one registry the session's pool holds: room for every transfer at once
   * and, beside each, the download of a pack that a refused mount copies from another repository
   * (the upload holds its connection while its body is read from the download: with fewer, 20
   * copies could hold every connection and wait for one another for ever), and the push's existence
   * checks ({@code PushOperation.PACK_CHECKS}, 16), which overlap the first uploads.
   */
  static int connectionsPerHost(int parallelTransfers) {
    return Math.max(20, 2 * parallelTransfers + 16);
  }

  private static HttpTransport transport(LayeredConnectionSocketFactory sockets, HttpRoutePlanner routes, int connections) {
    return new ApacheHttpTransport(HttpClientBuilder.create()
        .useSystemProperties()
        .disableCookieManagement()
        .setPublicSuffixMatcher(NO_PUBLIC_SUFFIXES)
        .setSSLSocketFactory(sockets)
        .setMaxConnTotal(Math.max(200, connections))
        .setMaxConnPerRoute(connections)
        .setConnectionTimeToLive(-1, TimeUnit.MILLISECONDS)
        .setRoutePlanner(routes)
        .disableRedirectHandling()
        .disableAutomaticRetries()
        .addInterceptorFirst(new AbandonedBodies())
        .setDefaultConnectionConfig(ConnectionConfig.custom().setMessageConstraints(HEADER_LIMITS).build())
        .build());
  }

  /**
   * Bounds on an answer's status and header lines. Apache's client has none by default: an answer whose
   * header line never ends, or whose headers never end (a broken or hostile registry, or a proxy in
   * front of it), was read into memory until the heap was full, and the command failed as out of memory
   * (or, sent slowly enough, never ended: bytes kept coming, so no read timed out). Registries send a
   * few short headers; the longest are a redirect's {@code Location} to signed blob storage and a
   * {@code Link} or {@code WWW-Authenticate}, a few KiB. Go's HTTP client, which Docker uses, allows
   * 10 MiB of headers in all.
   */
  static final MessageConstraints HEADER_LIMITS = MessageConstraints.custom().setMaxLineLength(64 * 1024).setMaxHeaderCount(512).build();

  /**
   * Routes jib-core's {@code https://} requests for {@code ref}'s registry over plain HTTP once a probe
   * found that the registry speaks it; jib-core then never attempts (and fails) a TLS handshake.
   */
  private static HttpRoutePlanner plainFirst(RegistryRef ref, Duration timeout) {
    HttpRoutePlanner system = new SystemDefaultRoutePlanner(ProxySelector.getDefault());
    String host = ref.hostName();
    int port = ref.port();
    return (target, request, context) -> {
      boolean ours = "https".equals(target.getSchemeName()) && target.getPort() == port && host.equalsIgnoreCase(target.getHostName());
      if (ours && PlainHttpProbe.speaksPlainHttp(host, port, timeout)) {
        return system.determineRoute(new HttpHost(target.getHostName(), port, "http"), request, context);
      }
      return system.determineRoute(target, request, context);
    };
  }

  /** jib-core's log: its warnings become notes, and its going over to plain HTTP withholds credentials. */
  void log(LogEvent e) {
    if (e.getLevel() != LogEvent.Level.WARN || closed || RequestThreads.abandonedHere()) {
      return;
    }
    // jib-core announces its unverified-TLS step even where that step verifies (a loopback registry
    // without --insecure-registry): say what really happens.
    String message = e.getMessage();
    if (message.contains("Attempting again with HTTP") && !ref.isLoopback() && credential.isPresent()) {
      credentialsWithheld = true;
    }
    if (!unverifiedTls && message.contains("no TLS verification")) {
      message = "no TLS at " + ref.registry() + ", or a certificate that cannot be verified; trying plain HTTP, allowed for a registry on this machine";
    }
    listener.info(ref.registry() + ": " + message);
  }

  RegistryRef ref() {
    return ref;
  }

  /** Which credentials went with the requests, for the message of a refusal. */
  RegistryFailures.CredentialsUsed credentialsUsed() {
    return new RegistryFailures.CredentialsUsed(credential.map(RegistryCredential::source), helperFailure, credentialsWithheld);
  }

  /** A client authenticated for pulls: a push session's writer when there is one. */
  synchronized RegistryClient reader() throws IOException {
    if (writer != null) {
      return writer;
    }
    if (reader == null) {
      reader = call("authentication for pull", () -> authenticate(newClient(null), false));
    }
    return reader;
  }

  /** A client authenticated for pushes to this repository. */
  synchronized RegistryClient writer() throws IOException {
    if (writer == null) {
      writer = call("authentication for push", () -> authenticate(newClient(null), true));
    }
    return writer;
  }

  /** A push client whose token also grants pull from {@code source}, so that blobs can be mounted from it. */
  synchronized RegistryClient writerMountingFrom(String source) throws IOException {
    RegistryClient c = mountingWriters.get(source);
    if (c == null) {
      c = call("authentication for a mount from " + source, () -> authenticate(newClient(source), true));
      mountingWriters.put(source, c);
    }
    return c;
  }

  private RegistryClient newClient(String mountSource) {
    RegistryClient.Factory f = mountSource == null
        ? RegistryClient.factory(events, ref.registry(), ref.repository(), http)
        : RegistryClient.factory(events, ref.registry(), ref.repository(), mountSource, http);
    return f.setCredential(credential.map(c -> Credential.from(c.username(), c.password())).orElse(null))
        .setUserAgent(USER_AGENT)
        .newRegistryClient();
  }

  private RegistryClient authenticate(RegistryClient client, boolean push) throws IOException, RegistryException {
    boolean bearer = push ? client.doPushBearerAuth() : client.doPullBearerAuth();
    if (!bearer && credential.isPresent()) {
      client.configureBasicAuth();
    }
    return client;
  }

  /** A token for the repository's {@code delete} action, once a registry asked for one (see {@link #delete}). */
  private Authorization deleteAuthorization;

  /**
   * {@code DELETE /v2/REPOSITORY/PATH}, authorized as {@code client} is. A registry that wants a
   * token with the {@code delete} action for it (distribution, Harbor: jib-core's tokens grant pull
   * and push only) answers 401 with a challenge that names the scope; the token is then asked for
   * with the session's credentials, kept for the session's later deletes, and the request sent again.
   *
   * @return false when the registry has no such manifest (404)
   */
  boolean delete(RegistryClient client, String path) throws IOException {
    Authorization held;
    synchronized (this) {
      held = deleteAuthorization;
    }
    try {
      send("DELETE", held != null ? held : authorizationOf(client), path, List.of()).close();
      return true;
    } catch (IOException e) {
      if (isNotFound(e)) {
        return false;
      }
      Optional<BearerChallenge> challenge = e instanceof ResponseException r && r.getStatusCode() == 401
          ? BearerChallenge.parse(r.getHeaders().getAuthenticate())
          : Optional.empty();
      if (challenge.isEmpty()) {
        throw e;
      }
      Authorization token = tokenFor(challenge.get(), "repository:" + ref.repository() + ":delete");
      synchronized (this) {
        deleteAuthorization = token;
      }
      try {
        send("DELETE", token, path, List.of()).close();
        return true;
      } catch (IOException again) {
        if (isNotFound(again)) {
          return false;
        }
        throw again;
      }
    }
  }

  /**
   * A bearer token from the challenge's realm, for its scope (or {@code fallbackScope}), asked with
   * the session's credentials (HTTP basic) or anonymously: the distribution token protocol. An
   * identity token (the user {@code <token>}) is a refresh token: POSTed in an OAuth2 form instead,
   * as jib-core does for pull and push.
   */
  private Authorization tokenFor(BearerChallenge challenge, String fallbackScope) throws IOException {
    Optional<RegistryCredential> refresh = credential.filter(c -> Credential.OAUTH2_TOKEN_USER_NAME.equals(c.username()));
    Response answer;
    if (refresh.isPresent()) {
      com.google.api.client.http.HttpContent form = new com.google.api.client.http.ByteArrayContent("application/x-www-form-urlencoded",
          challenge.refreshForm(fallbackScope, refresh.get().password()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      answer = http.call("POST", new URL(challenge.realm()), request(null, List.of("application/json"), form));
    } else {
      Authorization basic = credential.map(c -> Authorization.fromBasicCredentials(c.username(), c.password())).orElse(null);
      answer = http.call("GET", new URL(challenge.tokenUrl(fallbackScope)), request(basic, List.of("application/json")));
    }
    try (Response response = answer;
        InputStream body = response.getBody()) {
      byte[] bytes = body.readNBytes(1 << 20);
      com.fasterxml.jackson.databind.JsonNode json = dev.cachemount.core.oci.Json.mapper().readTree(bytes);
      for (String field : List.of("token", "access_token")) {
        com.fasterxml.jackson.databind.JsonNode token = json == null ? null : json.get(field);
        if (token != null && token.isTextual() && !token.textValue().isEmpty()) {
          return Authorization.fromBearerToken(token.textValue());
        }
      }
      throw new IOException("the token server " + challenge.realm() + " sent no token");
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IOException("the token server " + challenge.realm() + " sent no JSON", e);
    }
  }

  /**
   * {@code HEAD /v2/REPOSITORY/PATH}, authorized as {@code client} is: the response's headers (a
   * manifest's {@code Docker-Content-Digest}); the caller closes the response.
   */
  Response head(RegistryClient client, String path, List<String> accept) throws IOException {
    return send("HEAD", authorizationOf(client), path, accept);
  }

  private Response send(String method, Authorization authorization, String path, List<String> accept) throws IOException {
    return http.call(method, url(ref.repository(), path), request(authorization, accept));
  }

  /** A request jib-core has no method for, authorized as {@code client} is; the caller closes the response. */
  Response get(RegistryClient client, String path, List<String> accept, String range) throws IOException {
    return get(client, ref.repository(), path, accept, range);
  }

  /** As {@link #get(RegistryClient, String, List, String)}, of another repository of the registry. */
  Response get(RegistryClient client, String repository, String path, List<String> accept, String range) throws IOException {
    Request request = request(authorizationOf(client), accept);
    if (range != null) {
      JibHttpAccess.withHeader(request, "Range", range);
    }
    return http.call("GET", url(repository, path), request);
  }

  private URL url(String repository, String path) throws IOException {
    return new URL("https://" + ref.registry() + "/v2/" + repository + "/" + path);
  }

  private Request request(Authorization authorization, List<String> accept) {
    return request(authorization, accept, null);
  }

  private Request request(Authorization authorization, List<String> accept, com.google.api.client.http.HttpContent body) {
    return Request.builder()
        .setUserAgent(USER_AGENT)
        .setAccept(accept)
        .setHttpTimeout((int) settings.timeout().toMillis())
        .setAuthorization(authorization)
        .setBody(body)
        .build();
  }

  /** Gets a fresh token for {@code client} after a 401 on a request jib-core did not make. */
  synchronized void reauthenticate(RegistryClient client) throws IOException {
    call("re-authentication", () -> authenticate(client, client != reader));
  }

  /**
   * jib-core keeps a client's current authorization private; requests it does not offer need it. Read
   * by reflection from the pinned jib-core version; the registry integration tests cover every path.
   */
  @SuppressWarnings("unchecked")
  private static Authorization authorizationOf(RegistryClient client) {
    try {
      Field f = RegistryClient.class.getDeclaredField("authorization");
      f.setAccessible(true);
      return ((AtomicReference<Authorization>) f.get(client)).get();
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException("this jib-core version does not expose its authorization as expected; use the pinned version", e);
    }
  }

  /** Something to try against the registry. */
  interface Attempt<T> {
    T run() throws IOException, RegistryException;
  }

  /**
   * Runs {@code attempt} under the retry policy, each try on a request thread ({@link RequestThreads}),
   * so that an interrupt of the caller ends the wait at once, whatever the registry does.
   *
   * @throws InterruptedIOException when the calling thread was interrupted (its interrupt kept), or the session closed
   * @throws CachemountException after the last try, naming registry, repository, operation and status
   */
  <T> T call(String operation, Attempt<T> attempt) throws IOException {
    RetryPolicy policy = settings.retry();
    for (int tries = 1; ; tries++) {
      stopIfCancelled(operation);
      try {
        return requests.run(attempt, ref.registry(), operation);
      } catch (IOException | RegistryException | RuntimeException e) {
        if (e instanceof CachemountException ce) {
          throw ce;
        }
        if (e instanceof RuntimeException && !(e.getCause() instanceof IOException || e.getCause() instanceof RegistryException)) {
          throw (RuntimeException) e;
        }
        // A try cut short because the operation was cancelled (its connection closed under it: "Socket
        // closed") is no failure of the registry's: not retried, not reported.
        stopIfCancelled(operation);
        if (tries >= policy.attempts() || !RegistryFailures.retryable(e)) {
          throw RegistryFailures.toException(ref, operation, e, tries, credentialsUsed());
        }
        Duration pause = policy.delayAfter(tries, RegistryFailures.retryAfter(e));
        listener.info(ref.registry() + ": " + operation + " failed (" + RegistryFailures.rootMessage(e)
            + (RegistryFailures.status(e) == 0 ? "" : ", HTTP " + RegistryFailures.status(e)) + "); try " + (tries + 1) + " of "
            + policy.attempts() + " in " + pause.toMillis() + " ms");
        try {
          Thread.sleep(pause.toMillis());
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw interrupted(ref.registry(), operation);
        }
      }
    }
  }

  /**
   * Throws when the operation this request belongs to was cancelled: the calling thread was
   * interrupted, runs a try its caller abandoned (a nested request, as a re-authentication), or the
   * session closed (the operation has ended).
   */
  private void stopIfCancelled(String operation) throws InterruptedIOException {
    // The interrupt first: an interrupted operation's session is closed under it (SnapshotStore.abort).
    if (Thread.currentThread().isInterrupted()) {
      throw interrupted(ref.registry(), operation);
    }
    if (closed || RequestThreads.abandonedHere()) {
      throw ended(ref.registry(), operation);
    }
  }

  /** The failure of a request whose caller was interrupted. */
  static InterruptedIOException interrupted(String registry, String operation) {
    return new InterruptedIOException("interrupted while waiting for registry " + registry + " (" + operation + ")");
  }

  /** The failure of a request of an operation that has ended; nobody waits for it. */
  static InterruptedIOException ended(String registry, String operation) {
    return new InterruptedIOException("registry " + registry + ": the " + operation + " was cut short: its operation was cancelled or has ended");
  }

  /** How many times a broken download may be resumed. */
  int retryAttempts() {
    return settings.retry().attempts();
  }

  static boolean isNotFound(Throwable e) {
    return RegistryFailures.status(e) == 404;
  }

  static boolean isUnauthorized(Throwable e) {
    return e instanceof ResponseException r && r.getStatusCode() == 401;
  }

  /** Ends the session: no request is sent from now on, and those still running are cut off as their connections close. */
  @Override
  public void close() throws IOException {
    closed = true;
    requests.close();
    http.shutDown();
  }
}
