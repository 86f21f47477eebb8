package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.testing.RecordingListener;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A push that takes a blob from another repository ({@code from=}) and whose mount does not happen:
 * the registry opens an ordinary upload instead (a registry without cross-repository mounts, or one
 * that refuses this one; or jib-core, finding no pull on the source in the push's token, never asks
 * for one). The bytes are copied from the source repository into the upload. Where the source cannot
 * be read, that is final: it was retried five times, each opening an upload the registry then kept,
 * and the message asked whether the registry was running (token-expiry helper).
 */
class RefusedMountTest {
  @TempDir Path dir;
  private final AtomicInteger uploadsOpened = new AtomicInteger();
  private final Map<String, byte[]> sourceBlobs = new ConcurrentHashMap<>();
  private final Map<String, ByteArrayOutputStream> uploads = new ConcurrentHashMap<>();
  private final Map<String, byte[]> committed = new ConcurrentHashMap<>();
  /** How many of the source's blob downloads still answer 503 (a registry busy for a moment). */
  private final AtomicInteger sourceBusy = new AtomicInteger();
  /** How many uploads still have their connection cut after the first bytes of their PATCH (a proxy's reset). */
  private final AtomicInteger patchesCut = new AtomicInteger();
  private HttpServer server;
  /** When set: each copy's upload counts down as it starts, and is answered once all have started. */
  private volatile java.util.concurrent.CountDownLatch allCopiesStarted;
  /** Uploads answered 500 because the others did not start within seconds. */
  private final AtomicInteger uploadsGivenUp = new AtomicInteger();

