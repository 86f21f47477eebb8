package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.TagRemoval;
import dev.cachemount.core.testing.RecordingListener;
import dev.cachemount.core.testing.ScriptedRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RegistryStore#removeTags} against a registry whose DELETE of a manifest that its HEAD has just
 * found answers 404 (a proxy in front of it that routes no DELETE, a registry that hides the endpoint):
 * the tag is still there, and must not be reported as one that was gone already (prune then says "removed").
 */
class TagRemovalAnswersTest {
  @TempDir Path dir;
  private ScriptedRegistry server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void aDeleteAnswered404WhileTheTagStillNamesTheManifestIsNotGone() throws IOException {
    byte[] manifest = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.of(manifest);
    server = new ScriptedRegistry("tag-removal-registry", x -> {
      String path = x.getRequestURI().getPath();
      if (path.equals("/v2/team/b/tags/list")) {
        byte[] body = "{\"name\":\"team/b\",\"tags\":[\"m2-a\"]}".getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(200, body.length);
        x.getResponseBody().write(body);
      } else if (path.equals("/v2/team/b/manifests/m2-a") && x.getRequestMethod().equals("HEAD")) {
        x.getResponseHeaders().set("Docker-Content-Digest", digest.toString());
        x.getResponseHeaders().set("Content-Type", "application/vnd.oci.image.manifest.v1+json");
        x.sendResponseHeaders(200, -1);
      } else {
        x.sendResponseHeaders(404, -1); // DELETE included: the tag is not removed
      }
    });
    RegistryRef ref = RegistryRef.parse(server.host() + "/team/b:m2-own");
    try (RegistryStore store = new RegistryStore(ref, RegistrySettings.DEFAULT, false, Optional.empty(), Optional.empty(), dir,
        new RecordingListener())) {
      TagRemoval removal;
      try {
        removal = store.removeTags(Map.of("m2-a", digest));
      } catch (CachemountException e) {
        assertTrue(e.getMessage().contains("m2-a"), e.getMessage()); // a failure that says so will do
        return;
      }
      assertNotEquals(TagRemoval.Result.GONE, removal.results().get("m2-a"), "m2-a still names " + digest + ": " + store.listTags());
    }
  }
}
