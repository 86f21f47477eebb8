package dev.cachemount.core;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import dev.cachemount.core.snapshot.TreeScanner;

/** Turns I/O exceptions into sentences a user can act on. */
public final class IoErrors {
  private IoErrors() {}

  /** The failure of {@code operation} (e.g. "push of cache 'm2'") on an I/O error, as an operational failure. */
  static CachemountException failed(String operation, IOException e) {
    return CachemountException.operational(operation + " failed: " + describe(e), e);
  }

  /**
   * What the system said, a temporary file of a pull named by its directory (the user never made it),
   * and, for the errors a user can act on, what to do (the system's English reasons; others as they are).
   */
  private static String withAdvice(FileSystemException f) {
    String reason = f.getReason();
    String shown = f.getMessage();
    String file = f.getFile();
    if (temporaryFileIn(file) != null && f.getOtherFile() == null) {
      shown = "writing into " + temporaryFileIn(file) + (reason == null ? "" : ": " + reason);
    }
    String advice = advice(reason);
    return advice == null ? shown : shown + " (" + advice + ")";
  }

  /** What to do about the system's {@code reason} (its English text), or null where nothing can be said. */
  private static String advice(String reason) {
    return reason == null ? null : switch (reason) {
      case "Read-only file system" -> "the file system is mounted read-only: use a writable directory";
      case "Device or resource busy" -> "a mount point, or in use by the system: unmount it, or use another directory";
      case "Function not implemented", "Operation not supported" ->
          "the file system cannot do this (FAT has no symlinks, say): use a Linux file system such as ext4";
      case "Disk quota exceeded" -> "the user's quota is used up: free space, or raise the quota";
      case "No space left on device" -> "free space, or use another directory";
      default -> null;
    };
  }

  /** The directory of a pull's temporary file (not what it moved aside, which is the user's), or null. */
  private static String temporaryFileIn(String file) {
    if (file == null) {
      return null;
    }
    java.nio.file.Path path = java.nio.file.Path.of(file);
    String name = path.getFileName() == null ? "" : path.getFileName().toString();
    return name.startsWith(TreeScanner.TEMP_PREFIX) && !name.startsWith(TreeScanner.ASIDE_PREFIX) && path.getParent() != null
        ? path.getParent().toString() : null;
  }

  public static String describe(IOException e) {
    if (e instanceof AccessDeniedException a) {
      return "permission denied: " + (temporaryFileIn(a.getFile()) != null && a.getOtherFile() == null
          ? "writing into " + temporaryFileIn(a.getFile()) + " (make it writable by this user, or use another directory)" : a.getFile());
    }
    if (e instanceof NoSuchFileException n) {
      String dir = temporaryFileIn(n.getFile());
      if (dir != null && n.getOtherFile() == null) {
        // A pull's own file, made a moment ago or being made: it, or its directory, went under it.
        String what = java.nio.file.Files.isDirectory(java.nio.file.Path.of(dir), java.nio.file.LinkOption.NOFOLLOW_LINKS)
            ? "the pull's temporary file " + n.getFile() + " vanished while the pull wrote it"
            : "the directory " + dir + " vanished while the pull wrote into it";
        return what + ": another program deleted it (a cache cleanup, a build that runs meanwhile); pull again once nothing else"
            + " deletes in the target";
      }
      return "no such file or directory: " + n.getFile();
    }
    if (e instanceof NotDirectoryException n) {
      return "not a directory: " + n.getFile();
    }
    if (e instanceof FileAlreadyExistsException f) {
      return "already exists: " + f.getFile();
    }
    if (e instanceof FileSystemException f) {
      String file = f.getFile();
      if (file != null && file.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > TreeScanner.MAX_OPEN_PATH_BYTES) {
        // The system's "File name too long", with a path of kilobytes: cut, and said what to do.
        return TreeScanner.shortened(file) + ": the path is longer than " + TreeScanner.MAX_OPEN_PATH_BYTES
            + " bytes, which this system cannot open (" + f.getReason() + "); use a shorter target path";
      }
      return withAdvice(f);
    }
    String message = e.getMessage();
    // A write's failure (FileChannel, streams) comes without a file: "No space left on device" alone.
    String advice = advice(message);
    return message == null ? e.getClass().getSimpleName() : advice == null ? message : message + " (" + advice + ")";
  }
}
