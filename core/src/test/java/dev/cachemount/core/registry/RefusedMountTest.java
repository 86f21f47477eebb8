package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.blob.Digest;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A push that takes a blob from another repository ({@code from=}) and whose mount does not happen:
 * the registry opens an ordinary upload instead (a refused mount; or jib-core, finding no pull on the
 * source in the push's token, never asks for one). The bytes are not here, so the push cannot upload
 * them: that is final. It was retried five times, each opening an upload the registry then kept, and
 * the message asked whether the registry was running (token-expiry helper).
 */
class RefusedMountTest {
  @TempDir Path dir;

  @Test
  void aMountThatBecomesAnUploadFailsAtOnceAndSaysWhy() throws IOException {
    AtomicInteger uploadsOpened = new AtomicInteger();
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "refusing-registry");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/", x -> {
      try (x) {
        x.getRequestBody().readAllBytes();
        x.getResponseHeaders().set("Docker-Distribution-API-Version", "registry/2.0");
        String method = x.getRequestMethod();
        String path = x.getRequestURI().getPath();
        if (method.equals("POST") && path.endsWith("/blobs/uploads/")) {
          uploadsOpened.incrementAndGet();
          // 202: no mount, an upload session instead, as distribution answers a mount it refuses
          x.getResponseHeaders().set("Location", "/v2/team/b/blobs/uploads/session-" + uploadsOpened.get());
          x.sendResponseHeaders(202, -1);
        } else if (method.equals("GET") && path.equals("/v2/")) {
          x.sendResponseHeaders(200, -1);
        } else {
          x.sendResponseHeaders(404, -1); // no blob here; an upload's PATCH never gets this far
        }
      }
    });
    server.start();
    RegistryRef ref = RegistryRef.parse("127.0.0.1:" + server.getAddress().getPort() + "/team/b:main");
    try (RegistryStore store = new RegistryStore(ref, RegistrySettings.DEFAULT, false, Optional.empty(), Optional.empty(), dir,
        OperationListener.NONE)) {
      Digest digest = Digest.of(new byte[] {42});
      CachemountException e = assertThrows(CachemountException.class, () -> store.claimBlob(digest, 1, Optional.of("team/a")));
      assertEquals(FailureKind.OPERATIONAL, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains("did not mount blob " + digest) && e.getMessage().contains("grants no pull on team/a")
          && !e.getMessage().contains("reachable"), e.getMessage());
      assertEquals(1, uploadsOpened.get(), "a mount that became an upload is not tried again");
    } finally {
      server.stop(0);
    }
  }
}
