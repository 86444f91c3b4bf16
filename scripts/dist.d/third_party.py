#!/usr/bin/env python3
"""The licences of what a pitwall binary bundles, from `cargo metadata` and the crates' sources.

Usage: third_party.py TARGET OUT_FILE   (run from the repository; cargo must be on PATH)

Why this and not `cargo about`: cargo about is a large tool to build for one text file, and
everything it needs is already in `cargo metadata` (each package's licence expression and
repository) and in cargo's registry cache (each package's licence files). So:

- the packages are those the `pitwall` binary links for TARGET: reached from the `pitwall`
  package through normal dependencies (not dev-dependencies, not build scripts and their
  dependencies, not proc-macros: those run at build time and are not shipped), with
  `--filter-platform` dropping other platforms' dependencies. Workspace members are pitwall
  itself (its own licence files);
- for each, the licence expression, the repository, and the text of every top-level file whose
  name starts with LICENSE, LICENCE, COPYING, COPYRIGHT, NOTICE or UNLICENSE (plus a
  `license-file` the manifest names). Identical texts are printed once, with every package
  that carries them;
- a package without any such file is listed with its expression and counted on stderr, so a
  release manager sees it; the script fails only when cargo metadata does.
"""

import hashlib
import json
import os
import subprocess
import sys

PREFIXES = ("license", "licence", "copying", "copyright", "notice", "unlicense")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    target, out_path = sys.argv[1], sys.argv[2]
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", target],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {p["id"]: p for p in meta["packages"]}
    members = set(meta["workspace_members"])
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next(p["id"] for p in meta["packages"] if p["name"] == "pitwall" and p["id"] in members)

    # Normal dependencies only: `dep_kinds` says how each edge is used (kind None: normal).
    seen, todo = set(), [root]
    while todo:
        node = nodes[todo.pop()]
        for dep in node["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    # Proc-macro crates are normal dependencies too, but they run inside the compiler: none of
    # their code is in the binary.
    def shipped(p):
        libs = [t for t in p["targets"] if set(t["kind"]) - {"test", "bench", "example", "bin"}]
        return not all("proc-macro" in t["kind"] for t in libs)

    bundled = sorted(
        (packages[i] for i in seen if i not in members and shipped(packages[i])),
        key=lambda p: (p["name"].lower(), p["version"]),
    )

    texts = {}  # sha256 -> (text, [package labels])
    without = []
    rows = []
    for p in bundled:
        label = f"{p['name']} {p['version']}"
        folder = os.path.dirname(p["manifest_path"])
        files = sorted(
            f
            for f in os.listdir(folder)
            if f.lower().startswith(PREFIXES) and os.path.isfile(os.path.join(folder, f))
        )
        if p.get("license_file"):
            named = os.path.normpath(os.path.join(folder, p["license_file"]))
            if os.path.isfile(named) and os.path.basename(named) not in files:
                files.append(os.path.relpath(named, folder))
        if not files:
            without.append(label)
        for f in files:
            with open(os.path.join(folder, f), encoding="utf-8", errors="replace") as fh:
                text = fh.read().strip() + "\n"
            key = hashlib.sha256(text.encode()).hexdigest()
            texts.setdefault(key, (text, []))[1].append(f"{label} ({f})")
        rows.append((p["name"], p["version"], p.get("license") or "(see its licence file)", p.get("repository") or ""))

    with open(out_path, "w", encoding="utf-8", newline="\n") as out:
        out.write(
            f"Third-party software in pitwall for {target}\n"
            f"{'=' * (39 + len(target))}\n\n"
            "The pitwall program includes the following packages (Rust crates, and the C\n"
            "libraries some of them compile in: SQLite in libsqlite3-sys, zstd in zstd-sys,\n"
            "mimalloc in libmimalloc-sys). Each is used under its licence below; where a\n"
            "package offers a choice (\"MIT OR Apache-2.0\"), pitwall uses it under either.\n\n"
        )
        width = max(len(f"{n} {v}") for n, v, _, _ in rows)
        for name, version, lic, repo in rows:
            out.write(f"{f'{name} {version}':<{width}}  {lic}  {repo}\n".rstrip() + "\n")
        out.write(f"\n{len(rows)} packages.\n")
        if without:
            out.write(
                "\nThese packages ship no licence file of their own; the standard text of the\n"
                "licence they name applies (the MIT and Apache-2.0 texts are in LICENSE-MIT and\n"
                "LICENSE-APACHE beside this file): " + ", ".join(without) + ".\n"
            )
        for text, users in texts.values():
            out.write("\n" + "-" * 78 + "\n")
            out.write("The licence text of: " + ", ".join(users) + "\n\n")
            out.write(text)
    if without:
        print(
            f"third_party.py: {len(without)} package(s) without a licence file (listed with their "
            f"licence expression only): {', '.join(without)}",
            file=sys.stderr,
        )
    print(f"third_party.py: {len(rows)} packages, {len(texts)} distinct licence texts -> {out_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
