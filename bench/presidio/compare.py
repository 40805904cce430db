#!/usr/bin/env python3
"""Head-to-head: Microsoft Presidio vs datavern's PII detector on Norwegian text.

Both tools are run over the same labelled synthetic corpus (written by
`cargo run --release -p datavern-core --example pii_corpus`) and scored with one evaluator,
a line-for-line mirror of `datavern_core::pii::corpus::evaluate` (exact span + accepted kind).
Throughput is measured single-threaded on one core for both.

Presidio setup (see README.md for the reasoning):

* NLP engine: a *blank* spaCy pipeline, `spacy.blank("nb")` (tokenizer, Norwegian stop words
  and punctuation flags; no model download, no NER), plus one tiny component that copies each
  token's text into its lemma, so Presidio's lemma-based context enhancer has something to
  compare against (a blank pipeline leaves every lemma empty, which silently disables context).
* Recognizers, all for language "nb":
  - NO_FODSELSNUMMER: a PatternRecognizer, regex `\\b[0-9]{6} ?[0-9]{5}\\b` (11 digits, or
    6 + 5 split by one space), `validate_result` = the same checks as datavern's
    `Fodselsnummer::from_digits` (K1 classic or 2032 rule, K2, date with D/H/Tenor offsets,
    FH-nummer); context words fødselsnummer, fnr, personnummer.
  - EMAIL_ADDRESS: Presidio's EmailRecognizer (tldextract with its bundled suffix list).
  - IBAN_CODE: Presidio's IbanRecognizer (mod 97 + per-country format).
  - PHONE_NUMBER: Presidio's PhoneRecognizer with supported_regions=("NO",).
* Two setups: "fnr only" (the one-Norwegian-recognizer setup) and "fnr + built-ins".
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import ClassVar

# --------------------------------------------------------------------------------------------
# Corpus and scoring (no Presidio needed)
# --------------------------------------------------------------------------------------------

#: The corpus's kinds, in `IdentifierKind::ALL` order.
ALL_KINDS = ["fnr", "duf", "orgnr", "mva", "kontonr", "iban", "phone", "postnummer", "email"]

#: Presidio entity type -> corpus kind.
PRESIDIO_KIND = {
    "NO_FODSELSNUMMER": "fnr",
    "EMAIL_ADDRESS": "email",
    "IBAN_CODE": "iban",
    "PHONE_NUMBER": "phone",
}


@dataclass(frozen=True)
class Span:
    """A labelled identifier or a finding, in code-point offsets."""

    kind: str
    start: int
    end: int
    also_accepted: str | None = None


@dataclass
class Record:
    text: str
    labels: list[Span]


def load_corpus(path: Path, limit: int | None = None) -> list[Record]:
    records = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            raw = json.loads(line)
            labels = [
                Span(l["kind"], l["char_start"], l["char_end"], l.get("also_accepted"))
                for l in raw["labels"]
            ]
            records.append(Record(raw["text"], labels))
            if limit is not None and len(records) >= limit:
                break
    return records


@dataclass
class KindCounts:
    labels: int = 0  # labels of this kind
    found: int = 0  # of those, matched by a finding of an accepted kind
    findings: int = 0  # findings of this kind
    correct: int = 0  # of those, matching a label that accepts this kind

    def recall(self) -> float:
        return self.found / self.labels if self.labels else 1.0

    def precision(self) -> float:
        return self.correct / self.findings if self.findings else 1.0

    def __add__(self, other: KindCounts) -> KindCounts:
        return KindCounts(
            self.labels + other.labels,
            self.found + other.found,
            self.findings + other.findings,
            self.correct + other.correct,
        )


@dataclass
class Evaluation:
    records: int = 0
    per_kind: dict[str, KindCounts] = field(
        default_factory=lambda: {k: KindCounts() for k in ALL_KINDS}
    )

    def over(self, kinds: Iterable[str]) -> KindCounts:
        total = KindCounts()
        for kind in kinds:
            total = total + self.per_kind[kind]
        return total


def same_span(a: Span, b: Span) -> bool:
    return a.start == b.start and a.end == b.end


def overlapping(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def evaluate(
    records: list[Record],
    findings: list[list[Span]],
    matches: Callable[[Span, Span], bool] = same_span,
) -> Evaluation:
    """Mirror of `corpus::evaluate`: a label is found when a finding with the same span
    (`matches`) has the label's kind or its `also_accepted` kind; a finding is correct when a
    label with the same span has the finding's kind or accepts it. Recall is counted under the
    label's kind, precision under the finding's kind. `overlapping` instead of `same_span` gives
    the lenient variant (not what the Rust evaluation does)."""
    evaluation = Evaluation(records=len(records))
    for record, found in zip(records, findings, strict=True):
        for label in record.labels:
            counts = evaluation.per_kind[label.kind]
            counts.labels += 1
            accepted = (label.kind, label.also_accepted)
            if any(matches(f, label) and f.kind in accepted for f in found):
                counts.found += 1
        for finding in found:
            counts = evaluation.per_kind[finding.kind]
            counts.findings += 1
            if any(
                matches(finding, l) and finding.kind in (l.kind, l.also_accepted)
                for l in record.labels
            ):
                counts.correct += 1
    return evaluation


# --------------------------------------------------------------------------------------------
# Fødselsnummer validation (mirrors crates/datavern-core/src/id/fnr.rs)
# --------------------------------------------------------------------------------------------

K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def fodselsnummer_valid(text: str, allow_2032: bool = True) -> bool:
    """Whether `text` (11 ASCII digits, optionally with spaces) is a valid fødselsnummer,
    D-, H-, Tenor, Tenor D- or FH-nummer, by the same rules as `Fodselsnummer::from_digits`:

    * K1: (S1 + K1) mod 11 == 0 (classic), or in {1, 2, 3} (Skatteetaten's rule for numbers
      issued from 2032; `allow_2032=False` accepts the classic rule only);
    * K2: (S2 + K2) mod 11 == 0 over digits 1-10 (both rules);
    * FH-nummer: first digit 8 or 9, no date;
    * otherwise the date must exist: day 1-31 (+40 for D-nummer), month 1-12 (+40 for
      H-nummer, +80 for Tenor), not D and H together, day within the month, 29 February only
      in years divisible by 4 (the century is not checked)."""
    d = [ord(c) - 48 for c in text if c != " "]
    if len(d) != 11 or any(x < 0 or x > 9 for x in d):
        return False
    s1 = sum(w * x for w, x in zip(K1_WEIGHTS, d))
    r1 = (s1 + d[9]) % 11
    if not (r1 == 0 or (allow_2032 and r1 in (1, 2, 3))):
        return False
    s2 = sum(w * x for w, x in zip(K2_WEIGHTS, d))
    if (s2 + d[10]) % 11 != 0:
        return False
    if d[0] >= 8:
        return True  # FH-nummer
    raw_day, raw_month, year = d[0] * 10 + d[1], d[2] * 10 + d[3], d[4] * 10 + d[5]
    d_nummer = raw_day > 40
    day = raw_day - 40 if d_nummer else raw_day
    if 1 <= raw_month <= 12:
        month, offset = raw_month, 0
    elif 41 <= raw_month <= 52:
        month, offset = raw_month - 40, 40
    elif 81 <= raw_month <= 92:
        month, offset = raw_month - 80, 80
    else:
        return False
    if day == 0 or day > 31:
        return False
    if d_nummer and offset == 40:
        return False  # D-nummer with an H-nummer month
    if month == 2:
        days = 29 if year % 4 == 0 else 28
    elif month in (4, 6, 9, 11):
        days = 30
    else:
        days = 31
    return day <= days


# --------------------------------------------------------------------------------------------
# Presidio
# --------------------------------------------------------------------------------------------

LANGUAGE = "nb"
FNR_CONTEXT = ["fødselsnummer", "fnr", "personnummer"]


def build_presidio(setup: str, allow_2032: bool = True):
    """An AnalyzerEngine for `setup` ("fnr" or "full") and the entity types it reports."""
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        EmailRecognizer,
        IbanRecognizer,
        PhoneRecognizer,
    )
    from spacy.language import Language

    # tldextract (EmailRecognizer.validate_result) would try to download the Public Suffix
    # List on first use; this machine reaches no such host. Use the snapshot it ships.
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())

    if not Language.has_factory("text_as_lemma"):

        @Language.component("text_as_lemma")
        def text_as_lemma(doc):
            for token in doc:
                token.lemma_ = token.text
            return doc

    class BlankSpacyNlpEngine(SpacyNlpEngine):
        """SpacyNlpEngine over `spacy.blank(lang)`: nothing to download, no NER."""

        def __init__(self, lang: str):
            super().__init__(
                models=[{"lang_code": lang, "model_name": f"blank:{lang}"}],
                ner_model_configuration=NerModelConfiguration(),
            )

        def load(self) -> None:
            self.nlp = {}
            for model in self.models:
                nlp = spacy.blank(model["lang_code"])
                nlp.add_pipe("text_as_lemma")
                self.nlp[model["lang_code"]] = nlp

    class FodselsnummerRecognizer(PatternRecognizer):
        PATTERNS: ClassVar[list] = [
            Pattern("fødselsnummer (11 digits, or 6 + 5)", r"\b[0-9]{6} ?[0-9]{5}\b", 0.5)
        ]

        def __init__(self):
            super().__init__(
                supported_entity="NO_FODSELSNUMMER",
                patterns=self.PATTERNS,
                context=FNR_CONTEXT,
                supported_language=LANGUAGE,
                name="NoFodselsnummerRecognizer",
            )

        def validate_result(self, pattern_text: str) -> bool:
            return fodselsnummer_valid(pattern_text, allow_2032)

    recognizers = [FodselsnummerRecognizer()]
    if setup == "full":
        recognizers += [
            EmailRecognizer(
                supported_language=LANGUAGE, context=["email", "e-post", "epost", "mail"]
            ),
            IbanRecognizer(
                supported_language=LANGUAGE, context=["iban", "bank", "transaction", "konto"]
            ),
            PhoneRecognizer(
                supported_language=LANGUAGE,
                supported_regions=("NO",),
                context=PhoneRecognizer.CONTEXT + ["telefon", "tlf", "mobil", "ring", "sms"],
            ),
        ]
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in recognizers:
        registry.add_recognizer(recognizer)
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=BlankSpacyNlpEngine(LANGUAGE),
        supported_languages=[LANGUAGE],
    )
    entities = [e for r in recognizers for e in r.supported_entities]
    return engine, entities


def presidio_findings(engine, entities, texts: list[str], threshold: float) -> list[list[Span]]:
    out = []
    for text in texts:
        results = engine.analyze(
            text=text, language=LANGUAGE, entities=entities, score_threshold=threshold
        )
        out.append([Span(PRESIDIO_KIND[r.entity_type], r.start, r.end) for r in results])
    return out


def time_presidio(engine, entities, texts: list[str], threshold: float) -> float:
    """Seconds for one pass of `analyze` over `texts` (after a short warm-up)."""
    for text in texts[:200]:
        engine.analyze(text=text, language=LANGUAGE, entities=entities, score_threshold=threshold)
    gc.collect()
    started = time.perf_counter()
    for text in texts:
        engine.analyze(text=text, language=LANGUAGE, entities=entities, score_threshold=threshold)
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------------
# datavern
# --------------------------------------------------------------------------------------------


def run_datavern(example: Path, corpus: Path, findings_out: Path | None) -> dict:
    command = [str(example), str(corpus)]
    if findings_out is not None:
        command += ["--findings", str(findings_out)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def load_datavern_findings(path: Path) -> list[list[Span]]:
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            raw = json.loads(line)
            out.append([Span(x["kind"], x["char_start"], x["char_end"]) for x in raw["findings"]])
    return out


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


def per_kind_table(title: str, evaluation: Evaluation, kinds: list[str]) -> str:
    lines = [
        f"{title}",
        "",
        "| kind | labels | findings | precision | recall |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind in kinds:
        c = evaluation.per_kind[kind]
        lines.append(
            f"| {kind} | {c.labels} | {c.findings} | {c.precision():.4f} | {c.recall():.4f} |"
        )
    c = evaluation.over(kinds)
    lines.append(
        f"| **all of these** | {c.labels} | {c.findings} | {c.precision():.4f} | {c.recall():.4f} |"
    )
    return "\n".join(lines)


def pin_to_cpu(cpu: int) -> str:
    if cpu < 0:
        return "not pinned"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})  # inherited by the datavern subprocess
        return f"pinned to CPU {cpu} (sched_setaffinity, as `taskset -c {cpu}`)"
    return "not pinned (no sched_setaffinity on this platform)"


@dataclass
class Config:
    """One Presidio configuration to measure."""

    setup: str  # "fnr" or "full"
    threshold: float
    description: str
    kinds: list[str]


def phone_in_numbering_plan(value: str) -> bool:
    """Whether python-phonenumbers (Presidio's phone validator) calls the number a valid
    Norwegian one: the corpus draws phone numbers from the first digit of the numbering plan
    only, so some fall in ranges that are not allocated."""
    import phonenumbers

    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, "NO"))
    except phonenumbers.NumberParseException:
        return False


def email_domain_registrable(value: str) -> bool:
    """Whether the address's domain is more than a public suffix (`x@kommune.no` is not:
    kommune.no is on the Public Suffix List, and Presidio's EmailRecognizer rejects it)."""
    import tldextract

    return tldextract.extract(value).fqdn != ""


def recall_where(
    records: list[Record], findings: list[list[Span]], kind: str, keep: Callable[[str], bool]
) -> tuple[int, int]:
    """(found, labels) for labels of `kind` whose text satisfies `keep` (exact span)."""
    found = labels = 0
    for record, spans in zip(records, findings, strict=True):
        for label in record.labels:
            if label.kind != kind or not keep(record.text[label.start : label.end]):
                continue
            labels += 1
            accepted = (label.kind, label.also_accepted)
            found += any(same_span(f, label) and f.kind in accepted for f in spans)
    return found, labels


def false_positives(
    records: list[Record], findings: list[list[Span]], kinds: list[str]
) -> dict[str, tuple[dict[str, int], dict[str, int], int]]:
    """For each finding kind in `kinds`: the incorrect findings, by what they hit: a label of
    another kind with the same span, a label they only overlap, or no label."""
    out: dict[str, tuple[dict[str, int], dict[str, int], int]] = {}
    for record, spans in zip(records, findings, strict=True):
        for f in spans:
            if f.kind not in kinds:
                continue
            if any(same_span(f, l) and f.kind in (l.kind, l.also_accepted) for l in record.labels):
                continue
            same, overlap, none = out.setdefault(f.kind, ({}, {}, 0))
            exact = next((l for l in record.labels if same_span(f, l)), None)
            near = next((l for l in record.labels if overlapping(f, l)), None)
            if exact is not None:
                same[exact.kind] = same.get(exact.kind, 0) + 1
            elif near is not None:
                overlap[near.kind] = overlap.get(near.kind, 0) + 1
            else:
                out[f.kind] = (same, overlap, none + 1)
    return out


def main() -> int:
    here = Path(__file__).resolve().parent
    repo = here.parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="accuracy corpus (JSONL)")
    parser.add_argument(
        "--speed-corpus",
        type=Path,
        help="corpus for throughput (default: --corpus); e.g. the benchmark's padded mix",
    )
    parser.add_argument(
        "--presidio-speed-records",
        type=int,
        default=None,
        help="time Presidio on the first N records of the speed corpus only (default: all)",
    )
    parser.add_argument(
        "--datavern-example",
        type=Path,
        default=repo / "target" / "release" / "examples" / "pii_throughput",
        help="the built pii_throughput example",
    )
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin to (-1: don't pin)")
    parser.add_argument(
        "--extra-threshold",
        type=float,
        default=0.5,
        help="also measure the full Presidio setup at this score_threshold (<= 0: don't)",
    )
    parser.add_argument(
        "--classic-only",
        action="store_true",
        help="Presidio fnr validator accepts only the classic K1 rule (not the 2032 rule)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path.home() / ".cache" / "datavern",
        help="where datavern's findings are written",
    )
    parser.add_argument("--json-out", type=Path, help="write every number measured as JSON")
    args = parser.parse_args()

    speed_corpus = args.speed_corpus or args.corpus
    if not args.datavern_example.exists():
        print(
            f"{args.datavern_example} not found: build it with\n"
            "  cargo build --release -p datavern-core --example pii_throughput",
            file=sys.stderr,
        )
        return 2
    args.work_dir.mkdir(parents=True, exist_ok=True)
    pinning = pin_to_cpu(args.cpu)

    records = load_corpus(args.corpus)
    texts = [r.text for r in records]
    speed_texts = [r.text for r in load_corpus(speed_corpus, args.presidio_speed_records)]
    speed_bytes = sum(len(t.encode("utf-8")) for t in speed_texts)
    accuracy_bytes = sum(len(t.encode("utf-8")) for t in texts)

    fnr_only = ["fnr"]
    four = ["fnr", "email", "iban", "phone"]
    configs = [
        Config("fnr", 0.0, "fnr only: PatternRecognizer + mod-11 `validate_result`", fnr_only),
        Config("full", 0.0, "fnr + EMAIL_ADDRESS + IBAN_CODE + PHONE_NUMBER (NO)", four),
    ]
    if args.extra_threshold > 0:
        configs.append(
            Config(
                "full",
                args.extra_threshold,
                f"same, `score_threshold={args.extra_threshold}`",
                four,
            )
        )

    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "pinning": pinning,
        },
        "versions": {
            p: metadata.version(p)
            for p in ["presidio-analyzer", "spacy", "phonenumbers", "tldextract", "regex"]
        },
        "corpus": {
            "accuracy": str(args.corpus),
            "accuracy_records": len(records),
            "accuracy_bytes": accuracy_bytes,
            "speed": str(speed_corpus),
            "presidio_speed_records": len(speed_texts),
            "presidio_speed_bytes": speed_bytes,
        },
        "presidio": [],
    }

    # datavern: findings on the accuracy corpus; throughput on both corpora.
    findings_path = args.work_dir / "datavern-findings.jsonl"
    datavern_on_accuracy = run_datavern(args.datavern_example, args.corpus, findings_path)
    datavern_speed = run_datavern(args.datavern_example, speed_corpus, None)
    datavern_found = load_datavern_findings(findings_path)
    datavern_eval = evaluate(records, datavern_found)
    datavern_eval_overlap = evaluate(records, datavern_found, overlapping)
    results["datavern"] = {"speed": datavern_speed, "on_accuracy_corpus": datavern_on_accuracy}

    measured = []  # (config, strict, lenient, found, speed dict)
    engines: dict = {}
    for config in configs:
        if config.setup not in engines:
            engines[config.setup] = build_presidio(config.setup, not args.classic_only)
        engine, entities = engines[config.setup]
        started = time.perf_counter()
        found = presidio_findings(engine, entities, texts, config.threshold)
        accuracy_seconds = time.perf_counter() - started
        speed_seconds = time_presidio(engine, entities, speed_texts, config.threshold)
        speed = {
            "records_per_s": len(speed_texts) / speed_seconds,
            "mb_per_s": speed_bytes / speed_seconds / 1e6,
            "on_accuracy_corpus_records_per_s": len(texts) / accuracy_seconds,
        }
        strict, lenient = evaluate(records, found), evaluate(records, found, overlapping)
        measured.append((config, strict, lenient, found, speed))
        results["presidio"].append(
            {
                "setup": config.setup,
                "score_threshold": config.threshold,
                "entities": entities,
                **speed,
                "per_kind": {k: vars(strict.per_kind[k]) for k in config.kinds},
                "per_kind_overlap": {k: vars(lenient.per_kind[k]) for k in config.kinds},
            }
        )
        print(
            f"presidio {config.setup} (threshold {config.threshold}): {len(speed_texts)} records "
            f"in {speed_seconds:.1f} s",
            file=sys.stderr,
        )
    results["datavern"]["per_kind"] = {k: vars(datavern_eval.per_kind[k]) for k in ALL_KINDS}

    # ---- Markdown ----
    versions = ", ".join(f"{k} {v}" for k, v in results["versions"].items())
    out = [
        f"Accuracy: all {len(records)} records of `{args.corpus.name}` "
        f"({accuracy_bytes / len(records):.1f} bytes/record), exact span + accepted kind "
        f"(as `corpus::evaluate`; the overlap columns relax the span). "
        f"Throughput: `{speed_corpus.name}`, Presidio on {len(speed_texts)} records "
        f"({speed_bytes / len(speed_texts):.1f} bytes/record), datavern on "
        f"{datavern_speed['records']} (median of {datavern_speed['samples']} samples); "
        f"single thread, {pinning}. "
        f"{versions}; Python {platform.python_version()}."
        + (" Presidio fnr: classic K1 rule only." if args.classic_only else ""),
        "",
        (
            "| tool | setup | kinds scored | records/s | MB/s | precision | recall "
            "| precision (overlap) | recall (overlap) |"
        ),
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows = []
    for config, strict, lenient, _, speed in measured:
        rows.append(
            (
                "Presidio",
                config.description,
                config.kinds,
                speed["records_per_s"],
                speed["mb_per_s"],
                strict.over(config.kinds),
                lenient.over(config.kinds),
            )
        )
    for kinds in (fnr_only, four):
        rows.append(
            (
                "datavern",
                "`Detector::new()` (all 9 kinds detected, these scored)",
                kinds,
                datavern_speed["records_per_s"],
                datavern_speed["mb_per_s"],
                datavern_eval.over(kinds),
                datavern_eval_overlap.over(kinds),
            )
        )
    for tool, description, kinds, rps, mbps, s, l in rows:
        out.append(
            f"| {tool} | {description} | {', '.join(kinds)} | {fmt_rate(rps)} | {mbps:.3g} "
            f"| {s.precision():.4f} | {s.recall():.4f} | {l.precision():.4f} | {l.recall():.4f} |"
        )
    out.append("")
    for config, _, _, _, speed in measured:
        ratio = datavern_speed["records_per_s"] / speed["records_per_s"]
        ratio_accuracy = (
            datavern_on_accuracy["records_per_s"] / speed["on_accuracy_corpus_records_per_s"]
        )
        out.append(
            f"- datavern ÷ Presidio ({config.description}): **{ratio:,.0f}×** records/s "
            f"(on `{args.corpus.name}`: {ratio_accuracy:,.0f}×, Presidio "
            f"{fmt_rate(speed['on_accuracy_corpus_records_per_s'])} vs datavern "
            f"{fmt_rate(datavern_on_accuracy['records_per_s'])} records/s)"
        )
    out.append("")
    for config, strict, _, _, _ in measured:
        out.append(per_kind_table(f"Presidio, {config.description}:", strict, config.kinds))
        out.append("")
    out.append(
        per_kind_table(
            "datavern, every kind (must equal `pii_corpus --eval` on the same corpus):",
            datavern_eval,
            ALL_KINDS,
        )
    )
    out.append("")

    # Where the corpus and Presidio's validators disagree about what is valid at all.
    full = next((m for m in measured if m[0].setup == "full" and m[0].threshold == 0), None)
    if full is not None:
        found = full[3]
        diagnostics = [
            (
                "phone",
                ("valid NO number for phonenumbers", "unallocated range for phonenumbers"),
                phone_in_numbering_plan,
            ),
            (
                "email",
                ("registrable domain", "domain is a public suffix (`@kommune.no`)"),
                email_domain_registrable,
            ),
        ]
        out.append("Recall on labels Presidio's own validators accept (full setup, exact span):")
        out.append("")
        out.append("| kind | subset | labels | Presidio recall | datavern recall |")
        out.append("|---|---|---:|---:|---:|")
        results["subsets"] = {}
        for kind, (yes, no), keep in diagnostics:
            for label_name, predicate in ((yes, keep), (no, lambda v, k=keep: not k(v))):
                p_found, n = recall_where(records, found, kind, predicate)
                d_found, _ = recall_where(records, datavern_found, kind, predicate)
                results["subsets"][f"{kind}: {label_name}"] = {
                    "labels": n,
                    "presidio_found": p_found,
                    "datavern_found": d_found,
                }
                p = f"{p_found / n:.4f}" if n else "–"
                d = f"{d_found / n:.4f}" if n else "–"
                out.append(f"| {kind} | {label_name} | {n} | {p} | {d} |")
        out.append("")
        out.append("What the false positives were (full setup vs datavern, exact span):")
        out.append("")
        out.append(
            "| tool | finding kind | on a label of kind (same span) | overlapping a label of kind | on unlabelled text |"
        )
        out.append("|---|---|---|---|---:|")
        for tool, spans in (("Presidio", found), ("datavern", datavern_found)):
            wrong = false_positives(records, spans, four)
            if not wrong:
                out.append(f"| {tool} | none | – | – | 0 |")
            for kind, (same, overlap, none) in wrong.items():
                show = lambda d: ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "–"
                out.append(f"| {tool} | {kind} | {show(same)} | {show(overlap)} | {none} |")
    print("\n".join(out))

    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
