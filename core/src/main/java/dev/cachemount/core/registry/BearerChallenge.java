package dev.cachemount.core.registry;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A {@code WWW-Authenticate: Bearer realm="...",service="...",scope="..."} challenge (RFC 6750, and
 * the distribution token specification): where to ask for a token, and for what. jib-core asks only
 * for pull and push; a registry that wants more for a request (distribution and Harbor want
 * {@code delete} to delete a manifest) says so in the challenge of its 401.
 *
 * @param realm the token server's address
 * @param service the {@code service} parameter, or empty
 * @param scope the {@code scope} parameter (possibly several, space-separated), or empty
 */
record BearerChallenge(String realm, Optional<String> service, Optional<String> scope) {
  /** The challenge in {@code header}; empty when it is not a Bearer challenge with a realm. */
  static Optional<BearerChallenge> parse(String header) {
    if (header == null) {
      return Optional.empty();
    }
    String h = header.trim();
    if (!h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Optional.empty();
    }
    Map<String, String> params = new HashMap<>();
    int i = 7;
    while (i < h.length()) {
      while (i < h.length() && (h.charAt(i) == ' ' || h.charAt(i) == ',')) {
        i++;
      }
      int eq = h.indexOf('=', i);
      if (eq < 0) {
        break;
      }
      String name = h.substring(i, eq).trim().toLowerCase(Locale.ROOT);
      i = eq + 1;
      StringBuilder value = new StringBuilder();
      if (i < h.length() && h.charAt(i) == '"') {
        for (i++; i < h.length() && h.charAt(i) != '"'; i++) {
          if (h.charAt(i) == '\\' && i + 1 < h.length()) {
            i++;
          }
          value.append(h.charAt(i));
        }
        i++; // the closing quote
      } else {
        for (; i < h.length() && h.charAt(i) != ','; i++) {
          value.append(h.charAt(i));
        }
      }
      params.putIfAbsent(name, value.toString().trim());
    }
    String realm = params.get("realm");
    if (realm == null || realm.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new BearerChallenge(realm, Optional.ofNullable(params.get("service")).filter(s -> !s.isEmpty()),
        Optional.ofNullable(params.get("scope")).filter(s -> !s.isEmpty())));
  }

  /** The token server's address asking for {@code scope} (this challenge's own when it names one): a GET's. */
  String tokenUrl(String fallbackScope) {
    return realm + (realm.contains("?") ? '&' : '?') + parameters(fallbackScope);
  }

  /**
   * The form of an OAuth2 request for a token with a refresh token (an identity token: the user
   * {@code <token>}), POSTed to the realm, as jib-core and Docker send it.
   */
  String refreshForm(String fallbackScope, String refreshToken) {
    return parameters(fallbackScope) + "&client_id=" + encode(RegistrySession.USER_AGENT) + "&grant_type=refresh_token&refresh_token="
        + encode(refreshToken);
  }

  /** {@code service=...&scope=...}: several scopes as several parameters, as Docker's client sends them. */
  private String parameters(String fallbackScope) {
    StringBuilder p = new StringBuilder();
    service.ifPresent(s -> p.append("service=").append(encode(s)).append('&'));
    String[] scopes = scope.orElse(fallbackScope).split(" ");
    for (int k = 0; k < scopes.length; k++) {
      p.append(k == 0 ? "" : "&").append("scope=").append(encode(scopes[k]));
    }
    return p.toString();
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
