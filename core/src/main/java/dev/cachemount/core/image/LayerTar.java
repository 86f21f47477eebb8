package dev.cachemount.core.image;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.snapshot.CoarseTimes;
import dev.cachemount.core.snapshot.TreeFiles;
import dev.cachemount.core.store.BlobSource;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Writes one group of a snapshot's entries ({@link LayerGroups.Group}) as an image layer: a POSIX tar
 * (PAX headers for long names and large sizes) compressed with zstd, of the files read from the
 * directory the snapshot was made of. Every entry is owned by root (0:0, no names); files are 0644, or
 * 0755 when the snapshot marks them executable; directories 0755; times are the snapshot's. A file whose
 * size or modification time is no longer the snapshot's, or that is gone, is read from the snapshot's
 * packs instead ({@link #readingChangedFilesFrom}; with the packs, the bytes read are checked against
 * the snapshot's chunk digests, and a file comes from the packs from its first chunk that differs);
 * without the packs it fails the layer: the image view would otherwise hold another tree than the
 * snapshot. Files are opened without following a link below the root ({@link TreeFiles}).
 */
final class LayerTar {
  /**
   * A written layer: the compressed file, its digest and size, the digest of the tar (the diff id), and
   * the files read from the snapshot's packs because the directory no longer held them as it does.
   */
  record Written(Path file, Digest digest, long size, Digest diffId, List<String> fromStore) {}

  private final Path root;
  private final int level;
  private LayerCompression compression = LayerCompression.ZSTD;
  /**
   * The granularity, in nanoseconds, of the directory's file system ({@link CoarseTimes#measure}),
   * asked for only when a file's time is not the snapshot's exactly: a snapshot may hold a time finer
   * than the file system keeps (one its push took from the snapshot it built on).
   */
  private final LongSupplier granularity;

  /** Where the snapshot's packs are, and its index: null when a changed file fails the layer. */
  private BlobSource blobs;
  private SnapshotIndex index;
  private StoredFile stored;
  /** Paths to read from the packs from the start: not the directory's. */
  private Set<String> takenFromStore = Set.of();
  /** Paths read from the packs because the directory's changed, in the order found. */
  private final Set<String> fromStore = new LinkedHashSet<>();
  /** Called with a file's path after its bytes were read from the directory, before the look that it did not change meanwhile (tests). */
  private java.util.function.Consumer<String> afterEachRead = path -> { };

  LayerTar(Path root, int level, LongSupplier granularity) {
    this.root = root;
    this.level = level;
    this.granularity = granularity;
  }

  /** Compresses the layer so (zstd unless told). */
  LayerTar compressedWith(LayerCompression c) {
    this.compression = c;
    return this;
  }

  /** Reads a file the directory no longer holds as the snapshot ({@code index}) does from the snapshot's packs in {@code blobs}. */
  LayerTar readingChangedFilesFrom(BlobSource blobs, SnapshotIndex index) {
    this.blobs = blobs;
    this.index = index;
    return this;
  }

  /** Reads {@code paths} from the packs whatever the directory holds, and does not count them as changed (a merge's files from the stored snapshot). */
  LayerTar takingFromStore(Set<String> paths) {
    this.takenFromStore = paths;
    return this;
  }

  /** Calls {@code hook} with a file's path after its bytes were read from the directory (tests change files there). */
  LayerTar afterEachRead(java.util.function.Consumer<String> hook) {
    this.afterEachRead = hook;
    return this;
  }

  Written write(LayerGroups.Group group, Path file) throws IOException {
    try {
      return writeOnce(group, file);
    } finally {
      if (stored != null) {
        stored.close();
      }
    }
  }

  private Written writeOnce(LayerGroups.Group group, Path file) throws IOException {
    MessageDigest compressed = Digest.newMessageDigest();
    MessageDigest tar = Digest.newMessageDigest();
    CountingDigestStream sink;
    try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        TreeFiles files = new TreeFiles(root)) {
      sink = new CountingDigestStream(out, compressed);
      try (OutputStream compressing = compression.compressing(sink, level);
          TarArchiveOutputStream archive = new TarArchiveOutputStream(
              new BufferedOutputStream(new CountingDigestStream(compressing, tar), 1 << 16), "UTF-8")) {
        archive.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        archive.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        archive.setAddPaxHeadersForNonAsciiNames(true);
        for (Entry e : group.entries()) {
          add(archive, files, e);
        }
        archive.finish();
      }
    }
    return new Written(file, Digest.finish(compressed), sink.count, Digest.finish(tar), List.copyOf(fromStore));
  }

  private void add(TarArchiveOutputStream archive, TreeFiles files, Entry e) throws IOException {
    TarArchiveEntry t;
    switch (e.type()) {
      case DIRECTORY -> {
        t = new TarArchiveEntry(e.path() + "/", TarConstants.LF_DIR);
        t.setMode(040755);
      }
      case SYMLINK -> {
        t = new TarArchiveEntry(e.path(), TarConstants.LF_SYMLINK);
        t.setLinkName(e.linkTarget());
        t.setMode(0120777);
      }
      case FILE -> {
        t = new TarArchiveEntry(e.path(), TarConstants.LF_NORMAL);
        t.setMode(e.executable() ? 0100755 : 0100644);
        t.setSize(e.size());
      }
      default -> throw new IllegalStateException("entry of type " + e.type());
    }
    t.setIds(0, 0);
    t.setUserName("");
    t.setGroupName("");
    t.setModTime(FileTime.from(java.time.Instant.ofEpochSecond(e.mtimeSeconds(), e.mtimeNanos())));
    archive.putArchiveEntry(t);
    if (e.type() == dev.cachemount.core.index.EntryType.FILE) {
      copy(archive, files, e);
    }
    archive.closeArchiveEntry();
  }

  private void copy(OutputStream archive, TreeFiles files, Entry e) throws IOException {
    Path file = root.resolve(e.path());
    if (blobs == null) {
      checkUnchanged(file, e);
      copyFromDisk(archive, files, e, file);
      return;
    }
    // A file a merge took from the stored snapshot: the directory often holds the very bytes (a shared
    // jar the other project downloaded later), read from it where its chunks are the snapshot's, silently.
    boolean taken = takenFromStore.contains(e.path());
    if (!taken) {
      try {
        checkUnchanged(file, e);
      } catch (CachemountException changed) {
        fromStore.add(e.path());
        storedFile().copy(e, archive);
        return;
      }
    }
    copyChecked(archive, files, e, !taken);
  }

  private StoredFile storedFile() {
    if (stored == null) {
      stored = new StoredFile(blobs, index);
    }
    return stored;
  }

  /**
   * Copies the file from the directory chunk by chunk, each checked against the snapshot's digest
   * before it goes into the layer: from the first chunk that is not the snapshot's (the file changed
   * while read, or was cut short, or cannot be read) the file comes from the packs. What the layer
   * holds is then the snapshot's by its digests, whatever the file's times say, and the layer is
   * never written again.
   */
  private void copyChecked(OutputStream archive, TreeFiles files, Entry e, boolean counted) throws IOException {
    SeekableByteChannel opened;
    try {
      opened = files.open(e.path());
    } catch (AccessDeniedException denied) {
      opened = null; // read from the packs
    }
    if (opened != null && !counted && opened.size() != e.size()) {
      opened.close(); // another file than the stored one: not read
      opened = null;
    }
    int c = 0;
    if (opened != null) {
      try (SeekableByteChannel ch = opened) {
        java.security.MessageDigest md = Digest.newMessageDigest();
        for (; c < e.chunkCount(); c++) {
          int chunk = e.chunk(c);
          int length = index.chunkLength(chunk);
          if (chunkBuffer.capacity() < length) {
            chunkBuffer = ByteBuffer.allocate(length);
          }
          chunkBuffer.clear().limit(length);
          while (chunkBuffer.hasRemaining() && ch.read(chunkBuffer) >= 0) {
            // reads the chunk's length, or to the end of the file
          }
          if (chunkBuffer.hasRemaining()) {
            break;
          }
          md.update(chunkBuffer.array(), 0, length);
          if (!Digest.finish(md).equals(index.chunkDigest(chunk))) {
            break;
          }
          archive.write(chunkBuffer.array(), 0, length);
        }
      }
      afterEachRead.accept(e.path());
      if (c == e.chunkCount()) {
        return;
      }
    }
    if (counted) {
      fromStore.add(e.path());
    }
    storedFile().copy(e, c, archive);
  }

  private ByteBuffer chunkBuffer = ByteBuffer.allocate(64 << 10);

  private void copyFromDisk(OutputStream archive, TreeFiles files, Entry e, Path file) throws IOException {
    SeekableByteChannel ch;
    try {
      ch = files.open(e.path());
    } catch (AccessDeniedException denied) {
      throw CachemountException.operational("cannot read " + file + " for the image view: permission denied; make it readable by this user", denied);
    }
    if (ch == null) {
      throw changed(file, "is gone, or no longer a regular file");
    }
    long left = e.size();
    try (ch) {
      ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
      while (left > 0) {
        buffer.clear().limit((int) Math.min(buffer.capacity(), left));
        int n = ch.read(buffer);
        if (n < 0) {
          throw changed(file, "is shorter than the snapshot says");
        }
        archive.write(buffer.array(), 0, n);
        left -= n;
      }
      if (ch.read(ByteBuffer.allocate(1)) > 0) {
        throw changed(file, "is longer than the snapshot says");
      }
    }
    afterEachRead.accept(e.path());
    checkUnchanged(file, e);
  }

  /**
   * The file still has the size and the modification time the snapshot gives it: to the nanosecond,
   * or that time cut to the file system's granularity. Not to the second only: a file rewritten with
   * the same size within the second the snapshot saw it in is another file.
   */
  private void checkUnchanged(Path file, Entry e) throws IOException {
    BasicFileAttributes a;
    try {
      a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (java.nio.file.NoSuchFileException gone) {
      throw changed(file, "is gone");
    }
    if (!a.isRegularFile()) {
      throw changed(file, "is no longer a regular file");
    }
    Instant modified = a.lastModifiedTime().toInstant();
    boolean sameTime = (modified.getEpochSecond() == e.mtimeSeconds() && modified.getNano() == e.mtimeNanos())
        || CoarseTimes.sameAt(modified.getEpochSecond(), modified.getNano(), e, granularity.getAsLong());
    if (a.size() != e.size() || !sameTime) {
      throw changed(file, "changed after the snapshot was made (now " + a.size() + " bytes, modified " + a.lastModifiedTime()
          + "; the snapshot holds " + e.size() + " bytes, modified " + java.time.Instant.ofEpochSecond(e.mtimeSeconds(), e.mtimeNanos()) + ")");
    }
  }

  private static CachemountException changed(Path file, String what) {
    return CachemountException.operational(file + " " + what + ", so the image view cannot show the snapshot just stored;"
        + " nothing may write into the directory while it is pushed: push again once the build is done", null);
  }

  /** Passes bytes on while hashing and counting them. */
  private static final class CountingDigestStream extends FilterOutputStream {
    private final MessageDigest md;
    long count;

    CountingDigestStream(OutputStream out, MessageDigest md) {
      super(out);
      this.md = md;
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      md.update((byte) b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      md.update(b, off, len);
      count += len;
    }
  }
}
