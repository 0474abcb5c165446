# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""A pool of cloud VMs that converge themselves: cloud-init with the shipped user-data, then ansible-pull.

Three podman hosts of localhost/condafleet-cloud:bookworm (the fleet image plus Debian's cloud-init, git and venv,
scripts/images) boot the way a VM of the pool does: a NoCloud seed holds ``playbooks/files/cloud-init/user-data``,
and cloud-init's stages run by hand (a container has no init system to run them): init, config, final. The
user-data's own ``runcmd`` makes a virtualenv, installs ansible-core and the collection, and runs ``ansible-pull``
on ``playbooks/bootstrap_cloud.yml``; no controller runs anything on the hosts.

What stands in for the outside world, and only that is changed in the user-data: a local git repository of this
checkout for the team's repository on GitHub, a wheelhouse of ansible-core (``/etc/pip.conf``) for PyPI, and the
offline world's server for conda-forge and the Miniforge download (``/etc/condafleet/conda.yml``). The images carry
the packages the user-data asks apt for, so no ``apt-get update`` runs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading

import pytest
import yaml

pytestmark = [pytest.mark.world, pytest.mark.slow]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
USER_DATA = os.path.join(ROOT, "playbooks", "files", "cloud-init", "user-data")
IMAGE = "localhost/condafleet-cloud:bookworm"
POOL = ("condafleet-pool-1", "condafleet-pool-2", "condafleet-pool-3")
UPSTREAM = "https://github.com/condafleet/conda.git"
# as a VM's boot runs them: each stage whatever the one before said (a container lacks what some config modules
# expect, such as locales); what counts is the final stage, whose runcmd runs ansible-pull
STAGES = "cloud-init init --local; cloud-init init; cloud-init modules --mode config; cloud-init modules --mode final"


