package dev.cachemount.core.restore;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Lets a restore write into directories that are read-only to their owner, as Go's module cache
 * makes them (0555): a restore hands each directory it writes into to {@link #unlock}, which gives a
 * read-only one that the caller owns its owner-write bit, and {@link #close} gives the modes back.
 * Directories of other users are left as they are (the restore then fails on them with the system's
 * own "permission denied"). For a caller that may write anywhere, such as root, nothing changes.
 * {@link #cancel} — from a shutdown hook, on SIGTERM — gives the modes back early and refuses
 * further unlocks. Thread-safe.
 */
final class WritableDirectories implements AutoCloseable {
  private record Unlocked(Path dir, Set<PosixFilePermission> mode) {}

  private final List<Unlocked> unlocked = new ArrayList<>();
  private boolean cancelled;

  /** Makes the existing directory {@code dir} readable, writable and searchable for this restore, if its owner lacks any of them. */
  synchronized void unlock(Path dir) throws IOException {
    if (cancelled) {
      throw new IOException("the restore was cancelled");
    }
    // Writable alone is not enough: a directory of mode 0300 can be written but not listed, which a
    // mode=mirror pull must do to remove what the snapshot lacks.
    if (Files.isWritable(dir) && Files.isReadable(dir) && Files.isExecutable(dir)) {
      return;
    }
    Set<PosixFilePermission> mode = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
    if (mode.contains(PosixFilePermission.OWNER_WRITE) && mode.contains(PosixFilePermission.OWNER_READ)
        && mode.contains(PosixFilePermission.OWNER_EXECUTE)) {
      return; // the owner may do everything: the access it lacks comes from elsewhere (another user's directory)
    }
    // noneOf, not copyOf: a directory of mode 000 has no permission at all, and copyOf refuses an empty set.
    Set<PosixFilePermission> writable = EnumSet.noneOf(PosixFilePermission.class);
    writable.addAll(mode);
    writable.add(PosixFilePermission.OWNER_READ);
    writable.add(PosixFilePermission.OWNER_WRITE);
    writable.add(PosixFilePermission.OWNER_EXECUTE);
    try {
      Files.setPosixFilePermissions(dir, writable);
      unlocked.add(new Unlocked(dir, mode));
    } catch (IOException notOurs) {
      // Another user's directory: left alone.
    }
  }

  /** Unlocks every directory under {@code dir}, {@code dir} included: a tree about to be deleted. */
  void unlockTree(Path dir) throws IOException {
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
        unlock(d);
        return FileVisitResult.CONTINUE;
      }

      /** A directory its owner made inaccessible (mode 000) cannot be opened before it is unlocked: unlocked, then walked. */
      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
        if (e instanceof java.nio.file.AccessDeniedException && Files.isDirectory(file, LinkOption.NOFOLLOW_LINKS)
            && !Files.isReadable(file)) {
          unlock(file);
          if (Files.isReadable(file)) {
            unlockTree(file);
          }
        }
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** Gives the unlocked directories that still exist their modes back, deepest first. */
  @Override
  public synchronized void close() throws IOException {
    IOException failure = null;
    for (int i = unlocked.size() - 1; i >= 0; i--) {
      Unlocked u = unlocked.get(i);
      try {
        if (Files.isDirectory(u.dir(), LinkOption.NOFOLLOW_LINKS)) {
          Files.setPosixFilePermissions(u.dir(), u.mode());
        }
      } catch (IOException e) {
        failure = e;
      }
    }
    unlocked.clear();
    if (failure != null) {
      throw failure;
    }
  }

  /** Gives the modes back now, as far as it can, and refuses further unlocks: the JVM is exiting. */
  synchronized void cancel() {
    cancelled = true;
    try {
      close();
    } catch (IOException e) {
      // best effort
    }
  }
}
