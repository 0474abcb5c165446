# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The conda role's environment entries as conda_env arguments (defaults filled, the PyTorch build chosen).

A pure function of its input. The ``conda_env_args`` filter uses it on the controller and ``conda_probe`` on
the host, with the GPU facts it has just read there: both derive the same spec from the same entry and facts.
"""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.condafleet.conda.plugins.module_utils._torch import choose_torch_build

#: the role's defaults for an environment entry (roles/conda/meta/argument_specs.yml)
ENTRY_DEFAULTS = {
    "state": "present",
    "python": None,
    "packages": [],
    "pip": [],
    "channels": [],
    "override_channels": False,
    "file": None,
    "lock": None,
    "prune": False,
    "cuda": "none",
    "pytorch_version": None,
    "environment": {},
}
STATES = ("present", "latest", "absent")

#: imports torch in an environment and prints what it sees as one JSON line
TORCH_CHECK_CODE = (
    "import json, torch; "
    "c = getattr(torch, 'cuda', None); "
    "v = getattr(torch, 'version', None); "
    "print(json.dumps({'torch': getattr(torch, '__version__', None), "
    "'cuda_available': bool(c.is_available()) if c is not None and hasattr(c, 'is_available') else None, "
    "'cuda_build': getattr(v, 'cuda', None) if v is not None else getattr(torch, 'cuda_version', None), "
    "'device_count': c.device_count() if c is not None and hasattr(c, 'device_count') else None}))"
)


class EnvArgsError(ValueError):
    """An environment entry the role cannot use; the message names the entry and what is wrong."""


def _bad(index, why):
    return EnvArgsError("conda_env_args: environment #%d: %s" % (index + 1, why))


def fill_defaults(entry, index=0):
    """``entry`` with every optional key set (a ``null`` value takes the default), ``cuda`` a lower-case string."""
    if not isinstance(entry, dict):
        raise _bad(index, "expected a dict, got %r" % (entry,))
    if not entry.get("name"):
        raise _bad(index, "no name")
    env = dict(ENTRY_DEFAULTS)
    env.update((key, value) for key, value in entry.items() if value is not None or key not in ENTRY_DEFAULTS)
    env["name"] = to_text(entry["name"])
    env["cuda"] = to_text(entry.get("cuda") or "none").lower()
    if env["state"] not in STATES:
        raise _bad(index, "state %r is not one of %s" % (env["state"], ", ".join(STATES)))
    for key in ("packages", "pip", "channels"):
        if isinstance(env[key], (str, dict)) or not hasattr(env[key], "__iter__"):
            raise _bad(index, "%s must be a list" % key)
    if not isinstance(env["environment"], dict):
        raise _bad(index, "environment must be a dict")
    return env


def needs_gpu(environments):
    """Whether an entry's spec depends on the host's GPU (CUDA-managed and not absent); bad entries raise."""
    entries = [fill_defaults(entry, index) for index, entry in enumerate(environments or [])]
    return any(env["cuda"] != "none" and env["state"] != "absent" for env in entries)


def merge_channels(torch_channels, channels, override_channels, installation_channels, mirror_url=None):
    """The entry's channels as given; the build's channel names only when the user configured no channel at all.

    Channels the user gave (the entry's, the installation's unless ``override_channels``, a mirror) are the
    user's choice of where packages come from: a public channel is never added to them.
    """
    configured = list(channels) + ([] if override_channels else list(installation_channels))
    if configured or to_text(mirror_url or "").strip():
        return list(channels)
    return list(torch_channels)


def env_prefix(prefix, name):
    """Where the role's environment lives: ``<prefix>/envs/<name>``."""
    return "%s/envs/%s" % (to_text(prefix).rstrip("/"), name)


def env_spec(entry, prefix="/opt/conda", channels=None, gpu_info=None, style="conda-forge", supported_cuda=None,
             override_cuda=False, proxy_environment=None, mirror_url=None, index=0):
    """One entry's conda_env arguments and what goes with them (the filter's RETURN, one element)."""
    env = fill_defaults(entry, index)
    installation_channels = ["conda-forge"] if channels is None else channels
    style = "conda-forge" if style is None else style
    override_cuda = False if override_cuda is None else override_cuda
    environment = dict(proxy_environment or {})
    environment.update(env["environment"])
    path = env_prefix(prefix, env["name"])
    spec = {"name": env["name"], "spec_path": None, "torch": None, "torch_check": None}
    if env["state"] == "absent":
        spec["args"] = {"name": env["name"], "prefix": prefix, "state": "absent", "environment": environment}
        spec["prediction"] = {"changed": False, "prefix": path,
                              "msg": "Check mode: conda is not installed in %s; there is no environment %s to remove."
                                     % (prefix, env["name"])}
        return spec
    packages = [to_text(p) for p in env["packages"]]
    merged_channels = list(env["channels"])
    if env["cuda"] != "none":
        torch = choose_torch_build(gpu_info or {}, style=style, cuda=env["cuda"], supported_cuda=supported_cuda,
                                   pytorch_version=env["pytorch_version"], override_cuda=override_cuda)
        # the build's specs choose the pytorch package: a bare "pytorch" would only repeat it
        packages = [p for p in packages if p != "pytorch"] + torch["specs"]
        merged_channels = merge_channels(torch["channels"], env["channels"],
                                         boolean(env["override_channels"], strict=False), installation_channels,
                                         mirror_url)
        environment.update(torch["environment"])
        spec["torch"] = torch
        spec["torch_check"] = [path + "/bin/python", "-c", TORCH_CHECK_CODE]
    args = {
        "name": env["name"],
        "prefix": prefix,
        "state": env["state"],
        "packages": packages,
        "pip": list(env["pip"]),
        "channels": merged_channels,
        "override_channels": boolean(env["override_channels"], strict=False),
        "prune": boolean(env["prune"], strict=False),
        "environment": environment,
    }
    if env["python"] is not None:
        args["python"] = to_text(env["python"])
    spec["args"] = args
    spec["spec_path"] = env["lock"] or env["file"] or None
    spec["prediction"] = {"changed": True, "prefix": path,
                          "msg": "Check mode: conda is not installed in %s yet; a real run installs it, converges its "
                                 ".condarc, then creates the environment %s." % (prefix, env["name"])}
    return spec


def conda_env_args(environments, prefix="/opt/conda", channels=None, gpu_info=None, style="conda-forge",
                   supported_cuda=None, override_cuda=False, proxy_environment=None, mirror_url=None):
    """One spec per entry, in order (the ``condafleet.conda.conda_env_args`` filter's RETURN)."""
    if environments is None:
        return []
    if isinstance(environments, (str, dict)) or not hasattr(environments, "__iter__"):
        raise EnvArgsError("conda_env_args: expected a list of environments, got %r" % (environments,))
    return [env_spec(entry, prefix=prefix, channels=channels, gpu_info=gpu_info, style=style,
                     supported_cuda=supported_cuda, override_cuda=override_cuda,
                     proxy_environment=proxy_environment, mirror_url=mirror_url, index=index)
            for index, entry in enumerate(environments)]
