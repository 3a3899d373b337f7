#!/usr/bin/env python3
"""Extract what @tensorflow/tfjs-node's binding needs from a TensorFlow (>= 2.12) PyPI wheel.

usage: extract-wheel.py <wheel.whl> <out-deps-dir> [source files whose #include "..." to follow]

Writes <out>/lib/libtensorflow_cc.so.2 and <out>/lib/libtensorflow_framework.so.2 (the wheel's
C/C++ runtime; libtensorflow_cc exports the TF_* and TFE_* C API) and <out>/include/<closure of
the #include "..." graph starting at tensorflow/c/c_api.h and tensorflow/c/eager/c_api.h>
plus the wheel headers that the given sources (tfjs-node's binding/*.cc, *.h) include directly
(about 15 headers instead of the wheel's 267 MB include tree). Streams from the zip, so the peak
extra disk use is the size of the two libraries (~850 MB for 2.21).
"""
import os
import re
import shutil
import sys
import zipfile

LIBS = ('libtensorflow_cc.so.2', 'libtensorflow_framework.so.2')
ROOT_HEADERS = ('tensorflow/c/c_api.h', 'tensorflow/c/eager/c_api.h')
INC = 'tensorflow/include/'
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def main() -> int:
    whl, out, sources = sys.argv[1], sys.argv[2], sys.argv[3:]
    z = zipfile.ZipFile(whl)
    names = set(z.namelist())
    extra = []
    for src in sources:
        with open(src, encoding='utf-8', errors='replace') as f:
            extra += [h for h in INCLUDE_RE.findall(f.read()) if INC + h in names]
    missing_libs = [lib for lib in LIBS if 'tensorflow/' + lib not in names]
    if missing_libs:
        print(f'error: {os.path.basename(whl)} has no {", ".join(missing_libs)} '
              '(TensorFlow wheels before 2.12 ship the C API only inside the Python extension)', file=sys.stderr)
        return 2
    os.makedirs(os.path.join(out, 'lib'), exist_ok=True)
    for lib in LIBS:
        dst = os.path.join(out, 'lib', lib)
        with z.open('tensorflow/' + lib) as src, open(dst, 'wb') as f:
            shutil.copyfileobj(src, f, 1 << 20)
        os.chmod(dst, 0o755)

    seen, missing, queue = set(), [], list(ROOT_HEADERS) + extra
    while queue:
        h = queue.pop()
        if h in seen:
            continue
        seen.add(h)
        if INC + h not in names:
            missing.append(h)
            continue
        text = z.read(INC + h)
        dst = os.path.join(out, 'include', h)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, 'wb') as f:
            f.write(text)
        queue.extend(INCLUDE_RE.findall(text.decode('utf-8', 'replace')))
    for h in ROOT_HEADERS:
        if h in missing:
            print(f'error: {os.path.basename(whl)} has no tensorflow/include/{h}', file=sys.stderr)
            return 2
    print(f'extracted {len(LIBS)} libraries and {len(seen) - len(missing)} headers'
          + (f' (not in wheel, probably platform-conditional: {", ".join(sorted(missing))})' if missing else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
