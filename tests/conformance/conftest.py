import sys
from pathlib import Path

# the helpers here import each other as `conformance.*`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
