# dingq:dev — the dingq binary alone: no shell, no package manager, no libc.
#
# Built by `make image` (see README.md beside this file) from files the Makefile prepares in
# bin/docker/: the static binary (CGO_ENABLED=0, -trimpath, -ldflags "-s -w"), the host's CA
# bundle (for DingTalk's TLS) and an empty directory. Nothing is pulled from a registry.
FROM scratch

COPY bin/docker/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bin/docker/dingq /dingq
# The embedded NATS server's store, when DINGQ_NATS_URL is empty. scratch has no mkdir: copy an
# empty directory owned by the runtime user, so that a named volume mounted here inherits that
# owner. Unused when the worker connects to a real NATS.
COPY --chown=65532:65532 bin/docker/empty/ /data/

# A container's defaults: /healthz, /readyz and /metrics reachable from outside the container
# (DINGQ_HTTP_ADDR defaults to loopback), JSON logs for the log collector.
ENV DINGQ_HTTP_ADDR=0.0.0.0:9090 \
    DINGQ_LOG_FORMAT=json \
    DINGQ_DATA_DIR=/data

# Non-root ("nonroot" in distroless images); there is no /etc/passwd, nothing needs one.
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/dingq"]
CMD ["serve"]

LABEL org.opencontainers.image.title="dingq" \
      org.opencontainers.image.description="Delivers DingTalk send-jobs taken off NATS JetStream"
