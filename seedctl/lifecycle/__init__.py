"""After apply: following the job (status, deadlines), checking what arrived (verify), sending the
rest again (repair) and cleaning up (destroy). See docs/lifecycle.md.

The exit codes of these commands are kept here, in one place, so CI can alert on them; 2 is left
to `plan --detailed-exitcode`.
"""

from __future__ import annotations

from enum import IntEnum


class LifecycleExit(IntEnum):
    OK = 0          # on track / verified / done
    ERROR = 1       # seedctl could not do what was asked, or verify found a mismatch
    ATTENTION = 3   # the operator must act soon: deadline within 3 days, a drive or blob failed, ...
    CRITICAL = 4    # the shipping deadline has passed, or the job failed


JSON_VERSION = 1
