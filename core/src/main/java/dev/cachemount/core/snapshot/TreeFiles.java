package dev.cachemount.core.snapshot;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Opens files of the tree under a root for reading without following a symbolic link below the root:
 * through its directories, opened one by one from the root, each without following a link. A
 * directory that a push's scan saw, and that was swapped for a link to somewhere else before its files
 * were read, is then not followed out of the tree (opening {@code root/d/f} by its path would follow
 * {@code d}). The chain of directories opened for the last file is kept, its last {@link #KEPT_OPEN}
 * open, so the files of one directory, and of its neighbours, cost no walk from the root, and a tree
 * thousands of levels deep does not exhaust the open-files limit. A failure that is not a change of
 * the tree (the open-files limit, an I/O error) is thrown, not taken for a file gone. Used by one thread.
 */
public final class TreeFiles implements Closeable {
  private static final Set<java.nio.file.OpenOption> READ = Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);

  /** Directories kept open below the root, at most: a tree thousands of levels deep must not exhaust the open-files limit. */
  static final int KEPT_OPEN = 32;

  private final Path root;
  private final int keptOpen;
  /** The names of the directories on the way to the last one opened, outermost first. */
  private final List<String> names = new ArrayList<>();
  /** The root's stream, then one per name: open for the last {@link #keptOpen} names, null (closed) above them. */
  private final List<SecureDirectoryStream<Path>> open = new ArrayList<>();
  /** False where the platform offers no {@link SecureDirectoryStream}: files are then opened by their paths. */
  private boolean secure = true;

  public TreeFiles(Path root) {
    this(root, KEPT_OPEN);
  }

  TreeFiles(Path root, int keptOpen) {
    this.root = root;
    this.keptOpen = keptOpen;
  }

  /**
   * The regular file at {@code path} (relative to the root, '/'-separated) open for reading; null when
   * it is no longer a regular file there, or a directory above it is no longer a directory (gone, or
   * replaced by a link or anything else).
   *
   * @throws AccessDeniedException when a directory on the way or the file may not be read
   */
  public SeekableByteChannel open(String path) throws IOException {
    int slash = path.lastIndexOf('/');
    String[] dirs = slash < 0 ? new String[0] : path.substring(0, slash).split("/");
    String name = path.substring(slash + 1);
    SecureDirectoryStream<Path> dir = directory(dirs);
    if (!secure) {
      Path file = root.resolve(path);
      return Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) ? Files.newByteChannel(file, READ) : null;
    }
    if (dir == null) {
      return null;
    }
    Path child = root.getFileSystem().getPath(name);
    // Checked first: a FIFO in its place would block the open.
    if (!isA(dir, child, true)) {
      return null;
    }
    try {
      return dir.newByteChannel(child, READ);
    } catch (FileSystemException e) {
      return replaced(dir, child, true, e); // gone, or replaced by a link (ELOOP) since the check
    }
  }

  /**
   * Null when {@code child}'s open failed because it is no longer what it was (gone, or replaced by
   * a link or by something else); the failure itself otherwise (permission denied, the open-files
   * limit, an I/O error), which is not to be taken for a change of the tree.
   */
  private static <T> T replaced(SecureDirectoryStream<Path> dir, Path child, boolean file, FileSystemException e) throws IOException {
    if (e instanceof AccessDeniedException || isA(dir, child, file)) {
      throw e;
    }
    return null;
  }

  /** The directory at {@code dirs} below the root, open; null when one of them is no longer a directory. */
  private SecureDirectoryStream<Path> directory(String[] dirs) throws IOException {
    if (open.isEmpty()) {
      DirectoryStream<Path> stream = Files.newDirectoryStream(root);
      if (!(stream instanceof SecureDirectoryStream<Path> s)) {
        stream.close();
        secure = false;
        return null;
      }
      open.add(s);
    }
    if (!secure) {
      return null;
    }
    int common = 0;
    while (common < names.size() && common < dirs.length && names.get(common).equals(dirs[common])) {
      common++;
    }
    // Back to the deepest directory of the common part still open (the root is always).
    int from = common;
    while (open.get(from) == null) {
      from--;
    }
    while (names.size() > from) {
      names.remove(names.size() - 1);
      SecureDirectoryStream<Path> last = open.remove(open.size() - 1);
      if (last != null) {
        last.close();
      }
    }
    for (int i = from; i < dirs.length; i++) {
      SecureDirectoryStream<Path> parent = open.get(open.size() - 1);
      Path child = root.getFileSystem().getPath(dirs[i]);
      // Checked first: the open does not ask for a directory, and a FIFO in its place would block it.
      if (!isA(parent, child, false)) {
        return null;
      }
      SecureDirectoryStream<Path> next;
      try {
        next = parent.newDirectoryStream(child, LinkOption.NOFOLLOW_LINKS);
      } catch (FileSystemException e) {
        return replaced(parent, child, false, e); // gone, or replaced by a link (ELOOP) or a file (ENOTDIR) since the check
      }
      open.add(next);
      names.add(dirs[i]);
      int above = open.size() - 1 - keptOpen;
      if (above > 0 && open.get(above) != null) {
        open.set(above, null).close(); // reopened from an open ancestor, should it be needed again
      }
    }
    return open.get(open.size() - 1);
  }

  /** Whether {@code child} of {@code dir} is, without following a link, a regular file ({@code file}) or a directory. */
  private static boolean isA(SecureDirectoryStream<Path> dir, Path child, boolean file) throws IOException {
    BasicFileAttributes a;
    try {
      a = dir.getFileAttributeView(child, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
    } catch (AccessDeniedException e) {
      throw e;
    } catch (FileSystemException e) {
      return false;
    }
    return file ? a.isRegularFile() : a.isDirectory();
  }

  @Override
  public void close() throws IOException {
    IOException failure = null;
    for (int i = open.size() - 1; i >= 0; i--) {
      try {
        if (open.get(i) != null) {
          open.get(i).close();
        }
      } catch (IOException e) {
        failure = failure == null ? e : failure;
      }
    }
    open.clear();
    names.clear();
    if (failure != null) {
      throw failure;
    }
  }
}
