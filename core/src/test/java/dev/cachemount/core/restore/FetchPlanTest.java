package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.FrameEncoding;
import dev.cachemount.core.index.SnapshotIndex;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a restore asks for the frames it needs: ranges when it needs little of a pack, the pack when it needs much. */
class FetchPlanTest {
  private static final int FRAME = 16 * 1024;
  private static final long PACK = 200L * FRAME;

  /** An index of one pack of 200 frames of 16 KiB, back to back. */
  private static SnapshotIndex index() {
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    int pack = b.addPack(Digest.of(new byte[] {1}), PACK);
    for (int f = 0; f < 200; f++) {
      int frame = b.addFrame(pack, (long) f * FRAME, FRAME, FRAME, FrameEncoding.RAW);
      b.addChunk(Digest.of(new byte[] {2, (byte) f}), frame, 0, FRAME);
    }
    return b.build();
  }

  @Test
  void eachChunkAFrameServesIsVerifiedOnceHoweverManyFilesUseIt() {
    assertArrayEquals(new int[] {}, Restorer.sortedDistinct(new int[] {}));
    assertArrayEquals(new int[] {7}, Restorer.sortedDistinct(new int[] {7, 7, 7}));
    assertArrayEquals(new int[] {0, 3, 5, 9}, Restorer.sortedDistinct(new int[] {9, 3, 3, 0, 5, 9, 0}));
    java.util.Random random = new java.util.Random(5);
    for (int round = 0; round < 200; round++) {
      int[] values = random.ints(random.nextInt(40), 0, 30).toArray();
      int[] expected = java.util.Arrays.stream(values).distinct().sorted().toArray();
      assertArrayEquals(expected, Restorer.sortedDistinct(values.clone()), java.util.Arrays.toString(values));
    }
  }

  @Test
  void farApartFramesAreFetchedAsSeparateRanges() {
    List<FrameReader.Span> spans = FrameReader.plan(index(), List.of(3, 100, 190), PACK);
    assertEquals(List.of(new FrameReader.Span(3L * FRAME, 4L * FRAME, List.of(3)),
        new FrameReader.Span(100L * FRAME, 101L * FRAME, List.of(100)),
        new FrameReader.Span(190L * FRAME, 191L * FRAME, List.of(190))), spans);
  }

  /** Frames {@code from} to {@code to - 1}, in a list that takes more. */
  private static List<Integer> run(int from, int to) {
    List<Integer> frames = new java.util.ArrayList<>();
    for (int f = from; f < to; f++) {
      frames.add(f);
    }
    return frames;
  }

  @Test
  void adjacentFramesShareARange() {
    List<FrameReader.Span> spans = FrameReader.plan(index(), List.of(10, 11, 12, 61), PACK);
    assertEquals(List.of(new FrameReader.Span(10L * FRAME, 13L * FRAME, List.of(10, 11, 12)),
        new FrameReader.Span(61L * FRAME, 62L * FRAME, List.of(61))), spans);
  }

  @Test
  void gapsAreReadOnlyWithinAnEighthOfTheNeededBytesSmallestFirst() {
    // 42 frames needed: a budget of 5.25 frames. The gap of 2 frames (45, 46) is read; the gap of 4
    // (40 … 43) would exceed what is left, so 44 and 47 are one range and 0 … 39 another.
    List<Integer> frames = run(0, 40);
    frames.add(44);
    frames.add(47);
    List<FrameReader.Span> spans = FrameReader.plan(index(), frames, PACK);
    assertEquals(List.of(new FrameReader.Span(0, 40L * FRAME, frames.subList(0, 40)),
        new FrameReader.Span(44L * FRAME, 48L * FRAME, List.of(44, 47))), spans);
    long read = spans.stream().mapToLong(s -> s.end() - s.start()).sum();
    assertEquals(44L * FRAME, read, "the needed 42 frames and a gap of 2");
  }

