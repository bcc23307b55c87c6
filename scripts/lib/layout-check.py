#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Why this file exists: the shape the tree promised to keep, checked.

The tests are kernel-sized (selftests/ at most 7,000 lines, no test file
over 650 lines, no C function over 80 lines; selftests/net/ is what the
series adds upstream and is left out), and the scripts do not repeat
themselves (at most 10 runs of six or more lines shared by two places in
scripts/, .ci/, selftests/ and module/ shell files, extensionless scripts
included), and the README stays a front door of at most 120 lines.
Prints one line per limit and every offender; exits 1 when a
limit is passed.

  scripts/lib/layout-check.py [--verbose]

Run from the top of the repository (git ls-files names the files).
"""
import os
import re
import subprocess
import sys

LIMITS = {'selftests_lines': 7000, 'test_file_lines': 650,
          'function_lines': 80, 'repeated_runs': 10, 'readme_lines': 120}
RUN = 6


def tracked(*paths):
    out = subprocess.run(['git', 'ls-files', '--', *paths], check=True,
                         capture_output=True, text=True).stdout
    return [p for p in out.splitlines() if os.path.isfile(p)]


def lines_of(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        return f.read().splitlines()


def functions(path):
    """(name, first line, length) of each function: kernel style, the
    body's braces at column 0."""
    src = lines_of(path)
    start = None
    for i, line in enumerate(src):
        if line == '{':
            start = i
        elif line.startswith('}') and start is not None:
            j = start - 1
            while j > 0 and not re.match(r'[A-Za-z_]', src[j]):
                j -= 1
            m = re.search(r'(\w+)\s*\(', src[j]) if j >= 0 else None
            yield (m.group(1) if m else '?'), start, i - start - 1
            start = None


def is_shell(path):
    if path.endswith('.sh'):
        return True
    if '.' in os.path.basename(path):
        return False
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return re.match(r'#!.*\b(ba)?sh\b', f.readline()) is not None
    except OSError:
        return False


def norm(line):
    s = line.strip()
    if not s or s.startswith('#') or re.fullmatch(r'[{}()\[\];&|]*|done|fi|esac|;;|else|do|then', s):
        return None
    return re.sub(r'\s+', ' ', s)


def repeated_runs(files):
    """Runs of RUN or more significant lines that stand in two places:
    each maximal run counted once per pair of places."""
    seqs = {}
    for p in files:
        kept = [(i + 1, n) for i, l in enumerate(lines_of(p))
                for n in [norm(l)] if n]
        seqs[p] = kept
    index = {}
    for p, kept in seqs.items():
        for k in range(len(kept) - RUN + 1):
            key = tuple(n for _, n in kept[k:k + RUN])
            index.setdefault(key, []).append((p, k))
    pairs = {}
    for places in index.values():
        if len(places) < 2:
            continue
        for a in range(len(places)):
            for b in range(a + 1, len(places)):
                pa, ka = places[a]
                pb, kb = places[b]
                if pa == pb and abs(ka - kb) < RUN:
                    continue
                pairs.setdefault((pa, pb, ka - kb), []).append((ka, kb))
    runs = []
    for (pa, pb, _), starts in pairs.items():
        starts.sort()
        first = prev = starts[0]
        for s in starts[1:] + [None]:
            if s is not None and s[0] == prev[0] + 1:
                prev = s
                continue
            la = seqs[pa][first[0]][0]
            lb = seqs[pb][first[1]][0]
            runs.append(f'{pa}:{la} ~ {pb}:{lb} ({prev[0] - first[0] + RUN} lines)')
            if s is not None:
                first = prev = s
    return sorted(runs)


def main():
    verbose = '--verbose' in sys.argv[1:]
    bad = sys.argv[1:] and sys.argv[1:] != ['--verbose']
    if bad:
        print('layout-check: usage: scripts/lib/layout-check.py [--verbose]', file=sys.stderr)
        return 2
    failed = False

    def limit(name, value, offenders):
        nonlocal failed
        over = value > LIMITS[name]
        failed |= over
        print(f"{'FAIL' if over else 'ok  '} {name}: {value} (limit {LIMITS[name]})")
        for o in offenders if (over or verbose) else []:
            print(f'       {o}')

    ours = [p for p in tracked('selftests') if not p.startswith('selftests/net/')]
    total = sum(len(lines_of(p)) for p in ours)
    limit('selftests_lines', total, [])
    tests = [p for p in ours if p.endswith('.c') and '/lib/' not in p]
    sizes = sorted(((len(lines_of(p)), p) for p in tests), reverse=True)
    limit('test_file_lines', sizes[0][0] if sizes else 0,
          [f'{p}: {n}' for n, p in sizes if n > LIMITS['test_file_lines']])
    fns = sorted(((n, f'{p}:{s + 1} {name}') for p in tracked('selftests', 'tools')
                  if p.endswith('.c') and not p.startswith('selftests/net/')
                  for name, s, n in functions(p)), reverse=True)
    limit('function_lines', fns[0][0] if fns else 0,
          [f'{w}: {n}' for n, w in fns if n > LIMITS['function_lines']])
    shells = [p for p in tracked('scripts', '.ci', 'selftests', 'module', 'tools')
              if is_shell(p)]
    runs = repeated_runs(shells)
    limit('repeated_runs', len(runs), runs)
    readme = len(lines_of('README.md'))
    limit('readme_lines', readme,
          [f'README.md: {readme}'] if readme > LIMITS['readme_lines'] else [])
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
