# syntax=docker/dockerfile:1
# The kubeward image: `kubeward audit` in a cluster (deploy/cronjob), `kubeward scan` in CI.
#   docker build -t kubeward .
#   docker run --rm -v "$PWD:/src:ro" -w /src kubeward scan k8s/
# Three stages: build the wheels (python:3.11-slim), install them into a virtualenv with the
# Python of the runtime image (Debian 12's 3.11 at /usr/bin/python3), copy only that venv into
# distroless: no shell, no package manager, no compiler at run time.
# The image has no helm/kustomize binaries: pipe rendered charts in (`helm template … | kubeward scan -`).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG VENV_IMAGE=debian:12-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/python3-debian12:nonroot

FROM ${PYTHON_IMAGE} AS build
WORKDIR /build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY src ./src
# kubeward and its dependencies as wheels (all have cp311 manylinux wheels: no compiler).
RUN python -m pip wheel --wheel-dir /wheels .

FROM ${VENV_IMAGE} AS venv
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN python3 -m venv /venv \
    && /venv/bin/pip install --no-cache-dir --no-index --find-links /wheels kubeward \
    && /venv/bin/pip uninstall --yes pip setuptools

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="kubeward" \
      org.opencontainers.image.description="The Kubernetes security checklist, executable" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=venv /venv /venv
ENV PATH=/venv/bin:/usr/bin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
# distroless's "nonroot" user, numeric so runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/venv/bin/python3", "-m", "kubeward"]
CMD ["--help"]
