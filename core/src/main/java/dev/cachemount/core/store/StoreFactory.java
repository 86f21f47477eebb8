package dev.cachemount.core.store;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.OperationListener;

/** Opens the store a spec names. The library's default opens OCI layout directories. */
@FunctionalInterface
public interface StoreFactory {
  /**
   * @param defaultLayoutDir where a local store lives when the spec names no {@code dir=}
   * @param listener hears the store's warnings
   */
  SnapshotStore open(CacheSpec spec, java.nio.file.Path defaultLayoutDir, OperationListener listener);
}
