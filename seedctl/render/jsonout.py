"""The plan as JSON: the documented, versioned format (docs/plan-format.md, schemas/plan.schema.json).

It is `plan.to_dict()` made safe and stable: sensitive values masked (and hunted out of free text),
free-form values with sorted keys, structural keys in their documented order, ASCII only, two-space
indent, a final newline. The same plan always gives the same bytes.
"""

from __future__ import annotations

import json

from seedctl.plan import Plan
from seedctl.render._common import safe_view

__all__ = ["render_json"]


def render_json(plan: Plan) -> str:
    return json.dumps(safe_view(plan), indent=2, ensure_ascii=True, allow_nan=False) + "\n"
