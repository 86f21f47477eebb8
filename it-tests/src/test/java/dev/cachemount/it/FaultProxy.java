package dev.cachemount.it;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * A proxy in front of a real registry that injects what a real registry will not produce on demand:
 * 429 with Retry-After, 503, connections dropped without an answer, and requests or blob bodies held
 * until the test lets them go on ({@link #holdAfter}, {@link #stallBlobBodiesAfter}), and lists of tags in
 * small pages ({@link #pageTagLists}). Everything else is passed
 * through (with upload {@code Location}s pointed back at the proxy), so the registry does the real work.
 */
final class FaultProxy implements AutoCloseable {
  /** What to do to matching requests. */
  enum Fault { TOO_MANY_REQUESTS, UNAVAILABLE, DROP }

  private record Rule(String method, Pattern path, Fault fault, AtomicInteger remaining) {}

  private static final Set<String> HOP_BY_HOP = Set.of("host", "connection", "content-length", "expect", "upgrade", "transfer-encoding", "keep-alive");

  private final String upstream;
  private final HttpServer server;
  private final TlsRefusingFront front;
  private final HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  private final List<Rule> rules = new CopyOnWriteArrayList<>();
  private final List<String> injected = new CopyOnWriteArrayList<>();
  /** How the proxy treats a request's {@code Range}. */
  enum Ranges {
    /** Passed on: the registry answers several ranges with a multipart/byteranges body. */
    PASS,
    /** Dropped, as a registry (or a proxy) that ignores ranges does: the answer is the whole blob. */
    IGNORE,
    /** Of several ranges, only the first passed on, as servers that serve one range per request do. */
    FIRST_ONLY,
    /** Several ranges answered 416, as object stores that serve one range per request do. */
    REFUSE_SEVERAL,
    /** As REFUSE_SEVERAL, and a range {@code A-B} answered from byte 0: {@code 206}, {@code Content-Range: bytes 0-B/SIZE}. */
    FROM_BLOB_START,
    /** As REFUSE_SEVERAL, and a range {@code A-B} answered from byte {@code A+1}, as a broken server might. */
    ONE_BYTE_LATE
  }

  private volatile Ranges ranges = Ranges.PASS;
  private final List<String> rangeHeaders = new CopyOnWriteArrayList<>();
  private volatile boolean redirectBlobs;
  private volatile boolean refuseMounts;
  private static final Pattern MOUNT = Pattern.compile("(/v2/.+/blobs/uploads/)\\?mount=.*");
  private static final Pattern TAG_LIST = Pattern.compile("(/v2/.+/tags/list)(?:\\?(.*))?");
  /** The page size {@link #pageTagLists} asks for; 0: tag lists pass through as they are. */
  private volatile int tagPageSize;
  private final AtomicInteger tagListRequests = new AtomicInteger();
  private final AtomicInteger tagPagesCut = new AtomicInteger();
  private volatile boolean endlessBlobs;
  private volatile boolean cutMultipartAnswers;
  private final AtomicInteger answersCut = new AtomicInteger();
  private final AtomicInteger rangesRewritten = new AtomicInteger();
  private final List<String> storageRequests = new CopyOnWriteArrayList<>();
  private static final String STORAGE = "/_storage";
  private static final Pattern BLOB_GET = Pattern.compile("/v2/.+/blobs/sha256:[0-9a-f]{64}");
  private final AtomicInteger requests = new AtomicInteger();
  private volatile HoldRule hold;
  private volatile StallRule stall;
  private final java.util.concurrent.atomic.AtomicInteger rangesIgnored = new java.util.concurrent.atomic.AtomicInteger();

  /** @param upstream {@code HOST:PORT} of a plain-HTTP registry */
  FaultProxy(String upstream) throws IOException {
    this.upstream = upstream;
    this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(Executors.newCachedThreadPool());
    server.start();
    front = new TlsRefusingFront(server.getAddress().getPort());
  }

  /** {@code 127.0.0.1:PORT}, where clients connect. */
  String host() {
    return "127.0.0.1:" + front.port();
  }

  /** Applies {@code fault} to the next {@code times} requests whose method and path (with query) match. */
  void inject(String method, String pathRegex, Fault fault, int times) {
    rules.add(new Rule(method, Pattern.compile(pathRegex), fault, new AtomicInteger(times)));
  }

  /**
   * From now on, lets the first request whose method and path (with query) match through, and holds
   * every request that arrives after it, unanswered, until the gate is released; the gate is reached
   * once that first request has been answered. A test can then change what lies behind the proxy
   * (stop the registry) at a point of the client's work that the client cannot run past, however the
   * threads are scheduled. Requests already past the proxy's door when the first matching one arrives
   * are not held. A held request whose registry went away meanwhile gets its connection closed
   * without an answer (the proxy's own attempt was refused), as a client talking to a dead registry sees.
   */
  Gate holdAfter(String method, String pathRegex) {
    Gate gate = new Gate();
    hold = new HoldRule(method, Pattern.compile(pathRegex), gate, new AtomicBoolean());
    return gate;
  }

  /**
   * From now on, passes the first {@code bytes} of blob bodies (all blobs' together) on, and then
   * holds every blob body where it is, the connection open, until the gate is released; the gate is
   * reached when the first body is held. A client reading a blob then waits in the middle of it, as
   * long as the test wants.
   */
  Gate stallBlobBodiesAfter(long bytes) {
    Gate gate = new Gate();
    stall = new StallRule(new AtomicLong(bytes), gate);
    return gate;
  }

  /**
   * From now on, passes only the first {@code bytes} of each blob body on, then holds the connection
   * open without sending more, until the proxy closes: a registry (or a proxy in front of it) that
   * stalls every answer, each resume getting a little further.
   */
  void dribbleBlobBodies(long bytes) {
    stall = new StallRule(null, dribbleGate, bytes);
  }

  private final Gate dribbleGate = new Gate();

  /** A point at which the proxy holds what passes through it until the test lets it go on. */
  static final class Gate {
    private final CountDownLatch reached = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    private final AtomicInteger held = new AtomicInteger();

    /** Waits at most {@code timeout} for the gate to be reached (what that is: see what returned it). */
    boolean awaitReached(Duration timeout) throws InterruptedException {
      return reached.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Whether the gate has been reached. */
    boolean reached() {
      return reached.getCount() == 0;
    }

    /** Lets what is held, and all that comes later, go on. */
    void release() {
      released.countDown();
    }

    /** How many requests or bodies were held. */
    int held() {
      return held.get();
    }

    private void reach() {
      reached.countDown();
    }

    private void hold() throws IOException {
      held.incrementAndGet();
      try {
        released.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException();
      }
    }
  }

  private record HoldRule(String method, Pattern path, Gate gate, AtomicBoolean closed) {
    /** True for the first matching request, which closes the door behind it; holds every later one. */
    boolean opens(String requestMethod, String requestPath) throws IOException {
      if (!closed.get()) {
        return requestMethod.equals(method) && path.matcher(requestPath).matches() && closed.compareAndSet(false, true);
      }
      gate.hold();
      return false;
    }
  }

  /** {@code budget}: of all bodies together; or null, and {@code perBody} bytes of each. */
  private record StallRule(AtomicLong budget, Gate gate, long perBody) {
    StallRule(AtomicLong budget, Gate gate) {
      this(budget, gate, 0);
    }

    /** Copies {@code in} to {@code out}, holding once the budget is spent. */
    void transfer(InputStream in, OutputStream out) throws IOException {
      if (budget == null) {
        out.write(in.readNBytes((int) perBody));
        out.flush();
        gate.reach();
        gate.hold();
        return;
      }
      byte[] buffer = new byte[64 << 10];
      for (int n; (n = in.read(buffer)) > 0; ) {
        int now = (int) Math.min(n, budget.getAndAccumulate(n, (left, x) -> Math.max(0, left - x)));
        out.write(buffer, 0, now);
        if (now < n) {
          out.flush();
          gate.reach();
          gate.hold();
          out.write(buffer, now, n - now);
        }
      }
    }
  }

  /** From now on, treats {@code Range} headers as {@code how} says. */
  void ranges(Ranges how) {
    ranges = how;
  }

  /**
   * From now on, answers every blob {@code GET} with a {@code 307} to this proxy's own "blob storage"
   * (as registries backed by object storage do: GHCR, Docker Hub, ECR), which then serves the blob.
   */
  /**
   * From now on, a request to mount a blob from another repository ({@code POST …/blobs/uploads/?mount=…&from=…})
   * reaches the registry without its query: the registry opens an ordinary upload (202), as one
   * without cross-repository mounts, or one that refuses this mount, answers.
   */
  void refuseMounts() {
    refuseMounts = true;
  }

  /**
   * From now on, a {@code GET /v2/NAME/tags/list?n=…} reaches the registry with {@code n} set to
   * {@code size}, so that a repository of a few tags is listed in several pages, each with a
   * {@code Link: <…>; rel="next"} to the next. A registry that pages (distribution 3)
   * does so itself, and its answers pass through; one that ignores {@code n} and {@code last} and
   * sends every tag (distribution 2.8, the {@code docker-registry} these tests run) has its answer
   * paged here as distribution 3 pages: sorted, the tags after {@code last}, at most {@code size}, and
   * a {@code Link} to the next page while more follow. The tags are always the registry's.
   */
  void pageTagLists(int size) {
    if (size < 1) {
      throw new IllegalArgumentException("a page holds at least one tag");
    }
    tagPageSize = size;
  }

  /** How many {@code GET …/tags/list} requests reached the proxy (each page is one). */
  int tagListRequests() {
    return tagListRequests.get();
  }

  /** How many of the registry's whole lists of tags {@link #pageTagLists} cut into a page. */
  int tagPagesCut() {
    return tagPagesCut.get();
  }

  void redirectBlobs() {
    redirectBlobs = true;
  }

  /**
   * From now on, answers every blob {@code GET} as a broken registry might: {@code Range} ignored, the
   * whole blob ({@code 200}, chunked), and then zeros without end, until the client hangs up.
   */
  void endlessBlobs() {
    endlessBlobs = true;
  }

  /**
   * From now on, breaks the connection of every answer to a request for several ranges halfway through
   * its body, as a connection reset or a proxy's timeout does.
   */
  void cutMultipartAnswers() {
    cutMultipartAnswers = true;
  }

  /** How many ranges {@link Ranges#FROM_BLOB_START} or {@link Ranges#ONE_BYTE_LATE} moved. */
  int rangesRewritten() {
    return rangesRewritten.get();
  }

  /** How many answers {@link #cutMultipartAnswers} broke. */
  int answersCut() {
    return answersCut.get();
  }

  /** "Range: VALUE" (or "no range") and whether an Authorization header came along, for every request the blob storage got. */
  List<String> storageRequests() {
    return List.copyOf(storageRequests);
  }

  /** Every {@code Range} header received so far, as the client sent it. */
  List<String> rangeHeaders() {
    return List.copyOf(rangeHeaders);
  }

  /** How many requests asked for a range that was dropped. */
  int rangesIgnored() {
    return rangesIgnored.get();
  }

  /** How many requests reached the proxy. */
  int requests() {
    return requests.get();
  }

  /** How many connections clients opened to the proxy. */
  int connections() {
    return front.connections.get();
  }

  /** How many connections opened with a TLS handshake (answered 400, as a plain-HTTP registry does). */
  int tlsHandshakesRefused() {
    return front.tlsRefused.get();
  }

  /** "METHOD path FAULT" for every fault injected so far. */
  List<String> injected() {
    return List.copyOf(injected);
  }

  private void handle(HttpExchange exchange) throws IOException {
    requests.incrementAndGet();
    try (exchange) {
      String method = exchange.getRequestMethod();
      String path = exchange.getRequestURI().toString();
      byte[] body = exchange.getRequestBody().readAllBytes();
      HoldRule h = hold;
      if (h != null && h.opens(method, path)) {
        try {
          forward(exchange, method, path, body, Body.AS_IS);
        } finally {
          h.gate().reach();
        }
        return;
      }
      String range = exchange.getRequestHeaders().getFirst("Range");
      if (path.startsWith(STORAGE + "/")) {
        storageRequests.add((range == null ? "no range" : "Range: " + range)
            + (exchange.getRequestHeaders().containsKey("Authorization") ? ", with Authorization" : ""));
        forward(exchange, method, path.substring(STORAGE.length()), body, Body.AS_IS);
        return;
      }
      java.util.regex.Matcher mount = MOUNT.matcher(path);
      if (refuseMounts && method.equals("POST") && mount.matches()) {
        injected.add(method + " " + path + " mount refused");
        forward(exchange, method, mount.group(1), body, Body.AS_IS);
        return;
      }
      if (redirectBlobs && method.equals("GET") && BLOB_GET.matcher(path).matches()) {
        exchange.getResponseHeaders().add("Location", "http://" + host() + STORAGE + path);
        exchange.sendResponseHeaders(307, -1);
        return;
      }
      if (endlessBlobs && method.equals("GET") && BLOB_GET.matcher(path).matches()) {
        forward(exchange, method, path, body, Body.ENDLESS);
        return;
      }
      if (range != null) {
        rangeHeaders.add(range);
        if ((ranges == Ranges.REFUSE_SEVERAL || ranges == Ranges.FROM_BLOB_START || ranges == Ranges.ONE_BYTE_LATE) && range.contains(",")) {
          exchange.sendResponseHeaders(416, -1);
          return;
        }
      }
      for (Rule r : rules) {
        if (r.method().equals(method) && r.path().matcher(path).matches() && r.remaining().getAndDecrement() > 0) {
          injected.add(method + " " + path + " " + r.fault());
          switch (r.fault()) {
            case TOO_MANY_REQUESTS -> {
              exchange.getResponseHeaders().add("Retry-After", "1");
              exchange.sendResponseHeaders(429, -1);
            }
            case UNAVAILABLE -> exchange.sendResponseHeaders(503, -1);
            case DROP -> { } // closed without an answer
          }
          return;
        }
      }
      java.util.regex.Matcher tagList = TAG_LIST.matcher(path);
      if (method.equals("GET") && tagList.matches()) {
        tagListRequests.incrementAndGet();
        int size = tagPageSize;
        if (size > 0) {
          pageTags(exchange, tagList.group(1), tagList.group(2), size);
          return;
        }
      }
      forward(exchange, method, path, body, cutMultipartAnswers && range != null && range.contains(",") ? Body.CUT_IN_HALF : Body.AS_IS);
    }
  }

  /**
   * Asks the registry for a page of {@code size} tags of {@code listPath} (the request's {@code n}
   * replaced, its {@code last} kept) and answers with it; a registry that sent more than {@code size}
   * ignored both, and its list is paged here (see {@link #pageTagLists}).
   */
  private void pageTags(HttpExchange exchange, String listPath, String query, int size) throws IOException {
    String last = null;
    StringBuilder rewritten = new StringBuilder("n=").append(size);
    for (String parameter : query == null ? new String[0] : query.split("&")) {
      if (parameter.startsWith("last=")) {
        last = java.net.URLDecoder.decode(parameter.substring("last=".length()), java.nio.charset.StandardCharsets.UTF_8);
        rewritten.append('&').append(parameter);
      } else if (!parameter.startsWith("n=") && !parameter.isEmpty()) {
        rewritten.append('&').append(parameter);
      }
    }
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + upstream + listPath + "?" + rewritten)).GET();
    exchange.getRequestHeaders().forEach((name, values) -> {
      if (!HOP_BY_HOP.contains(name.toLowerCase(java.util.Locale.ROOT))) {
        values.forEach(v -> b.header(name, v));
      }
    });
    HttpResponse<byte[]> response;
    try {
      response = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    byte[] answer = response.body();
    String link = null;
    if (response.statusCode() == 200 && response.headers().firstValue("Link").isEmpty()) {
      com.fasterxml.jackson.databind.node.ObjectNode list =
          (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(answer);
      com.fasterxml.jackson.databind.JsonNode tags = list.get("tags");
      if (tags != null && tags.isArray() && tags.size() > size) {
        String after = last;
        List<String> rest = new java.util.ArrayList<>();
        tags.forEach(t -> rest.add(t.textValue()));
        List<String> following = rest.stream().sorted().filter(t -> after == null || t.compareTo(after) > 0).toList();
        List<String> page = following.subList(0, Math.min(size, following.size()));
        if (following.size() > page.size()) {
          link = "<" + listPath + "?n=" + size + "&last=" + page.get(page.size() - 1) + ">; rel=\"next\"";
        }
        com.fasterxml.jackson.databind.node.ArrayNode pageTags = list.putArray("tags");
        page.forEach(pageTags::add);
        answer = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(list);
        tagPagesCut.incrementAndGet();
      }
    }
    response.headers().map().forEach((name, values) -> {
      if (!HOP_BY_HOP.contains(name.toLowerCase(java.util.Locale.ROOT)) && !name.startsWith(":")) {
        values.forEach(v -> exchange.getResponseHeaders().add(name, v.replace(upstream, host())));
      }
    });
    if (link != null) {
      exchange.getResponseHeaders().add("Link", link);
    }
    exchange.sendResponseHeaders(response.statusCode(), answer.length == 0 ? -1 : answer.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(answer);
    }
  }

  /** What the proxy does with the body of an answer. */
  private enum Body {
    AS_IS,
    /** The request's Range dropped, and the answer followed by zeros without end. */
    ENDLESS,
    /** The connection closed after half of the answer's body. */
    CUT_IN_HALF
  }

  /** Passes the request on, and its answer back as {@code how} says. */
  private void forward(HttpExchange exchange, String method, String path, byte[] body, Body how) throws IOException {
    boolean endless = how == Body.ENDLESS;
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + upstream + path))
        .method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    exchange.getRequestHeaders().forEach((name, values) -> {
      if (name.equalsIgnoreCase("Range")) {
        if (ranges == Ranges.IGNORE || endless) {
          rangesIgnored.incrementAndGet();
          return;
        }
        if (ranges == Ranges.FIRST_ONLY) {
          values.forEach(v -> b.header(name, v.contains(",") ? v.substring(0, v.indexOf(',')) : v));
          return;
        }
        if (ranges == Ranges.FROM_BLOB_START || ranges == Ranges.ONE_BYTE_LATE) {
          values.forEach(v -> {
            String[] firstLast = v.substring("bytes=".length()).split("-", 2);
            long first = ranges == Ranges.FROM_BLOB_START ? 0 : Long.parseLong(firstLast[0]) + 1;
            b.header(name, "bytes=" + first + "-" + firstLast[1]);
            rangesRewritten.incrementAndGet();
          });
          return;
        }
      }
      if (!HOP_BY_HOP.contains(name.toLowerCase(java.util.Locale.ROOT))) {
        values.forEach(v -> b.header(name, v));
      }
    });
    HttpResponse<InputStream> response;
    try {
      response = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    response.headers().map().forEach((name, values) -> {
      if (!HOP_BY_HOP.contains(name.toLowerCase(java.util.Locale.ROOT)) && !name.startsWith(":")) {
        values.forEach(v -> exchange.getResponseHeaders().add(name, v.replace(upstream, host())));
      }
    });
    if (method.equals("HEAD")) {
      // The JDK's server sends no length of its own for a HEAD; a blob's existence check needs the registry's.
      response.headers().firstValue("content-length").ifPresent(v -> exchange.getResponseHeaders().set("Content-Length", v));
    }
    long length = response.headers().firstValueAsLong("content-length").orElse(-1);
    boolean empty = method.equals("HEAD") || length == 0 || response.statusCode() == 204;
    exchange.sendResponseHeaders(response.statusCode(), empty ? -1 : (length > 0 && !endless ? length : 0));
    try (InputStream in = response.body(); OutputStream out = exchange.getResponseBody()) {
      if (how == Body.CUT_IN_HALF && !empty && length > 1) {
        out.write(in.readNBytes((int) (length / 2)));
        out.flush();
        answersCut.incrementAndGet();
        throw new IOException("cut in half, as asked"); // the server closes the connection mid-body
      }
      StallRule st = stall;
      if (!empty && st != null && method.equals("GET") && BLOB_GET.matcher(path).matches()) {
        st.transfer(in, out);
      } else if (!empty) {
        in.transferTo(out);
      }
      byte[] zeros = new byte[64 * 1024];
      while (endless) {
        out.write(zeros); // until the client hangs up: an IOException
      }
    }
  }

  @Override
  public void close() {
    // Nothing stays held by a test that failed before it released it.
    HoldRule h = hold;
    StallRule st = stall;
    if (h != null) {
      h.gate().release();
    }
    if (st != null) {
      st.gate().release();
    }
    front.close();
    server.stop(0);
  }

  /**
   * Answers a TLS handshake with {@code 400} as Go's and nginx's plain-HTTP servers do (the JDK's
   * HttpServer would wait for a request line until the client times out), so that a client trying
   * HTTPS first falls back to HTTP at once; passes every other connection through to the proxy.
   */
  private static final class TlsRefusingFront implements AutoCloseable {
    private final java.net.ServerSocket socket;
    private final int backend;
    private final AtomicInteger tlsRefused = new AtomicInteger();
    private final AtomicInteger connections = new AtomicInteger();

    TlsRefusingFront(int backend) throws IOException {
      this.backend = backend;
      this.socket = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
      Thread accept = new Thread(this::acceptLoop, "fault-proxy-front");
      accept.setDaemon(true);
      accept.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    private void acceptLoop() {
      while (!socket.isClosed()) {
        try {
          java.net.Socket client = socket.accept();
          connections.incrementAndGet();
          Thread t = new Thread(() -> serve(client), "fault-proxy-conn");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }

    private void serve(java.net.Socket client) {
      try (client) {
        InputStream in = client.getInputStream();
        int first = in.read();
        if (first < 0) {
          return;
        }
        if (first == 0x16) {
          tlsRefused.incrementAndGet();
          client.getOutputStream().write("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
              .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          return;
        }
        try (java.net.Socket back = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), backend)) {
          back.getOutputStream().write(first);
          Thread up = new Thread(() -> pump(in, back), "fault-proxy-up");
          up.setDaemon(true);
          up.start();
          pump(back.getInputStream(), client);
          up.join();
        }
      } catch (IOException | InterruptedException e) {
        // The client or the proxy went away: nothing to clean up beyond the sockets.
      }
    }

    private static void pump(InputStream from, java.net.Socket to) {
      try {
        from.transferTo(to.getOutputStream());
        to.shutdownOutput();
      } catch (IOException e) {
        // One side closed.
      }
    }

    @Override
    public void close() {
      try {
        socket.close();
      } catch (IOException e) {
        // Closing a listening socket of a test.
      }
    }
  }
}
