#!/usr/bin/env python3
"""Helpers of bench/registry-bench (Python 3, standard library only).

Subcommands (all deterministic for a given seed):
  maven-pom LIST OUT.xml PLUGIN_VERSION     a throwaway pom that depends on every artifact of LIST
  maven-failed LIST MAVEN_LOG               the lines of LIST that Maven's log says failed to resolve
  gen-go DIR SEED FILES BYTES               a tree shaped like Go's GOCACHE
  change DIR SEED STYLE LIST_OUT            modify 1% of the files, add 1% of the bytes as new files;
                                            the changed and added paths go to LIST_OUT
  evolve DIR SEED STYLE                     one incremental step: 1% modified, 0.5% added, 0.5% deleted
  delete DIR SEED PERCENT                   delete PERCENT% of the files
  project-b SRC DST SEED STYLE              80% of SRC's files (fresh mtimes) plus 20% new files
  branch DIR SEED STYLE LIST_OUT            another branch's cache: 0.5% of the bytes added as two new
                                            dependencies (maven: a jar and a pom in each of two new
                                            version directories) or as new files (go); paths to LIST_OUT
  tree-stats DIR                            "files directories bytes"
  get JSON_FILE DOTTED.PATH                 one field of a JSON object ("" when absent)
  stored INSPECT_JSON MANIFEST_JSON         bytes of a snapshot's blobs: config + index + packs
  report SAMPLES.tsv META.tsv               the Markdown tables
STYLE is "go" (new files are named <64 hex>-d in <2 hex>/) or "maven" (bench-added-<hex>.bin).
"""
import json
import math
import os
import random
import re
import shutil
import statistics
import sys
import time
import xml.sax.saxutils as sx

# ---------------------------------------------------------------------------------------------
# Maven corpus


