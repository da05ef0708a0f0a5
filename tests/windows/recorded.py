"""Stand-ins for Windows DLLs that answer as the documented Win32 calls do, for the code in
seedctl/win32 (which reaches Windows only through such an object).

Each function is a `Call`: it records its arguments and answers with what the test scripted —
a value, or a function of the arguments that fills the out-parameters the way Windows does
(through `ctypes.byref(...)._obj`). `last_error()` is what GetLastError would return after the
last failing call. The answers are those of the Win32 documentation (return values, error codes,
STILL_ACTIVE, SDDL text as ConvertSecurityDescriptorToStringSecurityDescriptorW prints it);
none was captured on a Windows machine (this project has none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Call:
    """One DLL function: settable restype/argtypes (as on a ctypes function), recorded calls."""

    def __init__(self, dll: FakeDll, name: str, answer: Any) -> None:
        self.dll, self.name, self.answer = dll, name, answer
        self.restype: Any = None
        self.argtypes: Any = None
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> Any:
        self.calls.append(args)
        self.dll.log.append((self.name, args))
        result = self.answer(*args) if callable(self.answer) else self.answer
        if isinstance(result, Fail):
            self.dll.error = result.code
            return result.value
        return result


class Fail:
    """A failing answer: the return value (0, NULL, INVALID_HANDLE_VALUE) and GetLastError's code."""

    def __init__(self, code: int, value: Any = 0) -> None:
        self.code, self.value = code, value


class FakeDll:
    def __init__(self, **answers: Any) -> None:
        self.log: list[tuple[str, tuple[Any, ...]]] = []
        self.error = 0
        self._calls = {name: Call(self, name, answer) for name, answer in answers.items()}

    def __getattr__(self, name: str) -> Call:
        calls = self.__dict__.get("_calls", {})
        if name not in calls:
            raise AttributeError(f"the recorded DLL has no answer for {name}")
        return calls[name]

    def last_error(self) -> int:
        return self.error

    def names(self) -> list[str]:
        return [name for name, _ in self.log]


def out(arg: Any, value: Any) -> None:
    """Fill an out-parameter passed as ctypes.byref(x), as the called function would."""
    arg._obj.value = value


def fill(index: int, value: Any, result: Any = 1) -> Callable[..., Any]:
    """An answer that sets out-parameter `index` to `value` and returns `result`."""
    def answer(*args: Any) -> Any:
        out(args[index], value)
        return result
    return answer
