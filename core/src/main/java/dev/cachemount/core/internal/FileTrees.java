package dev.cachemount.core.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

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

  /** Deletes {@code path} and, if it is a real directory, everything below it; a symlink is removed, not followed. */
  public static void deleteTree(Path path) throws IOException {
    if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
      try (DirectoryStream<Path> children = Files.newDirectoryStream(path)) {
        for (Path child : children) {
          deleteTree(child);
        }
      }
    }
    Files.deleteIfExists(path);
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
