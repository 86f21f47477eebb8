package dev.cachemount.it.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The registry harness gives every mode a working registry, as seen by clients nobody here wrote:
 * the JDK's HTTP client and skopeo push to it, its challenges are the ones real registries send,
 * and what was pushed survives a restart.
 */
class RegistryHarnessIT {
  private static final String REPOSITORY = "it/x";
  private static final String TAG = "v1";
  private static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  /** Not a tar media type, so skopeo copies the layer as it is instead of compressing it: the manifest digest survives. */
  private static final String LAYER_TYPE = "application/vnd.cachemount.it.layer.v1";
  private static final byte[] LAYER = "cachemount test layer\n".getBytes(StandardCharsets.UTF_8);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  /** A one-layer OCI image layout: the digests of its manifest and of its layer. */
  record Layout(Path dir, String manifestDigest, String layerDigest) {}

  @ParameterizedTest
  @EnumSource(RegistryMode.class)
  void skopeoPushesAndThePushSurvivesARestart(RegistryMode mode) throws Exception {
    Layout layout = writeLayout(dir.resolve("layout"));
    TestRegistry registry = TestRegistry.start(mode, dir.resolve("registry"));
    try (registry) {
      HttpClient http = client(registry);
      int anonymous = mode == RegistryMode.PLAIN || mode == RegistryMode.TLS ? 200 : 401;
      assertEquals(anonymous, send(http, get(registry, "/v2/")).statusCode());
      assertEquals(1, registry.countRequests("GET", "/v2/"), "our request counted, the harness's readiness probes not");

      String copied = skopeoCopy(registry, layout);
      assertTrue(registry.countRequests("PUT", ".*/blobs/uploads/.*") > 0, "blob uploads in the access log:\n" + log(registry));
      assertEquals(1, registry.countRequests("PUT", "/v2/" + REPOSITORY + "/manifests/" + TAG), copied);
      assertArrayEquals(LAYER, Files.readAllBytes(registry.blobFile(layout.layerDigest())));
      registry.clearLog();
      assertEquals(0, registry.countRequests("PUT", ".*"));

      registry.stop();
      assertThrows(ConnectException.class, () -> new java.net.Socket("127.0.0.1", registry.port()).close(), "stopped means not listening");
      registry.restart();
      http = client(registry); // the old client's pooled connections died with the registry
      HttpRequest head = authorized(registry, http, HttpRequest.newBuilder(
          registry.baseUri().resolve("/v2/" + REPOSITORY + "/manifests/" + TAG)).method("HEAD", HttpRequest.BodyPublishers.noBody()))
          .header("Accept", OCI_MANIFEST).build();
      HttpResponse<Void> manifest = send(http, head);
      assertEquals(200, manifest.statusCode(), "the pushed manifest after restart");
      assertEquals(layout.manifestDigest(), manifest.headers().firstValue("Docker-Content-Digest").orElse(null));
    }
    registry.close();
    assertThrows(ConnectException.class, () -> send(client(registry), get(registry, "/v2/")), "closed means not listening");
  }

