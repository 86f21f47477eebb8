package dev.cachemount.core.registry;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.oci.Json;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the distribution API's {@code GET /v2/NAME/tags/list}: a body {@code {"name": ..., "tags":
 * [...]}} ({@code tags} may be null) and, when there are more, a {@code Link: </v2/NAME/tags/list?n=..&last=..>;
 * rel="next"} header (RFC 5988), as the OCI distribution specification describes.
 */
final class TagList {
  private static final Pattern NEXT = Pattern.compile("<([^>]*)>\\s*;[^,]*rel=\"?next\"?", Pattern.CASE_INSENSITIVE);

  private TagList() {}

  /** The tags of one page. */
  static List<String> parse(byte[] body, String where) {
    JsonNode tree;
    try {
      tree = Json.mapper().readTree(body);
    } catch (IOException e) {
      throw malformed(where, "not JSON");
    }
    if (tree == null || !tree.isObject()) {
      throw malformed(where, "not a JSON object");
    }
    JsonNode tags = tree.get("tags");
    if (tags == null || tags.isNull()) {
      return List.of();
    }
    if (!tags.isArray()) {
      throw malformed(where, "its \"tags\" is not a list");
    }
    List<String> found = new ArrayList<>(tags.size());
    for (JsonNode tag : tags) {
      if (!tag.isTextual()) {
        throw malformed(where, "its \"tags\" holds something that is not a string");
      }
      found.add(tag.textValue());
    }
    return found;
  }

  /**
   * The path of the next page, relative to {@code /v2/REPOSITORY/} as requests are made, from the
   * response's {@code Link} headers; null when there is no next page.
   */
  static String nextPage(List<String> linkHeaders, String repository) {
    for (String header : linkHeaders) {
      Matcher m = NEXT.matcher(header);
      if (!m.find()) {
        continue;
      }
      String target = m.group(1).trim();
      URI uri;
      try {
        uri = new URI(target);
      } catch (URISyntaxException e) {
        throw malformed(repository, "its Link header names no valid address (" + target + ")");
      }
      String prefix = "/v2/" + repository + "/";
      String path = uri.getRawPath();
      if (path == null || !path.startsWith(prefix)) {
        throw malformed(repository, "its Link header leads out of the repository (" + target + ")");
      }
      return path.substring(prefix.length()) + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    }
    return null;
  }

  /** The failure of a list of tags that cannot be read: {@code why}, said of the list at {@code where}. */
  static CachemountException malformed(String where, String why) {
    return new CachemountException(FailureKind.OPERATIONAL, where + ": the registry's list of tags is malformed (" + why
        + "); neither a fallback= nor a prune can go through it: tell the registry's operator, or leave fallback= out");
  }
}