def read_artifacts(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                parts = line.split(":")
                if len(parts) != 3:
                    sys.exit(f"registry-bench: {path}: '{line}' is not groupId:artifactId:version")
                out.append(tuple(parts))
    return out


def maven_pom(list_path, out_path, plugin_version):
    deps = "".join(
        f"    <dependency><groupId>{sx.escape(g)}</groupId><artifactId>{sx.escape(a)}</artifactId>"
        f"<version>{sx.escape(v)}</version></dependency>\n"
        for g, a, v in read_artifacts(list_path))
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>bench.registry</groupId>
  <artifactId>maven-corpus</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{deps}  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>{sx.escape(plugin_version)}</version>
      </plugin>
    </plugins>
  </build>
</project>
""")


def maven_failed(list_path, log_path):
    """Print the listed artifacts that the log names in a resolution failure (one per line)."""
    with open(log_path, encoding="utf-8", errors="replace") as f:
        log = f.read()
    bad_lines = [l for l in log.splitlines()
                 if re.search(r"could not|failure to|not found|cannot access|non-resolvable|unresolveable", l, re.I)]
    failed = []
    for g, a, v in read_artifacts(list_path):
        pat = re.compile(re.escape(f"{g}:{a}:") + r"(?:[\w.-]+:)*" + re.escape(v) + r"\b")
        if any(pat.search(l) for l in bad_lines):
            failed.append(f"{g}:{a}:{v}")
    print("\n".join(failed))


# ---------------------------------------------------------------------------------------------
# Go corpus

GO_README = (
    "This directory holds cached build artifacts from the Go build system.\n"
    "Run \"go clean -cache\" if the directory is getting too large.\n"
    "Run \"go clean -fuzzcache\" to delete the fuzz cache.\n"
    "See golang.org to learn more about Go.\n")

WORDS = ("runtime sync atomic net http io fmt os bufio bytes strings strconv sort errors context time "
         "json xml yaml proto grpc codec reflect unsafe math rand crypto sha256 tls x509 hash crc32 "
         "zlib gzip flate tar zip regexp syntax template parse scanner token ast types printer build "
         "heap list ring log slog metrics trace pprof debug elf dwarf plugin signal exec user path "
         "filepath fs embed testing quick iotest fstest driver sql cache store index chunk pack frame "
         "client server handler router middleware config option logger buffer pool queue worker task "
         "job batch stream reader writer encoder decoder marshal unmarshal validate schema model event "
         "Alloc Free Lock Unlock Read Write Close Open Flush Seek Stat Len Cap Get Set Put Delete Add "
         "Remove Update Start Stop Run Serve Handle Dial Listen Accept Send Recv Encode Decode Parse "
         "String Error Value Next Reset Init New Load Store Swap Compare Wait Done Signal Broadcast").split()
ORGS = ("golang.org/x", "github.com/google", "github.com/acme", "k8s.io", "google.golang.org",
        "github.com/prometheus", "go.uber.org", "github.com/spf13", "github.com/aws/aws-sdk-go-v2",
        "github.com/hashicorp", "go.opentelemetry.io/otel", "github.com/stretchr")


def symbol_pool(rng, size):
    """A few MiB of symbol-table-like text: package paths, type and method names, type bytes."""
    parts, n = [], 0
    while n < size:
        pkg = f"{rng.choice(ORGS)}/{rng.choice(WORDS)}/{rng.choice(WORDS)}"
        kind = rng.random()
        if kind < 0.4:
            name = f"{pkg}.(*{rng.choice(WORDS).capitalize()}{rng.choice(WORDS)}).{rng.choice(WORDS)}"
        elif kind < 0.7:
            name = f"{pkg}.{rng.choice(WORDS)}{rng.choice(WORDS).capitalize()}"
        elif kind < 0.85:
            name = f"type:.eq.{pkg}.{rng.choice(WORDS)}"
        else:
            name = f"go:itab.*{pkg}.{rng.choice(WORDS)},io.{rng.choice(WORDS).capitalize()}"
        b = name.encode() + b"\x00" + bytes((rng.choice(b"TtDdBbRr"), 0, 0, 0))
        parts.append(b)
        n += len(b)
    return b"".join(parts)


def object_bytes(rng, pool, size):
    """Bytes like a compiled Go package: code (random) blocks between symbol-table blocks."""
    header = b"!<arch>\n__.PKGDEF       0           0     0     644     " \
             b"\ngo object linux amd64 go1.22.5 X:regabiwrappers,regabiargs\n"
    parts, n = [header], len(header)
    while n < size:
        if rng.random() < 0.4:
            blk = rng.randbytes(rng.randint(256, 4096))
        else:
            length = rng.randint(512, 8192)
            off = rng.randrange(len(pool) - length)
            blk = bytearray(pool[off:off + length])
            phase = rng.randrange(32)
            blk[phase::32] = rng.randbytes(len(range(phase, length, 32)))  # addresses, relocations
        parts.append(blk)
        n += len(blk)
    return b"".join(parts)[:size]


def gen_go(out, seed, nfiles, target):
    rng = random.Random(seed)
    tmp = out
    os.makedirs(tmp)  # the caller renames the finished tree into place
    for i in range(256):
        os.mkdir(os.path.join(tmp, f"{i:02x}"))
    pairs = nfiles // 2
    zs = [rng.gauss(0.0, 1.0) for _ in range(pairs)]
    lo_b, hi_b, median = 200, 2 * 1024 * 1024, 8192
    want = max(target - 175 * pairs, pairs * lo_b)

    def sizes_for(sigma):
        return [int(min(hi_b, max(lo_b, median * math.exp(sigma * z)))) for z in zs]

    lo, hi = 0.01, 4.0  # find the spread that makes the outputs add up to the wanted bytes
    for _ in range(60):
        mid = (lo + hi) / 2
        if sum(sizes_for(mid)) < want:
            lo = mid
        else:
            hi = mid
    sizes = sizes_for((lo + hi) / 2)
    pool = symbol_pool(rng, 4 * 1024 * 1024)
    t0 = 1750000000  # fixed modification times: same seed, same tree
    for i, size in enumerate(sizes):
        action, output = rng.randbytes(32).hex(), rng.randbytes(32).hex()
        t = (t0 + 3 * i) * 1_000_000_000
        d = os.path.join(tmp, output[:2], output + "-d")
        with open(d, "wb") as f:
            f.write(object_bytes(rng, pool, size))
        a = os.path.join(tmp, action[:2], action + "-a")
        with open(a, "wb") as f:
            f.write(f"v1 {action} {output} {size:20d} {t:20d}\n".encode())
        os.utime(d, ns=(t, t))
        os.utime(a, ns=(t, t))
    with open(os.path.join(tmp, "README"), "w") as f:
        f.write(GO_README)
    with open(os.path.join(tmp, "trim.txt"), "w") as f:
        f.write(f"{t0}\n")
    for name in ("README", "trim.txt"):
        os.utime(os.path.join(tmp, name), ns=(t0 * 1_000_000_000,) * 2)
    for i in range(256):  # directories too: the same tar stream every time
        os.utime(os.path.join(tmp, f"{i:02x}"), ns=(t0 * 1_000_000_000,) * 2)
    os.utime(tmp, ns=(t0 * 1_000_000_000,) * 2)


# ---------------------------------------------------------------------------------------------
# Changes to a tree


def list_files(root):
    """Regular files under root, relative, sorted (a deterministic order)."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(d, name)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(os.path.relpath(p, root))
    out.sort()
    return out


def touch_now(path):
    now = time.time_ns()
    os.utime(path, ns=(now, now))


def modify_file(rng, path):
    """Rewrite the file with a few spans of bytes changed, and a new modification time."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if not data:
        data = bytearray(rng.randbytes(16))
    for _ in range(rng.randint(1, 3)):
        n = min(len(data), rng.randint(1, 64))
        off = rng.randrange(len(data) - n + 1)
        data[off:off + n] = rng.randbytes(n)
    with open(path, "wb") as f:
        f.write(data)
    touch_now(path)


def new_name(rng, style):
    if style == "go":
        h = rng.randbytes(32).hex()
        return os.path.join(h[:2], h + "-d")
    return None


def add_file(rng, root, style, dirs, size):
    name = new_name(rng, style)
    if name is None:
        name = os.path.join(rng.choice(dirs), f"bench-added-{rng.randbytes(8).hex()}.bin")
    path = os.path.join(root, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(rng.randbytes(size))  # incompressible
    return os.path.relpath(path, root)


def sizes_of(root, files):
    return [os.path.getsize(os.path.join(root, f)) for f in files]


def change(root, seed, style, list_out):
    rng = random.Random(seed)
    files = list_files(root)
    sizes = sizes_of(root, files)
    total = sum(sizes)
    changed = rng.sample(files, max(1, round(len(files) * 0.01)))
    for f in changed:
        modify_file(rng, os.path.join(root, f))
    dirs = sorted({os.path.dirname(f) for f in files})
    budget, added = max(1, total // 100), []
    while budget > 0:
        size = max(1, min(budget, rng.choice(sizes)))
        added.append(add_file(rng, root, style, dirs, size))
        budget -= size
    with open(list_out, "w") as f:
        for p in sorted(changed + added):
            f.write(p + "\n")
    print(f"{len(changed)} modified, {len(added)} added ({total // 100} bytes)")


def evolve(root, seed, style):
    rng = random.Random(seed)
    files = list_files(root)
    sizes = sizes_of(root, files)
    n = len(files)
    picked = rng.sample(files, max(1, round(n * 0.01)) + max(1, round(n * 0.005)))
    modified, deleted = picked[:max(1, round(n * 0.01))], picked[max(1, round(n * 0.01)):]
    for f in modified:
        modify_file(rng, os.path.join(root, f))
    for f in deleted:
        os.remove(os.path.join(root, f))
    dirs = sorted({os.path.dirname(f) for f in files})
    for _ in range(max(1, round(n * 0.005))):
        add_file(rng, root, style, dirs, max(1, rng.choice(sizes)))


def delete(root, seed, percent):
    rng = random.Random(seed)
    files = list_files(root)
    for f in sorted(rng.sample(files, max(1, round(len(files) * percent / 100)))):
        os.remove(os.path.join(root, f))
        print(f)


def project_b(src, dst, seed, style):
    rng = random.Random(seed)
    files = list_files(src)
    sizes = sizes_of(src, files)
    keep = rng.sample(files, round(len(files) * 0.8))
    os.makedirs(dst)
    for f in sorted(keep):
        os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))  # fresh modification times
    dirs = sorted({os.path.dirname(f) for f in keep})
    for _ in range(round(len(files) * 0.2)):
        add_file(rng, dst, style, dirs, max(1, rng.choice(sizes)))


def branch(root, seed, style, list_out):
    rng = random.Random(seed)
    files = list_files(root)
    sizes = sizes_of(root, files)
    budget = max(2, sum(sizes) // 200)
    added = []
    if style == "maven":
        dirs = sorted({os.path.dirname(os.path.dirname(f)) for f in files if f.endswith(".jar")})
        for i, artifact in enumerate(sorted(rng.sample(dirs, 2))):
            version = os.path.join(artifact, f"9.{i}.bench-branch")
            name = os.path.basename(artifact) + f"-9.{i}.bench-branch"
            for suffix, size in ((".jar", budget // 2), (".pom", 1000 + rng.randrange(3000))):
                path = os.path.join(root, version, name + suffix)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(rng.randbytes(size))
                added.append(os.path.relpath(path, root))
    else:
        dirs = sorted({os.path.dirname(f) for f in files})
        while budget > 0:
            size = max(1, min(budget, rng.choice(sizes)))
            added.append(add_file(rng, root, style, dirs, size))
            budget -= size
    with open(list_out, "w") as f:
        for p in sorted(added):
            f.write(p + "\n")
    print(f"{len(added)} files added ({sum(os.path.getsize(os.path.join(root, p)) for p in added)} bytes)")


def tree_stats(root):
    nfiles = ndirs = nbytes = 0
    for d, dirs, files in os.walk(root):
        ndirs += len(dirs)
        for name in files:
            p = os.path.join(d, name)
            if os.path.isfile(p) and not os.path.islink(p):
                nfiles += 1
                nbytes += os.path.getsize(p)
    print(nfiles, ndirs, nbytes)


# ---------------------------------------------------------------------------------------------
# JSON


def get(path, dotted):
    with open(path) as f:
        text = f.read().strip()
    obj = json.loads(text.splitlines()[-1]) if text else {}
    for key in dotted.split("."):
        if isinstance(obj, dict) and key in obj:
            obj = obj[key]
        else:
            print("")
            return
    print(json.dumps(obj) if isinstance(obj, (dict, list)) else obj)


def stored(inspect_path, manifest_path):
    with open(inspect_path) as f:
        snap = json.loads(f.read().strip().splitlines()[-1])["snapshot"]
    with open(manifest_path) as f:
        manifest = json.load(f)
    print(manifest["config"]["size"] + snap["indexBytes"] + sum(p["size"] for p in snap["packs"]))


# ---------------------------------------------------------------------------------------------
# Report

MiB = 1024 * 1024


def report(samples_path, meta_path):
    samples, meta = {}, {}
    with open(samples_path) as f:
        for line in f:
            corpus, key, value = line.rstrip("\n").split("\t")
            samples.setdefault(corpus, {}).setdefault(key, []).append(value)
    with open(meta_path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            meta[key] = value

    def fmt_bytes(n):
        return f"{int(n):,}"

    print(f"## cachemount vs archive baseline through a registry ({meta.get('date', '')})\n")
    print(f"- Machine: {meta.get('nproc')} cores, {meta.get('cpu')}; kernel {meta.get('kernel')}; "
          f"{meta.get('mem')} RAM")
    print(f"- Working directory {meta.get('workdir')}: {meta.get('disk')}")
    print(f"- Tools: {meta.get('java')}; {meta.get('zstd')}; {meta.get('tar')}; {meta.get('curl')}; "
          f"registry: {meta.get('registry')}")
    print(f"- cachemount: {meta.get('cm_version')}, run by the `./cachemount` launcher as users run it "
          f"(`CACHEMOUNT_JAR=` a copy of cli/target/cachemount.jar built {meta.get('jar_mtime')}); "
          f"{meta.get('cm_java')} with the launcher's default options, {meta.get('cm_aot')}; start-up "
          f"(`cachemount version`): {meta.get('jvm_ms')} ms")
    print(f"- Command: `{meta.get('command')}`; {meta.get('rounds')} round(s), median and (min–max) of "
          f"wall times; rounds alternate which side runs first. Page caches are not dropped (that needs "
          f"root): the page cache is warm for both sides equally.")
    print("- Archive baseline (what actions/cache does): push = `tar -C DIR -cf - . | zstd -3 -T0`, "
          "`sha256sum`, one monolithic blob upload (POST, then PUT with `curl -T`), a tiny config blob "
          "and an OCI manifest; pull = GET the manifest, then `curl` the blob `| zstd -d | tar -x` into "
          "an empty directory (for \"identical\": over the identical directory).")
    print("- Every cachemount run has a new, empty `XDG_CACHE_HOME` and `DOCKER_CONFIG` (fresh client "
          "state); every round starts a new registry with empty storage; every pull of both sides is "
          "checked with `diff -r` against its source tree; `sync` runs (untimed) before every timed run.")
    print("- Peak RSS: `/usr/bin/time -f %M`; for the baseline, of `bash -c` running its pipeline, which "
          "reports the largest single process of the pipeline, not their sum.\n")

    for corpus in samples:
        s = samples[corpus]

        def vals(key):
            return [float(v) for v in s.get(key, []) if v != ""]

        def med(key):
            v = vals(key)
            return statistics.median(v) if v else None

        def wall(key):
            v = vals(key)
            if not v:
                return "—"
            return f"{statistics.median(v):.0f} ({min(v):.0f}–{max(v):.0f})"

        def ratio(a, b, target=None):
            if a is None or not b:
                return "—"
            x = a / b
            if target is not None and round(x, 2) == target:  # show the digit that decides
                return f"{x:.3f}x"
            return f"{x:.2f}x"

        def rss(side_key):
            v = vals(side_key)
            return f"{max(v) / 1024:.0f}" if v else "—"

        def verdict(ok):
            return "PASS" if ok else "**MISS**"

        rows = []

        def time_row(label, key, target):
            b, c = med(f"{key}.base.ms"), med(f"{key}.cm.ms")
            res = ""
            if target is not None and b and c is not None:
                res = verdict(c / b <= target)
            rows.append((label, wall(f"{key}.base.ms"), wall(f"{key}.cm.ms"), ratio(c, b, target),
                         f"≤ {target}x" if target is not None else "(none)", res,
                         f"{rss(key + '.base.rss')} / {rss(key + '.cm.rss')}"))

        def bytes_row(label, base_v, cm_v, rat, target, res):
            rows.append((label, base_v, cm_v, rat, target, res, ""))

        cm_rss_max = max(vals("all.cm.rss") or [0]) / 1024
        base_rss_max = max(vals("all.base.rss") or [0]) / 1024

        time_row("cold push: wall ms", "push_cold", 1.0)
        b, c = med("push_cold.base.up"), med("push_cold.cm.up")
        bytes_row("cold push: bytes uploaded", fmt_bytes(b), fmt_bytes(c), ratio(c, b), "", "")
        b, c = med("stored.base"), med("stored.cm")
        bytes_row("stored bytes: tar.zst / all blobs of the snapshot", fmt_bytes(b), fmt_bytes(c), ratio(c, b, 1.05),
                  "≤ 1.05x", verdict(c / b <= 1.05))
        time_row("push, nothing changed: wall ms", "push_unchanged", 0.1)
        b, c = med("push_unchanged.base.up"), max(vals("push_unchanged.cm.up"))
        results = set(s.get("push_unchanged.cm.result", []))
        bytes_row(f"push, nothing changed: bytes uploaded (cachemount: {'/'.join(sorted(results))})",
                  fmt_bytes(b), fmt_bytes(c), "—", "0 bytes", verdict(c == 0))
        time_row("push, 1% changed: wall ms", "push_changed", 0.15)
        b, c = med("push_changed.base.up"), med("push_changed.cm.up")
        zc, idx = med("push_changed.zc"), med("push_changed.cm.index")
        limit = 1.2 * zc + idx
        bytes_row(f"push, 1% changed: bytes uploaded (changed+added files, tar\\|zstd -3: {fmt_bytes(zc)}; "
                  f"new index: {fmt_bytes(idx)})", fmt_bytes(b), fmt_bytes(c),
                  f"{c / zc:.2f}x of the compressed changes ({(c - idx) / zc:.2f}x without the index)", f"≤ 1.2 × {fmt_bytes(zc)} + {fmt_bytes(idx)} "
                  f"= {fmt_bytes(limit)}", verdict(c <= limit))
        time_row("second project (80% shared, `from=`): wall ms vs baseline of B", "project_b", None)
        b, c, cold = med("project_b.base.up"), med("project_b.cm.up"), med("project_b.cmcold.up")
        bytes_row(f"second project: bytes uploaded (cachemount's own cold push of B without `from=`: "
                  f"{fmt_bytes(cold)}, {wall('project_b.cmcold.ms')} ms)", fmt_bytes(b), fmt_bytes(c),
                  f"{ratio(c, cold, 0.3)} of B's cold push", "≤ 0.3x of its cold push", verdict(c / cold <= 0.3))
        if s.get("branch.cm.up"):
            c, cold, zc = med("branch.cm.up"), med("push_cold.cm.up"), med("branch.zc")
            bytes_row(f"a branch's cache (A plus {meta.get(corpus + '.branch', '0.5% of the bytes added')}; tar\\|zstd -3 of the added files: "
                      f"{fmt_bytes(zc)}) pushed to another tag of A's repository, no `from=`: bytes uploaded",
                      "—", fmt_bytes(c), f"{ratio(c, cold)} of A's cold push", "(none)", "")
        time_row("cold pull into an empty directory: wall ms", "pull_cold", 1.0)
        time_row("pull, 1% of the files missing: wall ms (baseline: into an empty directory)", "pull_warm", 0.2)
        time_row("pull into an identical directory: wall ms", "pull_ident", 0.1)
        if s.get("pull_warm.zc") and s.get("pull_warm.cm.index"):
            c, zc, idx = med("pull_warm.cm.down"), med("pull_warm.zc"), med("pull_warm.cm.index")
            limit = 1.5 * zc + idx
            bytes_row(f"pull, 1% missing: bytes downloaded (missing files, tar\\|zstd -3: {fmt_bytes(zc)}; index: {fmt_bytes(idx)})",
                      "—", fmt_bytes(c), f"{c / zc:.2f}x of the compressed missing files ({(c - idx) / zc:.2f}x without the index)",
                      f"≤ 1.5 × {fmt_bytes(zc)} + {fmt_bytes(idx)} = {fmt_bytes(limit)}", verdict(c <= limit))
        for key, label in (("pull_cold", "cold"), ("pull_warm", "1% missing"), ("pull_ident", "identical")):
            b, c = med(f"{key}.base.down"), med(f"{key}.cm.down")
            extra = ""
            if s.get(f"{key}.cm.unchanged"):
                extra = f"; cachemount's filesUnchanged: {fmt_bytes(med(key + '.cm.unchanged'))}"
            bytes_row(f"pull, {label}: bytes downloaded{extra}", fmt_bytes(b), fmt_bytes(c), ratio(c, b), "", "")
        pack, live = med("evo.packBytes"), med("evo.liveBytes")
        lineage = s.get("evo.lineage", ["missing"])[0]
        n_inc = meta.get("incremental", "20")
        evo_ms = vals("evo.cm.ms")
        evo_up = vals("evo.cm.up")
        evo_info = (f"pushes: median {statistics.median(evo_ms):.0f} ms, {fmt_bytes(statistics.median(evo_up))} "
                    f"bytes uploaded" if evo_ms else "")
        if lineage == "present" and live:
            bytes_row(f"after {n_inc} incremental pushes (each 1% modified, 0.5% added, 0.5% deleted; {evo_info}): "
                      f"referenced pack bytes / live bytes", "—", f"{fmt_bytes(pack)} / {fmt_bytes(live)}",
                      ratio(pack, live, 1.5), "≤ 1.5x", verdict(pack / live <= 1.5))
        else:
            bytes_row(f"after {n_inc} incremental pushes ({evo_info}): referenced pack bytes "
                      f"(lineage missing from the config: no liveBytes)", "—", fmt_bytes(pack or 0), "—",
                      "≤ 1.5x", "n/a")
        bytes_row("peak RSS over all runs, MiB", f"{base_rss_max:.0f}", f"{cm_rss_max:.0f}",
                  ratio(cm_rss_max, base_rss_max), "≤ 512 MiB", verdict(cm_rss_max <= 512))

        print(f"### Corpus `{corpus}`: {meta.get(corpus + '.desc', '')}\n")
        print(f"{meta.get(corpus + '.changes', '')}\n")
        print("| scenario | archive baseline | cachemount | cachemount / baseline | target | result | "
              "peak RSS MiB: baseline / cachemount |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        print()


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "maven-pom":
        maven_pom(*args)
    elif cmd == "maven-failed":
        maven_failed(*args)
    elif cmd == "gen-go":
        gen_go(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "change":
        change(args[0], int(args[1]), args[2], args[3])
    elif cmd == "evolve":
        evolve(args[0], int(args[1]), args[2])
    elif cmd == "delete":
        delete(args[0], int(args[1]), float(args[2]))
    elif cmd == "project-b":
        project_b(args[0], args[1], int(args[2]), args[3])
    elif cmd == "branch":
        branch(args[0], int(args[1]), args[2], args[3])
    elif cmd == "tree-stats":
        tree_stats(args[0])
    elif cmd == "get":
        get(args[0], args[1])
    elif cmd == "stored":
        stored(args[0], args[1])
    elif cmd == "report":
        report(args[0], args[1])
    else:
        sys.exit(f"registry_bench.py: unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
