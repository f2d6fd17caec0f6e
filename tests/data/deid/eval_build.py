#!/usr/bin/env python3
"""Build tests/data/deid/eval.jsonl from the hand-labelled tests/data/deid/eval.src.txt.

Source format (see eval_README.md):
  * lines starting with "%%" are comments and are dropped;
  * records are separated by a line consisting only of "---";
  * leading/trailing blank lines of a record are dropped, everything else is kept verbatim;
  * a PHI span is written inline as  ⟦type|span text⟧  (U+27E6 ... U+27E7).

Output: one JSON object per line
  {"id": "r001", "text": "...", "spans": [{"start": S, "end": E, "type": "T"}]}
with start/end as code-point offsets into text, end exclusive, ensure_ascii=False.

Validation (the build fails with a non-zero exit status on any error):
  * markup balanced, not nested, type present and from the allowed list, span text
    non-empty with no leading/trailing whitespace;
  * every id_number span is 18 characters (after NFKC, so full-width digits are accepted)
    with a valid GB 11643-1999 / ISO 7064 MOD 11-2 check character and a plausible birth date;
  * every phone span contains 7-16 digits, every age span denotes an age > 89;
  * unlabelled text must not contain an 18-character sequence with a valid ID checksum
    (that would be a forgotten id_number label);
  * no stray delimiter characters remain in the output text.
Unlabelled 11-digit 1[3-9]xxxxxxxxx sequences are listed as notes (they are expected
only for the documented hard negatives such as specimen barcodes).

Usage: python3 eval_build.py [--src eval.src.txt] [--out eval.jsonl] [--dump]
  --dump prints every span as  id  type  [start,end)  text  for manual review.
"""
import argparse
import datetime
import json
import os
import re
import sys
import unicodedata
from collections import Counter

TYPES = ["name", "id_number", "phone", "address", "record_number", "date", "age", "org"]
OPEN, SEP, CLOSE = "\u27e6", "|", "\u27e7"

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"


def id_checksum_ok(s):
    s = unicodedata.normalize("NFKC", s).upper()
    if len(s) != 18 or not s[:17].isdigit() or s[17] not in "0123456789X":
        return False
    return ID_CHECK[sum(int(c) * w for c, w in zip(s[:17], ID_WEIGHTS)) % 11] == s[17]


def id_birthdate_ok(s):
    s = unicodedata.normalize("NFKC", s)
    try:
        d = datetime.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return datetime.date(1900, 1, 1) <= d <= datetime.date(2024, 12, 31)


CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def parse_age(s):
    """Return the integer age denoted by an age span (Arabic or Chinese numerals)."""
    s = unicodedata.normalize("NFKC", s)
    m = re.search(r"\d+", s)
    if m:
        return int(m.group())
    m = re.search(r"[零〇一二两三四五六七八九十百]+", s)
    if not m:
        return None
    t, total, cur = m.group(), 0, 0
    for ch in t:
        if ch == "百":
            total += (cur or 1) * 100
            cur = 0
        elif ch == "十":
            total += (cur or 1) * 10
            cur = 0
        else:
            cur = CN_DIGITS[ch]
    return total + cur


def split_records(raw):
    lines = [l for l in raw.split("\n") if not l.startswith("%%")]
    blocks, cur = [], []
    for l in lines:
        if l.strip() == "---":
            blocks.append(cur)
            cur = []
        else:
            cur.append(l)
    blocks.append(cur)
    out = []
    for b in blocks:
        while b and not b[0].strip():
            b = b[1:]
        while b and not b[-1].strip():
            b = b[:-1]
        # trailing whitespace on a line carries no meaning; drop it
        b = [l.rstrip() for l in b]
        if b:
            out.append("\n".join(b))
    return out


