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

  /**
   * What every cache's view and restore must get right besides files: {@code lib/x.jar}, an executable
   * {@code lib/bin/run.sh}, a link {@code lib/bin/current -> ../x.jar} and an empty {@code lib/empty}.
   */
  static void addLibWithExecutableLinkAndEmptyDirectory(Path root) throws IOException {
    Files.createDirectories(root.resolve("lib/bin"));
    Files.writeString(root.resolve("lib/x.jar"), "jar\n");
    Path run = Files.writeString(root.resolve("lib/bin/run.sh"), "#!/bin/sh\necho run\n");
    Files.setPosixFilePermissions(run, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(root.resolve("lib/bin/current"), Path.of("../x.jar"));
    Files.createDirectories(root.resolve("lib/empty"));
  }
}
