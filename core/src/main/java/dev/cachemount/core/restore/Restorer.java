package dev.cachemount.core.restore;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.internal.FileNameEncoding;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.internal.CleanupOnExit;
import dev.cachemount.core.internal.FileTrees;
import dev.cachemount.core.internal.MountPoints;
import dev.cachemount.core.snapshot.CoarseTimes;
import dev.cachemount.core.snapshot.ContentCheck;
import dev.cachemount.core.snapshot.ScannedEntry;
import dev.cachemount.core.snapshot.TreeScanner;
import dev.cachemount.core.store.BlobSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Writes a snapshot's tree into a target directory.
 *
 * <p>Order: directories first (parents before children; anything in the way, including a symlink,
 * is replaced by a real directory, so no later write goes through a link); then file contents, by
 * reading each pack once, front to back, decoding each needed frame and checking every chunk against
 * its digest before a byte of it is written; then symlinks; then directory modification times.
 *
 * <p>Each file is written to a temporary file in its own directory and renamed over its final path
 * once complete, with its modification time and executable bit already set: a reader never sees a
 * half-written file. When the restore fails, every temporary file is removed; files already renamed
 * are complete and correct; a file or symlink that a directory of the snapshot replaced is put back
 * unless restored files already lie in that directory. Files in the target that the snapshot does not hold are left alone.
 *
 * <p>Permissions: new files get the caller's umask; a file executable in the snapshot gets an execute
 * bit wherever it has a read bit. Owners are never changed. Not thread-safe; one restore at a time.
 */
public final class Restorer {
  /**
   * What a restore did.
   *
   * @param filesUnchanged files already in the target with the snapshot's content, left alone
   * @param removed entries removed from the target because the snapshot lacks them ({@code mode=mirror})
   */
  public record Stats(long files, long directories, long symlinks, long bytesWritten, long bytesRead, long filesUnchanged, long removed) {}

  /**
   * How a restore treats what the target already holds.
   *
   * @param verifyContent a file with the snapshot's size and time is left alone only when its chunk
   *     digests match too ({@code verify=content}); by default size and time suffice
   * @param mirror also remove what the snapshot lacks ({@code mode=mirror})
   * @param chunker the snapshot's chunker, to compare contents
   * @param seen what a complete scan of the target saw just before, by path (null: none); a file is
   *     then compared with what the scan saw instead of being looked at again, and a path the scan
   *     did not see is missing
   * @param staleLeftover whether a temporary file of an interrupted pull ({@code .cachemount-tmp-…})
   *     that {@code mode=mirror} finds may go: the pull's rule for leftovers, applied whether or not a
   *     scan of the target ran before (null: every one stays)
   */
  public record Options(boolean verifyContent, boolean mirror, dev.cachemount.core.chunk.ChunkerParameters chunker,
      Map<String, ScannedEntry> seen, java.util.function.Predicate<Path> staleLeftover) {
    public Options(boolean verifyContent, boolean mirror, dev.cachemount.core.chunk.ChunkerParameters chunker) {
      this(verifyContent, mirror, chunker, null);
    }

    public Options(boolean verifyContent, boolean mirror, dev.cachemount.core.chunk.ChunkerParameters chunker,
        Map<String, ScannedEntry> seen) {
      this(verifyContent, mirror, chunker, seen, null);
    }

    public static Options defaults(dev.cachemount.core.chunk.ChunkerParameters chunker) {
      return new Options(false, false, chunker);
    }
  }

  private static final int MAX_OPEN_FILES = 128;

  /** How what stands in the snapshot's way is renamed aside: a test's file system may refuse. */
  TempFiles.Renamer renamer = TempFiles.Renamer.ATOMIC;

  /** The mount points inside a target (see {@link MountPoints}): a test may mount one anywhere. */
  java.util.function.Function<Path, Set<Path>> mountPoints = MountPoints::inside;
  /** Told each directory of the target the mode=mirror walk is about to list: where a test swaps it for a link, as another process may. */
  java.util.function.Consumer<Path> beforeListing = dir -> { };
  /** The mount points inside this restore's target, read once when it starts. */
  private Set<Path> mounts = Set.of();
  /** The device of the target's root: a directory on another is a mount point, whatever the table says. */
  private Object rootDevice;

  private final BlobSource blobs;
  private final OperationListener listener;
  private final int threads;
  private final Options options;
  /** The read-only directories this restore made writable: set during a restore. */
  private WritableDirectories unlocked;
  private dev.cachemount.core.Progress progress = dev.cachemount.core.Progress.unobserved();

  /** A restorer that runs up to {@code threads} reads at once and overwrites every file. */
  public Restorer(BlobSource blobs, OperationListener listener, int threads) {
    this(blobs, listener, threads, null);
  }

  /** A restorer that runs up to {@code threads} reads at once; null options overwrite every file. */
  public Restorer(BlobSource blobs, OperationListener listener, int threads, Options options) {
    this.blobs = blobs;
    this.listener = listener;
    this.threads = threads;
    this.options = options;
  }

  /**
   * Counts in {@code progress} the files and bytes it writes ({@link dev.cachemount.core.Progress.Step#RESTORING})
   * and the bytes it reads from the store.
   */
  public Restorer reportingTo(dev.cachemount.core.Progress progress) {
    this.progress = progress;
    return this;
  }

  /**
   * Restores {@code index} into {@code target}, creating it if needed.
   *
   * @param where names the snapshot in messages
   * @throws CachemountException USAGE when the target is not a directory; INTEGRITY when stored data
   *     does not match the index
   */
  public Stats restore(SnapshotIndex index, Path target, String where) throws IOException {
    return restore(index, target, where, List.of());
  }

