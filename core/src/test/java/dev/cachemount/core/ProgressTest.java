package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.MutableClock;
import dev.cachemount.core.testing.TestTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What push, pull and verify count in their {@link Progress}: each step's totals are what it had to
 * do, its counts reach them, and the bytes moved are those the result reports; the listener hears
 * {@code started} and {@code ended} once each, failures included.
 */
class ProgressTest {
  @TempDir Path dir;
  Cachemount client;
  Path tree;

  @BeforeEach
  void setUp() throws IOException {
    MutableClock clock = new MutableClock(Instant.now().plus(Duration.ofHours(1)));
    client = Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(128 * 1024).clock(clock).build();
    tree = dir.resolve("tree");
    TestTrees.mixed(tree, 7);
  }

  private CacheSpec spec(Path target) {
    return client.parseSpec("id=c,dir=" + dir.resolve("store") + ",target=" + target);
  }

  /** Records the listener's calls, and the progress as the operation left it, step by step. */
  static class Recording implements OperationListener {
    final List<String> calls = new ArrayList<>();
    final Map<Progress.Step, Progress.Now> lastOfStep = new java.util.EnumMap<>(Progress.Step.class);
    Progress progress;

    @Override
    public synchronized void started(Progress p) {
      calls.add("started " + p.id());
      progress = p;
    }

    @Override
    public synchronized void ended(Progress p) {
      assertSame(progress, p);
      calls.add("ended " + p.id());
    }

    /** The last state of the step it is in now. */
    void look() {
      Progress.Now now = progress.now();
      lastOfStep.put(now.step(), now);
    }
  }

  /** A listener that looks at the progress whenever the operation says anything and once it ends. */
  private static Recording recording() {
    return new Recording() {
      @Override
      public synchronized void ended(Progress p) {
        look();
        super.ended(p);
      }
    };
  }