def podman(*args, timeout=900, check=True):
    proc = subprocess.run(["podman"] + list(args), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("podman %s: %s%s" % (" ".join(args[:3]), proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


@pytest.fixture(scope="module")
def cloud_image():
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail("%s is missing: scripts/images builds it" % IMAGE)
    return IMAGE


@pytest.fixture
def team_repo(tmp_path):
    """This checkout (what git tracks and what it would track) as the team's repository, on branch main."""
    work = tmp_path / "checkout"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        source = os.path.join(ROOT, os.fsdecode(name))
        if os.path.isfile(source):
            dest = work / os.fsdecode(name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    git = ["git", "-c", "user.name=pool", "-c", "user.email=pool@example.org"]
    subprocess.run(git + ["init", "-q", "-b", "main"], cwd=work, check=True)
    subprocess.run(git + ["add", "-A"], cwd=work, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "the team's repository"], cwd=work, check=True)
    bare = tmp_path / "team.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare


@pytest.fixture(scope="session")
def wheelhouse():
    """ansible-core and what it needs, as the user-data's pip asks for it, downloaded once into the cache."""
    path = os.path.join(ROOT, ".cache", "cloud-wheels")
    if not any(name.startswith("ansible_core-") for name in (os.listdir(path) if os.path.isdir(path) else [])):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--dest", path, "--only-binary", ":all:", "--python-version", "3.11",
                        "ansible-core>=2.18,<2.20"], check=True, timeout=600)
    return path


def seed(world, world_server):
    """The shipped user-data, with the stand-ins for the outside world (the module's docstring)."""
    with open(USER_DATA, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    with open(world.installer("Miniforge3") + ".sha256", encoding="utf-8") as handle:
        digest = handle.read().split()[0]
    url = world_server.url.rstrip("/")
    settings = {
        "conda_prefix": "/opt/conda",
        "conda_distribution": "miniforge",
        "conda_version": "26.7.1-0",
        "conda_installer_mirror_url": url + "/installers",
        "conda_installer_checksum": "sha256:" + digest,
        "conda_mirror_url": url,
        "conda_init_users": [],
        "conda_environments": [{"name": "team-default", "file": "/etc/condafleet/team-default.yml"}],
    }
    files = dict((entry["path"], entry) for entry in data["write_files"])
    assert "/etc/condafleet/conda.yml" in files and "/etc/condafleet/team-default.yml" in files
    files["/etc/condafleet/conda.yml"]["content"] = yaml.safe_dump(settings)
    data["write_files"].append({"path": "/etc/pip.conf", "permissions": "0644",
                                "content": "[global]\nno-index = true\nfind-links = /srv/wheels\n"})
    data["package_update"] = False
    data.pop("packages", None)  # in the image: see the module's docstring

    def local(item):
        if isinstance(item, list):
            return [local(part) for part in item]
        return item.replace("git+" + UPSTREAM, "git+file:///srv/team.git").replace(UPSTREAM, "file:///srv/team.git")

    data["runcmd"] = local(data["runcmd"])
    assert any("ansible-pull" in " ".join(map(str, cmd)) for cmd in data["runcmd"])
    return "#cloud-config\n" + yaml.safe_dump(data, sort_keys=False)


def boot(name, user_data, results):
    """Seed the host, then run cloud-init's stages as a VM's init system would; keep the output."""
    podman("exec", name, "sh", "-c", "mkdir -p /var/lib/cloud/seed/nocloud /etc/cloud/cloud.cfg.d && "
           "printf 'datasource_list: [ NoCloud, None ]\\n' > /etc/cloud/cloud.cfg.d/99-pool.cfg")
    proc = subprocess.run(["podman", "exec", "-i", name, "sh", "-c", "cat > /var/lib/cloud/seed/nocloud/user-data"],
                          input=user_data, text=True, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    podman("exec", name, "sh", "-c", "printf 'instance-id: %s\\nlocal-hostname: %s\\n' > "
           "/var/lib/cloud/seed/nocloud/meta-data" % (name, name))
    results[name] = podman("exec", name, "sh", "-c", STAGES + " > /var/log/cloud-init-stages.log 2>&1; echo rc=$?",
                           timeout=1500, check=False)


def test_a_pool_of_cloud_init_hosts_converges_itself_through_ansible_pull(cloud_image, team_repo, wheelhouse, world,
                                                                          world_server):
    user_data = seed(world, world_server)
    for name in POOL:
        podman("rm", "-f", "-t", "0", name, check=False)
    try:
        for name in POOL:
            podman("run", "-d", "--name", name, "--network", "host", "-v", "%s:/srv/team.git:ro" % team_repo,
                   "-v", "%s:/srv/wheels:ro" % wheelhouse, cloud_image, "/bin/sleep", "infinity")
        results = {}
        threads = [threading.Thread(target=boot, args=(name, user_data, results)) for name in POOL]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for name in POOL:
            log = podman("exec", name, "sh", "-c", "cat /var/log/cloud-init-output.log /var/log/cloud-init-stages.log",
                         check=False).stdout
            assert "rc=0" in results[name].stdout, log[-6000:]
            # the user-data's ansible-pull ran the playbook, and it converged the host
            assert "PLAY RECAP" in log and " failed=0 " in log.split("PLAY RECAP")[-1], log[-6000:]
            # the world's python is a stand-in that answers --version (tests/world/README.md)
            python = podman("exec", name, "/opt/conda/envs/team-default/bin/python", "--version")
            assert (python.stdout + python.stderr).strip().startswith("Python 3.12."), python
            meta = podman("exec", name, "ls", "/opt/conda/envs/team-default/conda-meta").stdout.split()
            for package in ("numpy", "pandas", "scikit-learn", "pip"):
                assert any(entry.startswith(package + "-") for entry in meta), (package, meta)
            # a second pull, as a cron job or the next boot would run it, changes nothing
            again = podman("exec", name, "sh", "-c", "ANSIBLE_COLLECTIONS_PATH=/opt/condafleet/collections "
                           "/opt/condafleet/venv/bin/ansible-pull --url file:///srv/team.git --checkout main "
                           "--directory /opt/condafleet/checkout --inventory localhost, "
                           "--extra-vars @/etc/condafleet/conda.yml playbooks/bootstrap_cloud.yml", check=False)
            assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
            recap = again.stdout.split("PLAY RECAP")[-1]
            assert " changed=0 " in recap and " failed=0 " in recap, again.stdout[-4000:]
    finally:
        for name in POOL:
            podman("rm", "-f", "-t", "0", name, check=False)
