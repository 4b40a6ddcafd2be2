#!/usr/bin/env python3
"""report.py RAW.tsv OUT.md OUT.json REPS: medians and ratios of bench/run.sh.

Every number in the table is a median of what run.sh measured in this run;
nothing is carried over from earlier runs."""
import json, os, platform, statistics, subprocess, sys, time

raw, out_md, out_json, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = {}
extra = {}
for line in open(raw):
    scen, side, rep, secs, rss, ex = (line.rstrip("\n").split("\t") + [""])[:6]
    rows.setdefault((scen, side), []).append((float(secs), int(rss)))
    for kv in filter(None, ex.split(";")):
        k, v = kv.split("=", 1)
        extra.setdefault((scen, side), {}).setdefault(k, []).append(int(v))

def med(scen, side, i=0):
    v = rows.get((scen, side))
    return statistics.median(x[i] for x in v) if v else None

def ver(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except Exception:
        return "unknown"

# (scenario, kiln side, alternative scenario, alternative side, what, target)
pairs = [
    ("fetch", "kiln", "fetch", "curl+sha512sum", "fetch + verify 400 MiB from loopback nginx", 1.0),
    ("fetch", "kiln", "fetch", "curl", "the same vs plain curl -o (the floor: no verification)", None),
    ("unxz", "kiln", "unxz", "xzcat", "decompress an xz raw image (3 GiB virtual) into a file", 0.7),
    ("unxz1g", "kiln", "unxz1g", "xz -dc -T2",
     "fetch + verify + decompress a multi-block xz -T2 raw image (1 GiB) vs xz's threaded decoder", 0.7),
    ("unxz1g", "kiln", "unxz1g", "xzcat", "the same multi-block stream vs xzcat (single-threaded)", 0.7),
    ("unxz1g", "kiln", "unxz1g", "base", "the same, this kiln vs KILN_BASE (libarchive's xz)", None),
    ("unxz", "kiln", "unxz", "base", "the same, this kiln vs KILN_BASE", None),
    ("pipeline", "kiln", "pipeline", "virt-customize+virt-sysprep",
     "root password + uninstall cloud-init + sysprep on the Debian fixture (base inspected before: inspection cache)", 0.5),
    ("pipeline", "kiln, inspection not cached", "pipeline", "virt-customize+virt-sysprep",
     "the same, first run on the base (empty inspection cache)", None),
    ("sysprep", "kiln", "sysprep", "virt-sysprep", "sysprep alone on a fresh overlay of the Debian fixture (inspection cache)", 0.75),
    ("sysprep", "kiln, inspection not cached", "sysprep", "virt-sysprep",
     "the same, first run on the base (empty inspection cache)", None),
    ("clone10", "kiln", "clone1", "virt-clone", "10 linked clones (one kiln call) vs ONE virt-clone --auto-clone", 0.1),
    ("clonefull", "kiln", "clone1", "virt-clone", "one full clone vs one virt-clone", 1.0),
    ("clonefull", "kiln", "clonefull", "virt-clone + sync",
     "the same, virt-clone's copy made durable (sync FILE) as kiln's is", None),
    ("clonefull", "kiln", "clonefull", "cp --sparse + sync",
     "the same vs the floor of a durable copy: cp (copy_file_range) + sync FILE", None),
    ("clonefull", "kiln", "clonefull", "cp --sparse", "the same vs the floor of the copy alone (no fsync)", None),
    ("clonefull", "kiln", "clonefull", "base", "the same, this kiln vs KILN_BASE", None),
    ("cloneid", "kiln", "cloneid", "virt-clone+virt-customize",
     "10 linked clones with their own host names (kiln clone --count 10 --hostname web-%d) vs ONE "
     "virt-clone --auto-clone + virt-customize --hostname", 0.1),
    ("upload", "kiln register --pool", "upload", "virsh vol-upload",
     "upload the Debian fixture into a remote pool over qemu+ssh (loopback); throughput "
     "target >= 0.9x virsh's, so time ratio <= 1.11", 1.11),
    ("recipes3", "kiln -j2", "recipes3", "kiln one by one", "3 recipes sharing a base, -j 2 vs one after another", None),
    ("recipes3", "kiln -j2", "recipes3", "kiln -j2 --no-sbom",
     "the same 3 recipes with the SBOM (packages listed in the build's launch) vs --no-sbom", None),
]
results = []
for s1, k1, s2, k2, what, target in pairs:
    a, b = med(s1, k1), med(s2, k2)
    if a is None or b is None:
        continue
    ratio = a / b if b else None
    results.append({"scenario": s1, "kiln_side": k1, "kiln_s": a, "alternative": k2,
                    "alternative_s": b, "ratio": ratio, "target": target, "what": what,
                    "met": (ratio <= target) if (target and ratio is not None) else None})

mem = []
for scen, side, label in [("fetch", "kiln", "kiln fetch 400 MiB"), ("fetch-small", "kiln", "kiln fetch 100 MiB"),
                          ("unxz", "kiln", "kiln unpack xz (3 GiB raw)"),
                          ("unxz1g", "kiln", "kiln unpack xz -T2 (1 GiB raw)"),
                          ("unxz1g", "base", "KILN_BASE unpack xz -T2 (1 GiB raw)"),
                          ("unxz1g", "xz -dc -T2", "xz -dc -T2 (1 GiB raw)")]:
    m = med(scen, side, 1)
    if m is not None:
        mem.append({"what": label, "peak_rss_kib": m})
alloc = []
for (scen, side), d in sorted(extra.items()):
    if "alloc_kib" in d:
        alloc.append({"what": f"{scen} / {side}", "allocated_kib": statistics.median(d["alloc_kib"])})

# Clone scale: per-clone ms at each number of other domains, and its
# ratio to the smallest (the target: within 2x).
scale = []
sizes = sorted({int(s.split("-", 1)[1]) for (s, _k) in rows if s.startswith("clonescale-")})
for side in ("kiln --count 10", "kiln x10 calls", "base --count 10", "base x10 calls",
             "virt-clone --preserve-data x1"):
    base = None
    for n in sizes:
        m = med(f"clonescale-{n}", side)
        if m is None:
            continue
        per = m * 1000 / (1 if side.endswith("x1") else 10)
        base = base or per
        scale.append({"side": side, "domains": n, "per_clone_ms": per, "vs_smallest": per / base})

# The floor under the --count row: kiln's 10 clones among the fewest
# domains, plus what a bare client's reading of every domain's XML costs
# among N more than among the fewest (listxml.c), per clone, against the
# same 10 clones among the fewest.  No client that reads every domain's
# XML can grow less.
scale_floor = []
if sizes:
    k0, f0 = med(f"clonescale-{sizes[0]}", "kiln --count 10"), med(f"clonescale-{sizes[0]}", "floor: read every XML")
    for n in sizes:
        fn = med(f"clonescale-{n}", "floor: read every XML")
        if k0 is None or f0 is None or fn is None:
            continue
        scale_floor.append({"domains": n, "read_every_xml_ms": fn * 1000,
                            "floor_vs_smallest": (k0 + fn - f0) / k0})

# Recipes at scale: wall, peak RSS and downloads of the base per -j.
recipes = []
for (scen, side), v in sorted(rows.items()):
    if scen.startswith("recipes") and scen != "recipes3":
        recipes.append({"recipes": int(scen[7:]), "side": side, "wall_s": med(scen, side),
                        "peak_rss_kib": med(scen, side, 1),
                        "base_downloads": max(extra.get((scen, side), {}).get("fetches", [0]))})
# Memory as the input grows: peak RSS per size and side.
def size_key(sz):
    n, u = (sz[:-1], sz[-1]) if sz[-1] in "KMGT" else (sz, "")
    return float(n) * 1024 ** ("KMGT".index(u) + 1 if u else 0)
memory = []
for (scen, side), v in sorted(rows.items(), key=lambda kv: (size_key(kv[0][0][7:]) if kv[0][0].startswith("memory-") else 0, kv[0][1])):
    if scen.startswith("memory-"):
        memory.append({"size": scen[7:], "side": side, "peak_rss_kib": med(scen, side, 1),
                       "wall_s": med(scen, side)})
# Round trips to the appliance inside the one launch (LIBGUESTFS_TRACE).
trips = []
for (scen, side), d in sorted(extra.items()):
    if "round_trips" in d:
        trips.append({"what": f"{scen} / {side}", "round_trips": statistics.median(d["round_trips"])})
# Where kiln's full clone spends its time (strace -f -w -c).
clonetrace = None
ct = extra.get(("clonefull", "kiln under strace"))
if ct:
    clonetrace = {k: statistics.median(v) for k, v in ct.items()}

# The KVM probe: what deciding the accelerator costs a command once the
# boot's verdict is cached (cached - forced), target <= 0.1 s.
probe = []
for scen, host in (("accel", "this host's qemu (KVM fails at once here)"),
                   ("accel-hang", "a stand-in qemu whose KVM guest hangs (broken nested KVM)")):
    if med(scen, "kiln, verdict cached") is None or med(scen, "kiln --accel tcg") is None:
        continue
    p = {"host": host, "first_s": med(scen, "kiln, first command of the boot"),
         "cached_s": med(scen, "kiln, verdict cached"), "forced_s": med(scen, "kiln --accel tcg")}
    p["overhead_s"] = p["cached_s"] - p["forced_s"]
    p["met"] = p["overhead_s"] <= 0.1
    probe.append(p)

meta = {
    "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    "machine": f"{os.cpu_count()} cores, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, {platform.machine()}",
    "repetitions": reps,
    "kiln": ver([os.environ.get("KILN", "kiln"), "--version"]),
    "virt-customize": ver(["virt-customize", "--version"]),
    "virt-clone": ver(["virt-clone", "--version"]),
    "curl": ver(["curl", "--version"]),
    "qemu": ver(["qemu-system-x86_64", "--version"]),
    "accel": "TCG for both sides (KVM is broken on these machines)",
}
json.dump({"meta": meta, "results": results, "memory": mem, "allocated": alloc, "clonescale": scale, "clonescale_floor": scale_floor,
           "recipes": recipes, "round_trips": trips, "memory_by_size": memory, "clonefull_strace_ms": clonetrace, "accel_probe": probe,
           "raw": [{"scenario": s, "side": k, "runs": v} for (s, k), v in rows.items()]},
          open(out_json, "w"), indent=2)

with open(out_md, "w") as f:
    f.write("# kiln bench results\n\n")
    for k, v in meta.items():
        f.write(f"- {k}: {v}\n")
    f.write(f"\nMedians of {reps} alternating run(s) each; ratio = kiln / alternative (lower is better).\n\n")
    f.write("| scenario | kiln (s) | alternative | alt (s) | ratio | target | measured |\n|---|---|---|---|---|---|---|\n")
    for r in results:
        tgt = f"≤ {r['target']}" if r["target"] else "—"
        met = "" if r["met"] is None else (" ✓" if r["met"] else " ✗ (missed)")
        f.write(f"| {r['scenario']} ({r['kiln_side']}) | {r['kiln_s']:.3f} | {r['alternative']} | "
                f"{r['alternative_s']:.3f} | {r['ratio']:.3f}{met} | {tgt} | {r['what']} |\n")
    if mem:
        f.write("\n| memory | peak RSS |\n|---|---|\n")
        for m in mem:
            f.write(f"| {m['what']} | {m['peak_rss_kib'] / 1024:.1f} MiB |\n")
    if scale:
        f.write("\n| 10 linked clones | other domains | per clone (ms) | vs fewest domains |\n|---|---|---|---|\n")
        for c in scale:
            f.write(f"| {c['side']} | {c['domains']} | {c['per_clone_ms']:.1f} | {c['vs_smallest']:.2f} |\n")
    if scale_floor:
        f.write("\n| other domains | read every domain's XML, bare client (ms) | floor of `--count 10` vs fewest domains |\n|---|---|---|\n")
        for c in scale_floor:
            f.write(f"| {c['domains']} | {c['read_every_xml_ms']:.1f} | {c['floor_vs_smallest']:.2f} |\n")
    if alloc:
        f.write("\n| output of decompression | allocated on disk |\n|---|---|\n")
        for a in alloc:
            f.write(f"| {a['what']} | {a['allocated_kib'] / 1024:.0f} MiB |\n")
    if recipes:
        f.write("\n| recipes sharing one base | wall (s) | peak RSS of kiln | downloads of the base |\n|---|---|---|---|\n")
        for c in recipes:
            f.write(f"| {c['recipes']} recipes, {c['side']} | {c['wall_s']:.3f} | "
                    f"{c['peak_rss_kib'] / 1024:.1f} MiB | {c['base_downloads']} |\n")
    if memory:
        f.write("\n| input size | what | peak RSS (target <= 64 MiB) | wall (s) |\n|---|---|---|---|\n")
        for m in memory:
            ok = " ✓" if m["peak_rss_kib"] <= 64 * 1024 else f" ✗ (+{(m['peak_rss_kib'] - 64 * 1024) / 1024:.1f} MiB)"
            f.write(f"| {m['size']} | {m['side']} | {m['peak_rss_kib'] / 1024:.1f} MiB{ok if m['side'].startswith('kiln') else ''} | {m['wall_s']:.3f} |\n")
    if probe:
        f.write("\n| KVM probe, kiln register --print-xml | first command of the boot (s) | "
                "later, verdict cached (s) | --accel tcg (s) | cost of deciding, cached (target <= 0.1 s) |\n"
                "|---|---|---|---|---|\n")
        for p in probe:
            f.write(f"| {p['host']} | {p['first_s'] or 0:.3f} | {p['cached_s']:.3f} | {p['forced_s']:.3f} | "
                    f"{p['overhead_s']:.3f}{' ✓' if p['met'] else ' ✗'} |\n")
    if clonetrace:
        f.write("\nkiln full clone under strace -f -w -c (median ms): " +
                ", ".join(f"{k} {v:.0f}" for k, v in clonetrace.items()) + "\n")
    if trips:
        f.write("\n| calls into the appliance (one launch) | round trips |\n|---|---|\n")
        for t in trips:
            f.write(f"| {t['what']} | {t['round_trips']:.0f} |\n")