  @Test
  void aGapOverTheMergeLimitIsNeverReadWhateverTheBudget() {
    // 150 frames needed (a budget of 18.75 frames) in a pack large enough not to be read whole; the
    // gap of 17 frames (272 KiB) to frame 167 exceeds MERGE_GAP.
    List<Integer> frames = run(0, 150);
    frames.add(167);
    List<FrameReader.Span> spans = FrameReader.plan(index(), frames, 10 * PACK);
    assertEquals(2, spans.size());
    assertEquals(new FrameReader.Span(167L * FRAME, 168L * FRAME, List.of(167)), spans.get(1));
  }

  @Test
  void framesScatteredOverAPackAreReadApartNotAsThePack() {
    List<Integer> scattered = new java.util.ArrayList<>();
    for (int f = 0; f < 200; f += 25) {
      scattered.add(f);
    }
    List<FrameReader.Span> spans = FrameReader.plan(index(), scattered, PACK);
    assertEquals(8, spans.size());
    assertEquals(8L * FRAME, spans.stream().mapToLong(s -> s.end() - s.start()).sum(), "their frames, not the gaps");
  }

  @Test
  void whenMostOfThePackIsNeededItIsReadInOneGo() {
    // Two runs far apart that hold two thirds of the pack: one read, not two.
    List<Integer> many = run(0, 70);
    many.addAll(run(136, 200));
    List<FrameReader.Span> spans = FrameReader.plan(index(), many, PACK);
    assertEquals(List.of(new FrameReader.Span(0, PACK, many)), spans);
    assertEquals(2, FrameReader.plan(index(), many.subList(60, 80), PACK).size(), "a small share stays two ranges");
  }

  /** {@code n} one-frame spans, 10 frames apart. */
  private static List<FrameReader.Span> spans(int n) {
    List<FrameReader.Span> spans = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      spans.add(new FrameReader.Span(i * 10L * FRAME, (i * 10L + 1) * FRAME, List.of(i * 10)));
    }
    return spans;
  }

  private static SnapshotIndex.PackRef pack(int n) {
    return new SnapshotIndex.PackRef(Digest.of(new byte[] {(byte) n}), 1L << 30);
  }

  @Test
  void aPacksSpansAreAskedForTogetherInEqualGroupsOfAtMostTheLimit() {
    // 359 spans over 3 packs (as in a warm pull of the go corpus, 400 files missing): 9 reads, not 359.
    List<FrameReader.Task> tasks = FrameReader.group(List.of(pack(1), pack(2), pack(3)), List.of(spans(120), spans(139), spans(100)), 4);
    assertEquals(List.of(40, 40, 40, 46, 46, 47, 33, 33, 34), tasks.stream().map(t -> t.spans().size()).toList());
    assertEquals(359, tasks.stream().mapToInt(t -> t.spans().size()).sum());
    assertEquals(List.of(pack(1), pack(1), pack(1), pack(2), pack(2), pack(2), pack(3), pack(3), pack(3)), tasks.stream().map(FrameReader.Task::pack).toList());
    assertEquals(spans(120).subList(40, 80), tasks.get(1).spans(), "neighbouring spans, in order");
    assertTrue(tasks.stream().allMatch(t -> t.spans().size() <= FrameReader.MAX_SPANS_PER_READ));
  }

  @Test
  void fewSpansAreSplitSoThatEveryReaderHasSome() {
    // 12 spans of one pack and 4 readers: 4 reads of 3, so that a registry that serves one range per
    // request still has 4 requests in flight.
    List<FrameReader.Task> tasks = FrameReader.group(List.of(pack(1)), List.of(spans(12)), 4);
    assertEquals(List.of(3, 3, 3, 3), tasks.stream().map(t -> t.spans().size()).toList());
    // A cold pull: one span per pack, one read per pack.
    tasks = FrameReader.group(List.of(pack(1), pack(2)), List.of(spans(1), spans(1)), 4);
    assertEquals(List.of(1, 1), tasks.stream().map(t -> t.spans().size()).toList());
  }
}
