# Local stand-ins for the official python, node and nginx images, for machines without a registry (the project's):
# built by scripts/compose.sh on the debootstrap'd Debian base, whose containers reach only Debian's mirror.
# Build context: .artifacts/node-dist (the controller's Node.js: bin/node and lib/node_modules/npm).
#
#   docker build --target python -t cams/python:3.11-bookworm ...   python3 (3.11) with venv, as python:3.11-slim
#   docker build --target nginx  -t cams/nginx:bookworm ...         Debian's nginx, as nginx:1.28
#   docker build --target node   -t cams/node:20-bookworm ...       the controller's Node.js 20 (Debian's is 18, too
#                                                                   old for Vite), as node:20-slim
ARG BASE_IMAGE=cams/debian-systemd:bookworm

FROM ${BASE_IMAGE} AS python
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/python3 /usr/local/bin/python
CMD ["python3"]

FROM ${BASE_IMAGE} AS nginx
# Nothing starts during the build (policy-rc.d).
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]

FROM ${BASE_IMAGE} AS node
COPY bin/node /usr/local/bin/node
COPY lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && node --version && npm --version
CMD ["node"]
