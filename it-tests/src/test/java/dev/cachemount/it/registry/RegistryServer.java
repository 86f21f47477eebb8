package dev.cachemount.it.registry;

import java.io.IOException;

/**
 * One way of running the registry program for a {@link TestRegistry}: the binary on PATH, or a
 * container where only a Docker engine is at hand. The test registry owns the configuration, the
 * port and the readiness check; a server only starts and stops the program.
 */
interface RegistryServer {
  /** Starts the program on its configuration; returns without waiting for it to listen. */
  void start() throws IOException;

  /** Whether the program started by {@link #start} is still running. */
  boolean isRunning();

  /** Ends the program and waits until it has ended; nothing happens if it is not running. */
  void stop();
}
