package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.OperationListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a scan leaves out, and what it tells the user about it. */
class TreeScannerTest {
  @TempDir Path dir;

  @Test
  void aPullsLeftoversAreSkippedAndOnlyItsTemporaryFilesAreCalledSafeToDelete() throws IOException {
    Files.writeString(dir.resolve("kept"), "k");
    Files.writeString(dir.resolve(".cachemount-tmp-5f2a"), "half a file");
    Files.writeString(dir.resolve(".cachemount-tmp-aside-77"), "the user's file, moved aside");
    List<String> warnings = new ArrayList<>();
    List<ScannedEntry> scanned = new TreeScanner(new OperationListener() {
      @Override
      public void warning(String message) {
        warnings.add(message);
      }
    }).scan(dir, Set.of(), Long.MAX_VALUE);
    assertEquals(List.of("kept"), scanned.stream().map(ScannedEntry::path).toList());
    assertTrue(warnings.stream().anyMatch(w -> w.startsWith(".cachemount-tmp-5f2a is a temporary file") && w.contains("safe to delete")), warnings.toString());
    assertTrue(warnings.stream().anyMatch(w -> w.startsWith(".cachemount-tmp-aside-77 is what a killed pull moved aside")
        && !w.contains("safe to delete")), warnings.toString());
  }

  @Test
  void entriesTooDeepForThisSystemToOpenAreSkippedWithAWarningAndTheRestIsScanned() throws IOException, InterruptedException {
    Path deep = dir;
    String segment = "d".repeat(200);
    while (deep.toString().length() < TreeScanner.MAX_OPEN_PATH_BYTES - 2 * segment.length()) {
      deep = Files.createDirectory(deep.resolve(segment));
    }
    Path last = Files.createDirectory(deep.resolve(segment)); // still openable: under 4095 bytes
    Files.writeString(last.resolve("f"), "reachable");
    // From a directory of its own: its absolute path is over the limit, so no path-based call reaches it.
    java.nio.file.Path tooDeep = last.resolve(segment);
    assertTrue(tooDeep.toString().length() > TreeScanner.MAX_OPEN_PATH_BYTES);
    Process mkdir = new ProcessBuilder("sh", "-c", "cd \"$1\" && mkdir " + segment + " && echo x > " + segment + "/lost", "sh", last.toString())
        .inheritIO().start();
    assertEquals(0, mkdir.waitFor());
    Files.writeString(dir.resolve("top"), "t");
    List<String> warnings = new ArrayList<>();
    List<ScannedEntry> scanned;
    try {
      scanned = new TreeScanner(new OperationListener() {
        @Override
        public void warning(String message) {
          warnings.add(message);
        }
      }).scan(dir);
    } finally {
      // JUnit cannot delete what no path reaches: rm works from inside.
      new ProcessBuilder("sh", "-c", "cd \"$1\" && rm -rf " + segment, "sh", last.toString()).inheritIO().start().waitFor();
    }
    List<String> paths = scanned.stream().map(ScannedEntry::path).toList();
    assertTrue(paths.contains("top"), "the rest of the tree is scanned");
    String reachable = dir.relativize(last.resolve("f")).toString();
    assertTrue(paths.contains(reachable), "the deepest openable file is kept");
    assertTrue(paths.stream().noneMatch(p -> p.endsWith("/lost") || p.endsWith(segment + "/" + segment) && p.length() > reachable.length()),
        "nothing below the limit: " + paths.size());
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("longer than 4095 bytes") && warnings.get(0).contains("characters)…") && warnings.get(0).length() < 400,
        warnings.get(0));
  }
}
