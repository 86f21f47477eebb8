package dev.cachemount.core.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The store contract against an OCI image-layout directory. */
class LayoutStoreContractTest extends StoreContract {
  @TempDir Path dir;

  @Override
  protected SnapshotStore newStore() throws IOException {
    return new LayoutStore(Files.createTempDirectory(dir, "layout").resolve("store"));
  }
}
