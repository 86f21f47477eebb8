package dev.cachemount.maven;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import org.apache.maven.plugins.annotations.Mojo;

/** {@code cachemount:push}: snapshot each cache's target and store it under its id. */
@Mojo(name = "push", threadSafe = true, requiresProject = false)
public class PushMojo extends CacheMojo {
  @Override
  OperationResult run(Cachemount client, CacheSpec spec, OperationListener listener) {
    return client.push(spec, listener);
  }
}
