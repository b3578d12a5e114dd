"""The tools in infra/: the dependency audit's verdict, the layout's TCP balancer and
nginx configuration, and the deployment files: they parse, agree with each other, and
the Kubernetes manifests are valid objects of the Kubernetes API."""

import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path

import compose_spec
import httpx
import kubernetes_validate
import pytest
import yaml

from infra import audit_report, multiproc
from tests.infra.compose import compose_filled, env_example

ROOT = Path(__file__).resolve().parents[2]


# --- Dependency audit -----------------------------------------------------------------


def report(tmp_path, dependencies) -> str:
    path = tmp_path / "pip-audit.json"
    path.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
    return str(path)


def test_a_known_vulnerability_fails_the_audit_and_names_the_fix(tmp_path):
    code, lines = audit_report.verdict(
        report(
            tmp_path,
            [
                {
                    "name": "django",
                    "version": "5.2.0",
                    "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["5.2.1"], "description": "..."}],
                },
                {"name": "celery", "version": "5.5.0", "vulns": []},
            ],
        ),
        1,
    )
    assert code == 1
    assert lines == [
        "✗ django 5.2.0: GHSA-xxxx (fixed in 5.2.1)",
        "✗ 1 known vulnerabilities in requirements.lock",
    ]


def test_an_unreachable_database_warns_and_passes(tmp_path):
    unreachable = [
        {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be audited"}
    ]
    assert audit_report.verdict(report(tmp_path, unreachable), 0)[0] == 0
    assert audit_report.verdict(report(tmp_path, unreachable), 0)[1][0].startswith("! ")
    # pip-audit gave up before writing a report (no network at all).
    code, lines = audit_report.verdict(str(tmp_path / "missing.json"), 1)
    assert code == 0
    assert "could not reach the vulnerability database" in lines[0]


def test_a_clean_audit_passes(tmp_path):
    code, lines = audit_report.verdict(
        report(tmp_path, [{"name": "django", "version": "5.2.8", "vulns": []}]), 0
    )
    assert (code, lines) == (0, ["✓ no known vulnerabilities in the 1 packages audited"])


# --- The layout's balancers -------------------------------------------------------------


class Named(http.server.BaseHTTPRequestHandler):
    """Answers with the server's `name`, and its `status` (200 unless set)."""

    def do_GET(self) -> None:
        body = self.server.name.encode()
        self.send_response(getattr(self.server, "status", 200))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def two_backends():
    servers = []
    for name in ("a", "b"):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Named)
        server.name = name
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_python_balancer_takes_turns_and_skips_a_dead_backend(two_backends):
    port = multiproc.free_port()
    dead = multiproc.free_port()
    backends = [f"127.0.0.1:{s.server_address[1]}" for s in two_backends]
    args = [str(ROOT / "infra" / "multiproc.py"), "balance", "--port", str(port)]
    for backend in [*backends, f"127.0.0.1:{dead}"]:
        args += ["--backend", backend]
    balancer = subprocess.Popen(["python3", *args])
    try:
        multiproc.wait_for_port(port)
        import urllib.request

        answers = [
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
            for _ in range(6)
        ]
    finally:
        balancer.terminate()
        balancer.wait(timeout=10)
    assert sorted(set(answers)) == ["a", "b"]
    assert len(answers) == 6  # the dead backend's turns went to a live one


def test_the_local_nginx_configuration_is_valid_and_uses_the_production_locations(tmp_path):
    # infra/bootstrap.sh installs nginx: its absence is a broken set-up, not a reason to skip.
    assert shutil.which("nginx"), "nginx is missing: `make setup` installs it"
    conf = multiproc.nginx_config(work=tmp_path, port=8080, upstreams=[8001, 8002])
    assert "server 127.0.0.1:8001" in conf and "server 127.0.0.1:8002" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf  # websockets
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf  # NUM_PROXIES=1
    assert multiproc.PRODUCTION_STATIC not in conf
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@pytest.fixture
def local_nginx(tmp_path):
    """nginx with the production locations in front of `upstreams`, its static files
    from a folder holding only webapp/unavailable.html and .json (as collectstatic copies
    them)."""
    started = []

    def start(upstreams: list[int]) -> str:
        port = multiproc.free_port()
        static = tmp_path / "static"
        (static / "webapp").mkdir(parents=True, exist_ok=True)
        for name in ("unavailable.html", "unavailable.json"):
            shutil.copy(ROOT / "webapp" / "static" / "webapp" / name, static / "webapp")
        conf = multiproc.nginx_config(work=tmp_path, port=port, upstreams=upstreams)
        conf = conf.replace(str(ROOT / "var" / "static") + "/", f"{static}/")
        (tmp_path / "nginx.conf").write_text(conf)
        nginx = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
        started.append(nginx)
        multiproc.wait_for_port(port)
        return f"http://127.0.0.1:{port}"

    yield start
    for nginx in started:
        nginx.terminate()
        nginx.wait(timeout=10)


