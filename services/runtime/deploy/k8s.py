"""deploy/k8s: the Traefik CRDs, each module's workload, and the config that lists the modules.

The IngressRoute and Middlewares are the file-provider configuration of traefik.py in CRD form,
so the cluster routes exactly as compose and `make run` do.
"""

from typing import Any

from services.runtime.deploy.modules import DeployedModule
from services.runtime.deploy.traefik import CORE_PORT, core_routes, module_routes

CLUSTER = "buildify.svc.cluster.local"
PUBLIC_ORIGINS = ["https://buildify.example.com"]  # CHANGE to the public origin(s) of the web app
DATABASE_URL = f"postgresql://buildify:change-me-postgres@postgres.{CLUSTER}:5432/buildify"
CORE_URL = f"http://core.{CLUSTER}:{CORE_PORT}"


def crd(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "traefik.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def gateway(modules: list[DeployedModule]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(Middlewares, [IngressRoute]) from the same routers and middlewares as the file provider."""
    core, own = core_routes(PUBLIC_ORIGINS)["http"], module_routes(modules, host=f"{{name}}.{CLUSTER}")["http"]
    middlewares = [crd("Middleware", n, spec) for n, spec in {**core["middlewares"], **own["middlewares"]}.items()]
    ports = {"core": CORE_PORT, **{m.name: m.port for m in modules}}
    routers = sorted({**own["routers"], **core["routers"]}.values(), key=lambda r: -r["priority"])
    routes = [{"kind": "Rule", "match": r["rule"], "priority": r["priority"],
               "middlewares": [{"name": n} for n in r["middlewares"]],
               "services": [{"name": r["service"], "port": ports[r["service"]]}]} for r in routers]
    return middlewares, [crd("IngressRoute", "buildify", {"entryPoints": ["web"], "routes": routes})]


def probe(**extra: int) -> dict[str, Any]:
    return {"httpGet": {"path": "/health", "port": "http"}, **extra}


def deployment(module: DeployedModule, component: str) -> dict[str, Any]:
    name, worker = module.name, component == "worker"
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}
    env = [{"name": "BUS_WORKERS", "value": "4" if worker else "1"}]
    if worker:  # the relay and cleanup run in the api pods; workers only claim and handle
        env += [{"name": "BUS_RELAY", "value": "false"}, {"name": "BUS_CLEANUP_INTERVAL", "value": "0"}]
    container = {
        "name": "worker" if worker else name, "image": f"buildify/{name}",
        "command": ["uvicorn", f"services.{name}.app.main:create_app", "--factory", "--host", "0.0.0.0",
                    "--port", str(module.port)],
        "envFrom": [{"configMapRef": {"name": f"{name}-config"}}, {"secretRef": {"name": f"{name}-secrets"}}],
        "env": env,
        "ports": [{"name": "http", "containerPort": module.port}],
        "readinessProbe": probe(periodSeconds=10 if worker else 5),
        "livenessProbe": probe(initialDelaySeconds=20, periodSeconds=20, failureThreshold=6),
        "resources": {"requests": {"cpu": "100m" if worker else "250m", "memory": "256Mi"},
                      "limits": {"memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"{name}-worker" if worker else name, "labels": labels},
        "spec": {"replicas": 1 if worker else 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "securityContext": {"runAsNonRoot": True, "runAsUser": 10001}, "containers": [container]}}},
    }


def module_workload(module: DeployedModule) -> list[dict[str, Any]]:
    """Service, api and worker Deployments, ConfigMap and Secret of one module."""
    name = module.name
    metadata = {"name": name, "labels": {"app.kubernetes.io/name": name}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": metadata,
               "spec": {"selector": {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "api"},
                        "ports": [{"name": "http", "port": module.port, "targetPort": "http"}]}}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-config"}, "data": {
        "DATABASE_STRATEGY": module.manifest.database.strategy,
        "SCHEMA_PREFIX": module.manifest.database.schema_prefix or f"{name}_",
        "CORE_URL": CORE_URL,
        "JWKS_URL": f"{CORE_URL}/api/v1/auth/jwks",  # public keys only: a module holds no signing key
        "PYTHONUNBUFFERED": "1"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-secrets"}, "type": "Opaque",
              "stringData": {"DATABASE_URL": DATABASE_URL, "MODULE_DATABASE_URL": "",
                             "EVENT_BUS_CONNECTION_STRING": DATABASE_URL,
                             "MODULE_API_KEY": f"change-me-{name}-key"}}
    return [service, deployment(module, "api"), deployment(module, "worker"), config, secret]


def core_config(modules: list[DeployedModule]) -> list[dict[str, Any]]:
    """core-config, then the Secrets (postgres, core, signing key): core's lists of modules live here."""
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "core-config"}, "data": {
        "JWT_ALGORITHM": "EdDSA",
        "JWT_PRIVATE_KEY_FILE": "/etc/buildify/keys/jwt-signing-key.pem",
        "ACCESS_TOKEN_TTL": "300",
        "REFRESH_TOKEN_TTL": "43200",
        "MODULE_UPSTREAMS": ",".join(f"{m.name}=http://{m.name}.{CLUSTER}:{m.port}" for m in modules),
        "GATEWAY_MIDDLEWARES": "buildify-security-headers@kubernetescrd,buildify-rate-limit@kubernetescrd",
        "GATEWAY_ENTRY_POINTS": "web",
        "MODULE_HEALTH_TIMEOUT": "2",
        "BUS_CALLBACKS": "true",
        "PYTHONUNBUFFERED": "1"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "core-secrets"}, "type": "Opaque",
              "stringData": {"DATABASE_URL": DATABASE_URL,
                             "MODULE_API_KEYS": ",".join(f"{m.name}=change-me-{m.name}-key" for m in modules),
                             "GATEWAY_CONFIG_KEY": "change-me-gateway-key"}}
    postgres = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "postgres-secrets"}, "type": "Opaque",
                "stringData": {"POSTGRES_USER": "buildify", "POSTGRES_PASSWORD": "change-me-postgres",
                               "POSTGRES_DB": "buildify"}}
    signing = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "core-signing-key"}, "type": "Opaque",
               "stringData": {"jwt-signing-key.pem": "change-me (core refuses to start with this; put a PEM "
                                                     "Ed25519 or RSA private key here)"}}
    return [config, postgres, secret, signing]


def kustomization(modules: list[DeployedModule]) -> dict[str, Any]:
    names = ["core", *(m.name for m in modules)]
    resources = ["namespace.yaml", "config.yaml", "secrets.yaml", "postgres.yaml", "core.yaml",
                 *(f"{m.name}.yaml" for m in modules), "middlewares.yaml", "ingressroute.yaml"]
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "namespace": "buildify",
            "labels": [{"pairs": {"app.kubernetes.io/part-of": "buildify"}, "includeSelectors": False}],
            "resources": resources, "images": [{"name": f"buildify/{n}", "newTag": "latest"} for n in names]}
