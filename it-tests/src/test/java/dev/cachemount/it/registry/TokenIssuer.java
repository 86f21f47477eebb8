package dev.cachemount.it.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The token server of a {@link RegistryMode#TOKEN} registry: what Docker Hub, GHCR or Harbor run in
 * front of their registries, reduced to what a client meets. It answers {@code GET /token} (the
 * registry's {@code realm}) on loopback, takes HTTP basic credentials equal to the registry's test
 * credentials, and grants exactly the actions each {@code scope} parameter asks for, so a client that
 * asks for too little is refused by the registry just as it would be in production.
 *
 * <p>Tokens are JWTs signed RS256 with a key made at start; the header carries the signing
 * certificate in {@code x5c}, and that certificate is the registry's {@code rootcertbundle}.
 *
 * <p>Expiry: distribution 2.8.2 accepts a token until 60 s after its {@code exp} and from 60 s before
 * its {@code nbf} ({@code token.Leeway}, for clock skew; checked here against the real binary). So a
 * short {@link #tokenLifetime} makes a client that honours {@code expires_in} fetch new tokens, but
 * the registry itself goes on accepting an old token for another minute.
 */
public final class TokenIssuer implements AutoCloseable {
  /** distribution 2.8.2's {@code token.Leeway}. */
  private static final long REGISTRY_LEEWAY_SECONDS = 60;
  /** The {@code iss} claim, which the registry's {@code auth.token.issuer} must equal. */
  static final String ISSUER = "test-issuer";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();

  private final HttpServer server;
  private final TestCertificates.Issued signer;
  private final String service;
  private final String username;
  private final String expectedAuthorization;
  private final AtomicInteger tokensIssued = new AtomicInteger();
  private final List<String> scopesRequested = Collections.synchronizedList(new ArrayList<>());
  private volatile Duration tokenLifetime = Duration.ofSeconds(300);
  /** When not 0, every token request is answered with this HTTP status and no token (a broken token service). */
  private volatile int failingWith;
  /** Repositories whose tokens grant nothing: the user may not read them. */
  private final java.util.Set<String> denied = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final java.util.Set<String> withheld = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile String refreshToken;
  /** When set, {@code exp} is back-dated by the registry's leeway so that the registry itself refuses the token after this long. */
  private volatile Duration refusedByRegistryAfter;

  private TokenIssuer(HttpServer server, TestCertificates.Issued signer, String service, String username, String password) {
    this.server = server;
    this.signer = signer;
    this.service = service;
    this.username = username;
    this.expectedAuthorization = "Basic " + Base64.getEncoder()
        .encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  /** Starts an issuer on a free loopback port for the registry {@code service}, accepting only these credentials. */
  static TokenIssuer start(String service, String username, String password) throws IOException, GeneralSecurityException {
    TestCertificates.Issued signer = TestCertificates.tokenSigner(ISSUER);
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
    TokenIssuer issuer = new TokenIssuer(server, signer, service, username, password);
    server.createContext("/", issuer::handle);
    server.start();
    return issuer;
  }

  /** The URL clients get tokens from, as the registry announces it in {@code WWW-Authenticate: Bearer realm=...}. */
  public String realm() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
  }

  /**
   * Makes tokens issued from now on expire at the registry after {@code lifetime}: {@code exp} is set
   * that long from now minus the registry's 60 s leeway, so a client must refresh on the 401.
   */
  public void refusedByRegistryAfter(Duration lifetime) {
    refusedByRegistryAfter = lifetime;
  }

  /** How long tokens issued from now on live: their {@code expires_in} and {@code exp - iat}. Default 300 s. */
  public void tokenLifetime(Duration lifetime) {
    if (lifetime.toSeconds() < 1 || lifetime.toNanosPart() != 0) {
      throw new IllegalArgumentException("a token lifetime is whole seconds, at least 1: " + lifetime);
    }
    tokenLifetime = lifetime;
  }

  /**
   * Answers every token request from now on with {@code status} (a 500, say: the token service is
   * broken, the credentials are fine); 0 serves tokens again.
   */
  public void failWith(int status) {
    failingWith = status;
  }

  /** Tokens issued from now on grant nothing on {@code repository} (the user has no access to it); the other scopes stay. */
  public void deny(String repository) {
    denied.add(repository);
  }

  /**
   * Accepts, from now on, {@code POST /token} with {@code grant_type=refresh_token} and this
   * {@code refresh_token} (an identity token, which clients send for the user {@code <token>}).
   */
  public void acceptRefreshToken(String token) {
    refreshToken = token;
  }

  /** Tokens issued from now on leave out {@code action} (as {@code delete}: the user may push but not delete); the other actions stay. */
  public void withhold(String action) {
    withheld.add(action);
  }

  /** How many tokens were handed out (requests refused for bad credentials or malformed scopes not counted). */
  public int tokensIssued() {
    return tokensIssued.get();
  }

  /** Every {@code scope} asked for so far, in order, including those of refused requests. */
  public List<String> scopesRequested() {
    synchronized (scopesRequested) {
      return List.copyOf(scopesRequested);
    }
  }

  /** The certificate whose key signs the tokens: the registry's {@code rootcertbundle}. */
  X509Certificate signingCertificate() {
    return signer.certificate();
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      boolean post = "POST".equals(exchange.getRequestMethod());
      if (!(post || "GET".equals(exchange.getRequestMethod())) || !"/token".equals(exchange.getRequestURI().getPath())) {
        send(exchange, 404, error("NOT_FOUND", "only GET and POST /token are served here"));
        return;
      }
      // POST: the OAuth2 form of the distribution token protocol, which clients use for an identity
      // (refresh) token, the user "<token>" of docker login to some registries.
      Map<String, List<String>> query = post
          ? query(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8))
          : query(exchange.getRequestURI().getRawQuery());
      List<String> scopes = new ArrayList<>();
      for (String parameter : query.getOrDefault("scope", List.of())) {
        // clients repeat the parameter; OAuth2-style clients put several scopes in one, space-separated
        for (String scope : parameter.split(" ")) {
          if (!scope.isEmpty()) {
            scopes.add(scope);
          }
        }
      }
      scopesRequested.addAll(scopes);
      int failing = failingWith;
      if (failing != 0) {
        send(exchange, failing, error("ISSUER_BROKEN", "this test's token service is failing on purpose"));
        return;
      }
      if (post) {
        String expected = refreshToken;
        if (expected == null || !List.of("refresh_token").equals(query.get("grant_type"))
            || !List.of(expected).equals(query.get("refresh_token"))) {
          send(exchange, 401, error("UNAUTHORIZED", "POST /token takes grant_type=refresh_token and the refresh token this test set"));
          return;
        }
      } else if (!expectedAuthorization.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
        exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"" + ISSUER + "\"");
        send(exchange, 401, error("UNAUTHORIZED", "missing or wrong basic credentials for the token issuer"));
        return;
      }
      ArrayNode access = JSON.createArrayNode();
      for (String scope : scopes) {
        int first = scope.indexOf(':');
        int last = scope.lastIndexOf(':');
        if (first <= 0 || last == first) {
          send(exchange, 400, error("INVALID_SCOPE", "a scope is TYPE:NAME:ACTIONS, got " + scope));
          return;
        }
        if (denied.contains(scope.substring(first + 1, last))) {
          continue; // as token services do: what the user may not do is left out of the token, not refused
        }
        ObjectNode entry = access.addObject()
            .put("type", scope.substring(0, first))
            .put("name", scope.substring(first + 1, last));
        ArrayNode actions = entry.putArray("actions");
        for (String action : scope.substring(last + 1).split(",")) {
          if (!action.isEmpty() && !withheld.contains(action)) {
            actions.add(action);
          }
        }
      }
      String audience = query.getOrDefault("service", List.of(service)).get(0);
      Duration lifetime = tokenLifetime;
      Instant now = Instant.now();
      String token = sign(audience, access, now, lifetime);
      tokensIssued.incrementAndGet();
      ObjectNode body = JSON.createObjectNode()
          .put("token", token)
          .put("access_token", token)
          .put("expires_in", lifetime.toSeconds())
          .put("issued_at", now.toString());
      send(exchange, 200, body);
    } catch (RuntimeException | GeneralSecurityException e) {
      // HttpServer would drop the connection silently: say what broke instead
      send(exchange, 500, error("ISSUER_ERROR", e.toString()));
    } finally {
      exchange.close();
    }
  }

  private Instant expiry(Instant now, Duration lifetime) {
    Duration atRegistry = refusedByRegistryAfter;
    return atRegistry == null ? now.plus(lifetime) : now.plus(atRegistry).minusSeconds(REGISTRY_LEEWAY_SECONDS);
  }

  private String sign(String audience, ArrayNode access, Instant now, Duration lifetime)
      throws IOException, GeneralSecurityException {
    ObjectNode header = JSON.createObjectNode().put("alg", "RS256").put("typ", "JWT");
    header.putArray("x5c").add(Base64.getEncoder().encodeToString(signer.certificate().getEncoded()));
    ObjectNode claims = JSON.createObjectNode()
        .put("iss", ISSUER)
        .put("sub", username)
        .put("aud", audience)
        .put("exp", expiry(now, lifetime).getEpochSecond())
        .put("nbf", Math.min(now.getEpochSecond(), expiry(now, lifetime).getEpochSecond() - 1))
        .put("iat", now.getEpochSecond())
        .put("jti", UUID.randomUUID().toString());
    claims.set("access", access);
    String signingInput = BASE64URL.encodeToString(JSON.writeValueAsBytes(header)) + "."
        + BASE64URL.encodeToString(JSON.writeValueAsBytes(claims));
    Signature rs256 = Signature.getInstance("SHA256withRSA");
    rs256.initSign(signer.keyPair().getPrivate());
    rs256.update(signingInput.getBytes(StandardCharsets.US_ASCII));
    return signingInput + "." + BASE64URL.encodeToString(rs256.sign());
  }

  private static Map<String, List<String>> query(String rawQuery) {
    Map<String, List<String>> parameters = new LinkedHashMap<>();
    for (String pair : Objects.requireNonNullElse(rawQuery, "").split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int equals = pair.indexOf('=');
      String name = URLDecoder.decode(equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8);
      String value = equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
      parameters.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
    }
    return parameters;
  }

  private static ObjectNode error(String code, String message) {
    ObjectNode body = JSON.createObjectNode();
    body.putArray("errors").addObject().put("code", code).put("message", message);
    return body;
  }

  private static void send(HttpExchange exchange, int status, ObjectNode body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
