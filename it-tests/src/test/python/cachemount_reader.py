#!/usr/bin/env python3
"""Clean-room reader of the cachemount snapshot format, version 1 (docs/format.md).

Written from docs/format.md alone, to check that the specification is complete and right: it
resolves a tag of an OCI image-layout directory, verifies every digest, size and count the format
lets a reader verify, and restores the snapshot into an empty directory.

    python3 cachemount_reader.py LAYOUT_DIR TAG (RESTORE_DIR | --no-restore)
                                 [--check-writer] [--check-chunker] [--check-image IMAGE_TAG]

LAYOUT_DIR: the OCI image-layout directory (a push's `dir=`); TAG: the cache id (the last
descriptor of index.json whose `org.opencontainers.image.ref.name` annotation names it) or a
manifest digest (`sha256:...`); RESTORE_DIR: an empty or missing directory. `--no-restore` only
verifies. `--check-writer` also checks what format.md says the writer does and readers need not
check: every pack's trailer, the content-defined frame and pack boundaries, the frame size bound
and the rule for referencing a pack again (reported as a note). `--check-chunker` re-cuts every
restored file with the spec's FastCDC and compares the cut points (slow: pure Python).
`--check-image IMAGE_TAG` checks the `image=` view under IMAGE_TAG against the snapshot: its
index, manifests and configs, the groups and their keys, and every tar entry.

Stdlib only (Python 3.9+); zstd is decoded by the `zstd` command-line tool. Exit 0 when the
snapshot verified and was restored, 4 on any integrity or format mismatch, 1 on a version this
reader does not know ("upgrade cachemount") or an I/O failure, 2 on usage errors.
"""

import hashlib
import json
import os
import re
import secrets
import stat
import struct
import subprocess
import sys

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT_TYPE = "application/vnd.cachemount.snapshot.v1"
CONFIG_TYPE = "application/vnd.cachemount.snapshot.config.v1+json"
INDEX_TYPE = "application/vnd.cachemount.index.v1+zstd"
PACK_TYPE = "application/vnd.cachemount.pack.v1"
REF_NAME = "org.opencontainers.image.ref.name"

MAX_MANIFEST = 4 * MIB
MAX_CONFIG = 1 * MIB
MAX_FRAME_RAW = 16 * MIB
MAX_CHUNK = 16 * MIB
MIN_SECONDS = -31557014167219200
MAX_SECONDS = 31556889864403199
MASK64 = (1 << 64) - 1


class Mismatch(Exception):
    """Integrity or format failure: exit 4."""
    code = 4


class Upgrade(Exception):
    """A newer format than this reader knows: exit 1."""
    code = 1


class Unsafe(Mismatch):
    """An unsafe path: exit 4, before anything is written."""


def hexdigest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


class Layout:
    def __init__(self, root):
        self.root = root

    def blob_path(self, digest):
        if not isinstance(digest, str) or not DIGEST_RE.match(digest):
            raise Mismatch("malformed digest %r (format.md: sha256:<64 lower-case hex>)" % (digest,))
        return os.path.join(self.root, "blobs", "sha256", digest[len("sha256:"):])

    def read_blob(self, what, digest, size=None, limit=None):
        """Reads a whole blob and checks its size and digest."""
        path = self.blob_path(digest)
        try:
            actual = os.path.getsize(path)
        except OSError:
            raise Mismatch("%s %s: blob missing (%s)" % (what, digest, path))
        if limit is not None and actual > limit:
            raise Mismatch("%s %s: %d bytes, more than the %d a reader accepts" % (what, digest, actual, limit))
        if size is not None and actual != size:
            raise Mismatch("%s %s: blob holds %d bytes, its descriptor says %d" % (what, digest, actual, size))
        with open(path, "rb") as f:
            data = f.read()
        if hexdigest(data) != digest:
            raise Mismatch("%s %s: digest mismatch (the blob's bytes hash to %s)" % (what, digest, hexdigest(data)))
        return data


# ---------------------------------------------------------------------------------------------
# zstd

def zstd_frame_header(data, what):
    """Parses a zstd frame header (RFC 8878 3.1.1): (content size or None, checksum flag, header length)."""
    if len(data) < 6 or data[:4] != b"\x28\xb5\x2f\xfd":
        raise Mismatch("%s: not a zstd frame (magic %s)" % (what, data[:4].hex()))
    fhd = data[4]
    fcs_flag = fhd >> 6
    single_segment = (fhd >> 5) & 1
    checksum = (fhd >> 2) & 1
    did_flag = fhd & 3
    if (fhd >> 3) & 1:
        raise Mismatch("%s: zstd frame header has the reserved bit set" % what)
    pos = 5
    if not single_segment:
        pos += 1  # window descriptor
    pos += (0, 1, 2, 4)[did_flag]
    fcs_len = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    if len(data) < pos + fcs_len:
        raise Mismatch("%s: zstd frame header cut short" % what)
    if fcs_len == 0:
        return None, checksum, pos
    fcs = int.from_bytes(data[pos:pos + fcs_len], "little")
    if fcs_len == 2:
        fcs += 256
    return fcs, checksum, pos + fcs_len


def zstd_decompress(data, what, window_limit=None):
    cmd = ["zstd", "-d", "-c", "-q"]
    if window_limit is not None:
        cmd.append("--memory=%d" % window_limit)
    try:
        proc = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise RuntimeError("the zstd command-line tool is not installed (it decodes the blobs)")
    if proc.returncode != 0:
        raise Mismatch("%s: does not decode as zstd (%s)" % (what, proc.stderr.decode("utf-8", "replace").strip()))
    return proc.stdout


