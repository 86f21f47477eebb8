package dev.cachemount.core.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DigestTableTest {
  private static Digest random(Random random) {
    byte[] raw = new byte[Digest.LENGTH];
    random.nextBytes(raw);
    return Digest.ofRaw(raw);
  }

  /** Digests equal in their first 31 bytes: what an index made to collide could list. */
  private static List<Digest> alike(int n) {
    List<Digest> digests = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] raw = new byte[Digest.LENGTH];
      raw[30] = (byte) (i >> 8);
      raw[31] = (byte) i;
      digests.add(Digest.ofRaw(raw));
    }
    return digests;
  }

  @Test
  void holdsWhatAMapHoldsThroughGrowth() {
    Random random = new Random(3);
    DigestTable table = new DigestTable(4);
    Map<Digest, Integer> expected = new HashMap<>();
    List<Digest> all = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      Digest d = random(random);
      all.add(d);
      assertEquals(-1, table.putIfAbsent(d, i));
      expected.put(d, i);
    }
    all.addAll(alike(3_000));
    for (int i = 20_000; i < all.size(); i++) {
      assertEquals(-1, table.putIfAbsent(all.get(i), i));
      expected.put(all.get(i), i);
    }
    assertEquals(expected.size(), table.size());
    for (Digest d : all) {
      assertEquals(expected.get(d), table.get(d));
      assertEquals(expected.get(d), table.putIfAbsent(d, 7), "a digest it holds keeps its value");
    }
    assertEquals(-1, table.get(random(random)));
    assertThrows(IllegalArgumentException.class, () -> table.putIfAbsent(random(random), -1));
  }

  @Test
  void aConcurrentSetAddsEachDigestOnceWhateverTheThreads() throws Exception {
    Random random = new Random(5);
    List<Digest> distinct = new ArrayList<>();
    for (int i = 0; i < 30_000; i++) {
      distinct.add(random(random));
    }
    distinct.addAll(alike(2_000));
    ConcurrentDigestSet set = new ConcurrentDigestSet(16);
    AtomicInteger added = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int start = t * 997;
        futures.add(pool.submit(() -> {
          // every thread adds every digest, from a different starting point
          for (int i = 0; i < distinct.size(); i++) {
            if (set.add(distinct.get((start + i) % distinct.size()))) {
              added.incrementAndGet();
            }
          }
        }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(distinct.size(), added.get());
  }
}
