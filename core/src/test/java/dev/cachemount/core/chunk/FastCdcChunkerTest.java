package dev.cachemount.core.chunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FastCdcChunkerTest {
  private final FastCdcChunker chunker = new FastCdcChunker(ChunkerParameters.DEFAULT);

  private List<Integer> cuts(byte[] data) {
    List<Integer> lengths = new ArrayList<>();
    int offset = 0;
    while (offset < data.length) {
      int n = chunker.cut(data, offset, data.length - offset);
      lengths.add(n);
      offset += n;
    }
    return lengths;
  }

  private List<Digest> chunks(byte[] data) {
    List<Digest> digests = new ArrayList<>();
    int offset = 0;
    for (int n : cuts(data)) {
      digests.add(Digest.of(data, offset, n));
      offset += n;
    }
    return digests;
  }

  private static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void chunksRespectMinimumAndMaximumAndAverageNearTheTarget() {
    byte[] data = random(1, 8 << 20);
    List<Integer> lengths = cuts(data);
    for (int i = 0; i < lengths.size() - 1; i++) {
      int n = lengths.get(i);
      assertTrue(n >= ChunkerParameters.DEFAULT.minSize() && n <= ChunkerParameters.DEFAULT.maxSize(), "chunk " + i + " has " + n + " bytes");
    }
    double average = (double) data.length / lengths.size();
    assertTrue(average > 3000 && average < 6000, "average chunk " + average);
  }

  @Test
  void cutPointsAreDeterministicAndDependOnlyOnContent() {
    byte[] data = random(2, 1 << 20);
    assertEquals(cuts(data), cuts(data.clone()));
    // The same bytes at another offset of a larger array are cut at the same places.
    byte[] shifted = new byte[data.length + 777];
    System.arraycopy(data, 0, shifted, 777, data.length);
    List<Integer> lengths = new ArrayList<>();
    int offset = 777;
    while (offset < shifted.length) {
      int n = chunker.cut(shifted, offset, shifted.length - offset);
      lengths.add(n);
      offset += n;
    }
    assertEquals(cuts(data), lengths);
  }

  @Test
  void insertingBytesEarlyChangesOnlyTheChunksNearTheInsertion() {
    byte[] original = random(3, 2 << 20);
    byte[] edited = new byte[original.length + 13];
    int at = 5000;
    System.arraycopy(original, 0, edited, 0, at);
    System.arraycopy(random(4, 13), 0, edited, at, 13);
    System.arraycopy(original, at, edited, at + 13, original.length - at);

    List<Digest> before = chunks(original);
    List<Digest> after = chunks(edited);
    Set<Digest> beforeSet = new HashSet<>(before);
    int changed = 0;
    for (Digest d : after) {
      if (!beforeSet.contains(d)) {
        changed++;
      }
    }
    // Only the chunk holding the insertion (and perhaps its neighbour) differs.
    assertTrue(changed >= 1 && changed <= 3, changed + " of " + after.size() + " chunks changed");
    // Everything after the re-synchronisation point is byte-for-byte the same chunk sequence.
    assertEquals(before.subList(before.size() - (after.size() - 3), before.size()), after.subList(3, after.size()));
  }

  @Test
  void smallInputsAreOneChunk() {
    byte[] data = random(5, 1000);
    assertEquals(List.of(1000), cuts(data));
    assertEquals(List.of(), cuts(new byte[0]));
  }

  @Test
  void uniformDataIsCutAtTheMaximum() {
    byte[] zeros = new byte[200_000];
    List<Integer> lengths = cuts(zeros);
    assertEquals(ChunkerParameters.DEFAULT.maxSize(), lengths.get(0));
  }

  @Test
  void chunkReaderFindsTheSameCutsWhateverTheReadSizes() throws IOException {
    byte[] data = random(6, 3 << 20);
    List<Integer> expected = cuts(data);
    Random sizes = new Random(7);
    ReadableByteChannel trickle = new ReadableByteChannel() {
      int position;

      @Override
      public int read(ByteBuffer dst) {
        if (position == data.length) {
          return -1;
        }
        int n = Math.min(Math.min(dst.remaining(), 1 + sizes.nextInt(50_000)), data.length - position);
        dst.put(data, position, n);
        position += n;
        return n;
      }

      @Override
      public boolean isOpen() {
        return true;
      }

      @Override
      public void close() {}
    };
    List<Integer> actual = new ArrayList<>();
    long total = new ChunkReader(chunker, 100_000).read(trickle, (b, off, len) -> actual.add(len));
    assertEquals(data.length, total);
    assertEquals(expected, actual);
  }

  @Test
  void parametersAreValidated() {
    assertThrows(IllegalArgumentException.class, () -> new ChunkerParameters("rabin", 1024, 4096, 32768, 2, 1));
    assertThrows(IllegalArgumentException.class, () -> new ChunkerParameters(ChunkerParameters.FASTCDC_2020, 1024, 5000, 32768, 2, 1));
    assertThrows(IllegalArgumentException.class, () -> new ChunkerParameters(ChunkerParameters.FASTCDC_2020, 8192, 4096, 32768, 2, 1));
    assertThrows(IllegalArgumentException.class, () -> new ChunkerParameters(ChunkerParameters.FASTCDC_2020, 1024, 4096, 32 << 20, 2, 1));
  }

  @Test
  void masksSpreadTheirBitsOverTheUpperWord() {
    long mask = FastCdcChunker.mask(14);
    assertEquals(14, Long.bitCount(mask));
    assertEquals(0, mask & 0xFFFFL, "no bit depends on fewer than 16 bytes");
  }
}
