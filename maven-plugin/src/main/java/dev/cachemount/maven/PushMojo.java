package dev.cachemount.maven;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import dev.cachemount.core.PushOptions;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * {@code cachemount:push}: snapshot each cache's target and store it under its id. Bound to
 * {@code verify} by default: after the build has resolved and used what it needs.
 */
@Mojo(name = "push", threadSafe = true, requiresProject = false, defaultPhase = org.apache.maven.plugins.annotations.LifecyclePhase.VERIFY)
public class PushMojo extends CacheMojo {
  /** Store a complete new snapshot even when the tree equals the stored one (repairs a damaged store). */
  @Parameter(property = "cachemount.force", defaultValue = "false")
  boolean force;

  @Override
  OperationResult run(Cachemount client, CacheSpec spec, OperationListener listener) {
    return client.push(spec, new PushOptions(force), listener);
  }

  @Override
  String goal() {
    return "push";
  }

  @Override
  org.apache.maven.project.MavenProject onceIn(java.util.List<org.apache.maven.project.MavenProject> reactor) {
    return reactor.get(reactor.size() - 1);
  }

  @Override
  void checkTogether(Cachemount client, java.util.List<CacheSpec> specs) {
    client.requireDistinctPushes(specs);
  }
}
