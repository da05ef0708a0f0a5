"""The Azure clouds seedctl knows: their ARM endpoints, token scopes and login authorities."""

from __future__ import annotations

from dataclasses import dataclass

from seedctl.errors import AzureError


@dataclass(frozen=True)
class Cloud:
    name: str
    arm_endpoint: str
    authority_host: str | None  # None for the sandbox (fixed local token, no login)
    storage_suffix: str

    @property
    def scope(self) -> str:
        return self.arm_endpoint.rstrip("/") + "/.default"


CLOUDS: dict[str, Cloud] = {
    "AzureCloud": Cloud("AzureCloud", "https://management.azure.com", "login.microsoftonline.com",
                        "core.windows.net"),
    "AzureUSGovernment": Cloud("AzureUSGovernment", "https://management.usgovcloudapi.net",
                               "login.microsoftonline.us", "core.usgovcloudapi.net"),
    "AzureChinaCloud": Cloud("AzureChinaCloud", "https://management.chinacloudapi.cn",
                             "login.chinacloudapi.cn", "core.chinacloudapi.cn"),
}


def get_cloud(name: str) -> Cloud:
    try:
        return CLOUDS[name]
    except KeyError:
        known = ", ".join([*CLOUDS, "sandbox"])
        raise AzureError(f"unknown cloud {name!r}; use one of {known}") from None
