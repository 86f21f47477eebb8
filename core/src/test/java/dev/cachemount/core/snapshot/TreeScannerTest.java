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
}
