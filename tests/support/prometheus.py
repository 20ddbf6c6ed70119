"""Prometheus text exposition, as the agent's /metrics writes it: sample lines
parsed strictly (a malformed line raises ValueError), and one sum by name and
labels. Used by the e2e, shared-state and bench scripts."""
import re

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')
_LABELS = re.compile(r'(\s*[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"\s*,?)*')


def parse_samples(text):
    """[(name, {label: value}, float)] of every sample line; # lines ignored."""
    samples = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = _SAMPLE.fullmatch(line)
        if not m:
            raise ValueError(f"not a Prometheus sample line: {line!r}")
        labels = {}
        if m.group(2):
            rest = m.group(2)
            for lm in _LABEL.finditer(rest):
                labels[lm.group(1)] = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)),
                                             lm.group(2))
            if not _LABELS.fullmatch(rest):
                raise ValueError(f"bad labels in {line!r}")
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


def metric(samples, name, **labels):
    """The sum of the samples called name whose labels include labels; None if none."""
    values = [v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items())]
    return sum(values) if values else None
