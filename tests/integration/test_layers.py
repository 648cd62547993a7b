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
    """Inside src/cluster/ each folder is a part with rules of its own: discovery uses only
    core and net, never the wiring above it; outside the module only cluster/cluster.h is
    its face."""
    src = copy_src(tmp_path)
    append(src / "cluster" / "discovery" / "web.c", '#include "cluster/cluster.h"\n')
    append(src / "admin" / "api.c", '#include "cluster/discovery/discovery.h"\n')
    p = check(src)
    assert p.returncode == 1, p.stdout
    assert 'cluster/discovery/web.c:' in p.stdout and \
        'includes "cluster/cluster.h": cluster/discovery may not use cluster' in p.stdout, p.stdout
    assert 'admin/api.c:' in p.stdout and "admin may not use cluster/discovery" in p.stdout, \
        p.stdout
