package dev.cachemount.it;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

/**
 * A real Maven repository to push: a copy of (part of) the one this build resolved its dependencies
 * into, plus what a Maven repository rarely has but a cache directory may: links, an executable, an
 * empty directory.
 *
 * @param bytes the sum of the regular files' sizes
 * @param files regular files
 */
record MavenCorpus(Path root, long bytes, long files) {
  static final String EXECUTABLE = "zz-extra/run.sh";

  /** Copies up to {@code maxBytes} of the local repository's files into {@code root}, times kept. */
  static MavenCorpus copy(Path root, long maxBytes) throws IOException {

    Path local = Path.of(System.getProperty("cachemount.localRepository", System.getProperty("user.home") + "/.m2/repository"));
    if (!Files.isDirectory(local)) {
      throw new AssertionError("no local Maven repository at " + local);
    }
    Path corpus = root;
    long[] copied = new long[2];
    Files.walkFileTree(local, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
        if (local.relativize(d).startsWith(Path.of("dev/cachemount"))) {
          return FileVisitResult.SKIP_SUBTREE; // this build's own artifacts change while it runs
        }
        Files.createDirectories(corpus.resolve(local.relativize(d).toString()));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        if (copied[0] >= maxBytes) {
          return FileVisitResult.TERMINATE;
        }
        if (attrs.isRegularFile()) {
          Files.copy(f, corpus.resolve(local.relativize(f).toString()), StandardCopyOption.COPY_ATTRIBUTES);
          copied[0] += attrs.size();
          copied[1]++;
        }
        return FileVisitResult.CONTINUE;
      }
    });
    // Directory times after their contents were copied in.
    try (Stream<Path> walk = Files.walk(local)) {
      for (Path d : (Iterable<Path>) walk.filter(Files::isDirectory)::iterator) {
        Path copy = corpus.resolve(local.relativize(d).toString());
        if (Files.isDirectory(copy)) {
          Files.setLastModifiedTime(copy, Files.getLastModifiedTime(d));
        }
      }
    }
    // What a Maven repository rarely has but a cache directory may: links, an executable, an empty directory.
    Files.createDirectories(corpus.resolve("zz-extra/empty"));
    Path script = Files.writeString(corpus.resolve(EXECUTABLE), "#!/bin/sh\nexit 0\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-x---"));
    Files.createSymbolicLink(corpus.resolve("zz-extra/link"), Path.of("run.sh"));
    Files.createSymbolicLink(corpus.resolve("zz-extra/dangling"), Path.of("../nowhere"));
    if (copied[1] < 20) {
      throw new AssertionError("the local repository " + local + " holds only " + copied[1] + " files");
    }
    return new MavenCorpus(root, copied[0] + Files.size(script), copied[1] + 1);
    }
}
