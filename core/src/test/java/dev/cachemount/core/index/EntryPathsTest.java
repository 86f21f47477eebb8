package dev.cachemount.core.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EntryPathsTest {
  /** The order the format defines: unsigned bytes of the UTF-8 encoding. */
  private static int utf8Order(String a, String b) {
    return Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void orderIsTheUnsignedOrderOfUtf8Bytes() {
    String[] samples = {"", "a", "a/b", "a-b", "a.b", "ab", "a/", "z", "é", "ü/x", "\uFFFD", "\uE000", "\uFF21",
        "\uD83D\uDE00", "\uD83D\uDE00/a", "\uD800\uDC00", "\uDBFF\uDFFF", "日本", "a\u007F", "a\u0080"};
    for (String a : samples) {
      for (String b : samples) {
        assertEquals(Integer.signum(utf8Order(a, b)), Integer.signum(EntryPaths.ORDER.compare(a, b)), a + " vs " + b);
      }
    }
  }

  @Test
  void orderAgreesWithUtf8BytesOnRandomPaths() {
    Random random = new Random(1127);
    int[] ranges = {0x20, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF};
    for (int round = 0; round < 20_000; round++) {
      String a = randomPath(random, ranges);
      String b = random.nextInt(4) == 0 ? a + randomPath(random, ranges) : randomPath(random, ranges);
      assertEquals(Integer.signum(utf8Order(a, b)), Integer.signum(EntryPaths.ORDER.compare(a, b)), a + " vs " + b);
    }
  }

  private static String randomPath(Random random, int[] ranges) {
    StringBuilder s = new StringBuilder();
    for (int i = 0, n = 1 + random.nextInt(4); i < n; i++) {
      int r = random.nextInt(ranges.length / 2) * 2;
      s.appendCodePoint(ranges[r] + random.nextInt(ranges[r + 1] - ranges[r] + 1));
    }
    return s.toString();
  }

  @Test
  void aParentSortsBeforeItsChildrenAndTheirSiblings() {
    assertTrue(EntryPaths.ORDER.compare("a", "a/b") < 0);
    assertTrue(EntryPaths.ORDER.compare("a/b", "a-b") > 0, "'/' is 0x2F, '-' is 0x2D");
    assertTrue(EntryPaths.ORDER.compare("a/\uD83D\uDE00", "a/\uFFFD") > 0, "a code point above FFFF sorts after FFFD");
  }

  @Test
  void belowACheckedParentOnlyTheLastSegmentAndTheLengthDecideAndTheAnswerIsTheSame() {
    // the last one near the length limit: some of its children pass it
    String[] parents = {"a", "org/apache/maven", "é/日本", "p".repeat(255) + "/" + "q".repeat(255), "n".repeat(250) + ("/" + "n".repeat(250)).repeat(15)};
    String[] lasts = {"x", "", ".", "..", "...", "with\0nul", "back\\slash", "s".repeat(255), "s".repeat(256), "é".repeat(127),
        "é".repeat(128), "日".repeat(85), "日".repeat(86), "\uD83D\uDE00", "t".repeat(200),
        "lone-\uD83D", "\uDE00-lone", "\uD83D".repeat(86)};
    int checked = 0;
    for (String parent : parents) {
      assertNull(EntryPaths.problem(parent), parent);
      for (String last : lasts) {
        for (int depth = 0; depth < 40; depth += 13) {
          // deep parents run the whole path past its limit
          String deep = (parent + "/").repeat(depth + 1) + "d";
          String path = deep + "/" + last;
          if (EntryPaths.problem(deep) == null) {
            assertEquals(EntryPaths.problem(path), EntryPaths.problemBelow(path, deep.length()), path);
            checked++;
          }
        }
      }
    }
    assertTrue(checked > 100, checked + " paths compared");
    assertEquals("the path is longer than 4096 bytes", EntryPaths.problem(parents[4] + "/d/" + "s".repeat(255)), "the limit is reached");
    String longest = "a/".repeat(2048) + "b";
    assertEquals("the path is longer than 4096 bytes", EntryPaths.problem(longest));
    assertEquals(EntryPaths.problem(longest), EntryPaths.problemBelow(longest, 4095));
  }
}