  /**
   * Restores {@code index} into {@code target}, leaving alone the subtrees {@code keepOut} (real
   * paths inside the target: the store itself, and cachemount's own directory, when they lie there).
   */
  public Stats restore(SnapshotIndex index, Path target, String where, List<Path> keepOut) throws IOException {
    TempFiles temps = new TempFiles(renamer);
    boolean completed = false;
    try {
      Path root = prepareRoot(target, temps);
      temps.markIn(root);
      mounts = mountPoints.apply(root);
      rootDevice = MountPoints.device(root);
      SnapshotIndex restorable = index;
      for (Path kept : keepOut) {
        restorable = restorable.without(root.relativize(kept).toString(), skipped ->
            listener.warning(skipped + " entries of the snapshot lie inside " + kept + " (the store or cachemount's own directory)"
                + " and were not restored"));
      }
      List<Path> leftAlone = new ArrayList<>(keepOut);
      restorable = withoutUnnameable(restorable, root, leftAlone);
      try (WritableDirectories writable = new WritableDirectories();
          // On SIGTERM (a cancelled CI job) the hook deletes every temporary file, puts back what was
          // moved aside and gives read-only directories their modes back.
          CleanupOnExit hook = CleanupOnExit.register("cachemount-restore-cleanup", () -> {
            temps.cancel();
            writable.cancel();
          })) {
        unlocked = writable;
        writable.unlock(root);
        Stats stats = restoreInto(root, restorable, where, leftAlone, temps);
        completed = true;
        return stats;
      } finally {
        unlocked = null;
      }
    } catch (java.nio.file.InvalidPathException e) {
      throw new CachemountException(dev.cachemount.core.FailureKind.OPERATIONAL, "cannot name '" + SnapshotIndex.printable(e.getInput())
          + "' on this file system (" + e.getReason() + "); if the name is not ASCII, run with LC_ALL=C.UTF-8 (./cachemount does)", e);
    } finally {
      temps.dropMarker(); // dropped by restoreInto already, unless that failed before it began
      if (!completed) {
        // The target, when this pull made it and it is still empty: a failed pull into a new
        // directory leaves nothing behind (restoreInto removed what it made inside; parents stay).
        temps.removeCreatedDirectoriesLeftEmpty();
      }
    }
  }

  /**
   * The index without the entries whose names (or link targets) this JVM cannot name on the file
   * system as the snapshot's bytes: only in a JVM whose locale is not UTF-8 (Maven's, for the
   * plugin; the launcher sets C.UTF-8), where a name that is not ASCII cannot be encoded (US-ASCII)
   * or is encoded as other bytes (ISO-8859-1). They are left out with a warning, as
   * a push in such a JVM leaves them out, rather than failing the pull; {@code leftAlone} gets
   * the paths of such links whose own names it can write, which {@code mode=mirror} must not remove.
   */
  private SnapshotIndex withoutUnnameable(SnapshotIndex index, Path root, List<Path> leftAlone) {
    if (FileNameEncoding.utf8()) {
      return index;
    }
    List<String> examples = new ArrayList<>();
    SnapshotIndex kept = index.keeping(e -> {
      // What this JVM would write under another name (or read back as another, so that mode=mirror
      // would remove it) is left out; mode=mirror leaves such names alone.
      boolean writable = FileNameEncoding.faithful(e.path());
      if (writable && e.type() == EntryType.SYMLINK && !FileNameEncoding.faithful(e.linkTarget())) {
        leftAlone.add(root.resolve(e.path())); // a link of the snapshot, which mode=mirror must not remove
        writable = false;
      }
      if (!writable && examples.size() < 3) {
        examples.add(SnapshotIndex.printable(e.path()));
      }
      return writable;
    }, n -> listener.warning(n + " entries of the snapshot have names (or link targets) that this JVM cannot write, its locale's"
        + " encoding (" + FileNameEncoding.encoding() + ") not being UTF-8, and were not restored (" + String.join(", ", examples)
        + (n > examples.size() ? ", ..." : "") + "); run with a UTF-8 locale (LANG=C.UTF-8) to restore them"));
    return kept;
  }

  /** What a restore that SIGTERM's hook cancelled fails with, as {@link TempFiles} says it. */
  static final String CANCELLED = "the restore was cancelled";

