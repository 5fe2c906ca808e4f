"""Static checks of the deployment files: Kubernetes manifests (security
settings, probes, wiring between objects, config that `earshot check`
accepts), the Dockerfile (stages, non-root user, runtime packages covering
every library the built binary links), the systemd unit and the web-config
example. There is no cluster or Docker engine here: these read the files."""

import re
import shlex
import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

from conftest import SOURCE_DIR, earshot_bin, require_tool

DEPLOY = SOURCE_DIR / "deploy"
K8S = DEPLOY / "k8s"
POD_LABELS = {"app.kubernetes.io/name": "earshot", "app.kubernetes.io/component": "daemon"}
# The image is Debian 13 (trixie); these are its package names.
RUNTIME_PACKAGES = {"librdkafka1", "librdkafka++1", "libre2-11", "libprometheus-cpp-core1.0",
                    "libyaml-cpp0.8", "libicu76", "libssl3t64", "libcrypt1",
                    "ca-certificates"}
# A library the binary needs (soname without its version) -> the Debian 13
# package that ships it. Checked by name, so the test runs on a Debian 12
# host too, where the same libraries have other versions.
TRIXIE_PACKAGE_OF = {"librdkafka": "librdkafka1", "librdkafka++": "librdkafka++1",
                     "libre2": "libre2-11", "libprometheus-cpp-core": "libprometheus-cpp-core1.0",
                     "libyaml-cpp": "libyaml-cpp0.8", "libicuuc": "libicu76",
                     "libicui18n": "libicu76",
                     "libssl": "libssl3t64", "libcrypto": "libssl3t64", "libcrypt": "libcrypt1"}
IN_BASE_IMAGE = {"libc", "libm", "libstdc++", "libgcc_s", "libpthread", "libdl", "libz"}


def k8s_objects():
    objs = {}
    for f in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if doc is None:
                continue
            assert doc.get("apiVersion") and doc.get("kind"), f"{f.name}: not a k8s object"
            name = doc.get("metadata", {}).get("name", "")
            objs[(doc["kind"], name)] = doc
    return objs


@pytest.fixture(scope="module")
def objs():
    return k8s_objects()


