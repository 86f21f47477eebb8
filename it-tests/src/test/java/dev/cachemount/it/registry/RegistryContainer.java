package dev.cachemount.it.registry;

import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The registry image run by Testcontainers, for machines with a Docker engine but without the
 * {@code docker-registry} binary. NOT EXERCISED on this project's machines, which have the binary and
 * no Docker engine: kept small on purpose.
 *
 * <p>The work directory is bind-mounted at the same path, so the configuration, certificates,
 * htpasswd file and storage have the same paths inside as outside: {@link TestRegistry#storageRoot()}
 * and {@link TestRegistry#blobFile} stay true and storage survives {@link TestRegistry#restart()}.
 * That needs a Docker engine that shares this file system (a local one). The port is bound on the
 * host's loopback only, to the same host port at every start.
 */
final class RegistryContainer implements RegistryServer {
  /** The port the registry listens on inside the container; the configuration's {@code http.addr}. */
  static final int CONTAINER_PORT = 5000;
  /** The same distribution version as Debian's {@code docker-registry} package. */
  private static final DockerImageName IMAGE = DockerImageName.parse("registry:2.8.2");

  private final Path workDir;
  private final Path config;
  private final int hostPort;
  private final Consumer<String> log;
  private GenericContainer<?> container;

  RegistryContainer(Path workDir, Path config, int hostPort, Consumer<String> log) {
    this.workDir = workDir;
    this.config = config;
    this.hostPort = hostPort;
    this.log = log;
  }

  @Override
  public synchronized void start() {
    PortBinding loopbackOnly = new PortBinding(
        Ports.Binding.bindIpAndPort("127.0.0.1", hostPort), ExposedPort.tcp(CONTAINER_PORT));
    container = new GenericContainer<>(IMAGE)
        .withFileSystemBind(workDir.toString(), workDir.toString(), BindMode.READ_WRITE)
        // the image's entrypoint runs `registry serve` on an argument ending in .yml
        .withCommand(config.toString())
        .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig().withPortBindings(loopbackOnly))
        .withLogConsumer(frame -> {
          String line = frame.getUtf8String().stripTrailing();
          if (!line.isEmpty()) {
            log.accept(line);
          }
        });
    container.start();
  }

  @Override
  public synchronized boolean isRunning() {
    return container != null && container.isRunning();
  }

  @Override
  public synchronized void stop() {
    if (container != null) {
      container.stop();
      container = null;
    }
  }
}
