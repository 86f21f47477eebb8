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

  public static String describe(IOException e) {
    if (e instanceof AccessDeniedException a) {
      return "permission denied: " + a.getFile();
    }
    if (e instanceof NoSuchFileException n) {
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
      return f.getMessage();
    }
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message;
  }
}
