package dev.cachemount.core;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Where the cache directory of each {@link CachePreset} is on this machine, as the tool itself says:
 * by asking it ({@code go env GOCACHE}, run as {@link ToolCommand} describes: found on the PATH of
 * {@code env}, run with {@code env} and {@code HOME} set to {@code home}), or by reading its settings
 * and variables the way it does ({@code GRADLE_USER_HOME}; Maven's settings, see
 * {@link MavenLocalRepository}). What a spec's {@code preset=} becomes when it gives no {@code target=}
 * ({@link CacheSpec#parse(String, Path, Path, java.util.function.Function)}). Holds no state of its
 * own: each call looks again; safe for any number of threads.
 */
public final class PresetDirectories {
  private final Map<String, String> env;
  private final Path home;
  private final Path accountHome;
  private final Optional<Path> mavenLocalRepository;
  private final Duration timeout;

  /**
   * @param env the environment the tools are found in and run with
   * @param home the user's home ({@code ~} as a shell expands it: {@code $HOME}), also the tools'
   *     {@code HOME}; go, npm, pip and cargo look under it
   * @param accountHome the home of Java's {@code user.home}, under which Maven and Gradle, JVM
   *     programs, keep {@code .m2} and {@code .gradle}: the account's home directory, also where
   *     {@code HOME} names another ({@code HOME=/github/home} in a container job)
   * @param mavenLocalRepository the local repository of the Maven build this runs in, which is then
   *     what {@code preset=maven} names; empty elsewhere
   */
  public PresetDirectories(Map<String, String> env, Path home, Path accountHome, Optional<Path> mavenLocalRepository) {
    this(env, home, accountHome, mavenLocalRepository, ToolCommand.DEFAULT_TIMEOUT);
  }

  PresetDirectories(Map<String, String> env, Path home, Path accountHome, Optional<Path> mavenLocalRepository, Duration timeout) {
    this.env = Map.copyOf(env);
    this.home = Objects.requireNonNull(home, "home");
    this.accountHome = Objects.requireNonNull(accountHome, "accountHome");
    this.mavenLocalRepository = mavenLocalRepository.map(p -> p.toAbsolutePath().normalize());
    this.timeout = timeout;
  }

  /** These directories inside a Maven build whose local repository is {@code repository} ({@code preset=maven}). */
  PresetDirectories withMavenLocalRepository(Path repository) {
    return new PresetDirectories(env, home, accountHome, Optional.of(repository), timeout);
  }

  /**
   * The home a JVM program started by this user reads as {@code user.home} (the account's, from the
   * passwd entry), as this JVM reads it; {@code fallback} where it names none.
   */
  static Path javaUserHome(Path fallback) {
    String value = System.getProperty("user.home");
    return value != null && value.startsWith("/") ? Path.of(value) : fallback;
  }

  /**
   * The preset's directory, absolute; it need not exist yet.
   *
   * @throws CachemountException of kind USAGE that names the preset, the command it ran or the file
   *     it read, what went wrong and what to do
   */
  public Path directory(CachePreset preset) {
    return switch (preset) {
      case MAVEN -> mavenLocalRepository.orElseGet(() -> new MavenLocalRepository(env, accountHome).find());
      case GRADLE -> homeOf(preset, "GRADLE_USER_HOME", accountHome.resolve(".gradle")).resolve("caches");
      case CARGO -> homeOf(preset, "CARGO_HOME", home.resolve(".cargo")).resolve("registry");
      case GO_BUILD -> printed(preset, new ToolCommand("go", "env", "GOCACHE"));
      case GO_MOD -> printed(preset, new ToolCommand("go", "env", "GOMODCACHE"));
      // Not all of ~/.npm: npm logs every command into its _logs, and such a push would never be unchanged.
      case NPM -> printed(preset, new ToolCommand("npm", "config", "get", "cache")).resolve("_cacache");
      case PIP -> printed(preset, new ToolCommand("pip", "cache", "dir"), new ToolCommand("pip3", "cache", "dir"));
    };
  }

  /** A failure to find a preset's directory: what went wrong, what to do, and the way around it. */
  static CachemountException problem(CachePreset preset, String what, String todo) {
    return CachemountException.usage("preset " + preset.presetName() + ": " + what + "; " + todo + ", or give the directory with target=DIR");
  }

  /** A tool's own directory: its variable when set ({@code $GRADLE_USER_HOME}), else its default. */
  private Path homeOf(CachePreset preset, String variable, Path otherwise) {
    String value = env.get(variable);
    if (value == null || value.isEmpty()) {
      return otherwise;
    }
    try {
      return Path.of(value).toAbsolutePath().normalize();
    } catch (InvalidPathException e) {
      throw problem(preset, variable + "=" + value + " is not a valid path: " + e.getReason(), "fix it");
    }
  }

  /**
   * The directory the first of {@code commands} that answers prints: one line, an absolute path.
   * The next is tried when one does not answer so.
   */
  private Path printed(CachePreset preset, ToolCommand... commands) {
    List<String> failures = new ArrayList<>();
    boolean noneFound = true;
    for (ToolCommand command : commands) {
      try {
        String output = command.run(env, home, timeout).strip();
        Optional<Path> path = absolutePath(output);
        if (path.isPresent()) {
          return path.get();
        }
        failures.add(command.quoted() + (output.isEmpty() ? " printed nothing"
            : " printed " + quote(output) + ", which is not " + (output.contains("\n") ? "one line" : "an absolute path")));
        noneFound = false;
      } catch (ToolCommand.Failure e) {
        failures.add(e.getMessage());
        noneFound &= e.notFound();
      }
    }
    String tools = String.join(" or ", java.util.Arrays.stream(commands).map(ToolCommand::tool).toList());
    String what = noneFound && commands.length > 1
        ? "neither " + tools.replace(" or ", " nor ") + " is on PATH (" + ToolCommand.searched(env) + ")"
        : String.join(", and ", failures);
    throw problem(preset, what, noneFound ? "install " + tools + " (on PATH)"
        : "set " + tools + " up so that " + (commands.length > 1 ? "one of them" : "it") + " prints its cache directory");
  }

  private static Optional<Path> absolutePath(String output) {
    if (output.isEmpty() || output.contains("\n") || !output.startsWith("/")) {
      return Optional.empty();
    }
    try {
      return Optional.of(Path.of(output).normalize());
    } catch (InvalidPathException e) {
      return Optional.empty();
    }
  }

  private static String quote(String output) {
    String firstLines = output.lines().limit(3).reduce((a, b) -> a + "\\n" + b).orElse("");
    return "\"" + (firstLines.length() > 200 ? firstLines.substring(0, 200) + "…" : firstLines) + "\"";
  }
}
