package dev.cachemount.core.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.testing.TestTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IndexCacheTest {
  @TempDir Path dir;

  private static byte[] bytes(int seed, int n) {
    return TestTrees.randomBytes(new Random(seed), n);
  }

  @Test
  void keepsAnIndexAndGivesItBackOnlyForItsDigestAndSize() {
    IndexCache cache = IndexCache.at(dir.resolve("indexes"));
    byte[] index = bytes(1, 5000);
    Digest digest = Digest.of(index);
    assertEquals(Optional.empty(), cache.get(digest, index.length), "nothing before the first put");
    cache.put(digest, index);
    assertArrayEquals(index, cache.get(digest, index.length).orElseThrow());
    assertEquals(Optional.empty(), cache.get(digest, index.length + 1), "another size is another blob");
    assertEquals(Optional.empty(), IndexCache.NONE.get(digest, index.length));
  }

  @Test
  void anEntryWhoseBytesNoLongerMatchItsDigestIsAMissAndIsDeleted() throws IOException {
    IndexCache cache = IndexCache.at(dir);
    byte[] index = bytes(2, 5000);
    Digest digest = Digest.of(index);
    cache.put(digest, index);
    byte[] damaged = index.clone();
    damaged[100] ^= 1;
    Files.write(dir.resolve(digest.hex()), damaged);
    assertEquals(Optional.empty(), cache.get(digest, index.length));
    assertFalse(Files.exists(dir.resolve(digest.hex())));
  }

  @Test
  void keepsTheMostRecentlyUsedEntriesAndDropsStaleTemporaryFiles() throws IOException {
    IndexCache cache = IndexCache.at(dir);
    Digest[] digests = new Digest[IndexCache.KEEP];
    for (int i = 0; i < digests.length; i++) {
      byte[] index = bytes(10 + i, 1000);
      digests[i] = Digest.of(index);
      cache.put(digests[i], index);
      // distinct, increasing use times, however coarse the file system's clock
      Files.setLastModifiedTime(dir.resolve(digests[i].hex()), FileTime.fromMillis(1_700_000_000_000L + i * 1000L));
    }
    Path stale = dir.resolve(".tmp-left-by-a-killed-push");
    Files.write(stale, new byte[10]);
    Files.setLastModifiedTime(stale, FileTime.fromMillis(1_600_000_000_000L));
    // The oldest is used again: it is kept, and the next put prunes the least recently used.
    assertTrue(cache.get(digests[0], 1000).isPresent());
    byte[] last = bytes(99, 1000);
    cache.put(Digest.of(last), last);
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(IndexCache.KEEP, files.count(), "one in, one out, the stale temporary file gone");
    }
    assertTrue(Files.exists(dir.resolve(digests[0].hex())), "used again, so kept");
    assertTrue(Files.exists(dir.resolve(Digest.of(last).hex())));
    assertFalse(Files.exists(dir.resolve(digests[1].hex())), "least recently used, so dropped");
    assertFalse(Files.exists(stale));
  }

  @Test
  void aCacheThatCannotBeWrittenIsAMissNotAnError() throws IOException {
    Path file = dir.resolve("not-a-directory");
    Files.writeString(file, "x");
    IndexCache cache = IndexCache.at(file.resolve("indexes"));
    byte[] index = bytes(3, 100);
    cache.put(Digest.of(index), index);
    assertEquals(Optional.empty(), cache.get(Digest.of(index), index.length));
  }
}
