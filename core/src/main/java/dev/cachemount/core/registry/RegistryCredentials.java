package dev.cachemount.core.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.cloud.tools.jib.api.Credential;
import com.google.cloud.tools.jib.api.CredentialRetriever;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.frontend.CredentialRetrieverFactory;
import com.google.cloud.tools.jib.registry.credentials.CredentialRetrievalException;
import com.google.cloud.tools.jib.registry.credentials.DockerConfigCredentialRetriever;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.oci.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Finds the credentials for a registry, first match wins: those given explicitly (the CLI's
 * {@code --password-stdin}); {@code CACHEMOUNT_REGISTRY_USER} and {@code CACHEMOUNT_REGISTRY_PASSWORD};
 * Docker's {@code config.json} ({@code $DOCKER_CONFIG} or {@code ~/.docker}), including its
 * {@code credHelpers} and {@code credsStore} helpers, read by jib-core; then none (anonymous).
 */
public final class RegistryCredentials {
  public static final String USER_VARIABLE = "CACHEMOUNT_REGISTRY_USER";
  public static final String PASSWORD_VARIABLE = "CACHEMOUNT_REGISTRY_PASSWORD";
  /** How long a Docker credential helper may take to answer, in seconds: {@value #HELPER_TIMEOUT_SECONDS} unless this variable says otherwise. */
  public static final String HELPER_TIMEOUT_VARIABLE = "CACHEMOUNT_CREDENTIAL_HELPER_TIMEOUT";
  private static final int HELPER_TIMEOUT_SECONDS = 60;
  /** What docker-credential-helpers print for a registry they hold nothing for. */
  private static final String NOT_FOUND = "credentials not found";

  private RegistryCredentials() {}

  /**
   * @throws CachemountException of kind USAGE when only one of the two variables is set, and of kind
   *     AUTH when jib-core reports a credential helper's failure as an error rather than a warning
   */
  public static Optional<RegistryCredential> resolve(
      RegistryRef ref, RegistrySettings settings, Map<String, String> env, Path home, OperationListener listener) {
    return lookup(ref, settings, env, home, listener).credential();
  }

