# CAMS frontend image: the dashboard's production build, served by nginx with the VMs' headers, cache rules and SPA
# fallback, proxying the backend's paths to the web service. Build context: the repository root. docs/docker.md.
#
# NODE_IMAGE and NGINX_IMAGE are the official images by default; where no registry is reachable scripts/compose.sh
# passes local bases (docker/local-bases.Dockerfile) and NPM_CI_FLAGS=--offline with the controller's npm cache in
# .artifacts/npm-cache.
ARG NODE_IMAGE=node:20-slim
ARG NGINX_IMAGE=nginx:1.28

FROM ${NODE_IMAGE} AS build
ARG NPM_CI_FLAGS=
WORKDIR /src
# The lockfile before the source: the dependency layer stays cached while only the code changes.
COPY app/frontend/package.json app/frontend/package-lock.json ./
# .artifact[s]/npm-cach[e] matches nothing without a cache (each part a pattern: BuildKit fails on a missing
# directory before a pattern), and the COPY still succeeds with the lockfile.
COPY app/frontend/package-lock.json .artifact[s]/npm-cach[e] /npm-cache/
RUN npm ci --cache=/npm-cache --no-audit --no-fund ${NPM_CI_FLAGS}
COPY app/frontend/ ./
RUN npm run build

FROM ${NGINX_IMAGE} AS runtime
# Debian's nginx enables its own default site; the official image has a default.conf. Ours replaces both.
RUN rm -f /etc/nginx/sites-enabled/default /etc/nginx/conf.d/default.conf \
 && mkdir -p /etc/nginx/snippets /srv/static
COPY docker/nginx/cams.conf /etc/nginx/conf.d/cams.conf
COPY docker/nginx/cams-security-headers.conf docker/nginx/cams-proxy.conf /etc/nginx/snippets/
COPY docker/frontend-entrypoint.sh /usr/local/bin/cams-frontend-entrypoint
COPY --from=build /src/dist /usr/share/nginx/cams
EXPOSE 80
# nginx's graceful stop (the local base's own stop signal would not stop it).
STOPSIGNAL SIGQUIT
ENTRYPOINT ["cams-frontend-entrypoint"]
CMD ["nginx", "-g", "daemon off;"]
