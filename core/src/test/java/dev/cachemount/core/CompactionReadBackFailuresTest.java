package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.RecordingListener;
import dev.cachemount.core.testing.TestTrees;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Compaction of a merge that reads chunks back from the parent's packs, with the store failing in
 * the middle of a pack, or interrupted: the pushed snapshot must restore exactly, and a failure of
 * the push itself must fail it.
 */
class CompactionReadBackFailuresTest {
  @TempDir Path dir;

  private Path store;
  private Path shared;
  private final List<String> newest = new ArrayList<>();
  private long newestBytes;
  /** While set: how a pack's stream fails (digest, stream) -> stream. */
  private volatile BiFunction<Digest, InputStream, InputStream> packFault;
  private final Map<Digest, Long> parentPacks = new HashMap<>();

  private Cachemount client() {
    return Cachemount.builder().home(dir.resolve("home")).env(Map.of()).workers(2).packTarget(1 << 20)
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public InputStream openBlob(Digest digest, long size) throws IOException {
            InputStream in = super.openBlob(digest, size);
            BiFunction<Digest, InputStream, InputStream> fault = packFault;
            return fault != null && parentPacks.containsKey(digest) ? fault.apply(digest, in) : in;
          }
        }).build();
  }

  private LoadedSnapshot load(String id) throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      return new SnapshotReader(s, s).load(id, id).orElseThrow();
    }
  }

  /** The shared cache pushed (5 packs of ~1 MiB), and the project's merge under a budget (a sixth of each pack used). */
  private Path setUp(Cachemount client) throws IOException {
    store = dir.resolve("store");
    shared = dir.resolve("shared");
    newest.addAll(TestTrees.everySixthUsedLast(shared, 120, 11));
    newestBytes = (long) newest.size() * TestTrees.SHARED_FILE_BYTES;
    assertEquals(Outcome.PUSHED, client.push(client.parseSpec("id=deps,dir=" + store + ",target=" + shared + ",mode=merge"), OperationListener.NONE).result());
    for (SnapshotIndex.PackRef p : load("deps").index().packs()) {
      parentPacks.put(p.digest(), p.size());
    }
    Path project = Files.createDirectories(dir.resolve("project"));
    Files.writeString(project.resolve("built.txt"), "a project's own file");
    return project;
  }

  private OperationResult merge(Cachemount client, Path project, RecordingListener listener) {
    long budget = newestBytes + 20;
    return client.push(client.parseSpec("id=deps,dir=" + store + ",target=" + project + ",mode=merge,max-size=" + budget), listener);
  }

  private void assertRestoresExactly(Cachemount client) throws IOException {
    Path out = dir.resolve("out");
    OperationResult pulled = client.pull(client.parseSpec("id=deps,dir=" + store + ",target=" + out), OperationListener.NONE);
    assertEquals(Outcome.RESTORED, pulled.result(), pulled.toString());
    for (String name : newest) {
      assertEquals(-1L, Files.mismatch(shared.resolve(name), out.resolve(name)), name);
    }
    try (Stream<Path> files = Files.walk(out)) {
      assertEquals(newest.size() + 1, files.filter(Files::isRegularFile).count());
    }
    assertEquals(newest.size() + 1L, client.verify(client.parseSpec("id=deps,dir=" + store + ",target=" + out), OperationListener.NONE).orElseThrow().files());
  }

  /** A stream that fails (as a reset connection does) once {@code after} bytes are read. */
  private static InputStream failingAfter(InputStream in, long after) {
    return new FilterInputStream(in) {
      private long read;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (read >= after) {
          throw new IOException("connection reset (test)");
        }
        int n = super.read(b, off, (int) Math.min(len, after - read));
        if (n > 0) {
          read += n;
        }
        return n;
      }

      @Override
      public long skip(long n) throws IOException {
        if (read >= after) {
          throw new IOException("connection reset (test)");
        }
        long s = super.skip(Math.min(n, after - read));
        read += s;
        return s;
      }
    };
  }

  /** Every stored pack's stream breaks at a share of the pack: chunks before it are packed anew, the rest keep the pack; the snapshot restores. */
  @ParameterizedTest
  @ValueSource(doubles = {0.05, 0.3, 0.5, 0.77, 0.95})
  void aStoreFailingInTheMiddleOfAPackLeavesASnapshotThatRestores(double share) throws IOException {
    Cachemount client = client();
    Path project = setUp(client);
    packFault = (digest, in) -> failingAfter(in, (long) (parentPacks.get(digest) * share));
    RecordingListener listener = new RecordingListener();
    OperationResult merged = merge(client, project, listener);
    packFault = null;
    assertEquals(Outcome.PUSHED, merged.result(), merged + " " + listener.warnings());
    assertTrue(listener.warnings().stream().anyMatch(w -> w.startsWith("compaction could not read")), listener.warnings().toString());
    assertRestoresExactly(client);
  }

  /** An interrupt while compaction reads a stored pack stops the push; it is not taken for a store failure. */
  @Test
  void anInterruptWhileReadingAStoredPackFailsThePush() throws IOException {
    Cachemount client = client();
    Path project = setUp(client);
    packFault = (digest, in) -> new FilterInputStream(in) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted (test)");
      }
    };
    RecordingListener listener = new RecordingListener();
    CachemountException e = org.junit.jupiter.api.Assertions.assertThrows(CachemountException.class, () -> merge(client, project, listener));
    packFault = null;
    Thread.interrupted();
    assertTrue(e.getMessage().contains("interrupted"), e.getMessage());
  }
}
