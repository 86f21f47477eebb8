package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files opened through the tree's directories: a tree deeper than the directories kept open (a
 * thousand levels against an open-files limit of 1024) is read whole, going down, up and down again.
 */
class TreeFilesTest {
  @TempDir Path dir;

  /** This process's open file descriptors. */
  /**
   * The descriptors this process holds open on the test's tree (directories and files under it): not
   * every descriptor, which other tests' threads still winding down (a socket closing) would change.
   */
  private long openFiles() throws IOException {
    Path tree = dir.toRealPath();
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.filter(fd -> {
        try {
          return Files.readSymbolicLink(fd).startsWith(tree);
        } catch (IOException | RuntimeException gone) {
          return false; // closed meanwhile
        }
      }).count();
    }
  }

  @Test
  void aTreeDeeperThanTheDirectoriesKeptOpenIsReadWhole() throws IOException {
    List<String> paths = new ArrayList<>();
    String deep = "";
    for (int level = 0; level < 12; level++) {
      deep = deep.isEmpty() ? "d" + level : deep + "/d" + level;
      Files.createDirectories(dir.resolve(deep));
      paths.add(deep + "/f");
      Files.writeString(dir.resolve(deep + "/f"), "file at level " + level);
    }
    Files.createDirectories(dir.resolve("d0/d1/side"));
    Files.writeString(dir.resolve("d0/d1/side/f"), "beside");
    List<String> order = new ArrayList<>(paths);
    order.add("d0/d1/side/f"); // up to level 2, where the streams above the last two were closed
    List<String> upwards = new ArrayList<>(paths);
    java.util.Collections.reverse(upwards);
    order.addAll(upwards);
    order.add("top-level-missing");
    long before = openFiles();
    try (TreeFiles files = new TreeFiles(dir, 2)) {
      for (String path : order) {
        try (SeekableByteChannel ch = files.open(path)) {
          // The root and the last two directories (two descriptors each, the stream and its copy) and the file.
          long opened = openFiles() - before;
          org.junit.jupiter.api.Assertions.assertTrue(opened <= 7, opened + " files open for " + path);
          org.junit.jupiter.api.Assertions.assertTrue(path.equals("top-level-missing") || opened >= 1, "the count sees the open file");
          if (path.equals("top-level-missing")) {
            assertNull(ch);
            continue;
          }
          ByteBuffer b = ByteBuffer.allocate(64);
          while (ch.read(b) > 0) {
            // whole
          }
          assertEquals(Files.readString(dir.resolve(path)), new String(b.array(), 0, b.position(), StandardCharsets.UTF_8), path);
        }
      }
    }
  }
}
