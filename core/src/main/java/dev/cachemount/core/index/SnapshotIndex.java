package dev.cachemount.core.index;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.blob.DigestTable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The table of contents of a snapshot: every entry of the tree, every chunk its files are made of,
 * and where each chunk lives (pack, frame, offset). Immutable and thread-safe once built.
 *
 * <p>Every instance satisfies the invariants of docs/format.md, checked on construction whether it
 * was built by a push or decoded from a store: packs, frames and chunks refer to each other within
 * bounds; chunks are sorted by digest and unique; entries are sorted by {@link EntryPaths#ORDER},
 * unique, have valid paths and a directory entry for every parent; a file's size is the sum of its
 * chunks. A violation is an integrity failure.
 */
public final class SnapshotIndex {
  /** A pack blob: a layer of the snapshot's manifest. */
  public record PackRef(Digest digest, long size) {
    public PackRef {
      Objects.requireNonNull(digest, "digest");
    }
  }

  /**
   * A frame: a run of chunks stored together, compressed as one unit.
   *
   * @param pack index into {@link #packs()}
   * @param offset where the frame starts in its pack
   * @param storedLength bytes the frame occupies in the pack
   * @param rawLength bytes of chunk data the frame holds
   */
  public record Frame(int pack, long offset, int storedLength, int rawLength, FrameEncoding encoding) {}

  private final List<PackRef> packs;
  private final List<Frame> frames;
  private final byte[] chunkDigests;
  private final int[] chunkFrame;
  private final int[] chunkOffset;
  private final int[] chunkLength;
  private final List<Entry> entries;
  private final long totalBytes;
  private final int fileCount;

  SnapshotIndex(
      List<PackRef> packs,
      List<Frame> frames,
      byte[] chunkDigests,
      int[] chunkFrame,
      int[] chunkOffset,
      int[] chunkLength,
      List<Entry> entries) {
    this.packs = List.copyOf(packs);
    this.frames = List.copyOf(frames);
    this.chunkDigests = chunkDigests;
    this.chunkFrame = chunkFrame;
    this.chunkOffset = chunkOffset;
    this.chunkLength = chunkLength;
    this.entries = Collections.unmodifiableList(new ArrayList<>(entries));
    long bytes = 0;
    int files = 0;
    for (Entry e : entries) {
      if (e.type() == EntryType.FILE) {
        files++;
        bytes += e.size();
      }
    }
    this.totalBytes = bytes;
    this.fileCount = files;
    validate();
  }

  public List<PackRef> packs() {
    return packs;
  }

  public List<Frame> frames() {
    return frames;
  }

  public List<Entry> entries() {
    return entries;
  }

  public int chunkCount() {
    return chunkFrame.length;
  }

  public Digest chunkDigest(int chunk) {
    return Digest.ofRaw(chunkDigests, chunk * Digest.LENGTH);
  }

  /** Compares chunk {@code chunk}'s digest with {@code digest} in their unsigned byte order. */
  public int compareChunkDigest(int chunk, Digest digest) {
    return -digest.compareToRaw(chunkDigests, chunk * Digest.LENGTH);
  }

  /** Copies chunk {@code chunk}'s 32 digest bytes into {@code target} at {@code offset}. */
  public void copyChunkDigest(int chunk, byte[] target, int offset) {
    System.arraycopy(chunkDigests, chunk * Digest.LENGTH, target, offset, Digest.LENGTH);
  }

  /** Whether chunk {@code chunk}'s digest equals {@code raw[offset, offset+32)}. */
  public boolean chunkDigestEquals(int chunk, byte[] raw, int offset) {
    return Arrays.equals(chunkDigests, chunk * Digest.LENGTH, (chunk + 1) * Digest.LENGTH, raw, offset, offset + Digest.LENGTH);
  }

  public int chunkFrame(int chunk) {
    return chunkFrame[chunk];
  }

  public int chunkOffset(int chunk) {
    return chunkOffset[chunk];
  }

  public int chunkLength(int chunk) {
    return chunkLength[chunk];
  }

  /** The chunk with this digest, or -1. */
  public int findChunk(Digest digest) {
    byte[] raw = digest.toRaw();
    int lo = 0;
    int hi = chunkCount() - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      int c = Arrays.compareUnsigned(chunkDigests, mid * Digest.LENGTH, (mid + 1) * Digest.LENGTH, raw, 0, Digest.LENGTH);
      if (c < 0) {
        lo = mid + 1;
      } else if (c > 0) {
        hi = mid - 1;
      } else {
        return mid;
      }
    }
    return -1;
  }

  /** Logical bytes of the tree: the sum of the file sizes. */
  public long totalBytes() {
    return totalBytes;
  }

  /** Uncompressed bytes of the distinct chunks: the sum of the chunk table's lengths. */
  public long distinctChunkBytes() {
    long sum = 0;
    for (int c = 0; c < chunkCount(); c++) {
      sum += chunkLength(c);
    }
    return sum;
  }

  public int fileCount() {
    return fileCount;
  }

  /** Bytes of the pack blobs. */
  public long packBytes() {
    long sum = 0;
    for (PackRef p : packs) {
      sum += p.size();
    }
    return sum;
  }

  /**
   * Whether the two snapshots describe the same tree: the same paths, types, owner-executable bits,
   * sizes, modification times, link targets and file contents (compared by chunk digests, so two
   * indexes with different packing compare equal). A push of a tree that is the same as its parent's
   * is a no-op.
   */
  public boolean sameTreeAs(SnapshotIndex other) {
    if (entries.size() != other.entries.size()) {
      return false;
    }
    for (int i = 0; i < entries.size(); i++) {
      Entry a = entries.get(i);
      Entry b = other.entries.get(i);
      if (!a.path().equals(b.path())
          || a.type() != b.type()
          || a.executable() != b.executable()
          || a.size() != b.size()
          || a.mtimeSeconds() != b.mtimeSeconds()
          || a.mtimeNanos() != b.mtimeNanos()
          || !Objects.equals(a.linkTarget(), b.linkTarget())
          || a.chunkCount() != b.chunkCount()) {
        return false;
      }
      for (int c = 0; c < a.chunkCount(); c++) {
        int ca = a.chunk(c);
        if (!other.chunkDigestEquals(b.chunk(c), chunkDigests, ca * Digest.LENGTH)) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * This index without the entry at {@code path} and the entries below it ({@code this} when there
   * are none); {@code skipped} hears how many were left out.
   */
  public SnapshotIndex without(String path, java.util.function.IntConsumer skipped) {
    return keeping(e -> {
      boolean inside = e.path().equals(path) || e.path().startsWith(path + "/");
      // A file or link where a directory above the path is: restoring it would replace that directory.
      boolean inTheWay = e.type() != EntryType.DIRECTORY && path.startsWith(e.path() + "/");
      return !inside && !inTheWay;
    }, skipped);
  }

  /**
   * This index with only the entries {@code keep} accepts ({@code this} when it accepts all);
   * {@code skipped} hears how many were left out.
   */
  public SnapshotIndex keeping(java.util.function.Predicate<Entry> keep, java.util.function.IntConsumer skipped) {
    List<Entry> kept = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      if (keep.test(e)) {
        kept.add(e);
      }
    }
    if (kept.size() == entries.size()) {
      return this;
    }
    skipped.accept(entries.size() - kept.size());
    return new SnapshotIndex(packs, frames, chunkDigests, chunkFrame, chunkOffset, chunkLength, kept);
  }

  // package-private views for the codec
  byte[] rawChunkDigests() {
    return chunkDigests;
  }

  // Each loop's body is a method of its own: called once per frame, chunk or entry, it is compiled
  // after a few hundred calls, where a loop run once in a JVM that has just started would run
  // interpreted for most of its hundred thousand turns.
  private void validate() {
    for (PackRef p : packs) {
      if (p.size() <= 0) {
        throw CachemountException.integrity("index names pack " + p.digest() + " with size " + p.size());
      }
    }
    for (int i = 0; i < frames.size(); i++) {
      checkFrame(i);
    }
    int n = chunkFrame.length;
    if (chunkDigests.length != n * Digest.LENGTH || chunkOffset.length != n || chunkLength.length != n) {
      throw new IllegalStateException("chunk table arrays disagree");
    }
    for (int i = 0; i < n; i++) {
      checkChunk(i);
    }
    Set<String> directories = new HashSet<>();
    String previous = null;
    for (Entry e : entries) {
      checkEntry(e, previous, directories);
      previous = e.path();
    }
  }

  private void checkFrame(int i) {
    Frame f = frames.get(i);
    if (f.pack() < 0 || f.pack() >= packs.size()) {
      throw corrupt("frame " + i + " names pack " + f.pack() + " of " + packs.size());
    }
    // A zstd frame that would not be smaller than its content is stored raw: stored <= raw always,
    // which also bounds what a reader allocates for a frame by the format's frame limit.
    if (f.rawLength() < 1 || f.rawLength() > FormatLimits.MAX_FRAME || f.storedLength() < 1 || f.offset() < 0
        || f.encoding() == null || f.storedLength() > f.rawLength()
        || (f.encoding() == FrameEncoding.RAW && f.storedLength() != f.rawLength())) {
      throw corrupt("frame " + i + " has impossible lengths (stored " + f.storedLength() + ", raw " + f.rawLength() + ")");
    }
    if (f.offset() > packs.get(f.pack()).size() - f.storedLength()) {
      throw corrupt("frame " + i + " ends past the end of its pack");
    }
  }

  private void checkChunk(int i) {
    if (i > 0 && Arrays.compareUnsigned(chunkDigests, (i - 1) * Digest.LENGTH, i * Digest.LENGTH,
        chunkDigests, i * Digest.LENGTH, (i + 1) * Digest.LENGTH) >= 0) {
      throw corrupt("chunk table is not sorted by digest, or has a duplicate, at chunk " + i);
    }
    int frame = chunkFrame[i];
    if (frame < 0 || frame >= frames.size()) {
      throw corrupt("chunk " + i + " names frame " + frame + " of " + frames.size());
    }
    int length = chunkLength[i];
    if (length < 1 || length > FormatLimits.MAX_CHUNK || chunkOffset[i] < 0
        || (long) chunkOffset[i] + length > frames.get(frame).rawLength()) {
      throw corrupt("chunk " + i + " lies outside its frame");
    }
  }

  /** Checks one entry; {@code directories} holds the directory entries before it, to which it adds its own. */
  private void checkEntry(Entry e, String previous, Set<String> directories) {
    String parent = EntryPaths.parent(e.path());
    boolean parentChecked = !parent.isEmpty() && directories.contains(parent);
    String problem = parentChecked ? EntryPaths.problemBelow(e.path(), parent.length()) : EntryPaths.problem(e.path());
    if (problem != null) {
      throw CachemountException.integrity("snapshot is unsafe: entry '" + printable(e.path()) + "': " + problem);
    }
    if (previous != null && EntryPaths.ORDER.compare(previous, e.path()) >= 0) {
      throw corrupt("entries are not sorted, or repeat, at '" + printable(e.path()) + "'");
    }
    if (!parent.isEmpty() && !parentChecked) {
      throw corrupt("entry '" + printable(e.path()) + "' has no directory entry for its parent");
    }
    // A time outside what java.time.Instant holds (about +-10^9 years) cannot be set on a restored
    // entry: Instant.ofEpochSecond throws for it, an unexpected error halfway through a restore.
    if (e.mode() < 0 || e.mode() > 0777 || e.mtimeNanos() < 0 || e.mtimeNanos() > 999_999_999
        || e.mtimeSeconds() < MIN_SECONDS || e.mtimeSeconds() > MAX_SECONDS) {
      throw corrupt("entry '" + printable(e.path()) + "' has an impossible mode or time");
    }
    switch (e.type()) {
      case DIRECTORY -> {
        directories.add(e.path());
        requireNoContent(e);
      }
      case SYMLINK -> {
        requireNoContent(e);
        String t = e.linkTarget();
        if (t.isEmpty() || t.indexOf('\0') >= 0 || t.length() > EntryPaths.MAX_LINK_TARGET_BYTES) {
          throw corrupt("symlink '" + printable(e.path()) + "' has an empty or invalid target");
        }
      }
      case FILE -> {
        int n = chunkFrame.length;
        long sum = 0;
        for (int c = 0; c < e.chunkCount(); c++) {
          int ref = e.chunk(c);
          if (ref < 0 || ref >= n) {
            throw corrupt("file '" + printable(e.path()) + "' names chunk " + ref + " of " + n);
          }
          sum += chunkLength[ref];
        }
        if (sum != e.size()) {
          throw corrupt("file '" + printable(e.path()) + "' has size " + e.size() + " but its chunks hold " + sum + " bytes");
        }
      }
    }
  }

  /** The range of modification times a reader accepts: that of {@link java.time.Instant}, which a scan never leaves. */
  private static final long MIN_SECONDS = java.time.Instant.MIN.getEpochSecond();
  private static final long MAX_SECONDS = java.time.Instant.MAX.getEpochSecond();

  private void requireNoContent(Entry e) {
    if (e.size() != 0 || e.chunkCount() != 0) {
      throw corrupt(e.type().name().toLowerCase() + " '" + printable(e.path()) + "' has content");
    }
  }

  private static CachemountException corrupt(String detail) {
    return CachemountException.integrity("snapshot index is inconsistent: " + detail);
  }

  /** The path with control characters escaped, safe to print in a message: up to about 300 chars. */
  public static String printable(String s) {
    return escaped(s, 300);
  }

  /**
   * The path with control characters escaped as {@code \xNN} (the C1 controls, U+0080 to U+009F, as
   * a backslash, {@code u} and four hex digits), whole (an entry's path is up to 4096 bytes): what {@code ls} prints.
   */
  public static String escaped(String s) {
    return escaped(s, Integer.MAX_VALUE);
  }

  private static String escaped(String s, int limit) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length() && b.length() < limit; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else if (c >= 0x80 && c < 0xa0) {
        b.append(String.format("\\u%04x", (int) c)); // C1 controls: U+009B starts a terminal's control sequence as ESC [ does
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }


  /**
   * Collects what a push produced, in any order, and builds the sorted, validated index. Not
   * thread-safe.
   */
  public static final class Builder {
    private final List<PackRef> packs = new ArrayList<>();
    private final List<Frame> frames = new ArrayList<>();
    /**
     * The chunks placed by digest ({@link #addChunk}), by slot: a digest table and columns instead of
     * a map entry and an array per chunk (a cold push of a large cache places millions).
     */
    private final DigestTable chunkSlots = new DigestTable(1024);
    private Digest[] slotDigest = new Digest[1024];
    private int[] slotFrame = new int[1024];
    private int[] slotOffset = new int[1024];
    private int[] slotLength = new int[1024];
    /** The chunk's number in the built index, set by build(). */
    private int[] slotNumber;
    private int slots;
    private final List<PendingEntry> entries = new ArrayList<>();
    /** An earlier index whose chunks are placed by number ({@link #addParentChunk}), or null. */
    private SnapshotIndex parent;
    /** The frame here of each of the parent's chunks, or -1 when not placed. */
    private int[] parentFrame;

    /** A file's chunks: by digest, or by number in the parent. */
    private record PendingEntry(Entry entry, Digest[] chunks, int[] parentChunks) {}

    /** Adds a pack and returns its number. */
    public int addPack(Digest digest, long size) {
      packs.add(new PackRef(digest, size));
      return packs.size() - 1;
    }

    /** Adds a frame and returns its number. */
    public int addFrame(int pack, long offset, int storedLength, int rawLength, FrameEncoding encoding) {
      frames.add(new Frame(pack, offset, storedLength, rawLength, encoding));
      return frames.size() - 1;
    }

    /** Places a chunk in a frame; each digest once. */
    public void addChunk(Digest digest, int frame, int offsetInFrame, int length) {
      if (chunkSlots.putIfAbsent(digest, slots) >= 0) {
        throw new IllegalStateException("chunk " + digest + " placed twice");
      }
      if (slots == slotDigest.length) {
        int grown = slots * 2;
        slotDigest = Arrays.copyOf(slotDigest, grown);
        slotFrame = Arrays.copyOf(slotFrame, grown);
        slotOffset = Arrays.copyOf(slotOffset, grown);
        slotLength = Arrays.copyOf(slotLength, grown);
      }
      slotDigest[slots] = digest;
      slotFrame[slots] = frame;
      slotOffset[slots] = offsetInFrame;
      slotLength[slots] = length;
      slots++;
    }

    /**
     * Names the earlier index whose chunks {@link #addParentChunk} places and
     * {@link #addFileOfParentChunks} refers to by number (once, before either). A digest given to
     * {@link #addFile} that is not placed by {@link #addChunk} is also looked up there.
     */
    public void useParent(SnapshotIndex parent) {
      if (this.parent != null) {
        throw new IllegalStateException("the parent is already set");
      }
      this.parent = parent;
      this.parentFrame = new int[parent.chunkCount()];
      Arrays.fill(parentFrame, -1);
    }

    /**
     * Places the parent's chunk {@code chunk} in {@code frame}, a frame added here for the parent's
     * frame that holds it (same pack, same bytes), at its offset and length in the parent.
     */
    public void addParentChunk(int chunk, int frame) {
      if (parentFrame[chunk] >= 0) {
        throw new IllegalStateException("chunk " + parent.chunkDigest(chunk) + " placed twice");
      }
      parentFrame[chunk] = frame;
    }

    /** Adds a directory or symlink entry. */
    public void addEntry(Entry entry) {
      if (entry.type() == EntryType.FILE) {
        throw new IllegalArgumentException("files are added with their chunk digests");
      }
      entries.add(new PendingEntry(entry, new Digest[0], null));
    }

    /** Adds a file whose content is the given chunks, each placed with {@link #addChunk} (or in the parent). */
    public void addFile(String path, int mode, long size, long mtimeSeconds, int mtimeNanos, Digest[] fileChunks) {
      entries.add(new PendingEntry(Entry.file(path, mode, size, mtimeSeconds, mtimeNanos, null), fileChunks.clone(), null));
    }

    /**
     * Adds a file whose content is the given chunks of the parent, each placed with
     * {@link #addParentChunk} or, when packed anew, with {@link #addChunk}.
     */
    public void addFileOfParentChunks(String path, int mode, long size, long mtimeSeconds, int mtimeNanos, int[] parentChunks) {
      entries.add(new PendingEntry(Entry.file(path, mode, size, mtimeSeconds, mtimeNanos, null), null, parentChunks.clone()));
    }

    public SnapshotIndex build() {
      Digest[] sorted = Arrays.copyOf(slotDigest, slots);
      Digest.sort(sorted);
      slotNumber = new int[slots];
      int placedInParent = 0;
      if (parent != null) {
        for (int f : parentFrame) {
          if (f >= 0) {
            placedInParent++;
          }
        }
      }
      // Both lists are in digest order: merged, they number the chunks of the new index.
      int n = sorted.length + placedInParent;
      byte[] digests = new byte[n * Digest.LENGTH];
      int[] frame = new int[n];
      int[] offset = new int[n];
      int[] length = new int[n];
      int[] parentNumber = parent == null ? null : new int[parentFrame.length];
      // The loops' bodies are methods of their own, compiled after a few hundred of a large cache's
      // hundred thousand turns instead of run interpreted in a JVM that has just started.
      int next = 0;
      int r = nextPlaced(0);
      for (int i = 0; i < sorted.length || r >= 0; next++) {
        int order = i == sorted.length ? 1 : r < 0 ? -1 : -parent.compareChunkDigest(r, sorted[i]);
        if (order == 0) {
          throw new IllegalStateException("chunk " + sorted[i] + " placed twice");
        }
        if (order < 0) {
          placeNew(sorted[i], next, digests, frame, offset, length);
          i++;
        } else {
          placeFromParent(r, next, digests, frame, offset, length, parentNumber);
          r = nextPlaced(r + 1);
        }
      }
      List<Entry> resolved = new ArrayList<>(entries.size());
      for (PendingEntry p : entries) {
        resolved.add(resolve(p, parentNumber));
      }
      resolved.sort((a, b) -> EntryPaths.ORDER.compare(a.path(), b.path()));
      return new SnapshotIndex(packs, frames, digests, frame, offset, length, resolved);
    }

    /** Numbers the chunk placed by digest {@code digest} as chunk {@code next} of the built index. */
    private void placeNew(Digest digest, int next, byte[] digests, int[] frame, int[] offset, int[] length) {
      digest.copyTo(digests, next * Digest.LENGTH);
      int slot = chunkSlots.get(digest);
      frame[next] = slotFrame[slot];
      offset[next] = slotOffset[slot];
      length[next] = slotLength[slot];
      slotNumber[slot] = next;
    }

    /** Numbers the parent's chunk {@code chunk} as chunk {@code next} of the built index. */
    private void placeFromParent(int chunk, int next, byte[] digests, int[] frame, int[] offset, int[] length, int[] parentNumber) {
      parent.copyChunkDigest(chunk, digests, next * Digest.LENGTH);
      frame[next] = parentFrame[chunk];
      offset[next] = parent.chunkOffset(chunk);
      length[next] = parent.chunkLength(chunk);
      parentNumber[chunk] = next;
    }

    /** The entry with its chunks as numbers in the built index. */
    private Entry resolve(PendingEntry p, int[] parentNumber) {
      Entry e = p.entry();
      if (e.type() != EntryType.FILE) {
        return e;
      }
      int[] refs;
      if (p.parentChunks() != null) {
        refs = new int[p.parentChunks().length];
        for (int c = 0; c < refs.length; c++) {
          int chunk = p.parentChunks()[c];
          // placed from the parent, or packed anew (its pack was compacted) and placed by digest
          refs[c] = parentFrame[chunk] >= 0 ? parentNumber[chunk] : numberOf(parent.chunkDigest(chunk), parentNumber, e.path());
        }
      } else {
        refs = new int[p.chunks().length];
        for (int c = 0; c < refs.length; c++) {
          refs[c] = numberOf(p.chunks()[c], parentNumber, e.path());
        }
      }
      return Entry.file(e.path(), e.mode(), e.size(), e.mtimeSeconds(), e.mtimeNanos(), refs);
    }

    /** The first of the parent's chunks from {@code from} on that is placed, or -1. */
    private int nextPlaced(int from) {
      if (parent == null) {
        return -1;
      }
      for (int c = from; c < parentFrame.length; c++) {
        if (parentFrame[c] >= 0) {
          return c;
        }
      }
      return -1;
    }

    private int numberOf(Digest digest, int[] parentNumber, String path) {
      int slot = chunkSlots.get(digest);
      if (slot >= 0) {
        return slotNumber[slot];
      }
      if (parent != null) {
        int chunk = parent.findChunk(digest);
        if (chunk >= 0 && parentFrame[chunk] >= 0) {
          return parentNumber[chunk];
        }
      }
      throw new IllegalStateException("file " + path + " uses chunk " + digest + " that was never placed");
    }
  }
}
