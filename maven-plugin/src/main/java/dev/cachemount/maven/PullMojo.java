package dev.cachemount.maven;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import org.apache.maven.plugins.annotations.Mojo;

/** {@code cachemount:pull}: restore each cache's stored snapshot into its target. */
@Mojo(name = "pull", threadSafe = true, requiresProject = false)
public class PullMojo extends CacheMojo {
  @Override
  OperationResult run(Cachemount client, CacheSpec spec, OperationListener listener) {
    return client.pull(spec, listener);
  }
}
