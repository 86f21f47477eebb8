package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Paths near Linux's PATH_MAX: what a pull that meets the limit tells the user. */
class LongPathsTest {
  @TempDir Path dir;

  @Test
  void aPathTooLongToOpenIsNamedShortAndTheAdviceIsAShorterTarget() {
    String file = "/t/" + "x".repeat(5000);
    String message = IoErrors.describe(new FileSystemException(file, null, "File name too long"));
    assertTrue(message.contains("longer than 4095 bytes") && message.contains("File name too long") && message.endsWith("use a shorter target path"), message);
    assertTrue(message.length() < 400, message);
    assertEquals("/t/x: oops", IoErrors.describe(new FileSystemException("/t/x", null, "oops")), "short paths keep the system's message");
  }

  @Test
  void aPullIntoATargetWhosePathMakesAnEntryTooLongFailsWithThatAdvice() throws IOException {
    Path source = dir.resolve("s");
    Path deep = source;
    for (int i = 0; i < 19; i++) {
      deep = deep.resolve("e".repeat(200));
    }
    Files.createDirectories(deep);
    Files.writeString(deep.resolve("f"), "deep");
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).build();
    String store = dir.resolve("store").toString();
    assertEquals(Outcome.PUSHED, client.push(client.parseSpec("id=lp,dir=" + store + ",target=" + source), OperationListener.NONE).result());
    Path far = dir.resolve("y".repeat(200)).resolve("z".repeat(200));
    CachemountException e = assertThrows(CachemountException.class,
        () -> client.pull(client.parseSpec("id=lp,dir=" + store + ",target=" + far), OperationListener.NONE));
    assertTrue(e.getMessage().endsWith("use a shorter target path") && e.getMessage().length() < 500, e.getMessage());
  }

  @Test
  void whatAPushKeepsNearTheLimitAPullRestoresIntoATargetOfTheSameLength() throws IOException {
    Path source = dir.resolve("s");
    Path target = dir.resolve("t"); // as long as the source
    int max = dev.cachemount.core.snapshot.TreeScanner.MAX_OPEN_PATH_BYTES;
    // "f" fits in both, but a pull's temporary name beside it would not: the push leaves it out.
    Path tight = dev.cachemount.core.testing.TestTrees.directoryOfPathLength(source, max - 1 - 20);
    Files.writeString(tight.resolve("f"), "no room beside it");
    Path roomy = dev.cachemount.core.testing.TestTrees.directoryOfPathLength(source.resolve("b"),
        max - 1 - dev.cachemount.core.snapshot.TreeScanner.PULL_NAME_BYTES);
    Files.writeString(roomy.resolve("f"), "room beside it");
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).build();
    String store = dir.resolve("store").toString();
    java.util.List<String> warnings = new java.util.ArrayList<>();
    OperationListener listener = new OperationListener() {
      @Override
      public void warning(String message) {
        warnings.add(message);
      }
    };
    assertEquals(Outcome.PUSHED, client.push(client.parseSpec("id=lp,dir=" + store + ",target=" + source), listener).result());
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("too long to restore"), warnings.get(0));
    OperationResult pulled = client.pull(client.parseSpec("id=lp,dir=" + store + ",target=" + target), OperationListener.NONE);
    assertEquals(Outcome.RESTORED, pulled.result());
    assertEquals("room beside it", Files.readString(target.resolve(source.relativize(roomy.resolve("f")))));
    assertTrue(Files.isDirectory(target.resolve(source.relativize(tight))), "the directory itself fits");
  }
}
