package dev.cachemount.core.restore;

import dev.cachemount.core.snapshot.TreeScanner;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tells whether the process that wrote a temporary file into a target still runs. A restore that
 * writes anything first makes a marker in the target's root, {@code .cachemount-tmp-TOKEN.pull},
 * locked (a POSIX record lock, which the kernel drops when the process dies, also one in another
 * container that shares the directory) under the name {@code .cachemount-tmp-TOKEN.pull-new} before
 * it takes its final name, and names its temporary files
 * {@code .cachemount-tmp-TOKEN-RANDOM}. A later pull or push that finds such a file asks the marker
 * (in the directories above the file): not locked by anyone means that its writer was killed and the
 * file may go at once; still locked means a pull in progress; none found (the marker may lie above a
 * mount or a link the path came through) means the age of the file decides. So markers go only after
 * the files they name: a scan removes the markers it finds dead once it is done. Files without a token (an older version's, or where no marker could
 * be made: a file system without locks) are judged by their age instead.
 *
 * <p>The marker goes before the restore sets directory times and modes back, and on SIGTERM with the
 * temporary files; after SIGKILL it stays, unlocked, until the next pull or push removes it.
 */
public final class PullMarker implements AutoCloseable {
  /** What is known of the writer of a temporary file. */
  public enum Owner {
    /** Killed: the file is a leftover that may go. */
    GONE,
    /** Running (another pull in progress): the file stays. */
    ALIVE,
    /** A restore of this process, running (the one that asks, most likely): the file stays, and is no leftover to tell of. */
    THIS_PROCESS,
    /** Cannot tell (no token, no locks here): the caller's rule of age decides. */
    UNKNOWN
  }

  private static final Pattern TEMP = Pattern.compile(Pattern.quote(TreeScanner.TEMP_PREFIX) + "([0-9a-f]{8})-[0-9a-f]{7}");
  private static final Pattern MARKER = Pattern.compile(Pattern.quote(TreeScanner.TEMP_PREFIX) + "([0-9a-f]{8})\\.pull(-new)?");
  /** The suffix of a marker's name before it is locked. */
  private static final String NEW = "-new";
  /**
   * The tokens of the markers this process holds: asked about one of them, the answer comes without
   * opening it (closing any descriptor of a locked file drops this process's lock on it).
   */
  private static final Set<String> HELD = ConcurrentHashMap.newKeySet();

  private final String token;
  /** {@code .cachemount-tmp-TOKEN-}: what each temporary file's name starts with. */
  private final String prefix;
  private final Path file;
  private final FileChannel channel;

  private PullMarker(String token, Path file, FileChannel channel) {
    this.token = token;
    this.prefix = TreeScanner.TEMP_PREFIX + token + "-";
    this.file = file;
    this.channel = channel;
  }

