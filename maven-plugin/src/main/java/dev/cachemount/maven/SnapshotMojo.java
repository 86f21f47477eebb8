package dev.cachemount.maven;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.OperationResult;
import dev.cachemount.core.ResultText;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The goals that move a snapshot between a cache's target and the store, {@code pull} and
 * {@code push}: one {@link OperationResult} per id, told as the CLI tells it.
 */
abstract class SnapshotMojo extends CacheMojo<OperationResult> {
  @Override
  String describe(OperationResult result, CacheSpec spec) {
    return ResultText.describe(result, spec);
  }

  /**
   * {@code result} ({@code restored}, {@code miss}, {@code pushed}, {@code unchanged} or
   * {@code failed}), {@code digest}, {@code fallback} (where the snapshot came from when a
   * {@code fallback=} was used) and {@code image} (the image view's digest, push with {@code image=}).
   */
  @Override
  Map<String, String> properties(OperationResult r) {
    Map<String, String> properties = new LinkedHashMap<>();
    properties.put("result", r == null ? "failed" : r.result().key());
    properties.put("digest", r == null ? null : r.digest());
    properties.put("fallback", r == null ? null : r.fallback());
    properties.put("image", r == null || r.image() == null ? null : r.image().digest());
    return properties;
  }

  @Override
  OperationResult storedBefore(dev.cachemount.core.CachemountException failure) {
    return failure instanceof dev.cachemount.core.SnapshotStoredException stored ? stored.stored() : null;
  }
}
