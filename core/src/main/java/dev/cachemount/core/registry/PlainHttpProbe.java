package dev.cachemount.core.registry;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Whether a registry on this machine speaks plain HTTP, asked once per process with one
 * {@code GET /v2/} over a bare socket. A registry started for CI on {@code localhost:5000} usually
 * does; go-containerregistry and containerd address such a registry in plain HTTP first. jib-core
 * would instead try TLS on every request and fall back after the handshake fails, and the first
 * handshake alone costs a TLS context with the JDK's whole CA list.
 *
 * <p>A registry answers {@code /v2/} with 200, or 401 with a challenge; a TLS server sent plain text
 * answers 400 or closes the connection. Only 200 and 401 count as plain HTTP; anything else, a
 * timeout included, leaves the registry to jib-core's usual order (TLS first).
 */
final class PlainHttpProbe {
  private static final Map<String, Boolean> ANSWERS = new ConcurrentHashMap<>();

  private PlainHttpProbe() {}

  /** Whether {@code host:port} answers {@code GET /v2/} in plain HTTP as a registry does; remembered per process. */
  static boolean speaksPlainHttp(String host, int port, Duration timeout) {
    return ANSWERS.computeIfAbsent(host + ":" + port, k -> ask(host, port, timeout));
  }

  private static boolean ask(String host, int port, Duration timeout) {
    String name = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    try (Socket s = new Socket()) {
      int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
      s.connect(new InetSocketAddress(name, port), millis);
      s.setSoTimeout(millis);
      OutputStream out = s.getOutputStream();
      out.write(("GET /v2/ HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nUser-Agent: " + RegistrySession.USER_AGENT
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return isRegistryAnswer(statusLine(s.getInputStream()));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** The first line of a response, at most 256 bytes of it. */
  private static String statusLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b; line.length() < 256 && (b = in.read()) >= 0 && b != '\n'; ) {
      line.append((char) b);
    }
    return line.toString().trim();
  }

  /** {@code HTTP/1.1 200 OK} or {@code HTTP/1.1 401 Unauthorized}: a registry's answer to {@code /v2/}. */
  static boolean isRegistryAnswer(String statusLine) {
    String[] parts = statusLine.split(" ", 3);
    return parts.length >= 2 && parts[0].startsWith("HTTP/1.") && (parts[1].equals("200") || parts[1].equals("401"));
  }
}