def one(objs, kind):
    found = [o for (k, _), o in objs.items() if k == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


# ---- Kubernetes ---------------------------------------------------------------

def test_every_manifest_parses_and_is_in_kustomization(objs):
    kinds = {k for k, _ in objs}
    assert {"Deployment", "Service", "ServiceMonitor", "PodDisruptionBudget", "ConfigMap",
            "Kustomization"} <= kinds
    kust = one(objs, "Kustomization")
    listed = set(kust["resources"])
    files = {f.name for f in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == files


def test_deployment_security(objs):
    dep = one(objs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc["runAsUser"] != 0
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod.get("automountServiceAccountToken") is False
    assert not pod.get("hostNetwork") and not pod.get("hostPID")
    for c in pod["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["runAsNonRoot"] is True
        assert sc.get("privileged", False) is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert not sc["capabilities"].get("add")
        assert sc["seccompProfile"]["type"] == "RuntimeDefault"
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{kind} must set cpu and memory"


def test_deployment_probes_ports_and_mounts(objs):
    dep = one(objs, "Deployment")
    assert selects(dep["spec"]["selector"], dep["spec"]["template"]["metadata"]["labels"])
    assert dep["spec"]["template"]["metadata"]["labels"] == POD_LABELS
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert {"name": "http", "containerPort": 9464, "protocol": "TCP"} in c["ports"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    # Rules: a ConfigMap mounted as a directory (subPath mounts never update).
    for m in c["volumeMounts"]:
        assert "subPath" not in m, f"{m['name']}: subPath mounts do not receive ConfigMap updates"
    assert volumes["rules"]["configMap"]["name"] == "earshot-rules"
    assert volumes["config"]["configMap"]["name"] == "earshot-config"
    assert mounts["rules"]["readOnly"] and mounts["config"]["readOnly"]
    # The only writable place is /tmp.
    assert mounts["tmp"]["mountPath"] == "/tmp" and "emptyDir" in volumes["tmp"]
    # The args name the mounted config file; the config names the rules mount.
    args = c["args"]
    assert args[0] == "run"
    config_path = Path(args[args.index("--config") + 1])
    assert str(config_path.parent) == mounts["config"]["mountPath"]
    cm = one_configmap(objs, "earshot-config")
    config = yaml.safe_load(cm["data"][config_path.name])
    assert config["rules"]["paths"] == [mounts["rules"]["mountPath"]]
    assert config["rules"]["reload"] == "watch"
    assert config["http"]["listen"].endswith(":9464")
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def one_configmap(objs, name):
    assert ("ConfigMap", name) in objs, f"no ConfigMap {name}"
    return objs[("ConfigMap", name)]


def test_service_monitor_and_pdb_select_the_pods(objs):
    svc = one(objs, "Service")
    assert svc["metadata"]["name"] == "earshot"  # job="earshot" for the alerts
    assert svc["spec"]["selector"] == POD_LABELS
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    sm = one(objs, "ServiceMonitor")
    assert selects(sm["spec"]["selector"], svc["metadata"]["labels"])
    ep = sm["spec"]["endpoints"][0]
    assert ep["port"] == svc["spec"]["ports"][0]["name"] and ep["path"] == "/metrics"
    pdb = one(objs, "PodDisruptionBudget")
    assert selects(pdb["spec"]["selector"], POD_LABELS)
    assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable")


def test_rules_configmap_matches_shipped_rules(objs):
    cm = one_configmap(objs, "earshot-rules")
    assert cm["data"], "no rule files"
    for key, text in cm["data"].items():
        assert key.endswith(".yaml")
        assert text == (DEPLOY / "rules" / key).read_text(), \
            f"{key} differs from deploy/rules/{key}: copy it again"


def run_check(config_text, rules_dir, tmp_path):
    """`earshot check --config` on config_text with its rule paths pointed
    at rules_dir."""
    config = yaml.safe_load(config_text)
    config["rules"]["paths"] = [str(rules_dir)]
    f = tmp_path / "earshot.yaml"
    f.write_text(yaml.safe_dump(config))
    r = subprocess.run([earshot_bin(), "check", "--config", str(f)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, f"earshot check failed:\n{r.stdout}{r.stderr}"


def test_configs_pass_earshot_check(objs, tmp_path):
    cm = one_configmap(objs, "earshot-rules")
    rules = tmp_path / "rules"
    rules.mkdir()
    for key, text in cm["data"].items():
        (rules / key).write_text(text)
    run_check(one_configmap(objs, "earshot-config")["data"]["earshot.yaml"], rules, tmp_path)
    run_check((DEPLOY / "docker" / "earshot.yaml").read_text(), DEPLOY / "rules", tmp_path)


# ---- Dockerfile -----------------------------------------------------------------

def dockerfile_stages():
    """[(name, base, [(instruction, args)])] with continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            stages.append((m.group(2), m.group(1), []))
        else:
            stages[-1][2].append((instr, args.strip()))
    return stages


def test_dockerfile_stages_and_user():
    stages = dockerfile_stages()
    assert len(stages) == 2
    (bname, bbase, build), (rname, rbase, runtime) = stages
    assert bbase == "debian:trixie" and rbase == "debian:trixie-slim"
    runs = " ".join(a for i, a in build if i == "RUN")
    assert "install-deps.sh --build-only" in runs
    assert "cmake" in runs and "ninja" in runs
    # Every source directory the top-level CMakeLists adds (tests and
    # benchmarks are off) is copied into the build stage.
    copied = {a.split()[0] for i, a in build if i == "COPY"}
    top = (SOURCE_DIR / "CMakeLists.txt").read_text()
    subdirs = re.findall(r"^add_subdirectory\((\w+)\)", top, re.M)
    for sub in subdirs:
        assert sub in copied, f"build stage does not COPY {sub}/"
    # ...and so is every file or folder their CMakeLists read from elsewhere
    # in the tree (embedded lexicons, for example).
    for sub in subdirs:
        text = (SOURCE_DIR / sub / "CMakeLists.txt").read_text()
        for ref in re.findall(r"\$\{CMAKE_SOURCE_DIR\}/([\w./-]+)", text):
            assert any(ref == c or ref.startswith(c.rstrip("/") + "/") for c in copied), \
                f"{sub}/CMakeLists.txt reads {ref}, which the build stage does not COPY"
    instrs = dict((i, a) for i, a in runtime)  # the last of each
    user = instrs["USER"].split(":")[0]
    assert user not in ("root", "0") and user.isdigit(), "run as a numeric non-root user"
    assert instrs["EXPOSE"] == "9464"
    assert "/healthz" in instrs["HEALTHCHECK"]
    assert "earshot" in instrs["ENTRYPOINT"]
    assert any(i == "COPY" and a.startswith(f"--from={bname} ") for i, a in runtime)
    for src in (a.split()[0] for i, a in runtime if i == "COPY" and not a.startswith("--from")):
        assert (SOURCE_DIR / src).exists(), f"COPY {src}: no such file"
    # Nothing in the runtime stage builds software or installs -dev packages.
    for i, a in runtime:
        if i == "RUN":
            assert not re.search(r"-dev\b|build-essential|cmake|gcc|g\+\+", a), a


def runtime_packages():
    runtime = dockerfile_stages()[1][2]
    pkgs = set()
    for i, a in runtime:
        if i == "RUN" and "apt-get install" in a:
            tail = a.split("apt-get install", 1)[1].split("&&")[0]
            pkgs |= {w for w in shlex.split(tail) if not w.startswith("-")}
    return pkgs


def needed_libraries(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]", out)


def test_runtime_packages_cover_linked_libraries():
    assert runtime_packages() == RUNTIME_PACKAGES
    needed = needed_libraries(earshot_bin())
    assert needed
    direct = set()
    for soname in needed:
        stem = soname.split(".so")[0]
        if re.match(r"lib(asan|ubsan|tsan)$", stem):
            continue  # sanitizer builds are never shipped
        if stem in IN_BASE_IMAGE:
            continue
        assert stem in TRIXIE_PACKAGE_OF, f"{soname}: which Debian 13 package ships it?"
        direct.add(TRIXIE_PACKAGE_OF[stem])
    assert direct <= RUNTIME_PACKAGES, f"not installed by the runtime stage: {direct - RUNTIME_PACKAGES}"
    # And no stale entries: each listed library package is really linked.
    unused = RUNTIME_PACKAGES - {"ca-certificates"} - direct
    assert not unused, f"runtime stage installs packages the binary does not link: {unused}"


def test_tls_needs_nothing_beside_the_binary():
    """TLS works in the runtime image with the binary alone: the listener
    (Boost.Beast over Asio) links OpenSSL directly, nothing is loaded at run
    time, so the image copies no libraries of earshot's own."""
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^COPY --from=build /build/cmd/earshot /usr/local/bin/earshot$", text, re.M)
    assert "/build/lib" not in text
    ldd = subprocess.run(["ldd", earshot_bin()], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^\s*libssl\.so\.3 => ", ldd, re.M), ldd


# ---- systemd ------------------------------------------------------------------------

def unit_entries():
    entries = {}
    for line in (DEPLOY / "systemd" / "earshot.service").read_text().splitlines():
        line = line.strip()
        if "=" in line and not line.startswith(("#", ";", "[")):
            k, v = line.split("=", 1)
            entries.setdefault(k, []).append(v)
    return entries


def test_systemd_unit(tmp_path):
    e = unit_entries()
    assert e["ExecStart"][0].split()[1:3] == ["run", "--config"]
    assert e["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert e["KillSignal"] == ["SIGTERM"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "PrivateDevices": "yes", "DynamicUser": "yes",
                       "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes",
                       "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes",
                       "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes",
                       "RestrictNamespaces": "yes", "SystemCallArchitectures": "native"}.items():
        assert e.get(key) == [value], f"{key}={value} expected, got {e.get(key)}"
    assert "@system-service" in e["SystemCallFilter"]
    # systemd itself accepts the unit (with the binary path of this build).
    analyze = require_tool("systemd-analyze")
    unit = tmp_path / "earshot.service"
    unit.write_text((DEPLOY / "systemd" / "earshot.service").read_text()
                    .replace("/usr/local/bin/earshot", earshot_bin()))
    r = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    problems = [l for l in (r.stdout + r.stderr).splitlines()
                if "earshot.service" in l and "Failed to" not in l and "dbus" not in l.lower()]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr


# ---- web-config -----------------------------------------------------------------------

def test_web_config_example():
    cfg = yaml.safe_load((DEPLOY / "web-config.example.yml").read_text())
    assert set(cfg) <= {"tls_server_config", "http_server_config", "basic_auth_users"}
    tls = cfg["tls_server_config"]
    assert tls["cert_file"] and tls["key_file"]
    assert tls["min_version"] in ("TLS12", "TLS13")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # Debian 12's Python 3.11 still has it; libxcrypt does bcrypt
    for user, hashed in cfg["basic_auth_users"].items():
        assert hashed.startswith("$2"), f"{user}: passwords are bcrypt hashes"
        assert crypt.crypt("change-me", hashed) == hashed, "the documented example password"
