package dev.cachemount.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.cachemount.cli.training.StartupTraining;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The launcher's training run must keep working, or the ahead-of-time cache silently stops being
 * made: it runs every command against the local store and its loopback registry, fails on any
 * non-zero exit, and leaves nothing behind.
 */
class StartupTrainingTest {
  @Test
  void runsEveryCommandAndCleansUp() throws IOException {
    Set<Path> before = trainingDirectories();
    StartupTraining.main(new String[0]);
    // Its own: a launcher's training elsewhere on the machine may add or remove one meanwhile (one
    // that ended during this test failed it when the sets were compared whole).
    Set<Path> left = new java.util.HashSet<>(trainingDirectories());
    left.removeAll(before);
    assertEquals(Set.of(), left, "the training's temporary directory is removed");
  }

  private static Set<Path> trainingDirectories() throws IOException {
    try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return s.filter(p -> p.getFileName().toString().startsWith("cachemount-training")).collect(Collectors.toSet());
    }
  }
}
