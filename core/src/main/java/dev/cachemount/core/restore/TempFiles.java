package dev.cachemount.core.restore;

import dev.cachemount.core.internal.FileTrees;
import dev.cachemount.core.snapshot.TreeScanner;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * The temporary files of one restore, each created beside its final path with O_EXCL (never through
 * a link), and what the restore moved aside. {@link #cancel()} — from a shutdown hook, on SIGTERM —
 * deletes every temporary file not yet renamed into place, puts back what was moved aside where it
 * can, and refuses new ones, so that a cancelled pull leaves none behind. Thread-safe.
 *
 * <p>A file or symlink that stands where the snapshot has a directory is moved aside (renamed, in
 * its directory, to a temporary name) rather than deleted: until the restore completes, the user's
 * file is still there to be put back when the restore fails before it writes into that directory.
 * So is a directory that stands where the snapshot has a file or symlink: until the restore
 * completes it is whole, and put back if the restore fails or is cancelled.
 */
final class TempFiles {
  /** Shared with the scanner, which keeps leftovers of killed pulls out of snapshots. */
  static final String PREFIX = TreeScanner.TEMP_PREFIX;

  private final Set<Path> live = new HashSet<>();
  /** The directories this restore created where nothing was, parents first. */
  private final List<Path> createdDirectories = new ArrayList<>();
  private final Renamer renamer;
  /** What stood where the snapshot has an entry of another kind, in the order it was moved aside. */
  private final List<Aside> asides = new ArrayList<>();
  private boolean cancelled;
  /** The target's root, where the marker goes; null: no marker (tests of this class). */
  private Path root;
  private boolean markerTried;
  private PullMarker marker;

  /** A file, symlink or directory moved from {@code original} to {@code aside}, beside it. */
  private record Aside(Path original, Path aside, boolean directory, boolean copied) {}

  /** Renames what is moved aside: {@link #ATOMIC}, or in tests a file system that refuses some renames. */
  interface Renamer {
    Renamer ATOMIC = (from, to) -> Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);

    void rename(Path from, Path to) throws IOException;
  }

  TempFiles() {
    this(Renamer.ATOMIC);
  }

  TempFiles(Renamer renamer) {
    this.renamer = renamer;
  }

  /** Deletes a directory tree that was moved aside. */
  interface TreeDeletion {
    void delete(Path directory) throws IOException;
  }

  /** A new, empty temporary file in {@code dir}, open for writing. */
  synchronized Created createFile(Path dir) throws IOException {
    refuseIfCancelled();
    while (true) {
      Path candidate = name(dir);
      try {
        FileChannel channel = FileChannel.open(candidate, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        live.add(candidate);
        return new Created(candidate, channel);
      } catch (FileAlreadyExistsException e) {
        // another name
      }
    }
  }

  /** A new temporary symlink in {@code dir} pointing at {@code target}. */
  synchronized Path createSymlink(Path dir, Path target) throws IOException {
    refuseIfCancelled();
    while (true) {
      Path candidate = name(dir);
      try {
        Files.createSymbolicLink(candidate, target);
        live.add(candidate);
        return candidate;
      } catch (FileAlreadyExistsException e) {
        // another name
      }
    }
  }

  /**
   * Renames the file, symlink or directory at {@code path} (never followed) to a temporary name beside
   * it, so that the snapshot's entry can take its place; {@link #putBackAsides} or {@link #dropAsides}
   * settles it.
   */
  synchronized void moveAside(Path path) throws IOException {
    refuseIfCancelled();
    Path candidate = asideName(path);
    boolean directory = Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS);
    renamer.rename(path, candidate);
    asides.add(new Aside(path, candidate, directory, false));
  }

  /** A name beside {@code path} that nothing has: rename(2) would replace what had it. */
  private static Path asideName(Path path) {
    while (true) {
      Path candidate = path.resolveSibling(TreeScanner.ASIDE_PREFIX + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE));
      if (!Files.exists(candidate, LinkOption.NOFOLLOW_LINKS)) {
        return candidate;
      }
    }
  }

  /**
   * The snapshot's entry at {@code original} was taken away again (a link found to lead out of the
   * target): puts back what this restore moved aside from there, if anything, so that it outlives
   * the entry that was to replace it.
   */
  synchronized void putBack(Path original) throws IOException {
    for (int i = asides.size() - 1; i >= 0; i--) {
      Aside a = asides.get(i);
      if (a.original().equals(original)) {
        Files.move(a.aside(), a.original(), StandardCopyOption.ATOMIC_MOVE);
        asides.remove(i);
        return;
      }
    }
  }

  /**
   * Copies the directory {@code dir} beside it, then deletes it (made writable by the caller): for a file
   * system that cannot rename it ({@link #moveAside} fails with
   * {@link java.nio.file.AtomicMoveNotSupportedException}: overlayfs without {@code redirect_dir}, as
   * Docker mounts it, refuses to rename a directory of a lower layer). The copy is made under a
   * temporary name ({@link #cancel} deletes it, and the copy stops) and renamed to an aside name once
   * complete (overlayfs renames a directory it made itself); only then does the deletion start, so
   * that the user's directory is whole somewhere throughout. Settled as one moved aside is; put back
   * over what a deletion cut short left of the original. When the copy fails, {@code dir} stays as it
   * was.
   */
  void copyAside(Path dir) throws IOException {
    Path copy;
    synchronized (this) {
      refuseIfCancelled();
      copy = name(dir.getParent());
      live.add(copy);
    }
    try {
      FileTrees.copyTree(dir, copy, this::cancelled);
      synchronized (this) {
        refuseIfCancelled();
        Path aside = asideName(dir);
        renamer.rename(copy, aside);
        asides.add(new Aside(dir, aside, true, true));
      }
    } finally {
      synchronized (this) {
        live.remove(copy);
      }
      if (Files.exists(copy, LinkOption.NOFOLLOW_LINKS)) {
        FileTrees.deleteTree(copy); // a copy cut short (the cancel's deletion may have raced it)
      }
    }
    deleteCopied(dir);
  }

  /**
   * Deletes the original of a directory copied aside, entry by entry, each under the lock and none
   * once cancelled: SIGTERM's hook puts the copy back in its place, and no deletion by path may
   * follow into what it put back. The caller made the directories writable.
   */
  private void deleteCopied(Path path) throws IOException {
    if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
      List<Path> children = new ArrayList<>();
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(path)) {
        entries.forEach(children::add);
      }
      for (Path child : children) {
        deleteCopied(child);
      }
    }
    synchronized (this) {
      refuseIfCancelled();
      Files.deleteIfExists(path);
    }
    afterCopiedDeletion.accept(path);
  }

  /** Told each entry {@link #deleteCopied} deleted: where a test stops the deletion, as SIGTERM's hook would. */
  java.util.function.Consumer<Path> afterCopiedDeletion = deleted -> { };

  /** Creates the directory {@code dir} where nothing is, and notes it: see {@link #removeCreatedDirectoriesLeftEmpty}. */
  synchronized void createDirectory(Path dir) throws IOException {
    refuseIfCancelled();
    Files.createDirectory(dir);
    createdDirectories.add(dir);
  }

  /** The restore completed: the directories it created stay, empty or not. */
  synchronized void keepCreatedDirectories() {
    createdDirectories.clear();
  }

  /**
   * The restore failed: removes the directories it created that are still empty, deepest first, so
   * that a pull that fails before it writes a file (one that does not fit) leaves the target as it
   * was. One that holds anything stays.
   */
  synchronized void removeCreatedDirectoriesLeftEmpty() {
    for (int i = createdDirectories.size() - 1; i >= 0; i--) {
      try {
        Files.deleteIfExists(createdDirectories.get(i));
      } catch (IOException | RuntimeException notEmpty) {
        // holds something, or cannot go: it stays
      }
    }
    createdDirectories.clear();
  }

  /** Whether {@code path} is what this restore moved aside (not what a killed one left). */
  synchronized boolean movedAside(Path path) {
    return asides.stream().anyMatch(a -> a.aside().equals(path));
  }

  /**
   * The restore completed: deletes what was moved aside, directories through {@code trees}. One that
   * cannot be deleted (a subdirectory the user may not delete) stays where it was moved, told to
   * {@code warn}: the restore stands, and what stood there is never moved back over it.
   */
  void dropAsides(TreeDeletion trees, Consumer<String> warn) {
    List<Aside> settled;
    synchronized (this) { // settled, whatever happens next: never put back over the restore
      settled = List.copyOf(asides);
      asides.clear();
    }
    // Deleted outside the lock: a SIGTERM meanwhile does not wait for a large tree to go.
    for (Aside a : settled) {
      try {
        if (a.directory()) {
          trees.delete(a.aside());
        } else {
          Files.deleteIfExists(a.aside());
        }
      } catch (IOException | RuntimeException e) {
        warn.accept("could not delete " + a.aside() + ", what stood at " + a.original() + " before the pull (" + e
            + "); the pull replaced it: delete it once you have looked at it");
      }
    }
  }

  /** Whether the restore was cancelled (SIGTERM): what is still running should stop. */
  synchronized boolean cancelled() {
    return cancelled;
  }

  /**
   * The restore failed: puts back, newest first, every file or symlink whose directory still holds
   * nothing but empty directories (the directory goes); one whose directory has restored files in it
   * is deleted, reported to {@code warn}, as the restore has replaced it.
   */
  synchronized void putBackAsides(Consumer<String> warn) {
    for (int i = asides.size() - 1; i >= 0; i--) {
      Aside a = asides.get(i);
      try {
        if (a.directory()) {
          // The user's directory comes back; the snapshot's file or link in its place goes (the next
          // pull writes it again). Nothing is restored below a path the snapshot holds as a file.
          if (Files.isDirectory(a.original(), LinkOption.NOFOLLOW_LINKS)) {
            if (!a.copied()) {
              throw new IOException(a.original() + " is a directory again");
            }
            FileTrees.deleteTree(a.original()); // what the deletion after the copy left: the copy is whole
          }
          Files.deleteIfExists(a.original());
          Files.move(a.aside(), a.original(), StandardCopyOption.ATOMIC_MOVE);
        } else if (onlyDirectories(a.original())) {
          FileTrees.deleteTree(a.original());
          Files.move(a.aside(), a.original(), StandardCopyOption.ATOMIC_MOVE);
        } else {
          Files.deleteIfExists(a.aside());
          warn.accept("the snapshot's directory " + a.original() + " replaced the file or symlink there before the pull failed");
        }
      } catch (IOException | RuntimeException e) {
        warn.accept("could not put back " + a.original() + " (kept as " + a.aside() + "): " + e.getMessage());
      }
    }
    asides.clear();
  }

  /** Whether {@code dir} is a directory (not a link) holding directories only, at any depth. */
  private static boolean onlyDirectories(Path dir) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return !Files.exists(dir, LinkOption.NOFOLLOW_LINKS);
    }
    try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
      for (Path child : children) {
        if (!Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS) || !onlyDirectories(child)) {
          return false;
        }
      }
    }
    return true;
  }

  /** The temporary file is gone: renamed into place, or deleted. */
  synchronized void forget(Path temp) {
    live.remove(temp);
  }

  /**
   * Deletes every temporary file still here, puts back what was moved aside, removes the directories
   * this restore created that are still empty (as a failed restore does), and refuses new ones.
   */
  synchronized void cancel() {
    cancelled = true;
    for (Path p : live) {
      try {
        FileTrees.deleteTree(p); // a file, or a copy of a directory being made
      } catch (IOException | RuntimeException e) {
        // best effort: the JVM is exiting
      }
    }
    live.clear();
    dropMarker();
    // First: put back, a link that stood where the restore made a directory would lead the removal
    // of that directory's empty subdirectories, by their paths, to the link's target's.
    removeCreatedDirectoriesLeftEmpty();
    putBackAsides(message -> {});
  }

  /** A created file and its open channel. */
  record Created(Path path, FileChannel channel) {}

  private void refuseIfCancelled() throws IOException {
    if (cancelled) {
      throw new IOException("the restore was cancelled");
    }
  }

  /**
   * A new temporary name in {@code dir}: with the token of this restore's marker, made in the root
   * at the first name ({@link PullMarker}); without one where none could be made.
   */
  private Path name(Path dir) {
    if (root != null && !markerTried) {
      markerTried = true;
      marker = PullMarker.make(root).orElse(null);
    }
    return dir.resolve(marker != null ? marker.tempName() : PREFIX + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE));
  }

  /** Makes the marker that tells other processes this restore runs in {@code root}, once it needs a temporary name. */
  synchronized void markIn(Path root) {
    this.root = root;
  }

  /**
   * Deletes the marker: called once no temporary file of this restore is left, before directories get
   * their times and modes back. No marker is made after this.
   */
  synchronized void dropMarker() {
    markerTried = true;
    if (marker != null) {
      marker.close();
      marker = null;
    }
  }
}
