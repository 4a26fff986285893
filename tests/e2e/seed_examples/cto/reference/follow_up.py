"""Started by sdk.start("follow-up"): it finishes after its caller has returned. It reads the files its
arguments name (`/ops/...` paths, as on CTO.ai's images)."""

import sys
import time

from cto_ai import sdk, ux

time.sleep(1.5)  # sleep-ok: the follow-up must outlive the session that started it
texts = [open(path).read().strip() for path in sys.argv[1:]]
ux.print(f"follow-up ran for {sdk.user()['username']}: {' + '.join(texts)}")