def parse_record(src, rid, errors):
    text, spans, i = [], [], 0
    n = len(src)
    while i < n:
        ch = src[i]
        if ch == CLOSE:
            errors.append(f"{rid}: stray {CLOSE} at source offset {i}: ...{src[max(0, i-20):i+5]}")
            i += 1
            continue
        if ch != OPEN:
            text.append(ch)
            i += 1
            continue
        j = src.find(CLOSE, i + 1)
        if j < 0:
            errors.append(f"{rid}: unclosed {OPEN} at source offset {i}: {src[i:i+30]}")
            break
        inner = src[i + 1:j]
        if OPEN in inner:
            errors.append(f"{rid}: nested/unbalanced {OPEN} in {inner!r}")
        if SEP not in inner:
            errors.append(f"{rid}: missing '{SEP}' in span {inner!r}")
            i = j + 1
            continue
        typ, val = inner.split(SEP, 1)
        if typ not in TYPES:
            errors.append(f"{rid}: unknown type {typ!r} in span {inner!r}")
        if not val or val != val.strip():
            errors.append(f"{rid}: empty span or span with outer whitespace: {inner!r}")
        if "\n" in val:
            errors.append(f"{rid}: span crosses a line break: {inner!r}")
        start = len(text)
        text.extend(val)
        spans.append({"start": start, "end": len(text), "type": typ})
        i = j + 1
    return "".join(text), spans


def validate_spans(rid, text, spans, errors, notes):
    for sp in spans:
        val, typ = text[sp["start"]:sp["end"]], sp["type"]
        if typ == "id_number":
            if len(val) != 18:
                errors.append(f"{rid}: id_number {val!r} is {len(val)} chars, not 18")
            elif not id_checksum_ok(val):
                errors.append(f"{rid}: id_number {val!r} has an invalid MOD 11-2 checksum")
            elif not id_birthdate_ok(val):
                errors.append(f"{rid}: id_number {val!r} has an impossible birth date")
        elif typ == "phone":
            nd = sum(c.isdigit() for c in unicodedata.normalize("NFKC", val))
            if not 7 <= nd <= 16:
                errors.append(f"{rid}: phone {val!r} has {nd} digits")
        elif typ == "age":
            a = parse_age(val)
            if a is None or a <= 89:
                errors.append(f"{rid}: age span {val!r} does not denote an age > 89")
        elif typ == "date":
            if not re.search(r"\d|[〇一二三四五六七八九十]", val):
                errors.append(f"{rid}: date span {val!r} contains no number")
    for a, b in zip(spans, spans[1:]):
        if b["start"] < a["end"]:
            errors.append(f"{rid}: overlapping spans {a} {b}")
    # unlabelled text: look for forgotten IDs and list mobile-like numbers
    covered = [False] * len(text)
    for sp in spans:
        for k in range(sp["start"], sp["end"]):
            covered[k] = True
    norm = unicodedata.normalize("NFKC", text)
    if len(norm) == len(text):
        for m in re.finditer(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])", norm):
            if not any(covered[m.start():m.end()]) and id_checksum_ok(m.group()):
                errors.append(f"{rid}: unlabelled 18-char sequence with VALID ID checksum: {m.group()}")
        for m in re.finditer(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])", norm):
            if not any(covered[m.start():m.end()]):
                notes.append(f"{rid}: unlabelled mobile-like 11-digit number {m.group()} (hard negative?)")
    for d in (OPEN, CLOSE):
        if d in text:
            errors.append(f"{rid}: delimiter {d} left in text")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.path.join(here, "eval.src.txt"))
    ap.add_argument("--out", default=os.path.join(here, "eval.jsonl"))
    ap.add_argument("--dump", action="store_true", help="print every span for manual review")
    args = ap.parse_args()

    with open(args.src, encoding="utf-8") as f:
        raw = f.read().replace("\r\n", "\n")
    errors, notes, records = [], [], []
    for k, block in enumerate(split_records(raw), 1):
        rid = f"r{k:03d}"
        text, spans = parse_record(block, rid, errors)
        validate_spans(rid, text, spans, errors, notes)
        records.append({"id": rid, "text": text, "spans": spans})

    if args.dump:
        for r in records:
            for sp in r["spans"]:
                print(f"{r['id']}\t{sp['type']:<13}\t[{sp['start']},{sp['end']})\t{r['text'][sp['start']:sp['end']]}")
    for n in notes:
        print("note:", n)
    if errors:
        for e in errors:
            print("ERROR:", e, file=sys.stderr)
        print(f"{len(errors)} error(s); {args.out} not written", file=sys.stderr)
        return 1

    with open(args.out, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    counts = Counter(sp["type"] for r in records for sp in r["spans"])
    print(f"records: {len(records)}")
    for t in TYPES:
        print(f"  {t:<14}{counts.get(t, 0):>5}")
    print(f"  {'TOTAL':<14}{sum(counts.values()):>5}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
