package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.OperationListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a push to a registry stages its packs: under cachemount's own directory, or, when that
 * cannot be made (a home that is read-only, or missing, as in a container run as another user), in
 * the system's temporary directory, with a warning that says what to set. No request is sent.
 */
class StagingDirectoryTest {
  @TempDir Path dir;

  private RegistryStore store(Path stagingParent, List<String> warnings) {
    return new RegistryStore(RegistryRef.parse("127.0.0.1:9/ci/cache"), RegistrySettings.DEFAULT, false, Optional.empty(),
        Optional.empty(), stagingParent, new OperationListener() {
          @Override
          public void warning(String message) {
            warnings.add(message);
          }
        });
  }

  @Test
  void packsAreStagedUnderTheStateDirectory() throws IOException {
    List<String> warnings = new ArrayList<>();
    Path parent = dir.resolve("xdg/cachemount/.cachemount-tmp-staging");
    Path staging = store(parent, warnings).newStagingDirectory();
    assertEquals(parent, staging.getParent());
    assertTrue(Files.isDirectory(staging));
    assertEquals(List.of(), warnings);
  }

  /**
   * A push killed with SIGKILL (no shutdown hook) leaves its staging directory, packs included: a
   * later push removes those a day old, as a layout store removes its own, and leaves younger ones
   * (a push that may still be running) alone.
   */
  @Test
  void stagingDirectoriesOfPushesKilledADayAgoAreRemovedByTheNextPush() throws IOException {
    List<String> warnings = new ArrayList<>();
    Path parent = dir.resolve("xdg/cachemount/.cachemount-tmp-staging");
    Path old = Files.createDirectories(parent.resolve("push-111"));
    Files.write(old.resolve("pack-1"), new byte[4096]);
    java.nio.file.attribute.FileTime twoDaysAgo = java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(java.time.Duration.ofDays(2)));
    Files.setLastModifiedTime(old.resolve("pack-1"), twoDaysAgo);
    Files.setLastModifiedTime(old, twoDaysAgo);
    Path recent = Files.createDirectories(parent.resolve("push-222"));
    Files.write(recent.resolve("pack-1"), new byte[4096]);
    Path foreign = Files.writeString(parent.resolve("not-ours"), "x");
    Files.setLastModifiedTime(foreign, twoDaysAgo);

    Path staging = store(parent, warnings).newStagingDirectory();

    assertTrue(Files.isDirectory(staging));
    assertFalse(Files.exists(old), "a staging directory two days old is a killed push's: removed");
    assertTrue(Files.exists(recent.resolve("pack-1")), "a recent one may belong to a push in progress: kept");
    assertTrue(Files.exists(foreign), "only push-* directories are removed");
    assertEquals(List.of(), warnings);
  }

  @Test
  void aStateDirectoryThatCannotBeMadeSendsThePacksToTheTemporaryDirectoryWithAWarning() throws IOException {
    List<String> warnings = new ArrayList<>();
    Path blocking = Files.writeString(dir.resolve("a-file"), "x"); // XDG_CACHE_HOME below a file
    Path parent = blocking.resolve("cachemount/.cachemount-tmp-staging");
    Path staging = store(parent, warnings).newStagingDirectory();
    try {
      assertTrue(Files.isDirectory(staging));
      assertEquals(Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath(), staging.getParent().toAbsolutePath());
      assertFalse(staging.startsWith(blocking));
      assertEquals(1, warnings.size(), warnings.toString());
      assertTrue(warnings.get(0).contains(parent.toString()) && warnings.get(0).contains(staging.toString())
          && warnings.get(0).contains("set XDG_CACHE_HOME to a writable directory"), warnings.get(0));
    } finally {
      Files.deleteIfExists(staging);
    }
  }
}
