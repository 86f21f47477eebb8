package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The distribution API's tag list: its body, and the Link header that leads to its next page. */
class TagListTest {
  private static List<String> parse(String json) {
    return TagList.parse(json.getBytes(StandardCharsets.UTF_8), "r.example.com/cache");
  }

  @Test
  void readsTheTagsOfAPage() {
    assertEquals(List.of("m2-a", "m2-b"), parse("{\"name\":\"cache\",\"tags\":[\"m2-a\",\"m2-b\"]}"));
    assertEquals(List.of(), parse("{\"name\":\"cache\",\"tags\":null}"), "distribution's answer for a repository whose tags were all deleted");
    assertEquals(List.of(), parse("{\"name\":\"cache\"}"));
  }

  @Test
  void aBodyThatIsNotATagListIsAnOperationalFailureSayingSo() {
    for (String body : List.of("<html>", "[]", "{\"tags\":\"m2\"}", "{\"tags\":[1]}")) {
      CachemountException e = assertThrows(CachemountException.class, () -> parse(body), body);
      assertEquals(FailureKind.OPERATIONAL, e.kind());
      assertTrue(e.getMessage().contains("r.example.com/cache: the registry's list of tags is malformed"), e.getMessage());
    }
  }

  /** As distribution and the OCI specification write it (relative), and as other registries do (absolute, unquoted rel, several links). */
  @Test
  void theNextPageIsThePathRelativeToTheRepository() {
    assertEquals("tags/list?last=m2-b&n=2", TagList.nextPage(List.of("</v2/acme/cache/tags/list?last=m2-b&n=2>; rel=\"next\""), "acme/cache"));
    assertEquals("tags/list?n=2&last=x", TagList.nextPage(List.of("<https://r.example.com/v2/acme/cache/tags/list?n=2&last=x>; rel=next"),
        "acme/cache"));
    assertEquals("tags/list?last=y", TagList.nextPage(
        List.of("</v2/acme/cache/tags/list?last=a>; rel=\"prev\", </v2/acme/cache/tags/list?last=y>; rel=\"next\""), "acme/cache"));
    assertNull(TagList.nextPage(List.of(), "acme/cache"), "no header: the last page");
    assertNull(TagList.nextPage(List.of("</v2/acme/cache/tags/list?last=a>; rel=\"prev\""), "acme/cache"));
  }

  @Test
  void aLinkOutOfTheRepositoryIsRefused() {
    CachemountException e = assertThrows(CachemountException.class,
        () -> TagList.nextPage(List.of("</v2/other/tags/list?last=a>; rel=\"next\""), "acme/cache"));
    assertTrue(e.getMessage().contains("leads out of the repository"), e.getMessage());
  }
}