def zstd_frame_length(data, what):
    """Walks the blocks of the zstd frame at data[0:] and returns the frame's length in bytes."""
    _, checksum, pos = zstd_frame_header(data, what)
    while True:
        if len(data) < pos + 3:
            raise Mismatch("%s: zstd frame cut short" % what)
        bh = int.from_bytes(data[pos:pos + 3], "little")
        pos += 3
        last, btype, bsize = bh & 1, (bh >> 1) & 3, bh >> 3
        if btype == 3:
            raise Mismatch("%s: zstd block of reserved type" % what)
        pos += 1 if btype == 1 else bsize
        if last:
            break
    return pos + (4 if checksum else 0)


# ---------------------------------------------------------------------------------------------
# payload decoding

class Reader:
    def __init__(self, data, what):
        self.data = data
        self.pos = 0
        self.what = what

    def remaining(self):
        return len(self.data) - self.pos

    def fail(self, msg):
        raise Mismatch("%s: %s (at byte %d)" % (self.what, msg, self.pos))

    def varint(self):
        value = 0
        for i in range(10):
            if self.pos >= len(self.data):
                self.fail("varint cut short")
            b = self.data[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if value > MASK64:
                    self.fail("varint larger than 64 bits")
                return value
        self.fail("varint longer than 10 bytes")

    def zigzag(self):
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def u8(self):
        if self.pos >= len(self.data):
            self.fail("byte cut short")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def raw(self, n):
        if n > self.remaining():
            self.fail("%d bytes asked, %d remain" % (n, self.remaining()))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def count(self, min_item_bytes, name):
        n = self.varint()
        if n * min_item_bytes > self.remaining():
            self.fail("%s count %d cannot fit in the %d bytes that remain" % (name, n, self.remaining()))
        return n


def strict_utf8(b, what):
    try:
        return b.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        raise Mismatch("%s: not strict UTF-8 (%s)" % (what, e))


def check_path(path_bytes):
    """format.md "Path rules"."""
    shown = path_bytes.decode("utf-8", "replace")
    if not path_bytes:
        raise Unsafe("unsafe path: empty (an entry for the root)")
    if len(path_bytes) > 4096:
        raise Unsafe("unsafe path %r: longer than 4096 bytes" % shown[:80])
    if path_bytes.startswith(b"/"):
        raise Unsafe("unsafe path %r: absolute" % shown)
    if b"\0" in path_bytes:
        raise Unsafe("unsafe path %r: holds NUL" % shown)
    if b"\\" in path_bytes:
        raise Unsafe("unsafe path %r: holds a backslash" % shown)
    for seg in path_bytes.split(b"/"):
        if seg in (b"", b".", b".."):
            raise Unsafe("unsafe path %r: empty, '.' or '..' segment" % shown)
        if len(seg) > 255:
            raise Unsafe("unsafe path %r: a segment longer than 255 bytes" % shown[:80])


class Entry:
    __slots__ = ("path", "type", "mode", "seconds", "nanos", "size", "chunks", "target")


def parse_index(payload, pack_count_expected):
    r = Reader(payload, "index")
    if r.raw(4) != b"CMIX":
        raise Mismatch("index: magic is not CMIX")
    version = r.varint()
    if version != 1:
        if version > 1:
            raise Upgrade("index payload version %d is newer than this reader's (1): upgrade cachemount" % version)
        raise Mismatch("index: payload version %d" % version)
    packs = []
    for _ in range(r.count(33, "pack")):
        digest = "sha256:" + r.raw(32).hex()
        size = r.varint()
        if size < 1:
            r.fail("pack %s has size 0" % digest)
        packs.append((digest, size))
    frames = []
    for i in range(r.count(5, "frame")):
        pack, offset, stored, rawlen, enc = r.varint(), r.varint(), r.varint(), r.varint(), r.u8()
        if pack >= len(packs):
            r.fail("frame %d names pack %d of %d" % (i, pack, len(packs)))
        if not 1 <= rawlen <= MAX_FRAME_RAW:
            r.fail("frame %d: raw %d outside 1 … 16 MiB" % (i, rawlen))
        if enc == 0:
            if stored != rawlen:
                r.fail("frame %d: encoding raw but stored %d != raw %d" % (i, stored, rawlen))
        elif enc == 1:
            if not 1 <= stored <= rawlen:
                r.fail("frame %d: zstd frame of %d stored bytes for %d raw bytes (stored ≤ raw)" % (i, stored, rawlen))
        else:
            r.fail("frame %d: unknown encoding %d" % (i, enc))
        if offset + stored > packs[pack][1]:
            r.fail("frame %d: bytes [%d, %d) beyond pack %d's %d bytes" % (i, offset, offset + stored, pack, packs[pack][1]))
        frames.append((pack, offset, stored, rawlen, enc))
    chunks = []
    previous = None
    for i in range(r.count(35, "chunk")):
        digest = r.raw(32)
        frame, offset, length = r.varint(), r.varint(), r.varint()
        if previous is not None and digest <= previous:
            r.fail("chunk %d: digests not strictly increasing" % i)
        previous = digest
        if frame >= len(frames):
            r.fail("chunk %d names frame %d of %d" % (i, frame, len(frames)))
        if not 1 <= length <= MAX_CHUNK:
            r.fail("chunk %d: length %d outside 1 … 16 MiB" % (i, length))
        if offset + length > frames[frame][3]:
            r.fail("chunk %d: [%d, %d) beyond frame %d's %d raw bytes" % (i, offset, offset + length, frame, frames[frame][3]))
        chunks.append((digest, frame, offset, length))
    entries = []
    path_budget = 64 * len(payload) + MIB
    path_total = 0
    prev = b""
    dirs = set()
    for i in range(r.count(7, "entry")):
        shared = r.varint()
        if shared > len(prev):
            r.fail("entry %d shares %d bytes of a %d-byte previous path" % (i, shared, len(prev)))
        suffix = r.raw(r.varint())
        path_b = prev[:shared] + suffix
        path_total += len(path_b)
        if path_total > path_budget:
            r.fail("decoded paths exceed 64 times the payload plus 1 MiB")
        if i > 0 and not path_b > prev:
            r.fail("entry %d (%r) does not sort after %r" % (i, path_b, prev))
        check_path(path_b)
        e = Entry()
        e.path = strict_utf8(path_b, "entry path")
        e.type = r.u8()
        e.mode = r.varint()
        if e.mode > 0o777:
            r.fail("entry %r: mode %o beyond 0777" % (e.path, e.mode))
        e.seconds = r.zigzag()
        e.nanos = r.varint()
        if not MIN_SECONDS <= e.seconds <= MAX_SECONDS:
            r.fail("entry %r: mtimeSeconds %d out of range" % (e.path, e.seconds))
        if e.nanos > 999999999:
            r.fail("entry %r: mtimeNanos %d out of range" % (e.path, e.nanos))
        e.size, e.chunks, e.target = None, (), None
        if e.type == 1:
            dirs.add(path_b)
        elif e.type == 2:
            e.size = r.varint()
            refs = []
            total = 0
            for _ in range(r.count(1, "chunk ref")):
                c = r.varint()
                if c >= len(chunks):
                    r.fail("entry %r names chunk %d of %d" % (e.path, c, len(chunks)))
                refs.append(c)
                total += chunks[c][3]
            if total != e.size:
                r.fail("entry %r: size %d but its chunks hold %d bytes" % (e.path, e.size, total))
            e.chunks = refs
        elif e.type == 3:
            target = r.raw(r.varint())
            if not 1 <= len(target) <= 4096 or b"\0" in target:
                r.fail("entry %r: link target of %d bytes or with NUL" % (e.path, len(target)))
            e.target = strict_utf8(target, "link target of " + e.path)
        else:
            r.fail("entry %r: unknown type %d" % (e.path, e.type))
        slash = path_b.rfind(b"/")
        if slash >= 0 and path_b[:slash] not in dirs:
            raise Unsafe("entry %r: its parent is not a directory entry of the index" % e.path)
        entries.append(e)
        prev = path_b
    if r.remaining():
        r.fail("%d trailing bytes after the entries" % r.remaining())
    if len(packs) != pack_count_expected:
        raise Mismatch("index lists %d packs, the manifest %d" % (len(packs), pack_count_expected))
    return packs, frames, chunks, entries


# ---------------------------------------------------------------------------------------------
# treeDigest

def tree_digest(entries):
    h = hashlib.sha256()
    for e in entries:
        t = {1: "d", 2: "f", 3: "l"}[e.type]
        x = "x" if e.mode & 0o100 else "-"
        time = e.nanos // 1000 if e.type == 3 else e.nanos
        s = "%s\0%s\0%s %d %d" % (t, e.path, x, e.seconds, time)
        if e.type == 2:
            s += " %d" % e.size
        elif e.type == 3:
            s += "\0" + e.target
        s += "\0"
        h.update(s.encode("utf-8"))
    return "sha256:" + h.hexdigest()


# ---------------------------------------------------------------------------------------------
# chunker (optional check)

def gear_table(seed):
    state = seed
    table = []
    for _ in range(256):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        table.append(z ^ (z >> 31))
    return table


def mask(bits):
    m = 0
    for j in range(bits):
        m |= 1 << (63 - (j * 48) // bits)
    return m


def fastcdc_cuts(data, chunker):
    mn, avg, mx, norm = chunker["minSize"], chunker["avgSize"], chunker["maxSize"], chunker["normalization"]
    gear = gear_table(int(chunker["gearSeed"], 16))
    b = avg.bit_length() - 1
    mask_s, mask_l = mask(b + norm), mask(b - norm)
    lengths = []
    start = 0
    total = len(data)
    while start < total:
        n = min(total - start, mx)
        if n <= mn:
            cut = n
        else:
            fp = 0
            cut = None
            i = mn
            end = min(n, avg)
            while i < end:
                fp = ((fp << 1) + gear[data[start + i]]) & MASK64
                if not fp & mask_s:
                    cut = i + 1
                    break
                i += 1
            if cut is None:
                end = min(n, mx)
                while i < end:
                    fp = ((fp << 1) + gear[data[start + i]]) & MASK64
                    if not fp & mask_l:
                        cut = i + 1
                        break
                    i += 1
            if cut is None:
                cut = n
        lengths.append(cut)
        start += cut
    return lengths


# ---------------------------------------------------------------------------------------------

def fraction(digest, lo):
    """The high 53 bits of digest[lo:lo+8], big-endian, divided by 2^53."""
    return (int.from_bytes(digest[lo:lo + 8], "big") >> 11) / float(1 << 53)


def parse_trailer(pack_bytes, what):
    if len(pack_bytes) < 8 or pack_bytes[-4:] != b"CMPK":
        raise Mismatch("%s: no CMPK trailer at its end" % what)
    plen = struct.unpack(">I", pack_bytes[-8:-4])[0]
    if plen + 8 > len(pack_bytes):
        raise Mismatch("%s: trailer length %d beyond the pack" % (what, plen))
    start = len(pack_bytes) - 8 - plen
    r = Reader(pack_bytes[start:len(pack_bytes) - 8], what + " trailer")
    if r.raw(4) != b"CMPK":
        raise Mismatch("%s: trailer payload does not start with CMPK" % what)
    version = r.varint()
    if version != 1:
        raise Mismatch("%s: trailer version %d" % (what, version))
    frames = []
    offset = 0
    for _ in range(r.count(4, "trailer frame")):
        stored, rawlen, enc = r.varint(), r.varint(), r.u8()
        lengths = [r.varint() for _ in range(r.count(1, "trailer chunk"))]
        if sum(lengths) != rawlen:
            r.fail("frame at %d: chunk lengths sum to %d, raw is %d" % (offset, sum(lengths), rawlen))
        frames.append((offset, stored, rawlen, enc, lengths))
        offset += stored
    if r.remaining():
        r.fail("trailing bytes in the trailer")
    if offset != start:
        raise Mismatch("%s: trailer frames cover %d bytes, the frames end at %d" % (what, offset, start))
    return frames


def is_compact_json(raw):
    """True when no whitespace stands outside the strings of a JSON text."""
    in_string = escaped = False
    for ch in raw.decode("utf-8"):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in " \t\r\n":
            return False
    return True


def run(args):
    layout_dir, tag, out = args.layout, args.tag, args.restore
    notes = []
    lay = Layout(layout_dir)

    # --- OCI layout and tag ------------------------------------------------------------------
    try:
        with open(os.path.join(layout_dir, "oci-layout"), "rb") as f:
            oci_layout = json.loads(f.read())
        with open(os.path.join(layout_dir, "index.json"), "rb") as f:
            top = json.loads(f.read())
    except (OSError, ValueError) as e:
        raise Mismatch("%s is not a readable OCI image layout: %s" % (layout_dir, e))
    if oci_layout.get("imageLayoutVersion") != "1.0.0":
        raise Mismatch("oci-layout: imageLayoutVersion %r" % oci_layout.get("imageLayoutVersion"))
    if DIGEST_RE.match(tag):
        # A manifest named by its digest: its size is the blob's.
        desc = {"mediaType": MANIFEST_TYPE, "digest": tag}
    else:
        named = [d for d in top.get("manifests", []) if (d.get("annotations") or {}).get(REF_NAME) == tag]
        if not named:
            raise Mismatch("no descriptor in index.json names the tag %r" % tag)
        if len(named) > 1:
            notes.append("%d descriptors in index.json name the tag %r: the last one counts" % (len(named), tag))
        desc = named[-1]
    if desc.get("mediaType") != MANIFEST_TYPE:
        raise Mismatch("tag %r: descriptor media type %r is not an image manifest" % (tag, desc.get("mediaType")))

    # --- manifest ------------------------------------------------------------------------------
    manifest_digest = desc.get("digest")
    raw_manifest = lay.read_blob("manifest", manifest_digest, desc.get("size"), MAX_MANIFEST)
    manifest = json.loads(raw_manifest.decode("utf-8"))
    if manifest.get("artifactType") != ARTIFACT_TYPE and (manifest.get("config") or {}).get("mediaType") != CONFIG_TYPE:
        raise Upgrade("tag %r: not a cachemount snapshot" % tag)
    by_digest = DIGEST_RE.match(tag) is not None
    if not by_digest and desc.get("artifactType") != manifest.get("artifactType"):
        notes.append("index.json descriptor artifactType %r, the manifest's %r" % (desc.get("artifactType"), manifest.get("artifactType")))
    if manifest.get("schemaVersion") != 2 or manifest.get("mediaType") != MANIFEST_TYPE:
        raise Mismatch("manifest: schemaVersion/mediaType %r/%r" % (manifest.get("schemaVersion"), manifest.get("mediaType")))
    order = ["schemaVersion", "mediaType", "artifactType", "config", "layers", "annotations"]
    keys = list(manifest.keys())
    if [k for k in order if k in keys] != [k for k in keys if k in order]:
        raise Mismatch("manifest fields are not in the order format.md shows: %s" % keys)
    compact = json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if compact != raw_manifest:
        raise Mismatch("manifest is not compact JSON")
    cfg_desc = manifest["config"]
    if cfg_desc.get("mediaType") != CONFIG_TYPE:
        if isinstance(cfg_desc.get("mediaType"), str) and cfg_desc["mediaType"].startswith("application/vnd.cachemount.snapshot.config."):
            raise Upgrade("config media type %s: upgrade cachemount" % cfg_desc["mediaType"])
        raise Mismatch("config media type %r" % cfg_desc.get("mediaType"))
    layers = manifest.get("layers") or []
    if not layers:
        raise Mismatch("manifest has no layers (layers[0] must be the index)")
    for i, layer in enumerate(layers):
        want = INDEX_TYPE if i == 0 else PACK_TYPE
        mt = layer.get("mediaType")
        if mt != want:
            family = want.rsplit(".v1", 1)[0] + "."
            if isinstance(mt, str) and mt.startswith(family):
                raise Upgrade("layer %d media type %s is newer than this reader's: upgrade cachemount" % (i, mt))
            raise Mismatch("layer %d media type %r, expected %s" % (i, mt, want))
        if not isinstance(layer.get("size"), int):
            raise Mismatch("layer %d has no size" % i)

    # --- config --------------------------------------------------------------------------------
    raw_config = lay.read_blob("config", cfg_desc.get("digest"), cfg_desc.get("size"), MAX_CONFIG)
    config = json.loads(raw_config.decode("utf-8"))
    if not is_compact_json(raw_config):
        raise Mismatch("config is not compact JSON")
    for field in ("created", "tool", "chunker", "packing", "counts"):
        if not isinstance(config.get(field), (str, dict)):
            raise Mismatch("config lacks its %r field" % field)
    fv = config.get("formatVersion")
    if fv != 1:
        if isinstance(fv, int) and fv > 1:
            raise Upgrade("formatVersion %d is newer than this reader's: upgrade cachemount" % fv)
        raise Mismatch("config formatVersion %r" % fv)
    chunker = config.get("chunker") or {}
    if chunker.get("algorithm") != "fastcdc-2020":
        raise Upgrade("chunker algorithm %r unknown to this reader: upgrade cachemount" % chunker.get("algorithm"))
    if not re.match(r"^[0-9a-f]{16}$", str(chunker.get("gearSeed", ""))):
        raise Mismatch("chunker gearSeed %r is not 16 hex digits" % chunker.get("gearSeed"))
    if not by_digest and config.get("id") != tag:
        notes.append("config id %r differs from the tag %r" % (config.get("id"), tag))
    created = (manifest.get("annotations") or {}).get("org.opencontainers.image.created")
    if created != config.get("created"):
        notes.append("manifest created %r, config created %r" % (created, config.get("created")))

    # --- index ---------------------------------------------------------------------------------
    idx_desc = layers[0]
    raw_index = lay.read_blob("index", idx_desc.get("digest"), idx_desc.get("size"))
    declared, _, _ = zstd_frame_header(raw_index, "index")
    if declared is None:
        raise Mismatch("index: its zstd frame declares no content size")
    bound = min(2 * GIB - 65, 64 * len(raw_index) + MIB)
    if declared > bound:
        raise Mismatch("index: declares %d bytes, more than %d" % (declared, bound))
    if zstd_frame_length(raw_index, "index") != len(raw_index):
        raise Mismatch("index: bytes follow its one zstd frame")
    payload = zstd_decompress(raw_index, "index")
    if len(payload) != declared:
        raise Mismatch("index: decodes to %d bytes, declares %d" % (len(payload), declared))
    packs, frames, chunks, entries = parse_index(payload, len(layers) - 1)
    for i, (digest, size) in enumerate(packs):
        layer = layers[i + 1]
        if layer.get("digest") != digest or layer.get("size") != size:
            raise Mismatch("index pack %d is %s (%d bytes), manifest layer %d is %s (%s bytes)"
                           % (i, digest, size, i + 1, layer.get("digest"), layer.get("size")))

    # --- counts, lineage, treeDigest -----------------------------------------------------------
    files = [e for e in entries if e.type == 2]
    expected = {
        "entries": len(entries), "files": len(files),
        "directories": sum(1 for e in entries if e.type == 1),
        "symlinks": sum(1 for e in entries if e.type == 3),
        "bytes": sum(e.size for e in files),
        "chunks": len(chunks), "chunkBytes": sum(c[3] for c in chunks),
        "frames": len(frames), "packs": len(packs), "packBytes": sum(p[1] for p in packs),
    }
    counts = config.get("counts") or {}
    for key, value in expected.items():
        if counts.get(key) != value:
            raise Mismatch("config counts.%s is %r, the index gives %d" % (key, counts.get(key), value))
    lineage = config.get("lineage")
    if lineage is not None:
        live = sum(f[2] for f in frames)
        if "liveBytes" in lineage and lineage["liveBytes"] != live:
            raise Mismatch("config lineage.liveBytes %r, the index's frames store %d" % (lineage["liveBytes"], live))
        pack_bytes = expected["packBytes"]
        if "garbageRatio" in lineage and pack_bytes:
            ratio = 1 - live / pack_bytes
            if abs(lineage["garbageRatio"] - ratio) > 0.00005 + 1e-12:
                raise Mismatch("config lineage.garbageRatio %r, computed %r" % (lineage["garbageRatio"], ratio))
        reused = lineage.get("reusedPacks")
        if isinstance(reused, list):
            for d in reused:
                if d not in [p[0] for p in packs]:
                    raise Mismatch("lineage.reusedPacks names %s, not a pack of the snapshot" % d)
        elif isinstance(reused, int):
            if reused > len(packs):
                raise Mismatch("lineage.reusedPacks %d > %d packs" % (reused, len(packs)))
        elif reused is not None:
            raise Mismatch("lineage.reusedPacks %r" % (reused,))
        parent = lineage.get("parent")
        if parent is not None and not DIGEST_RE.match(str(parent)):
            raise Mismatch("lineage.parent %r is not a digest" % parent)
    td = config.get("treeDigest")
    computed_td = tree_digest(entries)
    if td is not None and td != computed_td:
        raise Mismatch("config treeDigest %s, the index's entries give %s" % (td, computed_td))

    used_chunks = set(c for e in files for c in e.chunks)
    if len(used_chunks) != len(chunks):
        notes.append("%d chunks of the chunk table are used by no file" % (len(chunks) - len(used_chunks)))
    used_packs = set(f[0] for f in frames)
    if len(used_packs) != len(packs):
        notes.append("%d packs hold no listed frame" % (len(packs) - len(used_packs)))
    used_frames = set(c[1] for c in chunks)
    if len(used_frames) != len(frames):
        notes.append("%d frames hold no listed chunk" % (len(frames) - len(used_frames)))

    # --- packs: blob digests, frames, chunks ---------------------------------------------------
    decoded = {}  # frame index -> bytes
    frames_by_pack = {}
    for fi, f in enumerate(frames):
        frames_by_pack.setdefault(f[0], []).append(fi)
    for pi, (digest, size) in enumerate(packs):
        what = "pack %s" % digest
        data = lay.read_blob("pack", digest, size)
        if args.check_writer:
            check_trailer(data, what, pi, frames, frames_by_pack.get(pi, []), config)
        zstd_frames = []
        for fi in frames_by_pack.get(pi, []):
            _, offset, stored, rawlen, enc = frames[fi]
            body = data[offset:offset + stored]
            if enc == 0:
                decoded[fi] = body
            else:
                fcs, checksum, _ = zstd_frame_header(body, "%s frame at %d" % (what, offset))
                if fcs != rawlen:
                    raise Mismatch("%s: frame at %d declares %r bytes, the index says %d" % (what, offset, fcs, rawlen))
                if zstd_frame_length(body, "%s frame at %d" % (what, offset)) != stored:
                    raise Mismatch("%s: frame at %d is not one zstd frame of %d bytes" % (what, offset, stored))
                if checksum:
                    notes.append("%s: frame at %d carries a checksum" % (what, offset))
                zstd_frames.append(fi)
        if zstd_frames:
            blob = b"".join(data[frames[fi][1]:frames[fi][1] + frames[fi][2]] for fi in zstd_frames)
            out_bytes = zstd_decompress(blob, what, window_limit=1 << 24)
            if len(out_bytes) != sum(frames[fi][3] for fi in zstd_frames):
                raise Mismatch("%s: frames decode to %d bytes in all" % (what, len(out_bytes)))
            pos = 0
            for fi in zstd_frames:
                decoded[fi] = out_bytes[pos:pos + frames[fi][3]]
                pos += frames[fi][3]
    for digest, fi, offset, length in chunks:
        piece = decoded[fi][offset:offset + length]
        if hashlib.sha256(piece).digest() != digest:
            pack = packs[frames[fi][0]][0]
            raise Mismatch("chunk sha256:%s in pack %s (frame at %d) does not match its digest"
                           % (digest.hex(), pack, frames[fi][1]))
    if args.check_writer:
        check_frame_boundaries(frames, chunks, config)
        for pi, (digest, size) in enumerate(packs):
            live = sum(frames[fi][2] for fi in frames_by_pack.get(pi, []))
            if 2 * live < size and size >= 64 * KIB:
                notes.append("pack %s: %d of its %d bytes in listed frames (less than half, 64 KiB or more)" % (digest, live, size))

    if args.check_image:
        n = check_image(lay, args.check_image, manifest_digest, config, entries, chunks)
        notes.append("image view %s: %d layers checked" % (args.check_image, n))
    if args.restore is None:
        return notes, entries
    # --- restore ------------------------------------------------------------------------------
    if os.path.lexists(out) and (not os.path.isdir(out) or os.path.islink(out) or os.listdir(out)):
        raise RuntimeError("%s: not an empty directory" % out)
    os.makedirs(out, exist_ok=True)
    for e in entries:
        path = os.path.join(out, e.path)
        if e.type == 1:
            os.mkdir(path, 0o777)
        elif e.type == 2:
            tmp = os.path.join(os.path.dirname(path), ".cachemount-tmp-" + secrets.token_hex(8))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o777 if e.mode & 0o100 else 0o666)
            try:
                with os.fdopen(fd, "wb") as f:
                    for c in e.chunks:
                        _, fi, offset, length = chunks[c]
                        f.write(decoded[fi][offset:offset + length])
                os.utime(tmp, ns=(e.seconds * 10**9 + e.nanos,) * 2)
                os.rename(tmp, path)
            except BaseException:
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                raise
    for e in entries:
        if e.type == 3:
            path = os.path.join(out, e.path)
            os.symlink(e.target, path)
            os.utime(path, ns=(e.seconds * 10**9 + e.nanos,) * 2, follow_symlinks=False)
    for e in reversed(entries):
        if e.type == 1:
            os.utime(os.path.join(out, e.path), ns=(e.seconds * 10**9 + e.nanos,) * 2)
    if args.check_chunker:
        checked = set()
        for e in files:
            key = tuple(e.chunks)
            if key in checked:
                continue  # the same content, cut already
            checked.add(key)
            with open(os.path.join(out, e.path), "rb") as f:
                data = f.read()
            cuts = fastcdc_cuts(data, chunker)
            stored_cuts = [chunks[c][3] for c in e.chunks]
            if cuts != stored_cuts:
                raise Mismatch("file %r: fastcdc-2020 cuts %s…, the index %s…" % (e.path, cuts[:8], stored_cuts[:8]))
    return notes, entries


def check_trailer(data, what, pi, frames, frame_ids, config):
    tframes = parse_trailer(data, what)
    by_offset = {t[0]: t for t in tframes}
    for fi in frame_ids:
        _, offset, stored, rawlen, enc = frames[fi]
        t = by_offset.get(offset)
        if t is None or t[1:4] != (stored, rawlen, enc):
            raise Mismatch("%s: index frame at %d (%d/%d/%d) is not a trailer frame (%r)" % (what, offset, stored, rawlen, enc, t and t[1:4]))
    packing = config.get("packing") or {}
    chunker = config.get("chunker") or {}
    ft, pt, mx = packing.get("frameTarget"), packing.get("packTarget"), chunker.get("maxSize")
    for t in tframes:
        if ft and mx and t[2] > 2 * ft - 1 + mx:
            raise Mismatch("%s: frame at %d holds %d bytes, more than 2 × frameTarget - 1 + maxSize" % (what, t[0], t[2]))
    if pt:
        total = 0
        for t in tframes[:-1]:
            total += t[1]
            if total >= 2 * pt:
                raise Mismatch("%s: the pack runs on past 2 × packTarget after the frame at %d" % (what, t[0]))
    if pt and data and len(tframes) > 1:
        # f3 needs the digest of each frame's first chunk: hash it from the decoded frame.
        total = 0
        for t in tframes[:-1]:
            total += t[1]
            if total < pt // 2:
                continue
            body = data[t[0]:t[0] + t[1]]
            raw = body if t[3] == 0 else zstd_decompress(body, what, 1 << 24)
            first = hashlib.sha256(raw[:t[4][0]]).digest()
            if fraction(first, 24) * (pt / 2) < t[1]:
                raise Mismatch("%s: the frame at %d meets the pack-end rule but the pack runs on" % (what, t[0]))


def check_frame_boundaries(frames, chunks, config):
    """A frame ends after a chunk when ...: no listed chunk that is not a frame's last may meet the rule."""
    ft = (config.get("packing") or {}).get("frameTarget")
    if not ft:
        return
    by_frame = {}
    for digest, fi, offset, length in chunks:
        by_frame.setdefault(fi, []).append((offset, length, digest))
    for fi, cs in by_frame.items():
        cs.sort()
        rawlen = frames[fi][3]
        for offset, length, digest in cs:
            end = offset + length
            if end == rawlen:
                continue
            if end >= 2 * ft or (end >= (3 * ft) // 4 and fraction(digest, 16) * (3 / 8 * ft) < length):
                raise Mismatch("frame %d runs on after chunk sha256:%s (ends at %d), which meets the frame-end rule"
                               % (fi, digest.hex(), end))


# ---------------------------------------------------------------------------------------------
# image view (format.md "Image view (`image=`)"): optional check

PLATFORMS = [("amd64", None), ("arm64", None), ("arm", "v7"), ("arm", "v6"), ("386", None),
             ("ppc64le", None), ("s390x", None), ("riscv64", None)]
TYPE_NAMES = {1: "DIRECTORY", 2: "FILE", 3: "SYMLINK"}


def image_groups(entries):
    """Cuts the index's entries into groups (format.md "Groups")."""
    def hidden(e):
        return any(seg.startswith(".wh.") for seg in e.path.split("/"))
    kept = [e for e in entries if not hidden(e)]
    total = sum(e.size for e in kept if e.type == 2)
    t = 1
    while t < max(8 * MIB, -(-total // 16)):
        t <<= 1
    half = t // 2
    groups, current, held = [], [], 0
    for e in kept:
        current.append(e)
        if e.type != 2:
            continue
        held += e.size
        if len(groups) == 39 or held < half:
            continue
        u = (int.from_bytes(hashlib.sha256(e.path.encode("utf-8")).digest()[:8], "big") >> 11) * 2.0 ** -53
        if e.size >= half or u < e.size / half:
            groups.append(current)
            current, held = [], 0
    if current:
        groups.append(current)
    return groups


def with_repeated_dirs(groups):
    """Adds to each group the directories of earlier groups that it names again."""
    dir_group = {}
    for gi, g in enumerate(groups):
        for e in g:
            if e.type == 1:
                dir_group[e.path] = gi
    last_maker = {}  # directory -> last group that makes an entry in it
    for gi, g in enumerate(groups):
        for e in g:
            parent = e.path.rpartition("/")[0]
            if parent:
                last_maker[parent] = gi
    by_path = {e.path: e for g in groups for e in g}
    out = []
    for gi, g in enumerate(groups):
        result, named = [], set()
        for e in g:
            parent = e.path.rpartition("/")[0]
            if parent and dir_group.get(parent, gi) < gi and last_maker[parent] == gi and parent not in named:
                result.append(by_path[parent])
                named.add(parent)
            result.append(e)
        out.append(result)
    return out


def layer_key(group, chunks):
    h = hashlib.sha256()

    def item(s):
        b = s.encode("utf-8")
        h.update(struct.pack(">I", len(b)) + b)
    item("cachemount-image-layer-v1 tar+zstd 0:0 0644/0755")
    for e in group:
        item(TYPE_NAMES[e.type])
        item(e.path)
        item(str(e.mode))
        item("%d.%d.%d" % (e.size or 0, e.seconds, e.nanos // 100 * 100))
        item(e.target or "")
        h.update(struct.pack(">Q", len(e.chunks)))
        for c in e.chunks:
            h.update(chunks[c][0])
    return "sha256:" + h.hexdigest()


def check_image(lay, image_tag, snapshot_digest, config, entries, chunks):
    import io
    import tarfile
    top = json.load(open(os.path.join(lay.root, "index.json"), "rb"))
    named = [d for d in top.get("manifests", []) if (d.get("annotations") or {}).get(REF_NAME) == image_tag]
    if not named:
        raise Mismatch("image view %r: no descriptor in index.json names it" % image_tag)
    desc = named[-1]
    if desc.get("mediaType") != "application/vnd.oci.image.index.v1+json":
        raise Mismatch("image view %r: descriptor media type %r" % (image_tag, desc.get("mediaType")))
    index = json.loads(lay.read_blob("image index", desc["digest"], desc.get("size")))
    ann = index.get("annotations") or {}
    if ann.get("dev.cachemount.image.view") != "1":
        raise Mismatch("image view: annotation dev.cachemount.image.view %r" % ann.get("dev.cachemount.image.view"))
    if ann.get("dev.cachemount.image.snapshot") != snapshot_digest:
        raise Mismatch("image view shows %r, the snapshot is %s" % (ann.get("dev.cachemount.image.snapshot"), snapshot_digest))
    if ann.get("org.opencontainers.image.created") != config.get("created"):
        raise Mismatch("image view created %r, the snapshot's %r" % (ann.get("org.opencontainers.image.created"), config.get("created")))
    manifests = index.get("manifests") or []
    platforms = [((m.get("platform") or {}).get("architecture"), (m.get("platform") or {}).get("variant")) for m in manifests]
    if platforms != PLATFORMS or any((m.get("platform") or {}).get("os") != "linux" for m in manifests):
        raise Mismatch("image view platforms %r" % platforms)
    groups = with_repeated_dirs(image_groups(entries))
    keys = [layer_key(g, chunks) for g in groups]
    layer_descs = None
    for m, (arch, variant) in zip(manifests, PLATFORMS):
        man = json.loads(lay.read_blob("image manifest", m["digest"], m.get("size")))
        if man.get("mediaType") != MANIFEST_TYPE or man["config"].get("mediaType") != "application/vnd.oci.image.config.v1+json":
            raise Mismatch("image manifest %s: media types" % m["digest"])
        cfg = json.loads(lay.read_blob("image config", man["config"]["digest"], man["config"].get("size")))
        if (cfg.get("architecture"), cfg.get("variant"), cfg.get("os")) != (arch, variant, "linux"):
            raise Mismatch("image config of %s/%s: %r" % (arch, variant, cfg))
        if cfg.get("created") != config.get("created") or cfg.get("config") != {} or (cfg.get("rootfs") or {}).get("type") != "layers":
            raise Mismatch("image config of %s: created/config/rootfs %r" % (arch, cfg))
        if layer_descs is None:
            layer_descs, diff_ids = man["layers"], cfg["rootfs"]["diff_ids"]
        elif man["layers"] != layer_descs or cfg["rootfs"]["diff_ids"] != diff_ids:
            raise Mismatch("image manifest of %s/%s: other layers than amd64's" % (arch, variant))
    stored_keys = [(l.get("annotations") or {}).get("dev.cachemount.image.layer.key") for l in layer_descs]
    if len(layer_descs) != len(groups):
        raise Mismatch("image view has %d layers, the groups of format.md give %d" % (len(layer_descs), len(groups)))
    if stored_keys != keys:
        raise Mismatch("image layer keys %s, computed %s" % (stored_keys, keys))
    for li, (l, diff_id, group) in enumerate(zip(layer_descs, diff_ids, groups)):
        if l.get("mediaType") != "application/vnd.oci.image.layer.v1.tar+zstd":
            raise Mismatch("image layer %d media type %r" % (li, l.get("mediaType")))
        tar_bytes = zstd_decompress(lay.read_blob("image layer", l["digest"], l.get("size")), "image layer %d" % li)
        if hexdigest(tar_bytes) != diff_id:
            raise Mismatch("image layer %d: diff_id %s, the tar hashes to %s" % (li, diff_id, hexdigest(tar_bytes)))
        members = tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:").getmembers()
        if len(members) != len(group):
            raise Mismatch("image layer %d: %d tar entries, the group has %d" % (li, len(members), len(group)))
        for ti, e in zip(members, group):
            name = e.path + ("/" if e.type == 1 else "")
            want_type = {1: tarfile.DIRTYPE, 2: tarfile.REGTYPE, 3: tarfile.SYMTYPE}[e.type]
            want_mode = 0o755 if e.type == 1 or (e.type == 2 and e.mode & 0o100) else (0o777 if e.type == 3 else 0o644)
            pax_mtime = ti.pax_headers.get("mtime")
            ns = e.seconds * 10**9 + e.nanos // 100 * 100
            if pax_mtime is not None:
                whole, _, frac = pax_mtime.partition(".")
                sign = -1 if whole.startswith("-") else 1
                got = int(whole) * 10**9 + sign * int((frac + "000000000")[:9])
            else:
                got = int(ti.mtime) * 10**9
            tar_name = ti.pax_headers.get("path", ti.name if not ti.isdir() else ti.name + "/")
            if ti.isdir() and not tar_name.endswith("/"):
                tar_name += "/"
            problems = []
            if tar_name != name:
                problems.append("name %r" % tar_name)
            if ti.type != want_type:
                problems.append("type %r" % ti.type)
            if ti.mode & 0o7777 != want_mode:
                problems.append("mode %o" % ti.mode)
            if (ti.uid, ti.gid, ti.uname, ti.gname) != (0, 0, "", ""):
                problems.append("owner %r" % ((ti.uid, ti.gid, ti.uname, ti.gname),))
            if got != ns:
                problems.append("mtime %d ns, snapshot %d" % (got, ns))
            if e.type == 2 and ti.size != e.size:
                problems.append("size %d" % ti.size)
            if e.type == 3 and ti.linkname != e.target:
                problems.append("target %r" % ti.linkname)
            if problems:
                raise Mismatch("image layer %d, entry %r: %s" % (li, e.path, ", ".join(problems)))
    return len(groups)


class Args:
    pass


def main(argv):
    args = Args()
    flags = {"--check-chunker", "--check-writer", "--no-restore", "--quiet"}
    args.check_image = None
    if "--check-image" in argv:
        i = argv.index("--check-image")
        args.check_image = argv[i + 1] if i + 1 < len(argv) else ""
        argv = argv[:i] + argv[i + 2:]
    positional = [a for a in argv if a not in flags]
    for flag in flags:
        setattr(args, flag[2:].replace("-", "_"), flag in argv)
    if len(positional) != (2 if args.no_restore else 3) or any(a.startswith("--") for a in positional):
        sys.stderr.write(__doc__)
        return 2
    args.layout, args.tag = positional[0], positional[1]
    args.restore = None if args.no_restore else positional[2]
    try:
        notes, entries = run(args)
    except Upgrade as e:
        sys.stderr.write("cachemount_reader: %s\n" % e)
        return 1
    except Mismatch as e:
        sys.stderr.write("cachemount_reader: integrity failure: %s\n" % e)
        return 4
    except (OSError, RuntimeError) as e:
        sys.stderr.write("cachemount_reader: %s\n" % e)
        return 1
    for n in notes:
        sys.stderr.write("cachemount_reader: note: %s\n" % n)
    if not args.quiet:
        print("verified %s:%s, %d entries%s" % (args.layout, args.tag, len(entries),
                                                "" if args.restore is None else ", restored into " + args.restore))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
