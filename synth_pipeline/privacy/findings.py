"""A privacy finding: where something suspicious is and which rule saw it, never what it is.

The message of a finding is built from the rule and the schema only; the offending value is
never copied into it (nor into the JSON path: keys that are not in the schema's vocabulary are
shown by position, see `validator.render_key`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    json_path: str
    detector: str
    message: str

    def line(self) -> str:
        """The human form: `FILE: $.path: detector: message`."""
        return f"{self.file}: {self.json_path}: {self.detector}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def counts_by_detector(findings: Iterable[Finding]) -> dict[str, int]:
    return dict(sorted(Counter(f.detector for f in findings).items()))


def findings_summary(findings: list[Finding], max_paths: int = 100) -> dict:
    """Counts per detector and where the findings are (file names and JSON paths only), for
    logs and Dagster metadata. Never a value: findings carry none."""
    return {
        "finding_count": len(findings),
        "findings_by_detector": counts_by_detector(findings),
        "finding_locations": [f"{f.file.rsplit('/', 1)[-1]}: {f.json_path}: {f.detector}" for f in findings[:max_paths]],
        "locations_truncated": len(findings) > max_paths,
    }
