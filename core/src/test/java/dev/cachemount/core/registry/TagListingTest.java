package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.testing.RecordingListener;
import dev.cachemount.core.testing.ScriptedRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RegistryStore#listTags} against a registry that answers {@code tags/list} badly: one whose
 * {@code Link} leads back to a page it sent, and one that refuses to list (HTTP 403). What fallback=
 * chooses among, and what the user reads when it cannot.
 */
class TagListingTest {
  @TempDir Path dir;
  private ScriptedRegistry server;
  private final AtomicInteger pagesAsked = new AtomicInteger();

  /** A registry of repository team/b whose {@code tags/list} {@code answer} writes. */
  private RegistryRef registry(Answer answer) throws IOException {
    server = new ScriptedRegistry("tag-listing-registry", x -> {
      if (x.getRequestURI().getPath().equals("/v2/team/b/tags/list")) {
        pagesAsked.incrementAndGet();
        answer.write(x);
      } else {
        x.sendResponseHeaders(404, -1);
      }
    });
    return RegistryRef.parse(server.host() + "/team/b:m2-new");
  }

  interface Answer {
    void write(HttpExchange x) throws IOException;
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private List<String> listTags(RegistryRef ref) throws IOException {
    try (RegistryStore store = new RegistryStore(ref, RegistrySettings.DEFAULT, false, Optional.empty(), Optional.empty(), dir,
        new RecordingListener())) {
      return store.listTags();
    }
  }

  /**
   * A registry whose next page is one it sent before would be asked for it again and again, a
   * thousand times, before the limit of pages ended it: a loop is told at once.
   */
  @Test
  void aLinkBackToAPageAlreadyReadEndsTheListingAtOnce() throws IOException {
    RegistryRef ref = registry(x -> {
      String query = x.getRequestURI().getRawQuery();
      boolean second = query != null && query.contains("last=m2-b");
      byte[] body = ("{\"name\":\"team/b\",\"tags\":" + (second ? "[\"m2-c\"]" : "[\"m2-a\",\"m2-b\"]") + "}").getBytes(StandardCharsets.UTF_8);
      // The second page leads back to the first.
      x.getResponseHeaders().set("Link", second ? "</v2/team/b/tags/list?n=1000>; rel=\"next\"" : "</v2/team/b/tags/list?n=1000&last=m2-b>; rel=\"next\"");
      x.sendResponseHeaders(200, body.length);
      x.getResponseBody().write(body);
    });
    CachemountException e = assertThrows(CachemountException.class, () -> listTags(ref));
    assertEquals(FailureKind.OPERATIONAL, e.kind());
    assertTrue(e.getMessage().contains("leads back to a page it sent before"), e.getMessage());
    assertEquals(2, pagesAsked.get(), "each page once");
  }

  /** Pages that each lead on to a new one are all read, in order. */
  @Test
  void pagesThatLeadOnAreAllRead() throws IOException {
    RegistryRef ref = registry(x -> {
      String query = x.getRequestURI().getRawQuery();
      int page = query != null && query.contains("last=") ? Integer.parseInt(query.replaceFirst("^.*last=t", "")) : 0;
      byte[] body = ("{\"name\":\"team/b\",\"tags\":[\"t" + (page + 1) + "\"]}").getBytes(StandardCharsets.UTF_8);
      if (page + 1 < 3) {
        x.getResponseHeaders().set("Link", "</v2/team/b/tags/list?n=1&last=t" + (page + 1) + ">; rel=\"next\"");
      }
      x.sendResponseHeaders(200, body.length);
      x.getResponseBody().write(body);
    });
    assertEquals(List.of("t1", "t2", "t3"), listTags(ref));
  }

  /**
   * Credentials that may pull but not list: an authorization failure (fallback= then goes on without
   * a fallback) that names the right they lack, not "push access", which a listing does not need.
   */
  @Test
  void aRefusalToListNamesTheRightToList() throws IOException {
    RegistryRef ref = registry(x -> x.sendResponseHeaders(403, -1));
    CachemountException e = assertThrows(CachemountException.class, () -> listTags(ref));
    assertEquals(FailureKind.AUTH, e.kind(), e.getMessage());
    assertFalse(e.getMessage().contains("push access"), e.getMessage());
    assertTrue(e.getMessage().contains("the right to list the tags of team/b"), e.getMessage());
  }

  /**
   * A registry whose page limit is below the thousand asked for may refuse the size (distribution
   * with a lower tags.maxtags answers 400): the list is asked for again without one.
   */
  @Test
  void aRefusedPageSizeIsAskedForAgainWithoutOne() throws IOException {
    RegistryRef ref = registry(x -> {
      String query = x.getRequestURI().getRawQuery();
      if (query != null && query.contains("n=1000")) {
        byte[] body = "{\"errors\":[{\"code\":\"PAGINATION_NUMBER_INVALID\",\"message\":\"invalid number of results requested\"}]}"
            .getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(400, body.length);
        x.getResponseBody().write(body);
        return;
      }
      byte[] body = "{\"name\":\"team/b\",\"tags\":[\"m2-a\"]}".getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(200, body.length);
      x.getResponseBody().write(body);
    });
    assertEquals(List.of("m2-a"), listTags(ref));
    assertEquals(2, pagesAsked.get());
  }
}
