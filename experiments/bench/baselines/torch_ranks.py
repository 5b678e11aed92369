"""Starting the ranks of a PyTorch baseline: one process per rank, on loopback or in the
namespaces of `scripts/netns_cluster.sh`, each re-running the calling script with
--rank R --master-addr A --master-port P appended; fails as soon as one rank fails and
when they all have not finished within the timeout."""
import os
import socket
import subprocess
import sys
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def netns_hosts(program, name, workers):
    """(namespace, address) per rank, from scripts/netns_cluster.sh list."""
    listed = subprocess.run([os.path.join(REPOSITORY, "scripts", "netns_cluster.sh"), "list", "--name", name],
                            capture_output=True, text=True, check=True).stdout.split("\n")
    hosts = {int(rank): (namespace, address) for rank, namespace, address in (l.split() for l in listed if l)}
    if any(rank not in hosts for rank in range(workers)):
        raise SystemExit(f"{program}: the netns cluster '{name}' has {len(hosts)} hosts, {workers} needed "
                         f"(scripts/netns_cluster.sh up {workers} --name {name})")
    return [hosts[rank] for rank in range(workers)]


def launch(script, workers, timeout_s, netns=""):
    """Runs `script` (with this process's arguments) once per rank and waits for all."""
    program = os.path.basename(script)
    if netns:
        hosts = netns_hosts(program, netns, workers)
        master_addr, master_port, interface = hosts[0][1], 29500, "eth0"
        prefixes = [["ip", "netns", "exec", namespace] for namespace, _ in hosts]
    else:
        master_addr, master_port, interface = "127.0.0.1", free_port(), "lo"
        prefixes = [[] for _ in range(workers)]
    environment = dict(os.environ, GLOO_SOCKET_IFNAME=interface)
    ranks = [
        subprocess.Popen(prefix + [sys.executable, os.path.abspath(script), *sys.argv[1:], "--rank", str(rank),
                                   "--master-addr", master_addr, "--master-port", str(master_port)], env=environment)
        for rank, prefix in enumerate(prefixes)
    ]
    deadline = time.monotonic() + timeout_s
    while any(p.poll() is None for p in ranks) and all(p.poll() in (None, 0) for p in ranks):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    failed = next((rank for rank, p in enumerate(ranks) if p.poll() not in (None, 0)), None)
    timed_out = failed is None and any(p.poll() is None for p in ranks)
    for p in ranks:
        if p.poll() is None:
            p.kill()
            p.wait()
    if failed is not None:
        sys.exit(f"{program}: rank {failed} failed with exit status {ranks[failed].returncode}")
    if timed_out:
        sys.exit(f"{program}: the ranks did not finish within {timeout_s} s")
