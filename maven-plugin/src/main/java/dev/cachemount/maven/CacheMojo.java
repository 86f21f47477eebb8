package dev.cachemount.maven;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import java.util.ArrayList;
import java.util.List;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * What the goals share: the cache specs (the CLI's {@code --cache-id} syntax) and running one core
 * operation per spec. No logic of its own: specs go to the core, results to the build log.
 */
abstract class CacheMojo extends AbstractMojo {
  /**
   * Cache specs, as the CLI's {@code --cache-id}: {@code id=NAME[,type=local][,dir=STORE_DIR][,target=DIR][,compression-level=N]}.
   */
  @Parameter
  List<String> cacheIds = new ArrayList<>();

  /** One more spec, for the command line: {@code -Dcachemount.cacheId=id=m2,target=...}. */
  @Parameter(property = "cachemount.cacheId")
  String cacheId;

  /** Skip the goal. */
  @Parameter(property = "cachemount.skip", defaultValue = "false")
  boolean skip;

  /** Fail the build when the operation fails; when false, a failure is logged as a warning. */
  @Parameter(property = "cachemount.failOnError", defaultValue = "true")
  boolean failOnError;

  /** The client; tests replace it. */
  Cachemount client = Cachemount.create();

  abstract OperationResult run(Cachemount client, CacheSpec spec, OperationListener listener);

  @Override
  public void execute() throws MojoExecutionException, MojoFailureException {
    if (skip) {
      getLog().info("cachemount: skipped");
      return;
    }
    List<String> texts = new ArrayList<>(cacheIds);
    if (cacheId != null && !cacheId.isBlank()) {
      texts.add(cacheId);
    }
    if (texts.isEmpty()) {
      throw new MojoFailureException("cachemount: no cache given; configure <cacheIds><cacheId>id=NAME,target=DIR</cacheId></cacheIds> or pass -Dcachemount.cacheId=id=NAME,target=DIR");
    }
    List<CacheSpec> specs = new ArrayList<>();
    try {
      for (String text : texts) {
        specs.add(client.parseSpec(text));
      }
    } catch (CachemountException e) {
      throw new MojoFailureException("cachemount: " + e.getMessage(), e);
    }
    OperationListener listener = new OperationListener() {
      @Override
      public void warning(String message) {
        getLog().warn("cachemount: " + message);
      }

      @Override
      public void info(String message) {
        getLog().debug("cachemount: " + message);
      }
    };
    for (CacheSpec spec : specs) {
      try {
        OperationResult r = run(client, spec, listener);
        getLog().info("cachemount: " + r.id() + ": " + r.result().key() + (r.digest() != null ? " " + r.digest() : "") + " (" + r.ref()
            + ", " + r.files() + " files, " + r.bytes() + " bytes, " + r.bytesTransferred() + " bytes transferred, " + r.durationMs() + " ms)");
      } catch (CachemountException e) {
        String message = "cachemount: " + spec.id() + ": " + e.getMessage();
        if (!failOnError) {
          getLog().warn(message);
        } else if (e.kind() == FailureKind.USAGE) {
          throw new MojoFailureException(message, e);
        } else {
          throw new MojoExecutionException(message, e);
        }
      }
    }
  }
}