  private Stats restoreInto(Path root, SnapshotIndex index, String where, List<Path> keepOut, TempFiles temps)
      throws IOException {
    List<PendingFile> pending = new ArrayList<>();
    Map<PendingFile, Boolean> open = new LinkedHashMap<>(16, 0.75f, true);
    try {
      long directories = ensureDirectories(root, index, temps);
      ContentCheck.Reader contents = options != null && options.verifyContent() ? new ContentCheck.Reader(options.chunker()) : null;
      // Without a scan (verify=content, a target that holds the store), each file is looked at here:
      // at the granularity of a file system of coarser times than the snapshot's (see CoarseTimes).
      long granularity = options != null && options.seen() == null && Files.isDirectory(root) ? CoarseTimes.measure(root) : 1;
      List<PendingFile> empty = new ArrayList<>();
      List<List<Use>> uses = new ArrayList<>(index.frames().size());
      for (int f = 0; f < index.frames().size(); f++) {
        uses.add(null);
      }
      long[] counted = planFiles(root, index, temps, contents, granularity, pending, empty, uses);
      long files = counted[0];
      long unchanged = counted[1];
      requireSpace(root, pending, options != null ? options.seen() : null);
      long toWrite = 0;
      for (PendingFile file : pending) {
        toWrite += file.entry.size();
      }
      progress.begin(dev.cachemount.core.Progress.Step.RESTORING, toWrite, pending.size());
      // Written only once the files are known to fit: a pull that does not fit writes no file.
      for (PendingFile file : empty) {
        complete(file);
      }
      long[] bytes = fillFiles(index, uses, open, where);
      List<Entry> links = createSymlinks(root, index, temps);
      long symlinks = links.size() - removeEscapingLinks(root, links, temps);
      if (options != null && options.mirror()) {
        progress.begin(dev.cachemount.core.Progress.Step.REMOVING, 0, 0);
      }
      long removed = options != null && options.mirror() ? removeExtras(root, index, keepOut, temps) : 0;
      // Before the directories' times are set, which a deletion would change.
      temps.dropAsides(this::deleteUnlocked, listener::warning);
      temps.dropMarker(); // no temporary file is left; before the times, which its deletion would change
      setDirectoryTimes(root, index);
      pending.clear();
      temps.keepCreatedDirectories();
      return new Stats(files, directories, symlinks, bytes[0], bytes[1], unchanged, removed);
    } catch (IOException e) {
      if (temps.cancelled() && !CANCELLED.equals(e.getMessage())) {
        // SIGTERM's hook deleted the temporary files under the writer, which then found one gone (its
        // rename, its times): the signal, not another program deleting in the target, as that would say.
        throw new IOException(CANCELLED, e);
      }
      throw e;
    } finally {
      for (PendingFile p : pending) {
        try {
          p.discard();
        } catch (IOException e) {
          listener.warning("could not remove a temporary file beside " + p.target + ": " + e.getMessage());
        }
      }
      // Empty directories first (none when the restore completed): once a link the restore moved aside
      // is back, removing them by their paths would follow it.
      temps.removeCreatedDirectoriesLeftEmpty();
      temps.putBackAsides(listener::warning); // nothing left to put back when the restore completed
      temps.dropMarker();
    }
  }

  // The steps of a restore that walk every entry are methods of their own, not loops of restoreInto:
  // a JIT compiles a long loop of a large method from the loop on (on-stack replacement), and on a
  // pull of 100,000 files it compiled restoreInto four times so, on the core the pull shares with it.

  /** Creates the snapshot's directories that are missing; returns how many directories it has. */
  private long ensureDirectories(Path root, SnapshotIndex index, TempFiles temps) throws IOException {
    long directories = 0;
    for (Entry e : index.entries()) {
      if (e.type() == EntryType.DIRECTORY) {
        ensureDirectory(root.resolve(e.path()), options != null && options.seen() != null && !options.seen().containsKey(e.path()), temps);
        directories++;
      }
    }
    return directories;
  }

  /**
   * Decides which files to write: each file not already there becomes a pending file ({@code empty}
   * too when it has no bytes), and its chunks uses of their frames; returns the files of the snapshot
   * and those already there.
   */
  private long[] planFiles(Path root, SnapshotIndex index, TempFiles temps, ContentCheck.Reader contents, long granularity,
      List<PendingFile> pending, List<PendingFile> empty, List<List<Use>> uses) throws IOException {
    long files = 0;
    long unchanged = 0;
    for (Entry e : index.entries()) {
      if (e.type() != EntryType.FILE) {
        continue;
      }
      files++;
      if (options != null && alreadyThere(root.resolve(e.path()), e, index, contents, options.seen(), granularity)) {
        unchanged++;
        continue;
      }
      PendingFile file = new PendingFile(e, root.resolve(e.path()), temps);
      pending.add(file);
      if (e.size() == 0) {
        empty.add(file);
        continue;
      }
      addUses(file, index, uses);
    }
    return new long[] {files, unchanged};
  }

  /** Creates the snapshot's symlinks that point inside the target; returns their entries. */
  private List<Entry> createSymlinks(Path root, SnapshotIndex index, TempFiles temps) throws IOException {
    List<Entry> links = new ArrayList<>();
    for (Entry e : index.entries()) {
      if (e.type() == EntryType.SYMLINK) {
        if (!pointsInside(root, e)) {
          listener.warning("symlink " + SnapshotIndex.printable(e.path()) + " -> " + SnapshotIndex.printable(e.linkTarget())
              + " points outside the target; not created");
          continue;
        }
        createSymlink(root.resolve(e.path()), e, temps);
        links.add(e);
      }
    }
    return links;
  }

