"""The provider of a recording by name (`openai`, `azure`, `ollama`, ...), from its request URL and test id.

A public API host names its provider outright. A local host (`0.0.0.0:11434`, `localhost:8000`) does not, so
the test id's parameters decide (`txt=ollama/...`, `vis=vllm/...`), then the port's usual server. The host
is kept beside the name wherever a provider is shown.
"""

from __future__ import annotations

import re

from recorder_ui.domain import paths

# Host suffix -> provider. The first match wins, so longer suffixes come first where they overlap.
HOSTS = (
    (".openai.azure.com", "azure"),
    ("api.openai.com", "openai"),
    (".amazonaws.com", "bedrock"),
    (".api.aws", "bedrock"),
    (".ml.cloud.ibm.com", "watsonx"),
    ("generativelanguage.googleapis.com", "gemini"),
    ("aiplatform.googleapis.com", "vertexai"),
    ("api.anthropic.com", "anthropic"),
    ("api.together.xyz", "together"),
    ("api.fireworks.ai", "fireworks"),
    ("api.groq.com", "groq"),
    ("api.cerebras.ai", "cerebras"),
    ("integrate.api.nvidia.com", "nvidia"),
    ("api.sambanova.ai", "sambanova"),
    ("api.mistral.ai", "mistral"),
    ("api.tavily.com", "tavily"),
)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "::1", "host.docker.internal"})
PORTS = {"11434": "ollama", "8000": "vllm"}
# The model parameters of a test id: txt=, vis= (embedding and safety models are other calls' providers).
_PARAM = re.compile(r"(?:^|[\[\-])(?:txt|vis)=([A-Za-z0-9_.]+)/")
_NAME = re.compile(r"[a-z0-9_.-]{1,40}")


def from_test_id(test_id: str) -> str:
    """The provider a test id's `txt=`/`vis=` parameter names, or ""."""
    found = _PARAM.search(test_id or "")
    return found.group(1).lower() if found else ""


def name_of(*, url: str, host: str, test_id: str) -> str:
    """The provider's name; "" when neither the URL nor the test id tells it.

    host is the recording's provider as the loader gives it: the URL's host, or "vertexai", or a tool
    provider such as "tavily" for recordings without a URL.
    """
    netloc = paths.url_parts(url).netloc.lower()  # "" for an unparsable URL (a bad IPv6 host): the test id may tell
    hostname = netloc.rsplit("@", 1)[-1]
    port = ""
    if hostname.startswith("["):
        hostname, _, rest = hostname[1:].partition("]")
        port = rest.removeprefix(":")
    elif ":" in hostname:
        hostname, _, port = hostname.partition(":")
    if hostname:
        for suffix, name in HOSTS:
            if hostname == suffix.lstrip(".") or hostname.endswith(suffix):
                return name
        if hostname in LOCAL_HOSTS or hostname.endswith(".local"):
            return from_test_id(test_id) or PORTS.get(port, "local")
        return from_test_id(test_id) or hostname[:40]
    plain = (host or "").lower()
    if _NAME.fullmatch(plain):
        return plain  # "vertexai", "tavily", "pypdf": the loader's name for a recording without a URL
    return from_test_id(test_id)


def label(name: str, host: str) -> str:
    """`ollama (0.0.0.0:11434)`, or the name alone when the host says no more."""
    if host and host != name:
        return f"{name} ({host})" if name else host
    return name or host
