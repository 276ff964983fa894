#!/usr/bin/env python3
"""Compiles every ```cpp block in README.md and docs/**/*.md (issue: every code snippet in docs/ is
compiled by a test). Blocks of one page build on each other: a block that compiles at file scope is
kept as a prelude for the next ones; otherwise it must compile as the body of a function.
Usage: check_snippets.py SOURCE_DIR CXX [flags...]"""
import pathlib, re, subprocess, sys, tempfile

src = pathlib.Path(sys.argv[1]); cxx = sys.argv[2:]
pages = [src / "README.md"] + sorted((src / "docs").rglob("*.md"))
# Snippets may assume any galml header (as a user who read the page would include it).
HEADERS = ["galml/galml.hpp"] + sorted(
    str(p.relative_to(src / "include")) for d in ("data", "io", "loss", "metrics", "mock", "models", "optim", "report", "testing", "train")
    for p in (src / "include" / "galml" / d).glob("*.hpp"))
PRELUDE = "".join(f"#include <{h}>\n" for h in HEADERS) + "#include <cassert>\n#include <iostream>\n#include <vector>\n#include <limits>\n#include <cmath>\n"
failures, checked = [], 0

def compiles(code):
    with tempfile.NamedTemporaryFile("w", suffix=".cpp", delete=False) as f:
        f.write(code); name = f.name
    r = subprocess.run(cxx + ["-fsyntax-only", name], capture_output=True, text=True)
    return r.returncode == 0, r.stderr

for page in pages:
    text = page.read_text()
    prelude = PRELUDE
    for i, block in enumerate(re.findall(r"```cpp\n(.*?)```", text, re.S)):
        checked += 1
        if "int main(" in block:  # a whole program: compiled on its own, not kept as a prelude
            ok, err = compiles(PRELUDE + block)
            ok2, err2 = ok, err
        else:
            ok, err = compiles(prelude + block)
            if ok:
                prelude += block
                print(f"{page.relative_to(src)} block {i + 1}: ok", flush=True)
                continue
            ok2, err2 = compiles(prelude + "using namespace galml;\nint main() {\n" + block + "\nreturn 0; }\n")
        if not ok2:
            failures.append(f"{page.relative_to(src)} block {i + 1}:\n{err2[-3000:]}")
        print(f"{page.relative_to(src)} block {i + 1}: {'ok' if ok or ok2 else 'FAILED'}", flush=True)
print(f"{checked} snippets checked")
for f in failures:
    print(f, file=sys.stderr)
print(f"{checked - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
