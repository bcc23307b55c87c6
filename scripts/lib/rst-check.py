#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: the Documentation/ pages are kernel-style rst read
# by Sphinx; a malformed table or an unterminated literal silently renders
# as garbage.  This parses each page with docutils (Debian's
# python3-docutils), standing in for the two Sphinx-only constructs the
# pages use (:doc: and toctree), and fails on any warning.
#
#   scripts/lib/rst-check.py Documentation/*.rst
import sys

from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import Directive, directives, roles


def doc_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    return [nodes.literal(rawtext, text)], []


class TocTree(Directive):
    has_content = True
    option_spec = {'maxdepth': directives.unchanged}

    def run(self):
        return []


roles.register_local_role('doc', doc_role)
directives.register_directive('toctree', TocTree)

bad = 0
for path in sys.argv[1:]:
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        publish_doctree(text, source_path=path,
                        settings_overrides={'halt_level': 2,
                                            'report_level': 2,
                                            'warning_stream': False})
    except Exception as e:  # docutils raises SystemMessage on halt
        print(f'{path}: {e}')
        bad = 1
print(f'{len(sys.argv) - 1} pages checked')
sys.exit(bad)
