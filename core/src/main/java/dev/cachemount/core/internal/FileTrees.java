package dev.cachemount.core.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/** Removing and copying directory trees without ever following a symlink out of them; directories that can be made. */
public final class FileTrees {
  private FileTrees() {}

  /**
   * Where {@code path} really is: the real path of its longest existing ancestor (links resolved)
   * with the rest of it appended, so that a path that does not exist yet compares as it will.
   */
  public static Path realPath(Path path) throws IOException {
    Path absolute = path.toAbsolutePath().normalize();
    Path existing = absolute;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    return existing == null ? absolute : existing.toRealPath().resolve(existing.relativize(absolute));
  }

  /** Told each directory {@link #deleteTree} has opened, before it deletes what it holds: where a test swaps it for a link, as another process may. */
  static volatile java.util.function.Consumer<Path> opened = dir -> { };

  /**
   * Deletes {@code path} and, if it is a real directory, everything below it; a symlink is removed, not
   * followed. Below {@code path}, each directory is opened without following a link and what it holds
   * is looked at and deleted relative to it (openat, unlinkat: {@link SecureDirectoryStream}), never by
   * a path: a directory that another process swaps for a link to somewhere else while the deletion
   * runs does not lead it there (the link itself then fails the deletion). {@code path} is opened by
   * its path and must be, once open, the directory it named a moment before.
   */
  public static void deleteTree(Path path) throws IOException {
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException gone) {
      return;
    }
    if (attrs.isDirectory()) {
      try (DirectoryStream<Path> children = Files.newDirectoryStream(path)) {
        opened.accept(path);
        if (!(children instanceof SecureDirectoryStream<Path> secure)) {
          for (Path child : children) {
            deleteTree(child); // no openat here: by path, as well as this platform can
          }
        } else {
          Object key = attrs.fileKey();
          if (key != null && !key.equals(secure.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey())) {
            throw new IOException(path + " was replaced while it was being deleted; not deleted");
          }
          deleteChildren(secure, path);
        }
      }
    }
    Files.deleteIfExists(path);
  }

  /** Deletes everything in the open directory {@code dir} (at {@code path}, named in messages), relative to it. */
  private static void deleteChildren(SecureDirectoryStream<Path> dir, Path path) throws IOException {
    List<Path> names = new ArrayList<>();
    for (Path child : dir) {
      names.add(child.getFileName());
    }
    for (Path name : names) {
      deleteTree(dir, name, path.resolve(name));
    }
  }

  /**
   * Deletes the entry {@code name} of the open directory {@code dir} and, if it is a real directory,
   * everything below it, as {@link #deleteTree(Path)} does below its root: relative to the open
   * directories, never following a link. {@code path} names it in messages. Nothing when it is gone.
   */
  public static void deleteTree(SecureDirectoryStream<Path> dir, Path name, Path path) throws IOException {
    BasicFileAttributes a;
    try {
      a = dir.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
    } catch (NoSuchFileException gone) {
      return;
    }
    if (a.isDirectory()) {
      // O_NOFOLLOW: a link swapped in since the look fails the open (ELOOP) instead of being followed.
      try (SecureDirectoryStream<Path> sub = dir.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
        opened.accept(path);
        deleteChildren(sub, path);
      }
      try {
        dir.deleteDirectory(name);
      } catch (NoSuchFileException gone) {
        // another deletion of the tree removed it meanwhile (a SIGTERM hook's), as deleteIfExists let it
      }
    } else {
      try {
        dir.deleteFile(name);
      } catch (NoSuchFileException gone) {
        // gone meanwhile
      }
    }
  }

  /**
   * Copies the tree at {@code source} to {@code target}, which must not exist: symlinks as links
   * (never followed), files and directories with their permissions and modification times; a file
   * with several hard links becomes copies. Stops, failing, once {@code stop} says so. On failure,
   * what was copied goes again.
   */
  public static void copyTree(Path source, Path target, java.util.function.BooleanSupplier stop) throws IOException {
    try {
      Files.walkFileTree(source, new java.nio.file.SimpleFileVisitor<>() {
        @Override
        public java.nio.file.FileVisitResult preVisitDirectory(Path dir, java.nio.file.attribute.BasicFileAttributes attrs) throws IOException {
          stopIf(stop);
          Files.createDirectory(target.resolve(source.relativize(dir)));
          return java.nio.file.FileVisitResult.CONTINUE;
        }

        @Override
        public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes attrs) throws IOException {
          stopIf(stop);
          Files.copy(file, target.resolve(source.relativize(file)), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
          return java.nio.file.FileVisitResult.CONTINUE;
        }

        @Override
        public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
          throw e;
        }

        @Override
        public java.nio.file.FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
          if (e != null) {
            throw e;
          }
          // Last: a directory's own writes change its time, and a read-only one takes no more entries.
          Path copy = target.resolve(source.relativize(dir));
          // unix:mode, not the permissions: they lack the setgid and sticky bits (a shared cache's 2775, /tmp's 1777)
          Files.setAttribute(copy, "unix:mode", Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS));
          Files.setLastModifiedTime(copy, Files.getLastModifiedTime(dir, LinkOption.NOFOLLOW_LINKS));
          return java.nio.file.FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException | RuntimeException e) {
      try {
        deleteTree(target);
      } catch (IOException | RuntimeException again) {
        e.addSuppressed(again);
      }
      throw e;
    }
  }

  private static void stopIf(java.util.function.BooleanSupplier stop) throws IOException {
    if (stop.getAsBoolean()) {
      throw new java.io.InterruptedIOException("stopped");
    }
  }

  /**
   * Deletes, with {@link #deleteTree}, each entry of {@code dir} whose name is {@code eligible} and
   * that was last modified before {@code cutoff}: the leftovers of work that died. Nothing when
   * {@code dir} is not a directory; an entry gone meanwhile is skipped.
   */
  public static void deleteOlderThan(Path dir, java.time.Instant cutoff, java.util.function.Predicate<String> eligible) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
      for (Path child : children) {
        if (!eligible.test(child.getFileName().toString())) {
          continue;
        }
        try {
          if (Files.getLastModifiedTime(child, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff)) {
            deleteTree(child);
          }
        } catch (java.nio.file.NoSuchFileException e) {
          // gone already
        }
      }
    }
  }

  /**
   * The nearest existing ancestor of {@code dir} (a path that does not exist) when it is not a
   * directory, so that {@code dir} cannot be made; empty when it can be, as far as types go.
   */
  public static java.util.Optional<Path> blockingAncestor(Path dir) {
    for (Path p = dir.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
      if (Files.exists(p)) {
        return Files.isDirectory(p) ? java.util.Optional.empty() : java.util.Optional.of(p);
      }
    }
    return java.util.Optional.empty();
  }
}
