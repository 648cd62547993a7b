"""scripts/check-layers.sh, the layering check CI runs: clean on the tree as it is, and it
fails, naming the file, the line and the include, on a deliberately wrong include or an
extern declaration in a .c file (run on a copy of src/)."""

import os
import shutil
import subprocess

from conftest import REPO

SCRIPT = os.path.join(REPO, "scripts", "check-layers.sh")


def check(src):
    return subprocess.run(["bash", SCRIPT, str(src)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)


def test_the_tree_is_clean():
    p = check(os.path.join(REPO, "src"))
    assert p.returncode == 0 and p.stdout.strip() == "layers: ok", p.stdout


def copy_src(tmp_path):
    dst = tmp_path / "src"
    shutil.copytree(os.path.join(REPO, "src"), dst)
    return dst


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def test_an_upward_include_fails(tmp_path):
    src = copy_src(tmp_path)
    append(src / "core" / "log.c", '#include "broker/worker.h"\n')
    append(src / "broker" / "flow.c", '#include "cluster/cluster.h"\n')
    p = check(src)
    assert p.returncode == 1, p.stdout
    assert 'core/log.c:' in p.stdout and 'includes "broker/worker.h": core may not use broker' \
        in p.stdout, p.stdout
    assert 'broker/flow.c:' in p.stdout and "broker may not use cluster" in p.stdout, p.stdout


def test_an_extern_function_declaration_fails(tmp_path):
    src = copy_src(tmp_path)
    append(src / "route" / "trie.c", "extern int st_worker_init(void *w, void *b, int id);\n")
    p = check(src)
    assert p.returncode == 1 and "route/trie.c:" in p.stdout and "extern declaration" in p.stdout, \
        p.stdout


def test_an_unknown_module_fails(tmp_path):
    src = copy_src(tmp_path)
    os.mkdir(src / "gadget")
    append(src / "gadget" / "g.c", '#include "core/log.h"\n')
    p = check(src)
    assert p.returncode == 1 and "module 'gadget' is not in the layer table" in p.stdout, p.stdout


def test_a_cluster_part_keeps_to_its_rules(tmp_path):
    """Inside src/cluster/ each folder is a part with rules of its own (docs/cluster.md §2):
    the plane and the data lanes never use each other, links use neither, discovery uses
    only core and net, no part includes the wiring above it, and a part's internal.h is
    private to its folder. Outside the module only cluster/cluster.h is its face."""
    src = copy_src(tmp_path)
    cases = [
        ("cluster/data/routes.c", "cluster/plane/plane.h", "cluster/data may not use cluster/plane"),
        ("cluster/plane/tail.c", "cluster/data/data.h", "cluster/plane may not use cluster/data"),
        ("cluster/links/peers.c", "cluster/plane/plane.h",
         "cluster/links may not use cluster/plane"),
        ("cluster/discovery/web.c", "cluster/links/links.h",
         "cluster/discovery may not use cluster/links"),
        ("cluster/data/move.c", "cluster/cluster.h", "cluster/data may not use cluster"),
        ("cluster/plane/reg.c", "cluster/links/internal.h",
         "a part's internal.h is private to its folder"),
        ("admin/api.c", "cluster/discovery/discovery.h", "admin may not use cluster/discovery"),
    ]
    for path, inc, _ in cases:
        append(src / path, '#include "%s"\n' % inc)
    p = check(src)
    assert p.returncode == 1, p.stdout
    for path, inc, why in cases:
        line = [ln for ln in p.stdout.splitlines() if ln.startswith(path + ":") and inc in ln]
        assert line and why in line[0], (path, inc, why, p.stdout)

