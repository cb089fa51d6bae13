# dingq-nats:dev — nats-server alone, built from the version go.mod requires, with the
# configuration files of the docker-compose cluster (nats/ beside this file).
#
# Built by `make image` (see README.md beside this file); nothing is pulled from a registry.
FROM scratch

COPY bin/docker/nats-server /nats-server
COPY deploy/docker/nats/ /etc/nats/
# The JetStream store. scratch has no mkdir: copy an empty directory owned by the runtime user,
# so that a named volume mounted here inherits that owner.
COPY --chown=65532:65532 bin/docker/empty/ /data/

USER 65532:65532
# clients, cluster routes, monitoring (/healthz, /varz, /jsz)
EXPOSE 4222 6222 8222
ENTRYPOINT ["/nats-server"]
# A single server with JetStream; the compose file runs each node with its own file instead
# (--config /etc/nats/nats-1.conf).
CMD ["--jetstream", "--store_dir", "/data/jetstream", "--http_port", "8222"]

LABEL org.opencontainers.image.title="dingq-nats" \
      org.opencontainers.image.description="nats-server for dingq's docker-compose cluster"
