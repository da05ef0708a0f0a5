"""Talking to Azure: clouds and credentials, one client factory, error translation, retries."""

from seedctl.azure.clients import AzureClients, build_clients
from seedctl.azure.errors import is_not_found, translate_error
from seedctl.azure.retry import RetryPolicy, call_with_retry

__all__ = ["AzureClients", "build_clients", "is_not_found", "translate_error", "RetryPolicy", "call_with_retry"]
