package dev.cachemount.cli.training;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough of the OCI distribution API, in memory on a loopback port, for {@link StartupTraining}
 * to drive the CLI's registry code: ping, blob existence, chunked upload, ranged blob reads and
 * manifests. Anonymous, one process, no garbage collection, no validation beyond digests. It serves
 * the training run only; it is not a registry anyone should push to.
 */
final class TrainingRegistry implements AutoCloseable {
  private static final Pattern BLOB = Pattern.compile("/v2/(.+)/blobs/(sha256:[0-9a-f]{64})");
  private static final Pattern UPLOADS = Pattern.compile("/v2/(.+)/blobs/uploads/");
  private static final Pattern UPLOAD = Pattern.compile("/v2/(.+)/blobs/uploads/([0-9]+)");
  private static final Pattern MANIFEST = Pattern.compile("/v2/(.+)/manifests/([^/]+)");
  private static final Pattern RANGE = Pattern.compile("bytes=([0-9]+)-([0-9]*)");

  private final HttpServer server;
  private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
  private final Map<String, byte[]> manifests = new ConcurrentHashMap<>();
  private final Map<String, String> manifestTypes = new ConcurrentHashMap<>();
  private final Map<String, ByteArrayOutputStream> uploads = new ConcurrentHashMap<>();
  private final AtomicInteger uploadIds = new AtomicInteger();

  TrainingRegistry() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newFixedThreadPool(8, r -> {
      Thread t = new Thread(r, "training-registry");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/v2/", this::handle);
    server.start();
  }

  /** {@code 127.0.0.1:PORT}. */
  String address() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  private void handle(HttpExchange x) throws IOException {
    try (x) {
      String path = x.getRequestURI().getPath();
      String method = x.getRequestMethod();
      x.getResponseHeaders().set("Docker-Distribution-API-Version", "registry/2.0");
      Matcher m;
      if (path.equals("/v2/")) {
        x.getRequestBody().readAllBytes();
        send(x, 200, new byte[0], "application/json");
      } else if ((m = BLOB.matcher(path)).matches()) {
        blob(x, method, m.group(2));
      } else if ((m = UPLOADS.matcher(path)).matches() && method.equals("POST")) {
        x.getRequestBody().readAllBytes();
        String id = Integer.toString(uploadIds.incrementAndGet());
        uploads.put(id, new ByteArrayOutputStream());
        x.getResponseHeaders().set("Location", "/v2/" + m.group(1) + "/blobs/uploads/" + id);
        x.getResponseHeaders().set("Range", "0-0");
        send(x, 202, new byte[0], null);
      } else if ((m = UPLOAD.matcher(path)).matches() && uploads.containsKey(m.group(2))) {
        upload(x, method, m.group(1), m.group(2));
      } else if ((m = MANIFEST.matcher(path)).matches()) {
        manifest(x, method, m.group(1) + ":" + m.group(2));
      } else {
        x.getRequestBody().readAllBytes();
        send(x, 404, "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"not here\"}]}".getBytes(), "application/json");
      }
    }
  }

  private void blob(HttpExchange x, String method, String digest) throws IOException {
    byte[] data = blobs.get(digest);
    if (data == null) {
      send(x, 404, method.equals("HEAD") ? null : "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown\"}]}".getBytes(),
          "application/json");
      return;
    }
    x.getResponseHeaders().set("Docker-Content-Digest", digest);
    if (method.equals("HEAD")) {
      x.getResponseHeaders().set("Content-Length", Integer.toString(data.length));
      x.sendResponseHeaders(200, -1);
      return;
    }
    String range = x.getRequestHeaders().getFirst("Range");
    Matcher r = range == null ? null : RANGE.matcher(range);
    if (r != null && r.matches()) {
      int from = Integer.parseInt(r.group(1));
      int to = r.group(2).isEmpty() ? data.length - 1 : Math.min(data.length - 1, Integer.parseInt(r.group(2)));
      x.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + to + "/" + data.length);
      byte[] part = new byte[to - from + 1];
      System.arraycopy(data, from, part, 0, part.length);
      send(x, 206, part, "application/octet-stream");
    } else {
      send(x, 200, data, "application/octet-stream");
    }
  }

  private void upload(HttpExchange x, String method, String repository, String id) throws IOException {
    ByteArrayOutputStream buffer = uploads.get(id);
    synchronized (buffer) {
      buffer.write(x.getRequestBody().readAllBytes());
    }
    String location = "/v2/" + repository + "/blobs/uploads/" + id;
    if (method.equals("PATCH")) {
      x.getResponseHeaders().set("Location", location);
      x.getResponseHeaders().set("Range", "0-" + Math.max(0, buffer.size() - 1));
      send(x, 202, new byte[0], null);
      return;
    }
    String digest = query(x.getRequestURI(), "digest");
    byte[] data = buffer.toByteArray();
    if (!method.equals("PUT") || digest == null || !digest.equals(sha256(data))) {
      send(x, 400, "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"digest\"}]}".getBytes(), "application/json");
      return;
    }
    uploads.remove(id);
    blobs.put(digest, data);
    x.getResponseHeaders().set("Location", "/v2/" + repository + "/blobs/" + digest);
    x.getResponseHeaders().set("Docker-Content-Digest", digest);
    send(x, 201, new byte[0], null);
  }

  private void manifest(HttpExchange x, String method, String key) throws IOException {
    if (method.equals("PUT")) {
      byte[] data = x.getRequestBody().readAllBytes();
      String digest = sha256(data);
      String type = x.getRequestHeaders().getFirst("Content-Type");
      manifests.put(key, data);
      manifests.put(key.substring(0, key.lastIndexOf(':')) + ":" + digest, data);
      manifestTypes.put(digest, type);
      x.getResponseHeaders().set("Docker-Content-Digest", digest);
      send(x, 201, new byte[0], null);
      return;
    }
    byte[] data = manifests.get(key);
    if (data == null) {
      send(x, 404, method.equals("HEAD") ? null : "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}".getBytes(),
          "application/json");
      return;
    }
    String digest = sha256(data);
    x.getResponseHeaders().set("Docker-Content-Digest", digest);
    send(x, 200, method.equals("HEAD") ? null : data, manifestTypes.get(digest));
  }

  private static String query(URI uri, String name) {
    String q = uri.getRawQuery();
    if (q == null) {
      return null;
    }
    for (String part : q.split("&")) {
      if (part.startsWith(name + "=")) {
        return java.net.URLDecoder.decode(part.substring(name.length() + 1), java.nio.charset.StandardCharsets.UTF_8);
      }
    }
    return null;
  }

  private static void send(HttpExchange x, int status, byte[] body, String type) throws IOException {
    if (type != null) {
      x.getResponseHeaders().set("Content-Type", type);
    }
    if (body == null) {
      x.sendResponseHeaders(status, -1);
      return;
    }
    x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(body);
    }
  }

  private static String sha256(byte[] data) {
    try {
      return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
