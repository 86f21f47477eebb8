package dev.cachemount.cli;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.SnapshotSummary;
import dev.cachemount.core.oci.Json;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Model.CommandSpec;

final class InspectCommand extends CacheCommand {
  static CommandSpec model(Cachemount client) {
    return model(new InspectCommand(), client, "inspect", "Show what is stored for each cache id.");
  }

  @Override
  int run() {
    int exit = 0;
    List<CacheSpec> specs = specs();
    client = configuredClient();
    for (CacheSpec s : specs) {
      try {
        Optional<SnapshotSummary> summary = client.inspect(s, listener());
        if (json) {
          Map<String, Object> object = new LinkedHashMap<>();
          object.put("id", s.id());
          object.put("result", summary.isPresent() ? "found" : "miss");
          summary.ifPresent(v -> object.put("snapshot", v));
          out().println(new String(Json.write(object), StandardCharsets.UTF_8));
        } else {
          out().println(summary.map(v -> Text.describe(s.id(), v)).orElse(s.id() + ": miss, nothing stored for this id"));
        }
      } catch (CachemountException e) {
        failed(s, e);
        if (exit == 0) {
          exit = e.kind().exitCode();
        }
      } catch (RuntimeException e) {
        // A defect: reported with its trace on standard error, with or without --json, as push and pull do.
        CachemountException wrapped = unexpected(e);
        err().println("cachemount: " + wrapped.getMessage());
        e.printStackTrace(err());
        if (json) {
          failed(s, wrapped);
        }
        if (exit == 0) {
          exit = wrapped.kind().exitCode();
        }
      }
    }
    return exit;
  }

  /** As push and pull: the message on standard error, or with --json a {@code failed} object on standard output instead. */
  private void failed(CacheSpec s, CachemountException e) {
    if (!json) {
      err().println("cachemount: error: " + e.getMessage());
    } else {
      Map<String, Object> object = new LinkedHashMap<>();
      object.put("id", s.id());
      object.put("result", "failed");
      object.put("error", e.getMessage());
      object.put("exitCode", e.kind().exitCode());
      out().println(new String(Json.write(object), StandardCharsets.UTF_8));
    }
  }
}
