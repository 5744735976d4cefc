"""Checks of deploy/: compose, Dockerfiles, Traefik static/dynamic config, k8s base.

The gateway routes and the Kubernetes files are generated (`buildify deploy generate`) from
services/runtime/gateway.py and the manifests: the committed files must equal what they render.
Docker is not available on the development machine, so nothing here builds or starts a container;
the hand-written files (compose, traefik.yaml, Dockerfiles) are parsed and checked against the
environment variables each service reads, broker's BusSettings and the generated routes.
"""

import importlib
import json
import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from broker.settings import BusSettings
from contracts.auth import secret_problem
from services.runtime.deploy import generate
from services.runtime.gateway import (
    CONTENT_SECURITY_POLICY,
    MODULE_PORTS,
    GatewayPorts,
    dynamic_config,
    traefik_static_config,
)
from services.runtime.paths import DEPLOY, ROOT

TRAEFIK = DEPLOY / "traefik"
K8S = DEPLOY / "k8s"

HEADERS, RATE_LIMIT = "security-headers", "rate-limit"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifests() -> dict[str, dict[str, Any]]:
    found = {p.parent.name: json.loads(p.read_text()) for p in sorted((ROOT / "services").glob("*/manifest.json"))}
    assert found, "no services/<name>/manifest.json found"
    return found


MODULES = manifests()
MODULE_NAMES = sorted(MODULES)
CORE_PORT = GatewayPorts().core
PORTS = {"core": CORE_PORT, **{name: m["backend"]["port"] for name, m in MODULES.items()}}
SERVICES = ["core", *MODULE_NAMES]

COMPOSE = load(DEPLOY / "compose.yaml")
COMPOSE_SERVICES: dict[str, Any] = COMPOSE["services"]
K8S_DOCS = [doc for path in sorted(K8S.glob("*.yaml")) if path.name != "kustomization.yaml" for doc in load_all(path)]