def test_with_no_web_process_answering_nginx_shows_samby_s_page_in_both_languages(local_nginx):
    url = local_nginx([multiproc.free_port()])  # nothing listens there
    for path in ("/", "/rides/new"):
        response = httpx.get(f"{url}{path}")
        assert response.status_code == 502
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["retry-after"] == "30"
        assert "<h1>Samby går inte att nå just nu</h1>" in response.text
        assert '<h2 id="in-english">Samby is not available just now</h2>' in response.text
        assert "Bad Gateway" not in response.text  # nginx's own page


def test_with_no_web_process_answering_the_api_answers_in_its_own_error_shape(local_nginx):
    url = local_nginx([multiproc.free_port()])  # nothing listens there
    for request in (httpx.get, lambda address: httpx.post(address, json={})):
        response = request(f"{url}/api/v1/rides/")
        assert response.status_code == 502
        assert response.headers["content-type"] == "application/json"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["retry-after"] == "30"
        error = response.json()["error"]
        assert (error["code"], error["fields"]) == ("service_unavailable", {})
        assert "Samby går inte att nå just nu" in error["message"]
        assert "Samby is not available just now" in error["message"]
    # Pages keep the page, also where their address begins like the API's.
    assert "<h1>" in httpx.get(f"{url}/apiary").text


def test_the_app_s_own_error_pages_pass_through_nginx_as_they_are(local_nginx):
    # A web process whose database is out of reach answers 503 itself.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Named)
    server.name, server.status = "the app's own 503 page", 503
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = local_nginx([server.server_address[1]])
        responses = [httpx.get(url + path) for path in ("/rides/", "/api/v1/rides/")]
    finally:
        server.shutdown()
        server.server_close()
    for response in responses:
        assert (response.status_code, response.text) == (503, "the app's own 503 page")


# --- Deployment files -------------------------------------------------------------------


def k8s_documents() -> list[dict]:
    docs = []
    for path in sorted((ROOT / "infra" / "k8s").glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


# The oldest Kubernetes release the manifests are meant for, and the newest whose API
# schema the validator ships.
KUBERNETES_VERSIONS = ["1.30", kubernetes_validate.latest_version()]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_manifest_is_a_valid_object_of_the_kubernetes_api(version):
    """Each object against the API's own schema, strict: a misspelt or misplaced field,
    which `kubectl apply` would refuse or silently drop, fails here."""
    objects = [d for d in k8s_documents() if d["kind"] != "Kustomization"]
    assert {d["kind"] for d in objects} >= {
        "Deployment", "Service", "Ingress", "ConfigMap", "Secret", "Job",
        "PodDisruptionBudget", "HorizontalPodAutoscaler", "Namespace",
    }  # fmt: skip
    problems = []
    for document in objects:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{document['kind']}/{document['metadata']['name']}"
            path = ".".join(str(part) for part in error.path) or "top level"
            problems.append(f"{name} at {path}: {error.message}")
    assert problems == []


def test_the_kustomization_lists_every_manifest_but_the_secret_and_the_migration():
    """`kubectl apply -k infra/k8s` applies what the kustomization lists; the secret is
    filled in by hand and the migration runs before each release (docs/deployment.md)."""
    folder = ROOT / "infra" / "k8s"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    manifests = {path.name for path in folder.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests - {
        "secret.example.yaml",
        "migrate-job.yaml",
    }


def test_kubernetes_runs_one_beat_and_probes_the_web_processes():
    deployments = {d["metadata"]["name"]: d for d in k8s_documents() if d["kind"] == "Deployment"}
    assert set(deployments) >= {"samby-web", "samby-worker", "samby-beat"}
    beat = deployments["samby-beat"]["spec"]
    # Two beats would send every periodic task twice; Recreate never overlaps them.
    assert (beat["replicas"], beat["strategy"]["type"]) == (1, "Recreate")
    web = deployments["samby-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/healthz"
    worker = deployments["samby-worker"]["spec"]["template"]["spec"]
    # Longer than the task time limit: a worker being stopped finishes what it runs.
    assert worker["terminationGracePeriodSeconds"] >= 900


def test_kubernetes_and_compose_give_the_app_the_settings_production_requires():
    config = next(
        d
        for d in k8s_documents()
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "samby-config"
    )["data"]
    assert config["DJANGO_ENV"] == "production"
    assert config["NUM_PROXIES"] == "1"
    secret = next(d for d in k8s_documents() if d["kind"] == "Secret")
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= set(secret["stringData"])
    compose = yaml.safe_load((ROOT / "infra" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "nginx", "postgres", "redis", "migrate"} <= set(services)
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    environment = compose["x-samby-env"]
    assert environment["DJANGO_ENV"] == "production"
    assert environment["NUM_PROXIES"] == "1"


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True


def test_the_compose_file_is_valid_for_docker_compose():
    """The Compose specification's parser (compose-spec, the `compose_spec` crate) reads
    the file as `docker compose` would after filling in infra/env.example: a misspelt or
    misplaced key or a wrong type fails here; so does a service waiting for one that
    does not exist, which the parser lets through."""
    filled = compose_filled(env_example())
    compose = compose_spec.PyCompose.from_yaml(yaml.dump(filled, Dumper=_NoAliases))
    services = set(compose.service_names())
    assert services == {"web", "worker", "beat", "nginx", "postgres", "redis", "migrate"}
    for name, service in filled["services"].items():
        assert set(service.get("depends_on", ())) <= services, name
