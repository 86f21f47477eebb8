package dev.cachemount.maven;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import dev.cachemount.core.PushOptions;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.maven.execution.BuildFailure;
import org.apache.maven.execution.MavenExecutionRequest;
import org.apache.maven.execution.ProjectDependencyGraph;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;

/**
 * {@code cachemount:push}: snapshot each cache's target and store it under its id. Bound to
 * {@code verify} by default: after the build has resolved and used what it needs.
 */
@Mojo(name = "push", threadSafe = true, requiresProject = false, defaultPhase = org.apache.maven.plugins.annotations.LifecyclePhase.VERIFY)
public class PushMojo extends SnapshotMojo {
  /** Store a complete new snapshot even when the tree equals the stored one (repairs a damaged store). */
  @Parameter(property = "cachemount.force", defaultValue = "false")
  boolean force;

  @Override
  OperationResult run(Cachemount client, CacheSpec spec, OperationListener listener) {
    return client.push(spec, new PushOptions(force), listener);
  }

  /**
   * Once per build in a parallel build ({@code -T}), the last project of the reactor is not the last
   * one to finish: modules that do not depend on one another build at once, and this one may reach
   * {@code verify} while others still resolve and download into the cache. It waits for every
   * module that does not depend on it (those that do wait for it, and come after the snapshot, as
   * in a build without {@code -T}), nor for a module after it in the reactor that runs a push too
   * (an execution of its own: it waits for this one). A module that fails and so stops the build ({@code --fail-fast},
   * Maven's default) stops the push too, as a build without {@code -T} would not reach it; with
   * {@code --fail-at-end}, the modules Maven then skips (those that depend on the failed one) are
   * not waited for. When one of the modules it waits for waits in turn for Maven's lock (an
   * aggregator goal, which Maven runs only while no other goal runs), it stops waiting: the two would
   * wait for each other for ever.
   */
  @Override
  boolean readyToRun() throws MojoExecutionException {
    if (!oncePerBuild || typed() || session == null || !session.isParallel() || session.getProjects() == null
        || session.getCurrentProject() == null || session.getResult() == null) {
      return true;
    }
    MavenProject current = session.getCurrentProject();
    ProjectDependencyGraph graph = session.getProjectDependencyGraph();
    Set<MavenProject> after = identitySet(graph == null ? List.of() : graph.getDownstreamProjects(current, true));
    // Nor for a module later in the reactor that runs a push of its own (an execution its pom declares
    // for its own cache): that push waits in turn for this module, and the two would wait for each
    // other for ever. Waits go back in the reactor's order only, between pushes.
    List<MavenProject> reactor = session.getProjects();
    int here = reactor.indexOf(current);
    List<MavenProject> others = reactor.stream()
        .filter(p -> p != current && !after.contains(p) && !(reactor.indexOf(p) > here && runsAnExecutionOfTheGoal(p))).toList();
    boolean told = false;
    while (true) {
      List<BuildFailure> failures = others.stream().map(session.getResult()::getBuildSummary)
          .filter(BuildFailure.class::isInstance).map(BuildFailure.class::cast).toList();
      if (!failures.isEmpty() && stopsTheBuild(failures)) {
        getLog().warn("cachemount: push skipped: " + names(failures.stream().map(BuildFailure::getProject).toList())
            + " failed, which stops the build (as without -T, where push, in the last module, would not run)");
        return false;
      }
      Set<MavenProject> skipped = identitySet(List.of());
      if (MavenExecutionRequest.REACTOR_FAIL_AT_END.equals(session.getReactorFailureBehavior()) && graph != null) {
        failures.forEach(f -> skipped.addAll(graph.getDownstreamProjects(f.getProject(), true)));
      }
      List<MavenProject> building = others.stream().filter(p -> session.getResult().getBuildSummary(p) == null && !skipped.contains(p)).toList();
      if (building.isEmpty()) {
        return true;
      }
      if (goalsWaitForMavensLock.getAsBoolean()) {
        getLog().warn("cachemount: push stops waiting for " + names(building) + ": a goal of theirs waits for the push to end (Maven runs an"
            + " aggregator goal, such as install:install-file, only while no other goal runs), so the snapshot lacks what their builds add"
            + " from now on; with -T, run cachemount:push as a step of its own after the build to store everything");
        return true;
      }
      if (!told) {
        getLog().info("cachemount: push waits for " + names(building) + ", still building (-T), so that the snapshot holds what their builds add");
        told = true;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new MojoExecutionException("cachemount: interrupted while push waited for the other modules", e);
      }
    }
  }

  /** Whether another module's goal waits for Maven's lock while the push waits for that module: a deadlock unless the push gives way. */
  java.util.function.BooleanSupplier goalsWaitForMavensLock = PushMojo::aGoalWaitsForMavensLock;

  /**
   * Whether a thread of this JVM waits in Maven's {@code MojoExecutor$ProjectLock}: with {@code -T},
   * every goal holds Maven's reactor-wide lock for reading while it runs, and an aggregator goal
   * needs it alone, so it waits for the push, which holds it too, and once it waits, every other
   * goal waits behind it.
   */
  static boolean aGoalWaitsForMavensLock() {
    long self = Thread.currentThread().getId();
    for (java.lang.management.ThreadInfo info : java.lang.management.ManagementFactory.getThreadMXBean().dumpAllThreads(false, false)) {
      if (info == null || info.getThreadId() == self || info.getThreadState() == Thread.State.RUNNABLE) {
        continue;
      }
      for (StackTraceElement frame : info.getStackTrace()) {
        if (frame.getClassName().startsWith("org.apache.maven.lifecycle.internal.MojoExecutor$ProjectLock")) {
          return true;
        }
      }
    }
    return false;
  }

  /** Whether Maven stops building other modules after these failures (fail-fast, or an error that always halts it). */
  private boolean stopsTheBuild(List<BuildFailure> failures) {
    String behaviour = session.getReactorFailureBehavior();
    if (!MavenExecutionRequest.REACTOR_FAIL_AT_END.equals(behaviour) && !MavenExecutionRequest.REACTOR_FAIL_NEVER.equals(behaviour)) {
      return true;
    }
    // Maven halts the whole build on a RuntimeException or an Error, whatever the failure behaviour.
    return failures.stream().map(BuildFailure::getCause).anyMatch(t -> !(t instanceof Exception) || t instanceof RuntimeException);
  }

  private static Set<MavenProject> identitySet(List<MavenProject> projects) {
    Set<MavenProject> set = Collections.newSetFromMap(new IdentityHashMap<>());
    set.addAll(projects);
    return set;
  }

  private static String names(List<MavenProject> projects) {
    return projects.stream().map(MavenProject::getArtifactId).collect(Collectors.joining(", "));
  }

  /** After it in the reactor; in a parallel build, where push waits for the others, those that depend on it. */
  @Override
  List<MavenProject> builtOnTheWrongSide(List<MavenProject> reactor, MavenProject once) {
    if (session != null && session.isParallel() && session.getProjectDependencyGraph() != null) {
      return session.getProjectDependencyGraph().getDownstreamProjects(once, true);
    }
    return reactor.subList(reactor.indexOf(once) + 1, reactor.size());
  }

  @Override
  String wrongSide() {
    return "after it, so what they add to the cache is not in the snapshot";
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
    client.checkPushes(specs);
  }
}
