package dev.cachemount.core.registry;

import com.google.api.client.http.HttpStatusCodes;
import com.google.cloud.tools.jib.api.InsecureRegistryException;
import com.google.cloud.tools.jib.api.RegistryAuthenticationFailedException;
import com.google.cloud.tools.jib.api.RegistryException;
import com.google.cloud.tools.jib.api.RegistryUnauthorizedException;
import com.google.cloud.tools.jib.http.ResponseException;
import com.google.cloud.tools.jib.registry.RegistryCredentialsNotSentException;
import dev.cachemount.core.CachemountException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * Sorts what a registry request threw into retry-worthy or final, and turns a final failure into the
 * {@link CachemountException} the user sees: registry, repository, operation, HTTP status, and what
 * to do. The one place that knows jib-core's exception types.
 */
final class RegistryFailures {
  private RegistryFailures() {}

  /** The HTTP status of a failed request, or 0 when there was no response. */
  static int status(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ResponseException r) {
        return r.getStatusCode();
      }
      if (c instanceof RegistryUnauthorizedException u && u.getHttpResponseException() != null) {
        return u.getHttpResponseException().getStatusCode();
      }
    }
    return 0;
  }

  /**
   * Whether the registry said the credentials were good but not enough for what was asked ({@code
   * WWW-Authenticate: Bearer ..., error="insufficient_scope"}): distribution and Docker Hub answer so,
   * with 401, a push with pull-only credentials.
   */
  static boolean insufficientScope(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      com.google.api.client.http.HttpHeaders headers = null;
      if (c instanceof ResponseException r) {
        headers = r.getHeaders();
      } else if (c instanceof RegistryUnauthorizedException u && u.getHttpResponseException() != null) {
        headers = u.getHttpResponseException().getHeaders();
      }
      if (headers != null) {
        // Every challenge: a registry may offer Basic beside Bearer, each in a header of its own.
        return headers.getHeaderStringValues("WWW-Authenticate").stream().anyMatch(v -> v.contains("insufficient_scope"));
      }
    }
    return false;
  }

  /** Whether trying again may help: a connection error, 408, 429 or 5xx. */
  static boolean retryable(Throwable t) {
    if (t instanceof InterruptedIOException && !(t instanceof java.net.SocketTimeoutException)) {
      return false;
    }
    if (isTokenServiceFailure(t)) {
      // the token service's own trouble: an HTTP 5xx, 408 or 429, or a connection that failed
      // (not one it could not verify, nor an unknown host, nor an answer without a token)
      int status = status(t);
      if (status != 0) {
        return true;
      }
      if (unaskableRealm(t) != null) {
        return false; // the same realm, asked again, is as unaskable
      }
      for (Throwable c = t; c != null; c = c.getCause()) {
        if (c instanceof SSLException || c instanceof UnknownHostException || c instanceof com.fasterxml.jackson.core.JacksonException) {
          return false;
        }
        if (c instanceof IOException) {
          return true;
        }
      }
      return false;
    }
    if (isAuth(t) || isTls(t) || t instanceof UnknownHostException) {
      return false;
    }
    int status = status(t);
    if (status == 0) {
      return t instanceof IOException;
    }
    return status == HttpStatusCodes.STATUS_CODE_SERVER_ERROR || status >= 500 || status == 408 || status == 429;
  }

  /** The pause a 429 or 503 asked for ({@code Retry-After}: seconds or an HTTP date), or null. */
  static Duration retryAfter(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ResponseException r && r.getHeaders() != null) {
        Object v = r.getHeaders().getFirstHeaderStringValue("Retry-After");
        return v == null ? null : parseRetryAfter(v.toString());
      }
    }
    return null;
  }

  static Duration parseRetryAfter(String value) {
    String v = value.trim();
    try {
      long seconds = Long.parseLong(v);
      return seconds < 0 ? null : Duration.ofSeconds(seconds);
    } catch (NumberFormatException notSeconds) {
      try {
        Duration d = Duration.between(ZonedDateTime.now(), ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME));
        return d.isNegative() ? Duration.ZERO : d;
      } catch (DateTimeParseException notADate) {
        return null;
      }
    }
  }

  /**
   * Whether the request for a bearer token failed for a reason of the token service's own, not a
   * refusal of the credentials: jib-core wraps every failure of that request, the service's HTTP
   * 500 or an unreachable service included, in a {@link RegistryAuthenticationFailedException}.
   * Only its 401 and 403 (and other 4xx, which some services answer to bad credentials) are refusals;
   * a 5xx, 408 or 429, a redirect that could not be followed, a failed connection, or an answer that is
   * not JSON or holds no token are the service's trouble.
   */
  static boolean isTokenServiceFailure(Throwable t) {
    boolean tokenRequest = false;
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof RegistryUnauthorizedException || c instanceof RegistryCredentialsNotSentException) {
        return false;
      }
      tokenRequest |= c instanceof RegistryAuthenticationFailedException;
    }
    if (!tokenRequest) {
      return false;
    }
    int status = status(t);
    if (status != 0) {
      // A redirect the client could not follow (a loop, or one without a Location) is no refusal either.
      return status >= 500 || status == 408 || status == 429 || (status >= 300 && status < 400);
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      // the request failed (connection, TLS, unknown host) or its answer was not JSON
      if (c instanceof IOException) {
        return true;
      }
      // an answer that was JSON but held no token
      if (c instanceof RegistryAuthenticationFailedException a && a.getMessage() != null && a.getMessage().contains("Did not get token")) {
        return true;
      }
    }
    return false;
  }

  static boolean isAuth(Throwable t) {
    if (isTokenServiceFailure(t)) {
      return false;
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof RegistryUnauthorizedException || c instanceof RegistryAuthenticationFailedException
          || c instanceof RegistryCredentialsNotSentException) {
        return true;
      }
    }
    int s = status(t);
    return s == 401 || s == 403;
  }

  /** Whether a plain-HTTP request was answered by a TLS server's complaint about it. */
  static boolean answeredPlainHttpAsTlsServer(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ResponseException r && r.getStatusCode() == 400 && r.getContent() != null
          && r.getContent().contains("HTTP request to an HTTPS server")) {
        return true;
      }
    }
    return false;
  }

  static boolean isTls(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof InsecureRegistryException || c instanceof SSLException) {
        return true;
      }
      // After a TLS failure jib-core tries plain HTTP on a loopback registry; a TLS server answers that so.
      if (answeredPlainHttpAsTlsServer(c)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Which credentials went with a session's requests, for the message of a refusal.
   *
   * @param source where the credentials came from ("CACHEMOUNT_REGISTRY_USER/PASSWORD", "settings.xml server 'ghcr.io'", ...); empty: none
   * @param helperFailure a Docker credential helper that failed, and what it said, when none were found
   * @param withheld whether jib-core left the credentials out because it went over to plain HTTP
   */
  record CredentialsUsed(Optional<String> source, Optional<String> helperFailure, boolean withheld) {
    String describe() {
      return source.map(s -> "the credentials from " + s + " were used")
          .orElseGet(() -> "no credentials were found (anonymous access)" + helperFailure.map(f -> ": " + f).orElse(""));
    }

    /**
     * What to do about a refusal: fix the source that was used (the sources before Docker's
     * config.json win over it, so a {@code docker login} would change nothing), or give some.
     */
    String advice(RegistryRef ref) {
      String s = source.orElse("");
      if (s.startsWith("settings.xml")) {
        return "Check the username and password of that <server> in settings.xml (the Maven plugin uses it before any other source)";
      }
      if (s.startsWith("--password-stdin")) {
        return "Check the password given on standard input and the user name in " + RegistryCredentials.USER_VARIABLE;
      }
      if (s.startsWith(RegistryCredentials.USER_VARIABLE)) {
        return "Check " + RegistryCredentials.USER_VARIABLE + " and " + RegistryCredentials.PASSWORD_VARIABLE
            + " (they come before Docker's config.json; unset them to use a `docker login`)";
      }
      // The Maven plugin finds its <server> by these ids: a server under another id (a repository's, say) is not used.
      String serverIds = ref.loginNames().stream().map(id -> "'" + id + "'").collect(java.util.stream.Collectors.joining(" or "));
      return "Log in with `docker login " + ref.registry() + "`, or set " + RegistryCredentials.USER_VARIABLE + " and "
          + RegistryCredentials.PASSWORD_VARIABLE + " (the CLI also reads the password from --password-stdin, the Maven plugin from a"
          + " <server> of settings.xml whose id is " + serverIds + ", or the one -Dcachemount.serverId names)";
    }
  }

  /**
   * The failure the user sees after the last try.
   *
   * @param operation what was being done, as "upload of blob sha256:..." or "fetch of the manifest"
   * @param tries how many tries were made
   * @param credentials which credentials went with the requests
   */
  static CachemountException toException(RegistryRef ref, String operation, Throwable t, int tries, CredentialsUsed credentials) {
    String where = "registry " + ref.registry() + ", repository " + ref.repository() + ": " + operation;
    int status = status(t);
    String statusText = status == 0 ? "" : " (HTTP " + status + ")";
    String after = tries > 1 ? " after " + tries + " tries" : "";
    if (t instanceof RegistryCredentialsNotSentException || (credentials.withheld() && isAuth(t))) {
      return CachemountException.auth(where + " was refused: the registry wants credentials, and cachemount sends credentials over plain"
          + " HTTP only to registries on this machine (loopback); serve " + ref.registry() + " over HTTPS (for a private CA: --ca-file, the Maven plugin's caFile)", t);
    }
    if (isTokenServiceFailure(t)) {
      String upAgain = ". The credentials were not refused; is the token service up? Try again later";
      String reason = status != 0 ? "it answered HTTP " + status + upAgain : tokenServiceReason(t, upAgain);
      return CachemountException.operational(where + " failed" + statusText + after + ": the registry's token service (its"
          + " WWW-Authenticate realm) did not issue a token: " + reason, t);
    }
    if (isAuth(t)) {
      // Listing tags (fallback=) is a right of its own in some registries (ECR's ecr:ListImages), and never a push's.
      String access = operation.startsWith("list of tags") ? "the right to list the tags of " + ref.repository()
          : operation.startsWith("delete") ? "the right to delete manifests of " + ref.repository()
          : (operation.startsWith("fetch") || operation.startsWith("download") ? "pull" : "push") + " access to " + ref.repository();
      if (insufficientScope(t) && credentials.source().isPresent()) {
        // Anonymous: a token registry answers so to a push, or to a private repository; logging in is the advice.
        // Not a matter of logging in again: the registry took the credentials and found them short.
        return CachemountException.auth(where + " was refused" + statusText + ": " + credentials.describe() + ", and the registry answered"
            + " that they lack " + access + " (insufficient_scope); give them " + access + ", or use credentials that have it", t);
      }
      // 403: the registry knows who asks and says no; without credentials that is an anonymous user, who may need to log in.
      String forbidden = status != 403 ? "" : credentials.source().isPresent() ? "; the credentials are valid but lack " + access
          : "; anonymous users lack " + access + " here";
      return CachemountException.auth(where + " was refused" + statusText + ": " + credentials.describe() + ". " + credentials.advice(ref)
          + forbidden, t);
    }
    if (isTls(t)) {
      // On loopback jib-core goes over to plain HTTP after the failed handshake, and what it throws is
      // then the TLS server's answer to that ("400 ... Client sent an HTTP request to an HTTPS server"),
      // not why the certificate was refused.
      String reason = answeredPlainHttpAsTlsServer(t) ? "it serves TLS, and its certificate was not accepted: it is not signed by a"
          + " trusted CA (nor by --ca-file's), or not issued for " + ref.hostName() : rootMessage(t);
      return CachemountException.operational(where + " failed: the TLS connection to " + ref.registry() + " could not be verified (" + reason
          + "). If a private CA signed its certificate, pass it with --ca-file PEM (the Maven plugin's caFile); for a registry without TLS on a"
          + " trusted network, insecure=true in the spec (or --insecure-registry " + ref.registry() + ", the Maven plugin's insecureRegistries)", t);
    }
    Optional<String> elsewhere = hostElsewhere(t, ref);
    if (elsewhere.isPresent()) {
      // The registry answered, and sent the request on (a redirect, as to its blob storage): that host
      // is the one not reached, not the registry, and the ref is not at fault.
      String failure = t instanceof UnknownHostException ? "unknown host" : "cannot connect to it" + after + " (" + rootMessage(t) + ")";
      return CachemountException.operational(where + " failed: the registry sent the request on (a redirect) to " + elsewhere.get() + ": "
          + failure + ". The registry itself answers; its blob storage is not reachable from this machine: check this machine's DNS,"
          + " firewall or proxy for " + elsewhere.get() + ", or tell the registry's operator", t);
    }
    if (t instanceof UnknownHostException) {
      return CachemountException.operational(where + " failed: unknown host " + ref.hostName() + "; check the ref", t);
    }
    if (status == 0 && cannotConnect(t)) {
      // Before any request was answered: whatever step was first (often authentication), the registry was not reached.
      return CachemountException.operational("registry " + ref.registry() + ", repository " + ref.repository() + ": cannot connect to "
          + ref.registry() + after + " (" + rootMessage(t) + ", at the " + operation + "); is the registry running, and are the ref's host and"
          + " port right?", t);
    }
    if (status == 0) {
      return CachemountException.operational(where + " failed" + after + ": " + rootMessage(t) + "; is the registry running and reachable?", t);
    }
    if (status >= 300 && status < 400) {
      // google-http-client follows redirects; one it hands back could not be followed.
      return CachemountException.operational(where + " failed" + statusText + after + ": the registry answered with a redirect that"
          + " could not be followed (it names no Location, or the redirects lead round, more than 10 of them); the registry, or a proxy"
          + " in front of it, is misconfigured: tell its operator", t);
    }
    return CachemountException.operational(where + " failed" + statusText + after + ": " + describe(t), t);
  }

  /** Why a token request that got no HTTP error failed; never the answer's text, which may hold a token. */
  /**
   * What says that a token request's realm cannot be asked at all (a {@code file:} or {@code ftp:}
   * URL, a host that is none), or null. Retried five times and told as "is the token service up? Try
   * again later", it sent the user waiting for a service that no retry reaches.
   */
  private static Throwable unaskableRealm(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.net.MalformedURLException || c instanceof IllegalArgumentException
          || (c instanceof org.apache.http.client.ClientProtocolException && c.getMessage() != null
              && c.getMessage().startsWith("URI does not specify a valid host name"))) {
        return c;
      }
    }
    return null;
  }

  private static String tokenServiceReason(Throwable t, String upAgain) {
    Throwable unaskable = unaskableRealm(t);
    if (unaskable != null) {
      return "its realm is not an http(s) URL this client can ask (" + rootMessage(unaskable) + "). The credentials were not refused;"
          + " the registry names the realm in its WWW-Authenticate header: check that the ref names the right registry, or tell the"
          + " registry's operator";
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SSLException) {
        return "its TLS certificate could not be verified (" + rootMessage(c) + "). The credentials were not refused; if a private CA"
            + " signed that certificate, pass the CA with --ca-file PEM (the Maven plugin's caFile)";
      }
      if (c instanceof UnknownHostException) {
        return "its host " + c.getMessage() + " is unknown. The credentials were not refused; check the realm the registry names in"
            + " WWW-Authenticate, and this machine's DNS";
      }
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof com.fasterxml.jackson.core.JacksonException) {
        return "its answer is not the JSON of a token" + upAgain;
      }
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof IOException) {
        return "cannot reach it (" + rootMessage(c) + ")" + upAgain;
      }
    }
    // jib-core's "Did not get token" message lists the request's parameters, which hold an OAuth2
    // refresh token where one is used: never shown
    return "its answer holds no token" + upAgain;
  }

  private static String describe(Throwable t) {
    if (t instanceof RegistryException && t.getMessage() != null) {
      return t.getMessage();
    }
    if (t instanceof ResponseException r && r.getContent() != null && !r.getContent().isBlank()) {
      String body = r.getContent().strip();
      return body.length() > 300 ? body.substring(0, 300) + "..." : body;
    }
    return rootMessage(t);
  }

  /**
   * The host a failed connection was for, when it is not the registry's: one a redirect of the
   * registry's named (blob storage). Apache's client names the host of a refused or timed-out
   * connection; an unknown host is named by its exception's message.
   */
  static Optional<String> hostElsewhere(Throwable t, RegistryRef ref) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      org.apache.http.HttpHost host = null;
      if (c instanceof org.apache.http.conn.HttpHostConnectException e) {
        host = e.getHost();
      } else if (c instanceof org.apache.http.conn.ConnectTimeoutException e) {
        host = e.getHost();
      }
      if (host != null && host.getHostName() != null) {
        boolean sameHost = sameHost(host.getHostName(), ref.hostName());
        int port = host.getPort();
        boolean samePort = port < 0 || port == ref.port() || (ref.port() < 0 && (port == 443 || port == 80));
        return sameHost && samePort ? Optional.empty() : Optional.of(host.toHostString());
      }
      if (c instanceof UnknownHostException u && u.getMessage() != null && !u.getMessage().isBlank()) {
        String name = u.getMessage();
        int colon = name.indexOf(": ");
        name = (colon < 0 ? name : name.substring(0, colon)).trim();
        return name.isEmpty() || name.contains(" ") || sameHost(name, ref.hostName()) ? Optional.empty() : Optional.of(name);
      }
    }
    return Optional.empty();
  }

  private static boolean sameHost(String a, String b) {
    String x = a.startsWith("[") && a.endsWith("]") ? a.substring(1, a.length() - 1) : a;
    String y = b.startsWith("[") && b.endsWith("]") ? b.substring(1, b.length() - 1) : b;
    if (x.equalsIgnoreCase(y)) {
      return true;
    }
    if (x.contains(":") && y.contains(":")) { // two IPv6 literals, spelled apart
      return RegistryRef.canonicalHost("[" + x + "]").equals(RegistryRef.canonicalHost("[" + y + "]"));
    }
    return false;
  }

  /** Whether a connection could not be made at all: refused, or no route to the host. */
  private static boolean cannotConnect(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof java.net.ConnectException || c instanceof java.net.NoRouteToHostException) {
        return true;
      }
    }
    return false;
  }

  static String rootMessage(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String m = root.getMessage();
    return root.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
