package dev.cachemount.maven;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import org.apache.maven.plugins.annotations.Mojo;

/**
 * {@code cachemount:pull}: restore each cache's stored snapshot into its target. Bound to
 * {@code validate} by default, the first phase: before anything resolves a dependency.
 */
@Mojo(name = "pull", threadSafe = true, requiresProject = false, defaultPhase = org.apache.maven.plugins.annotations.LifecyclePhase.VALIDATE)
public class PullMojo extends SnapshotMojo {
  @Override
  OperationResult run(Cachemount client, CacheSpec spec, OperationListener listener) {
    return client.pull(spec, listener);
  }

  @Override
  String goal() {
    return "pull";
  }

  @Override
  org.apache.maven.project.MavenProject onceIn(java.util.List<org.apache.maven.project.MavenProject> reactor) {
    return reactor.get(0);
  }

  /**
   * Before it in the reactor; in a parallel build ({@code -T}), also those that do not depend on it,
   * which Maven may build while it pulls.
   */
  @Override
  java.util.List<org.apache.maven.project.MavenProject> builtOnTheWrongSide(java.util.List<org.apache.maven.project.MavenProject> reactor,
      org.apache.maven.project.MavenProject once) {
    if (session != null && session.isParallel() && session.getProjectDependencyGraph() != null) {
      java.util.Set<org.apache.maven.project.MavenProject> after = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
      after.addAll(session.getProjectDependencyGraph().getDownstreamProjects(once, true));
      return reactor.stream().filter(p -> p != once && !after.contains(p)).toList();
    }
    return reactor.subList(0, reactor.indexOf(once));
  }

  @Override
  String wrongSide() {
    return session != null && session.isParallel()
        ? "before it or while it pulls (-T; they do not depend on it), so what they resolve may not come from the cache"
        : "before it, so what they resolve does not come from the cache";
  }

  @Override
  void checkTogether(Cachemount client, java.util.List<CacheSpec> specs) {
    client.checkPulls(specs);
    java.nio.file.Path repository = localRepository();
    for (CacheSpec spec : specs) {
      java.nio.file.Path target = spec.target().map(PullMojo::real).orElse(null);
      if (repository != null && target != null && spec.mode().orElse(null) == CacheSpec.Mode.MIRROR
          && (repository.startsWith(target) || target.startsWith(repository))) {
        throw dev.cachemount.core.CachemountException.usage("cache '" + spec.id() + "': mode=mirror into " + target + " would delete"
            + " from " + repository + ", the local repository this build uses, what the build resolved before the pull (the plugins"
            + " it runs among them); pull it without mode=mirror, or with the cachemount CLI before Maven starts");
      }
    }
  }

  /** The local repository of this build, or null without a session. */
  private java.nio.file.Path localRepository() {
    return buildLocalRepository().map(PullMojo::real).orElse(null);
  }

  /** Links resolved, so that a repository reached through a symlink is the same directory. */
  private static java.nio.file.Path real(java.nio.file.Path path) {
    try {
      return dev.cachemount.core.internal.FileTrees.realPath(path);
    } catch (java.io.IOException e) {
      return path.toAbsolutePath().normalize();
    }
  }
}
