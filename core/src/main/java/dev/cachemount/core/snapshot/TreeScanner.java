package dev.cachemount.core.snapshot;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.index.EntryPaths;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.internal.FileNameEncoding;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Lists a directory tree without following symlinks: directories (empty ones too), regular files and
 * symlinks, each with its permission bits, size and modification time. Sockets, FIFOs and devices
 * are skipped with a warning, as are names a snapshot cannot hold ({@link EntryPaths}) or that are
 * not valid UTF-8. The root itself is not an entry. Entries come back in {@link EntryPaths#ORDER}.
 */
public final class TreeScanner {
  /** The prefix of a restore's temporary files ({@code restore.PendingFile}): never part of a snapshot. */
  public static final String TEMP_PREFIX = ".cachemount-tmp-";
  /** The names of what a pull moved aside: the user's files, unlike other temporary files. */
  public static final String ASIDE_PREFIX = TEMP_PREFIX + "aside-";
  /** The longest path, in bytes, that Linux opens (PATH_MAX, 4096, counts the terminating NUL). */
  public static final int MAX_OPEN_PATH_BYTES = 4095;
  /**
   * The longest name a pull gives a file it writes or moves beside an entry ({@link #ASIDE_PREFIX}
   * and 16 hex digits): a push keeps only entries that leave room for it within {@link
   * #MAX_OPEN_PATH_BYTES}, so that a pull into a target of the same path can restore them.
   */
  public static final int PULL_NAME_BYTES = ASIDE_PREFIX.length() + 16;

  private final OperationListener listener;
  private final java.util.function.Predicate<Path> dropLeftover;
  private dev.cachemount.core.Progress progress = dev.cachemount.core.Progress.unobserved();

  public TreeScanner(OperationListener listener) {
    this(listener, leftover -> false);
  }

  /**
   * @param dropLeftover given each temporary file of an interrupted pull (not what one moved aside);
   *     true when it removed it (a pull that holds the target's lock), so that it is not reported
   */
  public TreeScanner(OperationListener listener, java.util.function.Predicate<Path> dropLeftover) {
    this.listener = listener;
    this.dropLeftover = dropLeftover;
  }

  /** Counts each entry it finds as a file done in {@code progress}. */
  public TreeScanner reportingTo(dev.cachemount.core.Progress progress) {
    this.progress = progress;
    return this;
  }

  /**
   * Scans the tree under {@code root}, a directory (a symlink to one is followed, at the root only).
   *
   * @throws CachemountException of kind OPERATIONAL when a directory cannot be listed
   */
  public List<ScannedEntry> scan(Path root) throws IOException {
    return scan(root, Set.of());
  }

  /**
   * Scans the tree under {@code root}, leaving out the subtrees at {@code excluded} (absolute, real
   * paths; used to keep a store that lies inside the target out of its own snapshot).
   */
  public List<ScannedEntry> scan(Path root, Set<Path> excluded) throws IOException {
    return scan(root, excluded, Long.MAX_VALUE);
  }

  /**
   * Scans as {@link #scan(Path, Set)} does, but gives up once the tree holds more than {@code limit}
   * entries: then it returns null, having looked at about {@code limit} entries, not the whole tree.
   */
  public List<ScannedEntry> scan(Path root, Set<Path> excluded, long limit) throws IOException {
    return scan(root, excluded, () -> limit);
  }

  /**
   * Scans as {@link #scan(Path, Set, long)} does, with a limit that may change while it runs: a scan
   * started before the limit is known (another thread sets it) stops once it is passed.
   */
  public List<ScannedEntry> scan(Path root, Set<Path> excluded, LongSupplier limit) throws IOException {
    List<ScannedEntry> entries = new ArrayList<>();
    int rootBytes = root.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    Deque<String> pending = new ArrayDeque<>();
    // The identity (file key) of each directory the scan found, checked when it is listed: opening it by
    // its path follows a symlink that replaced it (or one of its parents) since, to a tree outside the target.
    java.util.Map<String, Object> directoryKeys = new java.util.HashMap<>();
    pending.push("");
    while (!pending.isEmpty()) {
      if (!list(root, rootBytes, pending.pop(), excluded, limit, entries, pending, directoryKeys)) {
        return null;
      }
    }
    entries.sort((a, b) -> EntryPaths.ORDER.compare(a.path(), b.path()));
    return entries;
  }

  /**
   * Lists directory {@code dir} (relative, "" for the root): adds its entries, and pushes its
   * subdirectories to {@code pending}; false once the tree holds more than {@code limit} entries. A
   * method of its own, not the body of the scan's loop: a JIT compiles a long loop from the loop on
   * (on-stack replacement), and compiled the scan so twice on a push of 100,000 files, on the core the
   * push shares with it.
   */
  private boolean list(Path root, int rootBytes, String dir, Set<Path> excluded, LongSupplier limit, List<ScannedEntry> entries, Deque<String> pending,
      java.util.Map<String, Object> directoryKeys) throws IOException {
    Path dirPath = dir.isEmpty() ? root : root.resolve(dir);
    Object expectedKey = directoryKeys.remove(dir);
    if (!dir.isEmpty() && !Files.isDirectory(dirPath, LinkOption.NOFOLLOW_LINKS)) {
      // Replaced since its stat: by a FIFO, whose open would block the scan for ever, a file or a link.
      if (Files.exists(dirPath, LinkOption.NOFOLLOW_LINKS)) {
        listener.warning("directory " + dir + " was replaced during the scan; skipped");
      } else {
        listener.warning("directory " + dir + " vanished during the scan; skipped");
      }
      return true;
    }
    try (DirectoryStream<Path> children = Files.newDirectoryStream(dirPath)) {
      SecureDirectoryStream<Path> secure = children instanceof SecureDirectoryStream<Path> s ? s : null;
      if (!dir.isEmpty() && expectedKey != null && !expectedKey.equals(openedKey(secure, dirPath))) {
        listener.warning("directory " + dir + " was replaced during the scan; skipped");
        return true;
      }
      for (Path child : children) {
        String name = child.getFileName().toString();
        String path = dir.isEmpty() ? name : dir + "/" + name;
        if (name.startsWith(ASIDE_PREFIX)) {
          listener.warning(path + " is what an earlier pull moved aside (it stood where the snapshot has an entry of another kind; that pull was killed, or could not delete it); skipped:"
              + " look at it, then move it back or delete it");
          continue;
        }
        if (name.startsWith(TEMP_PREFIX)) {
          if (!dropLeftover.test(child)) {
            listener.warning(path + " is a temporary file of an interrupted pull; skipped (it is safe to delete)");
          }
          continue;
        }
        if (excluded.contains(child)) {
          listener.info(path + " is left out of the snapshot");
          continue;
        }
        // Up to 3 bytes a char: measured only when it could be too long.
        if (rootBytes + 1 + 3L * path.length() + PULL_NAME_BYTES > MAX_OPEN_PATH_BYTES && !restorable(rootBytes, path, name)) {
          listener.warning(shortened(path) + ": its path from / is too long to restore: with the " + PULL_NAME_BYTES
              + "-byte temporary name a pull writes beside it, it would pass the " + MAX_OPEN_PATH_BYTES
              + " bytes this system can open; skipped, with everything below it (a target whose real path is shorter would keep it)");
          continue;
        }
        PosixFileAttributes attrs = attributes(secure, child, path);
        ScannedEntry entry = attrs == null ? null : entry(child, path, name, attrs);
        if (entry != null) {
          if (entries.size() >= limit.getAsLong()) {
            return false;
          }
          entries.add(entry);
          progress.file();
          if (entry.type() == EntryType.DIRECTORY) {
            pending.push(path);
            if (attrs.fileKey() != null) {
              directoryKeys.put(path, attrs.fileKey());
            }
          }
        }
      }
    } catch (NoSuchFileException e) {
      if (dir.isEmpty()) {
        throw e;
      }
      listener.warning("directory " + dir + " vanished during the scan; skipped");
    } catch (NotDirectoryException e) {
      if (dir.isEmpty()) {
        throw e;
      }
      listener.warning("directory " + dir + " was replaced during the scan; skipped");
    } catch (AccessDeniedException e) {
      throw CachemountException.operational(
          "cannot list directory " + dirPath + ": permission denied; make it readable and searchable by this user (chmod u+rx), or run as its owner", e);
    }
    return true;
  }

  /**
   * The attributes of {@code file}, a child of the directory listed by {@code secure} where there is
   * one (read relative to the open directory, so that a symlink swapped in above it since is not
   * followed), else read by its path; null when it vanished.
   */
  private PosixFileAttributes attributes(SecureDirectoryStream<Path> secure, Path file, String path) throws IOException {
    try {
      if (secure != null) {
        return secure.getFileAttributeView(file.getFileName(), PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
      }
      return Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      listener.warning(path + " vanished during the scan; skipped");
      return null;
    }
  }

  /** The file key of the directory open as {@code secure} (else, less surely, of what {@code dirPath} names now). */
  private static Object openedKey(SecureDirectoryStream<Path> secure, Path dirPath) throws IOException {
    if (secure != null) {
      return secure.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey();
    }
    return Files.readAttributes(dirPath, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
  }

  /** What a scan keeps of {@code file} (at {@code path}, named {@code name}), whose attributes were just read; null when skipped. */
  ScannedEntry entry(Path file, String path, String name, PosixFileAttributes attrs) throws IOException {
    if (attrs.isOther()) {
      listener.warning(path + " is a socket, FIFO or device; skipped (a snapshot holds files, directories and symlinks)");
      return null;
    }
    // The parent passed this check when it was scanned: only the name is new (the path's length is
    // bounded by the check of what a pull can open, which comes first).
    String problem = !FileNameEncoding.faithful(name) ? FileNameEncoding.problem() : EntryPaths.segmentProblem(name);
    if (problem != null) {
      listener.warning(path + " cannot be stored (" + problem + "); skipped");
      return null;
    }
    int mode = 0;
    for (PosixFilePermission p : attrs.permissions()) {
      mode |= 1 << (8 - p.ordinal());
    }
    Instant mtime = attrs.lastModifiedTime().toInstant();
    if (attrs.isSymbolicLink()) {
      String target;
      try {
        target = Files.readSymbolicLink(file).toString();
      } catch (NoSuchFileException e) {
        listener.warning(path + " vanished during the scan; skipped");
        return null;
      }
      if (target.isEmpty() || target.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > EntryPaths.MAX_LINK_TARGET_BYTES
          || !FileNameEncoding.faithful(target)) {
        listener.warning(path + " is a symlink whose target cannot be stored; skipped");
        return null;
      }
      return new ScannedEntry(path, EntryType.SYMLINK, mode, 0, mtime.getEpochSecond(), mtime.getNano(), target);
    }
    if (attrs.isDirectory()) {
      return new ScannedEntry(path, EntryType.DIRECTORY, mode, 0, mtime.getEpochSecond(), mtime.getNano(), null);
    }
    return new ScannedEntry(path, EntryType.FILE, mode, attrs.size(), mtime.getEpochSecond(), mtime.getNano(), null);
  }

  /**
   * Whether the entry at {@code path} (whose last segment is {@code name}) under a root of {@code
   * rootBytes} bytes can be opened, and a pull's temporary name beside it too.
   */
  static boolean restorable(int rootBytes, String path, String name) {
    long pathBytes = path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    long nameBytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    return rootBytes + 1 + pathBytes - nameBytes + Math.max(nameBytes, PULL_NAME_BYTES) <= MAX_OPEN_PATH_BYTES;
  }

  /** A path of several kilobytes, cut to its start and end for a message. */
  public static String shortened(String path) {
    return path.length() <= 200 ? path : path.substring(0, 100) + "…(" + (path.length() - 180) + " characters)…" + path.substring(path.length() - 80);
  }
}
