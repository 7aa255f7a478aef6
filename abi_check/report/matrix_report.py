"""What every matrix report is made from: the matrix, its domains, and how the run was asked for."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii

import numpy as np
import numpy.typing as npt

from abi_check import __version__
from abi_check.matrix.domains import Domain, Separation
from abi_check.matrix.grid import CELL_BLOCK, Matrix, Outcome
from abi_check.verdict.findings import Finding
from abi_check.verdict.result import FailOn

SCHEMA_ID = "https://abi-check.dev/schema/matrix-v2.json"  # docs/schema/matrix.schema.json
# Findings are made per cell on demand; by default only for sets small enough to read them all.
FINDINGS_HOST_LIMIT = 100


def indented_json(value: object, depth: int = 0) -> str:
    """``json.dumps(value, indent=1)``, two to three times faster on a large matrix's header: lists of strings or
    integers and dicts of strings and integers are joined in one step (json's indenting encoder is pure Python,
    one generator per value). ``depth``: the indentation the value starts at."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    inner = "\n" + " " * (depth + 1)
    if isinstance(value, list | tuple) and value:
        kinds = set(map(type, value))
        if kinds == {str}:
            items: Iterable[str] = map(encode_basestring_ascii, value)
        elif kinds == {int}:
            items = map(int.__repr__, value)
        else:
            items = (indented_json(v, depth + 1) for v in value)
        return "[" + inner + ("," + inner).join(items) + "\n" + " " * depth + "]"
    if isinstance(value, dict) and value and all(type(k) is str for k in value):
        if set(map(type, value.values())) <= {str, int}:
            items = (encode_basestring_ascii(k) + ": "
                     + (encode_basestring_ascii(v) if type(v) is str else int.__repr__(v)) for k, v in value.items())
        else:
            items = (encode_basestring_ascii(k) + ": " + indented_json(v, depth + 1) for k, v in value.items())
        return "{" + inner + ("," + inner).join(items) + "\n" + " " * depth + "}"
    # anything else (empty containers, floats, other keys): json itself, indented to where it starts
    return json.dumps(value, indent=1).replace("\n", "\n" + " " * depth)


