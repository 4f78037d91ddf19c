#!/usr/bin/env python3
"""Checks the RQ library's public API documentation (issue #14): every public declaration written in Sources/RQ
has a doc comment, and every public function, initialiser and subscript documents each parameter and, if it throws,
what it throws. Exits 1 and lists what is missing otherwise.

Usage: scripts/check-doc-comments.py [SYMBOLGRAPH_DIR]   (default .build/x86_64-unknown-linux-gnu/symbolgraph)
after `swift package dump-symbol-graph --minimum-access-level public`. Reads RQ.symbols.json and RQ@*.symbols.json
(extensions of other modules' types).
"""
import glob, json, os, re, sys

root = sys.argv[1] if len(sys.argv) > 1 else ".build/x86_64-unknown-linux-gnu/symbolgraph"
files = [os.path.join(root, "RQ.symbols.json")] + sorted(glob.glob(os.path.join(root, "RQ@*.symbols.json")))

def own_effects_throw(decl):
    """Whether the declaration itself throws: `throws` after its parameter clause, not inside a closure parameter."""
    start = decl.find("(")
    if start < 0:
        return False
    depth = 0
    for i in range(start, len(decl)):
        depth += {"(": 1, ")": -1}.get(decl[i], 0)
        if depth == 0:
            effects = re.split(r"->|\bwhere\b|\{", decl[i + 1:])[0]
            return bool(re.search(r"\b(throws|rethrows)\b", effects))
    return False


KINDS = {"swift.func", "swift.method", "swift.type.method", "swift.func.op", "swift.init", "swift.subscript"}
missing_params, missing_throws, missing_returns, undocumented_symbols, checked = [], [], [], [], 0
seen = set()
for f in files:
    for s in json.load(open(f))["symbols"]:
        if s.get("accessLevel") == "public" and not s.get("spi") and "/Sources/RQ/" in s.get("location", {}).get(
                "uri", "") and s["kind"]["identifier"] != "swift.func.op" and not s.get("docComment"):
            undocumented_symbols.append(".".join(s["pathComponents"]))
        if s.get("accessLevel") != "public" or s.get("spi") or "location" not in s:
            continue
        if not s["location"]["uri"].startswith("file://") or "/Sources/RQ/" not in s["location"]["uri"]:
            continue
        if s["kind"]["identifier"] not in KINDS:
            continue
        sig = s.get("functionSignature", {})
        params = sig.get("parameters", [])
        decl = "".join(fr["spelling"] for fr in s.get("declarationFragments", []))
        throws = own_effects_throw(decl)
        if not params and not throws:
            continue
        key = s["identifier"]["precise"]
        if key in seen:
            continue
        seen.add(key)
        checked += 1
        doc = s.get("docComment")
        # A doc comment inherited from another module (protocol requirement) is not ours.
        own = doc is not None and doc.get("module", "RQ") == "RQ" and "/Sources/RQ/" in doc.get("uri", "/Sources/RQ/")
        text = "\n".join(l["text"] for l in doc["lines"]) if own else ""
        loc = "%s:%d" % (s["location"]["uri"].split("/Sources/RQ/")[1], s["location"]["position"]["line"] + 1)
        where = "%s  %s" % (loc, ".".join(s["pathComponents"]))
        undocumented = []
        for p in params:
            name = p.get("internalName", p["name"])
            if not re.search(r"-\s+Parameter\s+%s\s*:" % re.escape(name), text, re.I) and not (
                re.search(r"-\s+Parameters\s*:", text, re.I) and re.search(r"^\s*-\s+%s\s*:" % re.escape(name), text, re.M)
            ):
                undocumented.append(name)
        if undocumented:
            missing_params.append("%s  params: %s" % (where, ", ".join(undocumented)))
        if throws and not re.search(r"-\s+Throws\s*:", text, re.I):
            missing_throws.append(where)
        kind = s["kind"]["identifier"]
        returns = sig.get("returns", [])
        rtext = "".join(r["spelling"] for r in returns)
        if kind in ("swift.func", "swift.method", "swift.type.method", "swift.func.op") and rtext not in ("", "()", "Void") \
                and not re.search(r"-\s+Returns\s*:", text, re.I):
            missing_returns.append("%s  -> %s" % (where, rtext))

for title, items in (("no doc comment", undocumented_symbols), ("missing parameter docs", missing_params), ("missing - Throws:", missing_throws),
                     ("no - Returns: (advisory: add where not obvious)", missing_returns)):
    print("== %s: %d" % (title, len(items)))
    for i in sorted(items):
        print("  " + i)
print("checked %d symbols; missing params %d, missing throws %d, no returns %d" %
      (checked, len(missing_params), len(missing_throws), len(missing_returns)))
sys.exit(1 if undocumented_symbols or missing_params or missing_throws else 0)