def k8s(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in K8S_DOCS if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def k8s_one(kind: str, name: str) -> dict[str, Any]:
    found = k8s(kind, name)
    assert len(found) == 1, f"expected one {kind} {name} in deploy/k8s, found {len(found)}"
    return found[0]


# -- environment variables the services read ------------------------------------------------


# Read by Settings.from_env but optional on purpose (a sane default, or another mode such as RS256).
# A NEW variable in a settings.py fails test_settings_env_is_deployed until it is deployed or listed here.
OPTIONAL_ENV = {
    "core": {"JWT_PREVIOUS_KEY_FILES", "LOGIN_FAILURES_PER_ACCOUNT", "LOGIN_FAILURES_PER_ADDRESS",
             "LOGIN_FAILURE_WINDOW", "DB_POOL_SIZE", "BUS"},
    "financial": {"CONFIG_CACHE_SECONDS", "POOL_SIZE", "RUN_MIGRATIONS", "JWKS_URL", "BUS"},
    "warehouse": {"CONFIG_CACHE_SECONDS", "POOL_SIZE", "RUN_MIGRATIONS", "JWKS_URL", "BUS"},
}
# Always expected, whatever the regex finds (the seed's variables and core's gateway settings).
REQUIRED_ENV = {
    "core": {"DATABASE_URL", "JWT_ALGORITHM", "JWT_PRIVATE_KEY_FILE", "MODULE_API_KEYS", "MODULE_UPSTREAMS",
             "GATEWAY_CONFIG_KEY", "GATEWAY_MIDDLEWARES"},
    "module": {"DATABASE_STRATEGY", "DATABASE_URL", "MODULE_DATABASE_URL", "CORE_URL", "MODULE_API_KEY",
               "EVENT_BUS_CONNECTION_STRING", "JWKS_URL"},
}
# Deployed to core although core's settings.py does not read them yet (another change adds them).
CORE_GATEWAY_ENV = {"MODULE_UPSTREAMS", "GATEWAY_CONFIG_KEY", "GATEWAY_MIDDLEWARES"}


def env_read_by(service: str) -> set[str]:
    """The service's settings Struct fields, upper-cased: the variables the kit's loader reads."""
    settings = importlib.import_module(f"services.{service}.app.settings").Settings
    return {f.encode_name.upper() for f in msgspec.structs.fields(settings)}


def expected_env(service: str) -> set[str]:
    required = REQUIRED_ENV["core" if service == "core" else "module"]
    return (env_read_by(service) - OPTIONAL_ENV.get(service, set())) | required


def compose_env(service: str) -> dict[str, str]:
    env = COMPOSE_SERVICES[service].get("environment", {})
    assert isinstance(env, dict), f"compose service {service}: write environment as a mapping"
    return {k: str(v) for k, v in env.items()}


def default_of(value: str) -> str:
    """`${VAR:-default}` -> default, everything else unchanged (one level, as compose does)."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


def parse_pairs(raw: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in raw.split(",") if part)


def k8s_env(deployment: str) -> dict[str, str]:
    """Every variable a Deployment's main container gets: envFrom ConfigMaps/Secrets, then env."""
    container = k8s_one("Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update({k: str(v) for k, v in k8s_one("ConfigMap", source["configMapRef"]["name"])["data"].items()})
        if "secretRef" in source:
            env.update({k: str(v) for k, v in k8s_one("Secret", source["secretRef"]["name"])["stringData"].items()})
    env.update({e["name"]: str(e.get("value", "")) for e in container.get("env", [])})
    return env


def test_the_regex_finds_what_settings_read() -> None:
    # Guards the guard: if settings.py changes style (e.g. os.getenv), this fails instead of passing vacuously.
    assert {"DATABASE_URL", "JWT_PRIVATE_KEY_FILE", "MODULE_API_KEYS"} <= env_read_by("core")
    for name in MODULE_NAMES:
        assert {"DATABASE_URL", "DATABASE_STRATEGY", "CORE_URL", "MODULE_API_KEY"} <= env_read_by(name)


# -- compose ---------------------------------------------------------------------------------


def one_shot(name: str) -> bool:
    """A job (migrations) that others wait for with service_completed_successfully."""
    waited = any(
        isinstance(s.get("depends_on"), dict)
        and s["depends_on"].get(name, {}).get("condition") == "service_completed_successfully"
        for s in COMPOSE_SERVICES.values()
    )
    return waited and COMPOSE_SERVICES[name].get("restart") == "no"


@pytest.mark.parametrize("name", sorted(COMPOSE_SERVICES))
def test_every_compose_service_has_a_healthcheck(name: str) -> None:
    service = COMPOSE_SERVICES[name]
    if one_shot(name):
        return
    check = service.get("healthcheck")
    assert check and check.get("test") and not check.get("disable"), f"compose service {name} has no healthcheck"
    assert service.get("restart") == "unless-stopped", f"compose service {name} should restart unless stopped"


def test_compose_runs_the_infrastructure() -> None:
    postgres = COMPOSE_SERVICES["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert COMPOSE_SERVICES["rabbitmq"]["image"] == "rabbitmq:3-management"
    assert COMPOSE_SERVICES["traefik"]["image"].startswith("traefik:v3")


def test_depends_on_names_exist() -> None:
    for name, service in COMPOSE_SERVICES.items():
        for dep in service.get("depends_on", {}):
            assert dep in COMPOSE_SERVICES, f"{name} depends on unknown service {dep}"


@pytest.mark.parametrize("name", SERVICES)
def test_compose_service_per_python_service(name: str) -> None:
    port = PORTS[name]
    for service_name in (name, f"{name}-worker"):
        assert service_name in COMPOSE_SERVICES, f"compose has no service {service_name}"
        service = COMPOSE_SERVICES[service_name]
        built_from = (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve()
        assert built_from == ROOT / "services" / name / "Dockerfile"
        command = service["command"]
        assert command[:2] == ["uvicorn", f"services.{name}.app.main:create_app"] and "--factory" in command
        assert command[command.index("--port") + 1] == str(port), f"{service_name} listens on the wrong port"
        assert f"127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])
    ports = COMPOSE_SERVICES[name].get("ports", [])
    assert all(str(p).endswith(f":{port}") for p in ports), f"{name}: published ports {ports} do not end in :{port}"


@pytest.mark.parametrize("name", SERVICES)
def test_compose_workers_scale_the_bus(name: str) -> None:
    worker = compose_env(f"{name}-worker")
    assert worker["BUS_RELAY"] == "false"
    assert int(default_of(worker["BUS_WORKERS"])) >= 1
    assert "ports" not in COMPOSE_SERVICES[f"{name}-worker"], "a scalable worker cannot publish a fixed port"


def test_bus_variables_are_real_bus_settings() -> None:
    known = {f"BUS_{f.name.upper()}" for f in fields(BusSettings) if f.name != "extra"}
    used = {k for s in COMPOSE_SERVICES for k in compose_env(s) if k.startswith("BUS_")}
    used |= {k for d in k8s("Deployment") for k in k8s_env(d["metadata"]["name"]) if k.startswith("BUS_")}
    assert used, "no BUS_* variable deployed"
    assert used <= known, f"not read by BusSettings.from_env: {sorted(used - known)}"


@pytest.mark.parametrize("name", SERVICES)
def test_settings_env_is_deployed(name: str) -> None:
    expected = expected_env(name)
    for service_name in (name, f"{name}-worker"):
        missing = expected - set(compose_env(service_name))
        assert not missing, f"compose service {service_name} lacks {sorted(missing)}"
        missing = expected - set(k8s_env(service_name))
        assert not missing, f"k8s Deployment {service_name} lacks {sorted(missing)} (ConfigMap/Secret/env)"


def test_core_only_variables_are_expected_by_the_gateway() -> None:
    # documents the gap: once core reads them, this keeps them deployed via env_read_by.
    assert expected_env("core") >= CORE_GATEWAY_ENV


def check_secrets_agree(core: dict[str, str], modules: dict[str, dict[str, str]], where: str) -> None:
    keys = parse_pairs(default_of(core["MODULE_API_KEYS"]))
    for name, env in modules.items():
        assert keys.get(name) == default_of(env["MODULE_API_KEY"]), f"{where}: {name}'s MODULE_API_KEY differs"
        assert env["DATABASE_STRATEGY"] in {"shared", "separate"}


def test_compose_secrets_and_upstreams_agree() -> None:
    core = compose_env("core")
    check_secrets_agree(core, {n: compose_env(n) for n in MODULE_NAMES}, "compose")
    upstreams = parse_pairs(core["MODULE_UPSTREAMS"])
    assert upstreams == {n: f"http://{n}:{PORTS[n]}" for n in MODULE_NAMES}
    for name in MODULE_NAMES:
        assert compose_env(name)["CORE_URL"] == f"http://core:{CORE_PORT}"


def test_k8s_secrets_and_upstreams_agree() -> None:
    core = k8s_env("core")
    check_secrets_agree(core, {n: k8s_env(n) for n in MODULE_PORTS}, "k8s")
    upstreams = parse_pairs(core["MODULE_UPSTREAMS"])
    assert upstreams == {n: f"http://{n}.buildify.svc.cluster.local:{p}" for n, p in MODULE_PORTS.items()}
    for name in MODULE_PORTS:
        assert k8s_env(name)["CORE_URL"] == f"http://core.buildify.svc.cluster.local:{CORE_PORT}"


@pytest.mark.security
def test_placeholder_secrets_are_marked_and_refused_by_the_services() -> None:
    for secret in k8s("Secret"):
        for key, value in secret["stringData"].items():
            if any(word in key for word in ("PASSWORD", "SECRET", "KEY")):
                where = f"Secret {secret['metadata']['name']}.{key}"
                assert "change-me" in str(value), f"{where} is not a marked placeholder"
                if key != "POSTGRES_PASSWORD":
                    for part in parse_pairs(str(value)).values() if "=" in str(value) else [str(value)]:
                        assert secret_problem(key, part), f"{where}: a service would start with {part!r}"
    gateway_key = STATIC["providers"]["http"]["headers"]["X-Gateway-Key"]
    assert secret_problem("X-Gateway-Key", gateway_key), "traefik.yaml's placeholder key would be accepted"
    for name in ("core", *MODULE_NAMES):
        for key, value in compose_env(name).items():
            if key in {"MODULE_API_KEY", "MODULE_API_KEYS", "GATEWAY_CONFIG_KEY"}:
                assert re.search(r"\$\{[A-Z0-9_]+:\?[^}]+\}", value), f"compose {name}.{key} must be ${{VAR:?why}}"
                assert "change-me" not in value and ":-" not in value, f"compose {name}.{key} has a default"


# -- Dockerfiles -----------------------------------------------------------------------------


def dockerfile(name: str) -> str:
    path = ROOT / "services" / name / "Dockerfile"
    assert path.is_file(), f"services/{name}/Dockerfile is missing"
    return re.sub(r"\\\n", " ", path.read_text())


@pytest.mark.parametrize("name", SERVICES)
def test_dockerfile_per_service(name: str) -> None:
    text, port = dockerfile(name), PORTS[name]
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(rf"^EXPOSE {port}\b", text, re.M), f"{name}: EXPOSE {port} missing"
    health = re.search(r"^HEALTHCHECK .*$", text, re.M)
    assert health and f"127.0.0.1:{port}/health" in health.group(0)
    cmd = re.search(r"^CMD (\[.*\])\s*$", text, re.M)
    assert cmd, f"{name}: CMD must be exec form"
    command = json.loads(cmd.group(1))
    assert command == ["uvicorn", f"services.{name}.app.main:create_app", "--factory",
                       "--host", "0.0.0.0", "--port", str(port)]


@pytest.mark.parametrize("name", SERVICES)
def test_dockerfile_runs_as_non_root(name: str) -> None:
    users = re.findall(r"^USER\s+(\S+)", dockerfile(name), re.M)
    assert users and users[-1] not in {"root", "0"}, f"{name}: the image must switch to a non-root USER"


# -- Traefik: static configuration -----------------------------------------------------------

STATIC = load(TRAEFIK / "traefik.yaml")
CORE_FILE = load(TRAEFIK / "dynamic" / "core.yaml")
MODULES_FILE = load(TRAEFIK / "dynamic" / "modules.yaml")


def test_traefik_static_configuration() -> None:
    entry = STATIC["entryPoints"]
    assert entry["web"]["address"] == ":80"
    assert entry["traefik"]["address"] not in {":80", ":8080"}, "ping's entry point collides with the gateway"
    assert STATIC["ping"]["entryPoint"] == "traefik"
    local = traefik_static_config(GatewayPorts(), Path("dynamic.yaml"))["entryPoints"]
    for name in ("web", "traefik"):  # header aliases and encoded characters handled as `make run` does
        assert entry[name]["http"] == local[name]["http"], f"traefik.yaml entry point {name}"
    assert STATIC["providers"]["file"] == {"directory": "/etc/traefik/dynamic", "watch": True}
    http = STATIC["providers"]["http"]
    assert http["endpoint"] == f"http://core:{CORE_PORT}/api/v1/gateway/traefik"
    assert http["pollInterval"] == "5s"
    assert "accessLog" in STATIC


def test_traefik_in_compose() -> None:
    traefik = COMPOSE_SERVICES["traefik"]
    assert f"{GatewayPorts().gateway}:80" in [default_of(str(p)) for p in traefik["ports"]]
    mounts = {m.split(":")[1]: DEPLOY / m.split(":")[0] for m in traefik["volumes"]}
    assert mounts["/etc/traefik/traefik.yaml"].resolve() == (TRAEFIK / "traefik.yaml").resolve()
    assert mounts["/etc/traefik/dynamic/core.yaml"].resolve() == (TRAEFIK / "dynamic" / "core.yaml").resolve()
    for target, source in mounts.items():
        assert source.resolve().exists(), f"traefik mount source {source} missing"
        assert target == "/etc/traefik/traefik.yaml" or target.startswith(STATIC["providers"]["file"]["directory"])
    assert "--ping" in traefik["healthcheck"]["test"]


def test_core_renders_routers_for_existing_entry_points() -> None:
    assert set(compose_env("core")["GATEWAY_ENTRY_POINTS"].split(",")) <= set(STATIC["entryPoints"])
    ingress = k8s_one("IngressRoute", "buildify")["spec"]["entryPoints"]
    assert k8s_env("core")["GATEWAY_ENTRY_POINTS"].split(",") == ingress


def test_gateway_key_is_given_on_both_sides() -> None:
    # traefik.yaml cannot read the environment: its key is a placeholder (refused by core, see above)
    # that the operator replaces with the value of GATEWAY_CONFIG_KEY.
    assert STATIC["providers"]["http"]["headers"]["X-Gateway-Key"]
    assert "${GATEWAY_CONFIG_KEY:?" in compose_env("core")["GATEWAY_CONFIG_KEY"]


# -- Traefik: dynamic configuration ----------------------------------------------------------


def test_committed_files_equal_what_the_definitions_generate() -> None:
    """deploy/traefik/dynamic and deploy/k8s come from services/runtime/gateway.py and the manifests."""
    rendered = generate.rendered()
    for path, text in rendered.items():
        assert (DEPLOY / path).read_text() == text, f"deploy/{path} differs: run `buildify deploy generate`"


def test_generate_check_reports_a_hand_edit(tmp_path: Path) -> None:
    shutil.copytree(DEPLOY, tmp_path / "deploy")
    edited = tmp_path / "deploy" / "traefik" / "dynamic" / "core.yaml"
    edited.write_text(edited.read_text().replace("average: 100", "average: 1000"))
    assert generate.differing(tmp_path / "deploy") == ["traefik/dynamic/core.yaml"]
    assert generate.write(tmp_path / "deploy") == ["traefik/dynamic/core.yaml"]
    assert generate.differing(tmp_path / "deploy") == []


@pytest.mark.parametrize("name", sorted(MODULE_PORTS))
def test_every_module_the_runner_starts_is_routed_everywhere(name: str) -> None:
    port = MODULE_PORTS[name]
    assert MODULES_FILE["http"]["services"][name]["loadBalancer"]["servers"] == [{"url": f"http://{name}:{port}"}]
    assert MODULES_FILE["http"]["routers"][f"{name}-api"]["rule"] == \
        f"Path(`/api/v1/{name}`) || PathPrefix(`/api/v1/{name}/`)"
    routes = k8s_one("IngressRoute", "buildify")["spec"]["routes"]
    assert {"name": name, "port": port} in [svc for r in routes for svc in r["services"]]
    assert [p["port"] for p in k8s_one("Service", name)["spec"]["ports"]] == [port]
    assert f"{name}=http://{name}.buildify.svc.cluster.local:{port}" in k8s_env("core")["MODULE_UPSTREAMS"]


def test_shared_middlewares_as_the_seed_asks() -> None:
    headers = CORE_FILE["http"]["middlewares"][HEADERS]["headers"]
    assert headers["frameDeny"] and headers["contentTypeNosniff"] and headers["referrerPolicy"]
    assert headers["stsSeconds"] > 0
    assert {"Authorization", "Content-Type", "X-Request-ID"} <= set(headers["accessControlAllowHeaders"])
    assert CORE_FILE["http"]["middlewares"][RATE_LIMIT]["rateLimit"] == {"average": 100, "burst": 50, "period": "1s"}


def test_csp_agrees_everywhere() -> None:
    assert CORE_FILE["http"]["middlewares"][HEADERS]["headers"]["contentSecurityPolicy"] == CONTENT_SECURITY_POLICY
    assert k8s_one("Middleware", HEADERS)["spec"]["headers"]["contentSecurityPolicy"] == CONTENT_SECURITY_POLICY


def all_middleware_lists() -> list[tuple[str, list[str]]]:
    lists = [(f"{f}:{n}", r.get("middlewares", [])) for f, doc in (("core.yaml", CORE_FILE),
             ("modules.yaml", MODULES_FILE)) for n, r in doc["http"]["routers"].items()]
    for route in k8s_one("IngressRoute", "buildify")["spec"]["routes"]:
        lists.append((f"IngressRoute:{route['match']}", [m["name"] for m in route.get("middlewares", [])]))
    lists.append(("compose GATEWAY_MIDDLEWARES", compose_env("core")["GATEWAY_MIDDLEWARES"].split(",")))
    lists.append(("k8s GATEWAY_MIDDLEWARES", k8s_env("core")["GATEWAY_MIDDLEWARES"].split(",")))
    return lists


def test_headers_before_rate_limit_everywhere() -> None:
    lists = all_middleware_lists()
    assert len(lists) > 8
    for where, names in lists:
        short = [re.sub(r"^buildify-", "", n.split("@")[0]) for n in names]
        assert HEADERS in short and RATE_LIMIT in short, f"{where}: shared middlewares missing ({names})"
        assert short.index(HEADERS) < short.index(RATE_LIMIT), f"{where}: headers must come before the rate limit"


def all_rules() -> list[str]:
    rules = [r["rule"] for doc in (CORE_FILE, MODULES_FILE) for r in doc["http"]["routers"].values()]
    return rules + [r["match"] for r in k8s_one("IngressRoute", "buildify")["spec"]["routes"]]


def test_path_prefixes_end_with_a_slash() -> None:
    # PathPrefix(`/api/v1/financial`) would also match /api/v1/financialx: use Path(x) || PathPrefix(x/).
    for rule in all_rules():
        for prefix in re.findall(r"PathPrefix\(`([^`]*)`\)", rule):
            assert prefix.endswith("/"), f"rule {rule!r}: PathPrefix without a trailing slash"


# -- Kubernetes ------------------------------------------------------------------------------

KUSTOMIZATION = load(K8S / "kustomization.yaml")


def test_kustomization_lists_every_resource() -> None:
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(KUSTOMIZATION["resources"]) == files
    assert KUSTOMIZATION["namespace"] == "buildify"
    assert k8s_one("Namespace", "buildify")


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl not installed")
def test_kustomize_builds() -> None:
    result = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert all(d["metadata"].get("namespace") == "buildify" for d in built if d["kind"] != "Namespace")


@pytest.mark.parametrize("name", ["core", *sorted(MODULE_PORTS)])
def test_k8s_deployment_and_service(name: str) -> None:
    port = {"core": CORE_PORT, **MODULE_PORTS}[name]
    service = k8s_one("Service", name)
    assert [p["port"] for p in service["spec"]["ports"]] == [port]
    for deployment_name in (name, f"{name}-worker"):
        deployment = k8s_one("Deployment", deployment_name)
        spec = deployment["spec"]
        assert spec["replicas"] >= 1
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        container = spec["template"]["spec"]["containers"][0]
        assert container["image"] == f"buildify/{name}"
        assert container["command"][container["command"].index("--port") + 1] == str(port)
        assert [p["containerPort"] for p in container["ports"]] == [port]
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == "/health", f"{deployment_name}: {probe} not on /health"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        for source in container["envFrom"]:
            ref = source.get("configMapRef") or source.get("secretRef")
            kind = "ConfigMap" if "configMapRef" in source else "Secret"
            assert k8s(kind, ref["name"]), f"{deployment_name} refers to a missing {kind} {ref['name']}"
    api = k8s_one("Deployment", name)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= api.items(), f"Service {name} does not select the api pods"
    worker = k8s_one("Deployment", f"{name}-worker")["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= worker.items(), f"Service {name} must not select workers"
    assert k8s_env(f"{name}-worker")["BUS_RELAY"] == "false"


def test_postgres_for_the_base() -> None:
    statefulset = k8s_one("StatefulSet", "postgres")
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("postgres:16")
    host = "postgres.buildify.svc.cluster.local:5432"
    for name in SERVICES:
        assert host in k8s_env(name)["DATABASE_URL"]


@pytest.mark.security
def test_service_keys_are_stripped_from_outside_requests() -> None:
    """Module-key endpoints are internal: the gateway removes X-Module-Key / X-Gateway-Key on every router."""
    strip = {"X-Module-Key": "", "X-Gateway-Key": ""}
    assert CORE_FILE["http"]["middlewares"][HEADERS]["headers"]["customRequestHeaders"] == strip
    assert dynamic_config(GatewayPorts())["http"]["middlewares"][HEADERS]["headers"]["customRequestHeaders"] == strip
    assert k8s_one("Middleware", HEADERS)["spec"]["headers"]["customRequestHeaders"] == strip
    for where, middlewares in all_middleware_lists():
        names = [m.split("@")[0].removeprefix("buildify-") for m in middlewares]
        assert HEADERS in names, f"{where} does not strip the service keys"


@pytest.mark.security
def test_internal_endpoints_are_never_served_through_the_gateway() -> None:
    """/metrics and /api/v1/gateway/traefik answer 403 from outside, on every deployment's router set."""
    for routers in (CORE_FILE["http"]["routers"], dynamic_config(GatewayPorts())["http"]["routers"]):
        internal = routers["core-internal"]
        assert "Path(`/metrics`)" in internal["rule"] and "PathPrefix(`/api/v1/gateway/`)" in internal["rule"]
        assert internal["priority"] > max(r["priority"] for n, r in routers.items() if n != "core-internal")
        assert internal["middlewares"][-1] == "internal-only"
    assert CORE_FILE["http"]["middlewares"]["internal-only"] == {"ipAllowList": {"sourceRange": ["255.255.255.255/32"]}}
    routes = k8s_one("IngressRoute", "buildify")["spec"]["routes"]
    (internal_route,) = [r for r in routes if "internal-only" in [m["name"] for m in r["middlewares"]]]
    assert internal_route["priority"] > max(r["priority"] for r in routes if r is not internal_route)


# -- token signing keys (issue 11, finding 6) -------------------------------------------------

SIGNING_KEY_FILE = {"compose": "/run/secrets/jwt-signing-key", "k8s": "/etc/buildify/keys/jwt-signing-key.pem"}


def mounted_secrets(deployment: str) -> set[str]:
    spec = k8s_one("Deployment", deployment)["spec"]["template"]["spec"]
    return {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}


@pytest.mark.security
def test_only_core_holds_the_signing_key_and_modules_get_its_jwks_url() -> None:
    for name in ("core", "core-worker"):
        assert compose_env(name)["JWT_PRIVATE_KEY_FILE"] == SIGNING_KEY_FILE["compose"], name
        assert "jwt-signing-key" in COMPOSE_SERVICES[name].get("secrets", []), f"compose {name} lacks the key"
        assert k8s_env(name)["JWT_PRIVATE_KEY_FILE"] == SIGNING_KEY_FILE["k8s"], name
        assert "core-signing-key" in mounted_secrets(name), f"k8s {name} does not mount the key"
    key_file = COMPOSE["secrets"]["jwt-signing-key"]["file"]
    assert "${" in key_file and ":?" in key_file, "compose must refuse to start without core's key"
    (placeholder,) = k8s_one("Secret", "core-signing-key")["stringData"].values()
    assert "change-me" in placeholder and "PRIVATE KEY-----\n" not in placeholder
    for name in MODULE_NAMES:
        for env, where, core_url in ((compose_env(name), "compose", f"http://core:{CORE_PORT}"),
                                     (k8s_env(name), "k8s", f"http://core.buildify.svc.cluster.local:{CORE_PORT}")):
            assert not {k for k in env if k in {"JWT_SECRET_KEY", "JWT_PRIVATE_KEY_FILE", "JWT_PREVIOUS_KEY_FILES"}}, \
                f"{where} {name} holds signing material"
            assert env["JWKS_URL"] == f"{core_url}/api/v1/auth/jwks", f"{where} {name}"
        assert not COMPOSE_SERVICES[name].get("secrets"), f"compose {name} mounts a secret"
        assert "core-signing-key" not in mounted_secrets(name), f"k8s {name} mounts core's key"
