"""The caches between runs (parse trees of rules, spec files as nodes): the same results as without them, only data
comes out of them, and whatever is in them, a wrong or hostile file is a miss, never code that runs."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from abi_check import cache
from abi_check.resources import catalogue_dir
from abi_check.spec.catalogue import SpecRoots, iter_spec_files
from abi_check.spec.nodecache import FORMAT, NodeCache
from abi_check.spec.yamlnodes import load_file, load_text
from tests.conftest import HOSTS

ROOT = Path(__file__).resolve().parent.parent
PAIR = [str(HOSTS / "n1-linux-6.15-qemu-10.2.yaml"), str(HOSTS / "n1-linux-6.12-qemu-10.2.yaml")]


class Payload:
    """What a hostile cache file would hold: unpickling it runs ``touch CANARY``."""

    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.canary}",))


def test_every_catalogue_file_reads_back_as_the_nodes_yaml_gives(cache_dir: Path) -> None:
    files = list(iter_spec_files(catalogue_dir()))
    assert len(files) > 40
    for path in files:
        fresh = load_file(path, str(path))
        load_file(path, str(path), NodeCache())  # stores
        cached = load_file(path, str(path), NodeCache())  # reads back
        assert cached == fresh and cached.key_spans == fresh.key_spans, path
    assert len(list((cache_dir / FORMAT).iterdir())) == len(files)


def test_an_entry_is_the_text_and_the_path_it_was_read_as(cache_dir: Path) -> None:
    nodes = NodeCache()
    first = load_text(b"a: 1\nb: [x, 2026-01-02]\n", "one.yaml", nodes)
    assert load_text(b"a: 1\nb: [x, 2026-01-02]\n", "one.yaml", nodes) == first
    other_path = load_text(b"a: 1\nb: [x, 2026-01-02]\n", "two.yaml", nodes)
    assert other_path.span.path == "two.yaml" and other_path.get("a").span.path == "two.yaml"  # type: ignore[union-attr]
    changed = load_text(b"a: 2\nb: [x, 2026-01-02]\n", "one.yaml", nodes)
    assert changed.plain() == {"a": 2, "b": ["x", first.plain()["b"][1]]}  # type: ignore[index]


def test_a_file_that_does_not_load_is_never_stored(cache_dir: Path) -> None:
    nodes = NodeCache()
    for text in (b"a: 1\na: 2\n", b"a: [1\n", b"a: !!python/object:os.system x\n"):
        with pytest.raises(Exception, match=r"duplicate key|YAML|tag"):
            load_text(text, "bad.yaml", nodes)
    assert not (cache_dir / FORMAT).exists()


def test_only_a_file_that_passed_the_shape_check_is_kept_and_passes_again(cache_dir: Path) -> None:
    from abi_check.spec.loader import SpecLoader
    from abi_check.spec.schema import check_document

    nodes = NodeCache()
    unshaped = load_text(b"kind: kernel\nname: k\n", "k.yaml", nodes)  # YAML, but no spec
    assert check_document(unshaped) and not (cache_dir / FORMAT).exists()
    path = HOSTS / "n1-linux-6.6-qemu-10.2.yaml"
    fresh = load_file(path, "h.yaml", nodes)
    assert not nodes.passed(fresh) and not check_document(fresh)
    again = NodeCache()
    cached = load_file(path, "h.yaml", again)
    assert again.passed(cached) and not again.passed(fresh) and cached == fresh
    loaded = SpecLoader(SpecRoots([catalogue_dir().resolve()]), NodeCache()).load(path)
    assert loaded == SpecLoader(SpecRoots([catalogue_dir().resolve()])).load(path)


def test_a_hostile_or_damaged_entry_is_a_miss_and_runs_nothing(cache_dir: Path, tmp_path: Path) -> None:
    nodes = NodeCache()
    text = "a: 1\n"
    entry = nodes._file("x.yaml", text)
    assert entry is not None
    entry.parent.mkdir(parents=True)
    canary = tmp_path / "CANARY"
    for content in (pickle.dumps(Payload(canary)), pickle.dumps(({"a": (Payload(canary), 1, 1, None)}, 1, 1, {})),
                    b"\x80\x05garbage", b"", pickle.dumps((object, 1, 1, None))):
        entry.write_bytes(content)
        assert load_text(text.encode(), "x.yaml", nodes).plain() == {"a": 1}
    assert not canary.exists()


def test_the_rule_tree_cache_loads_only_its_own_nodes(cache_dir: Path, tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    cache_dir.mkdir()
    (cache_dir / "rule-trees-v1.pickle").write_bytes(pickle.dumps({"k": Payload(canary)}))
    from abi_check.rules.engine import load_rules
    from abi_check.rules.parser import tree_cache

    tree_cache.cache_clear()  # the session's cache, loaded from another directory
    try:
        assert len(load_rules().rules) > 20  # parsed again, and the cache written anew
    finally:
        tree_cache.cache_clear()
    assert not canary.exists()
    trees = cache.loads((cache_dir / "rule-trees-v1.pickle").read_bytes(),
                        frozenset({("abi_check.rules.parser", "Node"), ("abi_check.rules.parser", "Tok")}))
    assert len(trees) > 20
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        cache.loads(pickle.dumps(Payload(canary)))
    assert not canary.exists()


def test_a_cache_that_outgrew_its_bound_keeps_what_the_run_used(cache_dir: Path) -> None:
    first = cache.PickleCache("t.pickle")
    for i in range(cache.KEEP + 10):
        first.put(f"old{i}", i)
    first.save()
    second = cache.PickleCache("t.pickle")
    assert second.get("old3") == 3 and second.get("old4") == 4
    second.put("new", -1)
    second.save()
    assert cache.loads((cache_dir / "t.pickle").read_bytes()) == {"old3": 3, "old4": 4, "new": -1}
    third = cache.PickleCache("t.pickle")
    third.put("more", 0)
    third.save()  # under the bound: nothing is dropped
    assert len(cache.loads((cache_dir / "t.pickle").read_bytes())) == 4


def run_pair(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = ("import runpy, sys\n"
            f"sys.argv = ['abi-check', 'pair', {PAIR[0]!r}, {PAIR[1]!r}]\n"
            "try:\n    runpy.run_module('abi_check', run_name='__main__')\n"
            "finally:\n    print('yaml' in sys.modules, file=sys.stderr)\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)


def test_pair_with_a_warm_cache_reads_no_yaml_and_says_the_same(tmp_path: Path) -> None:
    env = {**os.environ, "ABI_CHECK_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("ABI_CHECK_NO_CACHE", None)
    cold, warm = run_pair(env), run_pair(env)
    off = run_pair({**env, "ABI_CHECK_NO_CACHE": "1"})
    assert cold.returncode == warm.returncode == off.returncode == 8
    assert cold.stdout == warm.stdout == off.stdout and "errors (" in warm.stdout
    assert (cold.stderr.split()[-1], warm.stderr.split()[-1], off.stderr.split()[-1]) == ("True", "False", "True")
    assert len(list((tmp_path / "cache" / FORMAT).iterdir())) >= 12  # two hosts, their parts and what they extend


def test_a_cache_write_is_whole_or_nothing(tmp_path: Path) -> None:
    """``cache.dump``, which every cache writes through: a value written reads back; a value too deep to pickle,
    or a directory that refuses the file, gives False and leaves neither the file nor a temporary behind."""
    from abi_check.cache import dump

    target = tmp_path / "entries" / "x.pickle"
    assert dump(target, {"a": [1, 2]}) and pickle.loads(target.read_bytes()) == {"a": [1, 2]}
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    other = tmp_path / "entries" / "deep.pickle"
    assert not dump(other, deep)
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.pickle"]
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert not dump(blocked / "y.pickle", 1)
