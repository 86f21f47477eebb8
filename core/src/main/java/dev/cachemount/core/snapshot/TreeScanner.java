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
 * Directories are listed on up to {@link #threads} threads at once (the caller's and short-lived
 * helpers); what the scan says goes to the listener on the caller's thread when it ends, in the
 * order of the tree.
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
  private final java.util.function.Function<Path, Leftover> leftovers;
  private dev.cachemount.core.Progress progress = dev.cachemount.core.Progress.unobserved();

  /** What became of a temporary file of a pull that a scan found. */
  public enum Leftover {
    /** Removed (its writer was killed): not reported. */
    DROPPED,
    /** Its writer, a pull, still runs (into the tree being scanned): reported as such. */
    PULL_RUNNING,
    /** Left as it is, its writer unknown or killed: reported as an interrupted pull's, safe to delete. */
    LEFT
  }

  public TreeScanner(OperationListener listener) {
    this(listener, leftover -> Leftover.LEFT);
  }

  /**
   * @param leftovers given each temporary file of a pull (not what one moved aside): what became of
   *     it, which decides what the scan says of it
   */
  public TreeScanner(OperationListener listener, java.util.function.Function<Path, Leftover> leftovers) {
    this.listener = listener;
    this.leftovers = leftovers;
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
    return new Walk(root, excluded, limit).run();
  }

  /** The threads that list directories at once, the caller's among them: stats on two cores, or a cold disk, overlap. */
  static int threads() {
    return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
  }

  /** What a scan says, kept until it ends so that it is told in the order of the tree, whichever thread found it. */
  private record Message(String dir, int seq, boolean warning, String text) {}

  /**
   * One scan: the directories still to list, shared by the threads that list them; each thread keeps the
   * entries it found, and the scan sorts them all at the end. Messages are told, on the caller's
   * thread, once every thread has stopped, in the order of their directories' paths.
   */
  private final class Walk {
    private final Path root;
    private final int rootBytes;
    private final Set<Path> excluded;
    private final LongSupplier limit;
    // The identity (file key) of each directory the scan found, checked when it is listed: opening it by
    // its path follows a symlink that replaced it (or one of its parents) since, to a tree outside the target.
    private final java.util.Map<String, Object> directoryKeys = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong found = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.Queue<Message> messages = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.Queue<List<ScannedEntry>> lists = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** Guards pending, listing, stopped, overLimit and failure. */
    private final Object lock = new Object();
    private final Deque<String> pending = new ArrayDeque<>();
    private int listing;
    private boolean stopped;
    private boolean overLimit;
    private Throwable failure;

    Walk(Path root, Set<Path> excluded, LongSupplier limit) {
      this.root = root;
      this.rootBytes = root.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      this.excluded = excluded;
      this.limit = limit;
    }

    List<ScannedEntry> run() throws IOException {
      pending.push("");
      List<Thread> helpers = new ArrayList<>();
      for (int i = 1; i < threads(); i++) {
        Thread t = new Thread(this::work, "cachemount-scan-" + i);
        t.setDaemon(true);
        try {
          t.start();
        } catch (OutOfMemoryError | RuntimeException e) {
          break; // no thread to be had (a process limit): the threads started, the caller's among them, do the work
        }
        helpers.add(t);
      }
      work();
      boolean interrupted = false;
      for (Thread t : helpers) {
        while (true) {
          try {
            t.join();
            break;
          } catch (InterruptedException e) {
            interrupted = true; // the scan is not cancelled by an interrupt: it ends, and the caller sees the flag
          }
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      tell();
      if (failure instanceof IOException e) {
        throw e;
      } else if (failure instanceof RuntimeException e) {
        throw e;
      } else if (failure instanceof Error e) {
        throw e;
      }
      if (overLimit) {
        return null;
      }
      List<ScannedEntry> entries = new ArrayList<>((int) Math.min(Integer.MAX_VALUE - 8, found.get()));
      for (List<ScannedEntry> list : lists) {
        entries.addAll(list);
      }
      entries.sort((a, b) -> EntryPaths.ORDER.compare(a.path(), b.path()));
      return entries;
    }

    /** Lists directories until none is left and no thread is listing one (which could add more), or the scan stops. */
    private void work() {
      List<ScannedEntry> mine = new ArrayList<>();
      lists.add(mine);
      List<String> subdirectories = new ArrayList<>();
      boolean interrupted = false;
      while (true) {
        String dir;
        synchronized (lock) {
          while (pending.isEmpty() && listing > 0 && !stopped) {
            try {
              lock.wait();
            } catch (InterruptedException e) {
              interrupted = true;
            }
          }
          if (stopped || pending.isEmpty()) {
            lock.notifyAll();
            break;
          }
          dir = pending.pop();
          listing++;
        }
        boolean more = false;
        Throwable failed = null;
        try {
          more = list(dir, mine, subdirectories);
        } catch (Throwable t) {
          failed = t;
        }
        synchronized (lock) {
          listing--;
          if (failed != null || !more) {
            stopped = true;
            overLimit |= failed == null;
            if (failure == null) {
              failure = failed;
            }
          }
          for (String sub : subdirectories) {
            pending.push(sub);
          }
          lock.notifyAll();
        }
        subdirectories.clear();
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }

    /**
     * Tells the messages in the tree's order (by directory, then by text, which starts with the entry's
     * path); where more than {@link SkipNotes#ONE_BY_ONE} entries of one directory are skipped for the
     * same reason (a directory deleted during the scan), one line for them all.
     */
    private void tell() {
      List<Message> all = new ArrayList<>(messages);
      all.sort(java.util.Comparator.comparing(Message::dir, EntryPaths.ORDER).thenComparing(Message::text, EntryPaths.ORDER));
      java.util.Map<String, List<String>> alike = new java.util.HashMap<>();
      for (Message m : all) {
        SkipNotes.Kind kind = m.warning() ? SkipNotes.kindOf(m.text()) : null;
        if (kind != null) {
          alike.computeIfAbsent(m.dir() + "\0" + kind.suffix(), k -> new ArrayList<>()).add(kind.path(m.text()));
        }
      }
      for (Message m : all) {
        SkipNotes.Kind kind = m.warning() ? SkipNotes.kindOf(m.text()) : null;
        List<String> group = kind == null ? null : alike.get(m.dir() + "\0" + kind.suffix());
        if (group != null && group.size() > SkipNotes.ONE_BY_ONE) {
          if (group.get(0).equals(kind.path(m.text()))) {
            listener.warning(kind.many(m.dir(), group));
          }
        } else if (m.warning()) {
          listener.warning(m.text());
        } else {
          listener.info(m.text());
        }
      }
    }

    /**
     * Lists directory {@code dir} (relative, "" for the root): adds its entries to {@code entries}, and
     * its subdirectories to {@code subdirectories}; false once the tree holds more than {@code limit}
     * entries. A method of its own, not the body of a loop: a JIT compiles a long loop from the loop on
     * (on-stack replacement), and compiled the scan so twice on a push of 100,000 files, on the core the
     * push shares with it.
     */
    private boolean list(String dir, List<ScannedEntry> entries, List<String> subdirectories) throws IOException {
      int[] seq = {0};
      java.util.function.BiConsumer<Boolean, String> say = (warning, text) -> messages.add(new Message(dir, seq[0]++, warning, text));
      Path dirPath = dir.isEmpty() ? root : root.resolve(dir);
      Object expectedKey = directoryKeys.remove(dir);
      if (!dir.isEmpty() && !Files.isDirectory(dirPath, LinkOption.NOFOLLOW_LINKS)) {
        // Replaced since its stat: by a FIFO, whose open would block the scan for ever, a file or a link.
        if (Files.exists(dirPath, LinkOption.NOFOLLOW_LINKS)) {
          say.accept(true, "directory " + dir + " was replaced during the scan; skipped");
        } else {
          say.accept(true, "directory " + dir + " vanished during the scan; skipped");
        }
        return true;
      }
      try (DirectoryStream<Path> children = Files.newDirectoryStream(dirPath)) {
        SecureDirectoryStream<Path> secure = children instanceof SecureDirectoryStream<Path> s ? s : null;
        if (!dir.isEmpty() && expectedKey != null && !expectedKey.equals(openedKey(secure, dirPath))) {
          say.accept(true, "directory " + dir + " was replaced during the scan; skipped");
          return true;
        }
        for (Path child : children) {
          String name = child.getFileName().toString();
          String path = dir.isEmpty() ? name : dir + "/" + name;
          if (name.startsWith(ASIDE_PREFIX)) {
            say.accept(true, path + " is what an earlier pull moved aside (it stood where the snapshot has an entry of another kind; that pull was killed, or could not delete it); skipped:"
                + " look at it, then move it back or delete it");
            continue;
          }
          if (name.startsWith(TEMP_PREFIX)) {
            switch (leftovers.apply(child)) {
              case DROPPED -> { }
              case PULL_RUNNING -> say.accept(true, path + SkipNotes.PULL_RUNNING.suffix());
              case LEFT -> say.accept(true, path + SkipNotes.LEFTOVER.suffix());
            }
            continue;
          }
          if (excluded.contains(child)) {
            say.accept(false, path + " is left out of the snapshot");
            continue;
          }
          // Up to 3 bytes a char: measured only when it could be too long.
          if (rootBytes + 1 + 3L * path.length() + PULL_NAME_BYTES > MAX_OPEN_PATH_BYTES && !restorable(rootBytes, path, name)) {
            say.accept(true, shortened(path) + ": its path from / is too long to restore: with the " + PULL_NAME_BYTES
                + "-byte temporary name a pull writes beside it, it would pass the " + MAX_OPEN_PATH_BYTES
                + " bytes this system can open; skipped, with everything below it (a target whose real path is shorter would keep it)");
            continue;
          }
          PosixFileAttributes attrs = attributes(secure, child, path, say);
          ScannedEntry entry = attrs == null ? null : entry(child, path, name, attrs, say);
          if (entry != null) {
            // Counted before the limit is asked: two threads that each find one entry more may not both keep it.
            if (found.incrementAndGet() > limit.getAsLong()) {
              return false;
            }
            entries.add(entry);
            progress.file();
            if (entry.type() == EntryType.DIRECTORY) {
              if (attrs.fileKey() != null) {
                directoryKeys.put(path, attrs.fileKey());
              }
              subdirectories.add(path);
            }
          }
        }
      } catch (NoSuchFileException e) {
        if (dir.isEmpty()) {
          throw e;
        }
        say.accept(true, "directory " + dir + " vanished during the scan; skipped");
      } catch (NotDirectoryException e) {
        if (dir.isEmpty()) {
          throw e;
        }
        say.accept(true, "directory " + dir + " was replaced during the scan; skipped");
      } catch (AccessDeniedException e) {
        throw CachemountException.operational(
            "cannot list directory " + dirPath + ": permission denied; make it readable and searchable by this user (chmod u+rx), or run as its owner", e);
      }
      return true;
    }
  }

  /**
   * The attributes of {@code file}, a child of the directory listed by {@code secure} where there is
   * one (read relative to the open directory, so that a symlink swapped in above it since is not
   * followed), else read by its path; null when it vanished.
   */
  private static PosixFileAttributes attributes(SecureDirectoryStream<Path> secure, Path file, String path,
      java.util.function.BiConsumer<Boolean, String> say) throws IOException {
    try {
      if (secure != null) {
        return secure.getFileAttributeView(file.getFileName(), PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
      }
      return Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      say.accept(true, path + SkipNotes.VANISHED_IN_SCAN.suffix());
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
    return entry(file, path, name, attrs, (warning, text) -> listener.warning(text));
  }

  /** As {@link #entry(Path, String, String, PosixFileAttributes)}, saying why it skips to {@code say} (true: a warning). */
  private static ScannedEntry entry(Path file, String path, String name, PosixFileAttributes attrs, java.util.function.BiConsumer<Boolean, String> say)
      throws IOException {
    if (attrs.isOther()) {
      say.accept(true, path + " is a socket, FIFO or device; skipped (a snapshot holds files, directories and symlinks)");
      return null;
    }
    // The parent passed this check when it was scanned: only the name is new (the path's length is
    // bounded by the check of what a pull can open, which comes first).
    String problem = !FileNameEncoding.faithful(name) ? FileNameEncoding.problem() : EntryPaths.segmentProblem(name);
    if (problem != null) {
      say.accept(true, path + " cannot be stored (" + problem + "); skipped");
      return null;
    }
    int mode = ScannedEntry.modeOf(attrs);
    Instant mtime = attrs.lastModifiedTime().toInstant();
    if (attrs.isSymbolicLink()) {
      String target;
      try {
        target = Files.readSymbolicLink(file).toString();
      } catch (NoSuchFileException e) {
        say.accept(true, path + SkipNotes.VANISHED_IN_SCAN.suffix());
        return null;
      } catch (java.nio.file.NotLinkException e) {
        say.accept(true, path + " was replaced during the scan; skipped");
        return null;
      }
      if (target.isEmpty() || target.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > EntryPaths.MAX_LINK_TARGET_BYTES
          || !FileNameEncoding.faithful(target)) {
        say.accept(true, path + " is a symlink whose target cannot be stored; skipped");
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