  @Test
  void basicModeChallengesAndTakesTheTestCredentials() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.BASIC, dir)) {
      HttpClient http = client(registry);
      HttpResponse<Void> challenge = send(http, get(registry, "/v2/"));
      assertEquals(401, challenge.statusCode());
      assertEquals("Basic realm=\"cachemount-test\"", challenge.headers().firstValue("WWW-Authenticate").orElse(null));
      HttpRequest wrong = get(registry, "/v2/").header("Authorization", basic(registry.username(), "wrong")).build();
      assertEquals(401, send(http, wrong).statusCode());
      HttpRequest right = get(registry, "/v2/").header("Authorization", basic(registry.username(), registry.password())).build();
      assertEquals(200, send(http, right).statusCode());
    }
  }

  @Test
  void tokenModeSendsClientsToTheIssuerWhichGrantsExactlyWhatWasAsked() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.TOKEN, dir)) {
      HttpClient http = client(registry);
      TokenIssuer issuer = registry.issuer();
      HttpResponse<Void> challenge = send(http, get(registry, "/v2/"));
      assertEquals(401, challenge.statusCode());
      assertEquals("Bearer realm=\"" + issuer.realm() + "\",service=\"test-registry\"",
          challenge.headers().firstValue("WWW-Authenticate").orElse(null));

      JsonNode granted = fetchToken(http, registry, registry.password(), "repository:" + REPOSITORY + ":pull,push");
      String token = granted.get("token").asText();
      assertEquals(token, granted.get("access_token").asText());
      assertEquals(300, granted.get("expires_in").asInt());
      Instant.parse(granted.get("issued_at").asText());
      JsonNode header = jwtPart(token, 0);
      assertEquals("RS256", header.get("alg").asText());
      assertEquals(1, header.get("x5c").size());
      JsonNode claims = jwtPart(token, 1);
      assertEquals("test-issuer", claims.get("iss").asText());
      assertEquals(registry.username(), claims.get("sub").asText());
      assertEquals("test-registry", claims.get("aud").asText());
      assertEquals(JSON.readTree("[{\"type\":\"repository\",\"name\":\"it/x\",\"actions\":[\"pull\",\"push\"]}]"), claims.get("access"));
      assertEquals(200, send(http, get(registry, "/v2/").header("Authorization", "Bearer " + token).build()).statusCode());
      assertEquals(202, send(http, startUpload(registry, token)).statusCode(), "pull,push lets an upload start");

      String pullOnly = fetchToken(http, registry, registry.password(), "repository:" + REPOSITORY + ":pull").get("token").asText();
      assertEquals(401, send(http, startUpload(registry, pullOnly)).statusCode(), "a token for pull only is refused a push");
      assertEquals(JSON.createArrayNode(), jwtPart(fetchToken(http, registry, registry.password()).get("token").asText(), 1).get("access"),
          "no scope asked, nothing granted");

      HttpResponse<String> refused = http.send(tokenRequest(registry, "wrong", "repository:" + REPOSITORY + ":pull"),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(401, refused.statusCode());
      assertEquals("UNAUTHORIZED", JSON.readTree(refused.body()).get("errors").get(0).get("code").asText());
      assertEquals(3, issuer.tokensIssued());
      assertEquals(List.of("repository:it/x:pull,push", "repository:it/x:pull", "repository:it/x:pull"), issuer.scopesRequested());
    }
  }

  private static HttpClient client(TestRegistry registry) throws Exception {
    HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
    if (registry.caFile().isPresent()) {
      client.sslContext(TestCertificates.trusting(registry.caFile().get()));
    }
    return client.build();
  }

  private static HttpRequest.Builder get(TestRegistry registry, String path) {
    return HttpRequest.newBuilder(registry.baseUri().resolve(path)).timeout(Duration.ofSeconds(5));
  }

  private static HttpResponse<Void> send(HttpClient http, HttpRequest.Builder request) throws IOException, InterruptedException {
    return send(http, request.build());
  }

  private static HttpResponse<Void> send(HttpClient http, HttpRequest request) throws IOException, InterruptedException {
    return http.send(request, HttpResponse.BodyHandlers.discarding());
  }

  /** Adds the credentials the mode asks for: none, basic, or a bearer token for pulling {@link #REPOSITORY}. */
  private static HttpRequest.Builder authorized(TestRegistry registry, HttpClient http, HttpRequest.Builder request) throws Exception {
    return switch (registry.mode()) {
      case PLAIN, TLS -> request;
      case BASIC -> request.header("Authorization", basic(registry.username(), registry.password()));
      case TOKEN -> request.header("Authorization", "Bearer "
          + fetchToken(http, registry, registry.password(), "repository:" + REPOSITORY + ":pull").get("token").asText());
    };
  }

  private static HttpRequest startUpload(TestRegistry registry, String token) {
    return HttpRequest.newBuilder(registry.baseUri().resolve("/v2/" + REPOSITORY + "/blobs/uploads/"))
        .POST(HttpRequest.BodyPublishers.noBody()).header("Authorization", "Bearer " + token).build();
  }

  private static JsonNode fetchToken(HttpClient http, TestRegistry registry, String password, String... scopes) throws Exception {
    HttpResponse<String> response = http.send(tokenRequest(registry, password, scopes), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return JSON.readTree(response.body());
  }

  private static HttpRequest tokenRequest(TestRegistry registry, String password, String... scopes) {
    StringBuilder query = new StringBuilder("?service=test-registry&account=").append(registry.username());
    for (String scope : scopes) {
      query.append("&scope=").append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
    }
    return HttpRequest.newBuilder(URI.create(registry.issuer().realm() + query))
        .header("Authorization", basic(registry.username(), password)).build();
  }

  private static JsonNode jwtPart(String jwt, int index) throws IOException {
    return JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[index]));
  }

  private static String basic(String username, String password) {
    return "Basic " + Base64.getEncoder().encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  /** Copies the layout to {@code REPOSITORY:TAG} with the transport and credentials the mode needs; returns skopeo's output. */
  private String skopeoCopy(TestRegistry registry, Layout layout) throws Exception {
    List<String> command = new ArrayList<>(List.of(skopeo(), "--insecure-policy", "copy"));
    Optional<Path> ca = registry.caFile();
    if (ca.isPresent()) {
      Path certDir = Files.createDirectories(dir.resolve("skopeo-certs"));
      Files.copy(ca.get(), certDir.resolve("ca.crt"));
      command.addAll(List.of("--dest-cert-dir", certDir.toString()));
    } else {
      command.add("--dest-tls-verify=false");
    }
    if (registry.mode() == RegistryMode.BASIC || registry.mode() == RegistryMode.TOKEN) {
      command.addAll(List.of("--dest-creds", registry.username() + ":" + registry.password()));
    }
    command.addAll(List.of("oci:" + layout.dir() + ":" + TAG, "docker://" + registry.host() + "/" + REPOSITORY + ":" + TAG));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getOutputStream().close();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "skopeo copy did not end");
    assertEquals(0, process.exitValue(), String.join(" ", command) + "\n" + output + "\nregistry log:\n" + log(registry));
    return output;
  }

  private static String skopeo() {
    Path skopeo = Path.of("/usr/bin/skopeo");
    if (!Files.isExecutable(skopeo)) {
      throw new AssertionError("skopeo is not installed, and this test pushes with it; install it with: apt-get install -y skopeo");
    }
    return skopeo.toString();
  }

  private static String log(TestRegistry registry) {
    return String.join("\n", registry.logLines());
  }

  /** Writes an OCI image layout by hand: config {@code {}}, one small layer, their manifest, tagged {@link #TAG}. */
  private static Layout writeLayout(Path layout) throws IOException, NoSuchAlgorithmException {
    Files.createDirectories(layout.resolve("blobs/sha256"));
    Files.writeString(layout.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    String configDigest = writeBlob(layout, config);
    String layerDigest = writeBlob(layout, LAYER);
    byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"" + OCI_MANIFEST + "\","
        + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest + "\",\"size\":" + config.length + "},"
        + "\"layers\":[{\"mediaType\":\"" + LAYER_TYPE + "\",\"digest\":\"" + layerDigest + "\",\"size\":" + LAYER.length + "}]}")
        .getBytes(StandardCharsets.UTF_8);
    String manifestDigest = writeBlob(layout, manifest);
    Files.writeString(layout.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" + OCI_MANIFEST + "\","
        + "\"digest\":\"" + manifestDigest + "\",\"size\":" + manifest.length + ","
        + "\"annotations\":{\"org.opencontainers.image.ref.name\":\"" + TAG + "\"}}]}");
    return new Layout(layout, manifestDigest, layerDigest);
  }

  private static String writeBlob(Path layout, byte[] content) throws IOException, NoSuchAlgorithmException {
    String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    Files.write(layout.resolve("blobs/sha256").resolve(hex), content);
    return "sha256:" + hex;
  }
}
