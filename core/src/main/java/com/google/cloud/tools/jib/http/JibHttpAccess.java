package com.google.cloud.tools.jib.http;

import com.google.api.client.http.HttpTransport;
import com.google.cloud.tools.jib.api.LogEvent;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The two things cachemount needs from jib-core's HTTP layer that jib-core 0.28.1 keeps
 * package-private: a {@link FailoverHttpClient} built on transports we configure (a private CA from
 * {@code --ca-file}; jib's own retry off, because cachemount retries with its own policy and a dead
 * registry must fail in seconds, not after jib's 15-minute back-off), and request headers jib has no
 * builder method for ({@code Range}). This class lives in jib's package for that reason only and holds
 * no logic; the version of jib-core is pinned in the parent pom, and the registry integration tests
 * exercise every use.
 */
public final class JibHttpAccess {
  private JibHttpAccess() {}

  /**
   * A client that never retries on its own.
   *
   * @param allowHttpAndUnverifiedTls jib's failover: HTTPS, then HTTPS without verification, then HTTP
   * @param sendAuthorizationOverHttp whether credentials may travel over plain HTTP
   */
  public static FailoverHttpClient newClient(
      boolean allowHttpAndUnverifiedTls,
      boolean sendAuthorizationOverHttp,
      Consumer<LogEvent> logger,
      Supplier<HttpTransport> secureTransports,
      Supplier<HttpTransport> insecureTransports) {
    return new FailoverHttpClient(
        allowHttpAndUnverifiedTls, sendAuthorizationOverHttp, logger, secureTransports, insecureTransports, false);
  }

  /** Sets a header that {@link Request.Builder} has no method for. */
  public static Request withHeader(Request request, String name, String value) {
    request.getHeaders().set(name, value);
    return request;
  }
}