  /**
   * As {@link #resolve}, and when no credential is found because a configured Docker credential
   * helper failed (missing, or exited non-zero with something other than "credentials not found"),
   * says so: with a warning now, and in the lookup, for the message of a refusal.
   */
  public static CredentialLookup lookup(
      RegistryRef ref, RegistrySettings settings, Map<String, String> env, Path home, OperationListener listener) {
    if (settings.credential().isPresent()) {
      return CredentialLookup.of(settings.credential());
    }
    String user = env.get(USER_VARIABLE);
    String password = env.get(PASSWORD_VARIABLE);
    if (user != null && !user.isEmpty() && password != null) {
      return CredentialLookup.of(Optional.of(new RegistryCredential(user, password, USER_VARIABLE + "/" + PASSWORD_VARIABLE)));
    }
    if ((user != null && !user.isEmpty()) != (password != null)) {
      throw CachemountException.usage((password == null ? USER_VARIABLE + " is set but " + PASSWORD_VARIABLE + " is not"
          : PASSWORD_VARIABLE + " is set but " + USER_VARIABLE + " is not") + ": set both, or neither (the CLI also reads the password from --password-stdin, the Maven plugin from a settings.xml <server>)");
    }
    Path dockerConfig = dockerConfigDir(env, home).resolve("config.json");
    if (!Files.isRegularFile(dockerConfig)) {
      return CredentialLookup.NONE;
    }
    String source = dockerConfig.startsWith(home) ? "~/" + home.relativize(dockerConfig) : dockerConfig.toString();
    String unreadable;
    try {
      JsonNode config = Json.mapper().readTree(dockerConfig.toFile());
      unreadable = config != null && config.isObject() ? null : "it is not a JSON object";
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      // Not the parser's message: it quotes the text it stopped at, which may be a credential.
      unreadable = e.getLocation() == null ? "it is not valid JSON"
          : "it is not valid JSON at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
    } catch (IOException e) {
      unreadable = e.getClass().getSimpleName() + ": " + e.getMessage(); // a file system error: a path and a reason, no content
    }
    if (unreadable != null) {
      // jib-core would read no credentials from it, and say nothing (or fail on a JSON null).
      String failure = source + " cannot be read (" + unreadable + ")";
      listener.warning(failure + "; going on without credentials. Fix or remove it (docker login rewrites it)");
      return new CredentialLookup(Optional.empty(), Optional.of(failure));
    }
    // jib-core reports a failing helper as a log message and goes on without credentials: collect
    // what it says, to tell the user once, on one line.
    List<String> complaints = new java.util.ArrayList<>();
    Consumer<LogEvent> log = e -> {
      if (e.getLevel() == LogEvent.Level.WARN || e.getLevel() == LogEvent.Level.ERROR) {
        complaints.add(e.getMessage().trim().replaceAll("\\s+", " "));
      }
    };
    // jib-core's ImageReference refuses a bracketed IPv6 host ([::1]:5000), and its Docker config
    // reader matches keys with or without https:// but not http:// (which Docker strips as well);
    // that reader takes any key, and an unreadable config.json means no credentials, as with the factory.
    String key = ImageReference.isValidRegistry(ref.registry()) ? plainHttpConfigKey(ref, dockerConfig) : configKey(ref, dockerConfig);
    CredentialRetriever dockerConfigRetriever = key == null
        ? CredentialRetrieverFactory.forImage(ImageReference.of(ref.registry(), ref.repository(), null), log, env).dockerConfig(dockerConfig)
        : () -> {
          try {
            return DockerConfigCredentialRetriever.create(key, dockerConfig).retrieve(log);
          } catch (IOException e) {
            return Optional.empty();
          }
        };
    Optional<Credential> c;
    try {
      c = retrieveWithin(dockerConfigRetriever, helperTimeout(env), () -> "the Docker credential helper configured in " + source + " for "
          + ref.registry());
    } catch (CredentialRetrievalException e) {
      throw CachemountException.auth("the Docker credential helper configured in " + source + " for " + ref.registry()
          + " failed: " + e.getMessage() + "; check that the helper is installed and logged in (docker login " + ref.registry() + ")", e);
    } catch (CachemountException e) {
      throw e; // the helper did not answer in time
    } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
      // jib-core decodes an auths entry's "auth" without checking it: a value that is not base64
      // (IllegalArgumentException), or whose text has no ':' (an empty "auth", which Docker reads as
      // no credentials; StringIndexOutOfBoundsException). Neither message is shown: both describe the secret.
      String failure = "the auths entry for " + ref.registry() + " in " + source
          + " cannot be read (its \"auth\" is not the base64 of USER:PASSWORD)";
      listener.warning(failure + "; going on without credentials. Fix or remove it (docker login " + ref.registry() + " rewrites it)");
      return new CredentialLookup(Optional.empty(), Optional.of(failure));
    }
    if (c.isPresent()) {
      complaints.forEach(listener::warning);
      return CredentialLookup.of(Optional.of(new RegistryCredential(c.get().getUsername(), c.get().getPassword(), source)));
    }
    if (complaints.isEmpty()) {
      return CredentialLookup.NONE;
    }
    String said = String.join("; ", complaints);
    // jib asks the helper once per name of the registry: only when every answer is "not found" is
    // nothing stored; one real failure among them is reported.
    if (complaints.stream().allMatch(complaint -> complaint.contains(NOT_FOUND))) {
      // docker-credential-helpers' answer for a registry nobody logged in to: anonymous, as Docker does.
      listener.info("the Docker credential helper configured in " + source + " holds no credentials for " + ref.registry() + "; going on without");
      return CredentialLookup.NONE;
    }
    String failure = "the Docker credential helper configured in " + source + " for " + ref.registry() + " failed (" + said + ")";
    listener.warning(failure + "; going on without credentials. Check that the helper is installed and logged in (docker login "
        + ref.registry() + "), or remove its entry from " + source);
    return new CredentialLookup(Optional.empty(), Optional.of(failure));
  }

  /**
   * The {@code http://} key of {@code config.json} that names the registry, when that is the key
   * that names it; null otherwise (jib-core's own matching then applies).
   */
  private static String plainHttpConfigKey(RegistryRef ref, Path dockerConfig) {
    String key = configKey(ref, dockerConfig);
    return key.startsWith("http://") ? key : null;
  }

  /**
   * The key under which {@code config.json} holds a registry: Docker keeps the address as
   * {@code docker login} (or whoever wrote the file) was given it, with or without a scheme
   * ({@code http://host:5000}, {@code [0:0::1]:5000}), the ref holds it in its canonical text
   * ({@code [::1]:5000}), and jib-core compares text. A key of {@code auths} or {@code credHelpers}
   * that names the same host and port is used as it is written; else the canonical text.
   */
  static String configKey(RegistryRef ref, Path dockerConfig) {
    String plainHttp = null; // used only when no other key names the registry
    try {
      JsonNode config = Json.mapper().readTree(dockerConfig.toFile());
      for (String section : List.of("auths", "credHelpers")) {
        JsonNode entries = config == null ? null : config.get(section);
        if (entries == null || !entries.isObject()) {
          continue;
        }
        for (java.util.Iterator<String> keys = entries.fieldNames(); keys.hasNext(); ) {
          String key = keys.next();
          String host = key.replaceFirst("^https?://", "");
          int slash = host.indexOf('/');
          if (RegistryRef.canonicalHost(slash < 0 ? host : host.substring(0, slash)).equals(ref.registry())) {
            if (!key.startsWith("http://")) {
              return key;
            }
            plainHttp = plainHttp == null ? key : plainHttp;
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // unreadable: jib-core's reader says so, with the canonical text
    }
    return plainHttp != null ? plainHttp : ref.registry();
  }

  private static Path dockerConfigDir(Map<String, String> env, Path home) {
    String dir = env.get("DOCKER_CONFIG");
    return dir != null && !dir.isBlank() ? Path.of(dir) : home.resolve(".docker");
  }

  private static java.time.Duration helperTimeout(Map<String, String> env) {
    String text = env.get(HELPER_TIMEOUT_VARIABLE);
    if (text == null || text.isBlank()) {
      return java.time.Duration.ofSeconds(HELPER_TIMEOUT_SECONDS);
    }
    try {
      int seconds = Integer.parseInt(text.trim());
      if (seconds >= 1) {
        return java.time.Duration.ofSeconds(seconds);
      }
    } catch (NumberFormatException e) {
      // said below
    }
    throw CachemountException.usage(HELPER_TIMEOUT_VARIABLE + "='" + text + "' is not a number of seconds (1 or more)");
  }

  /**
   * What {@code retriever} finds, waiting at most {@code timeout}: jib-core waits for a credential
   * helper for ever, and a helper that waits for input (a login prompt, a locked keychain) would
   * hold a CI job until its own timeout. A helper still running then is stopped.
   */
  private static Optional<Credential> retrieveWithin(CredentialRetriever retriever, java.time.Duration timeout,
      java.util.function.Supplier<String> helper) throws CredentialRetrievalException {
    // In Maven's JVM other plugins (jib's, in another module of a -T build) may run helpers too: only
    // those started from here on are this lookup's.
    java.util.Set<Long> before = ProcessHandle.current().children().map(ProcessHandle::pid).collect(java.util.stream.Collectors.toSet());
    java.util.concurrent.FutureTask<Optional<Credential>> task = new java.util.concurrent.FutureTask<>(retriever::retrieve);
    Thread thread = new Thread(task, "cachemount-credential-helper");
    thread.setDaemon(true);
    thread.start();
    try {
      return task.get(timeout.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      List<String> stopped = stopHelpers(before);
      thread.interrupt();
      throw CachemountException.auth(helper.get() + (stopped.isEmpty() ? "" : " (" + String.join(", ", stopped) + ")") + " did not answer within " + timeout.toSeconds() + " s, and was stopped; check that it"
          + " does not wait for input (a login prompt, a locked keychain) by running it by hand, or give it longer with "
          + HELPER_TIMEOUT_VARIABLE + "=SECONDS", e);
    } catch (InterruptedException e) {
      stopHelpers(before);
      Thread.currentThread().interrupt();
      throw CachemountException.operational("interrupted while " + helper.get() + " was asked for credentials", e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof CredentialRetrievalException failed) {
        throw failed;
      }
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  /**
   * Stops the credential helpers ({@code docker-credential-*}) this process started since {@code
   * before} was taken, and what they started (SIGTERM, then SIGKILL after a second); their names.
   */
  private static List<String> stopHelpers(java.util.Set<Long> before) {
    List<String> names = new java.util.ArrayList<>();
    List<ProcessHandle> stopping = new java.util.ArrayList<>();
    ProcessHandle.current().children().filter(p -> !before.contains(p.pid())).forEach(p -> {
      String line = p.info().commandLine().or(() -> p.info().command()).orElse("");
      java.util.regex.Matcher name = java.util.regex.Pattern.compile("docker-credential-[^\\s/]*").matcher(line);
      if (name.find()) {
        names.add(name.group());
        p.descendants().forEach(stopping::add);
        stopping.add(p);
      }
    });
    stopping.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
    for (ProcessHandle p : stopping) {
      try {
        p.onExit().get(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
        p.destroyForcibly(); // it ignored SIGTERM
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
    return names;
  }
}
