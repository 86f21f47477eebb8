package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.pack.PackWriter;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.store.LayoutStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Uploads overlap with the snapshot; once the push is cancelled, a late pack fails as I/O, not as a defect. */
class PackUploaderTest {
  @TempDir Path dir;

  @Test
  void aBlobSubmittedAfterTheUploaderClosedFailsTheFinishAsAnIoFailure() throws IOException {
    try (LayoutStore store = new LayoutStore(dir.resolve("store"))) {
      byte[] content = "index".getBytes(StandardCharsets.UTF_8);
      PackUploader uploader = new PackUploader(store);
      assertEquals(BlobPut.written(content.length), PackUploader.await(uploader.submit(Digest.of(content), content)));
      // SIGTERM: the clean-up closes the uploader while a worker is finishing a pack.
      uploader.close();
      byte[] late = "late".getBytes(StandardCharsets.UTF_8);
      IOException e = assertThrows(IOException.class, () -> PackUploader.await(uploader.submit(Digest.of(late), late)));
      assertTrue(e.getMessage().contains("cancelled"), e.getMessage());
      Path pack = Files.write(store.newStagingDirectory().resolve("pack"), late);
      uploader.submit(new PackWriter.FinishedPack(pack, Digest.of(late), late.length, List.of()));
      IOException finish = assertThrows(IOException.class, () -> uploader.finish(List.of(new PackWriter.FinishedPack(pack, Digest.of(late), late.length, List.of()))));
      assertTrue(finish.getMessage().contains("cancelled"), finish.getMessage());
      assertFalse(store.hasBlob(Digest.of(late)), "nothing was stored after the close");
    }
  }
}
