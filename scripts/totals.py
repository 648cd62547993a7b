"""Sum ctest and pytest results (and fuzz/build outcomes) into one closing line."""
import glob
import re
import sys
import xml.etree.ElementTree as ET

res, extra_fail, fuzz_pass = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
passed, failed, skipped = fuzz_pass, extra_fail, 0
for path in glob.glob(res + "/ctest-*.txt"):
    text = open(path).read()
    m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", text)
    if not m:
        failed += 1
        continue
    f, total = int(m.group(2)), int(m.group(3))
    passed += total - f
    failed += f
for path in glob.glob(res + "/pytest-*.xml"):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        failed += 1
        continue
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for s in suites:
        t, e, fl, sk = (int(s.get(k, 0)) for k in ("tests", "errors", "failures", "skipped"))
        passed += t - e - fl - sk
        failed += e + fl
        skipped += sk
if not glob.glob(res + "/pytest-*.xml"):
    failed += 1
print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
