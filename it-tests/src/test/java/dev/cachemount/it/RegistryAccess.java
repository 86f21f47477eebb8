package dev.cachemount.it;

import dev.cachemount.core.OperationListener;
import dev.cachemount.core.registry.RegistryCredential;
import dev.cachemount.core.registry.RegistryRef;
import dev.cachemount.core.registry.RegistrySettings;
import dev.cachemount.core.registry.RegistryStore;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a client reaches a test registry in its mode: the CLI's flags and environment (a private
 * {@code XDG_CACHE_HOME} and an empty {@code DOCKER_CONFIG}, so nothing of this machine's user leaks
 * in), or a {@link RegistryStore} built directly.
 */
record RegistryAccess(TestRegistry registry, Path home) {
  static RegistryAccess of(TestRegistry registry, Path home) throws IOException {
    Files.createDirectories(home.resolve("docker"));
    return new RegistryAccess(registry, home);
  }

  RegistryMode mode() {
    return registry.mode();
  }

  boolean needsCredentials() {
    return mode() == RegistryMode.BASIC || mode() == RegistryMode.TOKEN;
  }

  /** {@code HOST:PORT/REPOSITORY}. */
  String ref(String repository) {
    return registry.host() + "/" + repository;
  }

  /** The environment of a CLI run, with the test credentials where the mode needs them. */
  Map<String, String> env() {
    Map<String, String> env = new HashMap<>(Map.of(
        "XDG_CACHE_HOME", home.resolve("cache").toString(),
        "DOCKER_CONFIG", home.resolve("docker").toString()));
    if (needsCredentials()) {
      env.put("CACHEMOUNT_REGISTRY_USER", registry.username());
      env.put("CACHEMOUNT_REGISTRY_PASSWORD", registry.password());
    }
    return env;
  }

  /** The same with another password. */
  Map<String, String> envWithPassword(String password) {
    Map<String, String> env = env();
    env.put("CACHEMOUNT_REGISTRY_USER", registry.username());
    env.put("CACHEMOUNT_REGISTRY_PASSWORD", password);
    return env;
  }

  /** {@code OPERATION [--ca-file PEM] --json --cache-id SPEC}. */
  List<String> args(String operation, String spec) {
    List<String> args = new ArrayList<>(List.of(operation, "--json"));
    registry.caFile().ifPresent(ca -> args.addAll(List.of("--ca-file", ca.toString())));
    args.addAll(List.of("--cache-id", spec));
    return args;
  }

  Cli.Result cli(String operation, String spec) throws IOException, InterruptedException {
    return Cli.run(env(), new byte[0], args(operation, spec).toArray(String[]::new));
  }

  RegistrySettings settings() {
    RegistrySettings s = RegistrySettings.DEFAULT;
    return registry.caFile().map(s::withCaFile).orElse(s);
  }

  Optional<RegistryCredential> credential() {
    return needsCredentials() ? Optional.of(new RegistryCredential(registry.username(), registry.password(), "the test")) : Optional.empty();
  }

  /** A store on {@code repository}, remembering blob locations in {@code hints}. */
  RegistryStore store(String repository, Path hints) {
    return new RegistryStore(RegistryRef.parse(ref(repository)), settings(), false, credential(), Optional.of(hints),
        home.resolve("staging"), OperationListener.NONE);
  }
}