  /**
   * Makes and locks a marker in {@code root}; empty when it cannot (a file system that refuses
   * locks): the restore then names its temporary files without a token.
   */
  static Optional<PullMarker> make(Path root) {
    if (!locksSeenByAll(root)) {
      return Optional.empty();
    }
    for (int tries = 0; tries < 8; tries++) {
      String token = String.format("%08x", ThreadLocalRandom.current().nextInt());
      Path named = root.resolve(markerName(token));
      if (!HELD.add(token)) {
        continue;
      }
      // Made and locked under a name of its own, then renamed: a marker found by its name is never one
      // not yet locked. One found under the first name unlocked is gone, or not yet locked (its maker
      // then names its files without a token).
      Path unnamed = root.resolve(markerName(token) + NEW);
      FileChannel channel = null;
      try {
        channel = FileChannel.open(unnamed, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        if (channel.tryLock() != null && !Files.exists(named, LinkOption.NOFOLLOW_LINKS)) {
          Files.move(unnamed, named, StandardCopyOption.ATOMIC_MOVE);
          return Optional.of(new PullMarker(token, named, channel));
        }
      } catch (IOException | RuntimeException e) {
        // no marker here: a file system without locks, or the name was taken
      }
      try {
        if (channel != null) {
          channel.close();
        }
        Files.deleteIfExists(unnamed);
      } catch (IOException | RuntimeException ignored) {
        // what is left is judged by its lock
      }
      HELD.remove(token);
      if (channel == null) {
        break; // could not even make the file: no name will do
      }
    }
    return Optional.empty();
  }

  /**
   * File systems whose locks every process that sees the directory sees: local ones. On a network file
   * system a lock may be kept on the client alone (NFS with {@code local_lock}, or without its lock
   * service), so that another machine would take a running pull's marker for a killed one's.
   */
  private static final Set<String> LOCAL = Set.of("ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs", "f2fs", "jfs",
      "reiserfs", "bcachefs", "ramfs", "vfat", "exfat", "hfsplus", "apfs");

  /** Whether the markers made in {@code root} can be trusted by every process that sees it (false: its files' age decides). */
  static boolean locksSeenByAll(Path root) {
    try {
      return LOCAL.contains(Files.getFileStore(root).type());
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  static String markerName(String token) {
    return TreeScanner.TEMP_PREFIX + token + ".pull";
  }

  /** The name of a new temporary file of this restore. */
  String tempName() {
    // Not String.format: a pull of 40,000 files names 40,000 of them.
    String random = Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 28) | 1 << 28).substring(1);
    return prefix + random;
  }

  /** Deletes the marker: every temporary file of the restore is gone (renamed into place, or deleted). */
  @Override
  public void close() {
    try {
      Files.deleteIfExists(file);
    } catch (IOException | RuntimeException e) {
      // stays, unlocked: the next pull or push removes it
    }
    try {
      channel.close();
    } catch (IOException e) {
      // the lock goes with the descriptor, or with the process
    }
    HELD.remove(token);
  }

  /**
   * Who wrote {@code leftover}, a temporary file or marker in a target. Looks at the marker only,
   * never at the file: in the directories above it, nearest first (its restore's root is one of
   * them, also where that root lies inside another pull's target).
   */
  public static Owner ownerOf(Path leftover) {
    String name = leftover.getFileName().toString();
    Matcher temp = TEMP.matcher(name);
    Matcher marker = MARKER.matcher(name);
    String token;
    if (temp.matches()) {
      token = temp.group(1);
    } else if (marker.matches()) {
      token = marker.group(1);
    } else {
      return Owner.UNKNOWN;
    }
    if (HELD.contains(token)) {
      return Owner.THIS_PROCESS;
    }
    if (marker.matches()) {
      return locker(leftover);
    }
    for (Path dir = leftover.toAbsolutePath().getParent(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve(markerName(token));
      if (Files.exists(candidate, LinkOption.NOFOLLOW_LINKS)) {
        return locker(candidate);
      }
    }
    // No marker above it: its writer may have ended, or the marker lies above a mount (a bind mount,
    // a container's volume) or a link this path came through. Only its age can tell.
    return Owner.UNKNOWN;
  }

  /** Whether {@code file} is a marker (one in the making too), which goes only after the files it names. */
  public static boolean isMarker(Path file) {
    return MARKER.matcher(file.getFileName().toString()).matches();
  }

  /**
   * Deletes a leftover and gives its directory back the time it had, which the scan that found the
   * leftover has seen (a push stores it; a pull compares it). True when it went.
   */
  public static boolean remove(Path leftover) {
    try {
      Path dir = leftover.getParent();
      java.nio.file.attribute.FileTime before = Files.getLastModifiedTime(dir, LinkOption.NOFOLLOW_LINKS);
      if (!Files.deleteIfExists(leftover)) {
        return false;
      }
      try {
        Files.setLastModifiedTime(dir, before);
      } catch (IOException | RuntimeException e) {
        // the directory keeps its new time: the next push stores it
      }
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static Owner locker(Path marker) {
    try (FileChannel channel = FileChannel.open(marker, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
      FileLock lock = channel.tryLock();
      if (lock == null) {
        return Owner.ALIVE;
      }
      lock.release();
      // Seen through a network file system, a lock its holder keeps on its own machine is not seen here.
      return locksSeenByAll(marker.getParent()) ? Owner.GONE : Owner.UNKNOWN;
    } catch (NoSuchFileException e) {
      return Owner.GONE; // removed meanwhile: its restore ended, or another pull removed it
    } catch (OverlappingFileLockException e) {
      return Owner.ALIVE; // held by this process, under another path
    } catch (IOException | RuntimeException e) {
      return Owner.UNKNOWN;
    }
  }
}