@dataclass(frozen=True, slots=True)
class MatrixReport:
    """What every matrix report is made from."""

    matrix: Matrix
    domains: list[Domain]
    separations: list[Separation]
    fail_on: FailOn
    inputs: tuple[str, ...]
    with_findings: bool
    version: str = __version__

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.matrix.hosts]

    def cells(self) -> Iterator[tuple[int, int, Outcome]]:
        """Every host pair (source, destination, outcome), row by row."""
        n = len(self.matrix.hosts)
        for a in range(n):
            for b in range(n):
                yield a, b, self.matrix.outcome(a, b)

    def findings(self, a: int, b: int) -> list[Finding]:
        return self.matrix.findings(a, b) if self.with_findings else []

    def summary(self) -> dict[str, int]:
        return {
            "hosts": len(self.matrix.hosts),
            "abis": len(self.matrix.abis),
            "cells": len(self.matrix.hosts) ** 2,
            **self.matrix.verdict_counts(),
            "domains": len(self.domains),
        }

    def header(self) -> dict[str, object]:
        """Everything but the cells (JSON, and the data of the HTML report)."""
        m = self.matrix
        return {
            "$schema": SCHEMA_ID,
            "tool": {"name": "abi-check", "version": self.version},
            "command": "matrix",
            "inputs": list(self.inputs),
            "rules": list(m.rule_ids),
            "fail_on": self.fail_on.value,
            "summary": self.summary(),
            "hosts": [{"name": h.name, "path": h.path, "abi": h.abi} for h in m.hosts],
            "abis": [
                {
                    "id": abi.index,
                    "kernel": abi.kernel,
                    "vmm": abi.vmm,
                    "cpu": abi.cpu,
                    "vcpus": abi.vcpus,
                    "hosts": [m.hosts[h].name for h in abi.hosts],
                }
                for abi in m.abis
            ],
            "domains": [{"id": d.index, "hosts": [m.hosts[h].name for h in d.hosts]} for d in self.domains],
            "separations": [
                {
                    "domains": [s.a, s.b],
                    "rule": s.rule,
                    "pairs": s.pairs,
                    "total": s.total,
                    "example": {"source": m.hosts[s.example[0]].name, "destination": m.hosts[s.example[1]].name},
                    "rules": dict(s.rules),
                }
                for s in self.separations
            ],
        }

    def grid_outcomes(self) -> tuple[list[Outcome], npt.NDArray[np.int32]]:
        """Every distinct outcome once (the matrix's, then the hosts' own against themselves that are not among
        them, in host order), and [host] -> the index of its outcome against itself."""
        m = self.matrix
        outcomes = m.outcomes()
        abi = m.host_abis()
        diagonal = m.abi_cells()[abi, abi].astype(np.int32)
        own = m.own_outcomes()  # a host against itself is judged host by host (Matrix.outcome)
        if own:
            index = {o: i for i, o in enumerate(outcomes)}
            for h in sorted(own):
                diagonal[h] = index.setdefault(own[h], len(index))
                if diagonal[h] == len(outcomes):
                    outcomes.append(own[h])
        return outcomes, diagonal

    def row_blocks(self, diagonal: npt.NDArray[np.int32]) -> Iterator[tuple[int, npt.NDArray[np.int32]]]:
        """The cells, a block of source hosts at a time: (first source, [source - first, destination] -> outcome
        index), the diagonal from ``grid_outcomes``."""
        abi = self.matrix.host_abis()
        cells = self.matrix.abi_cells()
        n = len(abi)
        step = max(1, CELL_BLOCK // max(n, 1))
        for top in range(0, n, step):
            block = cells[abi[top : top + step]][:, abi]
            at = np.arange(len(block))
            block[at, top + at] = diagonal[top : top + step]
            yield top, block

    def outcome_grid(self) -> tuple[list[Outcome], Iterator[list[int]]]:
        """Every distinct outcome once, and the cells row by row as indices into it: what a million-cell
        report writes instead of a million outcomes."""
        outcomes, diagonal = self.grid_outcomes()

        def rows() -> Iterator[list[int]]:
            for _, block in self.row_blocks(diagonal):
                yield from block.tolist()

        return outcomes, rows()

    def joined_grid(self) -> tuple[list[Outcome], Iterator[str]]:
        """``outcome_grid`` with each row as its indices joined by commas (the numbers' text made once each)."""
        outcomes, diagonal = self.grid_outcomes()
        text = np.array([str(i) for i in range(len(outcomes))], dtype=object)

        def rows() -> Iterator[str]:
            for _, block in self.row_blocks(diagonal):
                yield from map(",".join, text[block].tolist())

        return outcomes, rows()

    @staticmethod
    def outcome_data(outcome: Outcome) -> dict[str, object]:
        errors, warnings, notes = outcome.counts
        return {
            "verdict": outcome.verdict,
            "counts": {"error": errors, "warning": warnings, "note": notes},
            "rules": list(outcome.rules),
        }

    def json_chunks(self) -> Iterator[str]:
        """The JSON document (docs/schema/matrix.schema.json): each outcome once, then a row of outcome indices
        per source host, then the findings of the pairs that have any; nothing held whole in memory."""
        head = indented_json(self.header())
        outcomes, rows = self.joined_grid()
        yield head[:-2] + ',\n "outcomes": ['
        compact = json.JSONEncoder(separators=(",", ":")).encode
        yield ",".join("\n  " + compact(self.outcome_data(o)) for o in outcomes)
        yield '\n ],\n "cells": ['
        for a, row in enumerate(rows):
            yield ("\n  [" if a == 0 else ",\n  [") + row + "]"
        yield "\n ]"
        if self.with_findings:
            yield ',\n "findings": ['
            names = self.names
            first = True
            for a, b, _ in self.cells():
                found = self.findings(a, b)
                if found:
                    data = {"source": names[a], "destination": names[b], "findings": [f.to_dict() for f in found]}
                    yield ("\n  " if first else ",\n  ") + json.dumps(data, separators=(",", ":"))
                    first = False
            yield "\n ]"
        yield "\n}\n"
