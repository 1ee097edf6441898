# syntax=docker/dockerfile:1
#
# Portcullis container image.
#   docker build -t portcullis .
#   docker run --rm -p 8080:8080 -v portcullis-data:/var/lib/portcullis portcullis
# With no other settings it uses SQLite at /var/lib/portcullis/portcullis.db and keys in
# /var/lib/portcullis/keys (the defaults, relative to the working directory).
# See docker-compose.yml for PostgreSQL and two instances.

# ---------------------------------------------------------------- build
FROM rust:1-bookworm AS builder

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# The cache mounts keep the crate registry and incremental artefacts between builds; the
# binary is copied out of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -m 0755 target/release/portcullis /usr/local/bin/portcullis

# ---------------------------------------------------------------- runtime
FROM debian:bookworm-slim

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq5 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 portcullis \
    && useradd --system --uid 10001 --gid portcullis --home-dir /var/lib/portcullis \
        --shell /usr/sbin/nologin portcullis \
    && install -d -o portcullis -g portcullis -m 0750 /var/lib/portcullis \
    && install -d -o portcullis -g portcullis -m 0700 /var/lib/portcullis/keys

COPY --from=builder /usr/local/bin/portcullis /usr/local/bin/portcullis

# Listen on all interfaces inside the container (the default bind follows the issuer,
# which is loopback by default and unreachable through a published port).
ENV PORTCULLIS_BIND=0.0.0.0:8080

USER portcullis:portcullis
WORKDIR /var/lib/portcullis
EXPOSE 8080

ENTRYPOINT ["portcullis"]
CMD ["serve"]
