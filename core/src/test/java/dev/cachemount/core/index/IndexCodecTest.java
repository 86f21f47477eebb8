package dev.cachemount.core.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.blob.Digest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IndexCodecTest {
  private static Digest d(int i) {
    return Digest.of(new byte[] {(byte) i, (byte) (i >> 8)});
  }

  /** A small index: two packs, three frames, four chunks, every entry type. */
  static SnapshotIndex sample() {
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    int p0 = b.addPack(d(100), 5000);
    int p1 = b.addPack(d(101), 900);
    int f0 = b.addFrame(p0, 0, 1200, 3000, FrameEncoding.ZSTD);
    int f1 = b.addFrame(p0, 1200, 2000, 2000, FrameEncoding.RAW);
    int f2 = b.addFrame(p1, 0, 400, 1000, FrameEncoding.ZSTD);
    b.addChunk(d(1), f0, 0, 1000);
    b.addChunk(d(2), f0, 1000, 2000);
    b.addChunk(d(3), f1, 0, 2000);
    b.addChunk(d(4), f2, 0, 1000);
    b.addEntry(Entry.directory("a", 0755, 1_600_000_000L, 123_456_789));
    b.addEntry(Entry.directory("a/b", 0700, -5, 0));
    b.addFile("a/b/file", 0644, 3000, 1_700_000_000L, 1, new Digest[] {d(1), d(2)});
    b.addFile("a/exec", 0755, 5000, 4_000_000_000L, 999_999_999, new Digest[] {d(3), d(4), d(3)});
    b.addFile("empty", 0600, 0, 0, 0, new Digest[0]);
    b.addEntry(Entry.symlink("a/link", 0777, 1, 2, "b/file"));
    b.addFile("a/b/same", 0644, 3000, 1_700_000_000L, 1, new Digest[] {d(1), d(2)});
    b.addEntry(Entry.directory("ünïcode-日本", 0755, 7, 8));
    return b.build();
  }

  @Test
  void roundTripsEveryField() {
    SnapshotIndex index = sample();
    SnapshotIndex decoded = IndexCodec.decode(IndexCodec.encode(index, 3), 1 << 20);
    assertEquals(index.entries(), decoded.entries());
    assertEquals(index.packs(), decoded.packs());
    assertEquals(index.frames(), decoded.frames());
    assertEquals(index.chunkCount(), decoded.chunkCount());
    for (int i = 0; i < index.chunkCount(); i++) {
      assertEquals(index.chunkDigest(i), decoded.chunkDigest(i));
      assertEquals(index.chunkFrame(i), decoded.chunkFrame(i));
      assertEquals(index.chunkOffset(i), decoded.chunkOffset(i));
      assertEquals(index.chunkLength(i), decoded.chunkLength(i));
    }
    assertTrue(index.sameTreeAs(decoded));
    assertEquals(11000, decoded.totalBytes());
    assertEquals(4, decoded.fileCount());
    assertArrayEquals(IndexCodec.encodePayload(index), IndexCodec.encodePayload(decoded));
  }

  @Test
  void entriesAreSortedByUtf8BytesAndChunksByDigest() {
    SnapshotIndex index = sample();
    List<Entry> entries = index.entries();
    for (int i = 1; i < entries.size(); i++) {
      assertTrue(EntryPaths.ORDER.compare(entries.get(i - 1).path(), entries.get(i).path()) < 0);
    }
    for (int i = 1; i < index.chunkCount(); i++) {
      assertTrue(index.chunkDigest(i - 1).compareTo(index.chunkDigest(i)) < 0);
    }
    assertEquals(2, index.findChunk(index.chunkDigest(2)));
    assertEquals(-1, index.findChunk(d(99)));
  }

  @Test
  void sameTreeAsComparesContentNotPacking() {
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    int p = b.addPack(d(200), 10_000);
    int f = b.addFrame(p, 100, 6000, 6000, FrameEncoding.RAW);
    b.addChunk(d(1), f, 0, 1000);
    b.addChunk(d(2), f, 1000, 2000);
    b.addChunk(d(3), f, 3000, 2000);
    b.addChunk(d(4), f, 5000, 1000);
    b.addEntry(Entry.directory("a", 0700, 1_600_000_000L, 123_456_789));
    b.addEntry(Entry.directory("a/b", 0755, -5, 0));
    b.addFile("a/b/file", 0600, 3000, 1_700_000_000L, 1, new Digest[] {d(1), d(2)});
    b.addFile("a/exec", 0700, 5000, 4_000_000_000L, 999_999_999, new Digest[] {d(3), d(4), d(3)});
    b.addFile("empty", 0644, 0, 0, 0, new Digest[0]);
    b.addEntry(Entry.symlink("a/link", 0777, 1, 2, "b/file"));
    b.addFile("a/b/same", 0644, 3000, 1_700_000_000L, 1, new Digest[] {d(1), d(2)});
    b.addEntry(Entry.directory("ünïcode-日本", 0755, 7, 8));
    SnapshotIndex repacked = b.build();
    assertTrue(sample().sameTreeAs(repacked), "other packing and non-exec mode bits do not matter");

    SnapshotIndex.Builder c = new SnapshotIndex.Builder();
    int q = c.addPack(d(200), 10_000);
    int g = c.addFrame(q, 0, 3000, 3000, FrameEncoding.RAW);
    c.addChunk(d(1), g, 0, 1000);
    c.addChunk(d(5), g, 1000, 2000);
    c.addEntry(Entry.directory("a", 0755, 1_600_000_000L, 123_456_789));
    c.addFile("a/file", 0644, 3000, 1, 1, new Digest[] {d(1), d(5)});
    assertFalse(sample().sameTreeAs(c.build()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"../escape", "/absolute", "a//b", "a/./b", "a/..", "back\\slash", "nul\0byte", "trailing/"})
  void refusesUnsafePaths(String path) {
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    b.addFile(path, 0644, 0, 0, 0, new Digest[0]);
    CachemountException e = assertThrows(CachemountException.class, b::build);
    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertTrue(e.getMessage().contains("unsafe"), e.getMessage());
  }

  /** Below a directory entry, a path is checked by its last segment and length alone: the same refusals. */
  @ParameterizedTest
  @ValueSource(strings = {"..", ".", "", "back\\slash", "nul\0byte", "LONG-ASCII", "LONG-UTF8"})
  void refusesUnsafeNamesBelowADirectoryEntry(String given) {
    String name = switch (given) {
      case "LONG-ASCII" -> "s".repeat(256);
      case "LONG-UTF8" -> "é".repeat(128);
      default -> given;
    };
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    b.addEntry(Entry.directory("a", 0755, 0, 0));
    b.addFile("a/" + name, 0644, 0, 0, 0, new Digest[0]);
    CachemountException e = assertThrows(CachemountException.class, b::build);
    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertEquals("snapshot is unsafe: entry 'a/" + SnapshotIndex.printable(name) + "': " + EntryPaths.problem("a/" + name), e.getMessage());
  }

  @Test
  void refusesAnEntryForTheRootAndEntriesWithoutTheirParentDirectory() {
    SnapshotIndex.Builder root = new SnapshotIndex.Builder();
    root.addEntry(Entry.directory("", 0755, 0, 0));
    assertEquals(FailureKind.INTEGRITY, assertThrows(CachemountException.class, root::build).kind());

    SnapshotIndex.Builder orphan = new SnapshotIndex.Builder();
    orphan.addFile("missing/parent", 0644, 0, 0, 0, new Digest[0]);
    assertTrue(assertThrows(CachemountException.class, orphan::build).getMessage().contains("parent"));

    SnapshotIndex.Builder underFile = new SnapshotIndex.Builder();
    underFile.addFile("f", 0644, 0, 0, 0, new Digest[0]);
    underFile.addFile("f/g", 0644, 0, 0, 0, new Digest[0]);
    assertThrows(CachemountException.class, underFile::build);
  }

  @Test
  void refusesInconsistentReferences() {
    SnapshotIndex.Builder tooLong = new SnapshotIndex.Builder();
    int p = tooLong.addPack(d(1), 100);
    tooLong.addFrame(p, 50, 60, 60, FrameEncoding.RAW);
    assertTrue(assertThrows(CachemountException.class, tooLong::build).getMessage().contains("past the end"));

    SnapshotIndex.Builder wrongSize = new SnapshotIndex.Builder();
    int q = wrongSize.addPack(d(1), 100);
    int f = wrongSize.addFrame(q, 0, 100, 100, FrameEncoding.RAW);
    wrongSize.addChunk(d(2), f, 0, 100);
    wrongSize.addFile("f", 0644, 99, 0, 0, new Digest[] {d(2)});
    assertTrue(assertThrows(CachemountException.class, wrongSize::build).getMessage().contains("size"));

    SnapshotIndex.Builder outsideFrame = new SnapshotIndex.Builder();
    int r = outsideFrame.addPack(d(1), 100);
    int g = outsideFrame.addFrame(r, 0, 100, 100, FrameEncoding.RAW);
    outsideFrame.addChunk(d(2), g, 50, 51);
    assertThrows(CachemountException.class, outsideFrame::build);
  }

  @Test
  void everyTruncationOrFlippedByteOfThePayloadIsAnIntegrityErrorOrAnotherValidIndex() {
    byte[] payload = IndexCodec.encodePayload(sample());
    for (int cut = 0; cut < payload.length; cut++) {
      byte[] truncated = java.util.Arrays.copyOf(payload, cut);
      CachemountException e = assertThrows(CachemountException.class, () -> IndexCodec.decodePayload(truncated), "cut at " + cut);
      assertEquals(FailureKind.INTEGRITY, e.kind());
    }
    for (int i = 0; i < payload.length; i++) {
      byte[] flipped = payload.clone();
      flipped[i] ^= 0x41;
      try {
        IndexCodec.decodePayload(flipped);
      } catch (CachemountException e) {
        // The version byte made larger names a later format: not damage (docs/format.md, "Compatibility rules").
        boolean newer = i == IndexCodec.MAGIC.length && flipped[i] > IndexCodec.VERSION;
        assertEquals(newer ? FailureKind.OPERATIONAL : FailureKind.INTEGRITY, e.kind(), "byte " + i);
      }
    }
  }

  @Test
  void refusesTrailingBytesUnknownVersionsAndOversizedPayloads() {
    byte[] payload = IndexCodec.encodePayload(sample());
    byte[] longer = java.util.Arrays.copyOf(payload, payload.length + 1);
    assertTrue(assertThrows(CachemountException.class, () -> IndexCodec.decodePayload(longer)).getMessage().contains("unexpected bytes"));

    byte[] v2 = payload.clone();
    v2[4] = 2;
    CachemountException newer = assertThrows(CachemountException.class, () -> IndexCodec.decodePayload(v2));
    assertTrue(newer.getMessage().contains("upgrade") && newer.kind() == FailureKind.OPERATIONAL, newer.getMessage());
    byte[] v0 = payload.clone();
    v0[4] = 0;
    assertEquals(FailureKind.INTEGRITY, assertThrows(CachemountException.class, () -> IndexCodec.decodePayload(v0)).kind());

    byte[] blob = IndexCodec.encode(sample(), 3);
    CachemountException e = assertThrows(CachemountException.class, () -> IndexCodec.decode(blob, 100));
    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertThrows(CachemountException.class, () -> IndexCodec.decode(new byte[] {1, 2, 3}, 1 << 20));
  }

  @Test
  void aFrameOffsetThatWouldOverflowIsRefused() {
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    int p = b.addPack(d(1), 100);
    b.addFrame(p, Long.MAX_VALUE - 5, 60, 60, FrameEncoding.RAW);
    CachemountException e = assertThrows(CachemountException.class, b::build);
    assertTrue(e.getMessage().contains("past the end"), e.getMessage());
  }

  @Test
  void aFrameStoredLargerThanItsContentIsRefused() {
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    int p = b.addPack(d(1), 1 << 30);
    b.addFrame(p, 0, 1 << 29, 100, FrameEncoding.ZSTD);
    CachemountException e = assertThrows(CachemountException.class, b::build);
    assertEquals(FailureKind.INTEGRITY, e.kind());
  }

  @Test
  void aSmallBlobCannotDeclareAHugePayload() {
    byte[] blob;
    try (com.github.luben.zstd.ZstdCompressCtx ctx = new com.github.luben.zstd.ZstdCompressCtx()) {
      ctx.setLevel(19);
      ctx.setContentSize(true);
      blob = ctx.compress(new byte[64 << 20]);
    }
    assertTrue(blob.length < 64 * 1024, "zeros compress to " + blob.length);
    CachemountException e = assertThrows(CachemountException.class, () -> IndexCodec.decode(blob, Long.MAX_VALUE));
    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertTrue(e.getMessage().contains("at most"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(longs = {Long.MAX_VALUE, Long.MIN_VALUE, 31556889864403200L, -31557014167219201L, 1L << 62})
  void aModificationTimeBeyondWhatARestoreCanSetIsRefused(long seconds) {
    VarInts.Writer w = new VarInts.Writer(64);
    w.bytes(IndexCodec.MAGIC).varint(1).varint(0).varint(0).varint(0).varint(1);
    w.varint(0).varint(1).bytes(new byte[] {'d'}).u8(1).varint(0755).zigzag(seconds).varint(0);
    byte[] payload = w.toByteArray();
    CachemountException e = assertThrows(CachemountException.class, () -> IndexCodec.decodePayload(payload));
    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertTrue(e.getMessage().contains("impossible mode or time"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(longs = {31556889864403199L, -31557014167219200L})
  void theExtremeTimesAnInstantHoldsAreAccepted(long seconds) {
    VarInts.Writer w = new VarInts.Writer(64);
    w.bytes(IndexCodec.MAGIC).varint(1).varint(0).varint(0).varint(0).varint(1);
    w.varint(0).varint(1).bytes(new byte[] {'d'}).u8(1).varint(0755).zigzag(seconds).varint(0);
    assertEquals(seconds, IndexCodec.decodePayload(w.toByteArray()).entries().get(0).mtimeSeconds());
  }

  @Test
  void prefixCompressionCannotAmplifyPathsWithoutBound() {
    VarInts.Writer w = new VarInts.Writer(1 << 20);
    w.bytes(IndexCodec.MAGIC).varint(1).varint(0).varint(0).varint(0);
    int entries = 100_000;
    w.varint(entries);
    byte[] segment = "s".repeat(250).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    StringBuilder first = new StringBuilder();
    for (int i = 0; i < 16; i++) {
      first.append(i == 0 ? "" : "/").append(new String(segment, java.nio.charset.StandardCharsets.UTF_8));
    }
    byte[] path = first.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    w.varint(0).varint(path.length).bytes(path).u8(1).varint(0755).zigzag(0).varint(0);
    for (int i = 1; i < entries; i++) {
      w.varint(path.length).varint(0).u8(1).varint(0755).zigzag(0).varint(0);
    }
    byte[] payload = w.toByteArray();
    CachemountException e = assertThrows(CachemountException.class, () -> IndexCodec.decodePayload(payload));
    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertTrue(e.getMessage().contains("expand beyond"), e.getMessage());
  }
}
