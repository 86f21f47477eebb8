package dev.cachemount.maven;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.SpecRuns;
import dev.cachemount.core.registry.RegistryCredential;
import dev.cachemount.core.registry.RegistrySettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * What the goals share: the cache specs (the CLI's {@code --cache-id} syntax) and running one core
 * operation per spec. No logic of its own: specs go to the core, results to the build log and to
 * properties of the build.
 *
 * @param <R> what the core's operation returns for one spec: {@link dev.cachemount.core.OperationResult}
 *     for pull and push ({@link SnapshotMojo}), {@link dev.cachemount.core.PruneResult} for prune
 */
abstract class CacheMojo<R> extends AbstractMojo {
  /**
   * Cache specs, as the CLI's {@code --cache-id}: {@code id=NAME[,type=local][,dir=STORE_DIR][,target=DIR][,compression-level=N]}
   * or {@code id=NAME,ref=HOST[:PORT]/REPO[:TAG][,insecure=true][,target=DIR]}; {@code preset=maven} for
   * this build's local repository as id and target.
   */
  @Parameter
  List<String> cacheIds = new ArrayList<>();

  /** One more spec, for the command line: {@code -Dcachemount.cacheId=id=m2,target=...}. */
  @Parameter(property = "cachemount.cacheId")
  String cacheId;

  /** Skip the goal. */
  @Parameter(property = "cachemount.skip", defaultValue = "false")
  boolean skip;

  /**
   * Fail the build when the operation fails; when false, a failed operation is logged as an error
   * (shown under {@code -q} too) and the build goes on. A spec that does not parse, specs that would
   * undo each other, or a missing {@code serverId} server fail the build regardless.
   */
  @Parameter(property = "cachemount.failOnError", defaultValue = "true")
  boolean failOnError;

  /** PEM certificates to trust for registry TLS besides the JDK's (a registry with a private CA). */
  @Parameter(property = "cachemount.caFile")
  java.io.File caFile;

  /** Registries ({@code HOST[:PORT]}) where plain HTTP and unverified TLS are allowed. */
  @Parameter(property = "cachemount.insecureRegistries")
  List<String> insecureRegistries = new ArrayList<>();

  /**
   * The {@code <server>} of settings.xml whose username and password log in to a registry; by
   * default the first server whose id is the registry as the ref names it ({@code HOST:PORT}), its
   * host alone (for example {@code ghcr.io}), or for Docker Hub {@code docker.io}.
   */
  @Parameter(property = "cachemount.serverId")
  String serverId;

  @Parameter(defaultValue = "${settings}", readonly = true)
  org.apache.maven.settings.Settings settings;

  /**
   * Run once per build, however many modules inherit the plugin: {@code pull} in the first project
   * of the reactor whose build runs it, {@code push} in the last (after every module was built), and
   * {@code prune}, where a pom binds it, in the last too (after the push). {@code false} runs it in each.
   */
  @Parameter(property = "cachemount.oncePerBuild", defaultValue = "true")
  boolean oncePerBuild = true;

  /** How Maven came to run this goal: typed on the command line, or bound in a pom. */
  @Parameter(defaultValue = "${mojoExecution}", readonly = true)
  org.apache.maven.plugin.MojoExecution mojoExecution;

  @Parameter(defaultValue = "${session}", readonly = true)
  org.apache.maven.execution.MavenSession session;

  /** Maven's decrypter of passwords encrypted with the master password (settings-security.xml). */
  @org.apache.maven.plugins.annotations.Component
  org.apache.maven.settings.crypto.SettingsDecrypter decrypter;

  /** The client; tests replace it. */
  Cachemount client = Cachemount.create();

  /** The core's operation on one spec; a failure is thrown ({@link CachemountException}). */
  abstract R run(Cachemount client, CacheSpec spec, OperationListener listener);

  /** What the build log says of one spec's result, as the CLI prints it (one line or more). */
  abstract String describe(R result, CacheSpec spec);

  /**
   * What one spec's result tells the rest of the build: the properties {@code cachemount.GOAL.ID.NAME}
   * by {@code NAME}, every name the goal sets, {@code result} first; a null value where this result has
   * none (the property an earlier run of the id left is removed). {@code result} is null for a run that
   * failed: {@code result} is then {@code failed}, and the others are null.
   */
  abstract Map<String, String> properties(R result);

  /** What a failed run had stored before it failed ({@link dev.cachemount.core.SnapshotStoredException}); null: nothing. */
  R storedBefore(CachemountException failure) {
    return null;
  }

  /**
   * Checks the goal's specs and parameters together before anything runs: refuses specs that would
   * undo each other within this goal, as the CLI's command does.
   */
  abstract void checkTogether(Cachemount client, List<CacheSpec> specs);

  /** The project of the reactor, in build order, in which the goal runs when it runs once per build. */
  abstract org.apache.maven.project.MavenProject onceIn(List<org.apache.maven.project.MavenProject> reactor);

  /**
   * The projects of the reactor that Maven builds on the wrong side of {@code once}, where the goal
   * runs once per build: before the pull, after the push.
   */
  abstract List<org.apache.maven.project.MavenProject> builtOnTheWrongSide(List<org.apache.maven.project.MavenProject> reactor,
      org.apache.maven.project.MavenProject once);

  /** What the warning about {@link #builtOnTheWrongSide} says of those projects. */
  abstract String wrongSide();

  /** A spec of the shape the goal needs, for the message that says none was given. */
  String exampleSpec() {
    return "id=NAME,target=DIR";
  }

  /** The goal's name: {@code pull}, {@code push} or {@code prune}. */
  abstract String goal();

  /**
   * Whether {@code project}'s build has this execution of this plugin's {@link #goal()}: one with the
   * id of the execution running now (the one a parent's pom gives every module keeps its id), so that
   * an execution of a module's own (its own cache, pushed by {@code <execution><id>push-npm</id>} in
   * that module's pom) runs where it is declared rather than deferring to a project that does not
   * have it. An execution bound to the phase {@code none} (how a module turns off an execution it
   * inherits) never runs, nor does one that the module skips ({@code <cachemount.skip>true</cachemount.skip>}
   * in its properties, or {@code <skip>true</skip>} in its configuration).
   */
  private boolean runsTheGoal(org.apache.maven.project.MavenProject project) {
    return runsTheGoal(project, mojoExecution == null ? null : mojoExecution.getExecutionId());
  }

  /** Whether {@code project}'s build has any execution of this plugin's {@link #goal()}, whatever its id. */
  boolean runsAnExecutionOfTheGoal(org.apache.maven.project.MavenProject project) {
    return runsTheGoal(project, null);
  }

  /** As {@link #runsTheGoal(org.apache.maven.project.MavenProject)}, for the execution {@code executionId} (null: any). */
  private boolean runsTheGoal(org.apache.maven.project.MavenProject project, String executionId) {
    return project.getBuildPlugins().stream()
        .filter(p -> "dev.cachemount".equals(p.getGroupId()) && "cachemount-maven-plugin".equals(p.getArtifactId()))
        .anyMatch(p -> p.getExecutions().stream()
            .anyMatch(e -> e.getGoals().contains(goal()) && (executionId == null || executionId.equals(e.getId()))
                && !"none".equals(e.getPhase()) && !skips(project, p, e)));
  }

  /**
   * Whether the {@code skip} parameter of that execution is true, as Maven will evaluate it: its
   * {@code <skip>} (the execution's, else the plugin's), else {@code ${cachemount.skip}}; a
   * {@code ${property}} from the command line or the JVM's properties, else the project's.
   */
  private boolean skips(org.apache.maven.project.MavenProject project, org.apache.maven.model.Plugin plugin,
      org.apache.maven.model.PluginExecution execution) {
    String value = skipIn(execution.getConfiguration());
    if (value == null) {
      value = skipIn(plugin.getConfiguration());
    }
    if (value == null) {
      value = "${cachemount.skip}";
    }
    java.util.regex.Matcher property = java.util.regex.Pattern.compile("\\$\\{([^}]+)}").matcher(value.trim());
    if (property.matches()) {
      String name = property.group(1);
      value = session.getUserProperties().getProperty(name, session.getSystemProperties().getProperty(name));
      if (value == null && project.getProperties() != null) {
        value = project.getProperties().getProperty(name);
      }
    }
    return value != null && Boolean.parseBoolean(value.trim());
  }

  /** The text of {@code <skip>} in a plugin or execution configuration, null if none. */
  private static String skipIn(Object configuration) {
    if (configuration instanceof org.codehaus.plexus.util.xml.Xpp3Dom dom && dom.getChild("skip") != null) {
      return dom.getChild("skip").getValue();
    }
    return null;
  }

  /** Whether the goal was typed on the command line rather than bound in a pom. */
  boolean typed() {
    return mojoExecution != null && mojoExecution.getSource() == org.apache.maven.plugin.MojoExecution.Source.CLI;
  }

  /**
   * Called where the goal runs, before it runs: whether to run it now. The goals run at once;
   * {@code push} waits for the modules that a parallel build ({@code -T}) still builds.
   */
  boolean readyToRun() throws MojoExecutionException {
    return true;
  }

  /** Whether another project of this build runs the goal instead of this one. */
  private boolean anotherProjectRunsIt() {
    if (!oncePerBuild || session == null || session.getProjects() == null || session.getProjects().size() < 2
        || session.getCurrentProject() == null) {
      return false;
    }
    // Among the projects whose build runs the goal (not an aggregator or BOM without it). When none
    // does, the goal was given on the command line, and Maven runs it once, in the top-level project
    // (a goal that does not require a project is an aggregating one there): it runs where it is.
    List<org.apache.maven.project.MavenProject> running = session.getProjects().stream().filter(this::runsTheGoal).toList();
    if (running.isEmpty() || typed()) {
      return false; // typed on the command line (also where poms bind it): Maven runs it here, and only here
    }
    org.apache.maven.project.MavenProject once = onceIn(running);
    if (once == session.getCurrentProject()) {
      List<String> missed = builtOnTheWrongSide(session.getProjects(), once).stream()
          .filter(p -> !"pom".equals(p.getPackaging())).map(org.apache.maven.project.MavenProject::getArtifactId).toList();
      if (!missed.isEmpty()) {
        getLog().warn("cachemount: " + goal() + " runs once per build, in " + once.getArtifactId() + ", but Maven builds "
            + String.join(", ", missed) + " " + wrongSide() + ", and their builds do not run " + goal()
            + " (a plugin declared with <inherited>false</inherited> runs only where it is declared); let the "
            + ("push".equals(goal()) ? "last" : "first") + " module run it, or run cachemount:" + goal()
            + " as a step of its own " + ("push".equals(goal()) ? "after" : "before") + " the build");
      }
      return false;
    }
    getLog().info("cachemount: " + goal() + " skipped here: it runs once per build, in " + once.getArtifactId()
        + " (-Dcachemount.oncePerBuild=false runs it in every module)");
    return true;
  }

  /**
   * What a relative {@code dir=} or {@code target=} is relative to, as paths in a pom are: the
   * project's directory, not Maven's working directory ({@code mvn -f proj/pom.xml}). When the goal
   * runs once per build, the directory of the pom the build started from (Maven's execution root),
   * so that pull, in the first module, and push, in the last, name the same directories, and a build
   * of some modules ({@code mvn -pl app}) names the same ones as a build of all; null, the working
   * directory, when there is no pom (a goal run without a project).
   */
  java.nio.file.Path baseDirectory() {
    if (session == null) {
      return null;
    }
    org.apache.maven.project.MavenProject current = session.getCurrentProject();
    if (current == null || current.getFile() == null) {
      return null;
    }
    if (!oncePerBuild) {
      return current.getBasedir().toPath();
    }
    // With -pl, the top-level project is the first selected module, not the pom the build started from.
    String root = session.getExecutionRootDirectory();
    org.apache.maven.project.MavenProject top = session.getTopLevelProject();
    return root != null ? java.nio.file.Path.of(root) : top != null && top.getFile() != null ? top.getBasedir().toPath() : current.getBasedir().toPath();
  }

  /** The local repository of this build, as Maven names it; empty without a session. */
  java.util.Optional<java.nio.file.Path> buildLocalRepository() {
    if (session == null || session.getLocalRepository() == null || session.getLocalRepository().getBasedir() == null) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(java.nio.file.Path.of(session.getLocalRepository().getBasedir()));
  }

  /** The client with the registry parameters, and the settings.xml server of the spec's registry, applied. */
  Cachemount clientFor(CacheSpec spec) {
    RegistrySettings registry = client.registry();
    if (caFile != null) {
      registry = registry.withCaFile(caFile.toPath().toAbsolutePath());
    }
    if (!insecureRegistries.isEmpty()) {
      registry = registry.withInsecureRegistries(new java.util.HashSet<>(insecureRegistries));
    }
    if (spec.ref().isPresent() && settings != null) {
      boolean named = serverId != null && !serverId.isBlank();
      for (String id : named ? List.of(serverId) : spec.ref().get().loginNames()) {
        org.apache.maven.settings.Server server = decrypted(settings.getServer(id));
        if (server != null && server.getUsername() != null && server.getPassword() != null) {
          registry = registry.withCredential(new RegistryCredential(server.getUsername(), server.getPassword(), "settings.xml server '" + id + "'"));
          break;
        }
        if (server != null && !named) {
          // Passed over in silence, it left the user with a 401 and a server that looked right.
          getLog().warn("cachemount: settings.xml server '" + id + "' has no " + (server.getUsername() == null ? "<username>" : "<password>")
              + ", so it is not used for " + spec.ref().get().registry() + "; give it both (a token goes in <password>)");
        }
        if (named) {
          throw CachemountException.usage("settings.xml has no <server> with id '" + serverId + "' and a username and password");
        }
      }
    }
    return registry == client.registry() ? client : client.withRegistry(registry);
  }

  /** The server with its password decrypted where Maven's master password encrypted it ({@code {...}}). */
  private org.apache.maven.settings.Server decrypted(org.apache.maven.settings.Server server) {
    if (server == null || decrypter == null) {
      return server;
    }
    org.apache.maven.settings.crypto.SettingsDecryptionResult result =
        decrypter.decrypt(new org.apache.maven.settings.crypto.DefaultSettingsDecryptionRequest(server));
    if (!result.getProblems().isEmpty()) {
      throw CachemountException.usage("the password of settings.xml server '" + server.getId() + "' cannot be decrypted: "
          + result.getProblems().get(0).getMessage() + "; check the master password in " + settingsSecurity() + " (mvn --encrypt-master-password)");
    }
    return result.getServer() != null ? result.getServer() : server;
  }

  /**
   * The settings-security.xml whose master password Maven decrypts with, as its decrypter finds it:
   * {@code -Dsettings.security} (a system property of Maven's JVM, as CI jobs often set it), else
   * {@code ~/.m2/settings-security.xml}.
   */
  static String settingsSecurity() {
    String file = System.getProperty("settings.security");
    return file == null || file.isBlank() ? "~/.m2/settings-security.xml" : file + ", named by -Dsettings.security,";
  }

  /**
   * Tells the rest of the build how each id ended, as properties a later plugin's configuration can
   * name: {@code cachemount.GOAL.ID.result} and the others {@link #properties} gives. For pull and
   * push: {@code result} ({@code restored}, {@code miss}, {@code pushed}, {@code unchanged} or
   * {@code failed}), when there is one, {@code cachemount.GOAL.ID.digest}, and,
   * when the id's own tag held nothing and a {@code fallback=} found a snapshot,
   * {@code cachemount.GOAL.ID.fallback} (where that snapshot is: a pull restored it, a push built on it),
   * and for a push with {@code image=}, {@code cachemount.push.ID.image}: the image view's digest, to
   * pin in a {@code docker build} that seeds a cache mount from it.
   * Set as user properties of the session and properties of every project of the reactor: a goal that
   * runs once per build runs in one project, and the others read them too. A result without a digest
   * (a miss, a failure) removes the digest an earlier run of the id left (oncePerBuild=false runs it in
   * each module): it names a snapshot this run did not restore or store; so for the fallback, and for
   * every property a result has no value for.
   */
  private void publish(String id, Map<String, String> properties) {
    if (session == null) {
      return;
    }
    String prefix = "cachemount." + goal() + "." + id + ".";
    List<java.util.Properties> targets = new ArrayList<>();
    targets.add(session.getUserProperties());
    if (session.getProjects() != null) {
      session.getProjects().forEach(p -> targets.add(p.getProperties()));
    }
    if (session.getCurrentProject() != null) {
      targets.add(session.getCurrentProject().getProperties());
    }
    for (java.util.Properties target : targets) {
      properties.forEach((name, value) -> {
        if (value != null) {
          target.setProperty(prefix + name, value);
        } else {
          target.remove(prefix + name);
        }
      });
    }
  }

  /**
   * The properties of a run that failed: {@code result} is {@code failed}, and the others the goal
   * sets are removed, but for what it had stored before it failed ({@link #storedBefore}: a push whose
   * image view failed after its snapshot was stored and tagged names that snapshot, as the CLI's JSON does).
   */
  private Map<String, String> failedProperties(CachemountException failure) {
    R stored = storedBefore(failure);
    Map<String, String> properties = new java.util.LinkedHashMap<>(properties(stored));
    properties.put("result", "failed");
    return properties;
  }

  @Override
  public void execute() throws MojoExecutionException, MojoFailureException {
    if (skip) {
      getLog().info("cachemount: skipped");
      return;
    }
    if (anotherProjectRunsIt() || !readyToRun()) {
      return;
    }
    List<String> texts = new ArrayList<>(cacheIds);
    if (cacheId != null && !cacheId.isBlank()) {
      texts.add(cacheId);
    }
    if (texts.isEmpty()) {
      throw new MojoFailureException("cachemount: no cache given; configure <cacheIds><cacheId>" + exampleSpec() + "</cacheId></cacheIds> or pass"
          + " -Dcachemount.cacheId=" + exampleSpec());
    }
    List<CacheSpec> specs = new ArrayList<>();
    // preset=maven names this build's own local repository (-Dmaven.repo.local and settings.xml applied by Maven).
    Cachemount parser = buildLocalRepository().map(client::withMavenLocalRepository).orElse(client);
    try {
      for (String text : texts) {
        specs.add(parser.parseSpec(text, baseDirectory()));
      }
      specs.forEach(this::clientFor);
      checkTogether(client, specs);
    } catch (CachemountException e) {
      throw new MojoFailureException("cachemount: " + e.getMessage(), e);
    }
    OperationListener says = new OperationListener() {
      @Override
      public void warning(String message) {
        getLog().warn("cachemount: " + message);
      }

      @Override
      public void info(String message) {
        getLog().debug("cachemount: " + message);
      }
    };
    // A long push or pull says how far it has come every 10 s, as the CLI does in a CI log.
    try (dev.cachemount.core.ProgressTicker ticker = new dev.cachemount.core.ProgressTicker(progressInterval, progressInterval,
        now -> getLog().info("cachemount: " + dev.cachemount.core.ProgressText.line(now, 0)))) {
      runEach(specs, ticker.showing(says));
    }
  }

  /** How often a push or pull says how far it has come, once it has run that long (a test shortens it). */
  java.time.Duration progressInterval = java.time.Duration.ofSeconds(10);

  private void runEach(List<CacheSpec> specs, OperationListener listener) throws MojoExecutionException, MojoFailureException {
    // Each id in turn, one failing not stopping the others (as the CLI, and core's SpecRuns for
    // results of any type); then the build fails on the first failure's kind, or, with
    // failOnError=false, goes on with each failure logged as an error (shown under -q, which hides
    // warnings). A failure that fails the build is told once, by Maven.
    List<SpecRuns.Attempt<R>> runs = new ArrayList<>();
    for (CacheSpec spec : specs) {
      SpecRuns.Attempt<R> run = SpecRuns.attempt(spec, s -> run(clientFor(s), s, listener));
      runs.add(run);
      String id = spec.id();
      if (!run.failed()) {
        publish(id, properties(run.result()));
        describe(run.result(), spec).lines().forEach(line -> getLog().info("cachemount: " + line));
        continue;
      }
      publish(id, failedProperties(run.failure()));
      if (run.defect() != null) {
        // A defect, not a condition the core classifies: its trace, as the first failure's alone would be the cause.
        getLog().error("cachemount: " + id + ": " + run.failure().getMessage(), run.defect());
      } else if (!failOnError) {
        getLog().error("cachemount: " + id + ": " + run.failure().getMessage() + " (failOnError=false: the build goes on)");
      }
    }
    List<CachemountException> failures = runs.stream().filter(SpecRuns.Attempt::failed).map(SpecRuns.Attempt::failure).toList();
    if (failures.isEmpty() || !failOnError) {
      return;
    }
    List<String> failed = runs.stream().filter(SpecRuns.Attempt::failed).map(run -> run.spec().id() + ": " + run.failure().getMessage()).toList();
    String message = "cachemount: " + (failed.size() == 1 ? failed.get(0)
        : failed.size() + " of " + runs.size() + " cache ids failed; " + String.join("; ", failed));
    // Without the cause: Maven would append the messages of its causes (a registry's raw answer) to
    // a message that already says what failed and what to do. A defect's trace was logged above.
    if (failures.get(0).kind() == FailureKind.USAGE) {
      throw new MojoFailureException(message);
    }
    throw new MojoExecutionException(message);
  }
}
