package dev.cachemount.it;

import dev.cachemount.core.store.SnapshotStore;
import dev.cachemount.core.store.StoreContract;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store contract that the layout store passes, against a real registry in each of its four
 * configurations: plain HTTP, TLS with a private CA, htpasswd basic auth, and token auth.
 */
class RegistryStoreContractIT {
  @TempDir static Path dir;
  private static final Map<RegistryMode, RegistryAccess> RUNNING = new EnumMap<>(RegistryMode.class);
  private static final AtomicInteger REPOSITORIES = new AtomicInteger();

  static synchronized SnapshotStore newStore(RegistryMode mode) throws IOException {
    RegistryAccess access = RUNNING.get(mode);
    if (access == null) {
      Path work = dir.resolve(mode.name().toLowerCase(java.util.Locale.ROOT));
      access = RegistryAccess.of(TestRegistry.start(mode, work.resolve("registry")), work.resolve("home"));
      RUNNING.put(mode, access);
    }
    // A fresh repository per test: the contract starts from an empty store.
    int n = REPOSITORIES.incrementAndGet();
    return access.store("contract/store-" + n, dir.resolve("hints-" + n));
  }

  @AfterAll
  static void stopRegistries() {
    RUNNING.values().forEach(a -> a.registry().close());
  }

  @Nested
  class PlainHttp extends StoreContract {
    @Override
    protected SnapshotStore newStore() throws IOException {
      return RegistryStoreContractIT.newStore(RegistryMode.PLAIN);
    }
  }

  @Nested
  class TlsWithPrivateCa extends StoreContract {
    @Override
    protected SnapshotStore newStore() throws IOException {
      return RegistryStoreContractIT.newStore(RegistryMode.TLS);
    }
  }

  @Nested
  class BasicAuth extends StoreContract {
    @Override
    protected SnapshotStore newStore() throws IOException {
      return RegistryStoreContractIT.newStore(RegistryMode.BASIC);
    }
  }

  @Nested
  class TokenAuth extends StoreContract {
    @Override
    protected SnapshotStore newStore() throws IOException {
      return RegistryStoreContractIT.newStore(RegistryMode.TOKEN);
    }
  }
}
