package dev.cachemount.core;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Turns I/O exceptions into sentences a user can act on. */
final class IoErrors {
  private IoErrors() {}

  /** The failure of {@code operation} (e.g. "push of cache 'm2'") on an I/O error, as an operational failure. */
  static CachemountException failed(String operation, IOException e) {
    return CachemountException.operational(operation + " failed: " + describe(e), e);
  }

  static String describe(IOException e) {
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
      return f.getMessage();
    }
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message;
  }
}