  /** Gives every directory of the snapshot its modification time, last, once nothing is written into them. */
  private static void setDirectoryTimes(Path root, SnapshotIndex index) throws IOException {
    for (Entry e : index.entries()) {
      if (e.type() == EntryType.DIRECTORY) {
        Files.getFileAttributeView(root.resolve(e.path()), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
            .setTimes(mtime(e), null, null);
      }
    }
  }

  /** One place a chunk's bytes go: a file at an offset. */
  private record Use(int chunk, PendingFile file, long offset) {}

  /**
   * Adds where each chunk of {@code file} goes to its frame's uses. A method of its own, called once
   * per file, so that it is compiled early instead of run interpreted for each of a large cache's
   * hundred thousand chunks.
   */
  private static void addUses(PendingFile file, SnapshotIndex index, List<List<Use>> uses) {
    Entry e = file.entry;
    long offset = 0;
    for (int c = 0; c < e.chunkCount(); c++) {
      int chunk = e.chunk(c);
      int frame = index.chunkFrame(chunk);
      List<Use> list = uses.get(frame);
      if (list == null) {
        list = new ArrayList<>();
        uses.set(frame, list);
      }
      list.add(new Use(chunk, file, offset));
      offset += index.chunkLength(chunk);
    }
  }

  /**
   * Reads the needed frames (several packs at once, see {@link FrameReader}) and, on this thread,
   * writes every verified chunk to the files that use it. Returns {written, read}.
   */
  private long[] fillFiles(SnapshotIndex index, List<List<Use>> uses, Map<PendingFile, Boolean> open, String where) throws IOException {
    Map<Integer, List<Integer>> framesByPack = new HashMap<>();
    int[][] chunksByFrame = new int[uses.size()][];
    for (int f = 0; f < uses.size(); f++) {
      List<Use> list = uses.get(f);
      if (list != null) {
        framesByPack.computeIfAbsent(index.frames().get(f).pack(), k -> new ArrayList<>()).add(f);
        chunksByFrame[f] = distinctChunks(list);
      }
    }
    long[] written = {0};
    FrameReader.Needs needs = new FrameReader.Needs() {
      @Override
      public List<Integer> frames(int pack) {
        return framesByPack.get(pack);
      }

      @Override
      public int[] chunks(int frame) {
        return chunksByFrame[frame];
      }
    };
    long read = new FrameReader(blobs, index, threads, progress::transferred).read(needs, decoded -> written[0] += writeFrame(index, uses.get(decoded.frame()), decoded.data(), open),
        where);
    return new long[] {written[0], read};
  }

  /**
   * Writes a verified frame's chunks into the files that use them, and completes each file it
   * finishes; returns the bytes written. A method of its own, not the body of the restore's lambda:
   * compiled as one with everything it calls, that lambda took the JIT about a second on a pull of
   * 100,000 files, on the core the restore shares with it.
   */
  private long writeFrame(SnapshotIndex index, List<Use> list, byte[] data, Map<PendingFile, Boolean> open) throws IOException {
    long written = 0;
    int i = 0;
    while (i < list.size()) {
      // Consecutive chunks of one file lie next to each other in the frame: one write for the run.
      Use first = list.get(i);
      int from = index.chunkOffset(first.chunk);
      int length = index.chunkLength(first.chunk);
      int j = i + 1;
      while (j < list.size()) {
        Use next = list.get(j);
        if (next.file != first.file || next.offset != first.offset + length || index.chunkOffset(next.chunk) != from + length) {
          break;
        }
        length += index.chunkLength(next.chunk);
        j++;
      }
      write(first.file, data, from, length, first.offset, open);
      written += length;
      progress.bytes(length);
      first.file.remaining -= length;
      if (first.file.remaining == 0) {
        open.remove(first.file);
        complete(first.file);
      }
      i = j;
    }
    return written;
  }

  /**
   * The distinct chunks of one frame's uses, ascending: each is verified once, however many files
   * use it. A plain loop, not a stream: this runs once per frame before the first byte is fetched,
   * where a stream's first use costs a JVM that has just started tens of milliseconds, and hundreds
   * of milliseconds of compilation on the other core.
   */
  private static int[] distinctChunks(List<Use> uses) {
    int[] chunks = new int[uses.size()];
    for (int i = 0; i < chunks.length; i++) {
      chunks[i] = uses.get(i).chunk();
    }
    return sortedDistinct(chunks);
  }

  /** The distinct values of {@code values}, ascending; sorts {@code values} in place. */
  static int[] sortedDistinct(int[] values) {
    java.util.Arrays.sort(values);
    int distinct = 0;
    for (int i = 0; i < values.length; i++) {
      if (distinct == 0 || values[i] != values[distinct - 1]) {
        values[distinct++] = values[i];
      }
    }
    return distinct == values.length ? values : java.util.Arrays.copyOf(values, distinct);
  }

  private static void write(PendingFile file, byte[] data, int offset, int length, long position, Map<PendingFile, Boolean> open)
      throws IOException {
    if (position + length < file.entry.size() && allZero(data, offset, length)) {
      // A run of zeros short of the file's end is left a hole, which reads as zeros: a sparse file
      // (a 3 GiB truncate -s) stays sparse instead of taking its whole size on disk. The file's last
      // byte is always written, so the file gets its full length. Decided before a file is opened for it.
      return;
    }
    if (!file.isOpen()) {
      if (open.size() >= MAX_OPEN_FILES) {
        Iterator<PendingFile> eldest = open.keySet().iterator();
        PendingFile victim = eldest.next();
        eldest.remove();
        victim.closeChannel();
      }
    }
    FileChannel ch = file.channel();
    open.put(file, Boolean.TRUE);
    ByteBuffer buffer = ByteBuffer.wrap(data, offset, length);
    long at = position;
    while (buffer.hasRemaining()) {
      at += ch.write(buffer, at);
    }
  }

  private static boolean allZero(byte[] data, int offset, int length) {
    for (int i = offset, end = offset + length; i < end; i++) {
      if (data[i] != 0) {
        return false;
      }
    }
    return true;
  }

  /** Closes, sets permissions and time, and renames the finished file into place. */
  private void complete(PendingFile file) throws IOException {
    file.closeChannel();
    Path temp = file.temp();
    Entry e = file.entry;
    if (e.executable()) {
      Files.setPosixFilePermissions(temp, executable(Files.getPosixFilePermissions(temp)));
    }
    // The access time stays the one the file was created with: earlier than its change time, so that
    // the build's first read of it updates it under relatime, and max-size (which counts an access
    // time only when it is later than the change time) ranks a file nobody read since by its
    // modification time. Left alone: cleaners of old files (tmpwatch) go by access times.
    Files.setLastModifiedTime(temp, mtime(e));
    moveIntoPlace(temp, file.target, file.temps());
    file.markRenamed();
    progress.file();
  }

  /** {@code perms} with the execute bit of each class that may read: the mode of an executable file this restore writes. */
  private static Set<PosixFilePermission> executable(Set<PosixFilePermission> perms) {
    Set<PosixFilePermission> x = EnumSet.noneOf(PosixFilePermission.class);
    x.addAll(perms);
    if (perms.contains(PosixFilePermission.OWNER_READ)) {
      x.add(PosixFilePermission.OWNER_EXECUTE);
    }
    if (perms.contains(PosixFilePermission.GROUP_READ)) {
      x.add(PosixFilePermission.GROUP_EXECUTE);
    }
    if (perms.contains(PosixFilePermission.OTHERS_READ)) {
      x.add(PosixFilePermission.OTHERS_EXECUTE);
    }
    return x;
  }

  private void createSymlink(Path target, Entry e, TempFiles temps) throws IOException {
    Path temp = temps.createSymlink(target.getParent(), Path.of(e.linkTarget()));
    try {
      Files.getFileAttributeView(temp, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(mtime(e), null, null);
      moveIntoPlace(temp, target, temps);
    } finally {
      Files.deleteIfExists(temp);
      temps.forget(temp);
    }
  }


  /**
   * Whether the target already holds the file: a regular file (not a link) with the snapshot's size
   * and modification time, and with {@code verify=content} its chunks. Its executable bit is set to
   * the snapshot's if it differs.
   */
  private static boolean alreadyThere(Path path, Entry e, SnapshotIndex index, ContentCheck.Reader contents, Map<String, ScannedEntry> seen,
      long granularity)
      throws IOException {
    if (seen != null) {
      ScannedEntry s = seen.get(e.path());
      if (s == null || s.type() != EntryType.FILE || s.size() != e.size() || s.mtimeSeconds() != e.mtimeSeconds()
          || s.mtimeNanos() != e.mtimeNanos()) {
        return false;
      }
    } else {
      BasicFileAttributes a;
      try {
        a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException missing) {
        return false;
      }
      Instant modified = a.lastModifiedTime().toInstant();
      if (!a.isRegularFile() || a.size() != e.size() || !(modified.equals(mtime(e).toInstant())
          || CoarseTimes.sameAt(modified.getEpochSecond(), modified.getNano(), e, granularity))) {
        return false;
      }
    }
    if (contents != null && !contents.matches(path, e, index)) {
      return false;
    }
    ScannedEntry s = seen == null ? null : seen.get(e.path());
    if (s != null && ((s.mode() & 0100) != 0) == e.executable()) {
      return true;
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS);
    if (perms.contains(PosixFilePermission.OWNER_EXECUTE) != e.executable()) {
      // A file with other hard links shares its mode with them (one may lie outside the target): it
      // is written anew instead, as is one the caller may not chmod (another user's).
      if (((Number) Files.getAttribute(path, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue() > 1) {
        return false;
      }
      Set<PosixFilePermission> fixed;
      if (e.executable()) {
        fixed = executable(perms); // as a file written anew gets it
      } else {
        fixed = EnumSet.noneOf(PosixFilePermission.class);
        fixed.addAll(perms);
        fixed.removeAll(EnumSet.of(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_EXECUTE));
      }
      try {
        // Never through a link (fchmod and futimens on the file opened with O_NOFOLLOW): one that took the
        // file's place since it was looked at (or since the scan) fails here, and the file is written anew.
        Files.getFileAttributeView(path, java.nio.file.attribute.PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setPermissions(fixed);
        Files.getFileAttributeView(path, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(mtime(e), null, null);
      } catch (java.nio.file.FileSystemException notOursOrNoLongerAFile) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether a symlink's target, resolved from the link's directory (an absolute one as it is), stays
   * inside the target root, by name: {@link #removeEscapingLinks} then follows it through the links.
   */
  private static boolean pointsInside(Path root, Entry e) {
    Path link = root.resolve(e.path());
    Path resolved;
    try {
      resolved = link.getParent().resolve(e.linkTarget()).normalize();
    } catch (java.nio.file.InvalidPathException bad) {
      return false;
    }
    return resolved.startsWith(root);
  }

  /**
   * Removes the links that, followed through the links made before them (each stays inside on its own:
   * {@link #pointsInside}), lead out of the target: {@code s -> .} and {@code up -> s/..}. Until none
   * is left, as removing one (and putting back a directory it replaced) may change where another leads.
   * Returns how many went.
   */
  private long removeEscapingLinks(Path root, List<Entry> links, TempFiles temps) throws IOException {
    long removed = 0;
    for (boolean again = true; again; ) {
      again = false;
      for (java.util.Iterator<Entry> it = links.iterator(); it.hasNext(); ) {
        Entry e = it.next();
        Path link = root.resolve(e.path());
        if (!LinkResolution.staysInside(root, link)) {
          Files.delete(link);
          temps.putBack(link); // a directory it replaced comes back
          it.remove();
          removed++;
          again = true;
          listener.warning("symlink " + SnapshotIndex.printable(e.path()) + " -> " + SnapshotIndex.printable(e.linkTarget())
              + " leads outside the target through other links; removed");
        }
      }
    }
    return removed;
  }

  /**
   * {@code mode=mirror}: removes what the target holds and the snapshot lacks, without following
   * links, leaving the store alone when it lies inside. Returns how many entries went (a removed
   * directory counts once).
   */
  private long removeExtras(Path root, SnapshotIndex index, List<Path> keepOut, TempFiles temps) throws IOException {
    Map<String, EntryType> kinds = new HashMap<>();
    for (Entry e : index.entries()) {
      kinds.put(e.path(), e.type());
    }
    long[] removed = {0};
    try (java.nio.file.DirectoryStream<Path> top = Files.newDirectoryStream(root)) {
      mirror(new Mirror(root, kinds, keepOut, temps, removed), root, "", top);
    }
    if (removed[0] > 0) {
      listener.info("mode=mirror: removed " + dev.cachemount.core.ResultText.count(removed[0], "entry", "entries") + " the snapshot does not hold");
    }
    return removed[0];
  }

  /** What one {@code mode=mirror} walk compares with, and counts. */
  private record Mirror(Path root, Map<String, EntryType> kinds, List<Path> keepOut, TempFiles temps, long[] removed) {}

  /**
   * Removes what the open directory {@code dir} (at {@code dirPath}; {@code rel} from the root, "" for
   * the root) holds and the snapshot lacks, and goes into the directories of the snapshot it holds;
   * false once the restore was cancelled (SIGTERM: the hook puts back what was moved aside; nothing
   * more goes). What the directory holds is looked at, opened (never following a link) and removed
   * relative to it ({@link SecureDirectoryStream}: openat, unlinkat), not by paths: a directory that
   * another process swaps for a link to somewhere else during the walk does not lead it there.
   */
  private boolean mirror(Mirror m, Path dirPath, String rel, java.nio.file.DirectoryStream<Path> dir) throws IOException {
    SecureDirectoryStream<Path> secure = dir instanceof SecureDirectoryStream<Path> s ? s : null;
    List<Path> names = new ArrayList<>();
    for (Path child : dir) {
      names.add(child.getFileName());
    }
    for (Path name : names) {
      if (m.temps().cancelled()) {
        return false;
      }
      Path child = dirPath.resolve(name);
      String path = rel.isEmpty() ? name.toString() : rel + "/" + name;
      BasicFileAttributes attrs;
      try {
        attrs = secure != null ? secure.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes()
            : Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException gone) {
        continue;
      }
      if (!attrs.isDirectory()) {
        mirrorFile(m, secure, name, child, path);
      } else if (m.keepOut().stream().noneMatch(child::startsWith) && (m.keepOut().stream().anyMatch(kept -> kept.startsWith(child))
          || keepsWalking(m, secure, name, child, path))) { // one that holds the store is kept, whatever the snapshot says
        beforeListing.accept(child);
        java.nio.file.DirectoryStream<Path> sub;
        try {
          sub = secure != null ? secure.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS) : Files.newDirectoryStream(child);
        } catch (java.nio.file.FileSystemException e) {
          // Gone, or replaced by a link (ELOOP) or a file (ENOTDIR) since it was looked at: another process's.
          // Anything else (no descriptor left, EMFILE; an I/O error) fails the pull, as the walk by paths did.
          if (e instanceof java.nio.file.AccessDeniedException || !noLongerADirectory(secure, name, child)) {
            throw e;
          }
          listener.warning(path + " was replaced during the pull (it is no longer the directory it was); mode=mirror leaves it alone");
          continue;
        }
        try (sub) {
          if (!mirror(m, child, path, sub)) {
            return false;
          }
        }
      }
    }
    return true;
  }

  /** Whether the entry {@code name} of the open directory {@code dir} (null: by its path {@code path}) is gone or no directory now. */
  private static boolean noLongerADirectory(SecureDirectoryStream<Path> dir, Path name, Path path) throws IOException {
    try {
      return !(dir != null ? dir.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes()
          : Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)).isDirectory();
    } catch (NoSuchFileException gone) {
      return true;
    }
  }

  /** {@code mode=mirror}: removes the file or link {@code name} of the open directory {@code dir} (null: by its path) if the snapshot lacks it. */
  private void mirrorFile(Mirror m, SecureDirectoryStream<Path> dir, Path name, Path file, String path) throws IOException {
    if (!FileNameEncoding.faithful(path)) {
      listener.warning(path + ": a name this JVM cannot read faithfully (" + FileNameEncoding.problem() + "), so mode=mirror leaves it alone");
    } else if (name.toString().startsWith(TreeScanner.ASIDE_PREFIX)) {
      if (!m.temps().movedAside(file)) {
        listener.warning(path + " is what a killed pull moved aside (the user's file); mode=mirror leaves it alone:"
            + " look at it, then move it back or delete it");
      }
    } else if (name.toString().startsWith(TreeScanner.TEMP_PREFIX)) {
      // An interrupted pull's, or another process's in progress: never a snapshot's extra. The pull's
      // rule for leftovers decides (PullOperation.stale: an hour-old one goes, a younger one stays,
      // told), here too, as a pull that does not scan the target first (verify=content) never ran
      // it. It looks at the file by its path; the removal is relative to the open directory.
      // Not counted among "removed": those are the snapshot's extras, and a pull that scans first
      // removes such a file in its scan, uncounted, too.
      if (options.staleLeftover() != null && options.staleLeftover().test(file)) {
        try {
          deleteFile(dir, name, file);
        } catch (NoSuchFileException gone) {
          // removed meanwhile (another pull's scan)
        }
      }
    } else if (!m.kinds().containsKey(path) && !m.keepOut().contains(file)) {
      removeFile(m, dir, name, file);
    }
  }

  /** Removes the file or link {@code name} of the open directory {@code dir} (null: by its path {@code file}), and counts it. */
  private static void removeFile(Mirror m, SecureDirectoryStream<Path> dir, Path name, Path file) throws IOException {
    deleteFile(dir, name, file);
    m.removed()[0]++;
  }

  /** Deletes the file or link {@code name} of the open directory {@code dir} (null: by its path {@code file}). */
  private static void deleteFile(SecureDirectoryStream<Path> dir, Path name, Path file) throws IOException {
    if (dir != null) {
      dir.deleteFile(name);
    } else {
      Files.delete(file);
    }
  }

  /**
   * {@code mode=mirror}: removes the directory {@code name} of the open directory {@code dir} (null: by
   * its path) if the snapshot lacks it; true when the walk goes into it (a directory of the snapshot).
   */
  private boolean keepsWalking(Mirror m, SecureDirectoryStream<Path> dir, Path name, Path child, String path) throws IOException {
    if (!FileNameEncoding.faithful(path)) {
      listener.warning(path + ": a name this JVM cannot read faithfully (" + FileNameEncoding.problem() + "), so mode=mirror leaves it alone");
      return false;
    }
    if (name.toString().startsWith(TreeScanner.ASIDE_PREFIX)) {
      if (!m.temps().movedAside(child)) {
        warnOfEarlierAside(path);
      }
      return false; // this pull's own: deleted once it completes
    }
    // As rm --one-file-system: what is mounted in the target (a bind mount of another directory too)
    // is not the target's. A directory of the snapshot that holds a mount point is walked (what lies
    // beside the mount is mirrored); one the snapshot lacks stays whole.
    Optional<Path> mount = mountAtOrBelow(child);
    if (mount.isPresent() && (mount.get().equals(child) || !m.kinds().containsKey(path))) {
      listener.warning((mount.get().equals(child) ? path + " is a mount point" : path + " holds a mount point, " + mount.get())
          + "; mode=mirror leaves it and what it holds alone");
      return false;
    }
    EntryType kind = m.kinds().get(path);
    if (kind == null) {
      unlocked.unlock(child); // first: a directory of mode 000 cannot be walked before
      unlocked.unlockTree(child);
      if (dir != null) {
        FileTrees.deleteTree(dir, name, child);
      } else {
        FileTrees.deleteTree(child);
      }
      m.removed()[0]++;
      return false;
    }
    // The snapshot has a file or link here, which the restore put in place: a directory here is
    // not the snapshot's to mirror (a cancelled pull put the user's back), so nothing in it goes.
    return kind == EntryType.DIRECTORY;
  }

  /**
   * Refuses, before a byte is written, a restore whose files cannot fit: a snapshot may reference one
   * chunk from many files, so a small artifact can describe a huge tree. A file that replaces one
   * already there frees that one's space when it is renamed over it, so it needs only what it adds,
   * plus room for the largest such file while it is written beside the old one.
   *
   * @param seen what a scan of the target saw by path (null: look at each file)
   */
  static void requireSpace(Path root, List<PendingFile> pending, Map<String, ScannedEntry> seen) throws IOException {
    long[] sizes = new long[pending.size()];
    long[] replaced = new long[pending.size()];
    for (int i = 0; i < sizes.length; i++) {
      sizes[i] = pending.get(i).entry.size();
      replaced[i] = existingSize(pending.get(i), seen);
    }
    java.nio.file.FileStore fileStore = Files.getFileStore(root);
    long needed = spaceNeeded(sizes, replaced, blockSize(fileStore));
    long usable = fileStore.getUsableSpace();
    if (needed > usable) {
      throw new CachemountException(dev.cachemount.core.FailureKind.OPERATIONAL, String.format(
          "restoring needs %,d more bytes for %,d files (besides the space of the files they replace) but the file system of %s"
          + " has %,d bytes free; free space or pull elsewhere", needed, pending.size(), root, usable));
    }
  }

  /**
   * The free bytes a restore needs that writes files of {@code sizes} over files of {@code replaced}
   * bytes (0: nothing there): what each adds, and room for the largest replacing file while it
   * is written beside the file it replaces.
   */
  static long spaceNeeded(long[] sizes, long[] replaced) {
    return spaceNeeded(sizes, replaced, 1);
  }

  /**
   * As {@link #spaceNeeded(long[], long[])}, each file taking whole blocks of {@code blockSize} bytes,
   * as it does on disk: a tree of many small files (a Maven repository's checksums and poms, Go's
   * build cache) takes more than the sum of its sizes (461 files of 5.5 MiB took 7 MiB of a tmpfs),
   * and a check by sizes alone let a pull start that then filled the disk.
   */
  static long spaceNeeded(long[] sizes, long[] replaced, long blockSize) {
    long needed = 0;
    long largestReplacing = 0;
    for (int i = 0; i < sizes.length; i++) {
      long size = wholeBlocks(sizes[i], blockSize);
      long old = wholeBlocks(replaced[i], blockSize);
      needed += Math.max(0, size - old);
      if (old > 0) {
        largestReplacing = Math.max(largestReplacing, Math.min(old, size));
      }
    }
    return needed + largestReplacing;
  }

  /** {@code bytes} rounded up to whole blocks (a block size below 2: as they are). */
  private static long wholeBlocks(long bytes, long blockSize) {
    if (blockSize < 2 || bytes <= 0) {
      return Math.max(0, bytes);
    }
    long blocks = bytes / blockSize + (bytes % blockSize == 0 ? 0 : 1);
    return blocks > Long.MAX_VALUE / blockSize ? Long.MAX_VALUE / 2 : blocks * blockSize;
  }

  /** The file system's block size; 1 where it cannot say (then sizes are counted as they are). */
  private static long blockSize(java.nio.file.FileStore fileStore) {
    try {
      long size = fileStore.getBlockSize();
      return size > 0 && size <= 1 << 20 ? size : 1;
    } catch (IOException | UnsupportedOperationException e) {
      return 1;
    }
  }

  /**
   * The space a pending file frees when it is renamed over the regular file at its path: that file's
   * size, or 0 (nothing there, or a file with other hard links, whose bytes stay).
   */
  private static long existingSize(PendingFile p, Map<String, ScannedEntry> seen) throws IOException {
    if (seen != null) {
      ScannedEntry e = seen.get(p.entry.path());
      if (e == null || e.type() != EntryType.FILE || e.size() == 0) {
        return 0;
      }
    }
    try {
      Map<String, Object> a = Files.readAttributes(p.target, "unix:isRegularFile,size,nlink", LinkOption.NOFOLLOW_LINKS);
      return Boolean.TRUE.equals(a.get("isRegularFile")) && ((Number) a.get("nlink")).intValue() == 1 ? (Long) a.get("size") : 0;
    } catch (java.nio.file.FileSystemException e) {
      return 0; // nothing there, or nothing we may look at: it frees nothing
    }
  }

  /** A directory an earlier pull moved aside, which mode=mirror leaves alone: the user's. */
  private void warnOfEarlierAside(String path) {
    listener.warning(path + " is what an earlier pull moved aside (the user's directory; that pull was killed, or could not"
        + " delete it); mode=mirror leaves it alone: look at it, then move it back or delete it");
  }

  /**
   * Renames a finished temporary file or link over {@code target}. A directory in the way is replaced
   * (the rename fails on it, and only then is it looked at), so the usual case costs one rename. The
   * directory is moved aside, not deleted: deleted once the restore completes, put back if it fails
   * first (see {@link TempFiles#moveAside}), so that an interrupted pull never leaves the user's
   * directory half deleted.
   */
  private void moveIntoPlace(Path temp, Path target, TempFiles temps) throws IOException {
    try {
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (java.nio.file.FileSystemException e) {
      if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
        throw e;
      }
      Optional<Path> mount = mountAtOrBelow(target);
      if (mount.isPresent()) {
        // Moved aside, it would be deleted once the pull completes, and what is mounted with it.
        throw new CachemountException(dev.cachemount.core.FailureKind.OPERATIONAL, "the snapshot has a file or symlink at " + target
            + ", a directory that is or holds a mount point (" + mount.get() + "); unmount it, or pull into another directory");
      }
      listener.warning("replacing directory " + target + " with a file or symlink from the snapshot");
      try {
        temps.moveAside(target);
      } catch (java.nio.file.AtomicMoveNotSupportedException renameRefused) {
        // overlayfs without redirect_dir (as Docker mounts it) refuses to rename a directory of a
        // lower layer (EXDEV), however often the pull is run: copied aside, then deleted, it is as
        // whole until the pull completes.
        unlocked.unlock(target);
        unlocked.unlockTree(target);
        temps.copyAside(target);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    }
  }

  /**
   * A mount point that is {@code dir} or lies below it: from the mount table, or {@code dir} itself
   * when it is on another device than the target (where the table could not be read, or could not
   * name it).
   */
  private Optional<Path> mountAtOrBelow(Path dir) {
    Optional<Path> listed = MountPoints.atOrBelow(dir, mounts);
    if (listed.isPresent()) {
      return listed;
    }
    Object device = MountPoints.device(dir);
    return rootDevice != null && device != null && !rootDevice.equals(device) ? Optional.of(dir) : Optional.empty();
  }

  /** Deletes a directory tree of the target, its read-only directories (mode 000 too) unlocked first. */
  private void deleteUnlocked(Path directory) throws IOException {
    unlocked.unlock(directory); // first: a directory of mode 000 cannot be walked before
    unlocked.unlockTree(directory);
    FileTrees.deleteTree(directory);
  }

  /**
   * The target's real path, made (with its missing parents) if missing. A target it made is noted in
   * {@code temps}, so that a pull that fails removes it again while it is empty; parents it made stay
   * (another pull, into another target below them, which does not take this one's lock, may be
   * making its own there).
   */
  private static Path prepareRoot(Path target, TempFiles temps) throws IOException {
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) || Files.isSymbolicLink(target)) {
      if (!Files.isDirectory(target)) {
        if (Files.isSymbolicLink(target) && !Files.exists(target)) {
          String to;
          try {
            to = " to " + Files.readSymbolicLink(target);
          } catch (IOException | UnsupportedOperationException e) {
            to = "";
          }
          throw CachemountException.usage("target " + target + " is a symlink" + to + ", which names nothing; make the directory it names,"
              + " or set target= to a directory (it is created if missing)");
        }
        throw CachemountException.usage("target " + target + " exists and is not a directory; set target= to a directory (it is created if missing)");
      }
    } else {
      Path parent = target.toAbsolutePath().normalize().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      try {
        temps.createDirectory(target);
      } catch (java.nio.file.FileAlreadyExistsException e) {
        if (!Files.isDirectory(target)) {
          throw e;
        }
        // made by someone else meanwhile: not this pull's to remove
      }
    }
    return target.toRealPath();
  }

  /**
   * Makes {@code dir} a real, writable directory, replacing a file or symlink in the way (moved
   * aside until the restore completes: see {@link TempFiles#moveAside}).
   * {@code likelyMissing}: the scan before the restore saw nothing there, so creating it is tried
   * first (one call instead of a failed look and a create).
   */
  private void ensureDirectory(Path dir, boolean likelyMissing, TempFiles temps) throws IOException {
    if (likelyMissing) {
      try {
        temps.createDirectory(dir);
        return;
      } catch (java.nio.file.FileAlreadyExistsException e) {
        // something appeared since the scan: looked at below
      }
    }
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      temps.createDirectory(dir);
      return;
    }
    if (attrs.isDirectory()) {
      unlocked.unlock(dir);
      return;
    }
    listener.warning("replacing " + (attrs.isSymbolicLink() ? "symlink " : "file ") + dir + " with the snapshot's directory");
    temps.moveAside(dir); // deleted once the restore completes, put back if it fails first
    Files.createDirectory(dir);
  }

  private static FileTime mtime(Entry e) {
    return FileTime.from(Instant.ofEpochSecond(e.mtimeSeconds(), e.mtimeNanos()));
  }

}
