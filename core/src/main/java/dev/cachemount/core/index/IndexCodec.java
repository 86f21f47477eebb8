package dev.cachemount.core.index;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes the index blob, media type {@code application/vnd.cachemount.index.v1+zstd}:
 * one zstd frame (with its content size) around the binary payload that docs/format.md describes
 * byte by byte. Stateless and thread-safe.
 */
public final class IndexCodec {
  /** The first bytes of the payload. */
  static final byte[] MAGIC = {'C', 'M', 'I', 'X'};
  /** The payload version this code writes and reads. */
  public static final int VERSION = 1;
  /** How many times its compressed size an index may declare uncompressed. */
  static final int MAX_EXPANSION = 64;
  /** How many times the payload's size the decoded paths may take, prefix compression included. */
  static final int MAX_PATH_EXPANSION = 64;

  private IndexCodec() {}

  /** The compressed blob for {@code index}. */
  public static byte[] encode(SnapshotIndex index, int compressionLevel) {
    byte[] payload = encodePayload(index);
    try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
      ctx.setLevel(compressionLevel);
      ctx.setContentSize(true);
      return ctx.compress(payload);
    }
  }

  /**
   * Decodes a blob that was already checked against its digest.
   *
   * @param maxPayload the largest uncompressed payload to accept
   * @throws CachemountException of kind INTEGRITY when the blob is malformed or inconsistent
   */
  public static SnapshotIndex decode(byte[] blob, long maxPayload) {
    long contentSize;
    try {
      contentSize = Zstd.getFrameContentSize(blob);
    } catch (RuntimeException e) {
      throw CachemountException.integrity("snapshot index is not a zstd frame: " + e.getMessage(), e);
    }
    // Digests make up most of an index and do not compress: a real index expands a few times at
    // most. The bound keeps a tiny hostile blob from making the reader allocate gigabytes.
    long limit = Math.min(Math.min(maxPayload, FormatLimits.MAX_INDEX), MAX_EXPANSION * (long) blob.length + (1 << 20));
    if (contentSize < 0 || contentSize > limit) {
      throw CachemountException.integrity(
          "snapshot index declares " + contentSize + " bytes uncompressed from " + blob.length + "; at most " + limit + " are accepted");
    }
    byte[] payload = new byte[(int) contentSize];
    try (ZstdDecompressCtx ctx = new ZstdDecompressCtx()) {
      ctx.setLongMax(31);
      int n = ctx.decompressByteArray(payload, 0, payload.length, blob, 0, blob.length);
      if (n != payload.length) {
        throw CachemountException.integrity("snapshot index decompressed to " + n + " bytes, not the declared " + payload.length);
      }
    } catch (ZstdException e) {
      throw CachemountException.integrity("snapshot index does not decompress: " + e.getMessage(), e);
    }
    return decodePayload(payload);
  }

  static byte[] encodePayload(SnapshotIndex index) {
    int chunkCount = index.chunkCount();
    VarInts.Writer w = new VarInts.Writer(64 + chunkCount * 40 + index.entries().size() * 48);
    w.bytes(MAGIC).varint(VERSION);
    w.varint(index.packs().size());
    byte[] raw = new byte[Digest.LENGTH];
    for (SnapshotIndex.PackRef p : index.packs()) {
      p.digest().copyTo(raw, 0);
      w.bytes(raw).varint(p.size());
    }
    w.varint(index.frames().size());
    for (SnapshotIndex.Frame f : index.frames()) {
      w.varint(f.pack()).varint(f.offset()).varint(f.storedLength()).varint(f.rawLength()).u8(f.encoding().code());
    }
    w.varint(chunkCount);
    byte[] digests = index.rawChunkDigests();
    // Each loop's body is a method of its own, compiled after a few hundred turns (see decodePayload).
    for (int i = 0; i < chunkCount; i++) {
      writeChunk(w, index, digests, i);
    }
    List<Entry> entries = index.entries();
    w.varint(entries.size());
    byte[] previous = new byte[0];
    for (Entry e : entries) {
      previous = writeEntry(w, e, previous);
    }
    return w.toByteArray();
  }

  private static void writeChunk(VarInts.Writer w, SnapshotIndex index, byte[] digests, int i) {
    w.bytes(digests, i * Digest.LENGTH, Digest.LENGTH);
    w.varint(index.chunkFrame(i)).varint(index.chunkOffset(i)).varint(index.chunkLength(i));
  }

  /** Writes one entry, its path as the prefix it shares with {@code previous} and the rest; returns its path's bytes. */
  private static byte[] writeEntry(VarInts.Writer w, Entry e, byte[] previous) {
    byte[] path = e.path().getBytes(StandardCharsets.UTF_8);
    int shared = sharedPrefix(previous, path);
    w.varint(shared).varint(path.length - shared).bytes(path, shared, path.length - shared);
    w.u8(e.type().code()).varint(e.mode()).zigzag(e.mtimeSeconds()).varint(e.mtimeNanos());
    switch (e.type()) {
      case FILE -> {
        w.varint(e.size()).varint(e.chunkCount());
        for (int c = 0; c < e.chunkCount(); c++) {
          w.varint(e.chunk(c));
        }
      }
      case SYMLINK -> w.string(e.linkTarget());
      case DIRECTORY -> { }
    }
    return path;
  }

  static SnapshotIndex decodePayload(byte[] payload) {
    VarInts.Reader r = new VarInts.Reader(payload, 0, payload.length, "snapshot index");
    byte[] magic = r.bytes(MAGIC.length);
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw r.corrupt("it does not start with CMIX");
    }
    long version = r.varint();
    if (version > VERSION) {
      // A later format's index (docs/format.md, "Compatibility rules"), not damage: left alone.
      throw new dev.cachemount.core.NewerFormatException("its index", "index payload version " + version, VERSION);
    }
    if (version != VERSION) {
      throw CachemountException.integrity("snapshot index has payload version " + version + "; this cachemount reads version " + VERSION);
    }
    // Each record takes at least one byte per field, which bounds every count by what remains.
    int packCount = r.varintInt(0, r.remaining() / (Digest.LENGTH + 1), "pack count");
    List<SnapshotIndex.PackRef> packs = new ArrayList<>(packCount);
    for (int i = 0; i < packCount; i++) {
      Digest d = Digest.ofRaw(r.bytes(Digest.LENGTH));
      packs.add(new SnapshotIndex.PackRef(d, r.varint(1, Long.MAX_VALUE, "pack size")));
    }
    int frameCount = r.varintInt(0, r.remaining() / 5, "frame count");
    List<SnapshotIndex.Frame> frames = new ArrayList<>(frameCount);
    // Each loop's body is a method of its own: called once per frame, chunk or entry, it is compiled
    // after a few hundred calls, where a loop run once in a JVM that has just started would run
    // interpreted for most of its hundred thousand turns.
    for (int i = 0; i < frameCount; i++) {
      frames.add(readFrame(r, i));
    }
    int chunkCount = r.varintInt(0, r.remaining() / (Digest.LENGTH + 3), "chunk count");
    byte[] digests = new byte[chunkCount * Digest.LENGTH];
    int[] frame = new int[chunkCount];
    int[] offset = new int[chunkCount];
    int[] length = new int[chunkCount];
    for (int i = 0; i < chunkCount; i++) {
      readChunk(r, i, digests, frame, offset, length);
    }
    int entryCount = r.varintInt(0, r.remaining() / 6, "entry count");
    List<Entry> entries = new ArrayList<>(entryCount);
    EntryReader entryReader = new EntryReader(r, (long) MAX_PATH_EXPANSION * payload.length + (1 << 20));
    for (int i = 0; i < entryCount; i++) {
      entries.add(entryReader.next(i));
    }
    r.expectEnd();
    return new SnapshotIndex(packs, frames, digests, frame, offset, length, entries);
  }

  private static SnapshotIndex.Frame readFrame(VarInts.Reader r, int i) {
    int pack = r.varintInt(0, Integer.MAX_VALUE, "frame pack");
    long offset = r.varint(0, Long.MAX_VALUE, "frame offset");
    int stored = r.varintInt(1, Integer.MAX_VALUE, "frame stored length");
    int rawLength = r.varintInt(1, FormatLimits.MAX_FRAME, "frame raw length");
    int code = r.u8();
    FrameEncoding encoding = FrameEncoding.ofCode(code);
    if (encoding == null) {
      throw r.corrupt("frame " + i + " has unknown encoding " + code);
    }
    return new SnapshotIndex.Frame(pack, offset, stored, rawLength, encoding);
  }

  private static void readChunk(VarInts.Reader r, int i, byte[] digests, int[] frame, int[] offset, int[] length) {
    r.bytes(digests, i * Digest.LENGTH, Digest.LENGTH);
    frame[i] = r.varintInt(0, Integer.MAX_VALUE, "chunk frame");
    offset[i] = r.varintInt(0, FormatLimits.MAX_FRAME, "chunk offset");
    length[i] = r.varintInt(1, FormatLimits.MAX_CHUNK, "chunk length");
  }

  /** Reads entries one after another: each path is stored as the prefix it shares with the one before and the rest. */
  private static final class EntryReader {
    private final VarInts.Reader r;
    private byte[] previous = new byte[0];
    private long pathBudget;

    EntryReader(VarInts.Reader r, long pathBudget) {
      this.r = r;
      this.pathBudget = pathBudget;
    }

    Entry next(int i) {
      int shared = r.varintInt(0, previous.length, "shared path prefix");
      int suffix = r.varintInt(0, EntryPaths.MAX_PATH_BYTES - shared, "path suffix length");
      pathBudget -= shared + suffix;
      if (pathBudget < 0) {
        throw r.corrupt("its paths expand beyond " + MAX_PATH_EXPANSION + " times the index size");
      }
      byte[] path = new byte[shared + suffix];
      System.arraycopy(previous, 0, path, 0, shared);
      r.bytes(path, shared, suffix);
      String p = Utf8.decodeStrict(path, 0, path.length);
      if (p == null) {
        throw r.corrupt("entry " + i + " has a path that is not valid UTF-8");
      }
      int code = r.u8();
      EntryType type = EntryType.ofCode(code);
      if (type == null) {
        throw r.corrupt("entry '" + SnapshotIndex.printable(p) + "' has unknown type " + code);
      }
      int mode = r.varintInt(0, 0777, "mode");
      long seconds = r.zigzag();
      int nanos = r.varintInt(0, 999_999_999, "mtime nanoseconds");
      Entry e;
      switch (type) {
        case FILE -> {
          long size = r.varint(0, Long.MAX_VALUE, "file size");
          int refs = r.varintInt(0, r.remaining(), "chunk reference count");
          int[] chunks = new int[refs];
          for (int c = 0; c < refs; c++) {
            chunks[c] = r.varintInt(0, Integer.MAX_VALUE, "chunk reference");
          }
          e = Entry.file(p, mode, size, seconds, nanos, chunks);
        }
        case SYMLINK -> e = Entry.symlink(p, mode, seconds, nanos, r.string(EntryPaths.MAX_LINK_TARGET_BYTES, "link target"));
        default -> e = Entry.directory(p, mode, seconds, nanos);
      }
      previous = path;
      return e;
    }
  }

  private static int sharedPrefix(byte[] a, byte[] b) {
    int n = Math.min(a.length, b.length);
    int i = java.util.Arrays.mismatch(a, 0, n, b, 0, n);
    return i < 0 ? n : i;
  }
}