  /** A registry that answers every mount with an upload session; team/a holds {@link #sourceBlobs}. */
  private RegistryRef refusingRegistry() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "refusing-registry");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/", x -> {
      try (x) {
        x.getResponseHeaders().set("Docker-Distribution-API-Version", "registry/2.0");
        String method = x.getRequestMethod();
        String path = x.getRequestURI().getPath();
        if (method.equals("POST") && path.equals("/v2/team/b/blobs/uploads/")) {
          // 202: no mount, an upload session instead, as distribution answers a mount it refuses
          String session = "/v2/team/b/blobs/uploads/session-" + uploadsOpened.incrementAndGet();
          uploads.put(session, new ByteArrayOutputStream());
          x.getResponseHeaders().set("Location", session);
          x.sendResponseHeaders(202, -1);
        } else if (method.equals("PATCH") && uploads.containsKey(path)) {
          java.util.concurrent.CountDownLatch started = allCopiesStarted;
          if (started != null) {
            started.countDown();
            try {
              if (!started.await(5, java.util.concurrent.TimeUnit.SECONDS)) {
                uploadsGivenUp.incrementAndGet(); // not every copy's upload started: the test fails
                x.sendResponseHeaders(500, -1);
                return;
              }
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return;
            }
          }
          if (patchesCut.getAndDecrement() > 0) {
            x.getRequestBody().readNBytes(1024);
            return; // closed without an answer: the connection goes, the rest of the body with it
          }
          uploads.get(path).write(x.getRequestBody().readAllBytes());
          x.getResponseHeaders().set("Location", path);
          x.getResponseHeaders().set("Range", "0-" + (uploads.get(path).size() - 1));
          x.sendResponseHeaders(202, -1);
        } else if (method.equals("PUT") && uploads.containsKey(path)) {
          String digest = x.getRequestURI().getQuery().replaceFirst("^.*digest=", "").replace("%3A", ":");
          committed.put(digest, uploads.get(path).toByteArray());
          x.getResponseHeaders().set("Location", "/v2/team/b/blobs/" + digest);
          x.sendResponseHeaders(201, -1);
        } else if (method.equals("GET") && path.equals("/v2/")) {
          x.sendResponseHeaders(200, -1);
        } else if (method.equals("GET") && path.startsWith("/v2/team/a/blobs/") && sourceBlobs.containsKey(path.substring(17))) {
          byte[] blob = sourceBlobs.get(path.substring(17));
          if (sourceBusy.getAndDecrement() > 0) {
            x.sendResponseHeaders(503, -1);
            return;
          }
          x.sendResponseHeaders(200, blob.length);
          x.getResponseBody().write(blob);
        } else {
          x.getRequestBody().readAllBytes();
          x.sendResponseHeaders(404, -1); // nothing else is here
        }
      }
    });
    server.start();
    return RegistryRef.parse("127.0.0.1:" + server.getAddress().getPort() + "/team/b:main");
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  @Test
  void aRefusedMountIsCopiedFromTheSourceRepositoryWithOneWarning() throws IOException {
    RegistryRef ref = refusingRegistry();
    byte[] first = "a pack of project A".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] second = "another pack of project A".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    sourceBlobs.put(Digest.of(first).toString(), first);
    sourceBlobs.put(Digest.of(second).toString(), second);
    RecordingListener listener = new RecordingListener();
    try (RegistryStore store = new RegistryStore(ref, RegistrySettings.DEFAULT, false, Optional.empty(), Optional.empty(), dir, listener)) {
      BlobPut put = store.claimBlob(Digest.of(first), first.length, Optional.of("team/a"));
      assertEquals(BlobPut.written(first.length), put);
      assertArrayEquals(first, committed.get(Digest.of(first).toString()), "the source's bytes, uploaded into team/b");
      assertEquals(BlobPut.written(second.length), store.claimBlob(Digest.of(second), second.length, Optional.of("team/a")));
      assertArrayEquals(second, committed.get(Digest.of(second).toString()));
    }
    assertEquals(1, listener.warnings().size(), listener.warnings().toString());
    assertTrue(listener.warned("did not mount blobs of team/a into team/b (from=): they are copied through this machine instead"),
        listener.warnings().toString());
  }

  /**
   * As many copies at once as the store's transfers, each a download whose connection is held while
   * its bytes go into an upload on another: the session's pool held 20 connections to a host, so 20
   * or more copies at once (a library caller's {@code parallelTransfers}) could each hold a download's
   * and wait for an upload's for ever (review). The registry here answers each copy's upload only once
   * every one has started: 24 uploads at once, each after its download.
   */
  @Test
  void asManyCopiesAtOnceAsTransfersEachWithItsDownload() throws Exception {
    RegistryRef ref = refusingRegistry();
    int transfers = 24;
    allCopiesStarted = new java.util.concurrent.CountDownLatch(transfers);
    java.util.List<byte[]> packs = new java.util.ArrayList<>();
    for (int i = 0; i < transfers; i++) {
      byte[] pack = ("pack " + i + " of project A").getBytes(java.nio.charset.StandardCharsets.UTF_8);
      packs.add(pack);
      sourceBlobs.put(Digest.of(pack).toString(), pack);
    }
    RegistrySettings settings = new RegistrySettings(java.util.Set.of(), Optional.empty(), Optional.empty(), transfers,
        RegistrySettings.DEFAULT.retry(), RegistrySettings.DEFAULT.timeout());
    java.util.concurrent.ExecutorService claims = Executors.newFixedThreadPool(transfers);
    try (RegistryStore store = new RegistryStore(ref, settings, false, Optional.empty(), Optional.empty(), dir, new RecordingListener())) {
      java.util.List<java.util.concurrent.Future<BlobPut>> puts = new java.util.ArrayList<>();
      for (byte[] pack : packs) {
        puts.add(claims.submit(() -> store.claimBlob(Digest.of(pack), pack.length, Optional.of("team/a"))));
      }
      for (int i = 0; i < transfers; i++) {
        assertEquals(BlobPut.written(packs.get(i).length), puts.get(i).get(60, java.util.concurrent.TimeUnit.SECONDS));
        assertArrayEquals(packs.get(i), committed.get(Digest.of(packs.get(i)).toString()));
      }
    } finally {
      claims.shutdownNow();
    }
    assertEquals(0, uploadsGivenUp.get(), "uploads that waited in vain for the others to start (their connections were taken)");
  }

  @Test
  void aMountThatBecomesAnUploadWhoseSourceCannotBeReadFailsAtOnceAndSaysWhy() throws IOException {
    RegistryRef ref = refusingRegistry(); // team/a holds nothing this push may read
    try (RegistryStore store = new RegistryStore(ref, RegistrySettings.DEFAULT, false, Optional.empty(), Optional.empty(), dir,
        new RecordingListener())) {
      Digest digest = Digest.of(new byte[] {42});
      CachemountException e = assertThrows(CachemountException.class, () -> store.claimBlob(digest, 1, Optional.of("team/a")));
      assertEquals(FailureKind.OPERATIONAL, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains("did not mount blob " + digest) && e.getMessage().contains("copying it from team/a failed")
          && e.getMessage().contains("grants no pull on team/a") && e.getMessage().contains("or push without from=")
          && !e.getMessage().contains("reachable"), e.getMessage());
      assertEquals(1, uploadsOpened.get(), "a mount that became an upload is not tried again");
      assertTrue(committed.isEmpty(), "nothing was committed");
    }
  }

  /**
   * A source that is busy for a moment (503) is a failure of the moment, as for any download: the
   * copy is tried again, not blamed on a source that lacks the blob or a token without pull on it.
   */
  @Test
  void aCopyWhoseSourceIsBusyForAMomentIsTriedAgain() throws IOException {
    RegistryRef ref = refusingRegistry();
    byte[] pack = "a pack of project A".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    sourceBlobs.put(Digest.of(pack).toString(), pack);
    sourceBusy.set(1);
    try (RegistryStore store = new RegistryStore(ref, RegistrySettings.DEFAULT, false, Optional.empty(), Optional.empty(), dir,
        new RecordingListener())) {
      assertEquals(BlobPut.written(pack.length), store.claimBlob(Digest.of(pack), pack.length, Optional.of("team/a")));
    }
    assertArrayEquals(pack, committed.get(Digest.of(pack).toString()));
  }

  /**
   * The upload's connection cut while the copy writes into it is the upload's failure, tried again as
   * any upload's is: not the source's, whose download went well.
   */
  @Test
  void anUploadCutWhileTheCopyWritesIntoItIsTriedAgainAndNotBlamedOnTheSource() throws IOException {
    RegistryRef ref = refusingRegistry();
    byte[] pack = new byte[16 << 20];
    new java.util.Random(7).nextBytes(pack);
    sourceBlobs.put(Digest.of(pack).toString(), pack);
    patchesCut.set(1);
    try (RegistryStore store = new RegistryStore(ref, RegistrySettings.DEFAULT, false, Optional.empty(), Optional.empty(), dir,
        new RecordingListener())) {
      assertEquals(BlobPut.written(pack.length), store.claimBlob(Digest.of(pack), pack.length, Optional.of("team/a")));
    }
    assertArrayEquals(pack, committed.get(Digest.of(pack).toString()));
  }
}
