package dev.cachemount.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Small seeded trees of incompressible "jars", for tests whose subject is not the content. */
final class RandomTrees {
  private RandomTrees() {}

  /**
   * Writes {@code files} files of {@code minBytes} to {@code minBytes + spreadBytes} random bytes into
   * {@code groups} subdirectories of {@code root}; the same seed writes the same tree.
   */
  static Path write(Path root, long seed, int files, int groups, int minBytes, int spreadBytes) throws IOException {
    Random random = new Random(seed);
    for (int i = 0; i < files; i++) {
      byte[] b = new byte[minBytes + random.nextInt(spreadBytes)];
      random.nextBytes(b);
      Path group = root.resolve("g" + (i % groups));
      Files.createDirectories(group);
      Files.write(group.resolve("f" + i + ".jar"), b);
    }
    return root;
  }
}
