#!/usr/bin/python3
"""Print one "N passed, N failed, N skipped" line for meson test logs (JSON lines).

Each test program is counted by its cases where its output says how many there were:
TAP lines ("ok", "not ok", with "# SKIP") for GTest, gjs and Vala programs, and pytest's
closing line for Python tests. A program whose output has neither counts as one case.
"""

import json
import re
import sys

PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|skipped|error|errors|xfailed|xpassed)\b")
TAP_LINE = re.compile(r"^(not ok|ok)\b(.*)$", re.MULTILINE)


def count_cases(entry):
    """Return (passed, failed, skipped) for one meson test entry."""
    stdout = entry.get("stdout") or ""
    result = entry.get("result")

    tap_lines = TAP_LINE.findall(stdout)
    if tap_lines:
        passed = failed = skipped = 0
        for status, rest in tap_lines:
            if "# SKIP" in rest.upper():
                skipped += 1
            elif status == "ok":
                passed += 1
            else:
                failed += 1
        # A program that crashed after some cases still failed as a whole.
        if result not in ("OK", "SKIP", "EXPECTEDFAIL") and failed == 0:
            failed = 1
        return passed, failed, skipped

    closing = [line for line in stdout.splitlines() if PYTEST_COUNT.search(line) and " in " in line]
    if closing:
        counts = {kind: int(number) for number, kind in PYTEST_COUNT.findall(closing[-1])}
        failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
        if result not in ("OK", "SKIP", "EXPECTEDFAIL") and failed == 0:
            failed = 1
        return counts.get("passed", 0) + counts.get("xfailed", 0), failed, counts.get("skipped", 0)

    if result in ("OK", "EXPECTEDFAIL"):
        return 1, 0, 0
    if result == "SKIP":
        return 0, 0, 1
    return 0, 1, 0


def main():
    passed = failed = skipped = 0
    for path in sys.argv[1:]:
        try:
            with open(path, encoding="utf-8") as log:
                for line in log:
                    case_passed, case_failed, case_skipped = count_cases(json.loads(line))
                    passed += case_passed
                    failed += case_failed
                    skipped += case_skipped
        except FileNotFoundError:
            print(f"summarize-tests: no test log at {path}", file=sys.stderr)
            failed += 1

    print(f"{passed} passed, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
    main()