  private static long bytesOfFiles(Path root) throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  private static long countFiles(Path root) throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).count();
    }
  }

  @Test
  void aFirstPushReadsEveryFileAndCountsWhatItStored() throws IOException {
    Recording seen = recording();
    OperationResult pushed = client.push(spec(tree), seen);
    assertEquals(Outcome.PUSHED, pushed.result());
    assertEquals(List.of("started c", "ended c"), seen.calls);
    Progress.Now end = seen.progress.now();
    assertEquals(Progress.Step.STORING, end.step());
    assertEquals("push", end.operation());
    // Every blob but the manifest goes through the uploader: what it counted is the result's bytes less the manifest's.
    long manifest = Files.size(dir.resolve("store/blobs/sha256").resolve(pushed.digest().substring("sha256:".length())));
    assertEquals(pushed.bytesTransferred() - manifest, end.bytesTransferred());
  }

  @Test
  void theReadingStepCountsTheFilesToReadAndReachesIt() throws IOException {
    // Looked at when the push notes what it chunked: the files are read, and the publication (STORING) has not begun.
    Recording atNote = new Recording() {
      @Override
      public void info(String message) {
        if (message.startsWith("chunked")) {
          look();
        }
      }
    };
    // A tree of files a day old: the mixed tree has times in the future too, which every push reads again.
    tree = dir.resolve("plain");
    java.util.Random random = new java.util.Random(3);
    for (int i = 0; i < 30; i++) {
      Path file = tree.resolve("d" + (i % 4)).resolve("f" + i);
      Files.createDirectories(file.getParent());
      Files.write(file, TestTrees.randomBytes(random, 1000 + random.nextInt(50_000)));
      Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(Instant.now().minus(Duration.ofDays(1))));
    }
    client.push(spec(tree), atNote);
    Progress.Now reading = atNote.lastOfStep.get(Progress.Step.READING);
    assertEquals(bytesOfFiles(tree), reading.bytesTotal());
    assertEquals(reading.bytesTotal(), reading.bytesDone());
    assertEquals(countFiles(tree), reading.filesTotal());
    assertEquals(reading.filesTotal(), reading.filesDone());

    // One file changed, one added: only they are read by the next push.
    Files.writeString(tree.resolve("changed.txt"), "x".repeat(5000));
    Files.writeString(tree.resolve("added.txt"), "y".repeat(3000));
    Files.setLastModifiedTime(tree.resolve("changed.txt"), java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(60)));
    Files.setLastModifiedTime(tree.resolve("added.txt"), java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(60)));
    Recording second = new Recording() {
      @Override
      public void info(String message) {
        if (message.startsWith("chunked")) {
          look();
        }
      }
    };
    assertEquals(Outcome.PUSHED, client.push(spec(tree), second).result());
    Progress.Now again = second.lastOfStep.get(Progress.Step.READING);
    assertEquals(8000, again.bytesTotal());
    assertEquals(8000, again.bytesDone());
    assertEquals(2, again.filesTotal());
    assertEquals(2, again.filesDone());
  }

  @Test
  void aPullCountsTheFilesItWritesAndEveryByteItFetched() throws IOException {
    client.push(spec(tree), OperationListener.NONE);
    Path target = dir.resolve("restored");
    Recording seen = recording();
    OperationResult pulled = client.pull(spec(target), seen);
    assertEquals(Outcome.RESTORED, pulled.result());
    assertEquals(List.of("started c", "ended c"), seen.calls);
    Progress.Now restoring = seen.lastOfStep.get(Progress.Step.RESTORING);
    assertEquals(bytesOfFiles(tree), restoring.bytesTotal());
    assertEquals(restoring.bytesTotal(), restoring.bytesDone());
    assertEquals(countFiles(tree), restoring.filesTotal());
    assertEquals(restoring.filesTotal(), restoring.filesDone());
    assertEquals(pulled.bytesTransferred(), restoring.bytesTransferred());

    // A warm pull: one file missing is all it writes.
    Path gone = target.resolve("changed.txt");
    Files.writeString(tree.resolve("changed.txt"), "z".repeat(777));
    Files.setLastModifiedTime(tree.resolve("changed.txt"), java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(60)));
    client.push(spec(tree), OperationListener.NONE);
    Recording warm = recording();
    OperationResult again = client.pull(spec(target), warm);
    Progress.Now one = warm.lastOfStep.get(Progress.Step.RESTORING);
    assertEquals(777, one.bytesTotal());
    assertEquals(1, one.filesTotal());
    assertEquals(1, one.filesDone());
    assertEquals(again.bytesTransferred(), one.bytesTransferred());
    assertEquals("z".repeat(777), Files.readString(gone));
  }

  @Test
  void verifyChecksEveryPackByte() throws IOException {
    client.push(spec(tree), OperationListener.NONE);
    Recording seen = recording();
    Verification v = client.verify(spec(tree), seen).orElseThrow();
    assertEquals(List.of("started c", "ended c"), seen.calls);
    Progress.Now checking = seen.lastOfStep.get(Progress.Step.CHECKING);
    assertEquals(checking.bytesTotal(), checking.bytesDone());
    assertEquals(v.bytesRead(), checking.bytesTransferred());
    // What it reads of the packs: all but the ends no frame covers (the packs' own headers), and more than the index.
    SnapshotSummary summary = client.inspect(spec(tree)).orElseThrow();
    long packBytes = summary.packs().stream().mapToLong(p -> p.size()).sum();
    assertTrue(checking.bytesTotal() <= packBytes && checking.bytesTotal() > packBytes * 9 / 10, checking + " of " + packBytes);
  }

  @Test
  void aPushWithAnImageViewEndsWritingIt() {
    Recording seen = recording();
    CacheSpec withView = client.parseSpec("id=c,dir=" + dir.resolve("store") + ",target=" + tree + ",image=c-image");
    assertEquals(Outcome.PUSHED, client.push(withView, seen).result());
    assertEquals(Progress.Step.IMAGE, seen.progress.now().step());
    assertTrue(seen.lastOfStep.containsKey(Progress.Step.IMAGE), seen.lastOfStep.toString());
  }

  @Test
  void aFailedOperationEndsItsProgressToo() {
    Recording seen = new Recording();
    assertThrows(CachemountException.class, () -> client.push(spec(dir.resolve("no-such-directory")), seen));
    assertEquals(List.of("started c", "ended c"), seen.calls);
  }

  @Test
  void aMissEndsItsProgress() {
    Recording seen = new Recording();
    assertEquals(Outcome.MISS, client.pull(spec(dir.resolve("t")), seen).result());
    assertEquals(List.of("started c", "ended c"), seen.calls);
    assertEquals(Progress.Step.FETCHING, seen.progress.now().step());
  }
}
